"""Bad route queries give clear errors: outside the data, gaps, bad options."""

from __future__ import annotations

import pytest
import shapely

from routing_builders import X0, Y0, disc_exposure, grid_streets, streets_frame
from survatlas.errors import InputError, RoutingError
from survatlas.routing import network_from_streets, plan_route


def _line(*pts: tuple[float, float]) -> shapely.LineString:
    return shapely.LineString([(X0 + x, Y0 + y) for x, y in pts])


@pytest.fixture(scope="module")
def islands():  # type: ignore[no-untyped-def]
    # two networks 400 m apart (a river without a bridge in the data)
    west = [_line((0, 0), (300, 0)), _line((300, 0), (300, 300))]
    east = [_line((700, 0), (1000, 0)), _line((700, 0), (700, 300))]
    return network_from_streets(streets_frame([*west, *east]))


def test_gap_error_names_the_gap(islands) -> None:  # type: ignore[no-untyped-def]
    a, b = islands.to_latlon((X0 + 10, Y0)), islands.to_latlon((X0 + 990, Y0))
    with pytest.raises(RoutingError) as err:
        plan_route(islands, a, b)
    msg = str(err.value)
    assert "do not connect" in msg and "closest gap is 400 m wide" in msg
    west, east = islands.to_latlon((X0 + 300, Y0)), islands.to_latlon((X0 + 700, Y0))
    assert f"({west[0]:.6f}, {west[1]:.6f}) on 'street" in msg
    assert f"({east[0]:.6f}, {east[1]:.6f}) on 'street" in msg


def test_a_point_near_both_pieces_snaps_to_the_reachable_one(islands) -> None:  # type: ignore[no-untyped-def]
    a = islands.to_latlon((X0 + 10, Y0))
    b = islands.to_latlon((X0 + 520, Y0 + 150))  # 180 m from the east piece, 220 m from the west
    plan = plan_route(islands, a, b)
    assert plan.destination.street_id == 2
    assert plan.destination.distance_m == pytest.approx(220, abs=0.5)


def test_points_outside_the_data(islands) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RoutingError, match=r"origin .* more than 300 m .* streets cover lat"):
        plan_route(islands, (61.0, 25.0), islands.to_latlon((X0, Y0)))
    with pytest.raises(RoutingError, match="destination"):
        plan_route(islands, islands.to_latlon((X0, Y0)), (61.0, 25.0))
    with pytest.raises(InputError, match="latitude"):
        plan_route(islands, (95.0, 25.0), (60.0, 25.0))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_detour": 0.9}, "max detour"),
        ({"max_detour": float("nan")}, "max detour"),
        ({"alternatives": -1}, "negative"),
        ({"level": "glance"}, "DORI level"),
        ({"scenario": "worst"}, "no coverage for scenario 'worst'"),
        ({"engine": "magic"}, "engine"),
    ],
)
def test_bad_options(kwargs: dict, match: str) -> None:
    streets = grid_streets(3)
    net = network_from_streets(streets, disc_exposure(streets, [(1, 100, 100, 30)]))
    a, b = net.to_latlon((X0, Y0)), net.to_latlon((X0 + 200, Y0 + 200))
    with pytest.raises(InputError, match=match):
        plan_route(net, a, b, **kwargs)


def test_same_point_gives_an_empty_route() -> None:
    streets = grid_streets(3)
    net = network_from_streets(streets, disc_exposure(streets, [(1, 0, 0, 30)]))
    a = net.to_latlon((X0 + 10, Y0))
    plan = plan_route(net, a, a)
    assert plan.shortest.length_m == 0 and plan.least_exposed.length_m == 0
