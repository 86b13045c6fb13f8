"""Invariants of planned routes (Hypothesis over small random grids with disc cameras)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing_builders import X0, Y0, disc_exposure, grid_streets, point_on, streets_frame
from survatlas.errors import RoutingError
from survatlas.routing import Exposure, make_route, network_from_streets, plan_route

camera = st.tuples(st.integers(1, 50), st.floats(0, 600), st.floats(0, 600), st.floats(5, 90))
case = st.fixed_dictionaries(
    {
        "k": st.integers(3, 7),
        "seed": st.integers(0, 10_000),
        "cameras": st.lists(camera, min_size=1, max_size=10, unique_by=lambda c: c[0]),
        "a": st.tuples(st.integers(0, 300), st.floats(0, 1)),
        "b": st.tuples(st.integers(0, 300), st.floats(0, 1)),
        "detour": st.floats(1.0, 2.0),
    }
)
slow = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _points(streets, c):  # type: ignore[no-untyped-def]
    ids = streets["id"].tolist()
    return [point_on(streets, ids[p[0] % len(ids)], p[1])[2:] for p in (c["a"], c["b"])]


@slow
@given(case)
def test_least_exposed_is_no_more_exposed_and_within_the_detour(c: dict) -> None:
    streets = grid_streets(c["k"], seed=c["seed"])
    net = network_from_streets(streets, disc_exposure(streets, c["cameras"]))
    a, b = (net.to_latlon(p) for p in _points(streets, c))
    plan = plan_route(net, a, b, max_detour=c["detour"], alternatives=2)
    short, least = plan.shortest, plan.least_exposed
    assert least.seen("detection").metres <= short.seen("detection").metres + 1e-6
    assert least.length_m <= c["detour"] * short.length_m + 1e-6
    for alt in plan.alternatives:
        assert short.length_m - 1e-6 <= alt.length_m <= c["detour"] * short.length_m + 1e-6
        assert alt.seen("detection").metres <= short.seen("detection").metres + 1e-6
    for r in plan.routes:
        # stretches in view lie on the route and add up to the metres in view
        total = sum(s.to_m - s.from_m for s in r.stretches if s.level == "detection")
        assert total == pytest.approx(r.seen("detection").metres, abs=1e-6)
        # the geometry is one line as long as the route
        back = shapely.transform(
            r.geometry, lambda xy: np.column_stack(net._to_xy.transform(*xy.T))
        )
        assert back.geom_type == "LineString"
        assert back.length == pytest.approx(r.length_m, abs=1e-3)


@slow
@given(case)
def test_without_cameras_both_routes_are_identical(c: dict) -> None:
    streets = grid_streets(c["k"], seed=c["seed"])
    net = network_from_streets(streets, Exposure({("typical", "detection"): {}}))
    a, b = (net.to_latlon(p) for p in _points(streets, c))
    plan = plan_route(net, a, b, max_detour=c["detour"])
    assert plan.least_exposed.length_m == plan.shortest.length_m
    assert plan.least_exposed.geometry.equals(plan.shortest.geometry)
    assert plan.shortest.seen("detection").metres == 0


@slow
@given(case, camera)
def test_adding_a_camera_never_lowers_a_routes_exposure(c: dict, extra: tuple) -> None:
    streets = grid_streets(c["k"], seed=c["seed"])
    cams = [cam for cam in c["cameras"] if cam[0] != extra[0]]
    before = network_from_streets(streets, disc_exposure(streets, cams))
    after = network_from_streets(streets, disc_exposure(streets, [*cams, extra]))
    a, b = (before.to_latlon(p) for p in _points(streets, c))
    plan = plan_route(before, a, b, max_detour=c["detour"])
    for path in (plan.shortest, plan.least_exposed):
        pieces = path.pieces
        old = make_route(before, pieces, "x", 0.0, "typical")
        new = make_route(after, pieces, "x", 0.0, "typical")
        for level in ("identification", "detection"):
            assert new.seen(level).metres >= old.seen(level).metres - 1e-9
            assert set(old.seen(level).cameras) <= set(new.seen(level).cameras)


def test_unreachable_one_way_gives_a_clear_error() -> None:
    line = shapely.LineString([(X0, Y0), (X0 + 200, Y0)])
    net = network_from_streets(streets_frame([line], [{"oneway": "yes"}]), profile="bike")
    east, west = net.to_latlon((X0 + 150, Y0)), net.to_latlon((X0 + 50, Y0))
    assert plan_route(net, west, east).shortest.length_m == pytest.approx(100)
    with pytest.raises(RoutingError, match="one-way"):
        plan_route(net, east, west)
