"""Where a route request's time goes: wall time per step of ``web._analyses._planned``.

Plans ``--pairs`` random routes of ``benchmarks/web_load.py``'s mix on the demo store (built
once into ``benchmarks/_work/``) with timers wrapped around the steps of a plan, and prints each
step's milliseconds per request (steps nest: ``solve`` holds the searches and the pricing of
their paths, ``make_route`` the figures and vertices of the two routes). The timers add their
own overhead (tens of microseconds a call), so the total exceeds an untimed request.

Usage::

    python benchmarks/route_steps.py --pairs 200
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import random

import web_load
from survatlas.routing import _plan, _search
from survatlas.routing import plan as plan_module
from survatlas.store import Store
from survatlas.web import _analyses

STEPS = [
    (_analyses, "_planned", "request (total)"),
    (plan_module, "solve", "searches and their paths (solve)"),
    (_search, "_astar_bounded", "  A* kernel, bounded (λ > 0)"),
    (_search, "_astar", "  A* kernel, plain (shortest route)"),
    (_plan, "to_targets", "  exposure bounds (reverse Dijkstras)"),
    (_plan, "_end_figures", "  end pieces"),
    (_plan, "_pieces", "  path pieces"),
    (_plan.Pricer, "array_totals", "pricing candidate paths (array_totals)"),
    (plan_module, "pick_robust", "picking the robust route"),
    (plan_module, "make_route", "the two routes' figures and vertices (make_route)"),
    (plan_module, "_seen", "  (scenario, level) figures"),
    (plan_module, "route_line", "  line in lon/lat (vertices, joined, projected)"),
    (plan_module, "_snap_pair", "snapping"),
    (_analyses, "_plan_result", "the answer's dictionaries"),
]


def _timer(func, label, spent):  # type: ignore[no-untyped-def]
    def timed(*a, **k):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return func(*a, **k)
        finally:
            spent[label] += time.perf_counter() - t0
    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=200)
    args = parser.parse_args()
    db = web_load.demo_store()
    spent: collections.Counter[str] = collections.Counter()
    for owner, name, label in STEPS:
        setattr(owner, name, _timer(getattr(owner, name), label, spent))
    _analyses.preload_network(db, "public")
    spent.clear()
    planned = 0
    with Store(db, create=False) as store:
        for url in web_load.route_urls(db, random.Random(1), args.pairs):
            query = parse_qs(urlsplit(url).query)
            a, b = (tuple(map(float, query[k][0].split(","))) for k in ("from", "to"))
            try:
                _analyses._planned(store, a, b, 1.25, "public", None)
                planned += 1
            except Exception:
                continue
    print(f"{planned} requests planned (demo store, robust, detour 1.25); ms per request:")
    for _, _, label in STEPS:
        print(f"  {label:52s} {spent[label] * 1000 / max(planned, 1):6.2f}")


if __name__ == "__main__":
    main()
