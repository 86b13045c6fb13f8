"""numba core of the exact visibility kernel (private; see :mod:`survatlas.coverage.visibility`).

Per view (camera position, start bearing ``th0`` in math radians, field of view ``fov``, range
``R``):

1. gather candidate edges from the grid over the sector's bounding box;
2. nudge the camera out of a wall it sits on or just inside (status 1), or give up when it is
   deep inside a footprint (status 2, empty region);
3. keep front-facing edges (back-face culling), clip them to the range disc and to the field of
   view, as angular pieces ``[lo, hi]`` measured counter-clockwise from ``th0``;
4. the piece end angles cut the view into intervals in which the nearest wall cannot change
   (walls do not cross after :func:`prepare_obstacles`); one ray per interval, tested only against
   the pieces spanning it, finds that wall;
5. emit the boundary: the exact wall end points of each interval, or arc samples every
   ``arc_step`` where no wall is in range.

The output is a star-shaped polygon around the camera as (angle, radius) pairs with
non-decreasing angles from 0 to ``fov``; two points with the same angle are a radial jump.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from survatlas.coverage._grid import cell_of

TWO_PI = 2.0 * math.pi
FULL_CIRCLE_EPS = 1e-9
STATUS_OK, STATUS_NUDGED, STATUS_INSIDE = 0, 1, 2


@njit(cache=True)
def sector_box(cx, cy, th0, fov, radius):
    """Bounding box ``(xmin, ymin, xmax, ymax)`` of a sector."""
    if fov >= TWO_PI - FULL_CIRCLE_EPS:
        return cx - radius, cy - radius, cx + radius, cy + radius
    x0 = x1 = cx
    y0 = y1 = cy
    for k in range(2):
        a = th0 + k * fov
        px = cx + radius * math.cos(a)
        py = cy + radius * math.sin(a)
        x0, x1, y0, y1 = min(x0, px), max(x1, px), min(y0, py), max(y1, py)
    k0 = math.ceil(th0 / (0.5 * math.pi))
    k = k0
    while k * 0.5 * math.pi <= th0 + fov:
        q = k % 4
        if q == 0:
            x1 = max(x1, cx + radius)
        elif q == 1:
            y1 = max(y1, cy + radius)
        elif q == 2:
            x0 = min(x0, cx - radius)
        else:
            y0 = min(y0, cy - radius)
        k += 1
    return x0, y0, x1, y1


@njit(cache=True)
def _box_cells(x0, y0, x1, y1, gx0, gy0, inv, nx, ny):
    return (cell_of(x0, gx0, inv, nx), cell_of(y0, gy0, inv, ny),
            cell_of(x1, gx0, inv, nx), cell_of(y1, gy0, inv, ny))


@njit(cache=True)
def box_cell_load(x0, y0, x1, y1, gx0, gy0, inv, nx, ny, start):
    """Number of (cell, edge) entries in the cells under a box: a bound on gathered edges."""
    i0, j0, i1, j1 = _box_cells(x0, y0, x1, y1, gx0, gy0, inv, nx, ny)
    total = 0
    for j in range(j0, j1 + 1):
        total += start[j * nx + i1 + 1] - start[j * nx + i0]
    return total


@njit(cache=True)
def gather(x0, y0, x1, y1, ax, ay, bx, by, gx0, gy0, inv, nx, ny, start, items, out):
    """Write the ids of edges whose box meets the query box into ``out``; return their count."""
    i0, j0, i1, j1 = _box_cells(x0, y0, x1, y1, gx0, gy0, inv, nx, ny)
    n = 0
    for j in range(j0, j1 + 1):
        for i in range(i0, i1 + 1):
            c = j * nx + i
            for p in range(start[c], start[c + 1]):
                e = items[p]
                ex0 = min(ax[e], bx[e])
                ey0 = min(ay[e], by[e])
                if ex0 > x1 or ey0 > y1 or max(ax[e], bx[e]) < x0 or max(ay[e], by[e]) < y0:
                    continue
                # reported once: by the cell holding the lower-left corner of (edge ∩ query) box
                if cell_of(max(ex0, x0), gx0, inv, nx) != i:
                    continue
                if cell_of(max(ey0, y0), gy0, inv, ny) != j:
                    continue
                out[n] = e
                n += 1
    return n


@njit(cache=True, inline="always")
def _seg_dist2(px, py, ax, ay, bx, by):
    dx = bx - ax
    dy = by - ay
    ll = dx * dx + dy * dy
    s = ((px - ax) * dx + (py - ay) * dy) / ll if ll > 0.0 else 0.0
    s = min(max(s, 0.0), 1.0)
    qx = ax + s * dx - px
    qy = ay + s * dy - py
    return qx * qx + qy * qy


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
            d2 = _seg_dist2(cx, cy, ax[e], ay[e], bx[e], by[e])
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


@njit(cache=True, inline="always")
def _wrap(a):
    a = a % TWO_PI
    if a >= TWO_PI:
        a -= TWO_PI
    return a


@njit(cache=True, inline="always")
def _clip_to_disc(qx0, qy0, qx1, qy1, r2):
    """Part of segment q0→q1 inside the disc of squared radius ``r2``: (ok, x0, y0, x1, y1)."""
    d0 = qx0 * qx0 + qy0 * qy0
    d1 = qx1 * qx1 + qy1 * qy1
    if d0 <= r2 and d1 <= r2:
        return True, qx0, qy0, qx1, qy1
    dx = qx1 - qx0
    dy = qy1 - qy0
    a = dx * dx + dy * dy
    b = 2.0 * (qx0 * dx + qy0 * dy)
    c = d0 - r2
    disc = b * b - 4.0 * a * c
    if disc <= 0.0:
        return False, qx0, qy0, qx1, qy1
    sq = math.sqrt(disc)
    s0 = max((-b - sq) / (2.0 * a), 0.0) if d0 > r2 else 0.0
    s1 = min((-b + sq) / (2.0 * a), 1.0) if d1 > r2 else 1.0
    if s0 >= s1:
        return False, qx0, qy0, qx1, qy1
    nx0 = qx0 + s0 * dx if s0 > 0.0 else qx0
    ny0 = qy0 + s0 * dy if s0 > 0.0 else qy0
    nx1 = qx0 + s1 * dx if s1 < 1.0 else qx1
    ny1 = qy0 + s1 * dy if s1 < 1.0 else qy1
    return True, nx0, ny0, nx1, ny1


#: Angular bins of the occlusion buffer that lets far walls be skipped.
OCC_BINS = 256
#: Cells from this ring outwards are tested for being hidden before their walls are read.
CELL_TEST_RING = 3
#: Views with at least this many wall pieces sweep them near to far, skipping closed intervals.
SORTED_SWEEP_MIN = 64


@njit(cache=True, inline="always")
def _hidden(lo, hi, d2min, occ, binw):
    """Whether every bin overlapping ``[lo, hi]`` is closed nearer than ``d2min`` (squared)."""
    b1 = min(int(hi / binw), occ.shape[0] - 1)
    for b in range(int(lo / binw), b1 + 1):  # noqa: SIM110 (numba: no generators)
        if occ[b] >= d2min:
            return False
    return True


@njit(cache=True, inline="always")
def _occlude(lo, hi, r2max, occ, binw):
    """Close the bins lying wholly inside ``[lo, hi]`` beyond squared distance ``r2max``."""
    b1 = min(math.floor(hi / binw) - 1, occ.shape[0] - 1)
    for b in range(math.ceil(lo / binw), b1 + 1):
        if r2max < occ[b]:
            occ[b] = r2max


@njit(cache=True, inline="always")
def _add_span(lo, hi, rlo, rhi, ddx, ddy, num, e, fov, d2min, r2max, sc, seg, npc, occ, use_occ):
    """Append angular piece ``[lo, hi]`` of wall ``e`` unless empty, out of view or hidden."""
    if hi <= lo or lo >= fov:
        return npc
    binw = fov / occ.shape[0]
    if use_occ and _hidden(lo, hi, d2min, occ, binw):
        return npc
    sc[0, npc] = lo
    sc[1, npc] = hi
    sc[2, npc] = rlo
    sc[3, npc] = rhi
    sc[4, npc] = ddx
    sc[5, npc] = ddy
    sc[6, npc] = num
    sc[9, npc] = d2min
    seg[npc] = e
    if use_occ:
        _occlude(lo, hi, r2max, occ, binw)
    return npc + 1


@njit(cache=True, inline="always")
def _edge_pieces(e, cx, cy, th0, fov, r2, cone, ax, ay, bx, by, sc, seg, npc, occ, use_occ):
    """Append the pieces of wall ``e`` that face the camera, are in range and in view and (with
    ``use_occ``) not hidden behind nearer walls (occlusion buffer ``occ``); return the count."""
    pax = ax[e] - cx
    pay = ay[e] - cy
    pbx = bx[e] - cx
    pby = by[e] - cy
    if pax * pby - pay * pbx >= 0.0:  # back face, or seen edge-on
        return npc
    sx, sy, ex, ey = cone[0], cone[1], cone[2], cone[3]
    if cone[4] > 0.0 and ((sx * pay - sy * pax < 0.0 and sx * pby - sy * pbx < 0.0)
                          or (pax * ey - pay * ex < 0.0 and pbx * ey - pby * ex < 0.0)):
        return npc  # wholly on the outer side of one boundary ray of the sector
    # front face: seen from the camera the wall runs counter-clockwise from b to a
    ok, q0x, q0y, q1x, q1y = _clip_to_disc(pbx, pby, pax, pay, r2)
    if not ok:
        return npc
    lo = _wrap(math.atan2(q0y, q0x) - th0)
    hi = _wrap(math.atan2(q1y, q1x) - th0)
    if lo == hi:
        return npc
    ddx = q1x - q0x
    ddy = q1y - q0y
    num = q0x * ddy - q0y * ddx
    r20 = q0x * q0x + q0y * q0y
    r21 = q1x * q1x + q1y * q1y
    d2min = _seg_dist2(0.0, 0.0, q0x, q0y, q1x, q1y)
    if hi > lo:  # one span [lo, hi] (cut at the field of view)
        npc = _add_span(lo, min(hi, fov), math.sqrt(r20), math.sqrt(r21) if hi <= fov else -1.0,
                        ddx, ddy, num, e, fov, d2min, max(r20, r21), sc, seg, npc, occ, use_occ)
    else:  # wraps through the start bearing: [lo, fov] and [0, hi]
        npc = _add_span(lo, fov, math.sqrt(r20), -1.0, ddx, ddy, num, e, fov, d2min,
                        max(r20, r21), sc, seg, npc, occ, use_occ)
        npc = _add_span(0.0, min(hi, fov), -1.0, math.sqrt(r21) if hi <= fov else -1.0, ddx,
                        ddy, num, e, fov, d2min, max(r20, r21), sc, seg, npc, occ, use_occ)
    return npc


@njit(cache=True)
def _visited_clearance(cx, cy, ci, cj, r, gx0, gy0, cell, nx, ny):
    """Distance from the camera to the outside of the square of cells within ring ``r``."""
    left = cx - (gx0 + (ci - r) * cell) if ci - r > 0 else np.inf
    right = (gx0 + (ci + r + 1) * cell) - cx if ci + r < nx - 1 else np.inf
    down = cy - (gy0 + (cj - r) * cell) if cj - r > 0 else np.inf
    up = (gy0 + (cj + r + 1) * cell) - cy if cj + r < ny - 1 else np.inf
    return min(left, right, down, up)


@njit(cache=True, inline="always")
def _ring_key(i, j, ci, cj):
    """Visiting order of cell (i, j): ring first, then row, then column."""
    return max(abs(i - ci), abs(j - cj)), j, i


@njit(cache=True)
def _ring_cell(i, j, ci, cj, qi0, qj0, qw, qx0, qy0, qx1, qy1, cx, cy, th0, fov, r2, cone,
               ax, ay, bx, by, gx0, gy0, inv, nx, ny, start, items, sc, seg, npc, occ, hid):
    """Process the walls of visible cell (i, j) that no earlier visible cell has processed.

    A wall is handled at the first cell, in visiting order, of its box (∩ the query box) that
    was not hidden; a wall whose cells were all hidden cannot be seen.
    """
    key = _ring_key(i, j, ci, cj)
    for p in range(start[j * nx + i], start[j * nx + i + 1]):
        e = items[p]
        ex0 = min(ax[e], bx[e])
        ey0 = min(ay[e], by[e])
        ex1 = max(ax[e], bx[e])
        ey1 = max(ay[e], by[e])
        if ex0 > qx1 or ey0 > qy1 or ex1 < qx0 or ey1 < qy0:
            continue
        i0 = cell_of(max(ex0, qx0), gx0, inv, nx)
        i1 = cell_of(min(ex1, qx1), gx0, inv, nx)
        j0 = cell_of(max(ey0, qy0), gy0, inv, ny)
        j1 = cell_of(min(ey1, qy1), gy0, inv, ny)
        done = False
        if i0 != i1 or j0 != j1:
            for jj in range(j0, j1 + 1):
                for ii in range(i0, i1 + 1):
                    if _ring_key(ii, jj, ci, cj) < key and not hid[(jj - qj0) * qw + ii - qi0]:
                        done = True
                        break
                if done:
                    break
        if not done:
            npc = _edge_pieces(e, cx, cy, th0, fov, r2, cone, ax, ay, bx, by, sc, seg, npc, occ,
                               True)
    return npc


@njit(cache=True)
def _cell_hidden(i, j, cx, cy, th0, fov, r2, gx0, gy0, cell, occ):
    """Whether grid cell (i, j) lies beyond the range, outside the view, or behind walls that
    close every angular bin it spans nearer than the cell (the camera is not in the cell)."""
    x0 = gx0 + i * cell - cx
    y0 = gy0 + j * cell - cy
    x1 = x0 + cell
    y1 = y0 + cell
    dx = max(x0, 0.0, -x1)
    dy = max(y0, 0.0, -y1)
    d2 = dx * dx + dy * dy
    if d2 >= r2:
        return True
    ref = math.atan2(0.5 * (y0 + y1), 0.5 * (x0 + x1))
    lo = np.inf
    hi = -np.inf
    for k in range(4):
        px = x0 if k % 2 == 0 else x1
        py = y0 if k < 2 else y1
        d = math.atan2(py, px) - ref
        d = d - TWO_PI if d > math.pi else (d + TWO_PI if d <= -math.pi else d)
        lo = min(lo, d)
        hi = max(hi, d)
    start = _wrap(ref + lo - th0)
    end = start + (hi - lo)
    binw = fov / occ.shape[0]
    if start < fov and not _hidden(start, min(end, fov), d2, occ, binw):
        return False
    return not (end > TWO_PI and not _hidden(0.0, min(end - TWO_PI, fov), d2, occ, binw))


@njit(cache=True, inline="always")
def _set_cone(th0, fov, cone):
    """Unit vectors of the view's two boundary rays, and whether the view is at most 180°."""
    cone[0], cone[1] = math.cos(th0), math.sin(th0)
    cone[2], cone[3] = math.cos(th0 + fov), math.sin(th0 + fov)
    cone[4] = 1.0 if fov <= math.pi else 0.0


@njit(cache=True)
def pieces_of(gidx, ng, cx, cy, th0, fov, radius, ax, ay, bx, by, sc, seg, occ, cone):
    """Visible-candidate wall pieces of a small view from its gathered walls (no buffer)."""
    _set_cone(th0, fov, cone)
    npc = 0
    for k in range(ng):
        npc = _edge_pieces(gidx[k], cx, cy, th0, fov, radius * radius, cone, ax, ay, bx, by,
                           sc, seg, npc, occ, False)
    return npc


@njit(cache=True)
def ring_count(cx, cy, x0, y0, x1, y1, gx0, gy0, inv, nx, ny):
    """Number of grid rings around the camera's cell needed to cover a box."""
    i0, j0, i1, j1 = _box_cells(x0, y0, x1, y1, gx0, gy0, inv, nx, ny)
    ci = cell_of(cx, gx0, inv, nx)
    cj = cell_of(cy, gy0, inv, ny)
    return max(ci - i0, i1 - ci, cj - j0, j1 - cj, 0) + 1


@njit(cache=True)
def collect(cx, cy, th0, fov, radius, ax, ay, bx, by, gx0, gy0, inv, nx, ny, start, items,
            sc, seg, occ, hid, cone):
    """Visible-candidate wall pieces of a view, walking grid rings from near to far.

    Stops as soon as every angular bin is closed nearer than the cells not yet visited.
    Returns the number of pieces written to ``sc`` / ``seg``.
    """
    qx0, qy0, qx1, qy1 = sector_box(cx, cy, th0, fov, radius)
    qi0, qj0, qi1, qj1 = _box_cells(qx0, qy0, qx1, qy1, gx0, gy0, inv, nx, ny)
    ci = cell_of(cx, gx0, inv, nx)
    cj = cell_of(cy, gy0, inv, ny)
    _set_cone(th0, fov, cone)
    r2 = radius * radius
    cell = 1.0 / inv
    npc = 0
    last = max(ci - qi0, qi1 - ci, cj - qj0, qj1 - cj, 0)
    occ[:] = np.inf
    qw = qi1 - qi0 + 1
    for r in range(last + 1):
        for j in range(max(cj - r, qj0), min(cj + r, qj1) + 1):
            if j == cj - r or j == cj + r:  # top or bottom row of the ring: every cell
                i_first, i_last, i_step = max(ci - r, qi0), min(ci + r, qi1), 1
            else:  # inner rows: only the ring's two side cells
                i_first, i_last, i_step = ci - r, ci + r, max(2 * r, 1)
            for i in range(i_first, i_last + 1, i_step):
                if i < qi0 or i > qi1:
                    continue
                h = r >= CELL_TEST_RING and _cell_hidden(i, j, cx, cy, th0, fov, r2, gx0, gy0,
                                                         cell, occ)
                hid[(j - qj0) * qw + i - qi0] = h
                if not h:
                    npc = _ring_cell(i, j, ci, cj, qi0, qj0, qw, qx0, qy0, qx1, qy1, cx, cy, th0,
                                     fov, r2, cone, ax, ay, bx, by, gx0, gy0, inv, nx, ny, start,
                                     items, sc, seg, npc, occ, hid)
        clear = _visited_clearance(cx, cy, ci, cj, r, gx0, gy0, cell, nx, ny)
        if clear >= radius or (clear > 0.0 and occ.max() < clear * clear):
            break
    return npc


@njit(cache=True, inline="always")
def _emit(phi, r, out_phi, out_r, base, n):
    if n > 0 and out_phi[base + n - 1] == phi and abs(out_r[base + n - 1] - r) <= 1e-9 * (1.0 + r):
        return n
    out_phi[base + n] = phi
    out_r[base + n] = r
    return n + 1


@njit(cache=True)
def _radius_on(sc, j, phi, th0, which):
    """Distance along bearing ``th0 + phi`` to the wall of piece ``j`` (exact at its ends)."""
    if which == 0 and sc[2, j] >= 0.0 and phi == sc[0, j]:
        return sc[2, j]
    if which == 1 and sc[3, j] >= 0.0 and phi == sc[1, j]:
        return sc[3, j]
    a = th0 + phi
    return sc[6, j] / (math.cos(a) * sc[5, j] - math.sin(a) * sc[4, j])


@njit(cache=True)
def _sweep(npc, ev, sc, best_t, best_j):
    """Nearest piece of every interval: each piece tests the intervals it spans."""
    tests = 0
    for j in range(npc):
        i0 = np.searchsorted(ev, sc[0, j])
        i1 = np.searchsorted(ev, sc[1, j])
        tests += i1 - i0
        ddx = sc[4, j]
        ddy = sc[5, j]
        num = sc[6, j]
        for i in range(i0, i1):
            t = num / (sc[7, i] * ddy - sc[8, i] * ddx)
            if t < best_t[i]:
                best_t[i] = t
                best_j[i] = j
    return tests


@njit(cache=True, inline="always")
def _open_from(nxt, i):
    """First interval at or after ``i`` not yet closed (path-compressed skip list)."""
    root = i
    while nxt[root] != root:
        root = nxt[root]
    while nxt[i] != root:
        nxt[i], i = root, nxt[i]
    return root


@njit(cache=True)
def _sweep_near_to_far(npc, ev, sc, best_t, best_j, nxt):
    """:func:`_sweep` visiting pieces by increasing distance and skipping intervals already
    closed nearer than the piece (row 9 of ``sc``: squared distance of the piece's wall)."""
    nint = ev.shape[0] - 1
    for i in range(nint + 1):
        nxt[i] = i
    tests = 0
    for j in np.argsort(sc[9, :npc]):
        dmin = math.sqrt(sc[9, j])
        i1 = np.searchsorted(ev, sc[1, j])
        i = _open_from(nxt, np.searchsorted(ev, sc[0, j]))
        ddx = sc[4, j]
        ddy = sc[5, j]
        num = sc[6, j]
        while i < i1:
            if best_t[i] <= dmin:  # nothing from here on can be nearer: close it
                nxt[i] = i + 1
            else:
                tests += 1
                t = num / (sc[7, i] * ddy - sc[8, i] * ddx)
                if t < best_t[i]:
                    best_t[i] = t
                    best_j[i] = j
            i = _open_from(nxt, i + 1)
    return tests


@njit(cache=True)
def region(th0, fov, radius, arc_step, npc, sc, seg, events, best_t, best_j, nxt, out_phi,
           out_r, base):
    """Boundary of one view's region from its ``npc`` wall pieces into ``out_*[base:]``.

    Returns ``(n_points, edge_tests)``.
    """
    nev = 0
    events[nev] = 0.0
    events[nev + 1] = fov
    nev = 2
    for j in range(npc):
        events[nev] = sc[0, j]
        events[nev + 1] = sc[1, j]
        nev += 2
    ev = events[:nev]
    ev.sort()
    m = 1
    for i in range(1, nev):
        if ev[i] != ev[m - 1]:
            ev[m] = ev[i]
            m += 1
    nint = m - 1
    for i in range(nint):
        best_t[i] = np.inf
        best_j[i] = -1
        a = th0 + 0.5 * (ev[i] + ev[i + 1])
        sc[7, i] = math.cos(a)
        sc[8, i] = math.sin(a)
    if npc >= SORTED_SWEEP_MIN:
        tests = _sweep_near_to_far(npc, ev[:m], sc, best_t, best_j, nxt)
    else:
        tests = _sweep(npc, ev[:m], sc, best_t, best_j)
    n = 0
    prev_seg = -1
    for i in range(nint):
        j = best_j[i]
        if j < 0:  # range arc: samples at whole multiples of the step, plus both ends
            n = _emit(ev[i], radius, out_phi, out_r, base, n)
            q = math.floor(ev[i] / arc_step) + 1
            while q * arc_step < ev[i + 1]:
                n = _emit(q * arc_step, radius, out_phi, out_r, base, n)
                q += 1
            n = _emit(ev[i + 1], radius, out_phi, out_r, base, n)
            prev_seg = -1
            continue
        s = seg[j]
        if s == prev_seg and n >= 2 and out_phi[base + n - 1] == ev[i]:
            n -= 1  # same straight wall continues: drop the collinear middle point
        else:
            n = _emit(ev[i], _radius_on(sc, j, ev[i], th0, 0), out_phi, out_r, base, n)
        n = _emit(ev[i + 1], _radius_on(sc, j, ev[i + 1], th0, 1), out_phi, out_r, base, n)
        prev_seg = s
    return n, tests


@njit(cache=True)
def view_capacity(load, fov, arc_step):
    """Upper bound on the boundary points of a view with ``load`` gathered edges."""
    return 3 * (4 * load + 2) + math.ceil(fov / arc_step) + 8


@njit(cache=True)
def view_loads(x, y, th0, fov, radius, pad, gx0, gy0, inv, nx, ny, start):
    """Per view: the grid load under its padded sector box (bounds the walls it can read) and
    the number of cells under its (nudged) sector box."""
    n = x.shape[0]
    load = np.empty(n, np.int64)
    cells = np.empty(n, np.int64)
    for v in range(n):
        x0, y0, x1, y1 = sector_box(x[v], y[v], th0[v], fov[v], radius[v])
        x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
        load[v] = box_cell_load(x0, y0, x1, y1, gx0, gy0, inv, nx, ny, start)
        i0, j0, i1, j1 = _box_cells(x0, y0, x1, y1, gx0, gy0, inv, nx, ny)
        cells[v] = (i1 - i0 + 1) * (j1 - j0 + 1)
    return load, cells


@njit(cache=True)
def _one_view(v, x, y, th0, fov, radius, directed, ax, ay, bx, by, epoly, poff, gx0, gy0, inv,
              nx, ny, start, items, offset, max_nudge, arc_step, gidx, sc, seg, events,
              best_t, best_j, nxt, occ, hid, cone, sp, sr, out_phi, out_r, base, limit, out_n,
              out_status, out_x, out_y, out_tests):
    cx, cy, f, r = x[v], y[v], fov[v], radius[v]
    pad = max_nudge + offset
    x0, y0, x1, y1 = sector_box(cx, cy, th0[v], f, r)
    small = ring_count(cx, cy, x0, y0, x1, y1, gx0, gy0, inv, nx, ny) <= CELL_TEST_RING
    if small:  # one gather serves the nudge and the pieces
        x0, y0, x1, y1 = min(x0, cx - pad), min(y0, cy - pad), max(x1, cx + pad), max(y1, cy + pad)
    else:  # the nudge needs only the walls around the camera
        x0, y0, x1, y1 = cx - pad, cy - pad, cx + pad, cy + pad
    ng = gather(x0, y0, x1, y1, ax, ay, bx, by, gx0, gy0, inv, nx, ny, start, items, gidx)
    mid = th0[v] + 0.5 * f
    nxc, nyc, status = nudge(cx, cy, math.cos(mid), math.sin(mid), directed[v], ax, ay, bx, by,
                             epoly, poff, gidx, ng, offset, max_nudge, gx0, gy0, inv, nx, ny,
                             start, items)
    out_status[v] = status
    out_x[v] = nxc
    out_y[v] = nyc
    if status == STATUS_INSIDE:
        out_n[v] = 0
        out_tests[v] = 0
        return
    if small and status == STATUS_NUDGED:
        x0, y0, x1, y1 = sector_box(nxc, nyc, th0[v], f, r)
        ng = gather(x0, y0, x1, y1, ax, ay, bx, by, gx0, gy0, inv, nx, ny, start, items, gidx)
    if small:
        npc = pieces_of(gidx, ng, nxc, nyc, th0[v], f, r, ax, ay, bx, by, sc, seg, occ, cone)
    else:
        npc = collect(nxc, nyc, th0[v], f, r, ax, ay, bx, by, gx0, gy0, inv, nx, ny, start,
                      items, sc, seg, occ, hid, cone)
    n, tests = region(th0[v], f, r, arc_step, npc, sc, seg, events, best_t, best_j, nxt, sp, sr,
                      0)
    out_tests[v] = tests
    if n > limit:
        out_n[v] = -n  # does not fit the slot: recomputed with a larger one
        return
    out_n[v] = n
    for q in range(n):
        out_phi[base + q] = sp[q]
        out_r[base + q] = sr[q]


@njit(cache=True, parallel=True)
def run_views(x, y, th0, fov, radius, directed, loads, cells, caps, order, ax, ay, bx, by, epoly,
              poff, gx0, gy0, inv, nx, ny, start, items, offset, max_nudge, arc_step, nblocks):
    """Compute every view into slots of a padded buffer (``caps`` = CSR of slot offsets).

    Views are visited in ``order`` (spatially sorted) and written to their own slots. A view
    whose boundary does not fit its slot gets ``out_n = -points`` and no output.
    """
    n = x.shape[0]
    total = caps[n]
    out_phi = np.empty(total, np.float64)
    out_r = np.empty(total, np.float64)
    out_n = np.zeros(n, np.int64)
    out_status = np.zeros(n, np.int8)
    out_x = np.empty(n, np.float64)
    out_y = np.empty(n, np.float64)
    out_tests = np.zeros(n, np.int64)
    for b in prange(nblocks):
        lo = b * n // nblocks
        hi = (b + 1) * n // nblocks
        if hi <= lo:
            continue
        kmax = 1
        for q in range(lo, hi):
            kmax = max(kmax, loads[order[q]])
        gidx = np.empty(kmax, np.int64)
        sc = np.empty((10, 4 * kmax + 4), np.float64)
        seg = np.empty(4 * kmax + 4, np.int64)
        events = np.empty(4 * kmax + 4, np.float64)
        best_t = np.empty(4 * kmax + 4, np.float64)
        best_j = np.empty(4 * kmax + 4, np.int64)
        nxt = np.empty(4 * kmax + 4, np.int64)
        occ = np.empty(OCC_BINS, np.float64)
        cmax = 1
        for q in range(lo, hi):
            cmax = max(cmax, cells[order[q]])
        hid = np.empty(cmax, np.bool_)
        cone = np.empty(5, np.float64)
        cap = view_capacity(kmax, TWO_PI, arc_step)
        sp = np.empty(cap, np.float64)
        sr = np.empty(cap, np.float64)
        for q in range(lo, hi):
            v = order[q]  # spatially sorted: neighbouring views share cached walls
            _one_view(v, x, y, th0, fov, radius, directed, ax, ay, bx, by, epoly, poff, gx0,
                      gy0, inv, nx, ny, start, items, offset, max_nudge, arc_step, gidx, sc, seg,
                      events, best_t, best_j, nxt, occ, hid, cone, sp, sr, out_phi, out_r,
                      caps[v],
                      caps[v + 1] - caps[v], out_n, out_status, out_x, out_y, out_tests)
    return out_phi, out_r, out_n, out_status, out_x, out_y, out_tests


@njit(cache=True)
def compact(out_phi, out_r, caps, out_n):
    """Copy the used part of each padded slot into dense CSR arrays."""
    n = out_n.shape[0]
    offsets = np.zeros(n + 1, np.int64)
    for v in range(n):
        offsets[v + 1] = offsets[v] + max(out_n[v], 0)
    phi = np.empty(offsets[n], np.float64)
    rad = np.empty(offsets[n], np.float64)
    for v in range(n):
        src = caps[v]
        dst = offsets[v]
        for k in range(max(out_n[v], 0)):
            phi[dst + k] = out_phi[src + k]
            rad[dst + k] = out_r[src + k]
    return offsets, phi, rad
