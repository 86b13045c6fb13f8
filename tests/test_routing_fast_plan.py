"""The faster route plan (issue 16): each shortcut gives what the definition it replaces gives,
bit for bit (lines, totals, warmed kernels). The whole plans are compared with a stored
reference in ``test_routing_plan_reference.py``."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from routing_builders import X0, Y0, grid_streets, point_on
from survatlas.routing import Exposure, network_from_streets, plan_route, seen_from_discs
from survatlas.routing._lines import _join_xy, _piece_line, _route_xy, route_line
from survatlas.routing._plan import piece_arrays
from survatlas.routing._robust import WorstPricer, _largest
from survatlas.routing.plan import _to_lonlat

SCENARIOS = ("best", "typical", "worst")


def _network(seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    streets = grid_streets(6, seed=seed, drop=0.1)
    cams = [(i, *rng.uniform(0, 600, 2).tolist(), float(rng.uniform(20, 90)))
            for i in range(1, 13)]
    seen = {(sc, "detection"): seen_from_discs(
        streets["id"].tolist(), streets.geometry.values,
        [(c, X0 + x, Y0 + y, r * k) for c, x, y, r in cams])
        for sc, k in zip(SCENARIOS, (0.6, 1.0, 1.3), strict=True)}
    return streets, network_from_streets(streets, Exposure(seen, SCENARIOS, levels=("detection",)))


def _pieces(g, rng, joined: bool):  # type: ignore[no-untyped-def]
    """Random pieces: whole edges either way and parts of edges; with ``joined``, a path's
    pieces (each starting where the one before ends) rather than scattered ones."""
    n = int(rng.integers(1, 12))
    pieces = []
    node = int(g.edge_u[rng.integers(0, len(g.edge_u))])
    for _ in range(n):
        if joined:
            nxt = np.flatnonzero((g.edge_u == node) | (g.edge_v == node))
            e = int(rng.choice(nxt))
            fwd = bool(g.edge_u[e] == node)
            node = int(g.edge_v[e] if fwd else g.edge_u[e])
        else:
            e, fwd = int(rng.integers(0, len(g.edge_u))), bool(rng.random() < 0.5)
        length = float(g.edge_length[e])
        t = sorted(rng.uniform(0, length, 2).tolist())
        part = rng.random() < 0.3
        a, b = (t[0], t[1]) if part else (0.0, length)
        pieces.append((e, a, b) if fwd else (e, b, a))
    return pieces


@pytest.mark.parametrize("seed", range(4))
def test_route_line_equals_the_joined_projected_pieces(seed: int) -> None:
    """One compiled pass with lon/lat made once per network gives the line that joining the
    pieces' vertices and projecting the joined line gives (touching and gapped pieces)."""
    _, net = _network(seed)
    g = net.graph
    rng = np.random.default_rng(seed)
    kinds = set()
    for k in range(60):
        pieces = _pieces(g, rng, joined=k % 3 != 0)
        arrays = piece_arrays(pieces)
        want = _to_lonlat(net, _join_xy(*_route_xy(g, pieces, arrays)))
        got = route_line(g, pieces, arrays, net.edge_coords_lonlat(), net._to_ll.transform)
        assert shapely.to_wkb(got) == shapely.to_wkb(want)
        want_xy = shapely.get_coordinates(
            np.asarray([_piece_line(g, p) for p in pieces], dtype=object))
        assert len(shapely.get_coordinates(got)) <= len(want_xy)
        kinds.add(got.geom_type)
    assert kinds == {"LineString", "MultiLineString"}


@pytest.mark.parametrize("seed", range(3))
def test_worst_pricer_measures_each_scenario_as_its_own_pricer(seed: int) -> None:
    """``WorstPricer.measured``: the worst-case totals and each scenario's, equal to each
    pricer's ``array_totals`` of the same pieces."""
    _, net = _network(seed)
    pricers = [net.pricer(sc, "detection") for sc in SCENARIOS]
    worst = net.worst_pricer("detection")
    assert isinstance(worst, WorstPricer) and worst is net.worst_pricer("detection")
    rng = np.random.default_rng(seed)
    for _ in range(40):
        arrays = piece_arrays(_pieces(net.graph, rng, joined=True))
        measured = worst.measured(arrays)
        assert measured[worst] == worst.array_totals(*arrays)
        for p in pricers:
            assert measured[p] == p.array_totals(*arrays)
        assert measured[worst][1] >= max(measured[p][1] for p in pricers)


def test_largest_is_the_elementwise_max() -> None:
    rng = np.random.default_rng(1)
    arrays = [rng.normal(size=50) for _ in range(3)]
    arrays[1][[3, 7]] = np.inf
    assert np.array_equal(_largest(arrays), np.max(np.stack(arrays), axis=0))


def test_prepare_loads_the_line_kernel_a_plan_uses() -> None:
    """``Network.prepare`` loads the line kernel with the types a plan then calls it with,
    and makes the worst-case pricer a robust plan uses."""
    from survatlas.routing import _kernels

    streets, net = _network(2)
    net.prepare()
    before = list(_kernels.joined_vertices.signatures)
    worst = net._pricers[("robust", "detection")]
    ids = streets["id"].tolist()
    a = net.to_latlon(point_on(streets, ids[0], 0.3)[2:])
    b = net.to_latlon(point_on(streets, ids[-1], 0.6)[2:])
    plan = plan_route(net, a, b, scenario="robust")
    assert plan.least_exposed.geometry.length > 0
    assert list(_kernels.joined_vertices.signatures) == before
    assert net.worst_pricer("detection") is worst


@pytest.mark.parametrize("seed", range(3))
def test_worst_end_figures_equal_its_own_measure(seed: int) -> None:
    """The worst-case pricer's end pieces taken from the scenarios' equal those measured with
    its own ``figures`` (the largest over the scenarios, piece by piece)."""
    from survatlas.routing._plan import _measured_ends, snap_nearest

    streets, net = _network(seed)
    worst = net.worst_pricer("detection")
    rng = np.random.default_rng(seed)
    ids = streets["id"].tolist()
    for _ in range(20):
        a, b = (snap_nearest(net.graph, point_on(streets, ids[int(rng.integers(len(ids)))],
                                                 float(rng.random()))[2:], 1e-3)
                for _ in range(2))
        got, want = worst.end_figures(a, b), _measured_ends(worst, a, b)
        assert all(np.array_equal(x, y) for x, y in zip(got, want, strict=True))
