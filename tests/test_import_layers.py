"""GIS layers in any CRS become buildings, streets or sites."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from survatlas.errors import InputError
from survatlas.ingest import import_layer
from survatlas.store import Store


def _frame(geoms, crs="EPSG:3067", **cols):
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=crs)


def test_buildings_in_a_projected_crs_are_reprojected(tmp_path):
    path = tmp_path / "b.gpkg"
    _frame([box(385000, 6671000, 385020, 6671030)], height=[12.0]).to_file(path)
    with Store(tmp_path / "s.db") as store:
        summary = import_layer(store, path, "buildings")
        row = store.query("SELECT min_x, min_y, height_m, obstacle FROM buildings")[0]
    assert summary.layers["buildings"].added == 1
    assert 24.0 < row["min_x"] < 25.5 and 60.0 < row["min_y"] < 60.3  # Helsinki, in lon/lat
    assert row["height_m"] == 12.0 and row["obstacle"] == 1


def test_streets_and_sites_from_geojson(tmp_path):
    streets, sites = tmp_path / "s.geojson", tmp_path / "p.geojson"
    _frame([LineString([(24.94, 60.17), (24.95, 60.17)])], crs="EPSG:4326", highway=["footway"]).to_file(streets)
    _frame([Point(24.94, 60.17), box(24.9, 60.1, 24.91, 60.11)], crs="EPSG:4326",
           amenity=["school", None], category=[None, "airport"]).to_file(sites)
    with Store(tmp_path / "s.db") as store:
        import_layer(store, streets, "streets")
        import_layer(store, sites, "sites")
        assert store.scalar("SELECT walkable FROM streets") == 1
        assert sorted(r[0] for r in store.query("SELECT category FROM sites")) == ["airport", "education"]


def test_wrong_geometry_kind_and_unknown_category(tmp_path):
    path = tmp_path / "p.geojson"
    _frame([Point(24.94, 60.17)], crs="EPSG:4326", category=["spaceport"]).to_file(path)
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(InputError, match="row 1: a Point cannot be one of the buildings"):
            import_layer(store, path, "buildings")
        with pytest.raises(InputError, match="unknown category 'spaceport'"):
            import_layer(store, path, "sites")
        with pytest.raises(InputError, match="unknown layer kind"):
            import_layer(store, path, "cameras")
        assert store.scalar("SELECT count(*) FROM sites") == 0


def test_building_height_levels_and_min_height_columns(tmp_path):
    path = tmp_path / "b.gpkg"
    _frame([box(385000, 6671000, 385020, 6671030), box(385100, 6671000, 385120, 6671030)],
           height=[None, 9.5], levels=[4.0, None], min_height=[None, 3.0]).to_file(path)
    with Store(tmp_path / "s.db") as store:
        import_layer(store, path, "buildings")
        rows = store.query("SELECT height_m, levels, min_height_m FROM buildings ORDER BY id")
    assert [tuple(r) for r in rows] == [(None, 4.0, None), (9.5, None, 3.0)]
