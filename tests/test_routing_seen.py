"""Seen intervals: normalisation, vectorised lookups, cumulative levels, disc helper."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from routing_builders import seen_on
from survatlas.errors import InputError
from survatlas.routing import Exposure, normalise_intervals, seen_from_discs
from survatlas.routing._exposure import SeenIndex

interval = st.tuples(
    st.floats(0, 100, allow_nan=False), st.floats(0, 100, allow_nan=False), st.integers(1, 4)
).map(lambda t: (min(t[0], t[1]), max(t[0], t[1]), (t[2],)))


def test_overlapping_cameras_are_cut_and_combined() -> None:
    out = normalise_intervals([(0, 10, (1,)), (5, 15, (2,)), (15, 20, (2,)), (30, 30, (3,))])
    assert out == [(0, 5, (1,)), (5, 10, (1, 2)), (10, 20, (2,))]


@given(st.lists(interval, max_size=8))
def test_normalised_intervals_are_sorted_disjoint_and_cover_the_same(raw: list) -> None:
    out = normalise_intervals(raw)
    assert all(a < b for a, b, _ in out)
    assert all(p[1] <= q[0] for p, q in itertools.pairwise(out))
    for x in np.linspace(0, 100, 41):
        want = {c for a, b, cams in raw if a < x < b for c in cams}
        got = {c for a, b, cams in out if a < x < b for c in cams}
        if not any(math.isclose(x, v) for a, b, _ in raw for v in (a, b)):
            assert got == want


@settings(max_examples=60)
@given(
    st.dictionaries(st.integers(1, 5), st.lists(interval, max_size=5), max_size=4),
    st.lists(st.tuples(st.integers(0, 6), st.floats(-5, 110), st.floats(-5, 110)), max_size=10),
)
def test_vectorised_seen_metres_match_brute_force(raw: dict, queries: list) -> None:
    seen = {s: iv for s, ivs in raw.items() if (iv := normalise_intervals(ivs))}
    index = SeenIndex(seen)
    if not queries:
        return
    s, a, b = (np.array(c) for c in zip(*queries, strict=True))
    got = index.seen_between(s, a, b)
    want = [seen_on(seen, int(si), ai, bi) for si, ai, bi in queries]
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_levels_are_cumulative() -> None:
    exp = Exposure(
        {
            ("typical", "identification"): {1: [(0, 5, (7,))]},
            ("typical", "detection"): {1: [(10, 50, (8,))]},
        }
    )
    assert exp.intervals("typical", "recognition") == {1: [(0, 5, (7,))]}
    assert exp.intervals("typical", "detection") == {1: [(0, 5, (7,)), (10, 50, (8,))]}
    assert exp.intervals("typical", "identification") == {1: [(0, 5, (7,))]}


def test_unknown_level_and_scenario_are_input_errors() -> None:
    with pytest.raises(InputError, match="DORI level"):
        Exposure({("typical", "glimpse"): {}})
    exp = Exposure({("typical", "detection"): {}})
    with pytest.raises(InputError, match="typical"):
        exp.intervals("worst", "detection")


@settings(max_examples=40)
@given(
    st.lists(st.tuples(st.floats(-50, 150), st.floats(-50, 50)), min_size=2, max_size=6),
    st.tuples(st.floats(-20, 120), st.floats(-30, 30), st.floats(1, 60)),
)
def test_disc_intervals_match_sampling(pts: list, cam: tuple) -> None:
    line = shapely.LineString(pts)
    seen = seen_from_discs([1], [line], [(9, *cam)])
    want = 0.0
    for p, q in itertools.pairwise(pts):
        t = (np.arange(4000) + 0.5) / 4000
        xy = np.array(p) + t[:, None] * (np.array(q) - np.array(p))
        inside = np.hypot(xy[:, 0] - cam[0], xy[:, 1] - cam[1]) <= cam[2]
        want += inside.mean() * math.dist(p, q)
    got = sum(b - a for a, b, _ in seen.get(1, []))
    assert got == pytest.approx(want, abs=line.length / 1000 + 1e-6)
    for a, b, _ in seen.get(1, []):
        mid = line.interpolate((a + b) / 2)
        assert mid.distance(shapely.Point(cam[:2])) <= cam[2] + 1e-6


@settings(max_examples=40)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 4),
            st.sampled_from(["best", "typical"]),
            st.sampled_from(["identification", "recognition", "observation", "detection"]),
            interval,
        ),
        max_size=15,
    )
)
def test_rows_and_dicts_give_the_same_exposure(rows: list) -> None:
    flat = [(s, sc, lvl, a, b, cams[0]) for s, sc, lvl, (a, b, cams) in rows]
    by_key: dict = {}
    for s, sc, lvl, a, b, c in flat:
        by_key.setdefault((sc, lvl), {}).setdefault(s, []).append((a, b, (c,)))
    from_dicts = Exposure(by_key)
    from_rows = Exposure.from_rows(flat)
    assert from_rows.scenarios == from_dicts.scenarios
    for key, want in from_dicts.seen.items():
        got = from_rows.seen.get(key, {})
        assert got.keys() == want.keys()
        for street, intervals in want.items():  # positions agree to well below a micrometre
            assert [c for *_, c in got[street]] == [c for *_, c in intervals]
            np.testing.assert_allclose(
                [iv[:2] for iv in got[street]], [iv[:2] for iv in intervals], atol=1e-6
            )


def test_disc_intervals_on_a_multilinestring_use_the_street_measure() -> None:
    multi = shapely.MultiLineString([[(0, 0), (100, 0)], [(0, 50), (40, 50)]])
    seen = seen_from_discs([5], [multi], [(1, 20, 50, 10)])
    assert seen == {5: [(pytest.approx(110.0), pytest.approx(130.0), (1,))]}
