"""Coverage and routing routes: they call the library by name, say 501 when it is missing,
validate their parameters and turn library results into GeoJSON and GPX."""

from __future__ import annotations

import sys
import types
import xml.etree.ElementTree as ET

import h3
import pytest
import shapely
from fastapi.testclient import TestClient

from survatlas.errors import NotFoundError, RoutingError
from survatlas.web import create_app
from web_builders import LAT, LON, build_web_store

ROUTE = {"from": f"{LAT},{LON}", "to": f"{LAT + 0.002},{LON + 0.003}"}
GPX = "{http://www.topografix.com/GPX/1/1}"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    return build_web_store(tmp_path_factory.mktemp("analyses") / "web.db")


@pytest.fixture(scope="module")
def client(web):
    return TestClient(create_app(web.path))


@pytest.fixture
def calls():
    return []


@pytest.fixture
def fake_coverage(monkeypatch, calls):
    mod = types.ModuleType("survatlas.coverage")

    def coverage_summary(store, bbox, *, audience):
        calls.append(("summary", bbox, audience))
        return {"sites_by_category": {"education": {"share": 0.4, "low": 0.3, "high": 0.5}}}

    def site_ranking(store, *, category, limit, audience):
        calls.append(("ranking", category, limit, audience))
        return [{"site_id": 1, "name": "Test School", "category": "education", "share": 0.4}]

    def h3_cells(store, bbox, resolution, *, audience):
        calls.append(("h3", bbox, resolution, audience))
        return [{"cell": h3.latlng_to_cell(LAT, LON, resolution), "share": 0.25}]

    def device_regions(store, device_id, *, audience):
        if device_id > 100:
            raise NotFoundError(f"no device {device_id}")
        point = shapely.Point(LON, LAT)
        return [
            {"level": "detect", "geometry": point.buffer(0.001)},
            {"level": "identify", "geometry": point.buffer(0.0002)},
        ]

    for func in (coverage_summary, site_ranking, h3_cells, device_regions):
        setattr(mod, func.__name__, func)
    monkeypatch.setitem(sys.modules, "survatlas.coverage", mod)
    return mod


@pytest.fixture
def fake_routing(monkeypatch, calls):
    mod = types.ModuleType("survatlas.routing")

    def compare_routes(store, origin, destination, *, max_detour, audience):
        calls.append(("route", origin, destination, max_detour, audience))
        if origin == destination:
            raise RoutingError("start and end are the same point")
        line = shapely.LineString([(origin[1], origin[0]), (destination[1], destination[0])])
        return {
            "shortest": {"length_m": 300.0, "exposed_m": 120.0, "geometry": line},
            "least_exposure": {
                "length_m": 350.0,
                "exposed_m": 20.0,
                "geometry": shapely.geometry.mapping(line),
            },
        }

    mod.compare_routes = compare_routes
    monkeypatch.setitem(sys.modules, "survatlas.routing", mod)
    return mod


@pytest.mark.parametrize(
    "path",
    [
        "/api/coverage/summary",
        "/api/sites/ranking",
        "/api/h3?bbox=24.9,60.1,25.0,60.2",
        "/api/devices/1/visibility",
    ],
)
def test_coverage_routes_say_501_without_the_module(client, monkeypatch, path):
    monkeypatch.setitem(sys.modules, "survatlas.coverage", None)
    response = client.get(path)
    assert response.status_code == 501
    assert "survatlas.coverage" in response.json()["detail"]


def test_routing_says_501_without_the_module(client, monkeypatch):
    monkeypatch.setitem(sys.modules, "survatlas.routing", None)
    assert client.get("/api/route", params=ROUTE).status_code == 501
    assert client.get("/api/config").json()["analyses"]["routing"] is False


def test_missing_function_is_501_naming_it(client, monkeypatch):
    monkeypatch.setitem(sys.modules, "survatlas.coverage", types.ModuleType("survatlas.coverage"))
    response = client.get("/api/coverage/summary")
    assert response.status_code == 501 and "coverage_summary" in response.json()["detail"]


def test_summary_and_ranking_pass_audience_and_filters(client, fake_coverage, calls):
    body = client.get("/api/coverage/summary", params={"bbox": "24.9,60.1,25,60.2"}).json()
    assert body["sites_by_category"]["education"]["low"] == 0.3
    ranking = client.get("/api/sites/ranking", params={"category": "education", "limit": 5})
    assert ranking.json()["sites"][0]["name"] == "Test School"
    assert calls == [
        ("summary", (24.9, 60.1, 25.0, 60.2), "public"),
        ("ranking", "education", 5, "public"),
    ]
    assert client.get("/api/config").json()["analyses"]["coverage"] is True


@pytest.mark.parametrize(
    "params", [{"category": "prisons"}, {"limit": 0}, {"limit": 100000}, {"limit": "x"}]
)
def test_ranking_rejects_bad_parameters(client, fake_coverage, params):
    assert client.get("/api/sites/ranking", params=params).status_code == 422


def test_h3_cells_become_closed_polygons(client, fake_coverage, calls):
    body = client.get("/api/h3", params={"bbox": "24.9,60.1,25,60.2", "resolution": 9}).json()
    ring = body["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 7
    lon, lat = ring[0]
    assert 24 < lon < 26 and 59 < lat < 61  # lon/lat order, near the cell
    assert body["features"][0]["properties"]["share"] == 0.25
    assert calls[-1][2] == 9


@pytest.mark.parametrize(
    "params",
    [
        {"bbox": "24.9,60.1,25,60.2", "resolution": 3},
        {"bbox": "24.9,60.1,25,60.2", "resolution": 16},
        {"bbox": "0,0,20,20"},
        {"bbox": "bad"},
        {},
    ],
)
def test_h3_rejects_bad_parameters(client, fake_coverage, params):
    assert client.get("/api/h3", params=params).status_code == 422


def test_visibility_is_nested_geojson(client, fake_coverage):
    body = client.get("/api/devices/1/visibility").json()
    levels = [f["properties"]["level"] for f in body["features"]]
    assert levels == ["detect", "identify"]
    outer, inner = (shapely.geometry.shape(f["geometry"]) for f in body["features"])
    assert outer.contains(inner)
    assert client.get("/api/devices/500/visibility").status_code == 404


def test_route_returns_both_routes_as_geojson(client, fake_routing, calls):
    body = client.get("/api/route", params={**ROUTE, "max_detour": 1.5}).json()
    for key in ("shortest", "least_exposure"):
        assert body[key]["geometry"]["type"] == "LineString"
    assert body["least_exposure"]["exposed_m"] < body["shortest"]["exposed_m"]
    assert calls[-1] == ("route", (LAT, LON), (LAT + 0.002, LON + 0.003), 1.5, "public")


@pytest.mark.parametrize(
    "params",
    [
        {"from": "60.17", "to": "60.17,24.94"},
        {"from": "abc,def", "to": "60.17,24.94"},
        {"from": "95,24", "to": "60.17,24.94"},
        {"from": "60.17,24.94"},
        {**ROUTE, "max_detour": 0.5},
        {**ROUTE, "max_detour": 10},
        {"from": f"{LAT},{LON}", "to": f"{LAT},{LON}"},
    ],
)
def test_route_rejects_bad_parameters(client, fake_routing, params):
    response = client.get("/api/route", params=params)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_gpx_holds_both_tracks(client, fake_routing):
    response = client.get("/api/route.gpx", params=ROUTE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/gpx+xml")
    assert "attachment" in response.headers["content-disposition"]
    root = ET.fromstring(response.content)
    names = [t.find(f"{GPX}name").text for t in root.iter(f"{GPX}trk")]
    assert names == ["shortest", "least_exposure"]
    first = next(root.iter(f"{GPX}trkpt"))
    assert float(first.get("lat")) == pytest.approx(LAT)
    assert float(first.get("lon")) == pytest.approx(LON)
