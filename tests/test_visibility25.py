"""2.5-D visibility: the kernel against hand-computed shadows and an independent ray-marching
oracle over a rasterised height map, Hypothesis properties, and the layered-region queries."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survatlas.coverage import prepare_obstacles, visibility
from survatlas.coverage.heights import (
    BUILDING_DEFAULTS,
    DEFAULT_BUILDING,
    STOREY_M,
    building_heights,
    camera_height,
    ground_range,
    near_edge,
)
from survatlas.coverage.occlusion import visibility25
from survatlas.coverage.oracle import HeightMap, raymarch_visible
from survatlas.errors import InputError
from visibility_scenes import iou

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _ray_intervals(reg, view, bearing_deg, length):
    """Visible stretches (m) along a ray from the camera of ``view``."""
    a = math.radians(90 - bearing_deg)
    x, y = reg.x[view], reg.y[view]
    _, t0, t1 = reg.clip_segments(view, [x], [y], [x + length * math.cos(a)],
                                    [y + length * math.sin(a)])
    return np.column_stack([t0, t1]) * length


def test_low_wall_shadow_ends_at_d_h_over_h_minus_big_h():
    # camera 6 m high at the origin looking east; a 2 m wall 10–12 m away; a 30 m tower at 30 m
    polys = [shapely.box(10, -5, 12, 5), shapely.box(30, -20, 40, 20)]
    reg = visibility25(prepare_obstacles(polys), [2.0, 30.0], [0.0], [0.0], [90.0], [60.0],
                       [100.0], 6.0)
    got = _ray_intervals(reg, 0, 90.0, 100.0)
    np.testing.assert_allclose(got, [[0.0, 10.0], [12 * 6 / (6 - 2), 30.0]], atol=1e-9)
    assert reg.layers[0] == 3
    # a camera below the wall's top sees nothing beyond it
    low = visibility25(prepare_obstacles(polys), [2.0, 30.0], [0.0], [0.0], [90.0], [60.0],
                       [100.0], 1.8)
    np.testing.assert_allclose(_ray_intervals(low, 0, 90.0, 100.0), [[0.0, 10.0]], atol=1e-9)


def test_floating_part_and_near_edge():
    # a passage roof from 4 to 8 m above the street, 10–14 m away; camera 6 m high
    polys = [shapely.box(10, -5, 14, 5)]
    reg = visibility25(prepare_obstacles(polys), [8.0], [0.0], [0.0], [90.0], [40.0], [60.0],
                       6.0, bottom_m=[4.0], near_m=3.0)
    # under the roof the ground is seen up to 10·6/(6−4) = 30; the part above the eye hides the
    # rest (its top is above the eye)
    np.testing.assert_allclose(_ray_intervals(reg, 0, 90.0, 60.0), [[3.0, 30.0]], atol=1e-9)


def test_tall_buildings_give_the_2d_region():
    polys = [shapely.box(5, 5, 15, 12), shapely.box(-20, -3, -8, 9),
             shapely.Polygon([(0, -30), (20, -30), (20, -10), (0, -10)],
                             [[(5, -25), (15, -25), (15, -15), (5, -15)]])]
    obs = prepare_obstacles(polys)
    args = ([1.0, 0.0], [0.0, 1.0], [np.nan, 45.0], [360.0, 90.0], [40.0, 50.0])
    flat = visibility(obs, *args)
    tall = visibility25(obs, [30.0, 30.0, 30.0], *args, [5.0, 12.0])
    assert (tall.layers == 1).all()
    np.testing.assert_allclose(tall.area(), flat.area(), rtol=1e-9)
    for a, b in zip(tall.to_polygons(), flat.to_polygons(), strict=True):
        assert iou(a, b) > 1 - 1e-9


# --- generated scenes against the ray-marching oracle ----------------------------------------

def _scene(seed: int) -> tuple[list, np.ndarray, np.ndarray]:
    """Walls (thin, 1–2.5 m), kiosks (3 m), towers (above every camera), blocks with courtyards
    (holes) and a floating passage part, kept clear of the camera at the origin."""
    rng = np.random.default_rng(seed)
    polys, top, bottom = [], [], []

    def add(poly, h, b=0.0):
        if poly.distance(shapely.Point(0, 0)) > 1.0 and not any(
                poly.intersects(p) for p in polys):
            polys.append(poly)
            top.append(h)
            bottom.append(b)

    for _ in range(6):  # walls
        x, y, a = rng.uniform(-35, 35), rng.uniform(-35, 35), rng.uniform(0, 180)
        wall = shapely.affinity.rotate(shapely.box(x, y, x + rng.uniform(4, 15), y + 0.3), a)
        add(wall, rng.uniform(1.0, 2.5))
    for _ in range(5):  # kiosks
        x, y = rng.uniform(-35, 35, 2)
        add(shapely.box(x, y, x + 2.5, y + 2.0), 3.0)
    for _ in range(3):  # towers
        x, y = rng.uniform(-35, 35, 2)
        add(shapely.box(x, y, x + rng.uniform(5, 10), y + rng.uniform(5, 10)), 40.0)
    for _ in range(2):  # courtyard blocks of 2–4 storeys
        x, y = rng.uniform(-40, 30, 2)
        add(shapely.box(x, y, x + 14, y + 14).difference(shapely.box(x + 4, y + 4, x + 10, y + 10)),
            rng.uniform(6, 13))
    x, y = rng.uniform(-30, 30, 2)  # a passage: a part floating 3.5 m above the ground
    add(shapely.box(x, y, x + 6, y + 3), 9.0, 3.5)
    return polys, np.array(top), np.array(bottom)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_kernel_agrees_with_raymarching_oracle(seed):
    polys, top, bottom = _scene(seed)
    obs = prepare_obstacles(polys)
    world = HeightMap.burn(polys, top, bottom, bounds=(-60, -60, 60, 60), cell=0.1)
    rng = np.random.default_rng(100 + seed)
    p = rng.uniform(-55, 55, (4000, 2))
    views = [(np.nan, 360.0, 50.0, 6.0, 0.0), (70.0, 90.0, 55.0, 10.0, 4.0),
             (250.0, 120.0, 45.0, 3.0, 0.0), (160.0, 40.0, 55.0, 12.0, 8.0)]
    for d, f, r, h, near in views:
        reg = visibility25(obs, top, [0.0], [0.0], [d], [f], [r], h, bottom_m=bottom,
                           near_m=near, arc_step_deg=0.25)
        got = reg.contains(0, p[:, 0], p[:, 1])
        want = raymarch_visible(world, 0.0, 0.0, h, d, f, r, p[:, 0], p[:, 1], near_m=near)
        assert want.sum() > 50
        # the raster blurs edges by a cell (a shadow edge by a cell × h/(h−H)): points that
        # disagree lie on the kernel region's boundary, and they are few
        bad = np.flatnonzero(got != want)
        edge = shapely.boundary(reg.to_polygons()[0])
        assert (shapely.distance(edge, shapely.points(p[bad])) < 0.25).all(), (d, f, h)
        assert bad.size <= max(3, 0.01 * want.sum()), (d, f, h)


# --- Hypothesis properties -------------------------------------------------------------------

coord = st.floats(-40, 40, allow_nan=False)


@st.composite
def scenes(draw):
    """Up to 7 rotated rectangles (0.5 m clear of the camera) with heights 0.5–30 m."""
    polys, tops = [], []
    for _ in range(draw(st.integers(1, 7))):
        x, y = draw(coord), draw(coord)
        w, h = draw(st.floats(0.3, 15)), draw(st.floats(0.3, 15))
        poly = shapely.affinity.rotate(shapely.box(x, y, x + w, y + h),
                                       draw(st.floats(0, 180)), origin="centroid")
        if poly.distance(shapely.Point(0, 0)) > 0.5:
            polys.append(poly)
            tops.append(draw(st.floats(0.5, 30)))
    return polys, np.array(tops, float)


view = st.tuples(st.one_of(st.just(np.nan), st.floats(0, 360)), st.floats(10, 360),
                 st.floats(5, 60))


def _poly(polys, tops, v, eye):
    d, f, r = v
    reg = visibility25(prepare_obstacles(polys), tops, [0.0], [0.0], [d], [f], [r], eye)
    return reg.to_polygons()[0], float(reg.area()[0])


def _lost(before, after) -> float:
    """Area seen before and not after (m²)."""
    return shapely.difference(shapely.make_valid(before), shapely.make_valid(after)).area


@SETTINGS
@given(scenes(), view, st.floats(1.0, 20.0), st.floats(0.1, 10.0))
def test_raising_the_camera_never_shrinks_the_view(scene, v, eye, rise):
    polys, tops = scene
    if not polys:
        return
    low, a_low = _poly(polys, tops, v, eye)
    high, a_high = _poly(polys, tops, v, eye + rise)
    assert a_high >= a_low - 1e-6 * (1 + a_low)
    assert _lost(low, high) <= 1e-3 * (1 + a_low)


@SETTINGS
@given(scenes(), view, st.floats(1.0, 20.0), st.data())
def test_lowering_a_building_never_hides_more(scene, v, eye, data):
    polys, tops = scene
    if not polys:
        return
    k = data.draw(st.integers(0, len(polys) - 1))
    lowered = tops.copy()
    lowered[k] *= data.draw(st.floats(0.0, 0.99))
    lowered[k] = max(lowered[k], 0.01)
    before, a0 = _poly(polys, tops, v, eye)
    after, a1 = _poly(polys, lowered, v, eye)
    assert a1 >= a0 - 1e-6 * (1 + a0)
    assert _lost(before, after) <= 1e-3 * (1 + a0)


@SETTINGS
@given(scenes(), view, st.floats(0.5, 30.0))
def test_buildings_as_tall_as_the_camera_equal_2d(scene, v, eye):
    polys, tops = scene
    if not polys:
        return
    d, f, r = v
    obs = prepare_obstacles(polys)
    flat = visibility(obs, [0.0], [0.0], [d], [f], [r])
    tall = visibility25(obs, np.maximum(tops, eye), [0.0], [0.0], [d], [f], [r], eye)
    assert tall.layers[0] == 1
    np.testing.assert_allclose(tall.area(), flat.area(), rtol=1e-9, atol=1e-9)


# --- layered regions: every query agrees with the point test ---------------------------------

def _layered_regions():
    polys, top, bottom = _scene(7)
    obs = prepare_obstacles(polys)
    return visibility25(obs, top, [0.0, 3.0, -5.0], [0.0, -2.0, 4.0], [np.nan, 30.0, 200.0],
                        [360.0, 100.0, 60.0], [45.0, 50.0, 40.0], [7.0, 5.0, 9.0],
                        bottom_m=bottom)


def test_layered_area_raster_and_segments_agree_with_contains():
    reg = _layered_regions()
    assert reg.layered and (reg.layers > 1).any()
    polys = reg.to_polygons()
    np.testing.assert_allclose(reg.area(), [p.area for p in polys], rtol=1e-6)
    cell, n = 0.5, 240
    counts = reg.raster_count(-60.0, -60.0, cell, n, n)
    cx = -60.0 + (np.arange(n) + 0.5) * cell
    gx, gy = np.meshgrid(cx, cx)
    want = sum(reg.contains(v, gx.ravel(), gy.ravel()).astype(int) for v in range(len(reg)))
    assert (counts.ravel() != want).mean() < 2e-3  # only centres on a boundary may differ
    # segments: the clipped length equals the sampled share of points inside
    rng = np.random.default_rng(5)
    for v in range(len(reg)):
        a, b = rng.uniform(-50, 50, (2, 20, 2))
        off, t0, t1 = reg.clip_segments(v, a[:, 0], a[:, 1], b[:, 0], b[:, 1])
        t = np.linspace(0, 1, 4001)
        for i in range(20):
            inside = reg.contains(v, a[i, 0] + t * (b[i, 0] - a[i, 0]),
                                  a[i, 1] + t * (b[i, 1] - a[i, 1]))
            got = (t1[off[i]:off[i + 1]] - t0[off[i]:off[i + 1]]).sum()
            assert abs(got - inside.mean()) < 2e-3


# --- heights -------------------------------------------------------------------------------

def test_building_heights_precedence_and_scenarios():
    kinds = ["yes", "kiosk", "apartments", "house"]
    height = [12.0, None, None, np.nan]
    levels = [None, None, 5, None]
    top, bottom, source = building_heights(kinds, height, levels, [None, 1.0, None, 20.0])
    assert source.tolist() == ["height", "default", "levels", "default"]
    assert top[0] == 12.0 and top[2] == 5 * STOREY_M + 1.0
    assert top[1] == BUILDING_DEFAULTS["kiosk"][1] and top[3] == BUILDING_DEFAULTS["house"][1]
    assert bottom.tolist() == [0.0, 1.0, 0.0, 0.0]  # a bottom above the top is ignored
    tall = building_heights(kinds, height, levels, scenario="best")[0]
    low = building_heights(kinds, height, levels, scenario="worst")[0]
    assert (tall >= top).all() and (low <= top).all() and tall[3] > low[3]
    assert tall[0] == low[0] == 12.0  # known heights do not move
    assert building_heights(["unheard_of"], scenario="worst")[0][0] == DEFAULT_BUILDING[0]
    with pytest.raises(InputError):
        building_heights(["yes"], scenario="middling")


def test_camera_height_near_edge_and_slant_range():
    assert camera_height({"height_m": 7.5}) == (7.5, False)
    lo, hi = camera_height({"mount": "pole"}, "best")[0], camera_height({"mount": "pole"},
                                                                        "worst")[0]
    assert lo < camera_height({"mount": "pole"})[0] < hi
    assert camera_height({"mount": None})[1] is True
    assert near_edge(6.0, None, 40.0) == 0.0
    assert near_edge(6.0, 30.0, 40.0) == pytest.approx(6.0 / math.tan(math.radians(50.0)))
    assert near_edge(6.0, 80.0, 40.0) == 0.0
    assert ground_range(10.0, 6.0) == pytest.approx(8.0)
    assert ground_range(5.0, 6.0) == 0.0


def test_bad_heights_are_refused():
    obs = prepare_obstacles([shapely.box(5, 5, 6, 6)])
    with pytest.raises(InputError, match="eye height"):
        visibility25(obs, [3.0], [0.0], [0.0], [0.0], [90.0], [10.0], 0.0)
    with pytest.raises(InputError, match="one top"):
        visibility25(obs, [], [0.0], [0.0], [0.0], [90.0], [10.0], 5.0)
    with pytest.raises(InputError, match="finite"):
        visibility25(obs, [np.nan], [0.0], [0.0], [0.0], [90.0], [10.0], 5.0)


def test_party_walls_hide_the_first_buildings_interior():
    # a row of touching low buildings (shared walls, as OSM terraces are drawn) in front of a
    # camera: the ground under each is never seen, whatever order the shared wall sorts in
    row = [shapely.box(10 + 4 * k, -20, 14 + 4 * k, 20) for k in range(5)]
    reg = visibility25(prepare_obstacles(row), [3.0] * 5, [0.0], [0.0], [90.0], [80.0],
                       [120.0], 6.0, arc_step_deg=0.5)
    rng = np.random.default_rng(3)
    p = rng.uniform([10.01, -19.99], [29.99, 19.99], (3000, 2))
    assert not reg.contains(0, p[:, 0], p[:, 1]).any()
    np.testing.assert_allclose(_ray_intervals(reg, 0, 90.0, 120.0), [[0, 10], [30 * 2, 120]],
                               atol=1e-9)


@pytest.mark.parametrize(("fov", "direction"), [(60.0, 90.0), (360.0, np.nan)])
def test_low_building_running_past_the_range_hides_its_interior(fov, direction):
    # Helsinki's defect: a low building (4 m) entered inside the range of a 6 m camera whose far
    # wall lies beyond the range: the ground under and behind it up to the range is hidden
    polys = [shapely.box(30, -15, 200, 15), shapely.box(-60, 40, -20, 52)]
    obs = prepare_obstacles(polys)
    reg = visibility25(obs, [4.0, 2.0], [0.0], [0.0], [direction], [fov], [50.0], 6.0)
    np.testing.assert_allclose(_ray_intervals(reg, 0, 90.0, 50.0), [[0.0, 30.0]], atol=1e-9)
    rng = np.random.default_rng(5)
    p = rng.uniform([30.01, -14.99], [49.99, 14.99], (3000, 2))
    assert not reg.contains(0, p[:, 0], p[:, 1]).any()
    world = HeightMap.burn(polys, [4.0, 2.0], [0.0, 0.0], cell=0.1)
    q = rng.uniform(-50, 50, (3000, 2))
    want = raymarch_visible(world, 0.0, 0.0, 6.0, direction, fov, 50.0, q[:, 0], q[:, 1])
    got = reg.contains(0, q[:, 0], q[:, 1])
    assert (got != want).mean() < 0.01


def test_a_region_whose_spike_folds_onto_an_edge_is_repaired() -> None:
    """Found by Hypothesis: GEOS's default repair raised "Overlay input is mixed-dimension" on
    this 360° view's ring (a spike folding back onto an edge); the export falls back to the
    repair that keeps the area."""
    polys = [shapely.Polygon([(11.501499779611612, 2.1358194063378777),
                              (10.832369173252754, 2.8789642318152717),
                              (6.373500220388388, -1.1358194063378768),
                              (7.042630826747246, -1.8789642318152713)]),
             shapely.Polygon([(5.4238437336428795, 7.239418476886412),
                              (1.462771458676598, 6.68272607304615),
                              (2.5761562663571214, -1.2394184768864123),
                              (6.537228541323403, -0.6827260730461508)])]
    reg = visibility25(prepare_obstacles(polys), np.array([1.0, 1.0]), [0.0], [0.0], [np.nan],
                       [10.0], [12.0], 7.0)
    region = reg.to_polygons()[0]
    assert region.is_valid and region.geom_type in ("Polygon", "MultiPolygon")
    assert region.area == pytest.approx(float(reg.area()[0]), rel=1e-3)
