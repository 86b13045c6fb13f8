"""`survatlas publish site`: a static folder that works from `python -m http.server` alone.

The site of the Helsinki extract is built once; its files are checked against the library
(tiles = render_tile, stats.json = `stats --json`), then it is served by the standard library's
http.server (which answers byte ranges with the whole file) and opened in Debian's chromium:
the map shows devices and no request leaves the page's own origin.
"""

from __future__ import annotations

import functools
import gzip
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from survatlas.cli import main
from survatlas.publish import site as site_mod
from survatlas.publish.tiles import render_tile
from survatlas.store import Store

BBOX = "24.940,60.1685,24.9475,60.1725"  # around Rautatientori (as tests/test_report.py)

pytestmark = pytest.mark.slow


def _run(db: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--db", str(db), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, helsinki_pbf: Path) -> Path:
    path = tmp_path_factory.mktemp("site") / "h.db"
    _run(path, "import", "osm", str(helsinki_pbf))
    return path


@pytest.fixture(scope="module")
def site(db: Path) -> Path:
    out = db.parent / "site"
    _run(db, "publish", "site", str(out), "--bbox", BBOX, "--title", "Helsinki: Rautatientori")
    return out


@pytest.fixture(scope="module")
def covered_site(db: Path, site: Path) -> tuple[Path, Path]:
    """The same area from a copy of the store with a stored coverage run (`survatlas coverage`)."""
    import shutil

    covered = db.parent / "covered.db"
    shutil.copyfile(db, covered)
    _run(covered, "coverage", "--bbox", BBOX, "--only", "streets", "--only", "sites")
    out = db.parent / "covered-site"
    _run(covered, "publish", "site", str(out), "--bbox", BBOX, "--title", "Helsinki: Rautatientori")
    return covered, out


def test_without_a_coverage_run_the_site_says_why_it_has_no_coverage_layer(site: Path) -> None:
    manifest = json.loads((site / "site.json").read_text("utf-8"))
    assert manifest["coverage"] is None
    assert manifest["coverage_note"].startswith("No coverage layer: ")
    assert "survatlas coverage" in manifest["coverage_note"]
    assert not (site / "tiles" / "coverage.pmtiles").exists()
    assert manifest["coverage_note"] in (site / "index.html").read_text("utf-8")


def test_a_stored_run_gives_coverage_tiles_equal_to_the_web_map_s(covered_site) -> None:
    from pmtiles.reader import MmapSource, all_tiles

    from survatlas.publish.coverage_tiles import register_coverage_tiles

    covered, out = covered_site
    manifest = json.loads((out / "site.json").read_text("utf-8"))
    assert manifest["archives"]["coverage"] == "tiles/coverage.pmtiles"
    assert manifest["coverage"]["level"] == "detection"
    assert {lay["name"] for lay in manifest["coverage"]["layers"]} == {
        "street_coverage", "site_coverage"}
    assert manifest["coverage_note"] is None
    register_coverage_tiles()
    with (out / "tiles" / "coverage.pmtiles").open("rb") as f, \
            Store(covered, create=False) as store:
        tiles = list(all_tiles(MmapSource(f)))
        assert len(tiles) == manifest["tiles"]["coverage"] > 0
        for (z, x, y), data in tiles:
            assert gzip.decompress(data) == render_tile(
                store, "coverage", z, x, y, audience="public")


def test_the_folder_holds_the_map_tiles_figures_and_report(site: Path) -> None:
    manifest = json.loads((site / "site.json").read_text("utf-8"))
    for name in ("index.html", "report.html", "report.json", "stats.json", "site/site.js",
                 "vendor/maplibre-gl-csp.js", "vendor/pmtiles.js", "tiles/base.pmtiles",
                 "tiles/devices.pmtiles"):
        assert (site / name).is_file(), name
    assert sorted(manifest["files"]) == sorted(
        str(p.relative_to(site)) for p in site.rglob("*") if p.is_file()
    )
    assert manifest["archives"] == {"base": "tiles/base.pmtiles", "devices": "tiles/devices.pmtiles"}
    page = (site / "index.html").read_text("utf-8")
    assert "© OpenStreetMap contributors" in page
    assert "http://" not in page.replace("https://www.openstreetmap.org/copyright", "")
    assert 'src="/' not in page and 'href="/' not in page  # relative: any folder of any host


def test_the_glyph_ranges_cover_every_public_name_in_the_area(db: Path, site: Path) -> None:
    from survatlas.publish.glyphs import FONT_STACKS

    manifest = json.loads((site / "site.json").read_text("utf-8"))
    with Store(db, create=False) as store:
        names = site_mod.label_text(store, tuple(float(v) for v in BBOX.split(",")))
    assert "Rautatientori" in names  # the square the area is centred on
    needed = {f"{ord(c) // 256 * 256}-{ord(c) // 256 * 256 + 255}"
              for name in names for c in name + name.upper()}
    assert needed <= set(manifest["glyph_ranges"])
    assert "0-255" in manifest["glyph_ranges"]
    for stack in FONT_STACKS:
        for rng in manifest["glyph_ranges"]:
            pbf = site / "fonts" / stack / f"{rng}.pbf"
            assert pbf.stat().st_size > 100, pbf
    # Finnish names: ä and ö are in range 0-255; and nothing beyond what the names need
    assert len(manifest["glyph_ranges"]) == len(needed | {"0-255"})


def test_stats_and_report_equal_the_cli_json(db: Path, site: Path) -> None:
    stats = json.loads(_run(db, "stats", "--bbox", BBOX, "--json"))
    assert json.loads((site / "stats.json").read_text("utf-8")) == stats
    report = json.loads((site / "report.json").read_text("utf-8"))
    coverage = json.loads(_run(db, "coverage", "--bbox", BBOX, "--json"))
    assert report["coverage"] == coverage
    page = (site / "index.html").read_text("utf-8")
    assert f">{stats['devices']['total']:,}<" in page


def test_every_archived_tile_is_the_rendered_tile(db: Path, site: Path) -> None:
    from pmtiles.reader import MmapSource, Reader, all_tiles

    with (site / "tiles" / "devices.pmtiles").open("rb") as f, Store(db, create=False) as store:
        source = MmapSource(f)
        header = Reader(source).header()
        assert header["min_zoom"] == site_mod.SITE_TILESETS["devices"]
        assert header["max_zoom"] == site_mod.DEFAULT_MAX_ZOOM
        seen = 0
        for (z, x, y), data in all_tiles(source):
            assert gzip.decompress(data) == render_tile(store, "devices", z, x, y, memo={})
            seen += 1
    manifest = json.loads((site / "site.json").read_text("utf-8"))
    assert seen == manifest["tiles"]["devices"] > 10


def test_bad_targets_get_one_line_errors_and_nothing_is_written(db: Path, site: Path,
                                                                tmp_path: Path) -> None:
    runner = CliRunner()
    before = sorted(p.name for p in site.iterdir())
    again = runner.invoke(main, ["--db", str(db), "publish", "site", str(site), "--bbox", BBOX])
    assert again.exit_code == 2 and "not empty" in again.output and "--overwrite" in again.output
    assert sorted(p.name for p in site.iterdir()) == before
    huge = runner.invoke(main, ["--db", str(db), "publish", "site", str(tmp_path / "w"),
                                "--bbox", "-170,-80,170,80"])
    assert huge.exit_code == 2 and "--max-zoom" in huge.output
    assert not (tmp_path / "w").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".w.")]  # no temp left
    empty = tmp_path / "empty.db"
    Store(empty).close()
    none = runner.invoke(main, ["--db", str(empty), "publish", "site", str(tmp_path / "e")])
    assert none.exit_code == 2 and "no public devices" in none.output


# ---------------------------------------------------------------- in a browser


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def served(covered_site: tuple[Path, Path]):
    site = covered_site[1]
    from browser_support import free_port

    httpd = ThreadingHTTPServer(
        ("127.0.0.1", free_port()), functools.partial(_Quiet, directory=str(site))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    thread.join(timeout=10)


@pytest.mark.browser
def test_the_site_shows_devices_from_its_own_origin_only(served: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    from browser_support import ARTIFACTS, CHROMIUM, FLAGS
    from test_web_browser import _wait

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        requests: list[str] = []
        errors: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{served}/index.html")
        _wait(page, "document.body.dataset.mapReady === '1'")
        _wait(page, "window.survatlasMap.loaded() && window.survatlasMap.areTilesLoaded()")
        shown = page.evaluate(
            """() => {
                const m = window.survatlasMap;
                const dev = m.queryRenderedFeatures({layers: ['devices']}).length;
                const cl = m.queryRenderedFeatures({layers: ['clusters']})
                    .reduce((n, f) => n + f.properties.count, 0);
                const streets = m.queryRenderedFeatures({layers: ['streets']}).length;
                const labels = m.queryRenderedFeatures({layers: ['street-labels']})
                    .map((f) => f.properties.name);
                const places = m.queryRenderedFeatures({layers: ['place-labels', 'place-names']})
                    .length;
                const cov = m.queryRenderedFeatures({layers: ['coverage-street_coverage']})
                    .map((f) => f.properties.detection);
                const legend = document.getElementById('coverage-legend');
                return {dev, cl, streets, labels, places, cov,
                        legend: legend.hidden ? '' : legend.innerText};
            }"""
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "site-map.png"))
        attribution = page.inner_text(".maplibregl-ctrl-attrib")
        browser.close()
    assert shown["dev"] + shown["cl"] > 10, shown
    assert shown["streets"] > 0, shown
    # street names drawn (a symbol layer placed glyphs), from the site's own glyph files
    assert len(shown["labels"]) > 0 and all(shown["labels"]), shown
    assert any("/fonts/Noto%20Sans%20Regular/0-255.pbf" in u for u in requests)
    # streets coloured by share in view, with the numeric legend of the ramp
    assert len(shown["cov"]) > 0 and all(0 <= v <= 1 for v in shown["cov"]), shown
    assert "0 %" in shown["legend"] and "100 %" in shown["legend"], shown
    assert "© OpenStreetMap contributors" in attribution
    assert errors == []
    foreign = [u for u in requests if not u.startswith((served + "/", f"blob:{served}/", "data:"))]
    assert foreign == []
    assert any(u.endswith("/tiles/devices.pmtiles") for u in requests)
