"""The least-exposure search's floor, and the robust route's shortcut that rests on it.

Checked against brute force: every simple path of a small grid between the two points (the
oracle's graph of :mod:`routing_builders`), its length and its seen metres under each scenario.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from routing_builders import (
    X0,
    Y0,
    grid_streets,
    oracle_segments,
    point_on,
    seen_on,
    streets_frame,
)
from survatlas.routing import Exposure, network_from_streets, plan_route, seen_from_discs
from survatlas.routing._plan import least_exposure, snap_nearest, solve
from survatlas.routing._robust import worst_case
from survatlas.routing._search import ENGINES
from survatlas.routing.plan import ROBUST_SLACK_M, _robust_least

SCENARIOS = ("best", "typical", "worst")
# one camera: id, centre, radius under best optics; typical and worst optics see farther
# from the same place (nested views, as wider optics give)
camera = st.tuples(st.integers(1, 60), st.floats(0, 300), st.floats(0, 300), st.floats(5, 80))
case = st.fixed_dictionaries({
    "k": st.integers(2, 4),
    "seed": st.integers(0, 10_000),
    "cameras": st.lists(camera, min_size=1, max_size=6, unique_by=lambda c: c[0]),
    "growth": st.tuples(st.floats(1.0, 1.6), st.floats(1.0, 1.6)),
    "a": st.tuples(st.integers(0, 100), st.floats(0, 1)),
    "b": st.tuples(st.integers(0, 100), st.floats(0, 1)),
    "detour": st.floats(1.0, 1.8),
})
slow = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _scene(c: dict, streets=None):  # type: ignore[no-untyped-def]
    if streets is None:
        streets = grid_streets(c["k"], seed=c["seed"])
    scale = dict(zip(SCENARIOS, (1.0, c["growth"][0], c["growth"][0] * c["growth"][1]),
                     strict=True))
    seen = {sc: seen_from_discs(streets["id"].tolist(), streets.geometry.values,
                                [(i, X0 + x, Y0 + y, r * scale[sc]) for i, x, y, r in c["cameras"]])
            for sc in SCENARIOS}
    exposure = Exposure({(sc, "detection"): s for sc, s in seen.items()}, SCENARIOS,
                        levels=("detection",))
    net = network_from_streets(streets, exposure)
    ids = streets["id"].tolist()
    a, b = (point_on(streets, ids[p[0] % len(ids)], p[1]) for p in (c["a"], c["b"]))
    return streets, seen, net, a, b


def _every_path(streets, seen, a, b) -> list[tuple[float, dict[str, float]]]:  # type: ignore[no-untyped-def]
    """Length and seen metres per scenario of every simple path from ``a`` to ``b``."""
    g = nx.MultiGraph()
    for n0, n1, sid, lo, hi in oracle_segments(streets, a[:2], b[:2]):
        g.add_edge(n0, n1, length=hi - lo, seen={sc: seen_on(s, sid, lo, hi)
                                                 for sc, s in seen.items()})
    if "o" not in g or "d" not in g:
        return []
    out = []
    for path in nx.all_simple_edge_paths(g, "o", "d"):
        edges = [g.edges[e] for e in path]
        out.append((sum(e["length"] for e in edges),
                    {sc: sum(e["seen"][sc] for e in edges) for sc in SCENARIOS}))
    return out


def _solver(net, pricer, a, b):  # type: ignore[no-untyped-def]
    anchors = [snap_nearest(net.graph, p[2:], 1e-3) for p in (a, b)]
    search = ENGINES["astar"].search

    def solve_at(lam: float, bound: float, p=pricer):  # type: ignore[no-untyped-def]
        return solve(p, lam, anchors[0], anchors[1], search, bound)

    return solve_at, anchors


@slow
@given(case)
def test_no_path_within_the_detour_is_less_exposed_than_the_floor(c: dict) -> None:
    streets, seen, net, a, b = _scene(c)
    paths = _every_path(streets, seen, a, b)
    assume(paths and math.dist(a[2:], b[2:]) > 1.0)
    for scenario in SCENARIOS:
        solve_at, _ = _solver(net, net.pricer(scenario, "detection"), a, b)
        shortest = solve_at(0.0, np.inf)
        limit = c["detour"] * shortest.length + 1e-6
        least, _, floor = least_exposure(solve_at, shortest, limit)
        within = [s[scenario] for length, s in paths if length <= limit + 1e-6]
        assert floor <= min(within) + 1e-6
        assert floor <= least.exposed + 1e-6
        assert floor >= 0.0


def test_the_floor_meets_the_least_exposed_route_when_it_is_the_least_exposed_of_all() -> None:
    """A camera on the straight way and a free detour within the limit: the search proves that
    nothing within the detour is less exposed than the detour's 0 m in view."""
    square = [((0, 0), (400, 0)), ((0, 0), (0, 100)), ((0, 100), (400, 100)),
              ((400, 100), (400, 0))]
    streets = streets_frame([shapely.LineString([(X0 + x, Y0 + y) for x, y in line])
                             for line in square])
    c = {"cameras": [(1, 200.0, 0.0, 30.0)], "growth": (1.0, 1.0), "a": (0, 0.0),
         "b": (0, 1.0)}
    _, _, net, a, b = _scene(c, streets)
    solve_at, _ = _solver(net, net.pricer("typical", "detection"), a, b)
    shortest = solve_at(0.0, np.inf)
    least, _, floor = least_exposure(solve_at, shortest, 1.6 * shortest.length)
    assert shortest.exposed > 50.0 and least.exposed == 0.0
    assert 0.0 <= least.exposed - floor <= ROBUST_SLACK_M
    # with too little room for the detour, the floor proves less
    least, _, floor = least_exposure(solve_at, shortest, 1.2 * shortest.length)
    assert least is shortest and floor < shortest.exposed - ROBUST_SLACK_M


@slow
@given(case)
def test_only_the_widest_of_nested_scenarios_searches_alike(c: dict) -> None:
    _, _, net, a, b = _scene(c)
    assume(math.dist(a[2:], b[2:]) > 1.0)
    bound = net.worst_pricer("detection")
    _, (pa, pb) = _solver(net, bound, a, b)
    assert bound.searches_alike(net.pricer("worst", "detection"), pa, pb)
    # a scenario that sees less somewhere is not alike
    for sc in ("best", "typical"):
        p = net.pricer(sc, "detection")
        if np.any(bound.exposed - p.exposed > 1e-6):
            assert not bound.searches_alike(p, pa, pb)


@slow
@given(case)
def test_when_the_floor_is_within_the_slack_no_path_is_less_exposed_in_the_worst_case(
    c: dict,
) -> None:
    """The shortcut's claim, by brute force: when the best candidate lies within the slack of
    the worst-case search's floor (and a scenario searches alike), no path within the detour
    is less exposed in the worst case by more than the slack; the scenarios are then not
    searched, and the plan's route is never worse than the full candidate search's."""
    streets, seen, net, a, b = _scene(c)
    paths = _every_path(streets, seen, a, b)
    assume(paths and math.dist(a[2:], b[2:]) > 1.0)
    bound = net.worst_pricer("detection")
    pricers = bound.pricers
    solve_at, (pa, pb) = _solver(net, bound, a, b)
    shortest = solve_at(0.0, np.inf)
    limit = c["detour"] * shortest.length + 1e-6
    least, _, floor = least_exposure(solve_at, shortest, limit)
    alike = [bound.searches_alike(p, pa, pb) for p in pricers]
    picked, searches = _robust_least(solve_at, pricers, (shortest, least, floor), limit, alike)
    full, _ = _robust_least(solve_at, pricers, (shortest, least, -np.inf), limit,
                            [False] * len(pricers))
    assert worst_case(pricers, picked) <= worst_case(pricers, full) + ROBUST_SLACK_M
    proven = any(alike) and min(worst_case(pricers, p) for p in (shortest, least)) - floor <= (
        ROBUST_SLACK_M)
    if proven:
        assert searches == 0
        best = min(max(s.values()) for length, s in paths if length <= limit + 1e-6)
        assert worst_case(pricers, picked) <= best + ROBUST_SLACK_M + 1e-6


def test_a_scenario_route_off_the_worst_case_hull_is_still_searched_and_picked() -> None:
    """Three ways from (0, 0) to (400, 0): straight (400 m), 30 m south (460 m) and 100 m north
    (600 m, unseen). One camera at (200, 0) sees 100 m of the straight way and 80 m of the
    southern one under worst optics, 62 m and 16 m under best. Under worst optics the southern
    way lies above the hull of the other two, so the worst-case search cannot find it; the
    floor does not prove the straight way best (60 m < 100 m), so best optics' search runs and
    finds it: the robust route, 80 m in view at worst instead of 100 m."""
    south, north = -30, 100
    lines = [[(0, 0), (400, 0)], [(0, 0), (0, north), (400, north), (400, 0)],
             [(0, 0), (0, south), (400, south), (400, 0)]]
    streets = streets_frame([shapely.LineString([(X0 + x, Y0 + y) for x, y in line])
                             for line in lines])
    c = {"cameras": [(1, 200.0, 0.0, 31.0)], "growth": (1.0, 50 / 31), "a": (0, 0.0),
         "b": (0, 1.0)}
    _, _, net, a, b = _scene(c, streets)
    plan = plan_route(net, net.to_latlon(a[2:]), net.to_latlon(b[2:]), max_detour=1.2,
                      max_snap_m=1e-3)
    least = plan.least_exposed
    assert least.length_m == pytest.approx(460.0)
    assert least.seen("detection").metres == pytest.approx(80.0)
    assert plan.shortest.seen("detection").metres == pytest.approx(100.0)
