"""--engine dask on a 2-worker LocalCluster: same figures as local, a killed worker costs a
retry, a tile that cannot be computed is reported and nothing is saved."""

from __future__ import annotations

import dataclasses
import json
import os
import signal

import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from scale_helpers import assert_close, assert_same_result
from survatlas.cli import main
from survatlas.coverage.analysis import Settings, analyse
from survatlas.coverage.results import latest_summary
from survatlas.coverage.scale import (
    analyse_tiled,
    compute_coverage,
    plan_tiles,
    synthetic_inputs,
    tiles_base,
)
from survatlas.errors import ScaleError
from survatlas.ingest import import_osm
from survatlas.ingest.layers import import_layer
from survatlas.store import Store
from survatlas.synth import synth_city
from survatlas.synth.osmfile import write_osm

distributed = pytest.importorskip("distributed")

SETTINGS = Settings(scenarios=("typical", "worst"), levels=("detection",), cell_m=2.0)
TILE_M = 150.0


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def inputs():
    base = synthetic_inputs(synth_city(600, 500, seed=9, n_cameras=50), sites_every=20)
    x, y = base.cam_x.copy(), base.cam_y.copy()
    x[::4] = np.round(x[::4] / TILE_M) * TILE_M  # cameras exactly on tile borders
    y[::8] = np.round(y[::8] / TILE_M) * TILE_M
    return dataclasses.replace(base, cam_x=x, cam_y=y)


def test_two_workers_give_the_local_figures(client, inputs, tmp_path):
    assert len(client.scheduler_info()["workers"]) == 2
    seen = []
    tiled = analyse_tiled(inputs, SETTINGS, base=tmp_path, tile_m=TILE_M, client=client,
                          progress=lambda done, total: seen.append((done, total)))
    plan = plan_tiles(inputs, SETTINGS, TILE_M)
    assert plan.reach_m > TILE_M  # the worst optics reach far beyond one tile
    total = len(plan.view_keys) + len(plan.block_keys)
    assert seen[-1] == (total, total) and len(seen) == total
    assert_same_result(tiled, analyse(inputs, SETTINGS))


def test_a_killed_worker_costs_a_retry_not_a_wrong_result(client, inputs, tmp_path):
    pids = client.run(os.getpid)
    killed = []

    def kill_one(done, total):
        if not killed and done >= 2:
            victim = sorted(pids.values())[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    tiled = analyse_tiled(inputs, SETTINGS, base=tmp_path, tile_m=TILE_M, client=client,
                          progress=kill_one)
    assert killed
    assert_same_result(tiled, analyse(inputs, SETTINGS))
    client.wait_for_workers(2, timeout=60)
    assert killed[0] not in client.run(os.getpid).values()


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    """A store imported from a synthetic city written as OSM."""
    city = synth_city(500, 400, seed=4, n_cameras=30)
    rings = [np.column_stack(city.to_lonlat(*shapely.get_coordinates(shapely.get_exterior_ring(b))[:-1].T))
             for b in city.buildings]
    streets = [np.column_stack(city.to_lonlat(*shapely.get_coordinates(s).T)) for s in city.streets]
    cams = np.column_stack(city.to_lonlat(*city.camera_xy()))
    tags = [{"camera:type": c.get("camera_type", "fixed"),
             **({"camera:direction": str(c["direction"])} if "direction" in c else {})}
            for c in city.cameras]
    folder = tmp_path_factory.mktemp("scale")
    osm = write_osm(folder / "city.osm.pbf", buildings=rings, streets=streets, cameras=cams,
                    camera_tags=tags)
    with Store(folder / "city.db") as store:
        import_osm(store, osm)
        import_layer(store, _sites_geojson(city, folder / "sites.geojson"), "sites")
    return folder / "city.db"


def _sites_geojson(city, path):
    """Parks around street crossings, a school point inside a building, a market point outside."""
    def lonlat(geom):
        return shapely.transform(geom, lambda xy: np.column_stack(city.to_lonlat(xy[:, 0], xy[:, 1])))

    crossing = shapely.get_coordinates(city.streets[5])[0]
    inside = shapely.point_on_surface(city.buildings[7])
    feats = [(lonlat(shapely.Point(crossing).buffer(30.0)), {"leisure": "park"}),
             (lonlat(shapely.Point(*shapely.get_coordinates(city.streets[9])[0]).buffer(20.0)),
              {"place": "square"}),
             (lonlat(city.buildings[3]), {"amenity": "school"}),
             (lonlat(inside), {"amenity": "school"}),
             (lonlat(shapely.Point(*shapely.get_coordinates(city.streets[2])[0])),
              {"amenity": "marketplace"})]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": shapely.geometry.mapping(g), "properties": props}
        for g, props in feats]}))
    return path


def test_cli_engine_dask_equals_engine_local(client, store_path):
    args = ["coverage", "--scenario", "typical", "--level", "detection", "--json"]
    runner = CliRunner()
    local = runner.invoke(main, ["--db", str(store_path), *args, "--engine", "local"])
    assert local.exit_code == 0, local.output
    dask = runner.invoke(main, ["--db", str(store_path), *args, "--engine", "dask", "--scheduler",
                                client.scheduler.address, "--tile-size", "120"])
    assert dask.exit_code == 0, dask.output
    expected = json.loads(local.stdout)
    assert_close(json.loads(dask.stdout), expected)
    assert expected["sites"] == 5 and expected["sites_with_assumed_footprint"] == 1
    assert expected["by_scenario"]["typical"]["detection"]["sites"]["public_space"]["sites_seen"]
    assert any(tiles_base(store_path).iterdir())


def test_a_tile_that_cannot_be_computed_is_reported_and_nothing_is_saved(client, store_path):
    settings = Settings(scenarios=("typical",), levels=("detection",), cell_m=4.0)
    with Store(store_path) as store:
        first = compute_coverage(store, settings=settings, engine="dask",
                                 scheduler=client.scheduler.address, tile_m=200.0)
        runs = store.scalar("SELECT count(*) FROM coverage_runs")
        rows = store.scalar("SELECT count(*) FROM street_coverage")
    folder = max((p for p in tiles_base(store_path).iterdir() if p.is_dir()),
                 key=lambda p: (p / "manifest.json").stat().st_mtime_ns)
    manifest = json.loads((folder / "manifest.json").read_text())
    bad = next(k for k, t in manifest["tiles"].items() if t["cameras"] and t["buildings"])
    next((folder / "buildings" / f"tile={bad}").glob("part-*.parquet")).write_bytes(b"not parquet")
    with Store(store_path) as store:
        with pytest.raises(ScaleError, match=f"views {bad}") as err:
            compute_coverage(store, settings=dataclasses.replace(settings, h3_resolution=9),
                             engine="dask", scheduler=client.scheduler.address, tile_m=200.0)
        assert f"views {bad}" in err.value.failed and "CorruptFileError" in err.value.failed[f"views {bad}"]
        assert store.scalar("SELECT count(*) FROM coverage_runs") == runs
        assert store.scalar("SELECT count(*) FROM street_coverage") == rows
        assert latest_summary(store) == json.loads(json.dumps(first))
