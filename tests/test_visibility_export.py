"""The visibility export (issue 14, finding 5): polygons only, a `device_id` joining the devices
export, labelled status codes."""

from __future__ import annotations

import json

import geopandas as gpd
import shapely
from click.testing import CliRunner

from routing_builders import grid_streets, make_store
from survatlas.cli import main
from survatlas.coverage.regions import STATUS
from survatlas.coverage.results import polygonal

CAMERAS = [(200, 0, "public"), (400, 200, "public"), (300, 300, "restricted")]


def _run(db, *args: str):  # type: ignore[no-untyped-def]
    res = CliRunner().invoke(main, ["--db", str(db), *args])
    assert res.exit_code == 0, res.output
    return res


def test_a_region_made_valid_keeps_only_its_polygons() -> None:
    spiked = shapely.Polygon([(0, 0), (2, 0), (2, 2), (0, 2), (0, 0), (-1, -1), (0, 0)])
    fixed = shapely.make_valid(spiked)
    assert fixed.geom_type == "GeometryCollection"  # what the export used to write
    poly = polygonal(fixed)
    assert poly.geom_type == "Polygon" and poly.area == 4
    assert polygonal(shapely.LineString([(0, 0), (1, 1)])).is_empty


def test_visibility_export_is_polygons_joined_to_devices(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = make_store(tmp_path, grid_streets(5), CAMERAS)
    db = store.path
    store.close()
    _run(db, "coverage")
    vis, dev = tmp_path / "vis.geojson", tmp_path / "dev.geojson"
    _run(db, "export", "--layer", "visibility", "--format", "geojson", str(vis))
    _run(db, "export", "--layer", "devices", "--format", "geojson", str(dev))
    views, devices = gpd.read_file(vis), gpd.read_file(dev)
    assert len(views) and set(views.geom_type) <= {"Polygon", "MultiPolygon"}
    assert set(views["survatlas:device_id"]) <= set(devices["survatlas:device_id"])  # every view joins a device
    assert len(set(views["survatlas:device_id"])) == 2  # the restricted camera is in neither
    assert set(views["status"]) <= set(STATUS.values())
    assert all(STATUS[c] == s for c, s in zip(views["status_code"], views["status"], strict=True))
    assert "status_code" in json.dumps(json.loads(vis.read_text())["features"][0]["properties"])
