"""The map's date slider in a real browser (Debian's chromium through Playwright).

A store with a device history (a synthetic full-history file) shows the slider, and moving it
changes the devices drawn to those in place on the chosen date; a device restricted now never
shows, not even as it stood. A store with one snapshot only has no slider.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np
import pytest

from browser_support import ARTIFACTS, require_front_end, serve_app
from survatlas.ingest import import_osm
from survatlas.store import Store
from survatlas.synth.osmfile import write_history, write_osm
from survatlas.web import create_app
from test_history import CAM, NODES, STREET, WAYS
from test_web_browser import _wait, _wait_tiles

pytestmark = pytest.mark.browser

#: a camera since 2015 whose record is restricted now: none of its versions may show
RESTRICTED = [dict(id=7, version=1, timestamp="2015-01-01T00:00:00Z", lon=24.9505, lat=60.1705,
                   tags=CAM)]


@contextmanager
def _serve(path):
    require_front_end()
    with serve_app(create_app(path)) as base:
        yield base


@pytest.fixture(scope="module")
def history_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("slider")
    osh = write_history(tmp / "area.osh.pbf", NODES + RESTRICTED + STREET, WAYS)
    with Store(tmp / "h.db") as store:
        import_osm(store, osh)
        store.conn.execute("UPDATE devices SET sensitivity = 'restricted' "
                           "WHERE origin = 'osm:node/7'")
        store.conn.commit()
    with _serve(tmp / "h.db") as base:
        yield base


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(url)
    _wait(page, "!!(window.survatlas && window.survatlas.timeslider)")
    page.evaluate("window.survatlas.ready")
    page.evaluate("window.survatlas.timeslider.ready")
    _wait_tiles(page)
    return page


def _drawn(page) -> dict:
    """Devices drawn: the date's points and clusters, or the current tiles' devices."""
    return page.evaluate(
        """() => {
            const map = window.survatlas.map;
            const shown = (id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none';
            const origins = new Set(); let clustered = 0;
            for (const id of ['asof-points', 'device-points', 'device-singles']) {
                if (!shown(id)) continue;
                for (const f of map.queryRenderedFeatures({layers: [id]}))
                    origins.add(f.properties.origin || f.properties.id);
            }
            for (const id of ['asof-clusters', 'device-clusters']) {
                if (!shown(id)) continue;
                for (const f of map.queryRenderedFeatures({layers: [id]}))
                    clustered += f.properties.point_count || f.properties.count || 0;
            }
            return {origins: [...origins].map(String).sort(), clustered, total: origins.size + clustered};
        }"""
    )


def _at(page, date: str) -> None:
    _wait(page, f"document.getElementById('timeslider-count').textContent.includes('on {date}')")
    _wait_tiles(page)


def _drawn_until(page, check, timeout: float = 30.0) -> dict:
    """The devices drawn once ``check`` holds for them (a GeoJSON update renders a frame later).

    Polls until ``check(drawn)`` is true and returns the last value read, so that a failing
    assertion on it shows what was drawn.
    """
    end = time.monotonic() + timeout
    drawn = _drawn(page)
    while not check(drawn) and time.monotonic() < end:
        time.sleep(0.1)
        drawn = _drawn(page)
    return drawn


def test_slider_filters_devices_to_those_in_place(browser, history_server):
    page = _open(browser, f"{history_server}/")
    assert page.locator("#timeslider").is_visible()
    assert page.inner_text("#timeslider-date") == "now (current data)"
    now = _drawn_until(page, lambda d: d["total"] == 4)
    assert now["total"] == 4  # nodes 1, 4, 5, 6 (node 7 is restricted)
    slider = page.locator("#timeslider-range")
    slider.focus()
    page.keyboard.press("Home")  # the first month: 2015-02-01
    _at(page, "2015-02-01")
    expected = {"origins": ["osm:node/1", "osm:node/5", "osm:node/6"], "clustered": 0, "total": 3}
    first = _drawn_until(page, lambda d: d == expected)
    assert first == expected
    assert "date=2015-02-01" in page.url
    for _ in range(28):  # to 2017-06-01: nodes 1, 2, 3, 6 (5 untagged since 2016)
        page.keyboard.press("ArrowRight")
    _at(page, "2017-06-01")
    in_2017 = ["osm:node/1", "osm:node/2", "osm:node/3", "osm:node/6"]
    assert _drawn_until(page, lambda d: d["origins"] == in_2017)["origins"] == in_2017
    assert "2 faded: gone since" in page.inner_text("#timeslider-count")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-timeslider.png"))
    page.keyboard.press("End")  # back to the current view
    _wait(page, "window.survatlas.timeslider.date === null")
    _wait_tiles(page)
    assert _drawn_until(page, lambda d: d["total"] == 4)["total"] == 4 and "date=" not in page.url
    assert page.errors == []
    page.close()


def test_date_in_the_url_opens_the_map_on_it(browser, history_server):
    page = _open(browser, f"{history_server}/?date=2018-06-01")
    _at(page, "2018-06-01")
    assert page.inner_text("#timeslider-date") == "2018-06-01"
    in_2018 = ["osm:node/1", "osm:node/6"]  # 2 and 3 gone in 2018
    assert _drawn_until(page, lambda d: d["origins"] == in_2018)["origins"] == in_2018
    page.close()


def test_a_restricted_device_never_shows_in_the_past(browser, history_server):
    page = _open(browser, f"{history_server}/")
    seen = page.evaluate(
        """async () => {
            const out = [];
            for (const d of ['2015-06-01', '2017-01-01', '2020-06-01', '2030-01-01']) {
                const r = await fetch(`/api/history/devices?date=${d}&bbox=24,60,26,61`);
                out.push(...(await r.json()).features.map(f => f.properties.origin));
            }
            return out;
        }"""
    )
    assert seen and "osm:node/7" not in seen
    page.close()


def test_no_slider_without_history(browser, tmp_path):
    write_osm(tmp_path / "one.osm.pbf", cameras=np.array([(24.95, 60.17), (24.951, 60.171)]))
    with Store(tmp_path / "one.db") as store:
        import_osm(store, tmp_path / "one.osm.pbf")
    with _serve(tmp_path / "one.db") as base:
        page = _open(browser, f"{base}/?date=2015-01-01")
        assert page.evaluate("window.survatlas.timeslider.history.available") is False
        assert page.locator("#timeslider").count() == 0
        assert _drawn_until(page, lambda d: d["total"] == 2)["total"] == 2  # the date ignored
        assert page.errors == []
        page.close()
