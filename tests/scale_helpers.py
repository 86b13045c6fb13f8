"""Comparison of two coverage results to float tolerance (for the scale-out tests)."""

from __future__ import annotations

import math

import numpy as np

REL = 1e-9


def assert_close(a, b, path: str = "summary") -> None:
    """Nested dicts / lists / numbers equal, floats to ``REL`` relative tolerance."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            assert_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(a, bool):
        assert math.isclose(a, b, rel_tol=REL, abs_tol=1e-12), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def _same_intervals(a, b, what: str) -> None:
    for f in ("line", "camera"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f"{what}.{f}"
    for f in ("start_m", "end_m"):
        assert np.allclose(getattr(a, f), getattr(b, f), rtol=REL, atol=1e-9), f"{what}.{f}"


def assert_same_result(tiled, local) -> None:
    """Every published figure and every stored array of two runs agree."""
    assert tiled.raster == local.raster
    assert_close(tiled.summary, local.summary)
    assert tiled.levels.keys() == local.levels.keys()
    for key, lv in local.levels.items():
        other = tiled.levels[key]
        assert np.allclose(other.street_in_view_m, lv.street_in_view_m, rtol=REL, atol=1e-9), key
        assert np.array_equal(other.street_cameras, lv.street_cameras), key
        _same_intervals(other.seen, lv.seen, f"{key} streets")
        _same_intervals(other.outline, lv.outline, f"{key} outlines")
        assert_close(other.sites, lv.sites, f"{key} sites")
        assert_close(other.h3, lv.h3, f"{key} h3")
        assert other.areas == lv.areas, key
        assert np.array_equal(other.regions.camera, lv.regions.camera), key
        assert np.array_equal(other.regions.offsets, lv.regions.offsets), key
        assert np.allclose(other.regions.radii, lv.regions.radii, rtol=REL, atol=1e-9), key
