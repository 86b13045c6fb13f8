"""Routing under optics uncertainty: the worst case over scenarios (plumbing for :mod:`routing`).

A route's exposure depends on the optics assumed for cameras of unknown optics. The *robust*
route minimises the worst case over the scenarios: ``max_s exposed_s(route)``. That objective
is not additive along a path, so the search minimises an additive upper bound — each edge
priced at its largest exposure over the scenarios — and the answer is the candidate (shortest
route, the bound's least-exposed route, and each scenario's least-exposed route, all within the
detour) with the smallest true worst case. The shortest route is a candidate, so the robust
route is never more exposed in the worst case than the shortest. A scenario that prices every
edge and both end pieces of a query as the bound does (the widest optics, when the scenarios'
views are nested) poses the bound's own search: its candidate is not searched again.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from survatlas.routing._graph import StreetGraph
from survatlas.routing._plan import _TOL, Anchor, Path, Pricer, _end_figures, piece_arrays

#: scenario names accepted by ``route --scenario`` besides the optics scenarios
ROBUST = "robust"


class WorstPricer(Pricer):
    """Each edge priced at its largest exposed length over several scenarios' pricers."""

    def __init__(self, pricers: Sequence[Pricer]) -> None:
        first = pricers[0]
        self.pricers = tuple(pricers)
        self.graph: StreetGraph = first.graph
        self.index = first.index
        self.length = first.length
        self.exposed = np.max(np.stack([p.exposed for p in pricers]), axis=0)
        self.entry_len = first.entry_len
        self.entry_exp = self.exposed[self.graph.csr_edge]
        self._weights: dict[float, np.ndarray] = {}
        #: per scenario pricer: whether it prices every edge as this pricer does
        self._edges_alike = tuple(bool(np.all(self.exposed - p.exposed <= _TOL)) for p in pricers)

    def searches_alike(self, pricer: Pricer, a: Anchor, b: Anchor) -> bool:
        """Whether ``pricer`` (one of the scenarios') prices every edge and the end pieces of
        the query from ``a`` to ``b`` as this pricer does, to :data:`_TOL` metres: its searches
        are then this pricer's searches (same weights, same ends), made again."""
        if not self._edges_alike[self.pricers.index(pricer)]:
            return False
        mine, theirs = _end_figures(self, a, b), _end_figures(pricer, a, b)
        return all(np.all(m - t <= _TOL) for m, t in zip(mine[2::3], theirs[2::3], strict=True))

    def end_figures(self, a: Anchor, b: Anchor) -> tuple[np.ndarray, ...]:
        """The scenarios' end figures (:func:`_end_figures`, kept on their pricers), the
        exposed metres of each end piece the largest of theirs (as :meth:`figures` gives)."""
        each = [_end_figures(p, a, b) for p in self.pricers]
        src, src_len, _, tgt, tgt_len, _ = each[0]
        return (src, src_len, _largest([e[2] for e in each]),
                tgt, tgt_len, _largest([e[5] for e in each]))

    def figures(
        self, edges: np.ndarray, t0: np.ndarray, t1: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Length and the largest exposed metres over the scenarios of each piece."""
        seen = _largest([p.figures(edges, t0, t1)[1] for p in self.pricers])
        return np.abs(t1 - t0), seen

    def measured(
        self, arrays: tuple[np.ndarray, np.ndarray, np.ndarray]
    ) -> dict[Pricer, tuple[float, float]]:
        """:meth:`array_totals` of the pieces ``arrays`` for this pricer and each scenario's
        (their figures are measured once for both)."""
        edges, t0, t1 = arrays
        if not len(edges):
            return {p: (0.0, 0.0) for p in (self, *self.pricers)}
        length = np.abs(t1 - t0)
        total = float(length.sum())
        seen = [p.figures(edges, t0, t1)[1] for p in self.pricers]
        out: dict[Pricer, tuple[float, float]] = {
            p: (total, float(s.sum())) for p, s in zip(self.pricers, seen, strict=True)}
        out[self] = (total, float(_largest(seen).sum()))
        return out


def _largest(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """The elementwise largest of equally long arrays (``np.max(np.stack(arrays), axis=0)``)."""
    out = arrays[0]
    for more in arrays[1:]:
        out = np.maximum(out, more)
    return out


def worst_case(pricers: Sequence[Pricer], path: Path) -> float:
    """The largest exposed length of ``path`` over the scenarios of ``pricers``."""
    if not isinstance(path, Path):
        return max(p.array_totals(*piece_arrays(path.pieces))[1] for p in pricers)
    return max(p.path_totals(path)[1] for p in pricers)


def pick_robust(
    candidates: Sequence[Path], pricers: Sequence[Pricer], max_length: float,
    worst: Sequence[float] | None = None,
) -> Path:
    """The candidate within ``max_length`` with the smallest worst case (then the shortest).

    The first candidate must be the shortest route (always allowed). ``worst``: the
    candidates' :func:`worst_case`, when already known.
    """
    if worst is None:
        worst = [worst_case(pricers, c) for c in candidates]
    allowed = [i for i, c in enumerate(candidates) if c.length <= max_length + 1e-6] or [0]
    scored = [(round(worst[i], 6), candidates[i].length, k) for k, i in enumerate(allowed)]
    return candidates[allowed[min(scored)[2]]]
