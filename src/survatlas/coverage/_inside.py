"""Is a camera inside a footprint, and moving it out of a wall (private; numba)."""

from __future__ import annotations

import math

import numpy as np

from survatlas.coverage._jit import njit
from survatlas.coverage._walls import seg_dist2

STATUS_OK, STATUS_NUDGED, STATUS_INSIDE = 0, 1, 2


@njit(cache=True)
def _hit_cell(c, cx, cy, ux, uy, ax, ay, bx, by, epoly, start, items, tmin, pa, pb):
    """Nearest wall crossing along ray c + t·u in one cell: t and up to two tied polygons."""
    for p in range(start[c], start[c + 1]):
        e = items[p]
        ex = bx[e] - ax[e]
        ey = by[e] - ay[e]
        den = ux * ey - uy * ex
        if den == 0.0:
            continue
        wx = ax[e] - cx
        wy = ay[e] - cy
        t = (wx * ey - wy * ex) / den
        s = (wx * uy - wy * ux) / den
        if t <= 1e-12 or s < -1e-12 or s > 1.0 + 1e-12:
            continue
        tol = 1e-9 * (1.0 + t)
        if t < tmin - tol:
            tmin, pa, pb = t, epoly[e], -1
        elif t <= tmin + tol and epoly[e] != pa:
            pb = epoly[e]
    return tmin, pa, pb


@njit(cache=True)
def point_in_polygon(px, py, p, poff, ax, ay, bx, by):
    """Crossing-number test of point (px, py) against all rings of polygon ``p``."""
    inside = False
    for e in range(poff[p], poff[p + 1]):
        y0 = ay[e]
        y1 = by[e]
        if (y0 > py) != (y1 > py) and px < ax[e] + (py - y0) * (bx[e] - ax[e]) / (y1 - y0):
            inside = not inside
    return inside


@njit(cache=True)
def first_hit(cx, cy, ux, uy, ax, ay, bx, by, epoly, poff, gx0, gy0, inv, nx, ny, start,
              items):
    """Nearest wall along the ray ``c + t·u`` at any distance (grid walk), and whether the
    camera is inside the footprint(s) owning that wall (exact point-in-polygon test).

    Returns ``(t, inside)``; ``(inf, False)`` when the ray leaves the grid unblocked.
    """
    fx = (cx - gx0) * inv
    fy = (cy - gy0) * inv
    if fx < 0.0 or fy < 0.0 or fx >= nx or fy >= ny:
        return np.inf, False  # outside the grid: outside every footprint
    i = int(fx)
    j = int(fy)
    cell = 1.0 / inv
    si = 1 if ux > 0 else -1
    sj = 1 if uy > 0 else -1
    tdx = abs(cell / ux) if ux != 0.0 else np.inf
    tdy = abs(cell / uy) if uy != 0.0 else np.inf
    nxt_x = ((i + (1 if ux > 0 else 0)) - fx) * cell / ux if ux != 0.0 else np.inf
    nxt_y = ((j + (1 if uy > 0 else 0)) - fy) * cell / uy if uy != 0.0 else np.inf
    tmin = np.inf
    pa = -1
    pb = -1
    while 0 <= i < nx and 0 <= j < ny:
        tmin, pa, pb = _hit_cell(j * nx + i, cx, cy, ux, uy, ax, ay, bx, by, epoly, start,
                                 items, tmin, pa, pb)
        if tmin <= min(nxt_x, nxt_y):
            break
        if nxt_x < nxt_y:
            nxt_x += tdx
            i += si
        else:
            nxt_y += tdy
            j += sj
    if pa < 0:
        return np.inf, False
    inside = point_in_polygon(cx, cy, pa, poff, ax, ay, bx, by)
    if not inside and pb >= 0:
        inside = point_in_polygon(cx, cy, pb, poff, ax, ay, bx, by)
    return tmin, inside


@njit(cache=True)
def nudge(cx, cy, ux, uy, directed, ax, ay, bx, by, epoly, poff, gidx, ng, offset, max_nudge,
          gx0, gy0, inv, nx, ny, start, items):
    """Move a camera out of a wall it sits on or just inside.

    A camera inside a footprint moves along its view direction (or, undirected, along the
    outward normal of the nearest wall) to ``offset`` past the exit wall; one closer than
    ``offset`` to a wall moves out to ``offset`` from it. Returns ``(x, y, status)``.
    """
    x0, y0 = cx, cy
    status = STATUS_OK
    off2 = offset * offset
    for _ in range(12):
        dmin = np.inf
        enear = -1
        px = 0.0
        py = 0.0
        for k in range(ng):
            e = gidx[k]
            d2 = seg_dist2(cx, cy, ax[e], ay[e], bx[e], by[e])
            if d2 < dmin:
                dmin = d2
                enear = e
            if d2 < off2:
                ex = bx[e] - ax[e]
                ey = by[e] - ay[e]
                ll = math.sqrt(ex * ex + ey * ey)
                px += ey / ll
                py -= ex / ll
        nrm_x, nrm_y = 1.0, 0.0
        if enear >= 0:
            ex = bx[enear] - ax[enear]
            ey = by[enear] - ay[enear]
            ll = math.sqrt(ex * ex + ey * ey)
            nrm_x, nrm_y = ey / ll, -ex / ll
        tx, ty = (ux, uy) if directed else (nrm_x, nrm_y)
        t, inside = first_hit(cx, cy, tx, ty, ax, ay, bx, by, epoly, poff, gx0, gy0, inv, nx,
                              ny, start, items)
        if inside and dmin > 1e-18:  # strictly inside (a camera *on* a wall is pushed out)
            if t > max_nudge:
                return x0, y0, STATUS_INSIDE
            cx += tx * (t + offset)
            cy += ty * (t + offset)
        elif enear < 0 or dmin >= off2 * (1.0 - 1e-9):
            break  # outside and clear of every wall
        else:
            pl = math.sqrt(px * px + py * py)
            if pl < 1e-9:
                px, py, pl = (ux, uy, 1.0) if directed else (nrm_x, nrm_y, 1.0)
            step = offset - math.sqrt(dmin) + 1e-9 * (1.0 + offset)
            cx += px / pl * step
            cy += py / pl * step
        status = STATUS_NUDGED
        if (cx - x0) ** 2 + (cy - y0) ** 2 > (max_nudge + 2.0 * offset) ** 2:
            return x0, y0, STATUS_INSIDE
    return cx, cy, status
