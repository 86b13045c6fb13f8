"""Column-wise camera views equal the per-camera reference (optics.camera_geometry) exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survatlas import optics
from survatlas.coverage import camera_views as cv
from survatlas.errors import InputError

SETTINGS = {"scenario": st.sampled_from(sorted(optics.SCENARIOS)),
            "standard": st.sampled_from(sorted(optics.STANDARDS)),
            "no_direction": st.sampled_from(["360", "skip"])}

_positive = st.floats(1.0, 500.0, allow_nan=False)  # width_px 0.5 → 0 px: refused
_direction = st.one_of(st.none(), st.floats(-1000, 1000, allow_nan=False),
                       st.integers(-720, 720), st.sampled_from(["NE", "s", "wsw", " 90 ", ""]),
                       st.just(math.nan), st.just(-0.0), st.just(360.0))
_view_fov = st.one_of(st.none(), st.floats(1.0, 360.0), st.integers(1, 360), st.just("45"))


def _devices(valid: bool) -> st.SearchStrategy:
    """Device mappings; ``valid=False`` mixes in values the reference rejects."""
    number = st.one_of(st.none(), _positive, st.integers(1, 4000))
    if not valid:
        number = st.one_of(number, st.just(""), st.just(-3.0), st.just("abc"), st.just(math.inf),
                           st.just("12"), st.just(0))
    views = st.one_of(st.none(), st.just([]),
                      st.lists(st.tuples(_direction, _view_fov), min_size=1, max_size=3))
    direction = st.one_of(st.none(), _direction, st.sampled_from(["90;270", "NE;SW", "10;x"]
                                                                 if not valid else ["90;270"]))
    return st.fixed_dictionaries(
        {"camera_type": st.sampled_from([None, "", "fixed", "dome", "PTZ", " panning ", "bullet"]),
         "device_type": st.sampled_from([None, "camera", "alpr", " ANPR", "speed_camera"])},
        optional={"views": views, "direction": direction, "fov_deg": number, "range_m": number,
                  "focal_mm": number, "sensor_width_mm": number, "width_px": number,
                  "height_px": number, "height_m": number,
                  "tilt_down_deg": st.one_of(st.none(), st.floats(-10, 89))})


def _as_columns(rows: list[dict]) -> dict[str, list]:
    keys = sorted({k for r in rows for k in r})
    return {k: [r.get(k) for r in rows] for k in keys}


def _reference(rows, **kw):
    return [optics.camera_geometry(r, **kw) for r in rows]


def assert_same(views: cv.CameraViews, geoms: list[optics.CameraGeometry]) -> None:
    """Every view array, range and flag of ``views`` equals the reference's, bit for bit."""
    for level in cv.ALL_LEVELS:
        want, got = optics.expand_views(geoms, level), views.expand(level)
        for a, b in zip(want, got, strict=True):
            assert a.dtype == b.dtype
            assert np.array_equal(a, b, equal_nan=True), level
        ref = np.array([g.ranges_m.get(level, math.nan) for g in geoms], np.float64)
        assert np.array_equal(views.ranges(level), ref.reshape(-1), equal_nan=True)
    assert views.count_assumptions() == optics.count_assumptions(geoms)
    assert views.direction_assumed.tolist() == [g.direction_assumed for g in geoms]
    assert views.optics_assumed.tolist() == [g.optics_assumed for g in geoms]
    assert np.diff(views.start).tolist() == [len(g.views) for g in geoms]
    for i, g in enumerate(geoms):
        assert views.optics_of(i) == g.optics
        assert views.height_m(i) == g.height_m
    levels = ("detection", "identification", "plate")
    reach = [max([g.ranges_m[lv] for lv in levels if lv in g.ranges_m] if g.views else [],
                 default=0.0) for g in geoms]
    assert views.max_range(levels).tolist() == reach


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_devices(valid=True), max_size=12), **SETTINGS)
def test_columns_equal_reference_on_valid_devices(rows, scenario, standard, no_direction):
    kw = {"scenario": scenario, "standard": standard, "no_direction": no_direction}
    geoms = _reference(rows, **kw)
    # the column path itself (no fallback) reads every valid device, as mappings or columns
    assert_same(cv._columns(rows, scenario, standard, no_direction), geoms)
    assert_same(cv._columns(_as_columns(rows), scenario, standard, no_direction), geoms)
    assert_same(cv.camera_views(rows, **kw), geoms)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_devices(valid=False), max_size=8), **SETTINGS)
def test_any_device_gives_the_reference_result_or_error(rows, scenario, standard, no_direction):
    kw = {"scenario": scenario, "standard": standard, "no_direction": no_direction}
    try:
        geoms = _reference(rows, **kw)
    except Exception as exc:  # the reference rejects a field: so must the columns
        with pytest.raises(type(exc)) as got:
            cv.camera_views(rows, **kw)
        assert str(got.value) == str(exc)
        with pytest.raises(Exception):  # noqa: B017 - the column path must not accept it
            cv._columns(rows, scenario, standard, no_direction)
        return
    assert_same(cv.camera_views(rows, **kw), geoms)
    try:
        cols = cv._columns(rows, scenario, standard, no_direction)
    except Exception:  # the fallback answered (checked above)
        return
    assert_same(cols, geoms)


@pytest.mark.parametrize("rows", [[], [{"camera_type": "dome"}]])
def test_bad_settings_are_refused_as_by_the_reference(rows):
    for kw in ({"scenario": "median"}, {"standard": "iso"}, {"no_direction": "drop"}):
        with pytest.raises(InputError) as want:
            optics.camera_geometry({}, **kw)
        with pytest.raises(InputError) as got:
            cv.camera_views(rows, **kw)
        assert str(got.value) == str(want.value)


def test_skipped_and_360_cameras_are_flagged():
    rows = [{"camera_type": "fixed"}, {"camera_type": "dome"}, {"views": [(90, 45)]},
            {"views": [(None, None)]}, {"direction": "90;270"}]
    skip = cv.camera_views(rows, no_direction="skip")
    assert np.diff(skip.start).tolist() == [0, 1, 1, 1, 2]
    assert skip.direction_assumed.tolist() == [True, False, False, False, False]
    full = cv.camera_views(rows)
    cam, d, f, _ = full.expand("detection")
    assert cam.tolist() == [0, 1, 2, 3, 4, 4]
    assert np.isnan(d[:2]).all() and d[2] == 90.0 and d[4:].tolist() == [90.0, 270.0]
    assert f[:3].tolist() == [360.0, 360.0, 45.0]
    assert full.count_assumptions()["all_round"] == 3  # the view listed with no direction too


@pytest.fixture(scope="module")
def helsinki_rows(helsinki_db):
    from survatlas.coverage.analysis import load_inputs
    from survatlas.coverage.reading import device_rows
    from survatlas.store import Store

    with Store(helsinki_db, create=False) as store:
        rows = device_rows(load_inputs(store, buildings=False).devices)
    assert len(rows) > 50
    return rows


@pytest.mark.parametrize("scenario", sorted(optics.SCENARIOS))
@pytest.mark.parametrize("no_direction", ["360", "skip"])
def test_helsinki_store_equals_reference(helsinki_rows, scenario, no_direction):
    geoms = _reference(helsinki_rows, scenario=scenario, no_direction=no_direction)
    cols = cv._columns(helsinki_rows, scenario, optics.DEFAULT_STANDARD, no_direction)
    assert_same(cols, geoms)
    assert_same(cv._columns(_as_columns(helsinki_rows), scenario, optics.DEFAULT_STANDARD,
                            no_direction), geoms)
    assert len(cols.parts) < len(helsinki_rows) / 5  # few distinct optics combinations
