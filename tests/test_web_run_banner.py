"""The map says when the coverage run it shows is partial or stale (issue 14, finding 1), in a
real browser (Debian's chromium through Playwright, launched as in test_web_browser.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from browser_support import ARTIFACTS, require_front_end, serve_app
from survatlas.cli import main
from survatlas.store import Store
from survatlas.web import create_app
from test_web_browser import _add_hostile_device, _wait

pytestmark = pytest.mark.browser

PARTIAL_BBOX = "24.94,60.165,24.95,60.17"  # a corner of the Helsinki extract


@pytest.fixture(scope="module")
def store_path(tmp_path_factory, helsinki_pbf) -> Path:
    require_front_end()
    path = tmp_path_factory.mktemp("banner") / "h.db"
    for args in (["import", "osm", str(helsinki_pbf)],
                 ["coverage", "--bbox", PARTIAL_BBOX, "--level", "detection"]):
        result = CliRunner().invoke(main, ["--db", str(path), *args])
        assert result.exit_code == 0, result.output
    return path


def _banner(browser, path: Path, shot: str) -> str:
    """The run banner's text on a freshly served map ("" when hidden)."""
    with serve_app(create_app(path)) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        try:
            page.goto(f"{base}/")
            _wait(page, "!!(window.survatlas && window.survatlas.map)")
            page.evaluate("window.survatlas.ready")
            _wait(page, "document.getElementById('run-banner').textContent.length > 0")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / shot))
            banner = page.locator("#run-banner")
            return banner.inner_text() if banner.is_visible() else ""
        finally:
            page.close()




def test_map_banner_says_partial_then_stale(browser, store_path: Path) -> None:
    partial = _banner(browser, store_path, "run-banner-partial.png")
    assert "computed for the area 24.9400, 60.1650, 24.9500, 60.1700 only" in partial
    _add_hostile_device(store_path)  # a camera inside the run's area: its inputs changed
    with Store(store_path, create=False) as store:
        assert store.scalar("SELECT count(*) FROM devices WHERE origin = 'test:hostile'") == 1
    stale = _banner(browser, store_path, "run-banner-stale.png")
    assert stale.startswith("Coverage results are stale:") and len(stale) > 30, stale
