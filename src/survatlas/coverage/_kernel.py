"""numba core of the exact visibility kernel (private; see :mod:`survatlas.coverage.visibility`).

Per view (camera position, start bearing ``th0`` in math radians, field of view ``fov``, range
``R``):

1. nudge the camera out of a wall it sits on or just inside (status 1), or give up when it is
   deep inside a footprint (status 2, empty region) — :mod:`._inside`;
2. candidate walls as angular pieces ``[lo, hi]`` counter-clockwise from ``th0``: front faces
   only, clipped to the range disc and the field of view, provably hidden ones dropped —
   :mod:`._walls`;
3. the piece end angles cut the view into intervals in which the nearest wall cannot change
   (walls do not cross after :func:`prepare_obstacles`); one ray per interval, tested only against
   the pieces spanning it, finds that wall;
4. emit the boundary: the exact wall end points of each interval, or arc samples at whole
   multiples of ``arc_step`` where no wall is in range.

The output is a star-shaped polygon around the camera as (angle, radius) pairs with
non-decreasing angles from 0 to ``fov``; two points with the same angle are a radial jump.
"""

from __future__ import annotations

import math

import numpy as np

from survatlas.coverage._inside import STATUS_INSIDE, STATUS_NUDGED, nudge
from survatlas.coverage._jit import njit, prange
from survatlas.coverage._walls import (
    CELL_TEST_RING,
    OCC_BINS,
    TWO_PI,
    box_cell_load,
    box_cells,
    collect,
    gather,
    pieces_of,
    ring_count,
    sector_box,
)

#: Views with at least this many wall pieces sweep them near to far, skipping closed intervals.
SORTED_SWEEP_MIN = 64


@njit(cache=True, inline="always")
def emit(phi, r, out_phi, out_r, base, n):
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
def interval_ends(npc, sc, fov, events):
    """Sorted distinct interval ends of a view into ``events``: 0, ``fov`` and the ends of the
    ``npc`` pieces (rows 0 and 1 of ``sc``); returns how many."""
    events[0] = 0.0
    events[1] = fov
    n = 2
    for j in range(npc):
        events[n] = sc[0, j]
        events[n + 1] = sc[1, j]
        n += 2
    ev = events[:n]
    ev.sort()
    m = 1
    for i in range(1, n):
        if ev[i] != ev[m - 1]:
            ev[m] = ev[i]
            m += 1
    return m


@njit(cache=True)
def region(th0, fov, radius, arc_step, npc, sc, seg, events, best_t, best_j, nxt, out_phi,
           out_r, base):
    """Boundary of one view's region from its ``npc`` wall pieces into ``out_*[base:]``.

    Returns ``(n_points, edge_tests)``.
    """
    m = interval_ends(npc, sc, fov, events)
    ev = events[:m]
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
            n = emit(ev[i], radius, out_phi, out_r, base, n)
            q = math.floor(ev[i] / arc_step) + 1
            while q * arc_step < ev[i + 1]:
                n = emit(q * arc_step, radius, out_phi, out_r, base, n)
                q += 1
            n = emit(ev[i + 1], radius, out_phi, out_r, base, n)
            prev_seg = -1
            continue
        s = seg[j]
        if s == prev_seg and n >= 2 and out_phi[base + n - 1] == ev[i]:
            n -= 1  # same straight wall continues: drop the collinear middle point
        else:
            n = emit(ev[i], _radius_on(sc, j, ev[i], th0, 0), out_phi, out_r, base, n)
        n = emit(ev[i + 1], _radius_on(sc, j, ev[i + 1], th0, 1), out_phi, out_r, base, n)
        prev_seg = s
    return n, tests


@njit(cache=True)
def view_capacity(load, fov, arc_step):
    """Upper bound on the boundary points of a view with ``load`` gathered edges."""
    return 3 * (4 * load + 2) + math.ceil(fov / arc_step) + 8


@njit(cache=True, parallel=True)
def view_loads(x, y, th0, fov, radius, pad, gx0, gy0, inv, nx, ny, start):
    """Per view: the grid load under its padded sector box (bounds the walls it can read) and
    the number of cells under its (nudged) sector box."""
    n = x.shape[0]
    load = np.empty(n, np.int64)
    cells = np.empty(n, np.int64)
    for v in prange(n):
        x0, y0, x1, y1 = sector_box(x[v], y[v], th0[v], fov[v], radius[v])
        x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
        load[v] = box_cell_load(x0, y0, x1, y1, gx0, gy0, inv, nx, ny, start)
        i0, j0, i1, j1 = box_cells(x0, y0, x1, y1, gx0, gy0, inv, nx, ny)
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


@njit(cache=True, inline="always")
def view_block(b, n, nblocks, loads, order):
    """Views ``order[lo:hi]`` of block ``b`` of ``nblocks`` and the largest wall load among
    them (sizes the block's scratch arrays)."""
    lo = b * n // nblocks
    hi = (b + 1) * n // nblocks
    kmax = 1
    for q in range(lo, hi):
        kmax = max(kmax, loads[order[q]])
    return lo, hi, kmax


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
        lo, hi, kmax = view_block(b, n, nblocks, loads, order)
        if hi <= lo:
            continue
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


@njit(cache=True, parallel=True)
def compact(out_phi, out_r, caps, out_n):
    """Copy the used part of each padded slot into dense CSR arrays."""
    n = out_n.shape[0]
    offsets = np.zeros(n + 1, np.int64)
    for v in range(n):
        offsets[v + 1] = offsets[v] + max(out_n[v], 0)
    phi = np.empty(offsets[n], np.float64)
    rad = np.empty(offsets[n], np.float64)
    for v in prange(n):
        src = caps[v]
        dst = offsets[v]
        for k in range(max(out_n[v], 0)):
            phi[dst + k] = out_phi[src + k]
            rad[dst + k] = out_r[src + k]
    return offsets, phi, rad
