"""The A* searches of route requests on the demo store: plain against bounded, side by side.

Plans ``--pairs`` random routes of ``benchmarks/web_load.py``'s mix (robust scenario, detour
1.25) on the demo store (``make demo``'s Helsinki extract, covered; built once into
``benchmarks/_work/``), records every search they make, then re-runs each search with the plain
A* kernel (straight-line heuristic) and with the bounded one (plus λ × the exposure still to go,
:func:`survatlas.routing._search.to_targets`), alternating, and prints the nodes each reaches,
their CPU time per request (the bounded one with its reverse Dijkstras) and whether both find
the same path. It also plans every pair with the bound switched off and compares the answers'
JSON (``web._analyses._planned``: the route figures, geometry as WKB).

Usage::

    python benchmarks/route_search.py --pairs 100
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))

import web_load
from survatlas.routing import _plan, _search
from survatlas.store import Store
from survatlas.web import _analyses


def _pairs(db: Path, count: int) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    out = []
    for url in web_load.route_urls(db, random.Random(11), count):
        query = parse_qs(urlsplit(url).query)
        a, b = (tuple(map(float, query[k][0].split(","))) for k in ("from", "to"))
        out.append((a, b))
    return out


def _answers(store: Store, pairs: list, bounded: bool) -> list[str]:
    _search.AStar.uses_bounds = bounded
    out = []
    for a, b in pairs:
        try:
            result = _analyses._planned(store, a, b, 1.25, "public", None)
            out.append(json.dumps(result, sort_keys=True,
                                  default=lambda geom: shapely.to_wkb(geom).hex()))
        except Exception as exc:
            out.append(repr(exc))
    _search.AStar.uses_bounds = True
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=100)
    args = parser.parse_args()
    db = web_load.demo_store()
    pairs = _pairs(db, args.pairs)
    searches: list[tuple[np.ndarray, _search.Ends, float]] = []
    bound_s = []
    original, to_targets = _search.AStar.search, _plan.to_targets

    def recorded(self, graph, weights, ends, bound=np.inf):  # type: ignore[no-untyped-def]
        searches.append((weights, ends, bound))
        return original(self, graph, weights, ends, bound)

    def timed(*a):  # type: ignore[no-untyped-def]
        t0 = time.process_time()
        out = to_targets(*a)
        bound_s.append(time.process_time() - t0)
        return out

    with Store(db, create=False) as store:
        net = _analyses.shared_network(store, "public")
        net.prepare()
        g = net.graph
        _search.AStar.search, _plan.to_targets = recorded, timed
        planned = 0
        for a, b in pairs:
            try:
                _analyses._planned(store, a, b, 1.25, "public", None)
                planned += 1
            except Exception:
                continue
        _search.AStar.search, _plan.to_targets = original, to_targets
        plain_s = bounded_s = 0.0
        reached = {"plain": [], "bounded": []}
        same = same_cost = 0
        for weights, ends, bound in searches:
            common = (ends.src_nodes, ends.src_cost, ends.tgt_nodes, ends.tgt_cost)
            t0 = time.process_time()
            b1, k1, p1 = _search._astar(g.csr_indptr, g.csr_indices, weights, g.node_x, g.node_y,
                                        *common, *ends.target_xy, float(bound))
            t1 = time.process_time()
            if ends.exposed_to_go is not None:
                b2, k2, p2 = _search._astar_bounded(
                    g.csr_indptr, g.csr_indices, weights, g.node_x, g.node_y, *ends.target_xy,
                    ends.exposed_to_go, float(ends.lam), *common, float(bound))
            else:
                b2, k2, p2 = b1, k1, p1
            t2 = time.process_time()
            plain_s += t1 - t0
            bounded_s += t2 - t1 if ends.exposed_to_go is not None else t1 - t0
            reached["plain"].append(int((p1 >= 0).sum()))
            reached["bounded"].append(int((p2 >= 0).sum()))
            same_cost += b1 == b2
            same += k1 == k2 and (k1 < 0 or _search._walk_back(p1, int(ends.tgt_nodes[k1]))
                                  == _search._walk_back(p2, int(ends.tgt_nodes[k2])))
        plain, bounded = _answers(store, pairs, False), _answers(store, pairs, True)
    per = 1000 / max(planned, 1)
    print(f"demo store: {g.n_nodes} nodes; {planned} of {len(pairs)} pairs planned, "
          f"{len(searches) / max(planned, 1):.2f} searches per request")
    print(f"nodes reached per search: plain {np.mean(reached['plain']):.0f}, bounded "
          f"{np.mean(reached['bounded']):.0f}")
    print(f"search CPU per request: plain {plain_s * per:.2f} ms, bounded {bounded_s * per:.2f} ms"
          f" + bounds {sum(bound_s) * per:.2f} ms ({len(bound_s) / max(planned, 1):.1f} reverse "
          f"Dijkstras) = {(bounded_s + sum(bound_s)) * per:.2f} ms "
          f"({plain_s / max(bounded_s + sum(bound_s), 1e-9):.2f}× less)")
    print(f"same cost: {same_cost}, same path: {same} of {len(searches)} searches (another "
          "path of the same cost is a tie); same answer JSON: "
          f"{sum(x == y for x, y in zip(plain, bounded, strict=True))} of {len(pairs)} pairs")


if __name__ == "__main__":
    main()
