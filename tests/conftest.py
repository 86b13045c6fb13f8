"""Shared fixtures: where the real data lives, and small builders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI replays the same examples every run (a red CI must be reproducible); developers' runs
# keep exploring new ones.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATA = REPO / "data"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ``../shared`` folder beside the checkout (CI has it)."""
    if not SHARED.is_dir():
        raise RuntimeError(f"../shared not found beside the checkout ({SHARED.name})")
    return SHARED


@pytest.fixture(scope="session")
def helsinki_pbf() -> Path:
    """The bundled Helsinki extract (committed under data/, © OpenStreetMap contributors)."""
    return DATA / "helsinki-center.osm.pbf"


@pytest.fixture(scope="session")
def monaco_pbf() -> Path:
    """The bundled Monaco extract (committed under data/, © OpenStreetMap contributors)."""
    return DATA / "monaco.osm.pbf"


@pytest.fixture(scope="module")
def helsinki_db(tmp_path_factory, helsinki_pbf) -> Path:
    """A store of the bundled Helsinki extract, one per test module (modules may write to it)."""
    from survatlas.ingest import import_osm
    from survatlas.store import Store

    path = tmp_path_factory.mktemp("helsinki") / "h.db"
    with Store(path) as store:
        import_osm(store, helsinki_pbf)
    return path


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium through Playwright, one per test module."""
    from playwright.sync_api import sync_playwright

    from browser_support import CHROMIUM, FLAGS

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()
