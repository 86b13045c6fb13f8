"""One definition per figure (issue 14, finding 4): the CLI (``--json``) and the HTTP API give
the same numbers for a route, the coverage summary and the site ranking of one store."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from fastapi.testclient import TestClient

from routing_builders import CRS, X0, Y0, grid_streets, latlon, make_store
from survatlas.cli import main
from survatlas.ingest import import_layer
from survatlas.web import create_app

CAMERAS = [(200, 0, "public"), (400, 200, "public"), (600, 400, "public"), (100, 500, "public"),
           (300, 300, "public")]
SITES = [  # (x, y, half-size or None for a point, category, name)
    (150, 50, 30, "education", "Small school"),
    (450, 250, 60, "education", "Big campus"),
    (250, 450, 20, "education", "Corner school"),
    (550, 150, None, "transport", "Tram stop"),
]


def _run(db, *args: str):  # type: ignore[no-untyped-def]
    res = CliRunner().invoke(main, ["--db", str(db), *args])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def db(tmp_path_factory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("figures")
    store = make_store(tmp, grid_streets(7), CAMERAS)
    geoms = [shapely.Point(X0 + x, Y0 + y) if h is None else
             shapely.box(X0 + x - h, Y0 + y - h, X0 + x + h, Y0 + y + h) for x, y, h, *_ in SITES]
    frame = gpd.GeoDataFrame({"category": [s[3] for s in SITES], "name": [s[4] for s in SITES]},
                             geometry=geoms, crs=CRS).to_crs("EPSG:4326")
    frame.to_file(tmp / "sites.geojson", driver="GeoJSON")
    import_layer(store, tmp / "sites.geojson", "sites")
    path = store.path
    store.close()
    _run(path, "coverage", "--json")
    return path


@pytest.fixture(scope="module")
def client(db):  # type: ignore[no-untyped-def]
    return TestClient(create_app(db))


def test_coverage_summary_is_the_same_on_the_cli_and_the_api(db, client):
    computed = _run(db, "coverage", "--json")  # what `survatlas coverage` printed
    cli = _run(db, "coverage-summary", "--json")
    api = client.get("/api/coverage/summary", params={"level": "detection"}).json()
    assert cli["sites_by_category"] == api["sites_by_category"]
    assert cli["streets"] == api["streets"]
    typical = computed["by_scenario"]["typical"]["detection"]["sites"]["education"]
    assert api["sites_by_category"]["education"]["share"] == typical["mean_share"]
    # the mean of shares differs from the area-weighted share here (a big campus)
    assert typical["mean_share"] != pytest.approx(typical["area_share"], abs=1e-3)
    assert api["sites_by_category"]["education"]["ground_share"]["share"] == typical["area_share"]


def test_site_ranking_is_the_same_on_the_cli_and_the_api(db, client):
    for level in ("detection", "identification"):
        cli = _run(db, "sites", "--level", level, "--limit", "50", "--json")
        api = client.get("/api/sites/ranking", params={"level": level, "limit": 50}).json()
        assert cli["sites"] == api["sites"] and cli["sites"]
        assert cli["method"] == api["method"] and cli["scenario"] == api["scenario"]


def test_route_figures_are_the_same_on_the_cli_and_the_api(db, client):
    a, b = latlon(X0 + 20, Y0), latlon(X0 + 580, Y0 + 420)
    for scenario in (None, "typical", "worst"):
        extra = ["--scenario", scenario] if scenario else []
        cli = _run(db, "route", "--from", f"{a[0]},{a[1]}", "--to", f"{b[0]},{b[1]}", "--json",
                   *extra)
        params = {"from": f"{a[0]},{a[1]}", "to": f"{b[0]},{b[1]}"}
        api = client.get("/api/route", params=params | ({"scenario": scenario} if scenario
                                                        else {})).json()
        assert cli["price_of_privacy"] == api["price_of_privacy"]
        assert cli["scenario"] == api["scenario"] == (scenario or "robust")
        for route, key in zip(cli["routes"], ("shortest", "least_exposure"), strict=False):
            assert route["length_m"] == api[key]["length_m"]
            assert route["in_view"]["detection"]["metres"] == api[key]["in_view_m"]
            assert route["in_view"]["detection"]["cameras"] == api[key]["cameras_in_view"]
            assert {sc: v["detection"] for sc, v in route["by_scenario"].items()} == \
                api[key]["in_view_by_scenario"]
