"""Shared fixtures: where the real data lives, and small builders."""

from __future__ import annotations

from pathlib import Path

import pytest

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
