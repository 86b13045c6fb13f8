"""Sites reported by several sources stay one site (issue 14, finding 5)."""

from __future__ import annotations

import geopandas as gpd
import shapely

from survatlas.ingest import import_layer, import_osm
from survatlas.ingest._site_merge import SITE_MERGE_M
from survatlas.store import Store
from survatlas.store.gate import read_layer


def _schools(store: Store) -> gpd.GeoDataFrame:
    sites = read_layer(store, "sites")
    return sites[sites["category"] == "education"]


def test_a_school_layer_on_top_of_osm_adds_only_new_schools(tmp_path, helsinki_pbf) -> None:  # type: ignore[no-untyped-def]
    with Store(tmp_path / "h.db") as store:
        import_osm(store, helsinki_pbf)
        osm = _schools(store)
        assert len(osm) == 9
        # the same schools from another source: a point inside each footprint, or a few metres
        # from a point site; plus one school OSM does not have, 300 m away from any
        points = [g.representative_point() if g.geom_type != "Point" else
                  shapely.Point(g.x + 0.0001, g.y) for g in osm.geometry]
        new = shapely.Point(osm.geometry.iloc[0].centroid.x + 0.0055, osm.geometry.iloc[0].centroid.y)
        layer = gpd.GeoDataFrame({"category": ["education"] * 10,
                                  "name": [*osm["name"].fillna("").tolist(), "New school"]},
                                 geometry=[*points, new], crs="EPSG:4326")
        path = tmp_path / "schools.geojson"
        layer.to_file(path, driver="GeoJSON")
        summary = import_layer(store, path, "sites")
        assert summary.layers["sites"].merged == 9 and summary.layers["sites"].added == 1
        assert len(_schools(store)) == 10  # was 19
        sources = store.query("SELECT site_id, distance_m FROM site_sources")
        assert len(sources) == 9 and all(r["distance_m"] <= SITE_MERGE_M for r in sources)
        assert {r["site_id"] for r in sources} == set(osm["id"])
        again = import_layer(store, path, "sites")  # re-importing adds nothing
        assert again.layers["sites"].added == 0 and len(_schools(store)) == 10
        assert store.scalar("SELECT count(*) FROM site_sources") == 9


def test_neighbouring_sites_and_other_categories_stay_apart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = shapely.box(24.9400, 60.1700, 24.9410, 60.1705)
    touching = shapely.box(24.9410, 60.1700, 24.9420, 60.1705)  # shares a wall only
    far_point = shapely.Point(24.9430, 60.1702)  # ≈ 110 m east of the first
    with Store(tmp_path / "s.db") as store:
        first = tmp_path / "a.geojson"
        gpd.GeoDataFrame({"category": ["education"], "name": ["A"]}, geometry=[a],
                         crs="EPSG:4326").to_file(first, driver="GeoJSON")
        import_layer(store, first, "sites")
        second = tmp_path / "b.geojson"
        gpd.GeoDataFrame({"category": ["education", "education", "transport"],
                          "name": ["B", "C", "stop in A"]},
                         geometry=[touching, far_point, a.centroid],
                         crs="EPSG:4326").to_file(second, driver="GeoJSON")
        summary = import_layer(store, second, "sites")
        assert summary.layers["sites"].merged == 0 and summary.layers["sites"].added == 3


def _school_layer(tmp_path, helsinki_pbf):  # type: ignore[no-untyped-def]
    """A layer of the 9 OSM schools from another source: a point inside each footprint, or a
    few metres from a point site."""
    with Store(tmp_path / "osm-only.db") as store:
        import_osm(store, helsinki_pbf)
        osm = _schools(store)
    points = [g.representative_point() if g.geom_type != "Point" else
              shapely.Point(g.x + 0.0001, g.y) for g in osm.geometry]
    path = tmp_path / "schools.geojson"
    gpd.GeoDataFrame({"category": ["education"] * len(points),
                      "name": osm["name"].fillna("").tolist()},
                     geometry=points, crs="EPSG:4326").to_file(path, driver="GeoJSON")
    return path, len(osm)


def test_osm_on_top_of_a_layer_gives_the_same_sites_as_the_other_order(  # type: ignore[no-untyped-def]
        tmp_path, helsinki_pbf) -> None:
    layer, n = _school_layer(tmp_path, helsinki_pbf)
    assert n == 9
    with Store(tmp_path / "layer-first.db") as store:
        import_layer(store, layer, "sites")
        summary = import_osm(store, helsinki_pbf)
        assert summary.layers["sites"].merged == 9
        layer_first = _schools(store)
        assert len(layer_first) == 9  # was 18
        sources = store.query("SELECT site_id, origin, distance_m FROM site_sources")
        assert len(sources) == 9 and all(r["origin"].startswith("osm:") for r in sources)
        assert {r["site_id"] for r in sources} == set(layer_first["id"])
        again = import_osm(store, helsinki_pbf)  # re-importing adds nothing
        assert again.layers["sites"].added == 0 and len(_schools(store)) == 9
        other = read_layer(store, "sites")
        other = other[other["category"] != "education"]
    with Store(tmp_path / "osm-first.db") as store:
        import_osm(store, helsinki_pbf)
        import_layer(store, layer, "sites")
        osm_first = _schools(store)
        rest = read_layer(store, "sites")
        rest = rest[rest["category"] != "education"]
    assert len(osm_first) == len(layer_first) == 9
    # the same 9 schools either way: each layer-first school lies in or by one osm-first school
    pairs = gpd.sjoin_nearest(layer_first.to_crs(3067), osm_first.to_crs(3067),
                              max_distance=SITE_MERGE_M)
    assert pairs.index.nunique() == 9 and pairs["index_right"].nunique() == 9
    assert len(other) == len(rest)  # the other categories are untouched
