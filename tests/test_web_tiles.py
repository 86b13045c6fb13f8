"""Vector tiles: bounds, projection, layers per zoom, clusters, the audience gate, the route."""

from __future__ import annotations

import math

import mapbox_vector_tile
import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from survatlas.errors import InputError
from survatlas.publish.tiles import (
    EXTENT,
    SPARSE_POINTS,
    TILESETS,
    TileLayer,
    project,
    register_tile_layer,
    render_tile,
    tile_bounds,
    tileset_catalog,
)
from survatlas.store import Store
from survatlas.web import create_app
from web_builders import LAT, LON, build_web_store


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def decode(data: bytes) -> dict:
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True}) if data else {}


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    return build_web_store(tmp_path_factory.mktemp("tiles") / "web.db")


@pytest.fixture(scope="module")
def store(web):
    with Store(web.path, create=False) as store:
        yield store


def test_tile_bounds_of_the_world_and_a_quadrant():
    w, s, e, n = tile_bounds(0, 0, 0)
    assert (w, e) == (-180.0, 180.0) and s == pytest.approx(-85.0511, abs=1e-4)
    assert tile_bounds(1, 1, 0) == pytest.approx((0.0, 0.0, 180.0, n))


@given(
    z=st.integers(0, 20),
    lon=st.floats(-179.9, 179.9),
    lat=st.floats(-85.0, 85.0),
)
@settings(max_examples=200, deadline=None)
def test_a_point_projects_inside_its_own_tile(z, lon, lat):
    _, x, y = tile_of(lon, lat, z)
    px, py = project(np.array([lon]), np.array([lat]), z, x, y)[0]
    assert -1e-6 * EXTENT <= px <= EXTENT * (1 + 1e-6)
    assert -1e-6 * EXTENT <= py <= EXTENT * (1 + 1e-6)
    w, s, e, n = tile_bounds(z, x, y)
    assert w - 1e-9 <= lon <= e + 1e-9 and s - 1e-9 <= lat <= n + 1e-9


def test_devices_tile_holds_public_points_with_properties(store, web):
    tile = decode(render_tile(store, "devices", *tile_of(LON, LAT, 15)))
    feats = tile["devices"]["features"]
    ids = {f["properties"]["id"] for f in feats}
    assert ids == set(web.public_ids)
    cam = next(f for f in feats if f["properties"].get("direction") == 90)
    assert cam["properties"]["area"] == "public" and cam["properties"]["fov"] == 60


def test_restricted_device_is_in_the_restricted_tile_only(store, web):
    z, x, y = tile_of(LON, LAT, 15)
    public = decode(render_tile(store, "devices", z, x, y))
    restricted = decode(render_tile(store, "devices", z, x, y, audience="restricted"))
    assert len(restricted["devices"]["features"]) == len(public["devices"]["features"]) + 1


def test_zoomed_out_dense_tiles_become_clusters_that_add_up(tmp_path, monkeypatch, web):
    import survatlas.publish.tiles as tiles

    monkeypatch.setattr(tiles, "SPARSE_POINTS", 2)
    with Store(web.path, create=False) as store:
        tile = decode(render_tile(store, "devices", *tile_of(LON, LAT, 10)))
    assert "devices" not in tile
    counts = [f["properties"]["count"] for f in tile["clusters"]["features"]]
    assert sum(counts) == len(web.public_ids)
    assert SPARSE_POINTS > 2


def test_base_tile_layers_follow_zoom(store):
    high = decode(render_tile(store, "base", *tile_of(LON, LAT, 16)))
    assert set(high) == {"buildings", "streets", "sites"}
    assert high["streets"]["features"][0]["properties"]["name"] == "Testikatu"
    low = decode(render_tile(store, "base", *tile_of(LON, LAT, 12)))
    assert "buildings" not in low and "streets" in low
    assert render_tile(store, "base", *tile_of(LON, LAT, 8)) == b""


def test_polygons_are_wound_for_mvt(store):
    tile = decode(render_tile(store, "base", *tile_of(LON, LAT, 16)))
    ring = np.array(tile["buildings"]["features"][0]["geometry"]["coordinates"][0], dtype=float)
    x, y = ring[:, 0], ring[:, 1]
    assert np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]) > 0  # exterior: positive area, y down


@pytest.mark.parametrize(
    ("tileset", "z", "x", "y"),
    [("nope", 1, 0, 0), ("base", 23, 0, 0), ("base", 2, 4, 0), ("base", 2, 0, -1)],
)
def test_bad_tiles_raise_input_error(store, tileset, z, x, y):
    with pytest.raises(InputError):
        render_tile(store, tileset, z, x, y)


def test_registered_layer_appears_in_catalog_and_tiles(store, monkeypatch):
    monkeypatch.setitem(TILESETS, "coverage", [])

    def read(_store, q):
        import shapely

        w, s, e, n = q.inner_bbox
        return [shapely.Point((w + e) / 2, (s + n) / 2)], [{"share": 0.5}]

    register_tile_layer("coverage", TileLayer("street_coverage", 10, "point", read))
    assert tileset_catalog()["coverage"][0]["name"] == "street_coverage"
    tile = decode(render_tile(store, "coverage", *tile_of(LON, LAT, 14)))
    assert tile["street_coverage"]["features"][0]["properties"]["share"] == 0.5


@pytest.fixture(scope="module")
def client(web):
    return TestClient(create_app(web.path))


def test_tile_route_serves_mvt(client, web):
    z, x, y = tile_of(LON, LAT, 15)
    response = client.get(f"/tiles/devices/{z}/{x}/{y}.mvt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert len(decode(response.content)["devices"]["features"]) == len(web.public_ids)
    empty = client.get("/tiles/devices/17/0/0.mvt")
    assert empty.status_code == 200 and empty.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/tiles/nope/1/0/0.mvt",
        "/tiles/base/23/0/0.mvt",
        "/tiles/base/2/9/0.mvt",
        "/tiles/base/2/0/-1.mvt",
        "/tiles/base/a/0/0.mvt",
        "/tiles/BASE!/1/0/0.mvt",
    ],
)
def test_tile_route_rejects_bad_tiles_with_422(client, path):
    assert client.get(path).status_code in {404, 422}
    assert client.get(path).status_code != 500


@pytest.mark.parametrize("audience", ["public", "restricted"])
def test_in_memory_clusters_equal_sql_clusters(monkeypatch, web, audience):
    import survatlas.publish.tiles as tiles

    monkeypatch.setattr(tiles, "SPARSE_POINTS", 2)
    with Store(web.path, create=False) as store:
        for z in (8, 11, 13):
            tile = tile_of(LON, LAT, z)
            by_sql = decode(render_tile(store, "devices", *tile, audience=audience))
            memo: dict = {}
            in_memory = decode(render_tile(store, "devices", *tile, audience=audience, memo=memo))
            key = lambda f: tuple(f["geometry"]["coordinates"])  # noqa: E731
            assert sorted(by_sql["clusters"]["features"], key=key) == sorted(
                in_memory["clusters"]["features"], key=key
            )
            assert memo  # the snapshot was kept for the next tile
