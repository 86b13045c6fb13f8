"""Exact 2-D visibility of camera views among building footprints (numba kernel).

Bearings follow OSM ``camera:direction``: degrees clockwise from north. A view with direction
``d`` and field of view ``f`` covers bearings ``d − f/2 … d + f/2``. A missing direction (NaN) or
``f ≥ 360`` is a full circle.
"""

from __future__ import annotations

import itertools
import math
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from survatlas.coverage import _compiled, _jit
from survatlas.coverage import _kernel as k
from survatlas.coverage._grid import z_order
from survatlas.coverage.obstacles import Obstacles
from survatlas.coverage.regions import Regions
from survatlas.errors import InputError

#: Largest number of padded boundary slots computed in one parallel pass (memory bound).
CHUNK_SLOTS = 6_000_000


@contextmanager
def _threads(n: int | None):
    if n is None:
        yield
        return
    numba = _jit.activate()
    old = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(old)


def _views(x, y, direction_deg, fov_deg, radius_m) -> tuple[np.ndarray, ...]:
    """Broadcast view parameters; return x, y, start (math rad), fov (rad), radius, directed."""
    x, y, d, f, r = (np.asarray(a, np.float64) for a in (x, y, direction_deg, fov_deg, radius_m))
    try:
        x, y, d, f, r = (np.ascontiguousarray(a) for a in np.broadcast_arrays(x, y, d, f, r))
    except ValueError as exc:
        raise InputError("x, y, direction, fov and radius must have matching lengths") from exc
    x, y, d, f, r = (np.atleast_1d(a).astype(np.float64) for a in (x, y, d, f, r))
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InputError("camera coordinates must be finite metres in a projected CRS")
    if not (np.isfinite(r).all() and (r > 0).all()):
        raise InputError("every view needs a positive, finite range (radius_m)")
    full = np.isnan(d) | np.isnan(f) | (f >= 360.0)
    if ((f <= 0) & ~full).any():
        raise InputError("field of view must be positive (use 360 or NaN for a full circle)")
    fov = np.where(full, 2 * math.pi, np.radians(np.where(full, 360.0, f)))
    start = np.where(full, 0.0, np.radians(90.0 - np.nan_to_num(d) - np.where(full, 0, f) / 2))
    start = np.mod(start, 2 * math.pi)
    return x, y, start, fov, r, ~full


def visibility(
    obstacles: Obstacles,
    x: np.ndarray,
    y: np.ndarray,
    direction_deg: np.ndarray | float,
    fov_deg: np.ndarray | float,
    radius_m: np.ndarray | float,
    *,
    camera: np.ndarray | None = None,
    threads: int | None = None,
    arc_step_deg: float = 1.0,
    wall_offset_m: float = 0.1,
    max_nudge_m: float = 3.0,
) -> Regions:
    """Exact visible region of each camera view among opaque footprints.

    Parameters
    ----------
    obstacles
        From :func:`survatlas.coverage.prepare_obstacles` (same metric CRS as the cameras).
    x, y
        Camera positions in metres, one per view (broadcast with the other view parameters).
    direction_deg
        View direction, degrees clockwise from north; NaN for a full circle.
    fov_deg
        Horizontal field of view, degrees; ``≥ 360`` or NaN for a full circle.
    radius_m
        Range of the view in metres (for example a DORI distance).
    camera
        Camera id of each view (default ``0..n-1``); lets several views share a camera.
    threads
        numba threads to use (default: numba's current setting).
    arc_step_deg
        Largest angle between two samples of the range arc (walls are exact).
    wall_offset_m
        A camera closer than this to a wall is moved this far out of it (cameras are mapped on
        façades; the lens sits in front of the wall).
    max_nudge_m
        A camera inside a footprint is moved along its view direction to just past the wall when
        the wall is at most this far; deeper inside, the view sees nothing (status 2).

    Returns
    -------
    Regions
        One star-shaped region per view.
    """
    if arc_step_deg <= 0 or wall_offset_m < 0 or max_nudge_m < 0:
        raise InputError("arc_step_deg must be positive; wall_offset_m and max_nudge_m >= 0")
    x, y, start, fov, radius, directed = _views(x, y, direction_deg, fov_deg, radius_m)
    cam = np.arange(x.size) if camera is None else np.asarray(camera, np.int64)
    if cam.shape != x.shape:
        raise InputError("camera ids must have one entry per view")
    step = math.radians(arc_step_deg)
    serial = _compiled.serial(x.size, threads)
    with _threads(None if serial else threads):
        parts = [
            _run(obstacles, x[s], y[s], start[s], fov[s], radius[s], directed[s], step,
                 wall_offset_m, max_nudge_m, serial)
            for s in _chunks(x, fov, radius, step)
        ]
    return _assemble(parts, x.size, start, fov, radius, cam)


#: Boundary points reserved per view beyond the arc samples; larger regions are recomputed.
SLOT_POINTS = 40


#: Expected extra boundary points per metre of range over a full circle (walls seen far off).
SLOT_POINTS_PER_M = 0.25


def _slots(fov: np.ndarray, radius: np.ndarray, step: float) -> np.ndarray:
    """Output slot size per view: arc samples plus an allowance growing with the range."""
    walls = np.ceil(fov / (2 * math.pi) * radius * SLOT_POINTS_PER_M).astype(np.int64)
    return np.ceil(fov / step).astype(np.int64) + SLOT_POINTS + walls


def _chunks(x, fov, radius, step):
    """Slices of views whose output slots fit in :data:`CHUNK_SLOTS`."""
    return _slot_chunks(_slots(fov, radius, step), CHUNK_SLOTS)


def _slot_chunks(slots: np.ndarray, size: int) -> list[slice]:
    """Consecutive slices of views whose ``slots`` add up to about ``size`` each (none empty)."""
    if slots.size == 0:
        return []
    cum = np.cumsum(slots)
    cuts = np.searchsorted(cum, np.arange(size, cum[-1], size))
    edges = np.concatenate([[0], cuts, [slots.size]]).tolist()  # sorted: repeats give empties
    return [slice(a, b) for a, b in itertools.pairwise(edges) if b > a]


def _loads(obstacles, x, y, start, fov, radius, pad, serial=False):
    o = obstacles
    view_loads = _compiled.kernel("view_loads", k.view_loads) if serial else k.view_loads
    return view_loads(x, y, start, fov, radius, pad, o.grid_x0, o.grid_y0, 1.0 / o.cell_size,
                        o.nx, o.ny, o.cell_start)


def _morton_order(o: Obstacles, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Order of views along a Z-order curve over grid cells (cache locality)."""
    ix = np.clip(((x - o.grid_x0) / o.cell_size).astype(np.int64), 0, 0xFFFF)
    iy = np.clip(((y - o.grid_y0) / o.cell_size).astype(np.int64), 0, 0xFFFF)
    return z_order(ix, iy)


def _kernel_pass(o: Obstacles, x, y, start, fov, radius, directed, step, offset, max_nudge,
                 caps, serial=False):
    loads, cells = _loads(o, x, y, start, fov, radius, max_nudge + 1.0, serial)
    args = (x, y, start, fov, radius, directed, loads, cells, caps, _morton_order(o, x, y),
            o.ax, o.ay, o.bx, o.by, o.edge_polygon, o.polygon_offsets, o.grid_x0, o.grid_y0,
            1.0 / o.cell_size, o.nx, o.ny, o.cell_start, o.cell_items, float(offset),
            float(max_nudge), float(step))
    if serial:  # ahead of time, no numba
        blocks = max(1, min(x.size, _compiled.SERIAL_BLOCKS))
        return _compiled.kernel("run_views", k.run_views)(*args, blocks)
    numba = _jit.activate()
    blocks = max(1, min(x.size, 16 * numba.get_num_threads()))
    with numba.parallel_chunksize(1):  # blocks handed out dynamically: balanced threads
        return k.run_views(*args, blocks)


def _run(o: Obstacles, x, y, start, fov, radius, directed, step, offset, max_nudge,
         serial=False):
    caps = np.zeros(x.size + 1, np.int64)
    caps[1:] = np.cumsum(_slots(fov, radius, step))
    phi, rad, n, status, cx, cy, tests = _kernel_pass(o, x, y, start, fov, radius, directed,
                                                      step, offset, max_nudge, caps, serial)
    compact = _compiled.kernel("compact", k.compact) if serial else k.compact
    offsets, phi, rad = compact(phi, rad, caps, n)
    big = np.flatnonzero(n < 0)
    if big.size:  # the few regions larger than their slot: recompute with exact slots
        sub = np.zeros(big.size + 1, np.int64)
        sub[1:] = np.cumsum(-n[big])
        p2, r2, n2, _, _, _, _ = _kernel_pass(o, x[big], y[big], start[big], fov[big],
                                              radius[big], directed[big], step, offset,
                                              max_nudge, sub, serial)
        offsets, phi, rad = _splice(offsets, phi, rad, big, n2, p2, r2)
    return offsets, phi, rad, status, cx, cy, int(tests.sum())


def _splice(offsets, phi, rad, big, n_big, phi_big, rad_big):
    """Insert the points of views ``big`` (empty in ``offsets``) into the CSR arrays."""
    counts = np.diff(offsets)
    counts[big] = n_big
    new = np.zeros_like(offsets)
    new[1:] = np.cumsum(counts)
    out_phi = np.empty(new[-1])
    out_rad = np.empty(new[-1])
    view = np.repeat(np.arange(counts.size), np.diff(offsets))
    pos = np.arange(phi.size) + (new[:-1] - offsets[:-1])[view]
    out_phi[pos], out_rad[pos] = phi, rad
    first = np.repeat(new[big] - np.concatenate([[0], np.cumsum(n_big)[:-1]]), n_big)
    pos = np.arange(phi_big.size) + first
    out_phi[pos], out_rad[pos] = phi_big, rad_big
    return new, out_phi, out_rad


def _assemble(parts, n, start, fov, radius, cam) -> Regions:
    if not parts:
        z = np.empty(0)
        return Regions(np.zeros(1, np.int64), z, z, z, z, start, fov, radius,
                       np.empty(0, np.int8), cam)
    shift = np.cumsum([0] + [p[0][-1] for p in parts[:-1]])
    offsets = np.concatenate([[0]] + [p[0][1:] + s for p, s in zip(parts, shift, strict=True)])
    cat = [np.concatenate([p[i] for p in parts]) for i in (1, 2, 3, 4, 5)]
    return Regions(offsets.astype(np.int64), cat[0], cat[1], cat[3], cat[4], start, fov, radius,
                   cat[2], cam, edge_tests=sum(p[6] for p in parts))


@dataclass(frozen=True)
class ExactKernel:
    """Strategy: the exact numba kernel (see :func:`visibility`)."""

    obstacles: Obstacles
    threads: int | None = None
    arc_step_deg: float = 1.0

    def visibility(self, x, y, direction_deg, fov_deg, radius_m) -> Regions:
        """Visible regions of the views (see :func:`visibility`)."""
        return visibility(self.obstacles, x, y, direction_deg, fov_deg, radius_m,
                          threads=self.threads, arc_step_deg=self.arc_step_deg)
