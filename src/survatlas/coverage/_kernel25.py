"""numba core of the 2.5-D (height-aware) visibility kernel (private; see
:mod:`survatlas.coverage.occlusion`).

Per view (camera ground position, eye height ``h``, start bearing ``th0``, field of view ``fov``,
near edge ``near`` and range ``R``):

1. nudge the camera out of a wall it sits on or just inside, exactly as the 2-D kernel does
   (:func:`survatlas.coverage._inside.nudge`);
2. every wall in range and in view becomes an angular piece ``[lo, hi]`` — front faces (the ray
   enters a building) *and* back faces (the ray leaves it); walls of parts floating at or above
   the eye and back faces of buildings at least as tall as the eye cannot bound anything and
   are dropped;
3. the piece end angles and whole multiples of ``arc_step`` cut the view into intervals in which
   the set of walls crossing a ray is constant; on the middle ray of each interval the crossings
   are sorted and walked: a part spanning ``[t_in, t_out]`` with top ``H`` and bottom ``Hmin``
   hides the ground over ``[t_in·h/(h−Hmin), t_out·h/(h−H))`` (to infinity when ``H ≥ h``; nothing
   when ``Hmin ≥ h``); the union of those shadows is cut out of ``[near, R]``;
4. each end of a visible stretch is a wall, a wall scaled about the camera by ``h/(h−H)`` (a
   straight line), the range arc or the near arc: it is evaluated exactly at both ends of the
   interval.

The output is a *layered* star-shaped region: on every ray the ``2m`` stretch ends sorted from
the outside in give nested star-shaped layers ``S_1 ⊇ S_2 ⊇ …`` (radius 0 where a ray has fewer
ends), and the visible set is ``S_1 − S_2 + S_3 − …`` — a point is seen when an odd number of
layers hold it. Layers are written one after the other, odd ones with increasing angles and even
ones with decreasing angles, joined through the camera (radius 0), so the boundary is one closed
polygon whose winding number is 1 on the visible ground and 0 elsewhere: fan-triangle areas and
the winding fill of :mod:`survatlas.coverage._regions_nb` work unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from survatlas.coverage._inside import STATUS_INSIDE, STATUS_NUDGED, nudge
from survatlas.coverage._jit import njit, prange
from survatlas.coverage._kernel import emit, interval_ends, region, view_block
from survatlas.coverage._walls import (
    OCC_BINS,
    _clip_to_disc,
    _hidden,
    _occlude,
    _wrap,
    gather,
    outside_cone,
    sector_box,
    seg_dist2,
    set_cone,
)

#: Views with fewer pieces skip the culling pass (the per-ray 2-D fast path is cheaper there).
CULL_MIN_PIECES = 48

#: Boundary kinds besides wall lines (ids ≥ 0): the range arc and the near (blind-zone) arc.
ARC, NEAR = -1, -2


@njit(cache=True)
def _add_piece(lo, hi, rlo, rhi, q0x, q0y, ddx, ddy, e, front, pc, pe, npc, fov, d2min,
               d2max):
    if hi <= lo or lo >= fov:
        return npc
    pc[0, npc] = lo
    pc[1, npc] = min(hi, fov)
    pc[2, npc] = rlo
    pc[3, npc] = rhi if hi <= fov else -1.0
    pc[4, npc] = ddx
    pc[5, npc] = ddy
    pc[6, npc] = q0x * ddy - q0y * ddx
    pc[9, npc] = d2min
    pc[10, npc] = d2max
    pe[0, npc] = e
    pe[1, npc] = front
    return npc + 1


@njit(cache=True)
def pieces25(gidx, ng, cx, cy, th0, fov, radius, eye, ax, ay, bx, by, epoly, top, bottom,
             pc, pe, occ, cone):
    """Angular pieces of every wall in range and in view that can bound a visible stretch.

    ``pc`` rows as the 2-D kernel's pieces (:func:`survatlas.coverage._kernel.region`): 0 lo,
    1 hi, 2 radius at lo (or -1), 3 radius at hi (or -1), 4–5 direction, 6 ``q0 × d``, 7–8
    scratch, 9 squared distance to the wall, 10 squared distance to its far end; ``pe`` rows: 0 wall id, 1 whether the wall is a front face (1) or back (0).
    """
    r2 = radius * radius
    set_cone(th0, fov, cone)
    npc = 0
    for k in range(ng):
        e = gidx[k]
        p = epoly[e]
        if bottom[p] >= eye:
            continue  # floats at or above the eye: never between the eye and the ground
        pax = ax[e] - cx
        pay = ay[e] - cy
        pbx = bx[e] - cx
        pby = by[e] - cy
        cr = pax * pby - pay * pbx
        if cr == 0.0:
            continue  # seen edge-on
        front = 1 if cr < 0.0 else 0
        if front == 0 and top[p] >= eye:
            continue  # the ground behind a tall building's far wall is hidden anyway
        if outside_cone(pax, pay, pbx, pby, cone):
            continue
        if front == 1:  # counter-clockwise seen from the camera: b to a
            ok, q0x, q0y, q1x, q1y = _clip_to_disc(pbx, pby, pax, pay, r2)
        else:
            ok, q0x, q0y, q1x, q1y = _clip_to_disc(pax, pay, pbx, pby, r2)
        if not ok:
            continue
        lo = _wrap(math.atan2(q0y, q0x) - th0)
        hi = _wrap(math.atan2(q1y, q1x) - th0)
        if lo == hi:
            continue
        ddx = q1x - q0x
        ddy = q1y - q0y
        r0 = math.sqrt(q0x * q0x + q0y * q0y)
        r1 = math.sqrt(q1x * q1x + q1y * q1y)
        d2min = seg_dist2(0.0, 0.0, q0x, q0y, q1x, q1y)
        d2max = max(r0, r1) ** 2
        if hi > lo:
            npc = _add_piece(lo, hi, r0, r1, q0x, q0y, ddx, ddy, e, front, pc, pe, npc, fov,
                             d2min, d2max)
        else:  # wraps through the start bearing
            npc = _add_piece(lo, fov, r0, -1.0, q0x, q0y, ddx, ddy, e, front, pc, pe, npc, fov,
                             d2min, d2max)
            npc = _add_piece(0.0, hi, -1.0, r1, q0x, q0y, ddx, ddy, e, front, pc, pe, npc, fov,
                             d2min, d2max)
    return _cull(npc, pc, pe, epoly, top, bottom, eye, fov, occ)


@njit(cache=True)
def _cull(npc, pc, pe, epoly, top, bottom, eye, fov, occ):
    """Drop the pieces wholly behind front walls of buildings at least as tall as the eye
    (an angular buffer of :data:`OCC_BINS` bins, each closed beyond the farthest point of a
    tall front wall spanning it); only provably hidden pieces go."""
    if npc < CULL_MIN_PIECES:
        return npc
    occ[:] = np.inf
    binw = fov / occ.shape[0]
    tall = 0
    for j in range(npc):
        p = epoly[pe[0, j]]
        if pe[1, j] == 1 and top[p] >= eye and bottom[p] <= 0.0:
            _occlude(pc[0, j], pc[1, j], pc[10, j], occ, binw)
            tall += 1
    if tall == 0:
        return npc
    m = 0
    for j in range(npc):
        if _hidden(pc[0, j], pc[1, j], pc[9, j], occ, binw):
            continue
        for r in range(pc.shape[0]):
            pc[r, m] = pc[r, j]
        pe[0, m] = pe[0, j]
        pe[1, m] = pe[1, j]
        m += 1
    return m


@njit(cache=True)
def _plain_2d(npc, pe, epoly, top, bottom, eye, near):
    """Whether the view is its 2-D region: no near edge and every piece a front wall of a
    building standing on the ground at least as tall as the eye (low buildings bring back
    faces, floating parts a raised shadow start)."""
    if near > 0.0:
        return False
    for j in range(npc):
        p = epoly[pe[0, j]]
        if pe[1, j] == 0 or top[p] < eye or bottom[p] > 0.0:
            return False
    return True


@njit(cache=True, inline="always")
def _line_radius(pc, j, phi, th0):
    """Distance along bearing ``th0 + phi`` to the line of piece ``j`` (exact at its ends)."""
    if phi == pc[0, j] and pc[2, j] >= 0.0:
        return pc[2, j]
    if phi == pc[1, j] and pc[3, j] >= 0.0:
        return pc[3, j]
    a = th0 + phi
    den = math.cos(a) * pc[5, j] - math.sin(a) * pc[4, j]
    if den == 0.0:
        return np.inf
    return pc[6, j] / den


@njit(cache=True)
def _ray(act, na, pc, pe, epoly, top, bottom, eye, near, radius, c, s, ct, cj, ck, hs, he,
         hsj, hej, hss, hes, out_j, out_s, out_base):
    """Visible stretches on one ray: writes ``2m`` ends (line id and scale, ascending) at
    ``out_*[out_base:]`` and returns ``2m``."""
    # crossings: t, piece, kind (0 back face before 1 front face at the same distance)
    nc = 0
    cut = np.inf  # nearest entry into a building at least as tall as the eye (ground part)
    tmin, jmin = np.inf, -1
    for q in range(na):
        j = act[q]
        den = c * pc[5, j] - s * pc[4, j]
        if den == 0.0:
            continue
        t = pc[6, j] / den
        if t <= 0.0:
            continue
        ct[nc] = t
        cj[nc] = j
        ck[nc] = pe[1, j]
        nc += 1
        if t < tmin:
            tmin, jmin = t, j
        p = epoly[pe[0, j]]
        if pe[1, j] == 1 and top[p] >= eye and bottom[p] <= 0.0 and t < cut:
            cut = t
    if near <= 0.0 and jmin >= 0 and cut == tmin and tmin < radius:
        # the nearest wall is a tall building's: the 2-D case, no sort needed
        out_j[out_base], out_s[out_base] = NEAR, 0.0
        out_j[out_base + 1], out_s[out_base + 1] = jmin, 1.0
        return 2, True
    # insertion sort by (t, kind), dropping crossings beyond the cut
    m = 0
    for q in range(nc):
        if ct[q] > cut:
            continue
        t, j, kk = ct[q], cj[q], ck[q]
        i = m - 1
        while i >= 0 and (ct[i] > t or (ct[i] == t and ck[i] > kk)):
            ct[i + 1], cj[i + 1], ck[i + 1] = ct[i], cj[i], ck[i]
            i -= 1
        ct[i + 1], cj[i + 1], ck[i + 1] = t, j, kk
        m += 1
    # shadows [hs, he) with their defining lines (id, scale); -1 id: camera (scale 0) / infinity
    nh = 0
    t_in, j_in = 0.0, -1
    depth = 0  # buildings entered and not left: a party wall may sort its exit after the entry
    for q in range(m):
        j = cj[q]
        p = epoly[pe[0, j]]
        if ck[q] == 1:
            inside = depth > 0  # entered from inside another footprint (an overlap sliver)
            if depth == 0:
                t_in, j_in = ct[q], j
            depth += 1
            if top[p] >= eye:  # tall: hides everything from its bottom edge's shadow on
                sb = eye / (eye - bottom[p]) if bottom[p] > 0.0 and not inside else 1.0
                hs[nh], hsj[nh], hss[nh] = t_in * sb, j_in, sb
                he[nh], hej[nh], hes[nh] = np.inf, -1, 0.0
                nh += 1
            continue
        entered = depth > 0
        depth = max(depth - 1, 0)
        if top[p] >= eye:
            continue  # back face of a tall part (only when its front is out of the view)
        sb = eye / (eye - bottom[p]) if bottom[p] > 0.0 else 1.0
        st = eye / (eye - top[p]) if top[p] > 0.0 else 1.0
        hs[nh], hsj[nh], hss[nh] = t_in * sb, j_in, sb
        he[nh], hej[nh], hes[nh] = ct[q] * st, j, st
        if not entered:  # the ray starts inside the part (camera on a wall): from the camera
            hs[nh], hsj[nh], hss[nh] = 0.0, NEAR, 0.0
        nh += 1
    if depth > 0:  # entered and not left: the far wall lies beyond the range (or the cut), so
        # the shadow, which ends at least as far as that wall, covers the rest of the ray
        p = epoly[pe[0, j_in]]
        sb = eye / (eye - bottom[p]) if bottom[p] > 0.0 else 1.0
        hs[nh], hsj[nh], hss[nh] = t_in * sb, j_in, sb
        he[nh], hej[nh], hes[nh] = np.inf, -1, 0.0
        nh += 1
    # union of the shadows (sorted by start; few) cut out of [near, R]
    for q in range(1, nh):
        a, b, aj, bj, as_, bs = hs[q], he[q], hsj[q], hej[q], hss[q], hes[q]
        i = q - 1
        while i >= 0 and hs[i] > a:
            hs[i + 1], he[i + 1], hsj[i + 1], hej[i + 1] = hs[i], he[i], hsj[i], hej[i]
            hss[i + 1], hes[i + 1] = hss[i], hes[i]
            i -= 1
        hs[i + 1], he[i + 1], hsj[i + 1], hej[i + 1], hss[i + 1], hes[i + 1] = a, b, aj, bj, as_, bs
    n = 0
    pos, pos_j, pos_s = near, NEAR, 1.0  # start of the current visible stretch
    if near <= 0.0:
        pos_j, pos_s = NEAR, 0.0
    beyond = 1.0  # scale of the first shadow starting beyond the range
    for q in range(nh):
        if hs[q] >= radius:
            beyond = hss[q]
            break
        if he[q] <= pos:
            continue
        if hs[q] > pos:
            out_j[out_base + n], out_s[out_base + n] = pos_j, pos_s
            out_j[out_base + n + 1], out_s[out_base + n + 1] = hsj[q], hss[q]
            n += 2
        if he[q] >= radius:
            return n, he[q] == np.inf and _straight(out_j, out_s, out_base, n)
        pos, pos_j, pos_s = he[q], hej[q], hes[q]
    if pos < radius:
        out_j[out_base + n], out_s[out_base + n] = pos_j, pos_s
        out_j[out_base + n + 1], out_s[out_base + n + 1] = ARC, 1.0
        n += 2
    return n, beyond == 1.0 and _straight(out_j, out_s, out_base, n)


@njit(cache=True, inline="always")
def _straight(out_j, out_s, base, n):
    """Whether every end is a wall (unscaled), the camera or the range arc: walls do not cross
    each other and are cut at the range, so the ends keep their order over the interval."""
    for k in range(base, base + n):
        if not ((out_j[k] >= 0 and out_s[k] == 1.0) or (out_j[k] == NEAR and out_s[k] == 0.0)
                or out_j[k] == ARC):
            return False
    return True


@njit(cache=True, inline="always")
def _end_radius(j, sc, pc, phi, th0, near, radius):
    if j == ARC:
        return radius
    if j == NEAR:
        return near * sc
    return min(max(sc * _line_radius(pc, j, phi, th0), 0.0), radius)


@njit(cache=True)
def _layer_end(ev, nint, ioff, bj, bs, pc, th0, near, radius, i, layer, right):
    """Radius of ``layer`` (0 = outermost) at the left or right end of interval ``i``."""
    cnt = ioff[i + 1] - ioff[i]
    if layer >= cnt:
        return 0.0, -3, 0.0
    k = ioff[i] + cnt - 1 - layer
    phi = ev[i + 1] if right else ev[i]
    return _end_radius(bj[k], bs[k], pc, phi, th0, near, radius), bj[k], bs[k]


@njit(cache=True)
def _zero_layer(ev, nint, ioff, bj, bs, pc, th0, near, radius, layer):
    for i in range(nint):
        for right in (False, True):
            if _layer_end(ev, nint, ioff, bj, bs, pc, th0, near, radius, i, layer, right)[0] > 0:
                return False
    return True


@njit(cache=True)
def layered_boundary(ev, nint, ioff, bj, bs, pc, th0, near, radius, out_phi, out_r):
    """Write the layers of a view as one closed boundary; return ``(points, layers)``."""
    nl = 0
    for i in range(nint):
        nl = max(nl, ioff[i + 1] - ioff[i])
    while nl > 0 and _zero_layer(ev, nint, ioff, bj, bs, pc, th0, near, radius, nl - 1):
        nl -= 1  # the innermost stretch ends at the camera on every ray: no layer
    n = 0
    for layer in range(nl):
        forward = layer % 2 == 0
        prev_j, prev_s = -4, 0.0
        for step in range(nint):
            i = step if forward else nint - 1 - step
            r0, j, sc = _layer_end(ev, nint, ioff, bj, bs, pc, th0, near, radius, i, layer,
                                   not forward)
            r1, _, _ = _layer_end(ev, nint, ioff, bj, bs, pc, th0, near, radius, i, layer,
                                  forward)
            a0 = ev[i + 1] if not forward else ev[i]
            a1 = ev[i] if not forward else ev[i + 1]
            straight = j >= 0 or j == -3 or (j == NEAR and sc == 0.0)
            if (straight and j == prev_j and sc == prev_s and n >= 2 and out_phi[n - 1] == a0
                    and abs(out_r[n - 1] - r0) <= 1e-9 * (1.0 + r0)):
                n -= 1  # the same straight line continues: drop the middle point
            else:
                n = emit(a0, r0, out_phi, out_r, 0, n)
            n = emit(a1, r1, out_phi, out_r, 0, n)
            prev_j, prev_s = j, sc
        if layer < nl - 1:  # through the camera to the next layer
            n = emit(ev[nint] if forward else ev[0], 0.0, out_phi, out_r, 0, n)
    return n, nl


@njit(cache=True)
def _grow(bj, bs, n_out, need):
    if bj.shape[0] >= n_out + need:
        return bj, bs
    grow = max(2 * bj.shape[0], n_out + need)
    nbj = np.empty(grow, np.int64)
    nbs = np.empty(grow, np.float64)
    nbj[:n_out] = bj[:n_out]
    nbs[:n_out] = bs[:n_out]
    return nbj, nbs


@njit(cache=True)
def sweep25(th0, fov, radius, near, eye, arc_step, npc, pc, pe, epoly, top, bottom, ev, ev2,
            act, ct, cj, ck, hs, he, hsj, hej, hss, hes, ioff, bj, bs):
    """Visible stretch ends of every interval of one view: returns ``(intervals, layers, bj,
    bs)``; the interval ends are written to ``ev2`` and ``ioff`` is the CSR into ``bj``/``bs``
    (the end buffers grow when needed and are handed back).

    An interval whose middle ray ends on an unscaled wall of a building at least as tall as the
    eye (the 2-D case) is kept whole; any other is cut at whole multiples of ``arc_step`` (range
    and near arcs are sampled, and two shadow edges may cross inside it).
    """
    m = interval_ends(npc, pc, fov, ev)
    order = np.argsort(pc[0, :npc])
    na = 0
    nxt = 0
    n_out = 0
    nl = 0
    k2 = 0
    for i in range(m - 1):
        a0, a1 = ev[i], ev[i + 1]
        w = 0  # active pieces: those spanning [a0, a1]
        for q in range(na):
            if pc[1, act[q]] > a0:
                act[w] = act[q]
                w += 1
        na = w
        while nxt < npc and pc[0, order[nxt]] <= a0:
            if pc[1, order[nxt]] > a0:
                act[na] = order[nxt]
                na += 1
            nxt += 1
        bj, bs = _grow(bj, bs, n_out, 2 * na + 4)
        mid = th0 + 0.5 * (a0 + a1)
        ev2[k2] = a0
        ioff[k2] = n_out
        k, exact = _ray(act, na, pc, pe, epoly, top, bottom, eye, near, radius, math.cos(mid),
                        math.sin(mid), ct, cj, ck, hs, he, hsj, hej, hss, hes, bj, bs, n_out)
        q = math.floor(a0 / arc_step) + 1
        arc = k > 0 and bj[n_out + k - 1] == ARC
        if (exact and not arc) or q * arc_step >= a1:
            n_out += k
            nl = max(nl, k)
            k2 += 1
            continue
        first = n_out
        lo = a0  # cut at whole multiples of the arc step
        while lo < a1:
            hi = min(q * arc_step, a1)
            if hi <= lo:
                q += 1
                continue
            bj, bs = _grow(bj, bs, n_out, 2 * na + 4)
            ev2[k2] = lo
            ioff[k2] = n_out
            if exact:  # same ends all along: only the arc is sampled
                for r in range(k):
                    bj[n_out + r] = bj[first + r]
                    bs[n_out + r] = bs[first + r]
            else:
                mid = th0 + 0.5 * (lo + hi)
                k, _ = _ray(act, na, pc, pe, epoly, top, bottom, eye, near, radius,
                            math.cos(mid), math.sin(mid), ct, cj, ck, hs, he, hsj, hej, hss, hes,
                            bj, bs, n_out)
            n_out += k
            nl = max(nl, k)
            k2 += 1
            lo = hi
            q += 1
    ev2[k2] = ev[m - 1]
    ioff[k2] = n_out
    return k2, nl, bj, bs


@njit(cache=True)
def capacity25(nint, layers):
    """Upper bound on the boundary points of ``layers`` layers over ``nint`` intervals."""
    return layers * (2 * nint + 1) + 2


@njit(cache=True, parallel=True)
def run_views25(x, y, th0, fov, radius, near, eye, directed, loads, order, ax, ay, bx, by,
                epoly, poff, top, bottom, gx0, gy0, inv, nx, ny, start, items, offset,
                max_nudge, arc_step, caps, nblocks):
    """Every view into its slot of a padded buffer (``caps`` CSR); ``out_n < 0``: the view
    needs ``-out_n`` points and gets no output (recomputed with a larger slot)."""
    n = x.shape[0]
    out_phi = np.empty(caps[n], np.float64)
    out_r = np.empty(caps[n], np.float64)
    out_n = np.zeros(n, np.int64)
    out_layers = np.zeros(n, np.int64)
    out_status = np.zeros(n, np.int8)
    out_x = np.empty(n, np.float64)
    out_y = np.empty(n, np.float64)
    for b in prange(nblocks):
        lo, hi, kmax = view_block(b, n, nblocks, loads, order)
        if hi <= lo:
            continue
        gidx = np.empty(kmax, np.int64)
        pmax = 2 * kmax + 2
        pc = np.empty((11, pmax), np.float64)
        occ = np.empty(OCC_BINS, np.float64)
        cone = np.empty(5, np.float64)
        pe = np.empty((2, pmax), np.int64)
        act = np.empty(pmax, np.int64)
        ct = np.empty(pmax, np.float64)
        cj = np.empty(pmax, np.int64)
        ck = np.empty(pmax, np.int64)
        hs = np.empty(pmax, np.float64)
        he = np.empty(pmax, np.float64)
        hsj = np.empty(pmax, np.int64)
        hej = np.empty(pmax, np.int64)
        hss = np.empty(pmax, np.float64)
        hes = np.empty(pmax, np.float64)
        ev = np.empty(2 * pmax + 2, np.float64)
        best_t = np.empty(2 * pmax + 2, np.float64)
        best_j = np.empty(2 * pmax + 2, np.int64)
        nxt = np.empty(2 * pmax + 2, np.int64)
        sp = np.empty(3 * (2 * pmax + 2) + math.ceil(2.0 * math.pi / arc_step) + 8, np.float64)
        sr = np.empty(sp.shape[0], np.float64)
        ev2 = np.empty(2 * pmax + 4 + math.ceil(2.0 * math.pi / arc_step), np.float64)
        ioff = np.empty(ev2.shape[0] + 1, np.int64)
        bj = np.empty(1024, np.int64)
        bs = np.empty(1024, np.float64)
        for q in range(lo, hi):
            v = order[q]
            cx, cy, f, r = x[v], y[v], fov[v], radius[v]
            pad = max_nudge + offset
            bx0, by0, bx1, by1 = sector_box(cx, cy, th0[v], f, r)
            bx0, by0 = min(bx0, cx - pad), min(by0, cy - pad)
            bx1, by1 = max(bx1, cx + pad), max(by1, cy + pad)
            ng = gather(bx0, by0, bx1, by1, ax, ay, bx, by, gx0, gy0, inv, nx, ny, start, items,
                        gidx)
            mid = th0[v] + 0.5 * f
            ncx, ncy, status = nudge(cx, cy, math.cos(mid), math.sin(mid), directed[v], ax, ay,
                                     bx, by, epoly, poff, gidx, ng, offset, max_nudge, gx0, gy0,
                                     inv, nx, ny, start, items)
            out_status[v] = status
            out_x[v] = ncx
            out_y[v] = ncy
            if status == STATUS_INSIDE:
                continue
            if status == STATUS_NUDGED:
                bx0, by0, bx1, by1 = sector_box(ncx, ncy, th0[v], f, r)
                ng = gather(bx0, by0, bx1, by1, ax, ay, bx, by, gx0, gy0, inv, nx, ny, start,
                            items, gidx)
            npc = pieces25(gidx, ng, ncx, ncy, th0[v], f, r, eye[v], ax, ay, bx, by, epoly, top,
                           bottom, pc, pe, occ, cone)
            cap = caps[v + 1] - caps[v]
            if _plain_2d(npc, pe, epoly, top, bottom, eye[v], near[v]):  # the 2-D sweep
                npts, _ = region(th0[v], f, r, arc_step, npc, pc, pe[0], ev, best_t, best_j,
                                 nxt, sp, sr, 0)
                if npts > cap:
                    out_n[v] = -npts
                    continue
                out_phi[caps[v]:caps[v] + npts] = sp[:npts]
                out_r[caps[v]:caps[v] + npts] = sr[:npts]
                out_n[v] = npts
                out_layers[v] = 1
                continue
            nint, nl, bj, bs = sweep25(th0[v], f, r, near[v], eye[v], arc_step, npc, pc, pe,
                                       epoly, top, bottom, ev, ev2, act, ct, cj, ck, hs, he, hsj,
                                       hej, hss, hes, ioff, bj, bs)
            need = capacity25(nint, nl)
            buf_phi = out_phi[caps[v]:caps[v + 1]] if need <= cap else np.empty(need)
            buf_r = out_r[caps[v]:caps[v + 1]] if need <= cap else np.empty(need)
            npts, nl = layered_boundary(ev2, nint, ioff, bj, bs, pc, th0[v], near[v], r,
                                        buf_phi, buf_r)
            if npts > cap:
                out_n[v] = -npts
                continue
            if need > cap:
                out_phi[caps[v]:caps[v] + npts] = buf_phi[:npts]
                out_r[caps[v]:caps[v] + npts] = buf_r[:npts]
            out_n[v] = npts
            out_layers[v] = nl
    return out_phi, out_r, out_n, out_layers, out_status, out_x, out_y
