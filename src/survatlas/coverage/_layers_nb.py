"""Point and segment queries on *layered* regions (2.5-D views; private, numba).

A layered region's boundary is one closed polygon through the camera whose winding number is 1
on the visible ground and 0 elsewhere (see :mod:`survatlas.coverage._kernel25`); its fan
triangles around the camera are counter-clockwise (+1) on the outer layers and clockwise (−1)
on the layers cut out of them. Views with one layer use the 2-D helpers of
:mod:`survatlas.coverage._regions_nb` unchanged.
"""

from __future__ import annotations

import numpy as np

from survatlas.coverage._jit import njit, prange
from survatlas.coverage._regions_nb import (
    _pt,
    clip_fan,
    clip_one,
    contains_one,
    pack_pairs,
    pair_slots,
)


@njit(cache=True)
def _winding(px, py, xs, ys, n):
    """Winding number of point (px, py) about the closed ring ``xs[:n], ys[:n]``."""
    w = 0
    for k in range(n):
        x0, y0 = xs[k], ys[k]
        x1, y1 = xs[(k + 1) % n], ys[(k + 1) % n]
        side = (x1 - x0) * (py - y0) - (y1 - y0) * (px - x0)
        if y0 <= py:
            if y1 > py and side > 0.0:
                w += 1
        elif y1 <= py and side < 0.0:
            w -= 1
    return w


@njit(cache=True)
def contains_layered(v, px, py, offsets, phi, rad, cx, cy, th0, fov, full):
    """Whether (px, py) lies on the visible ground of layered region ``v``."""
    o0, o1 = offsets[v], offsets[v + 1]
    n = o1 - o0
    xs = np.empty(n + 2)
    ys = np.empty(n + 2)
    m = 0
    if not full:
        xs[0], ys[0] = cx[v], cy[v]
        m = 1
    for k in range(o0, o1):
        xs[m], ys[m] = _pt(v, k, cx, cy, th0, phi, rad)
        m += 1
    return _winding(px, py, xs, ys, m) > 0


@njit(cache=True)
def contains_view(v, px, py, offsets, phi, rad, cx, cy, th0, fov, layers):
    """Point-in-region of view ``v``, layered or not."""
    if layers[v] > 1:
        return contains_layered(v, px, py, offsets, phi, rad, cx, cy, th0, fov,
                                fov[v] >= 2.0 * np.pi - 1e-9)
    return contains_one(v, px, py, offsets, phi, rad, cx, cy, th0, fov)


@njit(cache=True, parallel=True)
def contains_any(views, px, py, offsets, phi, rad, cx, cy, th0, fov, layers):
    """Point-in-region for each (view, point) pair, layered views by winding number."""
    out = np.zeros(views.shape[0], np.bool_)
    for i in prange(views.shape[0]):
        out[i] = contains_view(views[i], px[i], py[i], offsets, phi, rad, cx, cy, th0, fov,
                               layers)
    return out


@njit(cache=True)
def clip_layered(v, ax, ay, bx, by, offsets, phi, rad, cx, cy, th0, ev_t, ev_w, out_t0, out_t1,
                 base):
    """Parameter intervals of segment a→b on the visible ground of layered region ``v``:
    signed fan-triangle clips swept along the segment; returns the number written."""
    dx = bx - ax
    dy = by - ay
    ox = cx[v]
    oy = cy[v]
    ne = 0
    for k in range(offsets[v], offsets[v + 1] - 1):
        x0, y0 = _pt(v, k, cx, cy, th0, phi, rad)
        x1, y1 = _pt(v, k + 1, cx, cy, th0, phi, rad)
        cr = (x0 - ox) * (y1 - oy) - (y0 - oy) * (x1 - ox)
        if cr == 0.0:
            continue
        w = 1
        if cr < 0.0:  # clockwise: a triangle cut out; clip it counter-clockwise
            x0, y0, x1, y1 = x1, y1, x0, y0
            w = -1
        t0, t1 = clip_fan(ax, ay, dx, dy, ox, oy, x0, y0, x1, y1)
        if t1 <= t0:
            continue
        ev_t[ne], ev_w[ne] = t0, w
        ev_t[ne + 1], ev_w[ne + 1] = t1, -w
        ne += 2
    if ne == 0:
        return 0
    order = np.argsort(ev_t[:ne], kind="mergesort")
    n = 0
    depth = 0
    i = 0
    while i < ne:
        t = ev_t[order[i]]
        before = depth
        while i < ne and ev_t[order[i]] <= t + 1e-12:
            depth += ev_w[order[i]]
            i += 1
        if before <= 0 < depth:
            out_t0[base + n] = t
        elif depth <= 0 < before and t > out_t0[base + n] + 1e-12:
            if n > 0 and out_t0[base + n] <= out_t1[base + n - 1] + 1e-12:
                out_t1[base + n - 1] = t
            else:
                out_t1[base + n] = t
                n += 1
    return n


@njit(cache=True, parallel=True)
def clip_any(views, ax, ay, bx, by, offsets, phi, rad, cx, cy, th0, layers):
    """Intervals of each (view, segment) pair as CSR ``(offsets, t0, t1)``; layered views by
    :func:`clip_layered`, the others by the 2-D :func:`clip_one`."""
    m = views.shape[0]
    caps = pair_slots(views, offsets)
    t0 = np.empty(caps[m])
    t1 = np.empty(caps[m])
    cnt = np.zeros(m, np.int64)
    for i in prange(m):
        v = views[i]
        if layers[v] > 1:
            k = 2 * (offsets[v + 1] - offsets[v]) + 2
            cnt[i] = clip_layered(v, ax[i], ay[i], bx[i], by[i], offsets, phi, rad, cx, cy, th0,
                                  np.empty(k), np.empty(k, np.int64), t0, t1, caps[i])
        else:
            cnt[i] = clip_one(v, ax[i], ay[i], bx[i], by[i], offsets, phi, rad, cx, cy, th0,
                              t0, t1, caps[i])
    return pack_pairs(caps, cnt, t0, t1)
