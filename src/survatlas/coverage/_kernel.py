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


@njit(cache=True)
def _add_piece(j, lo, hi, rlo, rhi, ddx, ddy, num, seg, s, sc):
    """Append angular piece ``[lo, hi]`` of segment ``s`` to the piece table ``sc`` at row j."""
    sc[0, j] = lo
    sc[1, j] = hi
    sc[2, j] = rlo
    sc[3, j] = rhi
    sc[4, j] = ddx
    sc[5, j] = ddy
    sc[6, j] = num
    seg[j] = s
    return j + 1


@njit(cache=True)
def _pieces(cx, cy, th0, fov, radius, ax, ay, bx, by, gidx, ng, sc, seg):
    """Front-facing edges clipped to the disc and the field of view, as angular pieces."""
    r2 = radius * radius
    npc = 0
    narrow = fov <= math.pi
    sx, sy = math.cos(th0), math.sin(th0)
    ex, ey = math.cos(th0 + fov), math.sin(th0 + fov)
    for k in range(ng):
        e = gidx[k]
        pax = ax[e] - cx
        pay = ay[e] - cy
        pbx = bx[e] - cx
        pby = by[e] - cy
        if pax * pby - pay * pbx >= 0.0:  # back face, or seen edge-on
            continue
        if narrow and ((sx * pay - sy * pax < 0.0 and sx * pby - sy * pbx < 0.0)
                       or (pax * ey - pay * ex < 0.0 and pbx * ey - pby * ex < 0.0)):
            continue  # wholly on the outer side of one boundary ray of the sector
        # front face: seen from the camera the wall runs counter-clockwise from b to a
        ok, q0x, q0y, q1x, q1y = _clip_to_disc(pbx, pby, pax, pay, r2)
        if not ok:
            continue
        lo = _wrap(math.atan2(q0y, q0x) - th0)
        hi = _wrap(math.atan2(q1y, q1x) - th0)
        if lo == hi:
            continue
        ddx = q1x - q0x
        ddy = q1y - q0y
        num = q0x * ddy - q0y * ddx
        r0 = math.sqrt(q0x * q0x + q0y * q0y)
        r1 = math.sqrt(q1x * q1x + q1y * q1y)
        if hi > lo:
            if lo < fov:
                h = min(hi, fov)
                npc = _add_piece(npc, lo, h, r0, r1 if h == hi else -1.0, ddx, ddy, num,
                                 seg, k, sc)
        else:  # wraps through the start bearing
            if lo < fov:
                npc = _add_piece(npc, lo, fov, r0, -1.0, ddx, ddy, num, seg, k, sc)
            if hi > 0.0:
                h = min(hi, fov)
                npc = _add_piece(npc, 0.0, h, -1.0, r1 if h == hi else -1.0, ddx, ddy, num,
                                 seg, k, sc)
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
def region(cx, cy, th0, fov, radius, arc_step, gidx, ng, ax, ay, bx, by,
           sc, seg, events, best_t, best_j, out_phi, out_r, base):
    """Boundary of one view's visible region into ``out_*[base:]``: ``(n_points, edge_tests)``."""
    npc = _pieces(cx, cy, th0, fov, radius, ax, ay, bx, by, gidx, ng, sc, seg)
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
    tests = 0
    for j in range(npc):
        i0 = np.searchsorted(ev[:m], sc[0, j])
        i1 = np.searchsorted(ev[:m], sc[1, j])
        tests += i1 - i0
        ddx = sc[4, j]
        ddy = sc[5, j]
        num = sc[6, j]
        for i in range(i0, i1):
            t = num / (sc[7, i] * ddy - sc[8, i] * ddx)
            if t < best_t[i]:
                best_t[i] = t
                best_j[i] = j
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
    """Per view, the grid load under its (padded) sector box: bounds the gathered edge count."""
    n = x.shape[0]
    out = np.empty(n, np.int64)
    for v in range(n):
        x0, y0, x1, y1 = sector_box(x[v], y[v], th0[v], fov[v], radius[v])
        out[v] = box_cell_load(min(x0, x[v] - pad), min(y0, y[v] - pad), max(x1, x[v] + pad),
                               max(y1, y[v] + pad), gx0, gy0, inv, nx, ny, start)
    return out


@njit(cache=True)
def _one_view(v, x, y, th0, fov, radius, directed, ax, ay, bx, by, epoly, poff, gx0, gy0, inv,
              nx, ny, start, items, offset, max_nudge, arc_step, gidx, sc, seg, events,
              best_t, best_j, sp, sr, out_phi, out_r, base, limit, out_n, out_status, out_x,
              out_y, out_tests):
    cx, cy, f, r = x[v], y[v], fov[v], radius[v]
    pad = max_nudge + offset
    x0, y0, x1, y1 = sector_box(cx, cy, th0[v], f, r)
    ng = gather(min(x0, cx - pad), min(y0, cy - pad), max(x1, cx + pad), max(y1, cy + pad),
                ax, ay, bx, by, gx0, gy0, inv, nx, ny, start, items, gidx)
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
    if status == STATUS_NUDGED:
        x0, y0, x1, y1 = sector_box(nxc, nyc, th0[v], f, r)
        ng = gather(x0, y0, x1, y1, ax, ay, bx, by, gx0, gy0, inv, nx, ny, start, items, gidx)
    n, tests = region(nxc, nyc, th0[v], f, r, arc_step, gidx, ng, ax, ay, bx, by,
                      sc, seg, events, best_t, best_j, sp, sr, 0)
    out_tests[v] = tests
    if n > limit:
        out_n[v] = -n  # does not fit the slot: recomputed with a larger one
        return
    out_n[v] = n
    for q in range(n):
        out_phi[base + q] = sp[q]
        out_r[base + q] = sr[q]


@njit(cache=True, parallel=True)
def run_views(x, y, th0, fov, radius, directed, loads, caps, order, ax, ay, bx, by, epoly, poff,
              gx0, gy0, inv, nx, ny, start, items, offset, max_nudge, arc_step, nblocks):
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
        sc = np.empty((9, 4 * kmax + 4), np.float64)
        seg = np.empty(4 * kmax + 4, np.int64)
        events = np.empty(4 * kmax + 4, np.float64)
        best_t = np.empty(4 * kmax + 4, np.float64)
        best_j = np.empty(4 * kmax + 4, np.int64)
        cap = view_capacity(kmax, TWO_PI, arc_step)
        sp = np.empty(cap, np.float64)
        sr = np.empty(cap, np.float64)
        for q in range(lo, hi):
            v = order[q]  # spatially sorted: neighbouring views share cached walls
            _one_view(v, x, y, th0, fov, radius, directed, ax, ay, bx, by, epoly, poff, gx0,
                      gy0, inv, nx, ny, start, items, offset, max_nudge, arc_step, gidx, sc, seg,
                      events, best_t, best_j, sp, sr, out_phi, out_r, caps[v],
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
