"""``plan_route(figure_levels=…)``: routes carry figures for the asked levels only (the web map
shows one level), the same figures and routes as a full plan's."""

from __future__ import annotations

import pytest

from routing_builders import X0, Y0, grid_streets, point_on
from survatlas.errors import InputError
from survatlas.routing import Exposure, network_from_streets, plan_route, seen_from_discs

SCENARIOS = ("best", "typical", "worst")
LEVELS = ("identification", "detection")


def _net():  # type: ignore[no-untyped-def]
    streets = grid_streets(6, seed=4)
    ids, geoms = streets["id"].tolist(), streets.geometry.values
    seen = {}
    for k, sc in enumerate(SCENARIOS):
        for j, lvl in enumerate(LEVELS):
            r = (20 + 15 * k) * (1 + 2 * j)
            cams = [(1, X0 + 150, Y0 + 210, r), (2, X0 + 320, Y0 + 90, r), (3, X0 + 260, Y0 + 400, r)]
            seen[sc, lvl] = seen_from_discs(ids, geoms, cams)
    net = network_from_streets(streets, Exposure(seen, SCENARIOS, levels=LEVELS))
    a = net.to_latlon(point_on(streets, ids[0], 0.2)[2:])
    b = net.to_latlon(point_on(streets, ids[-1], 0.7)[2:])
    return net, a, b


def test_one_level_of_figures_equals_the_full_plans() -> None:
    net, a, b = _net()
    full = plan_route(net, a, b, max_detour=1.5)
    one = plan_route(net, a, b, max_detour=1.5, figure_levels=("detection",))
    assert set(full.shortest.levels) == set(LEVELS)
    for got, want in zip(one.routes, full.routes, strict=True):
        assert got.levels == ("detection",)
        assert got.pieces == want.pieces and got.geometry.equals_exact(want.geometry, 0)
        for sc in SCENARIOS:
            assert got.exposure[sc]["detection"] == want.exposure[sc]["detection"]
    data, full_data = one.to_dict(), full.to_dict()
    assert data["price_of_privacy"] == full_data["price_of_privacy"]
    assert full.least_exposed.seen("detection").metres > 0  # the cameras are on the way


def test_figure_levels_must_hold_the_minimised_level() -> None:
    net, a, b = _net()
    with pytest.raises(InputError, match="must include 'detection'"):
        plan_route(net, a, b, figure_levels=("identification",))
