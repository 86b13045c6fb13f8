"""The one table of travel rules (model.TRAVEL_RULES) against the rules written out by hand."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from survatlas.routing._graph import get_profile
from survatlas.vocab import CYCLABLE_HIGHWAYS, WALKABLE_HIGHWAYS, is_walkable, may_use

HIGHWAYS = sorted(WALKABLE_HIGHWAYS | CYCLABLE_HIGHWAYS | {"motorway", "bus_guideway", "raceway"})
ACCESS = ["yes", "no", "private", "designated", "permissive", "use_sidepath", "dismount", "x"]


def _walk_by_hand(tags: dict[str, str]) -> bool:
    if tags.get("highway") not in WALKABLE_HIGHWAYS:
        return False
    if tags.get("foot") in {"no", "private", "use_sidepath"}:
        return False
    if tags.get("foot") in {"yes", "designated", "permissive"}:
        return True
    return tags.get("access") not in {"no", "private"}


def _bike_by_hand(tags: dict[str, str]) -> bool:
    if tags.get("bicycle") in {"no", "private", "use_sidepath", "dismount"}:
        return False
    if tags.get("bicycle") in {"yes", "designated", "permissive"}:
        return True
    return tags.get("highway") in CYCLABLE_HIGHWAYS and tags.get("access") not in {"no", "private"}


tag_sets = st.fixed_dictionaries(
    {"highway": st.sampled_from(HIGHWAYS)},
    optional={k: st.sampled_from(ACCESS) for k in ("foot", "bicycle", "access")},
)


@given(tag_sets)
def test_walking_follows_the_rules(tags: dict[str, str]) -> None:
    assert may_use("walk", tags) == is_walkable(tags) == _walk_by_hand(tags)
    assert get_profile("walk").allows(tags["highway"], None, tags) == _walk_by_hand(tags)


@given(tag_sets)
def test_cycling_follows_the_rules(tags: dict[str, str]) -> None:
    assert may_use("bike", tags) == _bike_by_hand(tags)
    assert get_profile("bike").allows(tags["highway"], None, tags) == _bike_by_hand(tags)


def test_a_cycle_tag_opens_a_way_but_a_foot_tag_does_not_open_a_motorway() -> None:
    assert may_use("bike", {"highway": "trunk", "bicycle": "yes"})
    assert not may_use("walk", {"highway": "motorway", "foot": "yes"})
    assert not may_use("bike", {"highway": "cycleway", "bicycle": "dismount"})
