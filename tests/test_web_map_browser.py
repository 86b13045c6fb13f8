"""The map redesigned for reading and printing, in a real browser (Debian's chromium).

Legends for every coloured layer, labels drawn from the server's own glyphs, clusters with
counts, the search box, permalinks that round-trip, "Save view as PNG" and the print stylesheet.
The server, browser and helpers are those of test_web_browser.py (one Helsinki store).
Screenshots go to artifacts/ (git-ignored).
"""

from __future__ import annotations

import base64
import io
import json
import subprocess

import pytest
from PIL import Image

from browser_support import ARTIFACTS
from survatlas.store import Store
from test_web_browser import _stub_routing, _wait, _wait_tiles, server  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

CENTRE = (24.9450, 60.1690)  # lon, lat: Helsinki centre


def _open(browser, base: str, hash_: str = ""):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.requests = []
    page.errors = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(f"{base}/{hash_}")
    _wait(page, "!!(window.survatlas && window.survatlas.map)")
    page.evaluate("window.survatlas.ready")
    _wait_tiles(page)
    return page


@pytest.fixture(scope="module")
def page(browser, server):  # noqa: F811
    base, _ = server
    page = _open(browser, base, f"#map=16/{CENTRE[1]}/{CENTRE[0]}")
    yield page
    page.close()


def _jump(page, zoom: float, lonlat: tuple[float, float] = CENTRE) -> None:
    page.evaluate(f"window.survatlas.map.jumpTo({{center: [{lonlat[0]}, {lonlat[1]}], zoom: {zoom}}})")
    _wait_tiles(page)


def _legend(page) -> dict[str, str]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#legend h3')].map(
            h => [h.textContent, h.nextElementSibling.textContent]))"""
    )


def _toggle(page, name: str, on: bool) -> None:
    box = page.locator(f"#layer-toggles input[value={name}]")
    if box.is_checked() != on:
        box.click()


def test_every_coloured_layer_has_a_numeric_legend(page):
    _toggle(page, "h3", True)
    legend = _legend(page)
    share = next(v for k, v in legend.items() if k.startswith("Share in view"))
    assert "streets, sites, H3 cells" in next(k for k in legend if k.startswith("Share in view"))
    for tick in ("0 %", "25 %", "50 %", "75 %", "100 %", "not in view"):
        assert tick in share
    clusters = next(v for k, v in legend.items() if k.startswith("Clusters"))
    assert "2–9" in clusters and "1,000 or more" in clusters
    assert "speed camera" in legend["Devices: shape = type"]
    assert "not tagged" in legend["Devices: colour = area watched"]
    text = page.inner_text("#legend")
    assert "_" not in text and "(missing)" not in text
    # the legend follows the toggles
    _toggle(page, "h3", False)
    share_title = next(k for k in _legend(page) if k.startswith("Share in view"))
    assert "H3" not in share_title
    _toggle(page, "cameras", False)
    assert not any(k.startswith("Devices") for k in _legend(page))
    _toggle(page, "cameras", True)


def test_the_share_ramp_is_viridis_and_sites_no_longer_tint_blocks(page):
    paint = page.evaluate(
        "window.survatlas.map.getPaintProperty('coverage-street_coverage', 'line-color')"
    )
    colours = [c for c in json.dumps(paint).split('"') if c.startswith("#")]
    assert colours[:6] == ["#b8b8b8", "#fde725", "#5ec962", "#21918c", "#3b528b", "#440154"]
    layers = page.evaluate("window.survatlas.map.getStyle().layers.map(l => l.id)")
    assert "sites-fill" not in layers  # only parks and squares are filled, in a quiet green
    routes = page.evaluate("window.survatlas.map.getPaintProperty('routes', 'line-color')")
    assert "#1a9850" not in json.dumps(routes)  # the old green, which the ramp also used


def test_street_and_place_labels_render_from_local_glyphs(page, server):  # noqa: F811
    base, _ = server
    _jump(page, 16.5)
    counts = page.evaluate(
        """() => Object.fromEntries(['street-labels', 'place-labels'].map(id =>
            [id, window.survatlas.map.queryRenderedFeatures({layers: [id]}).length]))"""
    )
    assert counts["street-labels"] > 5 and counts["place-labels"] > 0
    fonts = [u for u in page.requests if "/fonts/" in u]
    assert fonts and all(u.startswith(f"{base}/fonts/Noto%20Sans") for u in fonts)
    # Swedish names where tagged
    page.select_option("#label-lang", "sv")
    _wait_tiles(page)
    field = page.evaluate("window.survatlas.map.getLayoutProperty('street-labels', 'text-field')")
    assert field == ["coalesce", ["get", "name:sv"], ["get", "name"]]
    swedish = page.evaluate(
        """() => window.survatlas.map.queryRenderedFeatures({layers: ['street-labels']})
            .filter(f => f.properties['name:sv']).length"""
    )
    assert swedish > 0
    assert "lang=sv" in page.evaluate("location.hash")
    page.screenshot(path=str(ARTIFACTS / "web-map-labels-sv.png"))
    page.select_option("#label-lang", "")


def test_clusters_with_counts_when_zoomed_out(page):
    _jump(page, 12.5)
    counts = page.evaluate(
        """() => window.survatlas.map.queryRenderedFeatures({layers: ['device-cluster-counts']})
            .map(f => f.properties.count)"""
    )
    assert counts and all(c > 1 for c in counts)
    page.screenshot(path=str(ARTIFACTS / "web-map-clusters.png"))


def test_search_finds_places_streets_and_devices(page, server):  # noqa: F811
    _, path = server
    _jump(page, 14)
    page.fill("#search-input", "esplanad")
    _wait(page, "document.querySelectorAll('#search-results li[role=option]').length > 1")
    items = page.locator("#search-results li[role=option]").all_inner_texts()
    assert any("Esplanadinpuisto" in t and t.lower().startswith("place") for t in items)
    assert any("Pohjoisesplanadi" in t and t.lower().startswith("street") for t in items)
    page.locator("#search-results li", has_text="Esplanadinpuisto").click()
    _wait_tiles(page)
    bounds = page.evaluate("window.survatlas.map.getBounds().toArray()")
    assert bounds[0][0] < 24.9450 < bounds[1][0] and bounds[0][1] < 60.1674 < bounds[1][1]
    assert page.evaluate("window.survatlas.map.getZoom()") > 15
    # a device by its id opens its panel
    with Store(path, create=False) as store:
        device_id = store.query("SELECT id FROM devices WHERE origin = 'osm:node/319790101'")[0][0]
    page.fill("#search-input", str(device_id))
    page.press("#search-input", "Enter")
    _wait(page, f"document.getElementById('device-panel').dataset.deviceId === '{device_id}'")
    page.click("#tabs button[data-tab=layers]")


def test_permalink_round_trips(browser, server, page, monkeypatch):  # noqa: F811
    base, path = server
    _stub_routing(monkeypatch)
    with Store(path, create=False) as store:
        device_id, lon, lat = store.query(
            "SELECT id, lon, lat FROM devices WHERE origin = 'osm:node/319790101'"
        )[0]
    first = _open(browser, base)
    try:
        first.select_option("#level", "recognition")
        _toggle(first, "h3", True)
        _toggle(first, "sites", False)
        first.select_option("#label-lang", "sv")
        first.click("#tabs button[data-tab=route]")
        first.select_option("#route-scenario", "worst")
        first.evaluate(
            "window.survatlas.routes.restore([[60.1685, 24.9420], [60.1700, 24.9480]], 1.4)"
        )
        _wait(first, "document.querySelectorAll('#route-result .route-card').length === 2")
        first.evaluate(f"window.survatlas.map.jumpTo({{center: [{lon}, {lat}], zoom: 17.25}})")
        first.evaluate(f"import('/static/device.js').then(m => m.showDevice(window.survatlas, {device_id}))")
        _wait(first, f"document.getElementById('device-panel').dataset.deviceId === '{device_id}'")
        _wait(first, "location.hash.includes('map=17.25/')")
        url = first.evaluate("location.href")
    finally:
        first.close()
    for part in ("level=recognition", "lang=sv", "scenario=worst", f"device={device_id}",
                 "route=60.168500,24.942000;60.170000,24.948000", "detour=1.40"):
        assert part in url
    second = _open(browser, base, url[len(base) + 1:])
    try:
        _wait(second, f"document.getElementById('device-panel').dataset.deviceId === '{device_id}'")
        _wait(second, "document.querySelectorAll('#route-result .route-card').length === 2")
        state = second.evaluate(
            """() => ({
                zoom: window.survatlas.map.getZoom(),
                centre: window.survatlas.map.getCenter().toArray(),
                level: document.getElementById('level').value,
                lang: document.getElementById('label-lang').value,
                scenario: document.getElementById('route-scenario').value,
                detour: document.getElementById('route-detour').value,
                on: [...document.querySelectorAll('#layer-toggles input:checked')].map(i => i.value),
                h3: window.survatlas.map.getLayoutProperty('h3-fill', 'visibility'),
                parks: window.survatlas.map.getLayoutProperty('parks', 'visibility'),
                text: window.survatlas.map.getLayoutProperty('street-labels', 'text-field'),
                streets: window.survatlas.map.getPaintProperty('coverage-street_coverage', 'line-color'),
            })"""
        )
        assert abs(state["zoom"] - 17.25) < 1e-6
        assert abs(state["centre"][0] - lon) < 1e-4 and abs(state["centre"][1] - lat) < 1e-4
        assert (state["level"], state["lang"], state["scenario"]) == ("recognition", "sv", "worst")
        assert float(state["detour"]) == pytest.approx(1.4)
        assert "h3" in state["on"] and "sites" not in state["on"]
        assert (state["h3"], state["parks"]) == ("visible", "none")
        assert state["text"][1] == ["get", "name:sv"]
        assert "recognition" in json.dumps(state["streets"])  # the map is coloured at that level
        assert second.errors == []
    finally:
        second.close()


def _png_of_view(page) -> bytes:
    data = page.evaluate(
        """async () => {
            const blob = await window.survatlas.viewPNG();
            return await new Promise(resolve => {
                const reader = new FileReader();
                reader.onload = () => resolve(reader.result);
                reader.readAsDataURL(blob);
            });
        }"""
    )
    assert data.startswith("data:image/png;base64,")
    return base64.b64decode(data.split(",", 1)[1])


def test_save_view_as_png(page):
    _jump(page, 16.5)
    body = _png_of_view(page)
    image = Image.open(io.BytesIO(body))
    assert image.format == "PNG"
    canvas = page.evaluate("[window.survatlas.map.getCanvas().width, "
                           "window.survatlas.map.getCanvas().height]")
    assert image.width > canvas[0] and image.height > canvas[1]  # legend beside, title above
    # the map is drawn (not a blank WebGL buffer): many distinct colours in the map area
    top = image.height - canvas[1]
    crop = image.convert("RGB").crop((0, top, canvas[0], top + canvas[1] - 40))
    assert len(crop.getcolors(maxcolors=1 << 20) or []) > 50
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "web-map-export.png").write_bytes(body)
    with page.expect_download() as download:
        page.click("#save-png")
    assert download.value.suggested_filename.endswith(".png")
    _wait(page, "document.getElementById('export-status').textContent.startsWith('Saved')")


def test_print_stylesheet_keeps_map_and_legend(page):
    page.emulate_media(media="print")
    try:
        shown = page.evaluate(
            """() => Object.fromEntries(['#tabs', '#search', '#legend', '#map', '#export-row']
                .map(s => [s, getComputedStyle(document.querySelector(s)).display !== 'none']))"""
        )
        assert shown == {"#tabs": False, "#search": False, "#legend": True, "#map": True,
                         "#export-row": False}
        pdf = ARTIFACTS / "web-map-print.pdf"
        page.pdf(path=str(pdf), landscape=True, format="A4", print_background=True)
    finally:
        page.emulate_media(media="screen")
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-singlefile", str(pdf),
                    str(ARTIFACTS / "web-map-print")], check=True)
    image = Image.open(ARTIFACTS / "web-map-print.png").convert("RGB")
    assert image.width > image.height  # one landscape page
    # the map is printed (a WebGL canvas prints blank without a preserved drawing buffer)
    map_area = image.crop((int(image.width * 0.1), int(image.height * 0.2),
                           int(image.width * 0.6), int(image.height * 0.8)))
    assert len(map_area.getcolors(maxcolors=1 << 16) or []) > 30


def test_links_made_before_the_permalinks_still_open_their_view(browser, server):  # noqa: F811
    base, _ = server
    page = _open(browser, base, f"#17/{CENTRE[1]}/{CENTRE[0]}")
    try:
        assert abs(page.evaluate("window.survatlas.map.getZoom()") - 17) < 1e-6
        assert page.evaluate("location.hash").startswith("#map=17/")
    finally:
        page.close()
