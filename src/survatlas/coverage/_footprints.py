"""Footprint plumbing for obstacle preparation (private): ragged rings, orientation, convex
overlap areas — flat arrays and numba, so a million footprints take seconds, not minutes.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from survatlas.coverage import _compiled
from survatlas.coverage._jit import njit, prange


def ragged_rings(parts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates of single polygons as ``(coords, ring_offsets, polygon_ring_offsets)``.

    Rings are closed (first point repeated); each polygon's exterior comes first. Polygons
    without holes (nearly all buildings) are read with one ``get_coordinates`` call; the others
    through :func:`shapely.to_ragged_array`.
    """
    holes = shapely.get_num_interior_rings(parts) if parts.size else np.empty(0, np.int64)
    poly_off = np.concatenate([[0], np.cumsum(holes + 1)]).astype(np.int64)
    ring_len = np.zeros(poly_off[-1], np.int64)
    simple = np.flatnonzero(holes == 0)
    holed = np.flatnonzero(holes > 0)
    coords_s, owner = shapely.get_coordinates(parts[simple], return_index=True)
    ring_len[poly_off[simple]] = np.bincount(owner, minlength=simple.size)
    coords_h = np.empty((0, 2))
    holed_rings = np.empty(0, np.int64)
    if holed.size:
        _, coords_h, (roff_h, _) = shapely.to_ragged_array(parts[holed])
        holed_rings = _ranges(poly_off[holed], poly_off[holed + 1])
        ring_len[holed_rings] = np.diff(roff_h)
    ring_off = np.concatenate([[0], np.cumsum(ring_len)]).astype(np.int64)
    coords = np.empty((ring_off[-1], 2))
    coords[_ranges(ring_off[poly_off[simple]], ring_off[poly_off[simple] + 1])] = coords_s
    if holed.size:
        coords[_ranges(ring_off[holed_rings], ring_off[holed_rings + 1])] = coords_h[:, :2]
    return coords, ring_off, poly_off


def concat_rings(first: tuple, second: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two ragged ring sets (from :func:`ragged_rings`) as one; the second's polygons follow."""
    c1, r1, p1 = first
    c2, r2, p2 = second
    return (np.concatenate([c1, c2]), np.concatenate([r1, r2[1:] + r1[-1]]),
            np.concatenate([p1, p2[1:] + p1[-1]]))


def _ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start, stop)`` for each pair."""
    lengths = stops - starts
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, np.int64)
    shift = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return np.arange(total) + shift


def oriented_edges(
    coords: np.ndarray, ring_off: np.ndarray, poly_off: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Edges ``ax, ay, bx, by, polygon`` with the interior on the left (exteriors turned
    counter-clockwise, holes clockwise); zero-length edges dropped."""
    n_rings = ring_off.size - 1
    ring_of_poly = np.repeat(np.arange(poly_off.size - 1), np.diff(poly_off))
    area = _compiled.kernel("ring_areas", ring_areas)(coords, ring_off)
    exterior = np.zeros(n_rings, bool)
    exterior[poly_off[:-1][np.diff(poly_off) > 0]] = True
    flip = np.where(exterior, area < 0, area > 0)
    is_last = np.zeros(coords.shape[0], bool)
    is_last[ring_off[1:] - 1] = True
    start = np.flatnonzero(~is_last)
    ring = np.repeat(np.arange(n_rings), np.diff(ring_off))[start]
    a, b = coords[start], coords[start + 1]
    swap = flip[ring]
    a[swap], b[swap] = b[swap], a[swap].copy()
    keep = (a != b).any(axis=1)
    poly = ring_of_poly[ring[keep]].astype(np.int32)
    a, b = a[keep], b[keep]
    return (np.ascontiguousarray(a[:, 0]), np.ascontiguousarray(a[:, 1]),
            np.ascontiguousarray(b[:, 0]), np.ascontiguousarray(b[:, 1]), poly)


@njit(cache=True)
def ring_areas(xy, ring_off):  # pragma: no cover - numba
    """Signed area of each closed ring of ``xy`` (positive: counter-clockwise), shoelace
    formula about the ring's first point (no large absolute coordinates)."""
    out = np.zeros(ring_off.size - 1)
    for r in range(ring_off.size - 1):
        s = 0.0
        x0, y0 = xy[ring_off[r], 0], xy[ring_off[r], 1]
        for k in range(ring_off[r], ring_off[r + 1] - 1):
            s += (xy[k, 0] - x0) * (xy[k + 1, 1] - y0) - (xy[k + 1, 0] - x0) * (xy[k, 1] - y0)
        out[r] = 0.5 * s
    return out


@njit(cache=True)
def convex_exteriors(xy, ring_off, poly_off):  # pragma: no cover - numba
    """Whether each polygon is one convex ring (no hole, no right turn in either orientation)."""
    n = poly_off.size - 1
    out = np.zeros(n, np.bool_)
    for p in range(n):
        if poly_off[p + 1] - poly_off[p] != 1:
            continue
        c0, c1 = ring_off[poly_off[p]], ring_off[poly_off[p] + 1]
        left = right = False
        for k in range(c0, c1 - 1):
            k2 = k + 2 if k + 2 < c1 else c0 + 1
            cross = (xy[k + 1, 0] - xy[k, 0]) * (xy[k2, 1] - xy[k + 1, 1]) \
                - (xy[k + 1, 1] - xy[k, 1]) * (xy[k2, 0] - xy[k + 1, 0])
            left |= cross > 0.0
            right |= cross < 0.0
        out[p] = not (left and right)
    return out


def convex_overlaps(
    a: np.ndarray, b: np.ndarray, rings: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Area and perimeter of the intersection of convex polygons ``a[i]`` and ``b[i]`` of
    ``rings`` (from :func:`ragged_rings`; Sutherland–Hodgman clipping in numba)."""
    xy, ring_off, poly_off = rings
    ccw = _compiled.kernel("ring_areas", ring_areas)(xy, ring_off)[poly_off[:-1]] > 0
    overlaps = (_compiled.kernel("convex_overlaps", _convex_overlaps)
                if _compiled.serial(a.size) else _convex_overlaps)
    return overlaps(a, b, xy, ring_off, poly_off, ccw)


@njit(cache=True, parallel=True)
def _convex_overlaps(a, b, xy, ring_off, poly_off, ccw):  # pragma: no cover - numba
    area = np.zeros(a.size)
    perimeter = np.zeros(a.size)
    for i in prange(a.size):
        area[i], perimeter[i] = _convex_overlap(a[i], b[i], xy, ring_off, poly_off, ccw)
    return area, perimeter


@njit(cache=True)
def _ccw_ring(p, xy, ring_off, poly_off, ccw):  # pragma: no cover - numba
    """The exterior of polygon ``p`` counter-clockwise, without its closing point."""
    c0 = ring_off[poly_off[p]]
    n = ring_off[poly_off[p] + 1] - c0 - 1
    px, py = np.empty(n), np.empty(n)
    for k in range(n):
        q = c0 + k if ccw[p] else c0 + n - k
        px[k], py[k] = xy[q, 0], xy[q, 1]
    return px, py


@njit(cache=True)
def _convex_overlap(pa, pb, xy, ring_off, poly_off, ccw):  # pragma: no cover - numba
    sx, sy = _ccw_ring(pa, xy, ring_off, poly_off, ccw)
    cx, cy = _ccw_ring(pb, xy, ring_off, poly_off, ccw)
    m = cx.size
    for k in range(m):
        if sx.size == 0:
            return 0.0, 0.0
        ex0, ey0 = cx[k], cy[k]
        ex1, ey1 = cx[(k + 1) % m], cy[(k + 1) % m]
        dx, dy = ex1 - ex0, ey1 - ey0
        if dx == 0.0 and dy == 0.0:
            continue
        n = sx.size
        ox, oy = np.empty(2 * n), np.empty(2 * n)
        q = 0
        for i in range(n):
            x0, y0 = sx[i], sy[i]
            x1, y1 = sx[(i + 1) % n], sy[(i + 1) % n]
            s0 = dx * (y0 - ey0) - dy * (x0 - ex0)
            s1 = dx * (y1 - ey0) - dy * (x1 - ex0)
            if s0 >= 0.0:
                ox[q], oy[q] = x0, y0
                q += 1
            if (s0 >= 0.0) != (s1 >= 0.0):
                t = s0 / (s0 - s1)
                ox[q], oy[q] = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
                q += 1
        sx, sy = ox[:q], oy[:q]
    area = 0.0
    n = sx.size
    for i in range(1, n - 1):  # fan from the first point: no large absolute coordinates
        area += (sx[i] - sx[0]) * (sy[i + 1] - sy[0]) - (sx[i + 1] - sx[0]) * (sy[i] - sy[0])
    perimeter = 0.0
    for i in range(n):
        perimeter += math.hypot(sx[(i + 1) % n] - sx[i], sy[(i + 1) % n] - sy[i])
    return max(0.0, 0.5 * area), perimeter
