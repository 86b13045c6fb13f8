"""numba helpers over star-shaped regions stored as CSR (angle, radius) arrays (private)."""

from __future__ import annotations

import math

import numpy as np

from survatlas.coverage._jit import njit, prange
from survatlas.coverage._raster import cross_edge

TWO_PI = 2.0 * math.pi
FULL = TWO_PI - 1e-9


@njit(cache=True)
def _pt(v, k, cx, cy, th0, phi, rad):
    a = th0[v] + phi[k]
    return cx[v] + rad[k] * math.cos(a), cy[v] + rad[k] * math.sin(a)


@njit(cache=True)
def areas(offsets, phi, rad, fov):
    """Area of each view's region: sum of fan triangles between consecutive boundary points."""
    n = offsets.shape[0] - 1
    out = np.zeros(n)
    for v in range(n):
        s = 0.0
        for k in range(offsets[v], offsets[v + 1] - 1):
            s += rad[k] * rad[k + 1] * math.sin(phi[k + 1] - phi[k])
        out[v] = 0.5 * s
    return out


@njit(cache=True)
def contains_one(v, px, py, offsets, phi, rad, cx, cy, th0, fov):
    """Whether point (px, py) lies in region ``v`` (closed boundary)."""
    o0 = offsets[v]
    o1 = offsets[v + 1]
    if o1 - o0 < 2:
        return False
    dx = px - cx[v]
    dy = py - cy[v]
    if dx == 0.0 and dy == 0.0:
        return True
    a = (math.atan2(dy, dx) - th0[v]) % TWO_PI
    if a > phi[o1 - 1]:
        # beyond the last ray: only a full circle closes back to its first ray
        if fov[v] < FULL:
            return False
        a = phi[o1 - 1]
    k = np.searchsorted(phi[o0:o1], a, side="right") - 1 + o0
    if k >= o1 - 1:
        k = o1 - 2
    if k < o0:
        k = o0
    x0, y0 = _pt(v, k, cx, cy, th0, phi, rad)
    x1, y1 = _pt(v, k + 1, cx, cy, th0, phi, rad)
    # inside the fan triangle (camera, P_k, P_k+1) iff on the camera's side of P_k→P_k+1
    return (x1 - x0) * (py - y0) - (y1 - y0) * (px - x0) >= -1e-9 * (1.0 + rad[k] + rad[k + 1])


@njit(cache=True)
def contains_pairs(views, px, py, offsets, phi, rad, cx, cy, th0, fov):
    """``contains_one`` for each (view, point) pair."""
    out = np.zeros(views.shape[0], np.bool_)
    for i in range(views.shape[0]):
        out[i] = contains_one(views[i], px[i], py[i], offsets, phi, rad, cx, cy, th0, fov)
    return out


@njit(cache=True)
def _clip_half(t0, t1, ax, ay, dx, dy, ox, oy, nx, ny):
    """Restrict segment parameters [t0, t1] to the half-plane (p − o)·n ≥ 0."""
    f0 = (ax - ox) * nx + (ay - oy) * ny
    fd = dx * nx + dy * ny
    if fd == 0.0:
        return (t0, t1) if f0 >= 0.0 else (1.0, 0.0)
    t = -f0 / fd
    if fd > 0.0:
        return max(t0, t), t1
    return t0, min(t1, t)


@njit(cache=True, inline="always")
def clip_fan(ax, ay, dx, dy, ox, oy, x0, y0, x1, y1):
    """Parameter interval ``(t0, t1)`` of segment ``a + t·d`` inside the counter-clockwise fan
    triangle (o, p0, p1): the left side of each edge is kept (empty when ``t1 <= t0``)."""
    t0, t1 = _clip_half(0.0, 1.0, ax, ay, dx, dy, ox, oy, -(y0 - oy), x0 - ox)
    t0, t1 = _clip_half(t0, t1, ax, ay, dx, dy, x0, y0, -(y1 - y0), x1 - x0)
    return _clip_half(t0, t1, ax, ay, dx, dy, x1, y1, -(oy - y1), ox - x1)


@njit(cache=True)
def clip_one(v, ax, ay, bx, by, offsets, phi, rad, cx, cy, th0, out_t0, out_t1, base):
    """Parameter intervals of segment a→b inside region ``v``, merged, into ``out_*[base:]``."""
    n = 0
    dx = bx - ax
    dy = by - ay
    ox = cx[v]
    oy = cy[v]
    for k in range(offsets[v], offsets[v + 1] - 1):
        if phi[k + 1] == phi[k]:
            continue
        x0, y0 = _pt(v, k, cx, cy, th0, phi, rad)
        x1, y1 = _pt(v, k + 1, cx, cy, th0, phi, rad)
        t0, t1 = clip_fan(ax, ay, dx, dy, ox, oy, x0, y0, x1, y1)
        if t1 <= t0:
            continue
        if n > 0 and t0 <= out_t1[base + n - 1] + 1e-12 and t1 >= out_t0[base + n - 1] - 1e-12:
            out_t0[base + n - 1] = min(out_t0[base + n - 1], t0)
            out_t1[base + n - 1] = max(out_t1[base + n - 1], t1)
        else:
            out_t0[base + n] = t0
            out_t1[base + n] = t1
            n += 1
    return _sort_merge(out_t0, out_t1, base, n)


@njit(cache=True)
def _sort_merge(t0, t1, base, n):
    """Sort ``n`` intervals at ``base`` by start (insertion sort: few) and merge touching ones."""
    for i in range(base + 1, base + n):
        a, b = t0[i], t1[i]
        j = i - 1
        while j >= base and t0[j] > a:
            t0[j + 1], t1[j + 1] = t0[j], t1[j]
            j -= 1
        t0[j + 1], t1[j + 1] = a, b
    m = 0
    for i in range(base, base + n):
        if m > 0 and t0[i] <= t1[base + m - 1] + 1e-12:
            t1[base + m - 1] = max(t1[base + m - 1], t1[i])
        else:
            t0[base + m], t1[base + m] = t0[i], t1[i]
            m += 1
    return m


@njit(cache=True, parallel=True)
def clip_pairs(views, ax, ay, bx, by, offsets, phi, rad, cx, cy, th0):
    """Intervals of each (view, segment) pair, as CSR ``(offsets, t0, t1)``."""
    m = views.shape[0]
    caps = pair_slots(views, offsets)
    t0 = np.empty(caps[m])
    t1 = np.empty(caps[m])
    cnt = np.zeros(m, np.int64)
    for i in prange(m):
        cnt[i] = clip_one(views[i], ax[i], ay[i], bx[i], by[i], offsets, phi, rad, cx, cy, th0,
                          t0, t1, caps[i])
    return pack_pairs(caps, cnt, t0, t1)


@njit(cache=True)
def pair_slots(views, offsets):
    """CSR of padded interval slots per (view, segment) pair: a region of ``k`` points cuts a
    segment into at most ``max(k, 1)`` intervals."""
    m = views.shape[0]
    caps = np.zeros(m + 1, np.int64)
    for i in range(m):
        caps[i + 1] = caps[i] + max(offsets[views[i] + 1] - offsets[views[i]], 1)
    return caps


@njit(cache=True, parallel=True)
def pack_pairs(caps, cnt, t0, t1):
    """Dense CSR ``(offsets, t0, t1)`` from the first ``cnt[i]`` intervals of each padded slot."""
    m = cnt.shape[0]
    out_off = np.zeros(m + 1, np.int64)
    for i in range(m):
        out_off[i + 1] = out_off[i] + cnt[i]
    r0 = np.empty(out_off[m])
    r1 = np.empty(out_off[m])
    for i in prange(m):
        for k in range(cnt[i]):
            r0[out_off[i] + k] = t0[caps[i] + k]
            r1[out_off[i] + k] = t1[caps[i] + k]
    return out_off, r0, r1


@njit(cache=True)
def merge_sorted(group, t0, t1):
    """Merge overlapping intervals of each group (inputs sorted by group, then t0)."""
    n = group.shape[0]
    g = np.empty(n, group.dtype)
    a = np.empty(n)
    b = np.empty(n)
    m = 0
    for i in range(n):
        if m > 0 and g[m - 1] == group[i] and t0[i] <= b[m - 1]:
            b[m - 1] = max(b[m - 1], t1[i])
        else:
            g[m] = group[i]
            a[m] = t0[i]
            b[m] = t1[i]
            m += 1
    return g[:m], a[:m], b[:m]


@njit(cache=True, parallel=True)
def raster_counts(diff, offsets, phi, rad, cx, cy, th0, fov, vx0, vy0, vx1, vy1,
                  gx0, gy0, cell, nx, ny, nbands):
    """Number of views whose region holds each cell centre of an ``ny × nx`` grid, written
    into ``diff`` (int32, zeros on entry; the caller allocates it, see
    :func:`~survatlas.coverage._raster.zeroed`).

    Scan-line fill of every region's polygon (``camera, P_0 … P_k-1`` for sectors, ``P_0 …
    P_k-1`` for full circles, as :meth:`Regions.to_polygons` builds it): each edge adds winding
    steps to a difference grid only in the rows it crosses, and one running sum per row turns
    them into counts — O(edges + crossings + cells), no per-cell or per-row polygon test. Cell
    centres on a slanted or vertical edge are counted (closed, as the clipping functions).
    Rows are cut into ``nbands`` bands filled in parallel.
    """
    n = offsets.shape[0] - 1
    xmax = gx0 + nx * cell
    for b in prange(nbands):
        r0 = b * ny // nbands
        r1 = (b + 1) * ny // nbands
        if r1 <= r0:
            continue
        ylo = gy0 + r0 * cell
        yhi = gy0 + r1 * cell
        for v in range(n):
            if vy1[v] < ylo or vy0[v] > yhi or vx0[v] > xmax or vx1[v] < gx0:
                continue
            o0, o1 = offsets[v], offsets[v + 1]
            full = fov[v] >= FULL
            if o1 - o0 < (3 if full else 2):
                continue
            if full:
                px, py = _pt(v, o1 - 1, cx, cy, th0, phi, rad)
            else:
                px, py = cx[v], cy[v]
            for k in range(o0, o1):
                qx, qy = _pt(v, k, cx, cy, th0, phi, rad)
                cross_edge(diff, px, py, qx, qy, gx0, gy0, cell, nx, r0, r1)
                px, py = qx, qy
            if not full:
                cross_edge(diff, px, py, cx[v], cy[v], gx0, gy0, cell, nx, r0, r1)
        for j in range(r0, r1):
            for i in range(1, nx):
                diff[j, i] += diff[j, i - 1]


@njit(cache=True)
def region_boxes(offsets, phi, rad, cx, cy, th0, fov):
    """Bounding box of each region (the camera included for sectors)."""
    n = offsets.shape[0] - 1
    box = np.empty((n, 4))
    for v in range(n):
        x0 = x1 = cx[v]
        y0 = y1 = cy[v]
        for k in range(offsets[v], offsets[v + 1]):
            px, py = _pt(v, k, cx, cy, th0, phi, rad)
            x0, x1, y0, y1 = min(x0, px), max(x1, px), min(y0, py), max(y1, py)
        box[v, 0], box[v, 1], box[v, 2], box[v, 3] = x0, y0, x1, y1
    return box
