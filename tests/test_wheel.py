"""The wheel carries the built front end: installed with no Node on the PATH, `survatlas serve`
gives a page whose map runs in Chromium."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from browser_support import CHROMIUM, FLAGS, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (REPO / "src/survatlas/web/static/dist/index.html").is_file():
        pytest.fail("the front end is not built: make frontend")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         str(REPO), "-w", str(out)],
        check=True, capture_output=True,
    )
    return next(out.glob("survatlas-*.whl"))


def test_wheel_lists_the_front_end(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "survatlas/web/static/dist/index.html" in names
    assert any(n.startswith("survatlas/web/static/dist/vendor/maplibre-gl") for n in names)
    assert "survatlas/publish/templates/document.html.j2" in names
    # what `publish site` copies (publish.site.ASSETS) and its page template
    from survatlas.publish.site import ASSETS, SHARED_MODULES

    for asset in (*ASSETS, *SHARED_MODULES):
        assert f"survatlas/web/static/dist/{asset}" in names, asset
    assert "survatlas/publish/templates/site_index.html.j2" in names


def test_installed_wheel_serves_a_working_map(wheel: Path, tmp_path: Path,
                                              helsinki_pbf: Path) -> None:
    from playwright.sync_api import sync_playwright

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bindir = venv / "bin"
    # dependencies come from this environment (a .pth file); survatlas only from the wheel
    site = Path(subprocess.run([bindir / "python", "-c", "import sysconfig;"
                                "print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    deps = sysconfig.get_paths()["purelib"]
    (site / "zz_deps.pth").write_text(deps + "\n")
    subprocess.run([bindir / "python", "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, capture_output=True)
    env = {"PATH": str(bindir), "HOME": str(tmp_path)}
    assert shutil.which("node", path=env["PATH"]) is None
    where = subprocess.run([bindir / "python", "-c", "import survatlas;print(survatlas.__file__)"],
                           env=env, capture_output=True, text=True, check=True).stdout
    assert str(venv) in where and "src" not in Path(where).parts  # not the checkout

    db = tmp_path / "h.db"
    subprocess.run([bindir / "survatlas", "--db", str(db), "import", "osm", str(helsinki_pbf)],
                   env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([bindir / "survatlas", "--db", str(db), "serve", "--port",
                               str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{base}/")
            end = time.monotonic() + 60
            while time.monotonic() < end and not page.evaluate(
                "!!(window.survatlas && window.survatlas.map && window.survatlas.map.loaded())"
            ):
                time.sleep(0.2)
            assert page.evaluate("!!(window.survatlas && window.survatlas.map)"), errors
            assert page.locator("canvas.maplibregl-canvas").count() == 1
            assert not errors
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
