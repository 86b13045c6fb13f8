"""The JSON API over the stored layers: pages, device detail, stats, config, bad parameters."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from survatlas.publish.browse import MAX_PAGE
from survatlas.web import create_app
from web_builders import HOSTILE, LAT, LON, build_web_store

BBOX = f"{LON - 0.01},{LAT - 0.01},{LON + 0.01},{LAT + 0.01}"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    return build_web_store(tmp_path_factory.mktemp("web") / "web.db")


@pytest.fixture(scope="module")
def client(web):
    return TestClient(create_app(web.path))


@pytest.mark.parametrize("layer", ["devices", "buildings", "streets", "sites"])
def test_layer_page_is_geojson_within_bbox(client, layer):
    body = client.get(f"/api/{layer}", params={"bbox": BBOX}).json()
    assert body["type"] == "FeatureCollection"
    assert body["returned"] == len(body["features"]) > 0
    assert "OpenStreetMap" in body["attribution"]
    for feature in body["features"]:
        assert feature["type"] == "Feature" and isinstance(feature["id"], int)
        assert feature["geometry"]["type"] in {"Point", "Polygon", "LineString"}


def test_devices_page_never_lists_restricted(client, web):
    ids = {f["id"] for f in client.get("/api/devices", params={"bbox": BBOX}).json()["features"]}
    assert ids == set(web.public_ids)


def test_paging_walks_every_device_once(client, web):
    seen, offset = [], 0
    while offset is not None:
        page = client.get("/api/devices", params={"bbox": BBOX, "limit": 1, "offset": offset})
        body = page.json()
        seen += [f["id"] for f in body["features"]]
        offset = body["next_offset"]
    assert seen == sorted(web.public_ids)


def test_bbox_outside_the_data_is_empty(client):
    body = client.get("/api/devices", params={"bbox": "0,0,1,1"}).json()
    assert body["features"] == [] and body["next_offset"] is None


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"bbox": "10,10,0,0"},
        {"bbox": "0,-95,1,1"},
        {"bbox": "nan,0,1,1"},
        {"bbox": "0,0,1,1", "limit": 0},
        {"bbox": "0,0,1,1", "limit": MAX_PAGE + 1},
        {"bbox": "0,0,1,1", "offset": -1},
        {"bbox": "0,0,1,1", "limit": "many"},
        {"bbox": "0," * 300},
    ],
)
def test_bad_page_parameters_are_422(client, params):
    response = client.get("/api/devices", params=params)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_device_detail_has_tags_warnings_and_sources(client, web):
    devices = client.get("/api/devices", params={"bbox": BBOX}).json()["features"]
    warned = next(f["id"] for f in devices if f["properties"]["origin"] == "test:cam2")
    body = client.get(f"/api/devices/{warned}").json()
    assert body["tags"] == {"man_made": "surveillance"}
    assert body["warnings"][0]["kind"] == "unparsed_direction"
    assert body["sources"][0]["title"] == "web test data"
    assert body["fields"]["manufacturer"] == "Acme"
    assert body["geometry"]["type"] == "Point"


def test_device_detail_returns_hostile_text_verbatim(client, web):
    body = client.get(f"/api/devices/{web.hostile_id}").json()
    assert body["fields"]["name"] == HOSTILE
    assert body["tags"]["operator"] == HOSTILE


def test_restricted_or_missing_device_is_404_alike(client, web):
    hidden = client.get(f"/api/devices/{web.restricted_id}")
    missing = client.get("/api/devices/999999")
    assert hidden.status_code == missing.status_code == 404
    assert "secret" not in hidden.text


@pytest.mark.parametrize("bad", ["0", "-3", "abc", "1.5"])
def test_bad_device_id_is_422(client, bad):
    assert client.get(f"/api/devices/{bad}").status_code == 422


def test_stats_count_public_records_only(client, web):
    body = client.get("/api/stats").json()
    assert body["devices"]["total"] == len(web.public_ids)
    assert body["devices"]["by_device_type"] == {"camera": 3, "alpr": 1}
    assert body["sites_by_category"] == {"education": 1, "transport": 1}
    in_box = client.get("/api/stats", params={"bbox": "0,0,1,1"}).json()
    assert in_box["devices"]["total"] == 0
    assert client.get("/api/stats", params={"bbox": "x"}).status_code == 422


def test_config_describes_the_map(client):
    body = client.get("/api/config").json()
    west, south, east, north = body["bounds"]
    assert west <= LON <= east and south <= LAT <= north
    assert body["audience"] == "public" and body["tile_url"] is None
    assert {"base", "devices"} <= set(body["tilesets"])
    assert set(body["analyses"]) == {"coverage", "routing"}


def test_openapi_lists_every_route(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in (
        "/api/devices",
        "/api/buildings",
        "/api/streets",
        "/api/sites",
        "/api/devices/{device_id}",
        "/api/stats",
        "/api/config",
        "/tiles/{tileset}/{z}/{x}/{y}.mvt",
        "/api/coverage/summary",
        "/api/sites/ranking",
        "/api/h3",
        "/api/devices/{device_id}/visibility",
        "/api/route",
        "/api/route.gpx",
    ):
        assert path in paths


def test_the_only_writes_are_contributions_and_they_need_a_token(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    writes = sorted((m, p) for p, ops in paths.items() for m in ops if m != "get")
    assert writes == [
        ("post", "/api/contributions"),
        ("post", "/api/contributions/{contribution_id}/accept"),
        ("post", "/api/contributions/{contribution_id}/reject"),
    ]
    for _, path in writes:
        assert client.post(path.replace("{contribution_id}", "1")).status_code == 401
    assert client.post("/api/devices", params={"bbox": BBOX}).status_code in {401, 403, 405}
