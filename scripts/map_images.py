"""Render the README's and docs/web.md's map images into docs/img/ from the Helsinki demo.

``map.png``: the web map as a reader sees it (coverage at detection level, a camera's DORI
regions, labels, legend); ``map-export.png``: the same view through "Save view as PNG" (title,
legend, scale bar, north arrow, attribution).

Usage: python scripts/map_images.py  (needs the built front end and Debian's chromium; computes
coverage for the detection level first, a few minutes on 2 cores)
"""

from __future__ import annotations

import base64
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from survatlas.coverage.analysis import Settings
from survatlas.coverage.scale import compute_coverage
from survatlas.ingest import import_osm
from survatlas.store import Store
from survatlas.web import create_app

REPO = Path(__file__).resolve().parents[1]
IMG = REPO / "docs" / "img"
CHROMIUM = os.environ.get("SURVATLAS_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
VIEW = "map=15.6/60.16950/24.94400"
CAMERA = "osm:node/319790101"  # a camera on Aleksanterinkatu


def _serve(db: Path) -> tuple[uvicorn.Server, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(db), host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def _wait(page, expression: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if page.evaluate(expression):
            return
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {expression}")


def _shoot(base: str, device_id: int) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{base}/#{VIEW}&device={device_id}")
        _wait(page, "!!(window.survatlas && window.survatlas.map)")
        page.evaluate("window.survatlas.ready")
        _wait(page, f"document.getElementById('device-panel').dataset.deviceId === '{device_id}'")
        page.click("#tabs button[data-tab=layers]")
        _wait(page, "window.survatlas.map.loaded() && window.survatlas.map.areTilesLoaded()")
        time.sleep(1.0)
        page.screenshot(path=str(IMG / "map.png"))
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
        (IMG / "map-export.png").write_bytes(base64.b64decode(data.split(",", 1)[1]))
        browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "helsinki.db"
        with Store(db) as store:
            import_osm(store, REPO / "data" / "helsinki-center.osm.pbf", context=True)
            compute_coverage(store, settings=Settings(levels=("detection",)))
            device_id = store.query("SELECT id FROM devices WHERE origin = ?", (CAMERA,))[0][0]
        server, base = _serve(db)
        try:
            _shoot(base, device_id)
        finally:
            server.should_exit = True
    print(f"wrote {IMG / 'map.png'} and {IMG / 'map-export.png'}")


if __name__ == "__main__":
    main()
