"""The A* bound of exposure still to go (issue 16): it is a lower bound, and plans made with it
are the very plans made without it (same routes, same figures), robust and per scenario."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing_builders import X0, Y0, grid_streets, point_on
from survatlas.routing import Exposure, network_from_streets, plan_route, seen_from_discs
from survatlas.routing._plan import _end_figures, snap_nearest
from survatlas.routing._robust import WorstPricer
from survatlas.routing._search import AStar, to_targets

SCENARIOS = ("best", "typical", "worst")
camera = st.tuples(
    st.integers(1, 60),
    *[st.tuples(st.floats(0, 600), st.floats(0, 600), st.floats(5, 120)) for _ in SCENARIOS],
)
case = st.fixed_dictionaries({
    "k": st.integers(3, 7),
    "drop": st.sampled_from([0.0, 0.15]),
    "seed": st.integers(0, 10_000),
    "cameras": st.lists(camera, min_size=1, max_size=10, unique_by=lambda c: c[0]),
    "a": st.tuples(st.integers(0, 300), st.floats(0, 1)),
    "b": st.tuples(st.integers(0, 300), st.floats(0, 1)),
    "detour": st.floats(1.0, 2.0),
})
slow = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _network(k, seed, cameras, drop=0.0):  # type: ignore[no-untyped-def]
    streets = grid_streets(k, seed=seed, drop=drop)
    seen = {}
    for i, sc in enumerate(SCENARIOS):
        cams = [(c[0], X0 + c[i + 1][0], Y0 + c[i + 1][1], c[i + 1][2]) for c in cameras]
        seen[sc, "detection"] = seen_from_discs(streets["id"].tolist(), streets.geometry.values,
                                                cams)
    return streets, network_from_streets(streets, Exposure(seen, SCENARIOS, levels=("detection",)))


def _point(net, streets, street_pick, frac):  # type: ignore[no-untyped-def]
    ids = streets["id"].tolist()
    return net.to_latlon(point_on(streets, ids[street_pick % len(ids)], frac)[2:])


def _answer(net, a, b, monkeypatch, bounded: bool, **kwargs):  # type: ignore[no-untyped-def]
    """The plan's data and route geometries, searched with or without the bound."""
    monkeypatch.setattr(AStar, "uses_bounds", bounded)
    net._pricers.clear()  # no table or memo carried over from the other way
    try:
        plan = plan_route(net, a, b, alternatives=1, **kwargs)
    except Exception as exc:  # the same error either way
        return repr(exc)
    data = plan.to_dict()
    data["geometry"] = [shapely.to_wkb(r.geometry).hex() for r in plan.routes]
    return json.dumps(data, sort_keys=True)


@slow
@given(case)
def test_bounded_plans_equal_unbounded_plans(c: dict) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        streets, net = _network(c["k"], c["seed"], c["cameras"], c["drop"])
        a, b = _point(net, streets, *c["a"]), _point(net, streets, *c["b"])
        for scenario in ("robust", "worst", "best"):
            kwargs = {"scenario": scenario, "max_detour": c["detour"]}
            want = _answer(net, a, b, monkeypatch, False, **kwargs)
            assert _answer(net, a, b, monkeypatch, True, **kwargs) == want


def test_a_sample_of_city_routes_is_unchanged(monkeypatch) -> None:
    """200 random routes over a 12 × 12 grid with 40 cameras: the same JSON either way."""
    rng = random.Random(16)
    cameras = [
        (i, *[(rng.uniform(0, 1100), rng.uniform(0, 1100), rng.uniform(10, 90))
              for _ in SCENARIOS])
        for i in range(1, 41)
    ]
    streets, net = _network(12, 3, cameras, 0.1)
    pairs = [(_point(net, streets, rng.randrange(1000), rng.random()),
              _point(net, streets, rng.randrange(1000), rng.random())) for _ in range(200)]
    bounded = [_answer(net, a, b, monkeypatch, True) for a, b in pairs]
    plain = [_answer(net, a, b, monkeypatch, False) for a, b in pairs]
    assert sum(x.startswith("{") for x in plain) >= 150  # mostly routes, not errors
    assert bounded == plain


@slow
@given(case)
def test_exposure_to_go_is_a_lower_bound_exact_at_the_sources(c: dict) -> None:
    streets, net = _network(c["k"], c["seed"], c["cameras"], c["drop"])
    ids = streets["id"].tolist()
    anchors = [snap_nearest(net.graph, point_on(streets, ids[p[0] % len(ids)], p[1])[2:], 1e-3)
               for p in (c["a"], c["b"])]
    pricers = [net.pricer(sc, "detection") for sc in SCENARIOS]
    g = net.graph
    indptr, indices, entry = g.reverse_csr()
    every = np.arange(g.n_nodes, dtype=np.int64)
    for pricer in [*pricers, WorstPricer(pricers)]:
        bound = pricer.to_go(*anchors)
        src, _, _, tgt, _, tgt_exp = _end_figures(pricer, *anchors)
        exact = to_targets(indptr, indices, np.ascontiguousarray(pricer.entry_exp[entry]), tgt,
                           np.ascontiguousarray(tgt_exp, float), every)  # never stops early
        assert np.all(bound <= exact + 1e-9 * np.maximum(1.0, exact))
        assert not np.any(np.isinf(bound) & np.isfinite(exact))  # inf only where unreachable
        assert np.allclose(bound[src], exact[src], rtol=1e-12, atol=1e-9)


def test_reverse_csr_lists_every_step_backwards() -> None:
    _, net = _network(4, 1, [(1, (0, 0, 50), (0, 0, 60), (0, 0, 70))])
    g = net.graph
    indptr, indices, entry = g.reverse_csr()
    forward = {(int(v), int(w)) for v in range(g.n_nodes)
               for w in g.csr_indices[g.csr_indptr[v]:g.csr_indptr[v + 1]]}
    backward = {(int(indices[e]), w) for w in range(g.n_nodes)
                for e in range(indptr[w], indptr[w + 1])}
    assert backward == forward
    rows = np.repeat(np.arange(g.n_nodes), np.diff(g.csr_indptr))
    assert np.array_equal(rows[entry], indices)


def test_prepare_loads_the_kernels_a_plan_uses() -> None:
    """A server's ``Network.prepare`` loads the bounded search's kernels with the very types
    a route request then calls them with (no compilation or cache load in a request)."""
    from survatlas.routing import _search

    streets, net = _network(5, 2, [(1, (100, 100, 80), (120, 100, 90), (150, 110, 120))])
    net.prepare()
    before = [list(k.signatures) for k in (_search._astar_bounded, _search.to_targets)]
    assert all(before)
    plan = plan_route(net, _point(net, streets, 0, 0.1), _point(net, streets, 17, 0.8))
    assert plan.searches > 1  # the λ searches ran
    assert [list(k.signatures) for k in (_search._astar_bounded, _search.to_targets)] == before


def _star(n: int) -> tuple[np.ndarray, ...]:
    """Node 0 steps to each of nodes 1..n (1 m apart in a row); each of them back to 0."""
    indptr = np.array([0, n, *range(n + 1, 2 * n + 1)], np.int64)
    indices = np.array([*range(1, n + 1), *([0] * n)], np.int64)
    xs = np.arange(n + 1, dtype=float)
    return indptr, indices, np.abs(xs[indices] - np.repeat(xs, np.diff(indptr))), xs


def test_the_bounded_search_stops_before_its_queue_could_overflow() -> None:
    """`_bounded_steps` hands its state back untouched when the next node's steps might not
    fit in the queue (`_astar_bounded` then doubles the queue and goes on)."""
    from survatlas.routing._search import _bounded_steps

    indptr, indices, weights, xs = _star(5)
    ys, h_exp = np.zeros(6), np.zeros(6)
    g, pred, closed = np.full(6, np.inf), np.full(6, -1, np.int64), np.zeros(6, np.bool_)
    g[0] = 0.0
    keys, vals = np.array([0.0, 0.0, 0.0]), np.array([0, 0, 0], np.int64)  # room for 3 < 1 + 5
    tgt, tgt_cost = np.array([5], np.int64), np.zeros(1)
    out = _bounded_steps(indptr, indices, weights, xs, ys, 5.0, 0.0, h_exp, 1.0, tgt, tgt_cost,
                         g, pred, closed, keys, vals, 1, np.inf, -1)
    assert out == (1, np.inf, -1, True)
    assert not closed.any() and (pred == -1).all() and np.isinf(g[1:]).all()
    roomy_keys, roomy_vals = np.zeros(12), np.zeros(12, np.int64)
    _, best, best_t, full = _bounded_steps(
        indptr, indices, weights, xs, ys, 5.0, 0.0, h_exp, 1.0, tgt, tgt_cost, g, pred, closed,
        roomy_keys, roomy_vals, 1, np.inf, -1)
    assert not full and (best, best_t) == (5.0, 0) and pred[5] == 0
