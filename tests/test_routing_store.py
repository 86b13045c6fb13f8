"""Loading the coverage results (street_seen) and the street graph from a store."""

from __future__ import annotations

import pytest

from routing_builders import add_run, grid_streets, make_store, write_discs
from survatlas.errors import RoutingError
from survatlas.routing import load_exposure, load_network, plan_route

RADII = {
    ("typical", "detection"): 40.0,
    ("typical", "identification"): 8.0,
    ("worst", "detection"): 80.0,
}


@pytest.fixture
def store(tmp_path):  # type: ignore[no-untyped-def]
    s = make_store(tmp_path, grid_streets(5), [(200, 0, "public"), (0, 200, "restricted")])
    yield s
    s.close()


def test_missing_coverage_says_run_survatlas_coverage(store) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RoutingError, match="survatlas coverage"):
        load_exposure(store)
    with pytest.raises(RoutingError, match="survatlas coverage"):
        load_network(store)


def test_loaded_exposure_has_scenarios_levels_and_only_public_cameras(store) -> None:  # type: ignore[no-untyped-def]
    write_discs(store, RADII)
    public = load_exposure(store)
    assert public.scenarios == ("typical", "worst")
    cams = {
        c for ivs in public.intervals("typical", "detection").values() for *_, cs in ivs for c in cs
    }
    public_id = store.scalar("SELECT id FROM devices WHERE sensitivity = 'public'")
    assert cams == {public_id}
    # identification stretches are inside the detection stretches (levels are cumulative)
    ident = public.intervals("typical", "identification")
    assert ident and all(s in public.intervals("typical", "detection") for s in ident)
    everyone = load_exposure(store, audience="restricted")
    cams_r = {
        c
        for ivs in everyone.intervals("typical", "detection").values()
        for *_, cs in ivs
        for c in cs
    }
    assert len(cams_r) == 2


def test_route_over_the_store_sees_the_public_camera(store) -> None:  # type: ignore[no-untyped-def]
    write_discs(store, RADII)
    net = load_network(store)
    a, b = (
        net.to_latlon(net.graph.node_xy.min(axis=0)),
        net.to_latlon(net.graph.node_xy.max(axis=0)),
    )
    plan = plan_route(net, a, b, max_detour=1.5)
    assert plan.shortest.length_m == pytest.approx(800, abs=5)
    for r in plan.routes:
        assert r.seen("detection").metres <= 80 + 1e-6
        assert set(r.seen("detection").cameras) <= {
            store.scalar("SELECT id FROM devices WHERE sensitivity = 'public'")
        }
    assert plan.least_exposed.seen("detection").metres <= plan.shortest.seen("detection").metres
    worst = plan_route(net, a, b, scenario="worst")
    assert worst.scenario == "worst"
    assert plan.shortest.metres_range("detection")[1] >= plan.shortest.seen("detection").metres


def test_plate_rows_are_ignored_and_an_empty_run_log_means_no_coverage(store) -> None:  # type: ignore[no-untyped-def]
    write_discs(store, RADII)
    cam = store.scalar("SELECT id FROM devices WHERE sensitivity = 'public'")
    with store.transaction() as conn:
        conn.execute("INSERT INTO street_seen VALUES (1, 'typical', 'plate', 0, 5, ?)", (cam,))
    assert load_exposure(store).scenarios == ("typical", "worst")
    add_run(store)  # the schema of a store whose coverage never ran
    with store.transaction() as conn:
        conn.execute("DELETE FROM coverage_runs")
    with pytest.raises(RoutingError, match="run `survatlas coverage` first"):
        load_exposure(store)


def test_the_coverage_run_crs_is_used(store) -> None:  # type: ignore[no-untyped-def]
    from pyproj import CRS

    from survatlas.routing import store_crs

    assert store_crs(store).to_epsg() == 32635
    write_discs(store, RADII)
    add_run(store, CRS.from_epsg(3067).to_wkt())
    assert store_crs(store).to_epsg() == 3067
