"""Routing benchmark (R1): least-exposure queries vs networkx; graph build for a large city.

Run: ``python benchmarks/routing.py`` (about a minute on 2 cores), or
``python benchmarks/routing.py --part query|city``.

Part ``query`` — a ~75,000-node synthetic grid city (jittered, curved streets of 1–6 blocks,
missing links), disc cameras (no occlusion) on it. For the same random origin/destination node
pairs and the same weights ``length + λ·exposed`` it times, side by side:
our A* (numba), our scipy Dijkstra, and networkx's ``bidirectional_dijkstra`` (the baseline);
then the full least-exposure route (λ search included) with ``plan_route``.

Part ``city`` — graph build + edge exposure for a city the size of the 1,000,000-building
synthetic city (grid of ~320 × 320 blocks, 10 buildings per block, 100,000 cameras), run in a
child process so that its peak memory is its own.

The street generator here is self-contained; ``--city-source synth`` uses ``survatlas.synth``
instead (its 1,000,000-building city: streets, and its cameras as 20–60 m discs) where that
module exists.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from survatlas.routing import Exposure, network_from_streets, plan_route, seen_from_discs
from survatlas.routing._search import ENGINES, Ends

CRS = "EPSG:32635"  # UTM 35N (Helsinki); the city is placed near its false origin
X0, Y0 = 380_000.0, 6_670_000.0


def grid_city(k: int, spacing: float = 90.0, seed: int = 0) -> gpd.GeoDataFrame:
    """A k × k grid city: jittered junctions, a bent midpoint per block, ways of 1–6 blocks.

    About 8 % of block segments are missing, so the network has dead ends and detours.
    """
    rng = np.random.default_rng(seed)
    jx = X0 + np.arange(k)[None, :] * spacing + rng.uniform(-15, 15, (k, k))
    jy = Y0 + np.arange(k)[:, None] * spacing + rng.uniform(-15, 15, (k, k))
    lines: list[shapely.LineString] = []
    for axis in (0, 1):
        for r in range(k):
            xs, ys = (jx[r], jy[r]) if axis == 0 else (jx[:, r], jy[:, r])
            present = rng.random(k - 1) > 0.08
            c = 0
            while c < k - 1:
                span = int(rng.integers(1, 7))
                stop = min(c + span, k - 1)
                if not present[c]:
                    c += 1
                    continue
                stop = c + 1 + int(np.argmin(np.append(present[c + 1 : stop], False)))
                pts = []
                for j in range(c, stop):
                    pts.append((xs[j], ys[j]))
                    bend = rng.uniform(-6, 6)
                    mx, my = (xs[j] + xs[j + 1]) / 2, (ys[j] + ys[j + 1]) / 2
                    pts.append((mx + (bend if axis else 0), my + (0 if axis else bend)))
                pts.append((xs[stop], ys[stop]))
                lines.append(shapely.LineString(pts))
                c = stop
    n = len(lines)
    return gpd.GeoDataFrame(
        {"id": np.arange(1, n + 1), "highway": "residential", "tags": [{}] * n},
        geometry=lines,
        crs=CRS,
    )


def disc_cameras(
    streets: gpd.GeoDataFrame, n: int, seed: int = 1
) -> list[tuple[int, float, float, float]]:
    """``n`` cameras near random street points, radius 20–60 m."""
    rng = np.random.default_rng(seed)
    lines = streets.geometry.values[rng.integers(0, len(streets), n)]
    pts = shapely.get_coordinates(
        shapely.line_interpolate_point(lines, rng.random(n), normalized=True)
    )
    pts += rng.uniform(-8, 8, pts.shape)
    radius = rng.uniform(20, 60, n)
    return [(i + 1, *map(float, pts[i]), float(radius[i])) for i in range(n)]


def _ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def part_query(queries: int, k: int, cameras: int, lam: float) -> dict:
    streets = grid_city(k)
    t0 = time.perf_counter()
    seen = seen_from_discs(
        streets["id"].tolist(), streets.geometry.values, disc_cameras(streets, cameras)
    )
    net = network_from_streets(streets, Exposure({("typical", "detection"): seen}))
    pricer = net.pricer("typical", "detection")
    build_s = time.perf_counter() - t0
    g = net.graph
    weights = pricer.entry_len + lam * pricer.entry_exp
    rows = np.repeat(np.arange(g.n_nodes), np.diff(g.csr_indptr))
    nxg = nx.Graph()
    nxg.add_weighted_edges_from(
        zip(rows.tolist(), g.csr_indices.tolist(), weights.tolist(), strict=True)
    )
    rng = np.random.default_rng(7)
    main = np.flatnonzero(g.component == np.bincount(g.component).argmax())
    pairs = [tuple(rng.choice(main, 2, replace=False)) for _ in range(queries)]
    ENGINES["astar"].search(g, weights, _ends(g, *pairs[0]))  # compile / load the numba cache
    times: dict[str, list[float]] = {"astar": [], "scipy": [], "networkx_bidirectional": []}
    for s, t in pairs:
        costs = []
        for name in ("astar", "scipy"):
            t0 = time.perf_counter()
            found = ENGINES[name].search(g, weights, _ends(g, s, t))
            times[name].append(time.perf_counter() - t0)
            costs.append(found.cost)
        t0 = time.perf_counter()
        cost, _ = nx.bidirectional_dijkstra(nxg, int(s), int(t))
        times["networkx_bidirectional"].append(time.perf_counter() - t0)
        assert abs(costs[0] - cost) < 1e-6 * cost and abs(costs[1] - cost) < 1e-6 * cost
    plan_ms, searches = _plans(net, queries // 2)
    base = _ms(times["networkx_bidirectional"])
    return {
        "nodes": g.n_nodes,
        "edges": len(g.edge_u),
        "cameras": cameras,
        "lambda": lam,
        "queries": queries,
        "build_graph_and_exposure_s": round(build_s, 2),
        "median_ms": {name: round(_ms(v), 2) for name, v in times.items()},
        "speedup_vs_networkx": {
            name: round(base / _ms(times[name]), 1) for name in ("astar", "scipy")
        },
        "plan_route_median_ms": plan_ms,
        "plan_route_searches_median_max": searches,
    }


def _ends(g, s: int, t: int) -> Ends:  # type: ignore[no-untyped-def]
    return Ends(
        np.array([s], np.int64),
        np.zeros(1),
        np.array([t], np.int64),
        np.zeros(1),
        tuple(g.node_xy[t]),
    )


def synth_streets(buildings: int, cameras: int) -> tuple[gpd.GeoDataFrame, list, int]:
    """Streets and disc cameras of ``survatlas.synth`` (main branch) with ``buildings``."""
    from survatlas.synth import synth_city  # not on every branch: only for --city-source synth

    side = (buildings / 1375.0) ** 0.5 * 1000.0  # the generator's default density per km²
    city = synth_city(side, side, seed=3, n_cameras=cameras)
    n = len(city.streets)
    streets = gpd.GeoDataFrame(
        {"id": np.arange(1, n + 1), "highway": city.street_highway, "tags": [{}] * n},
        geometry=city.streets,
        crs=city.crs,
    )
    radius = np.random.default_rng(4).uniform(20, 60, len(city.cameras))
    cams = [(i + 1, c["x"], c["y"], float(radius[i])) for i, c in enumerate(city.cameras)]
    return streets, cams, len(city.buildings)


def part_city(k: int, cameras: int, source: str = "grid") -> dict:
    t0 = time.perf_counter()
    if source == "synth":
        streets, cams, n_buildings = synth_streets(1_000_000, cameras)
    else:
        streets = grid_city(k, seed=3)
        cams, n_buildings = disc_cameras(streets, cameras, seed=4), 10 * (k - 1) ** 2
    gen_s = time.perf_counter() - t0
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    seen = seen_from_discs(streets["id"].tolist(), streets.geometry.values, cams)
    seen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    net = network_from_streets(streets, Exposure({("typical", "detection"): seen}))
    graph_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pricer = net.pricer("typical", "detection")
    exposure_s = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    plan_ms, searches = _plans(net, 20)
    return {
        "city": source if source == "synth" else f"grid of {k - 1} x {k - 1} blocks",
        "buildings": n_buildings,
        "streets": len(streets),
        "cameras": cameras,
        "nodes": net.graph.n_nodes,
        "edges": len(net.graph.edge_u),
        "edges_in_view": int((pricer.exposed > 0).sum()),
        "generate_s": round(gen_s, 1),
        "disc_intervals_s": round(seen_s, 1),
        "graph_build_s": round(graph_s, 1),
        "edge_exposure_s": round(exposure_s, 2),
        "peak_rss_mb": round(rss1 / 1024, 0),
        "rss_growth_during_build_mb": round((rss1 - rss0) / 1024, 0),
        "plan_route_median_ms": plan_ms,
        "plan_route_searches_median_max": searches,
    }


def _plans(net, n: int) -> tuple[float, list[float]]:  # type: ignore[no-untyped-def]
    """Median time of full least-exposure plans (λ search + figures) and searches per plan."""
    g = net.graph
    rng = np.random.default_rng(11)
    main = np.flatnonzero(g.component == np.bincount(g.component).argmax())
    times, searches = [], []
    for _ in range(n + 1):
        s, t = rng.choice(main, 2, replace=False)
        o, d = net.to_latlon(g.node_xy[s]), net.to_latlon(g.node_xy[t])
        t0 = time.perf_counter()
        plan = plan_route(net, o, d, max_detour=1.25)
        times.append(time.perf_counter() - t0)
        searches.append(plan.searches)
    return round(_ms(times[1:]), 1), [statistics.median(searches[1:]), max(searches[1:])]


def main() -> None:
    """Run the parts asked for and print the figures side by side."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("query", "city", "all"), default="all")
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--k", type=int, default=274, help="junctions per side (query part)")
    ap.add_argument("--city-k", type=int, default=317, help="junctions per side (city part)")
    ap.add_argument("--lambda", dest="lam", type=float, default=4.0)
    ap.add_argument("--cameras", type=int, default=15_000, help="cameras (query part)")
    ap.add_argument(
        "--city-source",
        choices=("grid", "synth"),
        default="grid",
        help="city part: this script's grid, or survatlas.synth (1,000,000 buildings)",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = {}
    if args.part in ("query", "all"):
        out["query"] = part_query(args.queries, args.k, args.cameras, args.lam)
    if args.part == "city":
        out["city"] = part_city(args.city_k, 100_000, args.city_source)
    elif args.part == "all":
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--part",
                "city",
                "--city-k",
                str(args.city_k),
                "--city-source",
                args.city_source,
                "--json",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        out["city"] = json.loads(child.stdout)["city"]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
