"""Shortest-path engines over a :class:`~survatlas.routing._graph.StreetGraph` (strategy classes).

Each engine answers one question: the cheapest path from a set of *sources* (node, starting
cost) to a set of *targets* (node, finishing cost), given a weight per CSR entry. Sources and
targets are the two ends of the edges the origin and destination were snapped onto, so partial
edges are priced exactly.

- :class:`AStar` (default): A*, compiled with numba. Its heuristic is the straight-line
  distance (admissible because every weight is at least the edge length, which is at least the
  distance between its ends) plus, when the ends carry it, λ times a lower bound of the exposed
  metres from each node to the targets (:func:`to_targets`: one reverse Dijkstra per route
  request and optics scenario, stopped once the sources are settled). Both terms are
  consistent lower bounds, so their sum is one of ``length + λ · exposed``; searches with
  λ > 0 (which the straight line alone hardly guides) then settle far fewer nodes. Either way
  the search returns the cheapest path.
- :class:`ScipyDijkstra`: scipy.sparse.csgraph Dijkstra from a virtual source node, pruned with
  ``limit`` when an upper bound is known.
- :class:`NetworkxDijkstra`: networkx, the test oracle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from survatlas.routing._graph import StreetGraph

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True)
class Found:
    """A cheapest path: its cost, which source and target it used, and its node sequence."""

    cost: float
    source: int
    target: int
    nodes: Sequence[int] | np.ndarray


@dataclass(frozen=True)
class Ends:
    """Sources and targets of a search: node ids and their extra costs, and the target point."""

    src_nodes: np.ndarray
    src_cost: np.ndarray
    tgt_nodes: np.ndarray
    tgt_cost: np.ndarray
    target_xy: tuple[float, float]
    #: per node, a lower bound of the exposed metres to the targets (their end pieces
    #: included; ``inf``: no target reachable), or None (straight-line heuristic only)
    exposed_to_go: np.ndarray | None = None
    #: the λ of the weights (``length + λ · exposed``) the bound is combined with
    lam: float = 0.0


class AStar:
    """A* over the CSR arrays (numba); the default engine."""

    name = "astar"
    #: the search reads :attr:`Ends.exposed_to_go` (the other engines ignore it)
    uses_bounds = True

    def search(
        self, graph: StreetGraph, weights: np.ndarray, ends: Ends, bound: float = np.inf
    ) -> Found | None:
        """The cheapest path, or None when no target is reachable (within ``bound``)."""
        if ends.exposed_to_go is not None and ends.lam > 0:
            best, k_tgt, pred = _astar_bounded(
                graph.csr_indptr, graph.csr_indices, weights, graph.node_x, graph.node_y,
                ends.target_xy[0], ends.target_xy[1], ends.exposed_to_go, float(ends.lam),
                ends.src_nodes, ends.src_cost, ends.tgt_nodes, ends.tgt_cost, float(bound))
        else:
            best, k_tgt, pred = self._plain(graph, weights, ends, bound)
        if k_tgt < 0:
            return None
        nodes = _walk_back(pred, int(ends.tgt_nodes[k_tgt]))
        return Found(best, _source_index(ends, int(nodes[0])), int(k_tgt), nodes)

    @staticmethod
    def _plain(
        graph: StreetGraph, weights: np.ndarray, ends: Ends, bound: float
    ) -> tuple[float, int, np.ndarray]:
        return _astar(
            graph.csr_indptr,
            graph.csr_indices,
            weights,
            graph.node_x,
            graph.node_y,
            ends.src_nodes,
            ends.src_cost,
            ends.tgt_nodes,
            ends.tgt_cost,
            ends.target_xy[0],
            ends.target_xy[1],
            bound,
        )


class ScipyDijkstra:
    """scipy.sparse.csgraph Dijkstra from a virtual source node."""

    name = "scipy"

    def search(
        self, graph: StreetGraph, weights: np.ndarray, ends: Ends, bound: float = np.inf
    ) -> Found | None:
        """The cheapest path, or None when no target is reachable (within ``bound``)."""
        n, nnz = graph.n_nodes, len(graph.csr_indices)
        order = np.argsort(ends.src_nodes)
        matrix = csr_matrix(
            (
                np.concatenate([weights, ends.src_cost[order]]),
                np.concatenate([graph.csr_indices, ends.src_nodes[order]]),
                np.concatenate([graph.csr_indptr, [nnz + len(order)]]),
            ),
            shape=(n + 1, n + 1),
        )
        limit = bound * (1 + 1e-9) if np.isfinite(bound) else np.inf
        dist, pred = dijkstra(matrix, indices=n, return_predecessors=True, limit=limit)
        total = dist[ends.tgt_nodes] + ends.tgt_cost
        k = int(np.argmin(total))
        if not np.isfinite(total[k]):
            return None
        nodes = _walk_back(np.where(pred == n, -1, pred), int(ends.tgt_nodes[k]))
        return Found(float(total[k]), _source_index(ends, int(nodes[0])), k, nodes)


class NetworkxDijkstra:
    """networkx Dijkstra with virtual source and target nodes: the oracle of the tests."""

    name = "networkx"

    def search(
        self, graph: StreetGraph, weights: np.ndarray, ends: Ends, bound: float = np.inf
    ) -> Found | None:
        """The cheapest path, or None when no target is reachable."""
        import networkx as nx

        g = to_networkx(graph, weights)
        for node, cost in zip(ends.src_nodes.tolist(), ends.src_cost.tolist(), strict=True):
            g.add_edge("s", node, weight=cost)
        for node, cost in zip(ends.tgt_nodes.tolist(), ends.tgt_cost.tolist(), strict=True):
            g.add_edge(node, "t", weight=cost)
        try:
            cost, path = nx.single_source_dijkstra(g, "s", "t")
        except nx.NetworkXNoPath:
            return None
        nodes = path[1:-1]
        k_tgt = int(np.flatnonzero(ends.tgt_nodes == nodes[-1])[0])
        return Found(float(cost), _source_index(ends, nodes[0]), k_tgt, nodes)


def to_networkx(graph: StreetGraph, weights: np.ndarray) -> nx.DiGraph:
    """The graph as a networkx DiGraph with ``weight`` per directed step."""
    import networkx as nx

    rows = np.repeat(np.arange(graph.n_nodes), np.diff(graph.csr_indptr))
    g = nx.DiGraph()
    g.add_nodes_from(range(graph.n_nodes))
    g.add_weighted_edges_from(
        zip(rows.tolist(), graph.csr_indices.tolist(), weights.tolist(), strict=True)
    )
    return g


ENGINES = {e.name: e for e in (AStar(), ScipyDijkstra(), NetworkxDijkstra())}


def warm_up() -> None:
    """Load (or compile) the bounded search's kernels now, on a two-node graph, so that no
    route request pays for it (``Network.prepare``; the plain A* is loaded by a first plan)."""
    indptr, indices = np.array([0, 1, 2], np.int64), np.array([1, 0], np.int64)
    weights, xy = np.ones(2), np.zeros(2)
    one, zero = np.array([1], np.int64), np.array([0], np.int64)
    to_go = to_targets(indptr, indices, weights, one, np.zeros(1), zero)
    _astar_bounded(indptr, indices, weights, xy, xy, 0.0, 0.0, to_go, 1.0, zero, np.zeros(1),
                   one, np.zeros(1), np.inf)


def _source_index(ends: Ends, node: int) -> int:
    return ends.src_nodes.tolist().index(node)  # one or two sources


def _walk_back(pred: np.ndarray, node: int) -> np.ndarray:
    """The node sequence ending at ``node`` along the predecessors (compiled walk)."""
    return _walk_back_nb(np.ascontiguousarray(pred, dtype=np.int64), node)


@njit(cache=True, nogil=True)
def _walk_back_nb(pred, node):  # type: ignore[no-untyped-def]
    n = 1
    at = node
    while pred[at] >= 0 and n <= len(pred):
        at = pred[at]
        n += 1
    out = np.empty(n, np.int64)
    at = node
    for i in range(n - 1, -1, -1):
        out[i] = at
        at = pred[at] if i else at
    return out


@njit(cache=True, nogil=True)
def _push(keys, vals, size, key, val):  # type: ignore[no-untyped-def]
    i = size
    keys[i], vals[i] = key, val
    while i > 0:
        parent = (i - 1) // 2
        if keys[parent] <= keys[i]:
            break
        keys[parent], keys[i] = keys[i], keys[parent]
        vals[parent], vals[i] = vals[i], vals[parent]
        i = parent
    return size + 1


@njit(cache=True, nogil=True)
def _pop(keys, vals, size):  # type: ignore[no-untyped-def]
    key, val = keys[0], vals[0]
    size -= 1
    keys[0], vals[0] = keys[size], vals[size]
    i = 0
    while True:
        left, small = 2 * i + 1, i
        if left < size and keys[left] < keys[small]:
            small = left
        if left + 1 < size and keys[left + 1] < keys[small]:
            small = left + 1
        if small == i:
            break
        keys[small], keys[i] = keys[i], keys[small]
        vals[small], vals[i] = vals[i], vals[small]
        i = small
    return key, val, size


@njit(cache=True, nogil=True)
def _astar(indptr, indices, weights, xs, ys, src, src_cost, tgt, tgt_cost, tx, ty, bound):  # type: ignore[no-untyped-def]
    n = len(indptr) - 1
    g = np.full(n, np.inf)
    pred = np.full(n, -1, np.int64)
    closed = np.zeros(n, np.bool_)
    cap = len(indices) + len(src) + 1
    keys = np.empty(cap)
    vals = np.empty(cap, np.int64)
    size = 0
    shrink = 1.0 - 1e-9
    for k in range(len(src)):
        s = src[k]
        if src_cost[k] < g[s]:
            g[s] = src_cost[k]
            h = shrink * np.hypot(xs[s] - tx, ys[s] - ty)
            size = _push(keys, vals, size, g[s] + h, s)
    best, best_t = bound, -1
    while size > 0:
        f, v, size = _pop(keys, vals, size)
        if f >= best:
            break
        if closed[v]:
            continue
        closed[v] = True
        for k in range(len(tgt)):
            if tgt[k] == v and g[v] + tgt_cost[k] < best:
                best, best_t = g[v] + tgt_cost[k], k
        for e in range(indptr[v], indptr[v + 1]):
            w = indices[e]
            ng = g[v] + weights[e]
            if ng < g[w]:
                g[w] = ng
                pred[w] = v
                h = shrink * np.hypot(xs[w] - tx, ys[w] - ty)
                size = _push(keys, vals, size, ng + h, w)
    return best, best_t, pred


@njit(cache=True, nogil=True)
def _astar_bounded(indptr, indices, weights, xs, ys, tx, ty, h_exp, lam, src, src_cost, tgt,  # type: ignore[no-untyped-def]
                   tgt_cost, bound):
    """A* with ``h = (1 − 10⁻⁹) · (straight-line distance + λ · h_exp)`` (``h_exp``: a lower
    bound of the exposed metres to the targets, :func:`to_targets`); a node reached again more
    cheaply is opened again, so the answer is the cheapest path even where rounding makes the
    bound a hair inconsistent. Nodes that reach no target (``h_exp`` infinite) are never
    queued.

    The queue starts with room for one entry per step of the graph (a node reopened makes more:
    :func:`_bounded_steps` stops before it could overflow, and the queue doubles)."""
    n = len(indptr) - 1
    g = np.full(n, np.inf)
    pred = np.full(n, -1, np.int64)
    closed = np.zeros(n, np.bool_)
    cap = len(indices) + len(src) + 1
    keys = np.empty(cap)
    vals = np.empty(cap, np.int64)
    size = 0
    shrink = 1.0 - 1e-9
    for k in range(len(src)):
        s = src[k]
        if src_cost[k] < g[s] and h_exp[s] < np.inf:
            g[s] = src_cost[k]
            h = shrink * (np.hypot(xs[s] - tx, ys[s] - ty) + lam * h_exp[s])
            size = _push(keys, vals, size, g[s] + h, s)
    best, best_t = bound, -1
    while True:
        size, best, best_t, full = _bounded_steps(
            indptr, indices, weights, xs, ys, tx, ty, h_exp, lam, tgt, tgt_cost, g, pred,
            closed, keys, vals, size, best, best_t)
        if not full:
            return best, best_t, pred
        keys, vals = _grow_f(keys, 2 * len(keys)), _grow_i(vals, 2 * len(vals))


@njit(cache=True, nogil=True)
def _bounded_steps(indptr, indices, weights, xs, ys, tx, ty, h_exp, lam, tgt, tgt_cost, g,  # type: ignore[no-untyped-def]
                   pred, closed, keys, vals, size, best, best_t):
    """The main loop of :func:`_astar_bounded` over its state; ``full`` (and the state as it
    was) when the queue may not have room for the next node's steps. The queue is never
    reallocated here, so the loop runs without reference counting."""
    shrink = 1.0 - 1e-9
    cap = len(keys)
    while size > 0:
        if size + indptr[vals[0] + 1] - indptr[vals[0]] > cap:
            return size, best, best_t, True
        f, v, size = _pop(keys, vals, size)
        if f >= best:
            break
        if closed[v]:
            continue
        closed[v] = True
        for k in range(len(tgt)):
            if tgt[k] == v and g[v] + tgt_cost[k] < best:
                best, best_t = g[v] + tgt_cost[k], k
        for e in range(indptr[v], indptr[v + 1]):
            w = indices[e]
            ng = g[v] + weights[e]
            if ng < g[w] and h_exp[w] < np.inf:
                g[w] = ng
                pred[w] = v
                closed[w] = False
                h = shrink * (np.hypot(xs[w] - tx, ys[w] - ty) + lam * h_exp[w])
                size = _push(keys, vals, size, ng + h, w)
    return size, best, best_t, False


@njit(cache=True, nogil=True)
def to_targets(rev_indptr, rev_indices, rev_weights, tgt, tgt_cost, src):  # type: ignore[no-untyped-def]
    """A lower bound of the least cost from every node to the targets (``tgt_cost`` added at
    each target): Dijkstra over the reversed graph (``rev_*``: the transposed CSR arrays and
    the weight of each of its entries), stopped once every ``src`` node is settled.

    Settled nodes get their least cost, the others the smallest key still queued (no less
    than theirs: a consistent bound, ``min(least cost, that key)``); ``inf`` where no target is
    reachable."""
    n = len(rev_indptr) - 1
    dist = np.full(n, np.inf)
    done = np.zeros(n, np.bool_)
    cap = len(rev_indices) + len(tgt) + 1
    keys = np.empty(cap)
    vals = np.empty(cap, np.int64)
    size = 0
    # nodes reached at the key being settled (steps of no exposure, most of them): settled
    # next in any order, without the heap
    level = np.empty(n, np.int64)
    top = 0
    waiting = 0
    wanted = np.zeros(n, np.bool_)
    for k in range(len(src)):
        if not wanted[src[k]]:
            wanted[src[k]] = True
            waiting += 1
    for k in range(len(tgt)):
        t = tgt[k]
        if tgt_cost[k] < dist[t]:
            dist[t] = tgt_cost[k]
            size = _push(keys, vals, size, dist[t], t)
    while size > 0 or top > 0:
        if top > 0:
            top -= 1
            v = level[top]
            d = dist[v]
        else:
            d, v, size = _pop(keys, vals, size)
        if done[v]:
            continue
        if waiting == 0:  # every source settled: the rest cost at least d
            for u in range(n):
                if not done[u]:
                    dist[u] = d
            break
        done[v] = True
        if wanted[v]:
            waiting -= 1
        for e in range(rev_indptr[v], rev_indptr[v + 1]):
            w = rev_indices[e]
            nd = d + rev_weights[e]
            if nd < dist[w]:
                dist[w] = nd
                if nd == d:
                    level[top] = w
                    top += 1
                else:
                    size = _push(keys, vals, size, nd, w)
    return dist


@njit(cache=True, nogil=True)
def _grow_f(arr, cap):  # type: ignore[no-untyped-def]
    out = np.empty(cap)
    out[: len(arr)] = arr
    return out


@njit(cache=True, nogil=True)
def _grow_i(arr, cap):  # type: ignore[no-untyped-def]
    out = np.empty(cap, np.int64)
    out[: len(arr)] = arr
    return out
