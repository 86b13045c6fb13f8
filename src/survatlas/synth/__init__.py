"""Synthetic cities for tests at scale and benchmarks (buildings, streets, cameras).

A Manhattan-like grid: long blocks between avenues and streets, each block split into irregular
lots along its two long sides; one building per lot (rectangle, L-shape or courtyard building),
with party walls shared exactly between neighbours where the gap between them is zero. Cameras
sit on façades or poles along the streets. Defaults follow published densities: ≈ 1,375
buildings per km² (≈ 4.6 wall edges per building) and 0.2–0.9 cameras per km of street
(Sheng, Yao & Goel 2021; see ``../shared/data/README.md``).

Coordinates are metres in a local azimuthal-equidistant CRS centred on ``anchor_lonlat`` (the
city spans ``[-w/2, w/2] × [-h/2, h/2]``), so a city can be written as OSM (lon/lat) later.
Everything is drawn from one seeded generator: the same arguments give the same city.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from survatlas.errors import InputError

AVENUE_WIDTH_M = 30.0
STREET_WIDTH_M = 18.0
BLOCK_LENGTH_M = (200.0, 260.0)
BLOCK_DEPTH_M = (60.0, 80.0)
PARTY_WALL_SHARE = 0.6
SHAPE_SHARES = {"rectangle": 0.70, "l_shape": 0.20, "courtyard": 0.10}


@dataclass(frozen=True)
class SynthCity:
    """A generated city in local metres.

    Attributes
    ----------
    buildings
        Shapely Polygons (footprints, some with a courtyard hole).
    streets
        Shapely LineStrings: street centre lines, one per block side between two crossings.
    street_highway
        OSM ``highway`` value of each street (``primary`` for avenues, ``residential`` else).
    cameras
        One plain mapping per camera with keys ``id, x, y, camera_type, camera_mount,
        height_m, device_type`` and, when known, ``direction`` (compass degrees) and ``fov_deg``
        — the shape :func:`survatlas.optics.camera_geometry` reads.
    crs
        PROJ string of the local metric CRS.
    anchor_lonlat
        Longitude and latitude of the CRS origin (city centre).
    bounds
        ``(xmin, ymin, xmax, ymax)`` of all geometry (after the grid rotation), metres.
    extent_m
        Width and height of the (unrotated) street grid, metres.
    seed
        Seed the city was drawn from.
    """

    buildings: np.ndarray
    streets: np.ndarray
    street_highway: np.ndarray
    cameras: list[dict]
    crs: str
    anchor_lonlat: tuple[float, float]
    bounds: tuple[float, float, float, float]
    extent_m: tuple[float, float]
    seed: int

    @property
    def area_km2(self) -> float:
        """Area of the city (its street grid) in km²."""
        return self.extent_m[0] * self.extent_m[1] / 1e6

    @property
    def street_km(self) -> float:
        """Total street centre-line length in km."""
        return float(shapely.length(self.streets).sum()) / 1000.0

    def camera_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """Camera coordinates as two arrays (metres)."""
        xy = np.array([[c["x"], c["y"]] for c in self.cameras], float).reshape(-1, 2)
        return xy[:, 0], xy[:, 1]

    def to_lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Convert local metres to WGS 84 longitude / latitude."""
        from pyproj import Transformer

        tr = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        return tr.transform(np.asarray(x, float), np.asarray(y, float))


def _axis(rng: np.random.Generator, extent: float, block: tuple[float, float], gap: float):
    """Street centre-line positions along one axis and the blocks between them."""
    lines = [-extent / 2]
    while lines[-1] < extent / 2 - gap:
        lines.append(lines[-1] + gap + rng.uniform(*block))
    lines[-1] = min(lines[-1], extent / 2)
    centres = np.array(lines)
    return centres, centres[:-1] + gap / 2, centres[1:] - gap / 2


def _lots(rng, blocks, per_side):
    """Irregular lots along both long sides of every block: x0, x1, y_front, depth, side."""
    bx0, bx1, by0, by1 = blocks.T
    n_blocks = bx0.size
    counts = np.maximum(1, np.round(per_side * rng.uniform(0.8, 1.2, 2 * n_blocks))).astype(int)
    group = np.repeat(np.arange(2 * n_blocks), counts)
    share = rng.gamma(4.0, size=group.size)
    total = np.bincount(group, share)
    cum = np.cumsum(share) - np.repeat(np.cumsum(total) - total, counts)
    blk = group % n_blocks
    side = group // n_blocks  # 0: south side of the block (front faces south), 1: north side
    width = bx1[blk] - bx0[blk]
    lx1 = bx0[blk] + width * cum / total[group]
    lx0 = lx1 - width * share / total[group]
    depth = (by1[blk] - by0[blk]) / 2
    front = np.where(side == 0, by0[blk], by1[blk])
    first = np.r_[True, group[1:] != group[:-1]]
    last = np.r_[group[1:] != group[:-1], True]
    return lx0, lx1, front, depth, side, first, last


def _footprints(rng, lx0, lx1, front, depth, side, first, last):
    """One building per lot; returns shapely polygons (rectangles, L-shapes, courtyards)."""
    n = lx0.size
    gap = np.where(rng.random(n + 1) < PARTY_WALL_SHARE, 0.0, rng.uniform(1.0, 3.0, n + 1))
    left = lx0 + np.where(first, gap[:-1], gap[:-1] / 2)
    right = lx1 - np.where(last, gap[1:], gap[1:] / 2)
    setback = np.where(rng.random(n) < 0.6, 0.0, rng.uniform(1.0, 4.0, n))
    deep = depth * rng.uniform(0.55, 0.95, n) - setback
    sign = np.where(side == 0, 1.0, -1.0)
    y_a = front + sign * setback
    y_b = y_a + sign * deep
    keep = (right - left > 3.0) & (deep > 4.0)
    kind = rng.choice(len(SHAPE_SHARES), size=n, p=list(SHAPE_SHARES.values()))
    w, d = right - left, deep
    court = keep & (kind == 2) & (w > 14) & (d > 14)
    ell = keep & (kind == 1) & ~court
    rect = keep & ~court & ~ell
    out = [_rects(left[rect], right[rect], y_a[rect], y_b[rect])]
    out.append(_ells(rng, left[ell], right[ell], y_a[ell], y_b[ell]))
    out.append(_courts(left[court], right[court], y_a[court], y_b[court]))
    return np.concatenate(out)


def _ring(xs, ys):
    return np.stack([np.column_stack([xs, xs[:, :1]]), np.column_stack([ys, ys[:, :1]])], -1)


def _rects(x0, x1, y0, y1):
    return shapely.polygons(_ring(np.column_stack([x0, x1, x1, x0]),
                                  np.column_stack([y0, y0, y1, y1])))


def _ells(rng, x0, x1, y0, y1):
    """Rectangles with one rear corner cut away (6 vertices)."""
    cx = x0 + (x1 - x0) * rng.uniform(0.35, 0.65, x0.size)
    cy = y0 + (y1 - y0) * rng.uniform(0.4, 0.7, x0.size)
    flip = rng.random(x0.size) < 0.5
    xs = np.where(flip[:, None], np.column_stack([x0, x1, x1, cx, cx, x0]),
                  np.column_stack([x1, x0, x0, cx, cx, x1]))
    ys = np.column_stack([y0, y0, y1, y1, cy, cy])
    return shapely.polygons(_ring(xs, ys))


def _courts(x0, x1, y0, y1):
    """Rectangles with a rectangular courtyard hole."""
    inset = np.maximum(3.0, 0.25 * np.minimum(x1 - x0, np.abs(y1 - y0)))
    s = np.sign(y1 - y0)
    hole = _ring(np.column_stack([x0 + inset, x0 + inset, x1 - inset, x1 - inset]),
                 np.column_stack([y0 + s * inset, y1 - s * inset, y1 - s * inset, y0 + s * inset]))
    shells = _ring(np.column_stack([x0, x1, x1, x0]), np.column_stack([y0, y0, y1, y1]))
    return shapely.polygons(shells, holes=hole[:, None])


def _streets(xc, yc):
    """Centre-line segments between crossings, and their OSM highway class."""
    vx = np.repeat(xc, yc.size - 1)
    vy0 = np.tile(yc[:-1], xc.size)
    vy1 = np.tile(yc[1:], xc.size)
    hy = np.repeat(yc, xc.size - 1)
    hx0 = np.tile(xc[:-1], yc.size)
    hx1 = np.tile(xc[1:], yc.size)
    a = np.column_stack([np.r_[vx, hx0], np.r_[vy0, hy]])
    b = np.column_stack([np.r_[vx, hx1], np.r_[vy1, hy]])
    lines = shapely.linestrings(np.stack([a, b], axis=1))
    kind = np.r_[np.full(vx.size, "primary"), np.full(hy.size, "residential")]
    return lines, kind


def _cameras(rng, streets, kind, n):
    """Cameras on façades (or poles) along streets, with realistic tag completeness."""
    length = shapely.length(streets)
    seg = rng.choice(streets.size, size=n, p=length / length.sum())
    t = rng.random(n)
    a = shapely.get_coordinates(streets)[0::2][seg]
    b = shapely.get_coordinates(streets)[1::2][seg]
    tang = (b - a) / length[seg, None]
    side = np.where(rng.random(n) < 0.5, 1.0, -1.0)[:, None]
    norm = np.column_stack([-tang[:, 1], tang[:, 0]]) * side
    half = np.where(kind[seg] == "primary", AVENUE_WIDTH_M, STREET_WIDTH_M) / 2
    pole = rng.random(n) < 0.2
    off = np.where(pole, half - 2.0, half - 0.3)
    xy = a + (b - a) * t[:, None] + norm * off[:, None]
    along = np.where(rng.random(n) < 0.5, 1.0, -1.0)[:, None] * tang
    tilt = np.radians(rng.uniform(10, 60, n))[:, None]
    look = along * np.cos(tilt) - norm * np.sin(tilt)
    bearing = np.degrees(np.arctan2(look[:, 0], look[:, 1])) % 360.0
    roll = rng.random(n)
    cams = []
    for i in range(n):
        cam = {"id": i, "x": float(xy[i, 0]), "y": float(xy[i, 1]),
               "camera_mount": "pole" if pole[i] else "wall",
               "height_m": float(round(rng.uniform(5, 10) if pole[i] else rng.uniform(3, 8), 1)),
               "device_type": "alpr" if roll[i] > 0.97 else "camera"}
        if roll[i] < 0.55:
            cam.update(camera_type="fixed", direction=float(round(bearing[i], 1)))
            if rng.random() < 0.3:
                cam["fov_deg"] = float(rng.choice([60.0, 75.0, 90.0]))
        elif roll[i] < 0.80:
            cam["camera_type"] = "dome"
        else:
            cam["camera_type"] = "fixed"  # direction unknown, as for most OSM cameras
        cams.append(cam)
    return cams


def synth_city(
    width_m: float = 1000.0,
    height_m: float = 1000.0,
    *,
    seed: int = 0,
    buildings_per_km2: float = 1375.0,
    cameras_per_km: float = 0.5,
    n_cameras: int | None = None,
    rotation_deg: float = 29.0,
    anchor_lonlat: tuple[float, float] = (-73.985, 40.758),
) -> SynthCity:
    """Generate a Manhattan-like city with buildings, streets and cameras.

    Parameters
    ----------
    width_m, height_m
        Extent of the city in metres.
    seed
        Seed of the random generator (same seed, same city).
    buildings_per_km2
        Target building density (default 1,375 per km²).
    cameras_per_km
        Cameras per km of street (published range 0.2–0.9); ignored when ``n_cameras`` is set.
    n_cameras
        Exact number of cameras.
    rotation_deg
        Counter-clockwise rotation of the street grid (Manhattan's grid is tilted ≈ 29°).
    anchor_lonlat
        Longitude / latitude of the city centre (origin of the local CRS).

    Returns
    -------
    SynthCity
    """
    if width_m <= 0 or height_m <= 0 or buildings_per_km2 <= 0 or cameras_per_km < 0:
        raise InputError("synth_city needs a positive extent and density, cameras_per_km >= 0")
    if n_cameras is not None and n_cameras < 0:
        raise InputError("n_cameras must be >= 0")
    rng = np.random.default_rng(seed)
    xc, bx0, bx1 = _axis(rng, width_m, BLOCK_LENGTH_M, AVENUE_WIDTH_M)
    yc, by0, by1 = _axis(rng, height_m, BLOCK_DEPTH_M, STREET_WIDTH_M)
    blocks = np.array([[a, b, c, d] for c, d in zip(by0, by1, strict=True)
                       for a, b in zip(bx0, bx1, strict=True)]).reshape(-1, 4)
    cell_km2 = (np.mean(BLOCK_LENGTH_M) + AVENUE_WIDTH_M) * (np.mean(BLOCK_DEPTH_M)
                                                             + STREET_WIDTH_M) / 1e6
    buildings = _footprints(rng, *_lots(rng, blocks, buildings_per_km2 * cell_km2 / 2))
    streets, highway = _streets(xc, yc)
    count = n_cameras if n_cameras is not None else round(
        cameras_per_km * float(shapely.length(streets).sum()) / 1000.0)
    cameras = _cameras(rng, streets, highway, int(count))
    buildings, streets, cameras = _rotate(buildings, streets, cameras, rotation_deg)
    lon, lat = anchor_lonlat
    crs = (f"+proj=aeqd +lat_0={lat} +lon_0={lon} +x_0=0 +y_0=0 +datum=WGS84 +units=m "
           "+no_defs")
    bounds = tuple(float(v) for v in shapely.total_bounds(np.concatenate([buildings, streets])))
    return SynthCity(buildings, streets, highway, cameras, crs, (lon, lat), bounds,
                     (float(width_m), float(height_m)), seed)


def _rotate(buildings, streets, cameras, deg):
    if deg == 0:
        return buildings, streets, cameras
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))

    def rot(xy):
        return np.column_stack([xy[:, 0] * c - xy[:, 1] * s, xy[:, 0] * s + xy[:, 1] * c])

    buildings = shapely.transform(buildings, rot)
    streets = shapely.transform(streets, rot)
    for cam in cameras:
        (cam["x"], cam["y"]), = rot(np.array([[cam["x"], cam["y"]]])).tolist()
        if "direction" in cam:
            cam["direction"] = round((cam["direction"] - deg) % 360.0, 1)
    return buildings, streets, cameras
