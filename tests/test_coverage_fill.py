"""Fast area plumbing against slow references: scan-line counts, land masks, H3 labels, overlaps."""

from __future__ import annotations

import h3
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from survatlas import geo
from survatlas.coverage import _footprints, prepare_obstacles, visibility
from survatlas.coverage._raster import Raster, edge_mask
from survatlas.coverage.aggregate import H3_DIRECT_MAX, h3_assignment
from survatlas.coverage.obstacles import (
    MIN_OVERLAP_M2,
    MIN_OVERLAP_WIDTH_M,
    _overlapping_pairs,
    _polygon_parts,
    footprint_edges,
)
from survatlas.synth import synth_city


@pytest.fixture(scope="module")
def scene():
    city = synth_city(700, 700, seed=5, n_cameras=80)
    rng = np.random.default_rng(2)
    x, y = city.camera_xy()
    d = rng.uniform(0, 360, x.size)
    d[::4] = np.nan
    f = np.where(np.isnan(d), 360.0, rng.uniform(20, 150, x.size))
    return city, visibility(prepare_obstacles(city.buildings), x, y, d, f, rng.uniform(15, 70, x.size))


def _centres(raster: Raster):
    rows, cols = np.mgrid[0:raster.ny, 0:raster.nx]
    return raster.centres(rows, cols)


def test_count_grid_equals_point_in_region_per_cell(scene):
    _, reg = scene
    raster = Raster(-360.3, -350.7, 1.3, 560, 540)  # cell centres off every round coordinate
    counts = reg.raster_count(raster.x0, raster.y0, raster.cell, raster.nx, raster.ny)
    x, y = _centres(raster)
    want = np.zeros(x.shape, np.int64)
    box = reg.bounds()
    for v in range(len(reg)):
        inside = (x >= box[v, 0]) & (x <= box[v, 2]) & (y >= box[v, 1]) & (y <= box[v, 3])
        want[inside] += reg.contains(v, x[inside], y[inside])
    assert counts.max() >= 3
    assert (counts == want).mean() > 0.9999  # only centres within 1e-9 of an edge may differ


def test_count_grid_of_windows_adds_up_to_the_whole(scene):
    _, reg = scene
    whole = Raster(-350.0, -350.0, 2.0, 350, 350)
    counts = reg.raster_count(whole.x0, whole.y0, whole.cell, whole.nx, whole.ny)
    for j0, j1, i0, i1 in [(0, 100, 0, 350), (100, 350, 0, 120), (100, 350, 120, 350)]:
        sub = whole.sub(j0, j1, i0, i1)
        part = reg.raster_count(sub.x0, sub.y0, sub.cell, sub.nx, sub.ny)
        assert (part == counts[j0:j1, i0:i1]).all()


polygon = st.builds(
    lambda cx, cy, r, k, rot, hole: _star(cx, cy, r, k, rot, hole),
    st.floats(-40, 40), st.floats(-40, 40), st.floats(1, 25), st.integers(3, 12),
    st.floats(0, 6.28), st.booleans())


def _star(cx, cy, r, k, rot, hole):
    a = rot + np.linspace(0, 2 * np.pi, k, endpoint=False)
    rad = r * (0.6 + 0.4 * (np.arange(k) % 2))
    shell = np.column_stack([cx + rad * np.cos(a), cy + rad * np.sin(a)])
    holes = [shapely.Point(cx, cy).buffer(0.3 * r * 0.6, 5).exterior.coords[::-1]] if hole else []
    return shapely.Polygon(shell[::-1] if k % 2 else shell, holes)  # either orientation


@settings(max_examples=60, deadline=None)
@given(st.lists(polygon, min_size=1, max_size=6))
def test_land_mask_from_edges_equals_contains(polys):
    polys = np.array(polys, dtype=object)
    raster = Raster(-66.1, -65.3, 0.77, 170, 170)
    x, y = _centres(raster)
    want = np.zeros(x.shape, bool)
    for p in polys:
        want |= shapely.contains_xy(p, x, y)
    got = edge_mask(raster, *footprint_edges(polys))
    assert (got == want).mean() > 0.9995  # centres on an edge count as inside for edge_mask


def test_land_mask_of_obstacles_equals_raw_footprints():
    city = synth_city(600, 600, seed=8, n_cameras=1)
    raster = Raster.covering(city.bounds, 1.0)
    obs = prepare_obstacles(city.buildings)
    merged = edge_mask(raster, obs.ax, obs.ay, obs.bx, obs.by)
    raw = edge_mask(raster, *footprint_edges(city.buildings))
    x, y = _centres(raster)
    exact = shapely.contains_xy(shapely.union_all(city.buildings), x, y)
    assert merged.sum() > 1000 and (merged == raw).mean() > 0.9999
    assert (merged == exact).mean() > 0.999


@pytest.mark.parametrize("lon, lat, res, cell, n", [
    (24.94, 60.17, 10, 4.0, 420), (7.42, 43.73, 9, 2.0, 700), (-74.0, 40.7, 12, 1.0, 300),
    (151.2, -33.87, 8, 4.0, 1200), (-70.0, -75.0, 10, 3.0, 360), (179.99, -16.5, 10, 4.0, 300)])
def test_h3_assignment_equals_a_lookup_per_block(lon, lat, res, cell, n):
    crs = geo.local_crs(lon, lat)
    x, y = geo.to_metric(crs).transform(lon, lat)
    raster = Raster(float(x) - 37.3, float(y) - 11.9, cell, n, int(n * 0.8))
    names, group = h3_assignment(raster, crs, res)
    nx, ny = -(-raster.nx // 4), -(-raster.ny // 4)
    assert nx * ny > H3_DIRECT_MAX  # the outline-filling path is the one under test
    jj, ii = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    cx = raster.x0 + (ii.ravel() * 4 + 2) * cell
    cy = raster.y0 + (jj.ravel() * 4 + 2) * cell
    lons, lats = geo.to_lonlat(crs).transform(cx, cy)
    want = np.array([h3.latlng_to_cell(b, a, res) for a, b in zip(lons, lats, strict=True)])
    assert list(names) == sorted(set(want))
    assert (names[group] == want).all()


def test_h3_assignment_of_windows_agrees_with_the_whole():
    crs = geo.local_crs(24.94, 60.17)
    x, y = geo.to_metric(crs).transform(24.94, 60.17)
    whole = Raster(float(x), float(y), 4.0, 400, 400)
    names, group = h3_assignment(whole, crs, 10)
    grid = names[group].reshape(100, 100)
    sub = whole.sub(120, 400, 40, 400)  # a window on the 4-cell block lattice
    n2, g2 = h3_assignment(sub, crs, 10)
    assert (n2[g2].reshape(70, 90) == grid[30:, 10:]).all()


def _reference_pairs(parts):
    a, b = shapely.STRtree(parts).query(parts, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    over = shapely.relate_pattern(parts[a], parts[b], "T********")
    a, b = a[over], b[over]
    shared = shapely.intersection(parts[a], parts[b])
    area, length = shapely.area(shared), shapely.length(shared)
    big = (area > MIN_OVERLAP_M2) & (2 * area / np.maximum(length, 1e-12) > MIN_OVERLAP_WIDTH_M)
    return set(zip(a[big].tolist(), b[big].tolist(), strict=True))


def test_overlapping_pairs_equal_geos_on_convex_concave_and_holed_footprints():
    city = synth_city(900, 900, seed=4, n_cameras=1)
    parts, _ = _polygon_parts(np.asarray(city.buildings, dtype=object))
    rng = np.random.default_rng(0)
    pick = rng.choice(parts.size, 120, replace=False)
    moved = shapely.transform(parts[pick], lambda xy: xy + rng.uniform(-3, 3, 2))
    extra = np.array([shapely.box(0, 0, 30, 30).difference(shapely.box(10, 10, 20, 20)),
                      shapely.box(12, 12, 18, 18),  # inside the hole: no overlap
                      shapely.box(29.9999, 0, 40, 10),  # a sliver below the threshold
                      shapely.box(25, 5, 35, 15),
                      shapely.box(100, 0, 120, 10), shapely.box(100, 9.99, 120, 20),  # 1 cm wide
                      shapely.Polygon([(200, 0), (220, 0.015), (220, 10), (200, 10)]),
                      shapely.box(200, -10, 220, 0.0)], dtype=object)  # a slanted sliver
    parts = np.concatenate([parts, moved, extra])
    a, b = _overlapping_pairs(parts, _footprints.ragged_rings(parts))
    got = set(zip(a.tolist(), b.tolist(), strict=True))
    want = _reference_pairs(parts)
    n = parts.size
    assert len(want) > 100 and got == want
    assert (n - 4, n - 3) not in got and (n - 2, n - 1) not in got  # slivers: 0.2 m², 1 cm wide
    assert (n - 8, n - 5) in got  # a real overlap next to them


def test_ragged_rings_round_trip_mixed_holes():
    polys = np.array([shapely.box(0, 0, 2, 2),
                      shapely.box(0, 0, 9, 9).difference(shapely.box(3, 3, 4, 4)).difference(
                          shapely.box(5, 5, 6, 6)),
                      shapely.Polygon([(0, 0), (4, 0), (4, 1), (1, 1), (1, 4), (0, 4)]),
                      shapely.box(20, 0, 30, 5).difference(shapely.box(21, 1, 22, 2))],
                     dtype=object)
    coords, rings, polys_off = _footprints.ragged_rings(polys)
    back = shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords, (rings, polys_off))
    assert shapely.equals(back, polys).all()
    ax, ay, bx, by, poly = _footprints.oriented_edges(coords, rings, polys_off)
    signed = np.bincount(poly, (ax * by - bx * ay) / 2, minlength=polys.size)
    assert np.allclose(signed, shapely.area(polys))  # exteriors CCW, holes CW
