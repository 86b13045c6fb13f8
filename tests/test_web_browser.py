"""The web map in a real browser (Debian's chromium through Playwright).

One server (uvicorn in a thread, Helsinki store) and one page for the module. The chromium
binary is /usr/bin/chromium unless SURVATLAS_CHROMIUM says otherwise; the front end must be
built first (see docs/web.md). Screenshots go to artifacts/ (git-ignored).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import shapely

from browser_support import ARTIFACTS, require_front_end, serve_app
from survatlas.ingest import import_osm
from survatlas.ingest._records import Record
from survatlas.ingest._writer import write_layer
from survatlas.provenance.sources import file_source
from survatlas.store import Store
from survatlas.web import _analyses, create_app
from web_builders import HOSTILE

pytestmark = pytest.mark.browser

HOSTILE_AT = (24.9440, 60.1690)  # lon, lat: inside the Helsinki extract


def _add_hostile_device(path: Path) -> None:
    lon, lat = HOSTILE_AT
    record = Record(
        origin="test:hostile",
        geom_wkb=shapely.to_wkb(shapely.Point(lon, lat)),
        values={"device_type": "camera", "views": "[]", "lon": lon, "lat": lat, "name": HOSTILE},
        tags={"man_made": "surveillance", "operator": HOSTILE},
    )
    with Store(path) as store, store.transaction() as conn:
        source = file_source(conn, kind="field_observation", title=HOSTILE, sha256="hostile")
        write_layer(conn, "devices", source, [record])


@pytest.fixture(scope="module")
def server(tmp_path_factory, helsinki_pbf):
    require_front_end()
    path = tmp_path_factory.mktemp("browser") / "helsinki.db"
    with Store(path) as store:
        import_osm(store, helsinki_pbf, context=True)  # the map context too
    _add_hostile_device(path)
    with serve_app(create_app(path)) as base:
        yield base, path


@pytest.fixture(scope="module")
def page(browser, server):
    base, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.requests = []
    page.errors = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(f"{base}/")
    _wait(page, "!!(window.survatlas && window.survatlas.map)")
    page.evaluate("window.survatlas.ready")
    _wait_tiles(page)
    yield page
    page.close()


def _wait(page, expression: str, timeout: float = 30.0) -> None:
    """Poll ``expression`` (the page's CSP forbids eval, so no wait_for_function)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if page.evaluate(expression):
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {expression}")


def _wait_tiles(page) -> None:
    _wait(page, "window.survatlas.map.loaded() && window.survatlas.map.areTilesLoaded()")


def _jump(page, lon: float, lat: float, zoom: float) -> None:
    """Move the map and wait for its next ``idle`` event: the tiles of the new view loaded and
    drawn (right after ``jumpTo`` the map may still report the old view's tiles as loaded)."""
    page.evaluate(
        """([lon, lat, zoom]) => new Promise(resolve => {
            const map = window.survatlas.map;
            map.once('idle', () => resolve(true));
            setTimeout(() => resolve(false), 30000);  // then _wait_tiles decides
            map.jumpTo({center: [lon, lat], zoom});
        })""",
        [lon, lat, zoom],
    )
    _wait_tiles(page)


def _rendered_devices(page) -> dict:
    return page.evaluate(
        """() => {
            const map = window.survatlas.map;
            const ids = new Set(), where = {};
            for (const f of map.queryRenderedFeatures({layers: ['device-points', 'device-singles']})) {
                ids.add(f.properties.id);
                where[f.properties.id] = map.project(f.geometry.coordinates);
            }
            const clustered = map.queryRenderedFeatures({layers: ['device-clusters']})
                .reduce((n, f) => n + f.properties.count, 0);
            return {ids: [...ids], clustered, where};
        }"""
    )


def _click_device(page, device_id: int, lonlat: tuple[float, float]) -> None:
    _jump(page, lonlat[0], lonlat[1], 18)
    found = _rendered_devices(page)["where"][str(device_id)]
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + found["x"], box["y"] + found["y"])
    _wait(page, f"document.getElementById('device-panel').dataset.deviceId === '{device_id}'")


def _device(server, origin: str) -> tuple[int, tuple[float, float]]:
    _, path = server
    with Store(path, create=False) as store:
        row = store.query("SELECT id, lon, lat FROM devices WHERE origin = ?", (origin,))[0]
    return row[0], (row[1], row[2])


def test_map_shows_the_helsinki_cameras(page, server):
    _, path = server
    with Store(path, create=False) as store:
        total = int(store.scalar("SELECT count(*) FROM devices"))
    found = _rendered_devices(page)
    assert total > 200
    assert len(found["ids"]) + found["clustered"] == total
    assert page.errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-map.png"))
    assert "OpenStreetMap contributors" in page.inner_text(".maplibregl-ctrl-attrib")


def test_clicking_a_camera_opens_its_panel(page, server):
    _click_device(page, *_device(server, "osm:node/319790101"))
    panel = page.inner_text("#device-panel")
    assert "osm:node/319790101" in panel
    assert "man_made" in panel and "surveillance" in panel
    assert "helsinki-center.osm.pbf" in panel  # the source


def test_hostile_names_show_as_text(page, server):
    _click_device(page, *_device(server, "test:hostile"))
    assert page.inner_text("#device-panel h2") == HOSTILE
    assert HOSTILE in page.inner_text("#device-panel table.tags")
    assert (
        page.evaluate("document.querySelectorAll('#device-panel script, #device-panel img').length")
        == 0
    )
    assert page.evaluate("window.__xss") is None
    page.screenshot(path=str(ARTIFACTS / "web-device-panel.png"))


def test_summary_dashboard_draws_charts(page):
    page.click("#tabs button[data-tab=summary]")
    _wait(page, "document.querySelectorAll('#summary-panel svg.chart').length >= 5")
    assert "devices" in page.inner_text("#summary-panel .headline")
    assert page.evaluate("document.querySelectorAll('#summary-panel rect.chart-bar').length") > 5


def _stub_routing(monkeypatch) -> None:
    """A stand-in for the routing library call (for the front end only)."""
    def planned(store, origin, destination, max_detour, audience, level, scenario=None):
        (la, lo), (lb, lob) = origin, destination
        straight = shapely.LineString([(lo, la), (lob, lb)])
        bent = shapely.LineString([(lo, la), (lo, lb), (lob, lb)])
        return {
            "shortest": {"length_m": 500.0, "exposed_m": 200.0, "geometry": straight},
            "least_exposure": {"length_m": 600.0, "exposed_m": 40.0, "geometry": bent},
        }

    monkeypatch.setattr(_analyses, "_planned", planned)


def _plan_route(page, timeout: float = 30.0) -> None:
    _jump(page, 24.9445, 60.1700, 15.5)
    page.click("#tabs button[data-tab=route]")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.6)
    page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.35)
    _wait(
        page,
        "document.querySelectorAll('#route-result .route-card').length === 2 || "
        "document.getElementById('route-status').textContent.startsWith('No route')",
    )


def test_route_planner_ui_draws_two_routes_with_figures(page, monkeypatch):
    """Front end only: routing is a stand-in here (the real one is tested below)."""
    _stub_routing(monkeypatch)
    _plan_route(page)
    cards = page.locator("#route-result .route-card")
    assert cards.count() == 2
    assert "exposed (m)\t200" in cards.nth(0).inner_text()
    assert page.get_attribute("#route-gpx", "href").startswith("/api/route.gpx?from=")
    _wait_tiles(page)
    drawn = page.evaluate(
        "[...new Set(window.survatlas.map.queryRenderedFeatures({layers: ['routes']})"
        ".map(f => f.properties.route))].sort()"
    )
    assert drawn == ["least_exposure", "shortest"]
    page.click("#route-clear")


@pytest.mark.slow
def test_route_planner_with_real_routing(page, server):
    """The route planner against the real routing library.

    Routing prices streets with the coverage results, so this test first computes coverage
    (detection level only) on the served store.
    """
    from survatlas.coverage.analysis import Settings
    from survatlas.coverage.scale import compute_coverage

    _, path = server
    with Store(path) as store:
        compute_coverage(store, settings=Settings(levels=("detection",)))
    _plan_route(page, timeout=120.0)
    cards = page.locator("#route-result .route-card")
    assert cards.count() == 2, page.inner_text("#route-status")
    for i in range(2):
        text = cards.nth(i).inner_text()
        assert "length (m)" in text and "in view (m)" in text
    assert "extra metres" in page.inner_text("#route-result")  # the price of privacy
    page.screenshot(path=str(ARTIFACTS / "web-route.png"))
    page.click("#route-clear")


def test_page_makes_no_request_outside_localhost(page, server):
    base, _ = server
    outside = [
        url
        for url in page.requests
        if not (url.startswith(f"{base}/") or url.startswith(("data:", "blob:")))
    ]
    assert page.requests and outside == []
