"""The compiled route figures equal their plain definitions (issue 16: route latency).

Route figures are computed by numba kernels (:mod:`survatlas.routing._kernels`) over arrays;
these tests keep the plain-Python / numpy definitions they replaced and compare them, exactly,
on random queries and on routes between random pairs of points.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from routing_builders import X0, Y0, grid_streets, point_on
from survatlas.routing import (
    Exposure,
    make_route,
    network_from_streets,
    plan_route,
    seen_from_discs,
)
from survatlas.routing._exposure import SeenIndex
from survatlas.routing._robust import WorstPricer
from survatlas.routing.plan import Seen

SCENARIOS = {"best": 0.6, "typical": 1.0, "worst": 1.5}


def _reference_seen_to(index: SeenIndex, streets: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``SeenIndex.seen_to`` as it was defined in numpy."""
    streets = np.asarray(streets, dtype=np.int64)
    pos = np.clip(np.asarray(pos, dtype=float), 0.0, index._width - 1.0)
    out = np.zeros(pos.shape)
    if not len(index.streets) or not pos.size:
        return out
    rank = np.minimum(np.searchsorted(index.streets, streets), len(index.streets) - 1)
    has = index.streets[rank] == streets
    j = np.searchsorted(index._keys, rank * index._width + pos, side="left") - 1
    ok = has & (j >= index.offsets[rank])
    j = np.where(ok, j, 0)
    inside = np.clip(pos - index.starts[j], 0.0, index.ends[j] - index.starts[j])
    return np.where(ok, index._before[j] + inside, 0.0)


def _reference_seen(net, pieces, scenario: str, level: str) -> Seen:  # type: ignore[no-untyped-def]
    """A route's metres in view and cameras as they were defined: piece by piece, interval by
    interval, in Python."""
    index = net.exposure.index(scenario, level)
    g = net.graph
    metres, cams = 0.0, set()
    for e, t0, t1 in pieces:
        s, base = int(g.edge_street[e]), float(g.edge_start[e])
        lo, hi = min(base + t0, base + t1), max(base + t0, base + t1)
        if _reference_seen_to(index, [s], [hi])[0] - _reference_seen_to(index, [s], [lo])[0] <= 0:
            continue
        for a, b, ids in index.stretches(s, base + t0, base + t1):
            metres += b - a
            cams.update(ids)
    return Seen(metres, tuple(sorted(cams)))


def _reference_totals(pricers, pieces) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """``Pricer.totals`` (or the worst case over ``pricers``) as it was defined."""
    g = pricers[0].graph
    e, t0, t1 = (np.array(c) for c in zip(*pieces, strict=True))
    e = e.astype(np.int64)
    seen = np.max(np.stack([
        _reference_seen_to(p.index, g.edge_street[e], np.maximum(g.edge_start[e] + t0,
                                                                 g.edge_start[e] + t1))
        - _reference_seen_to(p.index, g.edge_street[e], np.minimum(g.edge_start[e] + t0,
                                                                   g.edge_start[e] + t1))
        for p in pricers]), axis=0)
    return float(np.abs(t1 - t0).sum()), float(seen.sum())


def _network(seed: int, k: int = 7, n_cameras: int = 25):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    streets = grid_streets(k, seed=seed)
    span = (k - 1) * 100.0
    cams = [(i + 1, X0 + rng.uniform(0, span), Y0 + rng.uniform(0, span), rng.uniform(10, 60))
            for i in range(n_cameras)]
    ids, lines = streets["id"].tolist(), streets.geometry.values
    seen = {
        (sc, lvl): seen_from_discs(ids, lines, [(c, x, y, r * f * share) for c, x, y, r in cams])
        for sc, f in SCENARIOS.items()
        for lvl, share in (("identification", 0.3), ("detection", 1.0))
    }
    exposure = Exposure(seen, tuple(SCENARIOS), levels=("identification", "detection"))
    return streets, network_from_streets(streets, exposure)


@pytest.mark.parametrize("seed", range(4))
def test_seen_to_equals_its_numpy_definition(seed: int) -> None:
    _, net = _network(seed)
    rng = np.random.default_rng(seed)
    for sc in SCENARIOS:
        index = net.exposure.index(sc, "detection")
        streets = rng.choice(np.concatenate([index.streets, [-5, 10**6]]), 3000)
        pos = rng.uniform(-20, 800, 3000)
        # positions exactly at interval ends, where a search can land either side
        k = rng.integers(0, len(index.starts), 500)
        owner = np.repeat(index.streets, np.diff(index.offsets))
        streets[:1000] = np.concatenate([owner[k], owner[k]])
        pos[:1000] = np.concatenate([index.starts[k], index.ends[k]])
        assert np.array_equal(index.seen_to(streets, pos), _reference_seen_to(index, streets, pos))
        a, b = pos, rng.uniform(-20, 800, 3000)
        want = _reference_seen_to(index, streets, np.maximum(a, b)) - _reference_seen_to(
            index, streets, np.minimum(a, b))
        assert np.array_equal(index.seen_between(streets, a, b), want)


@pytest.mark.parametrize("seed", range(6))
def test_route_figures_equal_the_old_definition_on_random_pairs(seed: int) -> None:
    streets, net = _network(seed)
    rng = np.random.default_rng(100 + seed)
    ids = streets["id"].tolist()
    compared = 0
    for _ in range(8):
        a, b = (net.to_latlon(point_on(streets, ids[rng.integers(len(ids))], rng.uniform())[2:])
                for _ in range(2))
        for scenario in ("robust", "typical"):
            plan = plan_route(net, a, b, scenario=scenario, max_detour=1.5, alternatives=1)
            for route in plan.routes:
                pieces = list(route.pieces)
                for sc in SCENARIOS:
                    pricer = net.pricer(sc, "detection")
                    assert pricer.totals(pieces) == _reference_totals([pricer], pieces)
                    for lvl in ("identification", "detection"):
                        assert route.exposure[sc][lvl] == _reference_seen(net, pieces, sc, lvl)
                        compared += 1
                worst = WorstPricer([net.pricer(sc, "detection") for sc in SCENARIOS])
                assert worst.totals(pieces) == _reference_totals(worst.pricers, pieces)
                # the stretches (computed on first use) add up to the metres in view
                for lvl in ("identification", "detection"):
                    total = sum(s.to_m - s.from_m for s in route.stretches if s.level == lvl)
                    assert total == pytest.approx(route.seen(lvl).metres, abs=1e-6)
    assert compared > 100
    assert any(seen.metres > 0 for seen in route.exposure["worst"].values())


def test_a_route_without_pieces_has_nothing_in_view() -> None:
    _, net = _network(0)
    route = make_route(net, [], "empty", 0.0, "typical")
    assert route.exposure["typical"]["detection"] == Seen(0.0, ())
    assert route.stretches == []


@pytest.mark.parametrize("seed", range(3))
def test_whole_edge_tables_equal_the_interval_search(seed: int) -> None:
    """Pieces covering whole edges are priced from per-edge tables: equal, bit for bit, to
    the search of the intervals (``SeenIndex.seen_between`` / ``seen_and_cameras``) — whole
    edges either way, parts of edges, and mixes of both."""
    _, net = _network(seed)
    g = net.graph
    rng = np.random.default_rng(seed)
    for sc in SCENARIOS:
        pricer = net.pricer(sc, "detection")
        index = pricer.index
        for _ in range(40):
            n = int(rng.integers(1, 30))
            edges = rng.integers(0, len(g.edge_u), n)
            length = g.edge_length[edges]
            kind = rng.integers(0, 3, n)  # whole forward, whole backward, a part
            t0 = np.where(kind == 0, 0.0, np.where(kind == 1, length, rng.uniform(0, length)))
            t1 = np.where(kind == 0, length, np.where(kind == 1, 0.0, rng.uniform(0, length)))
            start = g.edge_start[edges]
            streets = g.edge_street[edges]
            want = index.seen_between(streets, start + t0, start + t1)
            assert np.array_equal(pricer.figures(edges, t0, t1)[1], want)
            assert pricer.seen_and_cameras(edges, t0, t1) == index.seen_and_cameras(
                streets, start + t0, start + t1)


@pytest.mark.parametrize("n_ids", [-1, 0, 5, 50, 10_000])
def test_distinct_cameras_equal_numpy_unique(n_ids: int) -> None:
    from survatlas.routing._kernels import _distinct_cameras

    rng = np.random.default_rng(n_ids + 7)
    high = max(n_ids, 1)
    counts = rng.integers(0, 6, 40)
    cam_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    cams = rng.integers(-3 if n_ids < 0 else 0, high, int(cam_offsets[-1])).astype(np.int64)
    if n_ids == 0:
        cams = cams[:0]
        cam_offsets[:] = 0
    interval = rng.integers(0, 40, 25).astype(np.int64)
    found = _distinct_cameras(cam_offsets, cams, interval, n_ids)
    want = np.unique(np.concatenate(
        [cams[cam_offsets[j]:cam_offsets[j + 1]] for j in interval] + [np.zeros(0, np.int64)]))
    assert np.array_equal(found, want)


@pytest.mark.parametrize("seed", range(3))
def test_route_vertices_equal_the_pieces_lines(seed: int) -> None:
    """A route's vertices gathered from the graph's per-edge table equal those of the
    pieces' lines (whole edges either way, parts of edges), coordinate for coordinate."""
    from survatlas.routing._lines import _piece_line, _route_xy
    from survatlas.routing._plan import piece_arrays

    _, net = _network(seed)
    g = net.graph
    rng = np.random.default_rng(seed)
    for _ in range(30):
        n = int(rng.integers(1, 12))
        edges = rng.integers(0, len(g.edge_u), n).tolist()
        pieces = []
        for e in edges:
            length = float(g.edge_length[e])
            kind = int(rng.integers(0, 3))
            t = sorted(rng.uniform(0, length, 2).tolist())
            pieces.append((e, 0.0, length) if kind == 0 else (e, length, 0.0) if kind == 1
                          else (e, t[1], t[0]) if rng.random() < 0.5 else (e, t[0], t[1]))
        xy, which = _route_xy(g, pieces, piece_arrays(pieces))
        want_xy, want_which = shapely.get_coordinates(
            np.asarray([_piece_line(g, p) for p in pieces], dtype=object), return_index=True)
        assert np.array_equal(xy, want_xy) and np.array_equal(which, want_which)
