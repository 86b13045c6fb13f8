"""Compiled look-ups over seen intervals (plumbing for :class:`~routing._exposure.SeenIndex`).

A route request asks "metres in view between two positions of a street" a few thousand times
(every piece of every candidate path, every scenario and level) over a handful of values each
time; in numpy each such call costs tens of microseconds of per-call overhead. These numba
kernels answer the same questions with the same arithmetic, so their results are bit-identical
to the numpy definitions they replace (a test compares them on random queries):

- :func:`seen_to` is ``SeenIndex.seen_to``: a binary search over the same sorted keys
  (``rank · width + position``), the same clipping and the same sums.
- :func:`clip_intervals` is ``SeenIndex.stretches`` over many stretches: every interval of the
  stretch's street tested with ``min(end, hi) > max(start, lo)``, in street order.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _rank(streets, street):  # type: ignore[no-untyped-def]
    """``min(searchsorted(streets, street), len - 1)`` and whether it is ``street``."""
    lo, hi = 0, len(streets)
    while lo < hi:
        mid = (lo + hi) // 2
        if streets[mid] < street:
            lo = mid + 1
        else:
            hi = mid
    rank = min(lo, len(streets) - 1)
    return rank, streets[rank] == street


@njit(cache=True, nogil=True)
def seen_to(index_streets, offsets, keys, starts, ends, before, width, streets, pos):  # type: ignore[no-untyped-def]
    """Metres seen on each ``streets[i]`` between its first vertex and ``pos[i]``."""
    out = np.zeros(len(pos))
    if len(index_streets) == 0:
        return out
    for i in range(len(pos)):
        p = min(max(pos[i], 0.0), width - 1.0)
        rank, has = _rank(index_streets, streets[i])
        if not has:
            continue
        key = rank * width + p
        lo, hi = 0, len(keys)
        while lo < hi:  # searchsorted(keys, key, side="left")
            mid = (lo + hi) // 2
            if keys[mid] < key:
                lo = mid + 1
            else:
                hi = mid
        j = lo - 1
        if j < offsets[rank]:
            continue
        inside = min(max(p - starts[j], 0.0), ends[j] - starts[j])
        out[i] = before[j] + inside
    return out


@njit(cache=True, nogil=True)
def clip_intervals(index_streets, offsets, starts, ends, streets, a, b):  # type: ignore[no-untyped-def]
    """Every interval met over a positive length by each stretch ``[min(a, b), max(a, b)]``.

    Returns ``(which, interval, lo, hi)`` ordered by stretch, then along the street.
    """
    n = len(streets)
    size = 0
    cap = 16 + 4 * n
    which = np.empty(cap, np.int64)
    interval = np.empty(cap, np.int64)
    c_lo = np.empty(cap)
    c_hi = np.empty(cap)
    if len(index_streets) == 0:
        return which[:0], interval[:0], c_lo[:0], c_hi[:0]
    for i in range(n):
        rank, has = _rank(index_streets, streets[i])
        if not has:
            continue
        lo, hi = min(a[i], b[i]), max(a[i], b[i])
        for j in range(offsets[rank], offsets[rank + 1]):
            x0, x1 = max(starts[j], lo), min(ends[j], hi)
            if x1 > x0:
                if size == cap:
                    cap *= 2
                    which = _grow(which, cap)
                    interval = _grow(interval, cap)
                    c_lo = _grow(c_lo, cap)
                    c_hi = _grow(c_hi, cap)
                which[size], interval[size], c_lo[size], c_hi[size] = i, j, x0, x1
                size += 1
    return which[:size], interval[:size], c_lo[:size], c_hi[:size]


@njit(cache=True, nogil=True)
def _grow(arr, cap):  # type: ignore[no-untyped-def]
    out = np.empty(cap, arr.dtype)
    out[: len(arr)] = arr
    return out


@njit(cache=True, nogil=True, inline="always")
def _append(arr, size, value):  # type: ignore[no-untyped-def]
    """``arr`` with ``value`` written at ``size`` (doubled first when full)."""
    if size == len(arr):
        arr = _grow(arr, 2 * len(arr))
    arr[size] = value
    return arr


@njit(cache=True, nogil=True)
def seen_between(index_streets, offsets, keys, starts, ends, before, width, streets, a, b):  # type: ignore[no-untyped-def]
    """Metres seen on each ``streets[i]`` between ``a[i]`` and ``b[i]`` (either order):
    ``seen_to(max) - seen_to(min)``."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return (seen_to(index_streets, offsets, keys, starts, ends, before, width, streets, hi)
            - seen_to(index_streets, offsets, keys, starts, ends, before, width, streets, lo))


@njit(cache=True, nogil=True)
def seen_and_cameras(index_streets, offsets, keys, starts, ends, before, width, cam_offsets,  # type: ignore[no-untyped-def]
                     cams, streets, a, b):
    """Metres in view and the distinct cameras (sorted) along stretches of streets.

    The stretches with any metre in view (:func:`seen_between`), then every interval they meet
    (:func:`clip_intervals`): its clipped length added in stretch order, its cameras collected.
    """
    seen = seen_between(index_streets, offsets, keys, starts, ends, before, width, streets, a, b)
    keep = np.flatnonzero(seen > 0)
    _, interval, c_lo, c_hi = clip_intervals(
        index_streets, offsets, starts, ends, streets[keep], a[keep], b[keep])
    metres = 0.0
    for k in range(len(interval)):
        metres += c_hi[k] - c_lo[k]
    return metres, _distinct_cameras(cam_offsets, cams, interval, -1)


# Pieces that cover a whole edge (every piece of a path but its two ends) ask the same
# question every time: the answers are worked out once per edge (``Pricer``: ``full_seen``, the
# metres seen along the edge from its start to ``start + length``, and the edge's intervals
# clipped to it) and looked up. A piece covers its whole edge when ``(t0, t1)`` is ``(0,
# length)`` or ``(length, 0)``; ``start + t`` then gives the very positions the per-edge
# tables were made from, so the look-up equals the search bit for bit.


@njit(cache=True, nogil=True)
def _whole(t0, t1, length):  # type: ignore[no-untyped-def]
    return (t0 == 0.0 and t1 == length) or (t0 == length and t1 == 0.0)


@njit(cache=True, nogil=True)
def piece_seen(index_streets, offsets, keys, starts, ends, before, width, full_seen,  # type: ignore[no-untyped-def]
               edge_street, edge_start, edge_length, edges, t0, t1):
    """Metres seen on each piece ``(edges[i], t0[i], t1[i])``: :func:`seen_between` of
    ``edge_start + t0`` and ``edge_start + t1``, looked up in ``full_seen`` for whole edges."""
    n = len(edges)
    out = np.empty(n)
    one_s = np.empty(1, np.int64)
    one_p = np.empty(1)
    for i in range(n):
        e = edges[i]
        if _whole(t0[i], t1[i], edge_length[e]):
            out[i] = full_seen[e]
            continue
        a, b = edge_start[e] + t0[i], edge_start[e] + t1[i]
        one_s[0] = edge_street[e]
        one_p[0] = max(a, b)
        hi = seen_to(index_streets, offsets, keys, starts, ends, before, width, one_s, one_p)[0]
        one_p[0] = min(a, b)
        lo = seen_to(index_streets, offsets, keys, starts, ends, before, width, one_s, one_p)[0]
        out[i] = hi - lo
    return out


@njit(cache=True, nogil=True)
def route_seen(index_streets, offsets, keys, starts, ends, before, width, cam_offsets, cams,  # type: ignore[no-untyped-def]
               n_ids, full_seen, iv_ptr, iv_j, iv_lo, iv_hi, edge_street, edge_start,
               edge_length, edges, t0, t1):
    """:func:`seen_and_cameras` of a route's pieces, with the clipped intervals of whole edges
    looked up (``iv_ptr``/``iv_j``/``iv_lo``/``iv_hi``: each edge's intervals as
    :func:`clip_intervals` gives them for the whole edge); camera ids lie in ``[0, n_ids)``."""
    seen = piece_seen(index_streets, offsets, keys, starts, ends, before, width, full_seen,
                      edge_street, edge_start, edge_length, edges, t0, t1)
    n = len(edges)
    metres = 0.0
    size = 0
    interval = np.empty(64, np.int64)
    one_s = np.empty(1, np.int64)
    one_a = np.empty(1)
    one_b = np.empty(1)
    for i in range(n):
        if not seen[i] > 0:
            continue
        e = edges[i]
        if _whole(t0[i], t1[i], edge_length[e]):
            for k in range(iv_ptr[e], iv_ptr[e + 1]):
                metres += iv_hi[k] - iv_lo[k]
                interval = _append(interval, size, iv_j[k])
                size += 1
            continue
        one_s[0] = edge_street[e]
        one_a[0], one_b[0] = edge_start[e] + t0[i], edge_start[e] + t1[i]
        _, js, c_lo, c_hi = clip_intervals(index_streets, offsets, starts, ends, one_s, one_a,
                                           one_b)
        for k in range(len(js)):
            metres += c_hi[k] - c_lo[k]
            interval = _append(interval, size, js[k])
            size += 1
    return metres, _distinct_cameras(cam_offsets, cams, interval[:size], n_ids)


@njit(cache=True, nogil=True)
def _distinct_cameras(cam_offsets, cams, interval, n_ids):  # type: ignore[no-untyped-def]
    """The sorted distinct cameras of ``interval`` (``np.unique`` of their cameras): marked in
    a table of the ``n_ids`` possible ids when that is cheaper than sorting them all (``n_ids``
    below 0: ids may be negative, always sorted)."""
    total = 0
    for k in range(len(interval)):
        total += cam_offsets[interval[k] + 1] - cam_offsets[interval[k]]
    if 0 <= n_ids <= 8 * total + 64:
        mark = np.zeros(n_ids, np.bool_)
        distinct = 0
        for k in range(len(interval)):
            for m in range(cam_offsets[interval[k]], cam_offsets[interval[k] + 1]):
                if not mark[cams[m]]:
                    mark[cams[m]] = True
                    distinct += 1
        out = np.empty(distinct, np.int64)
        at = 0
        for c in range(n_ids):
            if mark[c]:
                out[at] = c
                at += 1
        return out
    found = np.empty(total, np.int64)
    at = 0
    for k in range(len(interval)):
        for m in range(cam_offsets[interval[k]], cam_offsets[interval[k] + 1]):
            found[at] = cams[m]
            at += 1
    return np.unique(found)


@njit(cache=True, nogil=True)
def path_pieces(nodes, indptr, indices, csr_edge, csr_fwd, edge_length, a_edge, a_t, first_end,  # type: ignore[no-untyped-def]
                b_edge, last_start, b_t):
    """A found path's pieces ``(edges, t0, t1)``: the part of the origin's edge, each step of
    ``nodes`` as its whole edge (``(0, length)`` along it, ``(length, 0)`` against it), the
    part of the destination's edge; empty pieces left out. ``ok`` is False when a step has no
    CSR entry."""
    m = len(nodes) - 1
    edges = np.empty(m + 2, np.int64)
    t0 = np.empty(m + 2)
    t1 = np.empty(m + 2)
    edges[0], t0[0], t1[0] = a_edge, a_t, first_end
    for i in range(m):
        v, w = nodes[i], nodes[i + 1]
        k = -1
        for e in range(indptr[v], indptr[v + 1]):
            if indices[e] == w:
                k = e
                break
        if k < 0:
            return edges[:0], t0[:0], t1[:0], False
        edge = csr_edge[k]
        edges[i + 1] = edge
        t0[i + 1] = 0.0 if csr_fwd[k] else edge_length[edge]
        t1[i + 1] = edge_length[edge] if csr_fwd[k] else 0.0
    edges[m + 1], t0[m + 1], t1[m + 1] = b_edge, last_start, b_t
    keep = t0 != t1
    return edges[keep], t0[keep], t1[keep], True


@njit(cache=True, nogil=True)
def joined_vertices(ptr, coords, coords_ll, edges, t0, t1, whole, part_ptr, part_xy):  # type: ignore[no-untyped-def]
    """A route's vertices joined into lines, in one pass (``_lines._route_xy`` then
    ``_lines._join_xy``): each piece's vertices — a whole edge's from ``coords[ptr[e]:ptr[e +
    1]]`` (backwards when ``t1 < t0``), a part's from ``part_xy[part_ptr[i]:part_ptr[i + 1]]``
    — one after the other, a piece's first vertex left out when it lies within 10⁻⁶ m of the
    one before (the lines touch), a new line begun where it does not.

    Returns ``(out, parted, line_ptr)``: the kept vertices — whole edges' in lon/lat from
    ``coords_ll`` (the rows of ``coords`` projected), parts' still metric —, the rows of
    ``out`` that are parts' (to project), and the vertices of line ``r``:
    ``out[line_ptr[r]:line_ptr[r + 1]]``.
    """
    n = len(edges)
    total = 0
    for i in range(n):
        e = edges[i]
        total += ptr[e + 1] - ptr[e] if whole[i] else part_ptr[i + 1] - part_ptr[i]
    out = np.empty((total, 2))
    parted = np.empty(total, np.int64)
    line_ptr = np.empty(total + 1, np.int64)
    lines = 0
    size = 0
    n_parted = 0
    px, py = 0.0, 0.0
    for i in range(n):
        e = edges[i]
        count = ptr[e + 1] - ptr[e] if whole[i] else part_ptr[i + 1] - part_ptr[i]
        for k in range(count):
            if whole[i]:
                j = ptr[e + 1] - 1 - k if t1[i] < t0[i] else ptr[e] + k
                x, y = coords[j, 0], coords[j, 1]
            else:
                j = part_ptr[i] + k
                x, y = part_xy[j, 0], part_xy[j, 1]
            if k == 0 and size > 0 and np.hypot(x - px, y - py) < 1e-6:
                continue  # the same point as the end of the line before: joined
            if k == 0:
                line_ptr[lines] = size
                lines += 1
            if whole[i]:
                out[size, 0], out[size, 1] = coords_ll[j, 0], coords_ll[j, 1]
            else:
                out[size, 0], out[size, 1] = x, y
                parted[n_parted] = size
                n_parted += 1
            size += 1
            px, py = x, y
    line_ptr[lines] = size
    return out[:size], parted[:n_parted], line_ptr[: lines + 1]
