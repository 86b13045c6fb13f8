"""Exports open in GeoPandas, carry ODbL attribution, and round-trip through import."""

from __future__ import annotations

import json
import sqlite3

import geopandas as gpd
import pyarrow.parquet as pq
import pyogrio
import pytest

from survatlas.errors import InputError
from survatlas.ingest import import_cameras, import_osm
from survatlas.publish.export import WRITERS, export_layer, supports
from survatlas.store import Store

ROUND_TRIP_SQL = ("SELECT origin, device_type, lon, lat, tags, views, osm_version, height_m "
                  "FROM devices ORDER BY origin")


@pytest.fixture(scope="module")
def store_path(tmp_path_factory, helsinki_pbf):
    path = tmp_path_factory.mktemp("e") / "h.db"
    with Store(path) as store:
        import_osm(store, helsinki_pbf)
    return path


@pytest.mark.parametrize(
    ("layer", "fmt"),
    [
        (layer, fmt)
        for layer in ("devices", "buildings", "streets", "sites")
        for fmt in sorted(WRITERS)
        if supports(layer, fmt)  # osc (osmChange) is for accepted contributions only
    ],
)
def test_every_layer_in_every_format_opens_in_geopandas(tmp_path, store_path, layer, fmt):
    out = tmp_path / f"{layer}.{fmt}"
    with Store(store_path) as store:
        result = export_layer(store, layer, fmt, out)
        expected = store.scalar(f"SELECT count(*) FROM {layer}")
    assert result["features"] == expected
    if fmt == "csv":
        frame = gpd.pd.read_csv(out, low_memory=False)
        assert (tmp_path / f"{layer}.csv.attribution.txt").read_text().count("OpenStreetMap contributors")
    elif fmt == "geoparquet":
        frame = gpd.read_parquet(out)
        assert b"OpenStreetMap contributors" in pq.read_schema(out).metadata[b"attribution"]
    else:
        frame = gpd.read_file(out)
    assert len(frame) == expected
    if fmt == "geojson":
        assert "OpenStreetMap contributors" in json.loads(out.read_text())["attribution"]
    if fmt == "gpkg":
        assert "OpenStreetMap contributors" in pyogrio.read_info(out)["layer_metadata"]["attribution"]
    if fmt == "kml":
        assert "OpenStreetMap contributors" in out.read_text()
    assert not list(tmp_path.glob(".partial-*"))


def test_osm_tags_keep_their_names_as_columns(tmp_path, store_path):
    out = tmp_path / "d.geojson"
    with Store(store_path) as store:
        export_layer(store, "devices", "geojson", out)
    props = [f["properties"] for f in json.loads(out.read_text())["features"]]
    assert any(p.get("man_made") == "surveillance" for p in props)
    assert all("survatlas:origin" in p for p in props)


@pytest.mark.parametrize("fmt", ["geojson", "csv"])
def test_devices_round_trip_through_a_fresh_store(tmp_path, store_path, fmt):
    out = tmp_path / f"d.{fmt}"
    with Store(store_path) as store:
        export_layer(store, "devices", fmt, out)
    with Store(tmp_path / "fresh.db") as fresh:
        summary = import_cameras(fresh, out)
    assert summary.layers["devices"].added == summary.layers["devices"].added > 200
    a = sqlite3.connect(store_path).execute(ROUND_TRIP_SQL).fetchall()
    b = sqlite3.connect(tmp_path / "fresh.db").execute(ROUND_TRIP_SQL).fetchall()
    assert a == b


def test_bbox_export_and_bad_arguments(tmp_path, store_path):
    with Store(store_path) as store:
        part = export_layer(store, "devices", "geojson", tmp_path / "p.geojson",
                            bbox=(24.940, 60.165, 24.945, 60.170))
        total = store.scalar("SELECT count(*) FROM devices")
        assert 0 < part["features"] < total
        with pytest.raises(InputError, match="unknown layer"):
            export_layer(store, "people", "geojson", tmp_path / "x.geojson")
        with pytest.raises(InputError, match="unknown format"):
            export_layer(store, "devices", "xls", tmp_path / "x.xls")
        with pytest.raises(InputError, match="does not exist"):
            export_layer(store, "devices", "csv", tmp_path / "missing" / "x.csv")
