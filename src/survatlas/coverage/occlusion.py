"""Height-aware (2.5-D) visibility of camera views among buildings with heights.

A camera's eye is at height ``h`` above flat ground; a building is a vertical prism from its
bottom ``Hmin`` (0, or ``min_height`` for a part floating above a passage) to its top ``H``.
On each ray the ground at distance ``r`` is hidden by a building spanning ``[t_in, t_out]``
along the ray exactly when the line from the eye to the ground point passes through the prism:
for ``r`` in ``[t_in·h/(h−Hmin), t_out·h/(h−H))`` — up to infinity when ``H ≥ h``, and never
when ``Hmin ≥ h``. The visible ground is the view's sector between the near edge (blind zone
under a tilted camera) and the range, minus the union of those shadows. See
:mod:`survatlas.coverage._kernel25` for the algorithm and :mod:`survatlas.coverage.regions` for
the layered regions it returns.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from survatlas import optics
from survatlas.coverage import _compiled, _jit, _kernel, heights
from survatlas.coverage import _kernel25 as k25
from survatlas.coverage.obstacles import Obstacles
from survatlas.coverage.regions import Regions
from survatlas.coverage.visibility import _morton_order, _slot_chunks, _splice, _threads, _views
from survatlas.errors import InputError

if TYPE_CHECKING:
    from survatlas.coverage.camera_views import CameraViews

#: Largest number of padded boundary slots computed in one parallel pass (memory bound).
CHUNK_SLOTS = 6_000_000
#: Boundary points reserved per view beyond twice the arc samples.
SLOT_POINTS = 64
#: Ground range given to a view whose slant range is shorter than its eye height (sees nothing
#: at that level): the kernel needs a positive range.
MIN_GROUND_RANGE_M = 1e-3


def polygon_heights(obstacles: Obstacles, top_m, bottom_m=None) -> tuple[np.ndarray, np.ndarray]:
    """Top and bottom of each cleaned obstacle polygon from per-input-footprint values.

    A polygon merged from overlapping footprints takes the values of the first of them
    (:attr:`Obstacles.source`).
    """
    top = np.asarray(top_m, np.float64)
    bottom = np.zeros_like(top) if bottom_m is None else np.asarray(bottom_m, np.float64)
    if top.shape != bottom.shape or (obstacles.source.size and top.size <= obstacles.source.max()):
        raise InputError("give one top (and bottom) height per footprint passed to "
                         "prepare_obstacles")
    if not (np.isfinite(top).all() and np.isfinite(bottom).all()):
        raise InputError("building heights must be finite metres (resolve unknown ones first: "
                         "survatlas.coverage.heights.building_heights)")
    return (np.ascontiguousarray(top[obstacles.source]),
            np.ascontiguousarray(bottom[obstacles.source]))


def visibility25(
    obstacles: Obstacles,
    top_m: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    direction_deg: np.ndarray | float,
    fov_deg: np.ndarray | float,
    radius_m: np.ndarray | float,
    eye_height_m: np.ndarray | float,
    *,
    bottom_m: np.ndarray | None = None,
    near_m: np.ndarray | float = 0.0,
    camera: np.ndarray | None = None,
    threads: int | None = None,
    arc_step_deg: float = 1.0,
    wall_offset_m: float = 0.1,
    max_nudge_m: float = 3.0,
) -> Regions:
    """Visible ground of each camera view among buildings of known height.

    Parameters
    ----------
    obstacles
        From :func:`survatlas.coverage.prepare_obstacles`.
    top_m, bottom_m
        Top and bottom (``min_height``; default 0) of each footprint given to
        ``prepare_obstacles``, metres above the ground.
    x, y, direction_deg, fov_deg, radius_m
        The views, as for :func:`survatlas.coverage.visibility` (``radius_m`` is the ground
        range).
    eye_height_m
        Height of each view's camera above the ground, metres (> 0).
    near_m
        Ground distance of the near edge of each view's picture (0: sees its own foot).
    camera, threads, arc_step_deg, wall_offset_m, max_nudge_m
        As for :func:`survatlas.coverage.visibility`.

    Returns
    -------
    Regions
        Layered regions (``Regions.layers``); a view with every building at least as tall as
        its camera is the 2-D region. Walls and shadow edges are exact, except within one
        ``arc_step_deg`` of where two shadow edges (or a shadow edge and the range) cross.
    """
    if arc_step_deg <= 0 or wall_offset_m < 0 or max_nudge_m < 0:
        raise InputError("arc_step_deg must be positive; wall_offset_m and max_nudge_m >= 0")
    x, y, start, fov, radius, directed = _views(x, y, direction_deg, fov_deg, radius_m)
    eye = np.ascontiguousarray(np.broadcast_to(np.asarray(eye_height_m, np.float64), x.shape))
    near = np.ascontiguousarray(np.broadcast_to(np.asarray(near_m, np.float64), x.shape))
    if not (np.isfinite(eye).all() and (eye > 0).all()):
        raise InputError("every camera needs a positive eye height (eye_height_m)")
    if not (np.isfinite(near).all() and (near >= 0).all()):
        raise InputError("near_m must be finite and >= 0")
    top, bottom = polygon_heights(obstacles, top_m, bottom_m)
    cam = np.arange(x.size) if camera is None else np.asarray(camera, np.int64)
    if cam.shape != x.shape:
        raise InputError("camera ids must have one entry per view")
    step = math.radians(arc_step_deg)
    serial = _compiled.serial(x.size, threads)
    with _threads(None if serial else threads):
        parts = [_run(obstacles, top, bottom, x[s], y[s], start[s], fov[s], radius[s], near[s],
                      eye[s], directed[s], step, wall_offset_m, max_nudge_m, serial)
                 for s in _chunks(x.size, fov, step)]
    return _assemble(parts, start, fov, radius, cam)


def _slots(fov: np.ndarray, step: float) -> np.ndarray:
    return 2 * np.ceil(fov / step).astype(np.int64) + SLOT_POINTS


def _chunks(n: int, fov: np.ndarray, step: float) -> list[slice]:
    return _slot_chunks(_slots(fov, step), CHUNK_SLOTS) if n else []


def _pass(o: Obstacles, top, bottom, x, y, start, fov, radius, near, eye, directed, step,
          offset, max_nudge, caps, serial=False):
    pad = max_nudge + 1.0
    view_loads = _compiled.kernel("view_loads", _kernel.view_loads) if serial else _kernel.view_loads
    loads, _ = view_loads(x, y, start, fov, radius, pad, o.grid_x0, o.grid_y0, 1.0 / o.cell_size,
                          o.nx, o.ny, o.cell_start)
    args = (x, y, start, fov, radius, near, eye, directed, loads, _morton_order(o, x, y),
            o.ax, o.ay, o.bx, o.by, o.edge_polygon, o.polygon_offsets, top, bottom, o.grid_x0,
            o.grid_y0, 1.0 / o.cell_size, o.nx, o.ny, o.cell_start, o.cell_items, float(offset),
            float(max_nudge), float(step), caps)
    if serial:  # ahead of time, no numba
        blocks = max(1, min(x.size, _compiled.SERIAL_BLOCKS))
        return _compiled.kernel("run_views25", k25.run_views25)(*args, blocks)
    numba = _jit.activate()
    blocks = max(1, min(x.size, 16 * numba.get_num_threads()))
    with numba.parallel_chunksize(1):
        return k25.run_views25(*args, blocks)


def _run(o, top, bottom, x, y, start, fov, radius, near, eye, directed, step, offset,
         max_nudge, serial=False):
    caps = np.zeros(x.size + 1, np.int64)
    caps[1:] = np.cumsum(_slots(fov, step))
    args = (o, top, bottom)
    phi, rad, n, layers, status, cx, cy = _pass(*args, x, y, start, fov, radius, near, eye,
                                                directed, step, offset, max_nudge, caps, serial)
    compact = _compiled.kernel("compact", _kernel.compact) if serial else _kernel.compact
    offsets, phi, rad = compact(phi, rad, caps, n)
    big = np.flatnonzero(n < 0)
    if big.size:  # regions larger than their slot: recomputed with exact slots
        sub = np.zeros(big.size + 1, np.int64)
        sub[1:] = np.cumsum(-n[big])
        p2, r2, n2, l2, _, _, _ = _pass(*args, x[big], y[big], start[big], fov[big], radius[big],
                                        near[big], eye[big], directed[big], step, offset,
                                        max_nudge, sub, serial)
        layers[big] = l2
        offsets, phi, rad = _splice(offsets, phi, rad, big, n2, p2, r2)
    return offsets, phi, rad, status, cx, cy, layers


def _assemble(parts, start, fov, radius, cam) -> Regions:
    if not parts:
        z = np.empty(0)
        return Regions(np.zeros(1, np.int64), z, z, z, z, start, fov, radius,
                       np.empty(0, np.int8), cam, layers=np.empty(0, np.int64))
    shift = np.cumsum([0] + [p[0][-1] for p in parts[:-1]])
    offsets = np.concatenate([[0]] + [p[0][1:] + s for p, s in zip(parts, shift, strict=True)])
    cat = [np.concatenate([p[i] for p in parts]) for i in (1, 2, 3, 4, 5, 6)]
    return Regions(offsets.astype(np.int64), cat[0], cat[1], cat[3], cat[4], start, fov, radius,
                   cat[2], cam, layers=np.maximum(cat[5], 1))


def camera_views25(
    obstacles: Obstacles, tops: tuple[np.ndarray, np.ndarray], rows: list[dict],
    x: np.ndarray, y: np.ndarray, index: np.ndarray, views: CameraViews,
    level: str, scenario: str,
) -> Regions:
    """2.5-D regions of cameras at one level and scenario (what :func:`visibility` is to 2-D).

    Eye heights come from :func:`heights.camera_height`; the near edge from tilt and vertical
    field of view when both are known; DORI distances are slant ranges turned into ground
    ranges (``√(d² − h²)``), a range already capped at the tilt's far ground edge stays there.
    ``tops`` is ``(top_m, bottom_m)`` per footprint of ``obstacles`` for this scenario.
    """
    local, direction, fov, slant = views.expand(level)
    eye = np.empty(local.size)
    near = np.zeros(local.size)
    radius = np.empty(local.size)
    for k, (c, r) in enumerate(zip(local.tolist(), slant.tolist(), strict=True)):
        h, _ = heights.camera_height(rows[c], scenario)
        cam_optics, height = views.optics_of(c), views.height_m(c)
        tilt = rows[c].get("tilt_down_deg")
        vfov = cam_optics.vfov_deg if cam_optics is not None else None
        far = np.inf
        if tilt is not None and vfov is not None and height is not None:
            far = optics.ground_reach(height, tilt, vfov)[1]
            near[k] = heights.near_edge(h, tilt, vfov)
        ground = far if r >= far - 1e-9 else heights.ground_range(r, h)
        radius[k] = max(ground, MIN_GROUND_RANGE_M)
        eye[k] = h
    return visibility25(obstacles, tops[0], x[local], y[local], direction, fov, radius, eye,
                        bottom_m=tops[1], near_m=np.minimum(near, radius), camera=index[local])
