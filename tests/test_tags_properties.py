"""Invariants of the tag normaliser, checked with Hypothesis."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survatlas.errors import InputError
from survatlas.ingest.tags import (
    DIRECTION_KEYS,
    HEIGHT_KEYS,
    HEIGHT_MAX_M,
    HEIGHT_MIN_M,
    WARNING_KINDS,
    View,
    normalise_tags,
    parse_direction,
    parse_height,
)

KEYS = [
    *DIRECTION_KEYS, *HEIGHT_KEYS, "camera:angle", "camera:tilt", "camera:type", "camera:mount",
    "surveillance", "surveillance:type", "surveillance:zone", "highway", "operator",
    "manufacturer", "brand", "model", "surveillance:mount",
]
# Text that looks like tag values: digits, signs, separators, units, letters, odd unicode.
VALUE_CHARS = st.sampled_from([*"0123456789-+.,;:/ °'\"mftNESWOnesw_−–~", "é", "\x00"])
TAG_TEXT = st.one_of(st.text(), st.text(VALUE_CHARS, max_size=20))


def assert_valid_views(views: tuple[View, ...]) -> None:
    for v in views:
        assert 0.0 <= v.direction_deg < 360.0
        assert v.fov_deg is None or 0.0 < v.fov_deg <= 360.0


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), TAG_TEXT, max_size=8))
def test_normalise_never_crashes_and_stays_in_range(tags: dict[str, str]) -> None:
    rec = normalise_tags(tags)
    assert_valid_views(rec.views)
    assert rec.height_m is None or HEIGHT_MIN_M <= rec.height_m <= HEIGHT_MAX_M
    assert rec.tilt_down_deg is None or -90.0 <= rec.tilt_down_deg <= 90.0
    assert rec.device_type in {"camera", "alpr", "guard", "speed_camera", "gunshot_detector",
                               "other"}
    for w in rec.warnings:
        assert w.kind in WARNING_KINDS
        assert len(w.value) <= 200


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=30), st.text(max_size=30), max_size=10))
def test_normalise_survives_arbitrary_keys(tags: dict[str, str]) -> None:
    normalise_tags(tags)


@settings(max_examples=400, deadline=None)
@given(TAG_TEXT)
def test_parse_direction_returns_valid_views_or_input_error(value: str) -> None:
    try:
        views = parse_direction(value)
    except InputError:
        return
    assert views
    assert_valid_views(views)


@settings(max_examples=300, deadline=None)
@given(TAG_TEXT)
def test_every_present_direction_is_used_or_warned(value: str) -> None:
    rec = normalise_tags({"camera:direction": value})
    if not rec.views:
        assert any(w.key == "camera:direction" and w.effect == "dropped" for w in rec.warnings)


@given(st.floats(min_value=-359.99, max_value=719.99, allow_nan=False).map(lambda x: round(x, 2)))
def test_numeric_direction_is_taken_modulo_360(x: float) -> None:
    (view,) = parse_direction(f"{x:.2f}")
    expected = x % 360.0
    assert math.isclose(view.direction_deg, expected, abs_tol=1e-9) or math.isclose(
        abs(view.direction_deg - expected), 360.0, abs_tol=1e-9
    )


@given(st.integers(0, 359), st.integers(0, 360))
def test_range_sweeps_clockwise_from_start_to_end(a: int, b: int) -> None:
    if a == b:
        return
    (view,) = parse_direction(f"{a}-{b}")
    assert view.fov_deg is not None
    expected_fov = 360.0 if (a, b) == (0, 360) else float((b - a) % 360 or 360)
    assert view.fov_deg == pytest.approx(expected_fov)
    start = (view.direction_deg - view.fov_deg / 2.0) % 360.0
    assert min(abs(start - a), 360.0 - abs(start - a)) == pytest.approx(0.0, abs=1e-9)


@given(st.decimals(min_value="0.3", max_value="300", places=2),
       st.sampled_from(["", " m", "m", " ft", "'"]))
def test_height_units(value: object, unit: str) -> None:
    factor = 0.3048 if unit.strip() in {"ft", "'"} else 1.0
    assert parse_height(f"{value}{unit}") == pytest.approx(float(value) * factor)  # type: ignore[arg-type]
