"""Coverage routes and tiles over a stored coverage run (written by hand in web_builders)."""

from __future__ import annotations

import math

import h3
import mapbox_vector_tile
import pytest
import shapely
from fastapi.testclient import TestClient

from survatlas.web import create_app
from web_builders import LAT, LON, add_coverage_run, build_web_store

BBOX = f"{LON - 0.01},{LAT - 0.01},{LON + 0.01},{LAT + 0.01}"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    web = build_web_store(tmp_path_factory.mktemp("coverage") / "web.db")
    add_coverage_run(web)
    return web


@pytest.fixture(scope="module")
def client(web):
    return TestClient(create_app(web.path))


@pytest.fixture(scope="module")
def empty_client(tmp_path_factory):
    return TestClient(create_app(build_web_store(tmp_path_factory.mktemp("norun") / "w.db").path))


def test_summary_gives_low_typical_high_per_category(client):
    body = client.get("/api/coverage/summary", params={"level": "identification"}).json()
    assert body["level"] == "identification"
    transport = body["sites_by_category"]["transport"]
    assert {k: transport[k] for k in ("share", "low", "high", "sites")} == pytest.approx(
        {"share": 0.3, "low": 0.15, "high": 0.45, "sites": 1}
    )  # the mean of the sites' shares (coverage.figures.SITE_SHARE), not the area-weighted one
    assert transport["ground_share"] == pytest.approx({"share": 0.33, "low": 0.165, "high": 0.495})
    assert body["streets"] == pytest.approx({"share": 0.2, "low": 0.1, "high": 0.3})
    assert body["method"].startswith("hand-made test run")


def test_ranking_orders_sites_and_hides_restricted_ones(client):
    body = client.get("/api/sites/ranking").json()
    names = [s["name"] for s in body["sites"]]
    assert names == ["Test Station", "Test School"]  # the restricted site never shows
    top = body["sites"][0]
    assert (top["low"], top["share"], top["high"]) == pytest.approx((0.15, 0.3, 0.45))
    assert top["cameras"] == 1 and len(top["bbox"]) == 4
    only = client.get("/api/sites/ranking", params={"category": "education"}).json()
    assert [s["name"] for s in only["sites"]] == ["Test School"]
    assert len(client.get("/api/sites/ranking", params={"limit": 1}).json()["sites"]) == 1


def test_h3_cells_at_the_run_resolution_and_coarser(client):
    fine = client.get("/api/h3", params={"bbox": BBOX, "resolution": 10}).json()
    assert fine["resolution"] == 10 and len(fine["features"]) == 2
    cell = h3.latlng_to_cell(LAT, LON, 10)
    mine = next(f for f in fine["features"] if f["properties"]["cell"] == cell)
    assert mine["properties"]["share"] == pytest.approx(0.5)
    coarse = client.get("/api/h3", params={"bbox": BBOX, "resolution": 9}).json()
    (parent,) = coarse["features"]
    assert parent["properties"]["cell"] == h3.cell_to_parent(cell, 9)
    assert parent["properties"]["share"] == pytest.approx(50 / 400)  # area-weighted, not a mean
    assert parent["properties"]["low"] == pytest.approx(25 / 400)
    finer = client.get("/api/h3", params={"bbox": BBOX, "resolution": 11}).json()
    assert finer["resolution"] == 10  # cannot be finer than the run
    assert client.get("/api/h3", params={"bbox": "0,0,1,1"}).json()["features"] == []


def test_visibility_is_nested_per_level(client, web):
    cam = web.device_ids["test:cam1"]
    body = client.get(f"/api/devices/{cam}/visibility").json()
    assert [f["properties"]["level"] for f in body["features"]] == ["detection", "identification"]
    outer, inner = (shapely.geometry.shape(f["geometry"]) for f in body["features"])
    assert outer.contains(inner)
    assert outer.contains(shapely.Point(LON, LAT))
    # a 40 m circle: about 0.00072° of longitude at 60° N
    assert (outer.bounds[2] - outer.bounds[0]) / 2 == pytest.approx(
        40 / (111_320 * math.cos(math.radians(LAT))), rel=0.02
    )


def test_visibility_of_hidden_or_viewless_device(client, web):
    assert client.get(f"/api/devices/{web.restricted_id}/visibility").status_code == 404
    other = web.device_ids["test:alpr"]
    body = client.get(f"/api/devices/{other}/visibility").json()
    assert body["features"] == []


def test_street_and_site_coverage_tiles(client):
    n = 2**16
    x = int((LON + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(LAT))) / math.pi) / 2 * n)
    assert "coverage" in client.get("/api/config").json()["tilesets"]
    tile = mapbox_vector_tile.decode(client.get(f"/tiles/coverage/16/{x}/{y}.mvt").content)
    (street,) = tile["street_coverage"]["features"]
    assert street["properties"]["detection"] == pytest.approx(0.25)
    names = {f["properties"]["category"] for f in tile["site_coverage"]["features"]}
    assert names == {"education", "transport"}
    assert len(tile["site_coverage"]["features"]) == 2  # not the restricted site


@pytest.mark.parametrize(
    "path",
    [
        "/api/coverage/summary",
        "/api/sites/ranking",
        f"/api/h3?bbox={BBOX}",
        "/api/devices/1/visibility",
    ],
)
def test_no_run_is_404_with_advice(empty_client, path):
    response = empty_client.get(path)
    assert response.status_code == 404
    assert "survatlas coverage" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/coverage/summary", {"level": "closeup"}),
        ("/api/sites/ranking", {"category": "prisons"}),
        ("/api/sites/ranking", {"limit": 0}),
        ("/api/sites/ranking", {"limit": 100000}),
        ("/api/h3", {"bbox": BBOX, "resolution": 3}),
        ("/api/h3", {"bbox": BBOX, "resolution": 16}),
        ("/api/h3", {"bbox": "0,0,20,20"}),
        ("/api/h3", {"bbox": "bad"}),
        ("/api/h3", {}),
        ("/api/devices/0/visibility", {}),
    ],
)
def test_bad_coverage_parameters_are_422(client, path, params):
    response = client.get(path, params=params)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_a_level_the_run_did_not_compute_is_404_naming_the_command(client):
    response = client.get("/api/coverage/summary", params={"level": "plate"})
    assert response.status_code == 404
    assert "survatlas coverage" in response.json()["detail"]
    assert "--level plate" in response.json()["detail"]
