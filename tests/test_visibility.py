"""Visibility kernel: conventions, degenerate inputs, queries on regions, baselines."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from survatlas.coverage import (
    ExactKernel,
    HullShortcut,
    NaiveOracle,
    merge_intervals,
    oracle_visibility,
    prepare_obstacles,
    sector_polygon,
    segment_coverage,
    visibility,
)
from survatlas.errors import InputError
from visibility_scenes import iou, ious

BOX = shapely.box(10, -5, 20, 5)


def _one(polys, x=0.0, y=0.0, d=90.0, f=60.0, r=50.0, **kw):
    obs = prepare_obstacles(polys)
    reg = visibility(obs, x, y, d, f, r, **kw)
    return obs, reg, reg.to_polygons()[0]


def _agree(polys, x, y, d, f, r, tol=0.9995):
    obs = prepare_obstacles(polys)
    reg = visibility(obs, x, y, d, f, r)
    oracle = oracle_visibility(obs, reg.x, reg.y, d, f, r)
    got = ious(reg.to_polygons(), oracle)
    assert got.min() >= tol, got
    return reg


def test_no_buildings_gives_the_sector():
    _, reg, poly = _one([], d=0.0, f=90.0, r=30.0)
    sector = sector_polygon(0, 0, math.radians(45), math.radians(90), 30)
    assert iou(poly, sector) > 0.9999
    # chords every 1°: the area is the inscribed fan, exactly
    assert reg.area()[0] == pytest.approx(0.5 * 30**2 * 90 * math.sin(math.radians(1)))
    assert reg.offsets[1] == 91


def test_bearing_convention_is_compass():
    north = shapely.box(-5, 20, 5, 30)
    _, reg, _ = _one([north], d=0.0, f=40.0, r=50.0)
    assert reg.contains(0, 0.0, 15.0)[0]
    assert not reg.contains(0, 0.0, 25.0)[0]  # behind the wall
    assert not reg.contains(0, 0.0, -15.0)[0]  # behind the camera
    _, reg_e, _ = _one([north], d=90.0, f=40.0, r=50.0)
    assert reg_e.contains(0, 15.0, 0.0)[0] and not reg_e.contains(0, 0.0, 15.0)[0]


def test_single_box_matches_oracle_and_shadow_is_empty():
    reg = _agree([BOX], 0, 0, 90, 60, 50)
    assert not reg.contains(0, 30.0, 0.0)[0]
    assert reg.contains(0, 25.0, 13.5)[0]  # beyond the shadow edge through (10, 5)


def test_full_circle_matches_oracle():
    _agree([BOX, shapely.box(-30, 10, -20, 40), shapely.box(-4, -30, 4, -8)], 0, 0,
           np.nan, 360, 60)


def test_touching_party_walls():
    row = [shapely.box(i * 8, 10, (i + 1) * 8, 20) for i in range(-4, 4)]
    row += [shapely.box(-32, 20, 0, 26), shapely.box(0, 20, 32, 26)]
    _agree(row, 0.5, 0, np.nan, 360, 40)
    _agree(row, 0.0, 0, 0, 120, 40)


def test_courtyard_camera_sees_only_the_courtyard():
    block = shapely.box(-30, -30, 30, 30).difference(shapely.box(-10, -10, 10, 10))
    _, reg, poly = _one([block], x=0.0, y=0.0, d=np.nan, f=360.0, r=80.0)
    assert reg.status[0] == 0
    assert poly.difference(shapely.box(-10, -10, 10, 10)).area < 1e-6
    assert poly.area == pytest.approx(400.0, rel=1e-9)


def test_multipolygon_input():
    multi = shapely.MultiPolygon([BOX, shapely.box(-20, -5, -10, 5)])
    _agree([multi], 0, 0, np.nan, 360, 50)


def test_overlapping_footprints_are_merged():
    a, b = shapely.box(10, -5, 20, 5), shapely.box(15, -8, 25, 2)
    obs = prepare_obstacles([a, b])
    assert len(obs.polygons) == 1
    _agree([a, b], 0, 0, 90, 80, 50)


def test_nested_collections_and_sliver_overlaps():
    nested = shapely.GeometryCollection([shapely.MultiPolygon([shapely.box(10, -5, 12, 5),
                                                               shapely.box(14, -5, 16, 5)]),
                                         shapely.LineString([(0, 9), (5, 9)]),
                                         shapely.box(18, -5, 20, 5)])
    obs = prepare_obstacles([nested])
    assert len(obs.polygons) == 3 and (obs.source == 0).all()  # the line is no obstacle
    walls = [shapely.box(10, -5, 20, 5), shapely.box(10, 4.99, 20, 15)]  # 1 cm rounding sliver
    assert len(prepare_obstacles(walls).polygons) == 2
    _agree(walls, 0, 0, 90, 100, 50)


def test_duplicate_vertices_and_collinear_walls():
    dup = shapely.Polygon([(10, -5), (10, -5), (15, -5), (20, -5), (20, -5), (20, 0), (20, 5),
                           (15, 5), (10, 5), (10, 0)])
    obs = prepare_obstacles([dup])
    assert obs.n_edges == 8  # duplicates removed, collinear vertices kept
    _agree([dup], 0, 0, 90, 60, 50)


def test_zero_area_building_is_ignored():
    flat = shapely.Polygon([(10, -5), (20, -5), (15, -5), (10, -5)])
    _, reg, poly = _one([flat, BOX.buffer(0).difference(BOX)], d=90, f=60, r=50)
    assert len(prepare_obstacles([flat]).polygons) == 0
    assert poly.area == pytest.approx(reg.area()[0])
    assert reg.contains(0, 30.0, 0.0)[0]


def test_camera_exactly_on_a_vertex_is_nudged_out():
    obs, reg, poly = _one([BOX], x=10.0, y=5.0, d=315.0, f=90.0, r=30.0)
    assert reg.status[0] == 1
    assert not BOX.contains(shapely.Point(reg.x[0], reg.y[0]))
    assert poly.intersection(BOX).area < 1e-6
    oracle = oracle_visibility(obs, reg.x, reg.y, 315.0, 90.0, 30.0)[0]
    assert iou(poly, oracle) > 0.9995


def test_camera_on_a_wall_facing_out():
    _, reg, poly = _one([BOX], x=10.0, y=0.0, d=270.0, f=90.0, r=30.0)
    assert reg.status[0] == 1
    assert reg.x[0] == pytest.approx(10.0 - 0.1)
    assert poly.area > 0.9 * sector_polygon(0, 0, 0, math.pi / 2, 30).area


def test_camera_just_inside_a_wall_moves_towards_its_view():
    _, reg, poly = _one([BOX], x=10.5, y=0.0, d=270.0, f=60.0, r=30.0)
    assert reg.status[0] == 1
    assert reg.x[0] < 10.0 and reg.y[0] == pytest.approx(0.0)
    assert poly.intersection(BOX).area < 1e-6


def test_camera_deep_inside_a_building_sees_nothing():
    big = shapely.box(-50, -50, 50, 50)
    _, reg, poly = _one([big], x=0.0, y=0.0, d=90.0, f=60.0, r=30.0)
    assert reg.status[0] == 2 and poly.is_empty and reg.area()[0] == 0.0


def test_ten_thousand_vertex_building():
    ring = shapely.Point(25, 0).buffer(10, quad_segs=2500)
    assert shapely.get_num_coordinates(ring) > 10_000
    obs = prepare_obstacles([ring])
    reg = visibility(obs, 0.0, 0.0, 90.0, 90.0, 60.0)
    # the building is convex and the camera outside: the hull shortcut is exact here
    want = HullShortcut(obs).visibility(0.0, 0.0, 90.0, 90.0, 60.0)[0]
    assert iou(reg.to_polygons()[0], want) > 0.9995


def test_several_views_per_camera_keep_camera_ids():
    obs = prepare_obstacles([BOX])
    reg = visibility(obs, [0, 0, 5], [0, 0, 30], [90, 270, 0], 60, 40, camera=[7, 7, 8])
    assert reg.camera.tolist() == [7, 7, 8] and len(reg) == 3
    assert reg.area()[0] < reg.area()[1]  # east view is blocked by the box


def test_area_matches_polygon_area():
    obs = prepare_obstacles([BOX, shapely.box(-30, 10, -20, 40)])
    reg = visibility(obs, [0, 1, 2], [0, -20, 3], [np.nan, 45, 200], [360, 60, 120], 50)
    assert reg.area() == pytest.approx(shapely.area(reg.to_polygons()), rel=1e-9)


def test_contains_agrees_with_polygon():
    obs = prepare_obstacles([BOX, shapely.box(-30, 10, -20, 40)])
    reg = visibility(obs, [0, 3], [0, -2], [np.nan, 30], [360, 90], 50)
    rng = np.random.default_rng(1)
    pts = rng.uniform(-55, 55, size=(4000, 2))
    for v, poly in enumerate(reg.to_polygons()):
        got = reg.contains(v, pts[:, 0], pts[:, 1])
        want = shapely.contains_xy(poly.buffer(1e-7), pts[:, 0], pts[:, 1])
        assert (got == want).mean() > 0.999
        assert got.sum() > 100


def test_clip_segments_matches_shapely_length():
    obs = prepare_obstacles([BOX, shapely.box(-30, 10, -20, 40)])
    reg = visibility(obs, 0.0, 0.0, np.nan, 360.0, 50.0)
    poly = reg.to_polygons()[0]
    rng = np.random.default_rng(2)
    a = rng.uniform(-60, 60, size=(300, 2))
    b = a + rng.uniform(-40, 40, size=(300, 2))
    off, t0, t1 = reg.clip_segments(0, a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    seg_len = np.hypot(*(b - a).T)
    got = np.add.reduceat(np.r_[t1 - t0, 0.0], off[:-1]) * (np.diff(off) > 0) * seg_len
    want = shapely.length(shapely.intersection(shapely.linestrings(np.stack([a, b], 1)), poly))
    assert got == pytest.approx(want, abs=1e-6)
    assert (t0 <= t1).all() and t0.min() >= 0 and t1.max() <= 1


def test_segment_coverage_matches_union_of_polygons():
    obs = prepare_obstacles([BOX, shapely.box(-30, 10, -20, 40)])
    reg = visibility(obs, [0, 5, -40], [0, -10, 0], [90, np.nan, 10], [60, 360, 90], 35)
    rng = np.random.default_rng(3)
    a = rng.uniform(-70, 70, size=(200, 2))
    b = a + rng.uniform(-30, 30, size=(200, 2))
    frac, (seg, t0, t1) = segment_coverage(reg, a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    assert (t0 < t1).all()
    lines = shapely.linestrings(np.stack([a, b], 1))
    seen = shapely.union_all(reg.to_polygons())
    want = shapely.length(shapely.intersection(lines, seen)) / shapely.length(lines)
    assert frac == pytest.approx(want, abs=1e-6)
    assert (frac > 0).sum() > 20 and (np.diff(seg) >= 0).all()


def test_merge_intervals_unions_per_group():
    g, a, b = merge_intervals([1, 0, 1, 1, 0], [0.5, 0.0, 0.0, 0.8, 0.3], [0.7, 0.2, 0.6, 0.9, 0.4])
    assert g.tolist() == [0, 0, 1, 1]
    assert a.tolist() == [0.0, 0.3, 0.0, 0.8]
    assert b.tolist() == [0.2, 0.4, 0.7, 0.9]


def test_raster_count_matches_polygon_count():
    obs = prepare_obstacles([BOX])
    reg = visibility(obs, [0, 30, 0], [0, 0, 20], [90, 270, 180], [90, 90, 360], 25)
    counts = reg.raster_count(-30.0, -30.0, 2.0, 40, 30)
    xs = -30 + (np.arange(40) + 0.5) * 2
    ys = -30 + (np.arange(30) + 0.5) * 2
    gx, gy = np.meshgrid(xs, ys)
    want = sum(shapely.contains_xy(p.buffer(1e-7), gx, gy).astype(int)
               for p in reg.to_polygons())
    assert (counts == want).mean() > 0.995 and counts.max() >= 2


def test_strategies_share_one_method():
    scene = [BOX, shapely.box(-30, 10, -20, 40)]
    obs = prepare_obstacles(scene)
    args = ([0.0, 5.0], [0.0, -10.0], [90.0, np.nan], [60.0, 360.0], 40.0)
    exact = ExactKernel(obs).visibility(*args).to_polygons()
    naive = NaiveOracle(obs).visibility(*args)
    hull = HullShortcut(obs).visibility(*args)
    assert ious(exact, naive).min() > 0.9995
    assert ious(hull, naive).min() > 0.99  # convex boxes: the shortcut is right here


def test_hull_shortcut_is_wrong_in_a_concave_court():
    u_shape = shapely.box(-20, 0, 20, 30).difference(shapely.box(-10, -1, 10, 20))
    obs = prepare_obstacles([u_shape])
    exact = ExactKernel(obs).visibility(0.0, 10.0, np.nan, 360.0, 40.0).to_polygons()[0]
    hull = HullShortcut(obs).visibility(0.0, 10.0, np.nan, 360.0, 40.0)[0]
    assert hull.area < 0.5 * exact.area


@pytest.mark.parametrize("kw", [{"radius_m": 0}, {"fov_deg": -5}, {"x": np.nan}])
def test_bad_views_raise_input_error(kw):
    args = {"x": 0.0, "y": 0.0, "direction_deg": 0.0, "fov_deg": 60.0, "radius_m": 10.0} | kw
    with pytest.raises(InputError):
        visibility(prepare_obstacles([BOX]), **args)


def test_non_geometry_obstacle_raises_input_error():
    with pytest.raises(InputError):
        prepare_obstacles([BOX, "not a polygon"])


def test_long_wall_reaching_out_from_behind_a_building():
    # a long thin building starts in the shadow of a near one (±22° about east) and reaches out
    # to 26° north of east: with 5 m cells its first cells are hidden, its visible end counts
    near = shapely.box(10, -4, 12, 4)
    long_wall = shapely.Polygon([(25, -1), (125, 59), (125, 61), (25, 1)])
    scattered = [shapely.box(x, y, x + 3, y + 3) for x in range(-90, 90, 23)
                 for y in range(-90, 90, 29) if x < -20 or y < -20]
    obs = prepare_obstacles([near, long_wall, *scattered], cell_size=5.0)
    d, f = [np.nan, 70.0], [360.0, 90.0]
    reg = visibility(obs, [0.0, 0.0], [0.0, 0.0], d, f, 150.0)
    assert reg.contains([0, 1], [60.0, 60.0], [26.7, 26.7]).all()  # in front of the wall
    assert not reg.contains([0, 1], [100.0, 100.0], [44.5, 44.5]).any()  # behind it
    oracle = oracle_visibility(obs, reg.x, reg.y, d, f, 150.0)
    assert ious(reg.to_polygons(), oracle).min() > 0.9995


@pytest.mark.parametrize("cell", [5.0, 30.0])
def test_far_walk_matches_oracle_on_a_city(cell):
    from survatlas.synth import synth_city

    city = synth_city(900, 900, seed=4, n_cameras=12)
    obs = prepare_obstacles(city.buildings, cell_size=cell)
    x, y = city.camera_xy()
    d = np.linspace(0, 330, x.size)
    f = np.where(np.arange(x.size) % 3 == 0, 360.0, 50.0)
    reg = visibility(obs, x, y, d, f, 400.0)
    oracle = oracle_visibility(obs, reg.x, reg.y, d, f, 400.0)
    got = ious(reg.to_polygons(), oracle)
    assert got.mean() > 0.9995 and got.min() > 0.999
