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
