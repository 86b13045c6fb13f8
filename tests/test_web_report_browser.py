"""Report a camera from a phone-sized browser (Debian's chromium through Playwright).

The issue's "done when": a report made at 390×844 with a photo that has GPS EXIF and a face
reaches the moderation queue with a stripped, blurred derivative, is invisible to the public
until accepted, then appears on the map and in exports (osmChange); a bad upload gets a clear
error and leaves nothing; a report made offline waits in IndexedDB with a visible count and is
sent when the connection returns; the shell is served by the service worker when offline.
Screenshots go to artifacts/ (git-ignored).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from browser_support import ARTIFACTS, CHROMIUM, FLAGS, require_front_end, serve_app
from contribution_builders import FACE_256, jpeg_with_exif, portrait, region_detail
from survatlas.contribute.moderation import ContributionPolicy, list_contributions
from survatlas.provenance.access import create_token
from survatlas.provenance.evidence import read_evidence
from survatlas.publish.export import export_layer
from survatlas.store import Store
from survatlas.web import create_app
from test_web_browser import _wait
from web_builders import LAT, LON, build_web_store

pytestmark = pytest.mark.browser
HERE = {"latitude": LAT + 0.0015, "longitude": LON + 0.0015}  # the phone's (emulated) location


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_front_end("report.js")
    path = tmp_path_factory.mktemp("report") / "w.db"
    build_web_store(path)
    with Store(path) as store:
        token = create_token(store, "field-editor", "editor")
    app = create_app(path, contributions=ContributionPolicy())
    with serve_app(app) as base:
        yield base, path, token


@pytest.fixture(scope="module")
def phone(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    base, _, _ = server
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        context = browser.new_context(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            geolocation=HERE,
            permissions=["geolocation"],
        )
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(f"{base}/")
        _wait(page, "!!(window.survatlas && window.survatlas.report)")
        page.evaluate("window.survatlas.ready")
        page.browser = browser
        yield page, context
        context.close()
        browser.close()


def _queue(path) -> list[dict]:
    with Store(path) as store:
        return list_contributions(store, "pending")


def _fill_report(page, token: str, photo: bytes, name: str = "IMG_20261130_174501.jpg") -> None:
    if not page.is_visible("#report-panel"):
        page.click("#report-open")
    page.click("#report-locate")
    _wait(page, "!!window.survatlas.report.position")
    page.select_option("#report-camera-mount", "pole")
    page.select_option("#report-camera-type", "dome")
    page.select_option("#report-surveillance-zone", "street")
    page.fill("#report-operator", "Transit Authority")
    page.fill("#report-height", "5")
    page.fill("#report-note", "above the tram stop")
    page.set_input_files("#report-photos", files=[
        {"name": name, "mimeType": "image/jpeg", "buffer": photo}
    ])
    if page.is_visible("#report-token"):
        page.fill("#report-token", token)


def _drag_handle_east(page) -> None:
    box = page.locator(".report-handle").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    pin = page.locator(".report-pin").bounding_box()
    cx, cy = pin["x"] + pin["width"] / 2, pin["y"] + pin["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x + (cx + 90 - x) * step / 10, y + (cy - y) * step / 10)
    page.mouse.up()


def test_a_phone_report_reaches_moderation_stripped_and_blurred(phone, server):
    page, _ = phone
    _, path, token = server
    photo = jpeg_with_exif(portrait())
    _fill_report(page, token, photo)
    _drag_handle_east(page)
    direction = int(page.input_value("#report-direction"))
    assert 80 <= direction <= 100, direction
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-phone-form.png"))
    page.click("#report-send")
    _wait(page, "document.getElementById('report-status').textContent.startsWith('Sent')", 120)
    [item] = _queue(path)
    assert item["tags"]["camera:mount"] == "pole" and item["direction"] == direction
    assert abs(item["lat"] - HERE["latitude"]) < 1e-6
    [stored] = item["photos"]
    assert stored["faces_blurred"] >= 1
    with Store(path) as store:
        data = read_evidence(store, stored["evidence"], audience="restricted")
    img = Image.open(io.BytesIO(data))
    assert not img.getexif() and b"PhoneMaker" not in data and b"IMG_2026" not in data
    assert region_detail(np.asarray(img.convert("RGB")), FACE_256) < 3
    # invisible to the public until accepted
    bbox = f"{LON - 0.01},{LAT - 0.01},{LON + 0.01},{LAT + 0.01}"
    public = page.evaluate(f"fetch('/api/devices?bbox={bbox}').then(r => r.json())")
    assert all(f["properties"].get("origin", "").find("contribution") < 0
               for f in public["features"])
    assert len(public["features"]) == 4
    page.screenshot(path=str(ARTIFACTS / "report-phone-sent.png"))
    assert page.errors == []


def test_a_bad_upload_gets_a_clear_error_and_leaves_nothing(phone, server):
    page, _ = phone
    _, path, token = server
    before = len(_queue(path))
    _fill_report(page, token, b"%PDF-1.7 this is not a photo", name="../../evil<script>.jpg")
    page.click("#report-send")
    _wait(page, "document.getElementById('report-status').textContent.startsWith('Not sent')", 60)
    status = page.text_content("#report-status")
    assert "not a JPEG, PNG or WebP" in status and "script" not in status
    assert len(_queue(path)) == before


def test_offline_reports_wait_with_a_count_and_go_when_back_online(phone, server):
    page, context = phone
    _, path, token = server
    before = len(_queue(path))
    context.set_offline(True)
    _fill_report(page, token, jpeg_with_exif(portrait(128)))
    page.click("#report-send")
    _wait(page, "document.getElementById('report-status').textContent.includes('saved on this device')")
    _wait(page, "!document.getElementById('report-waiting').hidden")
    assert page.text_content("#report-waiting") == "1 waiting"
    page.screenshot(path=str(ARTIFACTS / "report-phone-offline.png"))
    assert len(_queue(path)) == before
    context.set_offline(False)
    _wait(page, "document.getElementById('report-waiting').hidden", 120)
    assert len(_queue(path)) == before + 1


def test_the_shell_works_offline_through_the_service_worker(phone, server):
    page, context = phone
    _wait(page, "navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now controlled by the worker: /api/config is cached on the way
    _wait(page, "!!(window.survatlas && window.survatlas.report) && navigator.serviceWorker.controller !== null")
    page.evaluate("window.survatlas.ready")
    cached = page.evaluate(
        "caches.keys().then(names => caches.open(names.find(n => n.startsWith('survatlas-shell-'))))"
        ".then(c => c.keys()).then(k => k.map(r => new URL(r.url).pathname))"
    )
    assert "/static/report.js" in cached and "/static/timeslider.js" in cached and "/" in cached
    manifest = page.evaluate("fetch('/manifest.webmanifest').then(r => r.json())")
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    context.set_offline(True)
    try:
        page.reload()
        _wait(page, "!!document.getElementById('report-open')")
        assert page.is_visible("#report-open")
    finally:
        context.set_offline(False)


def test_accepted_reports_appear_on_the_map_and_in_osmchange(phone, server, tmp_path):
    page, _ = phone
    base, path, token = server
    first = _queue(path)[-1]["id"]
    accepted = page.evaluate(
        "([id, token]) => fetch(`/api/contributions/${id}/accept`, {method: 'POST', "
        "headers: {Authorization: `Bearer ${token}`, 'Content-Type': 'application/json'}, "
        "body: '{}'}).then(r => r.json())",
        [first, token],
    )
    device_id = accepted["public_device_id"]  # its number on the public map
    # a member of the public: a new visitor (tiles are cached by browsers for a minute)
    visitor = page.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = visitor.new_page()
    page.goto(f"{base}/#18/{HERE['latitude']}/{HERE['longitude']}")
    _wait(page, "!!(window.survatlas && window.survatlas.map)")
    page.evaluate("window.survatlas.ready")
    _wait(page, "window.survatlas.map.loaded() && window.survatlas.map.areTilesLoaded()")
    _wait(
        page,
        f"window.survatlas.map.queryRenderedFeatures({{layers: ['device-points', 'device-singles']}})"
        f".some(f => f.properties.id === {device_id})",
        30,
    )
    page.screenshot(path=str(ARTIFACTS / "report-phone-accepted.png"))
    visitor.close()
    with Store(path) as store:
        out = export_layer(store, "contributions", "osc", tmp_path / "c.osc")
    assert out["features"] == 1
    assert 'k="camera:mount" v="pole"' in (tmp_path / "c.osc").read_text(encoding="utf-8")
