"""What a coverage run reads, as plain column tables: the same public rows as the gate's
layers, without pandas or geopandas in the process (issue 16)."""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import shapely

from routing_builders import X0, Y0, grid_streets, latlon, make_store
from survatlas.coverage.analysis import building_attributes, load_inputs
from survatlas.coverage.reading import (
    FILMING,
    Table,
    device_rows,
    read_cameras,
    read_sites,
    read_streets,
)
from survatlas.errors import InputError
from survatlas.store import Store
from survatlas.store.gate import read_layer

CAMERAS = [(200, 0, "public"), (400, 200, "public"), (600, 400, "restricted"), (0, 600, "public"),
           (300, 300, "public")]


@pytest.fixture(scope="module")
def db(tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("reading")
    store = make_store(folder, grid_streets(7), CAMERAS)
    from survatlas.ingest import import_layer

    (s0, w0), (s1, w1) = latlon(X0 + 90, Y0 + 90), latlon(X0 + 190, Y0 + 190)
    sites = gpd.GeoDataFrame({"category": ["education", "public_space"], "name": ["A", "B"]},
                             geometry=[shapely.box(w0, s0, w1, s1), shapely.Point(w1, s1)],
                             crs="EPSG:4326")
    sites.to_file(folder / "sites.geojson", driver="GeoJSON")
    import_layer(store, folder / "sites.geojson", "sites")
    with store.transaction() as conn:  # optics of every kind: listed views, numbers, types
        ids = [r[0] for r in conn.execute("SELECT id FROM devices ORDER BY id")]
        conn.execute("UPDATE devices SET views = '[[90.0, 60.0], [270.0, null]]', "
                     "camera_type = 'fixed', height_m = 4.5, focal_mm = 6 WHERE id = ?", (ids[0],))
        conn.execute("UPDATE devices SET camera_type = 'dome', range_m = 30, width_px = 1920, "
                     "mount = 'pole' WHERE id = ?", (ids[1],))
        conn.execute("UPDATE devices SET device_type = 'guard' WHERE id = ?", (ids[3],))
    path = store.path
    store.close()
    return path


def test_the_readers_give_the_gates_public_rows(db):
    with Store(db) as store:
        cams, streets, sites = read_cameras(store), read_streets(store, walkable_only=False), \
            read_sites(store)
        layer = read_layer(store, "devices", row_ids=True)
        layer = layer[layer["device_type"].isin(FILMING)].reset_index(drop=True)
        gate_streets = read_layer(store, "streets", row_ids=True)
        gate_sites = read_layer(store, "sites", row_ids=True)
    assert isinstance(cams, Table) and len(cams) == len(layer) == 3  # 1 restricted, 1 guard
    assert cams["id"].tolist() == layer["id"].tolist()
    assert shapely.equals_exact(cams.geometry, layer.geometry.values, 0).all()
    assert device_rows(cams) == device_rows(layer)  # the table and the frame read alike
    rows = device_rows(cams)
    assert rows[0]["views"] == [(90.0, 60.0), (270.0, None)] and rows[0]["height_m"] == 4.5
    assert rows[1]["camera_type"] == "dome" and rows[1]["mount"] == "pole"
    assert rows[1]["range_m"] == 30.0 and rows[1]["height_m"] is None
    assert streets["id"].tolist() == gate_streets["id"].tolist() and len(streets) > 10
    assert shapely.equals_exact(streets.geometry, gate_streets.geometry.values, 0).all()
    assert sites["id"].tolist() == gate_sites["id"].tolist() and len(sites) == 2
    assert sites["category"].tolist() == gate_sites["category"].tolist()
    assert np.allclose(cams.total_bounds, layer.total_bounds)


def test_a_table_behaves_as_the_frames_coverage_used(db):
    with Store(db) as store:
        cams = read_cameras(store)
    copy = cams.copy()
    copy["range_m"] = 12.0
    copy["camera_type"] = "dome"
    assert copy["range_m"].tolist() == [12.0] * 3 and np.isnan(cams["range_m"][0])
    assert [r["camera_type"] for r in device_rows(copy)] == ["dome"] * 3
    with pytest.raises(ValueError, match="2 values for 3 rows"):
        copy["fov_deg"] = [1.0, 2.0]
    frame = cams.to_frame()
    assert list(frame["id"]) == cams["id"].tolist() and frame.crs == "EPSG:4326"


def test_a_stored_number_that_is_text_is_a_clear_error(db, tmp_path):
    import shutil

    bad = tmp_path / "bad.db"
    shutil.copyfile(db, bad)
    with Store(bad) as store:
        with store.transaction() as conn:
            conn.execute("UPDATE devices SET height_m = 'tall' WHERE id = (SELECT min(id) FROM "
                         "devices)")
        with pytest.raises(InputError, match=r"camera field height_m='tall' is not a number"):
            read_cameras(store)


def test_building_tags_are_columns_of_numbers(db):
    with Store(db) as store:
        attrs = building_attributes(store, None)
        inputs = load_inputs(store, buildings=False)
    assert len(attrs) == 0 and attrs["height_m"].dtype == np.float64
    assert len(inputs.devices) == 3 and inputs.site_ids.size == 2
    assert inputs.site_category.tolist() == ["education", "public_space"]


def test_a_coverage_process_imports_no_pandas_or_geopandas(db, tmp_path):
    """A whole ``coverage`` process (streets only, and everything in 2-D and 2.5-D) never
    imports pandas or geopandas: the inputs are read as column tables (nor ``numpy.ma``,
    7 ms, which ``np.unique`` and ``np.median`` load)."""
    import shutil

    copy = tmp_path / "run.db"
    shutil.copyfile(db, copy)
    code = ("import json, sys\n"
            "from survatlas.cli import main\n"
            "main(sys.argv[1:], standalone_mode=False)\n"
            "print(json.dumps(sorted(m for m in ('pandas', 'geopandas', 'pyarrow', 'dask', "
            "'numpy.ma') "
            "if m in sys.modules)), file=sys.stderr)\n")
    for extra in (["--only", "streets", "--occlusion", "2d"], ["--occlusion", "2d"], []):
        out = subprocess.run(
            [sys.executable, "-c", code, "--db", str(copy), "coverage", "--level", "detection",
             "--scenario", "typical", "--cell", "4", "--json", *extra],
            capture_output=True, text=True, check=True)
        summary = json.loads(out.stdout)
        assert summary["by_scenario"]["typical"]["detection"]["street_in_view_m"] > 0
        assert json.loads(out.stderr.strip().splitlines()[-1]) == [], extra
