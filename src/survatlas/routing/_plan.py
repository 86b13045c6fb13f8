"""Snapping, one weighted search, and the λ searches (plumbing for :mod:`survatlas.routing`).

A route is a sequence of *pieces* ``(edge, t_from, t_to)``: positions in metres from the edge's
``u`` end, so the first and last pieces may cover part of an edge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.spatial import cKDTree

from survatlas.errors import RoutingError
from survatlas.routing import _kernels
from survatlas.routing._exposure import SeenIndex
from survatlas.routing._graph import StreetGraph
from survatlas.routing._search import Ends, Found, to_targets

Piece = tuple[int, float, float]
#: λ large enough that the search minimises exposure first and length second.
LAMBDA_MAX = 1e5
_TOL = 1e-6


@dataclass(frozen=True)
class Anchor:
    """A point snapped onto an edge: ``t`` metres from its u end, ``dist_m`` from the point."""

    edge: int
    t: float
    dist_m: float
    xy: tuple[float, float]


@dataclass(frozen=True)
class Path:
    """A path with its length and exposed metres (for the pricer's scenario and level)."""

    pieces: tuple[Piece, ...]
    length: float
    exposed: float
    lam: float
    #: the pieces as arrays (edges, t0, t1), when already made
    _arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(
        default=None, compare=False, repr=False)
    #: the pieces' (length, exposed metres) by pricer, as measured so far (shared by the
    #: paths of the same pieces: :func:`reprice`)
    _totals: dict[Pricer, tuple[float, float]] = field(
        default_factory=dict, compare=False, repr=False)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The pieces as arrays ``(edges, t0, t1)`` (:func:`piece_arrays`)."""
        return self._arrays if self._arrays is not None else piece_arrays(self.pieces)

    def cost(self, lam: float) -> float:
        """Cost ``length + λ·exposed``."""
        return self.length + lam * self.exposed


class Pricer:
    """Length and exposed metres of edges and pieces for one scenario and DORI level.

    Pieces covering a whole edge (all of a path's pieces but its ends) are priced from
    per-edge tables made once (:mod:`survatlas.routing._kernels`: ``piece_seen``,
    ``route_seen``), with the same result as a search of the intervals.
    """

    def __init__(self, graph: StreetGraph, index: SeenIndex) -> None:
        self.graph, self.index = graph, index
        self.length = graph.edge_length
        self.exposed = index.seen_between(graph.edge_street, graph.edge_start, graph.edge_end)
        self.entry_len = self.length[graph.csr_edge]
        self.entry_exp = self.exposed[graph.csr_edge]
        #: metres seen along each whole edge, as a piece (0, length) measures them
        self.full_seen = index.seen_between(
            graph.edge_street, graph.edge_start, graph.edge_start + graph.edge_length)
        self._intervals: tuple[np.ndarray, ...] | None = None
        #: camera ids lie in [0, n_ids) (-1: some id is negative)
        self.n_ids = (int(index.cams.max(initial=-1)) + 1
                      if not len(index.cams) or index.cams.min() >= 0 else -1)
        self._weights: dict[float, np.ndarray] = {}

    def prepare(self) -> None:
        """Make the per-edge tables now rather than at the first route's figures."""
        self._edge_intervals()

    def weights(self, lam: float) -> np.ndarray:
        """The weight ``length + λ·exposed`` of each CSR entry (kept for λ = 0 and
        :data:`LAMBDA_MAX`, which every query asks for)."""
        found = self._weights.get(lam)
        if found is not None:
            return found
        weights = self.entry_len + lam * self.entry_exp if lam else self.entry_len
        if lam in (0.0, LAMBDA_MAX):
            self._weights[lam] = weights
        return weights

    def figures(
        self, edges: np.ndarray, t0: np.ndarray, t1: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Length and exposed metres of each piece ``(edges[i], t0[i], t1[i])``."""
        g, ix = self.graph, self.index
        seen = _kernels.piece_seen(
            ix.streets, ix.offsets, ix._keys, ix.starts, ix.ends, ix._before, ix._width,
            self.full_seen, g.edge_street, g.edge_start, g.edge_length,
            np.ascontiguousarray(edges, dtype=np.int64), np.ascontiguousarray(t0, dtype=float),
            np.ascontiguousarray(t1, dtype=float))
        return np.abs(t1 - t0), seen

    def seen_and_cameras(
        self, edges: np.ndarray, t0: np.ndarray, t1: np.ndarray
    ) -> tuple[float, tuple[int, ...]]:
        """Metres in view and the distinct cameras (sorted) along pieces taken together
        (:meth:`SeenIndex.seen_and_cameras` of their street positions)."""
        g, ix = self.graph, self.index
        metres, cameras = _kernels.route_seen(
            ix.streets, ix.offsets, ix._keys, ix.starts, ix.ends, ix._before, ix._width,
            ix.cam_offsets, ix.cams, self.n_ids, self.full_seen, *self._edge_intervals(),
            g.edge_street,
            g.edge_start, g.edge_length, np.ascontiguousarray(edges, dtype=np.int64),
            np.ascontiguousarray(t0, dtype=float), np.ascontiguousarray(t1, dtype=float))
        return float(metres), tuple(cameras.tolist())

    def to_go(self, a: Anchor, b: Anchor) -> np.ndarray:
        """Per node, a lower bound of the exposed metres from it to ``b`` (the destination's
        end pieces included; ``inf``: ``b`` cannot be reached): the A* bound of the searches
        from ``a`` to ``b`` (:func:`~routing._search.to_targets`, kept for the last few pairs)."""
        memo = self.__dict__.setdefault("_to_go_memo", {})
        found = memo.get((a, b))
        if found is None:
            src, _, _, tgt, _, tgt_exp = _end_figures(self, a, b)
            indptr, indices, entry = self.graph.reverse_csr()
            rev = self.__dict__.get("_reverse_exposed")
            if rev is None:
                rev = self.__dict__["_reverse_exposed"] = np.ascontiguousarray(
                    self.entry_exp[entry], dtype=float)
            found = to_targets(indptr, indices, rev, tgt, np.ascontiguousarray(tgt_exp, float),
                               src)
            if len(memo) >= 16:
                memo.clear()
            memo[(a, b)] = found
        return found

    def end_figures(self, a: Anchor, b: Anchor) -> tuple[np.ndarray, ...]:
        """The search's sources and targets for ``a`` and ``b`` and their end pieces' length
        and exposed metres (:func:`_end_figures`, which keeps them)."""
        return _measured_ends(self, a, b)

    def _edge_intervals(self) -> tuple[np.ndarray, ...]:
        """Each whole edge's intervals as :meth:`SeenIndex.clipped` gives them (CSR by edge)."""
        if self._intervals is None:
            g = self.graph
            which, interval, lo, hi = self.index.clipped(
                g.edge_street, g.edge_start, g.edge_start + g.edge_length)
            ptr = np.searchsorted(which, np.arange(len(g.edge_street) + 1)).astype(np.int64)
            self._intervals = (ptr, interval, lo, hi)
        return self._intervals

    def totals(self, pieces: tuple[Piece, ...] | list[Piece]) -> tuple[float, float]:
        """Total length and exposed metres of pieces."""
        if not pieces:
            return 0.0, 0.0
        return self.array_totals(*piece_arrays(pieces))

    def array_totals(
        self, edges: np.ndarray, t0: np.ndarray, t1: np.ndarray
    ) -> tuple[float, float]:
        """Total length and exposed metres of pieces given as arrays."""
        if not len(edges):
            return 0.0, 0.0
        length, seen = self.figures(edges, t0, t1)
        return float(length.sum()), float(seen.sum())

    def measured(
        self, arrays: tuple[np.ndarray, np.ndarray, np.ndarray]
    ) -> dict[Pricer, tuple[float, float]]:
        """:meth:`array_totals` of the pieces ``arrays``, keyed by this pricer (a pricer
        built on others adds theirs: :class:`~routing._robust.WorstPricer`)."""
        return {self: self.array_totals(*arrays)}

    def path_totals(self, path: Path) -> tuple[float, float]:
        """:meth:`array_totals` of a path's pieces (kept on the path)."""
        found = path._totals.get(self)
        if found is None:
            found = path._totals[self] = self.array_totals(*path.arrays())
        return found

    def cost(self, lam: float, edge: int, t0: float, t1: float) -> float:
        """Cost of one piece."""
        length, exposed = self.totals([(edge, t0, t1)])
        return length + lam * exposed


def piece_arrays(pieces: Sequence[Piece]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edge ids, start and end positions of pieces as arrays."""
    arr = np.array(pieces, dtype=float).reshape(-1, 3)
    return arr[:, 0].astype(np.int64), arr[:, 1].copy(), arr[:, 2].copy()


def snap_nearest(graph: StreetGraph, xy: tuple[float, float], max_dist: float) -> Anchor | None:
    """The nearest point of the graph within ``max_dist`` metres, or None."""
    point = shapely.Point(xy)
    found = graph.tree.query_nearest(point, max_distance=max_dist, return_distance=True)
    if not len(found[0]):
        return None
    return _anchor(graph, int(found[0][0]), point, float(found[1][0]))


def snap_in_component(
    graph: StreetGraph, xy: tuple[float, float], component: int, max_dist: float
) -> Anchor | None:
    """The nearest point of one connected component within ``max_dist`` metres, or None."""
    point = shapely.Point(xy)
    edges = graph.tree.query(point, predicate="dwithin", distance=max_dist)
    edges = edges[graph.component[graph.edge_u[edges]] == component]
    if not len(edges):
        return None
    dist = shapely.distance(graph.edge_geom[edges], point)
    k = int(np.argmin(dist))
    return _anchor(graph, int(edges[k]), point, float(dist[k]))


def _anchor(graph: StreetGraph, edge: int, point: shapely.Point, dist: float) -> Anchor:
    geom = graph.edge_geom[edge]
    t = float(shapely.line_locate_point(geom, point))
    snapped = shapely.get_coordinates(shapely.line_interpolate_point(geom, t))[0]
    return Anchor(edge, t, dist, (float(snapped[0]), float(snapped[1])))


def anchor_component(graph: StreetGraph, anchor: Anchor) -> int:
    """The connected component an anchor lies on."""
    return int(graph.component[graph.edge_u[anchor.edge]])


def closest_gap(graph: StreetGraph, comp_a: int, comp_b: int) -> tuple[int, int, float]:
    """The closest pair of nodes (a in ``comp_a``, b in ``comp_b``) and their distance."""
    nodes_a = np.flatnonzero(graph.component == comp_a)
    nodes_b = np.flatnonzero(graph.component == comp_b)
    dist, k = cKDTree(graph.node_xy[nodes_b]).query(graph.node_xy[nodes_a])
    i = int(np.argmin(dist))
    return int(nodes_a[i]), int(nodes_b[k[i]]), float(dist[i])


Search = Callable[[StreetGraph, np.ndarray, Ends, float], Found | None]


def solve(
    pricer: Pricer, lam: float, a: Anchor, b: Anchor, search: Search, bound: float = np.inf
) -> Path | None:
    """The cheapest path from ``a`` to ``b`` under ``length + λ·exposed`` (None: unreachable)."""
    g = pricer.graph
    weights = pricer.weights(lam)
    bounded = getattr(getattr(search, "__self__", None), "uses_bounds", False)
    ends = _ends(pricer, lam, a, b, bounded)
    direct = _direct(pricer, lam, a, b)
    found = search(g, weights, ends, min(bound, direct[0]) if direct else bound)
    if found is None or (direct is not None and direct[0] <= found.cost):
        return None if direct is None else _path(pricer, [direct[1]], lam)
    pieces, arrays = _pieces(g, found, ends, a, b)
    return _measured_path(pricer, tuple(pieces), lam, arrays)


def _ends(pricer: Pricer, lam: float, a: Anchor, b: Anchor, bounded: bool = False) -> Ends:
    """The search's sources and targets at ``λ``; with ``bounded`` (and ``λ > 0``), also a
    lower bound of the exposed metres from every node to the targets (:meth:`Pricer.to_go`)."""
    src, src_len, src_exp, tgt, tgt_len, tgt_exp = _end_figures(pricer, a, b)
    to_go = pricer.to_go(a, b) if bounded and lam > 0 else None
    return Ends(src, src_len + lam * src_exp, tgt, tgt_len + lam * tgt_exp, b.xy, to_go, lam)


def _end_figures(pricer: Pricer, a: Anchor, b: Anchor) -> tuple[np.ndarray, ...]:
    """The nodes a search may start and end at, and the length and exposed metres of the
    pieces joining them to ``a`` and ``b`` (the same for every λ: kept on the pricer for the
    last few pairs of ends)."""
    memo = pricer.__dict__.setdefault("_end_memo", {})
    found = memo.get((a, b))
    if found is not None:
        return found
    found = pricer.end_figures(a, b)
    if len(memo) >= 16:
        memo.clear()
    memo[(a, b)] = found
    return found


def _measured_ends(pricer: Pricer, a: Anchor, b: Anchor) -> tuple[np.ndarray, ...]:
    """:meth:`Pricer.end_figures` (measured with ``pricer.figures``)."""
    g = pricer.graph
    la, lb = g.edge_length[a.edge], g.edge_length[b.edge]
    # the pieces from the origin to either end of its edge and from either end of the
    # destination's edge to it, where the edge's direction allows: priced in one call
    ends = [
        (bool(g.edge_bwd[a.edge]), int(g.edge_u[a.edge]), (a.edge, a.t, 0.0)),
        (bool(g.edge_fwd[a.edge]), int(g.edge_v[a.edge]), (a.edge, a.t, la)),
        (bool(g.edge_fwd[b.edge]), int(g.edge_u[b.edge]), (b.edge, 0.0, b.t)),
        (bool(g.edge_bwd[b.edge]), int(g.edge_v[b.edge]), (b.edge, lb, b.t)),
    ]
    length, exposed = pricer.figures(*piece_arrays([piece for _, _, piece in ends]))
    src = [i for i, (ok, _, _) in enumerate(ends[:2]) if ok]
    tgt = [2 + i for i, (ok, _, _) in enumerate(ends[2:]) if ok]
    return (
        np.array([ends[i][1] for i in src], np.int64), length[src], exposed[src],
        np.array([ends[i][1] for i in tgt], np.int64), length[tgt], exposed[tgt],
    )


def _direct(pricer: Pricer, lam: float, a: Anchor, b: Anchor) -> tuple[float, Piece] | None:
    g = pricer.graph
    if a.edge != b.edge:
        return None
    allowed = g.edge_fwd[a.edge] if b.t >= a.t else g.edge_bwd[a.edge]
    if not allowed:
        return None
    return pricer.cost(lam, a.edge, a.t, b.t), (a.edge, a.t, b.t)


def _pieces(
    g: StreetGraph, found: Found, ends: Ends, a: Anchor, b: Anchor
) -> tuple[list[Piece], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The pieces of a found path, as a list and as arrays (:func:`piece_arrays`): the part of
    the origin's edge, the whole edges between, the part of the destination's edge; empty
    pieces left out."""
    first_end = 0.0 if found.nodes[0] == g.edge_u[a.edge] else float(g.edge_length[a.edge])
    last_start = 0.0 if found.nodes[-1] == g.edge_u[b.edge] else float(g.edge_length[b.edge])
    edges, t0, t1, ok = _kernels.path_pieces(
        np.asarray(found.nodes, dtype=np.int64), g.csr_indptr, g.csr_indices, g.csr_edge,
        g.csr_fwd, g.edge_length, a.edge, a.t, first_end, b.edge, last_start, b.t)
    if not ok:
        raise RoutingError("internal: a path step has no edge")
    return list(zip(edges.tolist(), t0.tolist(), t1.tolist(), strict=True)), (edges, t0, t1)


def reprice(pricer: Pricer, path: Path) -> Path:
    """``path`` with its exposed metres measured by ``pricer``."""
    length, exposed = pricer.path_totals(path)
    return Path(path.pieces, length, exposed, path.lam, path.arrays(), path._totals)


def _path(pricer: Pricer, pieces: list[Piece], lam: float) -> Path:
    return _measured_path(pricer, tuple(pieces), lam, piece_arrays(pieces))


def _measured_path(
    pricer: Pricer, pieces: tuple[Piece, ...], lam: float,
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> Path:
    totals = pricer.measured(arrays)
    length, exposed = totals[pricer]
    return Path(pieces, length, exposed, lam, arrays, totals)


def least_exposure(
    solve_at: Callable[[float, float], Path | None], shortest: Path, max_length: float
) -> tuple[Path, int, float]:
    """The least-exposed path no longer than ``max_length`` on the lower convex hull.

    A bisection over λ that moves along the hull of (length, exposure): from a feasible path
    A and an infeasible path B, try λ = (len B − len A) / (exp A − exp B); a path below the line
    AB replaces A (feasible) or B (too long); the search stops when no path lies below.
    ``solve_at(λ, bound)`` returns the cheapest path costing less than ``bound``, or None.

    Returns the path, the number of searches made, and a floor: no path within
    ``max_length`` is less exposed than it. Each search at λ finds the least cost C(λ) of
    ``length + λ·exposed``, so every path no longer than ``max_length`` has exposure at least
    ``(C(λ) − max_length) / λ`` (the Lagrangian dual bound); the floor is the largest over the
    searches (0 when none was made).
    """
    if shortest.exposed <= _TOL:
        return shortest, 0, shortest.exposed
    a = shortest
    b = solve_at(LAMBDA_MAX, np.inf)
    searches = 1
    if b is None:
        return a, searches, 0.0
    floor = max(0.0, _dual(b.cost(LAMBDA_MAX), LAMBDA_MAX, max_length))
    if b.length <= max_length:
        return (b if b.exposed < a.exposed else a), searches, floor
    while a.exposed - b.exposed > _TOL and searches < 60:
        lam = (b.length - a.length) / (a.exposed - b.exposed)
        bound = min(a.cost(lam), b.cost(lam))
        c = solve_at(lam, bound)
        searches += 1
        floor = max(floor, _dual(bound if c is None else c.cost(lam), lam, max_length))
        if c is None or c.cost(lam) >= a.cost(lam) - _TOL * max(1.0, a.cost(lam)):
            break
        if c.length <= max_length:
            a = c
        else:
            b = c
    return a, searches, floor


def _dual(least_cost: float, lam: float, max_length: float) -> float:
    """The exposure below which no path within ``max_length`` lies, given that the least
    ``length + λ·exposed`` of any path is ``least_cost``."""
    return (least_cost - max_length) / lam


def pareto_front(
    solve_at: Callable[[float, float], Path | None],
    shortest: Path,
    max_length: float,
    budget: int,
) -> tuple[list[Path], int]:
    """Supported Pareto-optimal paths (length vs exposure) no longer than ``max_length``.

    Found by recursive λ bisection between neighbours on the hull; at most ``budget`` searches.
    Returns the paths (shortest first) and the number of searches made.
    """
    least = solve_at(LAMBDA_MAX, np.inf) or shortest
    found = [shortest, least]
    todo = [(shortest, least)]
    searches = 1
    while todo and searches < budget:
        p, q = todo.pop()
        if p.exposed - q.exposed <= _TOL or q.length - p.length <= _TOL:
            continue
        lam = (q.length - p.length) / (p.exposed - q.exposed)
        c = solve_at(lam, min(p.cost(lam), q.cost(lam)))
        searches += 1
        if c is not None and c.cost(lam) < p.cost(lam) - _TOL * max(1.0, p.cost(lam)):
            found.append(c)
            todo += [(p, c), (c, q)]
    unique = {(round(f.length, 3), round(f.exposed, 3)): f for f in found}
    kept = sorted((f for f in unique.values() if f.length <= max_length), key=lambda f: f.length)
    return kept, searches
