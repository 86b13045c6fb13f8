"""Shapely baselines for the visibility kernel: a naive exact oracle and the hull shortcut.

Both build the view sector as a polygon and subtract shadows; they are slow and simple on
purpose: the oracle is the test reference and both are benchmark baselines.

- :class:`NaiveOracle`: sector minus the union of one shadow polygon per wall edge in range.
- :class:`HullShortcut`: sector minus one shadow per building, the convex hull of the
  building's hull and its far projection (the common shortcut; wrong in courtyards and
  concave spots, shown for speed comparison).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from survatlas.coverage.obstacles import Obstacles
from survatlas.coverage.visibility import _views

#: Arc resolution of the oracle's sector polygon (finer than the kernel's default).
ORACLE_ARC_STEP_DEG = 0.25
_FAR_POINTS = 5


def sector_polygon(x: float, y: float, start: float, fov: float, radius: float,
                   arc_step_deg: float = ORACLE_ARC_STEP_DEG) -> shapely.Polygon:
    """Sector (or disc) polygon; ``start`` and ``fov`` in math radians."""
    n = max(2, math.ceil(math.degrees(fov) / arc_step_deg) + 1)
    a = start + np.linspace(0.0, fov, n)
    arc = np.column_stack([x + radius * np.cos(a), y + radius * np.sin(a)])
    if fov >= 2 * math.pi - 1e-9:
        return shapely.Polygon(arc[:-1])
    return shapely.Polygon(np.vstack([[x, y], arc]))


def _edge_shadows(cx, cy, ax, ay, bx, by, radius) -> np.ndarray:
    """One polygon per edge: the edge and its projection away from the camera beyond range."""
    a0 = np.arctan2(ay - cy, ax - cx)
    a1 = np.arctan2(by - cy, bx - cx)
    span = np.mod(a1 - a0 + math.pi, 2 * math.pi) - math.pi
    reach = np.maximum(2.5 * radius, 2.0 * np.maximum(np.hypot(ax - cx, ay - cy),
                                                      np.hypot(bx - cx, by - cy)))
    far = (reach / math.cos(math.pi / (2 * (_FAR_POINTS - 1))))[:, None]
    t = np.linspace(0.0, 1.0, _FAR_POINTS)
    ang = a0[:, None] + span[:, None] * t[None, ::-1]
    fx = cx + far * np.cos(ang)
    fy = cy + far * np.sin(ang)
    xs = np.column_stack([ax, bx, fx, ax])
    ys = np.column_stack([ay, by, fy, ay])
    return shapely.polygons(np.stack([xs, ys], axis=-1))


def _subtract(sector: shapely.Polygon, shadows: np.ndarray) -> shapely.Geometry:
    if shadows.size == 0:
        return sector
    shadows = shadows[shapely.area(shadows) > 0]
    shadows = np.where(shapely.is_valid(shadows), shadows, shapely.make_valid(shadows))
    return shapely.difference(sector, shapely.union_all(shadows))


@dataclass
class _SectorMinusShadows:
    """Shared shapely strategy: the view's sector minus the shadows of the footprints it meets."""

    obstacles: Obstacles
    arc_step_deg: float = ORACLE_ARC_STEP_DEG

    def __post_init__(self) -> None:
        self._tree = shapely.STRtree(self.obstacles.polygons)

    def visibility(self, x, y, direction_deg, fov_deg, radius_m) -> list[shapely.Geometry]:
        """Visible region of each view as a shapely geometry (same conventions as the kernel)."""
        x, y, start, fov, radius, _ = _views(x, y, direction_deg, fov_deg, radius_m)
        return [self._one(x[i], y[i], start[i], fov[i], radius[i]) for i in range(x.size)]

    def _one(self, cx, cy, start, fov, radius) -> shapely.Geometry:
        sector = sector_polygon(cx, cy, start, fov, radius, self.arc_step_deg)
        polys = self._tree.query(sector, predicate="intersects")
        if polys.size == 0:
            return sector
        return _subtract(sector, self._shadows(cx, cy, radius, polys))

    def _shadows(self, cx, cy, radius, polys: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class NaiveOracle(_SectorMinusShadows):
    """Sector minus per-edge shadow polygons (shapely); the kernel's test oracle."""

    def _shadows(self, cx, cy, radius, polys: np.ndarray) -> np.ndarray:
        o, off = self.obstacles, self.obstacles.polygon_offsets
        idx = np.concatenate([np.arange(off[p], off[p + 1]) for p in polys])
        return _edge_shadows(cx, cy, o.ax[idx], o.ay[idx], o.bx[idx], o.by[idx], radius)


class HullShortcut(_SectorMinusShadows):
    """Sector minus one convex-hull shadow per building (fast shapely shortcut, approximate)."""

    def _shadows(self, cx, cy, radius, polys: np.ndarray) -> np.ndarray:
        hulls = shapely.convex_hull(self.obstacles.polygons[polys])
        coords, index = shapely.get_coordinates(hulls, return_index=True)
        d = np.hypot(coords[:, 0] - cx, coords[:, 1] - cy)
        scale = (2.5 * radius / np.maximum(d, 1e-9))[:, None]
        far = np.array([cx, cy]) + (coords - [cx, cy]) * scale
        order = np.argsort(np.concatenate([index, index]), kind="stable")
        pts = shapely.multipoints(np.vstack([coords, far])[order],
                                  indices=np.concatenate([index, index])[order])
        return shapely.convex_hull(pts)


def oracle_visibility(obstacles: Obstacles, x, y, direction_deg, fov_deg,
                      radius_m) -> list[shapely.Geometry]:
    """Naive reference regions: sector minus per-edge shadows (see :class:`NaiveOracle`)."""
    return NaiveOracle(obstacles).visibility(x, y, direction_deg, fov_deg, radius_m)


def hull_shadow_visibility(obstacles: Obstacles, x, y, direction_deg, fov_deg,
                           radius_m) -> list[shapely.Geometry]:
    """Convex-hull-shadow shortcut regions (see :class:`HullShortcut`)."""
    return HullShortcut(obstacles).visibility(x, y, direction_deg, fov_deg, radius_m)


#: Cell size of the oracle's height raster (m) and its marching step (in cells).
HEIGHT_CELL_M = 0.05
_MARCH_STEP_CELLS = 0.5


@dataclass(frozen=True)
class HeightMap:
    """Buildings burnt into a fine raster of tops and bottoms (the 2.5-D test oracle's world).

    Built cell by cell with ``shapely.contains_xy`` on the cell centres: nothing shared with the
    kernel's walls, grid or ray-wall formulas.
    """

    x0: float
    y0: float
    cell: float
    top: np.ndarray
    bottom: np.ndarray
    solid: np.ndarray

    @classmethod
    def burn(cls, polygons, top_m, bottom_m=None, *, bounds=None,
             cell: float = HEIGHT_CELL_M) -> HeightMap:
        """Rasterise ``polygons`` with their tops (and bottoms, default 0) over ``bounds``."""
        polygons = np.asarray(polygons, dtype=object)
        top_m = np.asarray(top_m, float)
        bottom_m = np.zeros_like(top_m) if bottom_m is None else np.asarray(bottom_m, float)
        x0, y0, x1, y1 = bounds if bounds is not None else shapely.total_bounds(polygons)
        nx, ny = math.ceil((x1 - x0) / cell) + 1, math.ceil((y1 - y0) / cell) + 1
        top = np.zeros((ny, nx))
        bottom = np.zeros((ny, nx))
        solid = np.zeros((ny, nx), bool)
        for poly, h, b in zip(polygons, top_m, bottom_m, strict=True):
            px0, py0, px1, py1 = poly.bounds
            i0, i1 = max(int((px0 - x0) / cell) - 1, 0), min(int((px1 - x0) / cell) + 2, nx)
            j0, j1 = max(int((py0 - y0) / cell) - 1, 0), min(int((py1 - y0) / cell) + 2, ny)
            if i1 <= i0 or j1 <= j0:
                continue
            xs = x0 + (np.arange(i0, i1) + 0.5) * cell
            ys = y0 + (np.arange(j0, j1) + 0.5) * cell
            gx, gy = np.meshgrid(xs, ys)
            inside = shapely.contains_xy(poly, gx, gy)
            sub = (slice(j0, j1), slice(i0, i1))
            top[sub] = np.where(inside, h, top[sub])
            bottom[sub] = np.where(inside, b, bottom[sub])
            solid[sub] |= inside
        return cls(float(x0), float(y0), cell, top, bottom, solid)

    def _at(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        i = np.floor((x - self.x0) / self.cell).astype(np.int64)
        j = np.floor((y - self.y0) / self.cell).astype(np.int64)
        ok = (i >= 0) & (j >= 0) & (i < self.solid.shape[1]) & (j < self.solid.shape[0])
        i, j = np.where(ok, i, 0), np.where(ok, j, 0)
        return self.solid[j, i] & ok, self.top[j, i], self.bottom[j, i]


def raymarch_visible(world: HeightMap, cx: float, cy: float, eye_m: float, direction_deg: float,
                     fov_deg: float, radius_m: float, px: np.ndarray, py: np.ndarray, *,
                     near_m: float = 0.0) -> np.ndarray:
    """Whether a camera with eye ``eye_m`` above ``(cx, cy)`` sees the ground at each point.

    Slow on purpose: the sight line to every point is marched in steps of half a raster cell
    and blocked where it passes between a cell's bottom and top (the point's own cell
    included, so the ground under a building is never seen). Bearings as in
    :func:`survatlas.coverage.visibility` (clockwise from north; NaN or ≥ 360: full circle).
    """
    px, py = np.asarray(px, float), np.asarray(py, float)
    dx, dy = px - cx, py - cy
    dist = np.hypot(dx, dy)
    ok = (dist <= radius_m) & (dist >= near_m)
    if not (math.isnan(direction_deg) or fov_deg >= 360):
        bearing = np.degrees(np.arctan2(dx, dy)) % 360.0
        off = (bearing - direction_deg + 180.0) % 360.0 - 180.0
        ok &= np.abs(off) <= fov_deg / 2
    out = np.zeros(px.size, bool)
    for k in np.flatnonzero(ok):
        n = max(2, math.ceil(dist[k] / (world.cell * _MARCH_STEP_CELLS)))
        f = np.linspace(0.0, 1.0, n + 1)[1:]
        solid, top, bottom = world._at(cx + f * dx[k], cy + f * dy[k])
        sight = eye_m * (1.0 - f)  # height of the eye-to-ground line over each sample
        out[k] = not (solid & (sight >= bottom) & (sight <= top)).any()
    return out
