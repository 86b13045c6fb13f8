"""Candidate walls of a view (private; numba): grid gathering, clipping, occlusion culling.

A wall becomes an angular *piece* ``[lo, hi]`` (radians counter-clockwise from the view's start
bearing ``th0``) when it faces the camera (back faces culled: rings are oriented), lies within
the range disc and the field of view, and is not provably hidden behind nearer walls. Piece
table ``sc`` rows: 0 lo, 1 hi, 2 radius at lo (or -1), 3 radius at hi (or -1), 4–5 wall
direction, 6 ``q0 × d`` (for ray hits), 9 squared distance of the wall; ``seg`` holds the wall id.
"""

from __future__ import annotations

import math

import numpy as np

from survatlas.coverage._grid import cell_of
from survatlas.coverage._jit import njit

TWO_PI = 2.0 * math.pi
FULL_CIRCLE_EPS = 1e-9


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
def box_cells(x0, y0, x1, y1, gx0, gy0, inv, nx, ny):
    return (cell_of(x0, gx0, inv, nx), cell_of(y0, gy0, inv, ny),
            cell_of(x1, gx0, inv, nx), cell_of(y1, gy0, inv, ny))


@njit(cache=True)
def box_cell_load(x0, y0, x1, y1, gx0, gy0, inv, nx, ny, start):
    """Number of (cell, edge) entries in the cells under a box: a bound on gathered edges."""
    i0, j0, i1, j1 = box_cells(x0, y0, x1, y1, gx0, gy0, inv, nx, ny)
    total = 0
    for j in range(j0, j1 + 1):
        total += start[j * nx + i1 + 1] - start[j * nx + i0]
    return total


@njit(cache=True)
def gather(x0, y0, x1, y1, ax, ay, bx, by, gx0, gy0, inv, nx, ny, start, items, out):
    """Write the ids of edges whose box meets the query box into ``out``; return their count."""
    i0, j0, i1, j1 = box_cells(x0, y0, x1, y1, gx0, gy0, inv, nx, ny)
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
def seg_dist2(px, py, ax, ay, bx, by):
    dx = bx - ax
    dy = by - ay
    ll = dx * dx + dy * dy
    s = ((px - ax) * dx + (py - ay) * dy) / ll if ll > 0.0 else 0.0
    s = min(max(s, 0.0), 1.0)
    qx = ax + s * dx - px
    qy = ay + s * dy - py
    return qx * qx + qy * qy


@njit(cache=True, inline="always")
def _wrap(a):
    a = a % TWO_PI
    if a >= TWO_PI:
        a -= TWO_PI
    return a


@njit(cache=True)
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


@njit(cache=True)
def _hidden(lo, hi, d2min, occ, binw):
    """Whether every bin overlapping ``[lo, hi]`` is closed nearer than ``d2min`` (squared)."""
    b1 = min(int(hi / binw), occ.shape[0] - 1)
    for b in range(int(lo / binw), b1 + 1):  # noqa: SIM110 (numba: no generators)
        if occ[b] >= d2min:
            return False
    return True


@njit(cache=True)
def _occlude(lo, hi, r2max, occ, binw):
    """Close the bins lying wholly inside ``[lo, hi]`` beyond squared distance ``r2max``."""
    b1 = min(math.floor(hi / binw) - 1, occ.shape[0] - 1)
    for b in range(math.ceil(lo / binw), b1 + 1):
        if r2max < occ[b]:
            occ[b] = r2max


@njit(cache=True)
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
def outside_cone(pax, pay, pbx, pby, cone):
    """Whether the wall from ``pa`` to ``pb`` (relative to the camera) lies wholly on the outer
    side of one boundary ray of a view of at most 180° (``cone`` from :func:`set_cone`)."""
    sx, sy, ex, ey = cone[0], cone[1], cone[2], cone[3]
    return cone[4] > 0.0 and ((sx * pay - sy * pax < 0.0 and sx * pby - sy * pbx < 0.0)
                              or (pax * ey - pay * ex < 0.0 and pbx * ey - pby * ex < 0.0))


@njit(cache=True)
def _edge_pieces(e, cx, cy, th0, fov, r2, cone, ax, ay, bx, by, sc, seg, npc, occ, use_occ):
    """Append the pieces of wall ``e`` that face the camera, are in range and in view and (with
    ``use_occ``) not hidden behind nearer walls (occlusion buffer ``occ``); return the count."""
    pax = ax[e] - cx
    pay = ay[e] - cy
    pbx = bx[e] - cx
    pby = by[e] - cy
    if pax * pby - pay * pbx >= 0.0:  # back face, or seen edge-on
        return npc
    if outside_cone(pax, pay, pbx, pby, cone):
        return npc
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
    d2min = seg_dist2(0.0, 0.0, q0x, q0y, q1x, q1y)
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
def set_cone(th0, fov, cone):
    """Unit vectors of the view's two boundary rays, and whether the view is at most 180°."""
    cone[0], cone[1] = math.cos(th0), math.sin(th0)
    cone[2], cone[3] = math.cos(th0 + fov), math.sin(th0 + fov)
    cone[4] = 1.0 if fov <= math.pi else 0.0


@njit(cache=True)
def pieces_of(gidx, ng, cx, cy, th0, fov, radius, ax, ay, bx, by, sc, seg, occ, cone):
    """Visible-candidate wall pieces of a small view from its gathered walls (no buffer)."""
    set_cone(th0, fov, cone)
    npc = 0
    for k in range(ng):
        npc = _edge_pieces(gidx[k], cx, cy, th0, fov, radius * radius, cone, ax, ay, bx, by,
                           sc, seg, npc, occ, False)
    return npc


@njit(cache=True)
def ring_count(cx, cy, x0, y0, x1, y1, gx0, gy0, inv, nx, ny):
    """Number of grid rings around the camera's cell needed to cover a box."""
    i0, j0, i1, j1 = box_cells(x0, y0, x1, y1, gx0, gy0, inv, nx, ny)
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
    qi0, qj0, qi1, qj1 = box_cells(qx0, qy0, qx1, qy1, gx0, gy0, inv, nx, ny)
    ci = cell_of(cx, gx0, inv, nx)
    cj = cell_of(cy, gy0, inv, ny)
    set_cone(th0, fov, cone)
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
