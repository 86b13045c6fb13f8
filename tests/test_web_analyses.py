"""Routing routes: they validate their parameters and turn the routing library's results into
GeoJSON and GPX (the library call itself is replaced by a fake here)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import shapely
from fastapi.testclient import TestClient

from survatlas.errors import RoutingError
from survatlas.web import _analyses, create_app
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
def fake_routing(monkeypatch, calls):
    def planned(store, origin, destination, max_detour, audience, level, scenario=None):
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

    monkeypatch.setattr(_analyses, "_planned", planned)
    return planned


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
