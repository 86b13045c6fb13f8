"""Invariants of the visibility kernel on random scenes (Hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survatlas.coverage import prepare_obstacles, sector_polygon, visibility
from survatlas.coverage.obstacles import MIN_OVERLAP_WIDTH_M
from visibility_scenes import iou

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

coord = st.floats(-60, 60, allow_nan=False)
size = st.floats(0.5, 25, allow_nan=False)
angle = st.floats(0, 180, allow_nan=False)


@st.composite
def buildings(draw, max_n=8):
    """Rotated rectangles kept 0.5 m clear of the camera at the origin."""
    out = []
    for _ in range(draw(st.integers(0, max_n))):
        x, y, w, h, a = draw(coord), draw(coord), draw(size), draw(size), draw(angle)
        poly = shapely.affinity.rotate(shapely.box(x, y, x + w, y + h), a, origin="centroid")
        if poly.distance(shapely.Point(0, 0)) > 0.5:
            out.append(poly)
    return out


views = st.tuples(st.floats(0, 360, allow_nan=False), st.floats(5, 360, allow_nan=False),
                  st.floats(2, 80, allow_nan=False))


def _region(polys, d, f, r):
    reg = visibility(prepare_obstacles(polys), 0.0, 0.0, d, f, r)
    return reg, reg.to_polygons()[0]


def _slivers(polys) -> float:
    """Area of the overlaps prepare_obstacles leaves unmerged (thinner than
    MIN_OVERLAP_WIDTH_M): a region may reach that far into footprints."""
    total = 0.0
    for i, a in enumerate(polys):
        for b in polys[i + 1:]:
            shared = a.intersection(b)
            if shared.area > 0 and 2 * shared.area / shared.length <= MIN_OVERLAP_WIDTH_M:
                total += shared.area
    return total


def _sector(d, f, r):
    full = f >= 360
    start = 0.0 if full else math.radians(90 - d - f / 2)
    return sector_polygon(0, 0, start, 2 * math.pi if full else math.radians(f), r, 0.05)


@SETTINGS
@given(buildings(), views)
def test_region_inside_sector_and_outside_buildings(polys, view):
    d, f, r = view
    reg, poly = _region(polys, d, f, r)
    assert reg.status[0] == 0
    assert poly.difference(_sector(d, f, r).buffer(1e-6)).area < 1e-6 * r * r
    if polys:
        assert poly.intersection(shapely.union_all(polys)).area < 1e-6 * r * r + _slivers(polys)


@SETTINGS
@given(buildings(), buildings(max_n=2), views)
def test_adding_a_building_never_increases_the_region(polys, extra, view):
    d, f, r = view
    _, before = _region(polys, d, f, r)
    _, after = _region(polys + extra, d, f, r)
    slack = _slivers(polys + extra)
    assert after.area <= before.area + 1e-6 * r * r + slack
    # at most one chord sliver (≤ r²·step³/12) per new shadow edge lies beyond the old chords
    assert after.difference(before).area < 1e-5 * r * r + slack


@SETTINGS
@given(views)
def test_no_buildings_equals_the_sector(view):
    d, f, r = view
    reg, poly = _region([], d, f, r)
    assert iou(poly, _sector(d, f, r)) > 0.9997
    fov = 2 * math.pi if f >= 360 else math.radians(f)
    step = math.radians(1.0)  # default arc step: chords every whole degree from the start ray
    k = math.ceil(fov / step) - 1
    fan = k * math.sin(step) + math.sin(fov - k * step)
    assert math.isclose(reg.area()[0], 0.5 * r * r * fan, rel_tol=1e-9)


@SETTINGS
@given(buildings(), views)
def test_far_buildings_leave_the_region_unchanged(polys, view):
    d, f, r = view
    far = [shapely.affinity.translate(p, 3 * r + 200, 0) for p in polys]
    near, _ = _region([], d, f, r)
    with_far, _ = _region(far, d, f, r)
    assert np.array_equal(near.angles, with_far.angles)
    assert np.array_equal(near.radii, with_far.radii)


@SETTINGS
@given(buildings(), views, st.floats(0, 360), coord, coord)
def test_rotating_and_translating_the_scene_moves_the_region(polys, view, rot, tx, ty):
    d, f, r = view
    _, poly = _region(polys, d, f, r)

    def move(g):
        return shapely.affinity.translate(shapely.affinity.rotate(g, rot, origin=(0, 0)), tx, ty)

    moved = [move(p) for p in polys]
    reg = visibility(prepare_obstacles(moved), tx, ty, (d - rot) % 360, f, r)
    assert reg.status[0] == 0
    got = reg.to_polygons()[0]
    assert math.isclose(got.area, poly.area, rel_tol=1e-6, abs_tol=1e-6 * r * r)
    assert iou(got, move(poly)) > 0.9999
