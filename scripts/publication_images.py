"""Render the README's publication images into docs/img/: page 1 and 2 of the Helsinki place
report and page 1 of the KP profile (PDF → PNG with pdftoppm), and the static site of
`survatlas publish site` as Debian's chromium shows it when served by `python -m http.server`.

Usage: python scripts/publication_images.py  (needs poppler-utils, chromium and Playwright;
takes a few minutes)
"""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from click.testing import CliRunner

from survatlas.cli import main

REPO = Path(__file__).resolve().parents[1]
IMG = REPO / "docs" / "img"
#: the area of the site image: around Rautatientori (as the tests)
SITE_BBOX = "24.940,60.1685,24.9475,60.1725"
CHROMIUM = os.environ.get("SURVATLAS_CHROMIUM", "/usr/bin/chromium")


def _cli(*args: str) -> None:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if result.exit_code:
        raise SystemExit(result.output)


def _pages(pdf: Path, stem: str, first: int, last: int) -> None:
    subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", str(first), "-l", str(last), str(pdf),
                    str(IMG / stem)], check=True)
    for png in IMG.glob(f"{stem}-0*.png"):  # pdftoppm pads page numbers of long documents
        png.replace(IMG / f"{stem}-{int(png.stem.rsplit('-', 1)[1])}.png")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def site_screenshot(folder: Path, png: Path) -> None:
    """Serve ``folder`` with http.server and screenshot its page in chromium (1280 × 800)."""
    from playwright.sync_api import sync_playwright

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/index.html")
            end = time.monotonic() + 60
            while not page.evaluate("document.body.dataset.mapReady === '1' && "
                                    "window.survatlasMap.areTilesLoaded()"):
                if time.monotonic() > end:
                    raise SystemExit("the site's map did not load within a minute")
                time.sleep(0.2)
            page.screenshot(path=str(png))
            browser.close()
    finally:
        httpd.shutdown()


def main_() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        _cli("--db", str(t / "h.db"), "import", "osm", str(REPO / "data/helsinki-center.osm.pbf"))
        _cli("--db", str(t / "h.db"), "report", "--place", "Rautatientori", "--format", "pdf",
             "--out", str(t / "report.pdf"))
        _pages(t / "report.pdf", "report-rautatientori", 1, 2)
        # a stored coverage run over the area: the site colours its streets by share in view
        _cli("--db", str(t / "h.db"), "coverage", "--bbox", SITE_BBOX)
        _cli("--db", str(t / "h.db"), "publish", "site", str(t / "site"), "--bbox", SITE_BBOX,
             "--title", "Helsinki: around Rautatientori")
        site_screenshot(t / "site", IMG / "site-rautatientori.png")
        _cli("--db", str(t / "kp.db"), "import", "case-study", "dprk")
        _cli("--db", str(t / "kp.db"), "profile", "KP", "--format", "pdf", "--out",
             str(t / "kp.pdf"))
        _pages(t / "kp.pdf", "profile-kp", 1, 1)


if __name__ == "__main__":
    main_()
