"""Route plans equal a stored reference (issue 16): a sample of routes over a city-like grid
(three optics scenarios, two DORI levels), planned robust, per scenario and with the web's one
figure level, give the very JSON and geometry the code gave before the plan was made faster.

The reference (``routing_plan_reference.json.gz`` beside this file) was made by the code of the
sixth round; run this file as a script to make it again (only when a change of the answers is
intended and explained)::

    python tests/test_routing_plan_reference.py

``searches`` (how many searches a plan made, a measure of effort rather than of the route) is
left out of the comparison: making fewer searches for the same answer is the point.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import shapely

from routing_builders import X0, Y0, grid_streets, point_on
from survatlas.routing import Exposure, network_from_streets, plan_route, seen_from_discs

REFERENCE = Path(__file__).resolve().parent / "routing_plan_reference.json.gz"
SCENARIOS = ("best", "typical", "worst")
#: (scenario, alternatives, figure levels) of the planned queries, cycled over the pairs
QUERIES = [
    ("robust", 0, ("detection",)),  # what the web map asks
    ("robust", 1, None),
    ("worst", 0, None),
    ("best", 1, ("recognition",)),
    ("typical", 0, None),
]


def _network():  # type: ignore[no-untyped-def]
    rng = random.Random(1607)
    streets = grid_streets(14, seed=5, drop=0.12)
    cams = [(i, rng.uniform(0, 1300), rng.uniform(0, 1300), rng.uniform(15, 80))
            for i in range(1, 61)]
    seen = {}
    for k, sc in enumerate(SCENARIOS):
        scale = (0.7, 1.0, 1.4)[k]
        for level, share in (("detection", 1.0), ("recognition", 0.45)):
            discs = [(c, X0 + x, Y0 + y, r * scale * share) for c, x, y, r in cams
                     if (c + k) % 7]  # a few cameras missing from some scenarios
            seen[sc, level] = seen_from_discs(streets["id"].tolist(), streets.geometry.values,
                                              discs)
    exposure = Exposure(seen, SCENARIOS, levels=("recognition", "detection"))
    return streets, network_from_streets(streets, exposure), rng


def answers() -> list[str]:
    """The JSON of every planned query (or the error it raised)."""
    streets, net, rng = _network()
    ids = streets["id"].tolist()

    def point():  # type: ignore[no-untyped-def]
        xy = point_on(streets, ids[rng.randrange(len(ids))], rng.random())[2:]
        return net.to_latlon(xy)

    out = []
    for i in range(150):
        a, b = point(), point()
        scenario, alternatives, levels = QUERIES[i % len(QUERIES)]
        level = "recognition" if levels == ("recognition",) else "detection"
        try:
            plan = plan_route(net, a, b, scenario=scenario, alternatives=alternatives,
                              level=level, max_detour=(1.25, 1.5, 1.1)[i % 3],
                              figure_levels=levels)
        except Exception as exc:  # the same error either way
            out.append(repr(exc))
            continue
        data = plan.to_dict()
        data.pop("searches")
        data["geometry"] = [shapely.to_wkb(r.geometry).hex() for r in plan.routes]
        data["stretches"] = [
            [(s.level, s.from_m, s.to_m, list(s.cameras), shapely.to_wkb(s.geometry).hex())
             for s in r.stretches] for r in plan.routes[:2]] if i % 10 == 0 else None
        out.append(json.dumps(data, sort_keys=True))
    return out


def test_plans_equal_the_stored_reference() -> None:
    want = json.loads(gzip.decompress(REFERENCE.read_bytes()))
    got = answers()
    assert sum(x.startswith("{") for x in want) >= 120  # mostly routes, not errors
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g == w, f"query {i} differs from the reference"


if __name__ == "__main__":
    REFERENCE.write_bytes(gzip.compress(json.dumps(answers()).encode(), mtime=0))
    print(f"wrote {REFERENCE.name}")
