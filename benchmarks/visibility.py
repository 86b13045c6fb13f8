"""Visibility kernel benchmarks V1–V6: the numba kernel against shapely baselines, side by side.

Run from the repository root::

    python benchmarks/visibility.py                  # default sizes, a few minutes on 2 cores
    python benchmarks/visibility.py --quick          # smoke run (seconds)
    python benchmarks/visibility.py --scale-buildings 1000000 --scale-views 100000

V1  kernel vs naive oracle (sector minus per-edge shadows), one thread, R = 50 m, FOV 60°
V2  the same at R = 100 m, FOV 90°
V3  kernel vs the convex-hull-shadow shortcut (both view sizes)
V4  scale: many cameras among a large generated city (default 2 threads)
V5  two threads vs one thread
V6  kernel ray-versus-wall tests per second vs a bare ray-versus-segment numba loop
L   long ranges of the worst-case optics scenario (fixed 26 mm / dome 68.2 mm lenses, 4K):
    kernel vs naive oracle, one thread, in the V4 city

With ``--occlusion 2.5d`` it runs instead the height-aware rows, 2.5-D against 2-D side by side
(issue 20's speed targets)::

    python benchmarks/visibility.py --occlusion 2.5d           # 3 km kernel city, 10 km e2e
    python benchmarks/visibility.py --occlusion 2.5d --quick

K   kernel views per second: :func:`survatlas.coverage.visibility` (2-D) and
    :func:`survatlas.coverage.occlusion.visibility25` (2.5-D) on the same views of the V1 city,
    whose buildings get storeys (1–12) and whose cameras keep their synthetic heights
    (3–10 m); target: 2.5-D keeps ≥ 50 % of the 2-D rate.
E   end to end: :func:`survatlas.coverage.analysis.analyse` (typical optics, detection, 4 m
    cells) of a 10 km × 10 km synthetic city with ``occlusion="2d"`` and ``"2.5d"``; target:
    2.5-D within 1.5× the 2-D time.

The two models are timed in alternating rounds (2-D, 2.5-D, 2-D, …), wall and CPU time, and
the median of the per-round ratios is the figure to quote.

Every ratio is measured in this one run on the same views. Times are wall-clock
(``time.perf_counter``) and CPU (``time.process_time``); other processes sharing the cores slow
wall time, so the load average is printed with the results.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from survatlas.coverage import (
    HullShortcut,
    NaiveOracle,
    prepare_obstacles,
    visibility,
)
from survatlas.coverage.analysis import Settings, analyse
from survatlas.coverage.heights import building_heights
from survatlas.coverage.occlusion import visibility25
from survatlas.coverage.scale import synthetic_inputs
from survatlas.optics import SCENARIOS, dori_distances, hfov_deg
from survatlas.synth import synth_city

VIEW_SIZES = {"V1": (50.0, 60.0), "V2": (100.0, 90.0)}


def _timed(fn, repeat: int) -> tuple[float, float, object]:
    """Best wall and CPU time over ``repeat`` runs, and the last result."""
    best_wall = best_cpu = math.inf
    out = None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best_wall, best_cpu, out


def _scene(km: float, n_views: int, seed: int):
    city = synth_city(km * 1000, km * 1000, seed=seed, n_cameras=n_views)
    t0 = time.perf_counter()
    obs = prepare_obstacles(city.buildings)
    prep = time.perf_counter() - t0
    x, y = city.camera_xy()
    d = np.random.default_rng(seed).uniform(0, 360, x.size)
    return city, obs, x, y, d, prep


def _iou(a, b) -> float:
    import shapely

    u = shapely.union(a, b).area
    return 1.0 if u == 0 else shapely.intersection(a, b).area / u


@numba.njit(cache=True)
def _bare_loop(ox, oy, ux, uy, ax, ay, bx, by):
    """Nearest hit of every ray against every segment: the bare ray-vs-segment test."""
    total = 0.0
    for r in range(ux.shape[0]):
        best = np.inf
        for e in range(ax.shape[0]):
            ex = bx[e] - ax[e]
            ey = by[e] - ay[e]
            den = ux[r] * ey - uy[r] * ex
            wx = ax[e] - ox[r]
            wy = ay[e] - oy[r]
            t = (wx * ey - wy * ex) / den
            s = (wx * uy[r] - wy * ux[r]) / den
            if 0.0 < t < best and 0.0 <= s <= 1.0:
                best = t
        total += best if best < np.inf else 0.0
    return total


def _one_size(obs, naive, hull, x, y, d, radius, fov, n_oracle, repeat) -> dict:
    kw, kc, reg = _timed(lambda: visibility(obs, x, y, d, fov, radius, threads=1), repeat)
    xs, ys, ds = x[:n_oracle], y[:n_oracle], d[:n_oracle]
    ow, _, oracle = _timed(lambda: naive.visibility(xs, ys, ds, fov, radius), 1)
    hw, _, _ = _timed(lambda: hull.visibility(xs, ys, ds, fov, radius), 1)
    k_rate, o_rate, h_rate = x.size / kw, n_oracle / ow, n_oracle / hw
    polys = reg.to_polygons()[:n_oracle]
    ok = reg.status[:n_oracle] < 2
    ious = [_iou(a, b) for a, b, keep in zip(polys, oracle, ok, strict=True) if keep]
    return {"radius_m": radius, "fov_deg": fov, "kernel_views": int(x.size),
            "baseline_views": n_oracle, "kernel_views_per_s": k_rate,
            "kernel_cpu_views_per_s": x.size / kc, "oracle_views_per_s": o_rate,
            "hull_views_per_s": h_rate, "ratio_vs_oracle": k_rate / o_rate,
            "ratio_vs_hull": k_rate / h_rate, "iou_mean": float(np.mean(ious)),
            "iou_min": float(np.min(ious)), "edge_tests": int(reg.edge_tests),
            "kernel_seconds": kw}


def kernel_vs_baselines(obs, x, y, d, n_oracle: int, repeat: int) -> dict:
    """V1, V2, V3: views per second, one thread, same views for every method."""
    naive, hull = NaiveOracle(obs), HullShortcut(obs)
    return {name: _one_size(obs, naive, hull, x, y, d, radius, fov, n_oracle, repeat)
            for name, (radius, fov) in VIEW_SIZES.items()}


def threads_scaling(obs, x, y, d, repeat: int) -> dict:
    """V5: best wall time with one and with two threads, runs interleaved.

    Also the cores the two-thread run actually got (CPU time / wall time): when other jobs hold
    the cores this stays near 1 and the speedup says nothing about the kernel.
    """
    best = {1: math.inf, 2: math.inf}
    cores = 0.0
    for _ in range(repeat):
        for th in (1, 2):
            w0, c0 = time.perf_counter(), time.process_time()
            visibility(obs, x, y, d, 60.0, 50.0, threads=th)
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            if wall < best[th]:
                best[th] = wall
                cores = cpu / wall if th == 2 else cores
    return {"views": int(x.size), "one_thread_s": best[1], "two_threads_s": best[2],
            "speedup": best[1] / best[2], "cores_used_two_threads": cores}


def edge_test_rate(obs, x, y, d, v1: dict, repeat: int) -> dict:
    """V6: kernel ray-vs-wall tests per second against a bare ray-vs-segment loop.

    Two readings. *Literal*: the ray-vs-wall tests the kernel makes, per second of kernel time.
    *Work-equivalent*: the tests a brute-force kernel needs for the same views — a ray to both
    ends of every wall meeting the sector (and its two boundary rays), each tested against
    every such wall — per second of kernel time; this is the quantity the target was set on.
    """
    rng = np.random.default_rng(1)
    pick = rng.choice(obs.n_edges, size=min(2000, obs.n_edges), replace=False)
    ax, ay, bx, by = (a[pick].copy() for a in (obs.ax, obs.ay, obs.bx, obs.by))
    n_rays = 2000
    ang = rng.uniform(0, 2 * np.pi, n_rays)
    ox, oy = rng.choice(x, n_rays), rng.choice(y, n_rays)
    ux, uy = np.cos(ang), np.sin(ang)
    _bare_loop(ox[:2], oy[:2], ux[:2], uy[:2], ax, ay, bx, by)
    bw, _, _ = _timed(lambda: _bare_loop(ox, oy, ux, uy, ax, ay, bx, by), repeat)
    bare_rate = n_rays * pick.size / bw
    kernel_rate = v1["edge_tests"] / v1["kernel_seconds"]
    walls = _walls_meeting_sectors(obs, x[:v1["kernel_views"]], y[:v1["kernel_views"]],
                                   d[:v1["kernel_views"]], v1["fov_deg"], v1["radius_m"])
    brute = float(((2 * walls + 2) * walls).sum())
    loop_rate = _sweep_rate(repeat)
    return {"sweep_tests_per_s": loop_rate, "sweep_ratio": loop_rate / bare_rate,
            "bare_tests_per_s": bare_rate, "kernel_tests_per_s": kernel_rate,
            "ratio": kernel_rate / bare_rate,
            "kernel_tests_per_view": v1["edge_tests"] / v1["kernel_views"],
            "bare_tests_per_view_equivalent": bare_rate * v1["kernel_seconds"] / v1["kernel_views"],
            "walls_per_view": float(walls.mean()),
            "brute_force_tests_per_view": brute / v1["kernel_views"],
            "equivalent_ratio": brute / v1["kernel_seconds"] / bare_rate}


def _sweep_rate(repeat: int, pieces: int = 60, calls: int = 2000) -> float:
    """Ray-vs-wall tests per second of the kernel's own test loop (``_kernel._sweep``) on
    test-heavy input: ``pieces`` walls each spanning half of a 360° view on average."""
    from survatlas.coverage import _kernel

    rng = np.random.default_rng(3)
    lo = rng.uniform(0, np.pi, pieces)
    sc = np.zeros((10, 4 * pieces + 4))
    sc[0, :pieces], sc[1, :pieces] = lo, lo + rng.uniform(0.5, 1.5, pieces) * np.pi
    wall = rng.uniform(-1, 1, (pieces, 2))
    sc[4, :pieces], sc[5, :pieces] = wall[:, 0], wall[:, 1]
    sc[6, :pieces] = rng.uniform(5, 50, pieces)
    ev = np.unique(np.concatenate([[0.0, 2 * np.pi], sc[0, :pieces], sc[1, :pieces]]))
    mid = (ev[:-1] + ev[1:]) / 2
    sc[7, :mid.size], sc[8, :mid.size] = np.cos(mid), np.sin(mid)
    best_t = np.empty(ev.size)
    best_j = np.empty(ev.size, np.int64)

    sweep = _kernel._sweep
    _sweeps(sweep, 1, pieces, ev, sc, best_t, best_j)
    wall_s, _, tests = _timed(lambda: _sweeps(sweep, calls, pieces, ev, sc, best_t, best_j),
                              repeat)
    return tests / wall_s


@numba.njit
def _sweeps(sweep, n, pieces, ev, sc, best_t, best_j):
    tests = 0
    for _ in range(n):
        best_t[:] = np.inf
        tests += sweep(pieces, ev, sc, best_t, best_j)
    return tests


def _walls_meeting_sectors(obs, x, y, d, fov: float, radius: float) -> np.ndarray:
    """Number of walls meeting each view's sector (the brute-force candidate set)."""
    import shapely

    from survatlas.coverage.oracle import sector_polygon

    start = np.radians(90.0 - d - fov / 2.0)
    sectors = np.array([sector_polygon(a, b, s, math.radians(fov), radius)
                        for a, b, s in zip(x, y, start, strict=True)], dtype=object)
    lines = shapely.linestrings(np.stack([np.column_stack([obs.ax, obs.bx]),
                                          np.column_stack([obs.ay, obs.by])], axis=-1))
    hit, _ = shapely.STRtree(lines).query(sectors, predicate="intersects")
    return np.bincount(hit, minlength=x.size)


def long_range(obs, x, y, d, n_kernel: int, n_oracle: int) -> dict:
    """L: detection range of the worst-case scenario (fixed camera and dome), one thread."""
    out = {}
    naive = NaiveOracle(obs)
    for kind in ("fixed", "dome"):
        sc = SCENARIOS["worst"][kind]
        radius = dori_distances(sc.focal_mm, 5.37, sc.width_px)["detection"]
        fov = 360.0 if kind == "dome" else hfov_deg(sc.focal_mm, 5.37)
        xs, ys, ds = x[:n_kernel], y[:n_kernel], d[:n_kernel]
        visibility(obs, xs[:2], ys[:2], ds[:2], fov, radius, threads=1)
        kw, _, reg = _timed(lambda r=radius, f=fov, a=xs, b=ys, c=ds:
                            visibility(obs, a, b, c, f, r, threads=1), 1)
        ow, _, oracle = _timed(lambda r=radius, f=fov: naive.visibility(
            x[:n_oracle], y[:n_oracle], d[:n_oracle], f, r), 1)
        ok = reg.status[:n_oracle] < 2
        ious = [_iou(a, b) for a, b, keep in zip(reg.to_polygons()[:n_oracle], oracle, ok,
                                                  strict=True) if keep]
        k_rate, o_rate = n_kernel / kw, n_oracle / ow
        out[kind] = {"radius_m": radius, "fov_deg": fov, "kernel_views": n_kernel,
                     "kernel_views_per_s": k_rate, "oracle_views": n_oracle,
                     "oracle_views_per_s": o_rate, "ratio": k_rate / o_rate,
                     "iou_min": float(np.min(ious)),
                     "edge_tests_per_view": reg.edge_tests / n_kernel}
    return out


def scale_run(n_buildings: int, n_views: int, seed: int, threads: int, repeat: int,
              long_views: int = 0, long_oracle: int = 0) -> dict:
    """V4: a city of ``n_buildings`` (≈ 1,375 per km²) and ``n_views`` cameras; then L."""
    km = math.sqrt(n_buildings / 1375.0)
    t0 = time.perf_counter()
    city, obs, x, y, d, prep = _scene(km, n_views, seed)
    gen = time.perf_counter() - t0 - prep
    visibility(obs, x[:10], y[:10], d[:10], 60.0, 50.0, threads=threads)
    w, c, reg = _timed(lambda: visibility(obs, x, y, d, 60.0, 50.0, threads=threads), repeat)
    out = {"buildings": len(city.buildings), "edges": obs.n_edges, "views": int(x.size),
           "threads": threads, "kernel_s": w, "kernel_cpu_s": c, "generate_s": gen,
           "prepare_obstacles_s": prep, "inside": int((reg.status == 2).sum())}
    if long_views:
        out["long"] = long_range(obs, x, y, d, long_views, long_oracle)
    return out


def _report(res: dict) -> None:
    print(f"machine: {res['machine']}  load average before/after: {res['load_before']} / "
          f"{res['load_after']}")
    print(f"scene: {res['scene']}")
    for name in VIEW_SIZES:
        r = res[name]
        print(f"{name} R={r['radius_m']:.0f} m FOV={r['fov_deg']:.0f}°  kernel "
              f"{r['kernel_views_per_s']:,.0f} views/s (CPU {r['kernel_cpu_views_per_s']:,.0f})"
              f"  naive oracle {r['oracle_views_per_s']:,.0f} views/s  ratio "
              f"{r['ratio_vs_oracle']:.1f}×  | IoU mean {r['iou_mean']:.5f} min "
              f"{r['iou_min']:.5f}")
    for name in VIEW_SIZES:
        r = res[name]
        print(f"V3 ({name} size) hull shortcut {r['hull_views_per_s']:,.0f} views/s  ratio "
              f"{r['ratio_vs_hull']:.1f}×")
    v4 = res.get("V4")
    if v4:
        print(f"V4 {v4['views']:,} views among {v4['buildings']:,} buildings "
              f"({v4['edges']:,} walls), {v4['threads']} threads: {v4['kernel_s']:.2f} s wall, "
              f"{v4['kernel_cpu_s']:.2f} s CPU  (generate {v4['generate_s']:.1f} s, "
              f"prepare_obstacles {v4['prepare_obstacles_s']:.1f} s)")
    for kind, r in (v4 or {}).get("long", {}).items():
        print(f"L  worst-case {kind}: R={r['radius_m']:.0f} m FOV={r['fov_deg']:.1f}°  kernel "
              f"{r['kernel_views_per_s']:,.0f} views/s (1 thread, {r['edge_tests_per_view']:,.0f}"
              f" tests/view)  naive oracle {r['oracle_views_per_s']:.2f} views/s  ratio "
              f"{r['ratio']:,.0f}×  IoU min {r['iou_min']:.5f}")
    v5 = res["V5"]
    print(f"V5 {v5['views']:,} views: 1 thread {v5['one_thread_s']:.3f} s, 2 threads "
          f"{v5['two_threads_s']:.3f} s  speedup {v5['speedup']:.2f}×  (cores the 2-thread run "
          f"got: {v5['cores_used_two_threads']:.2f})")
    v6 = res["V6"]
    print(f"V6 bare loop {v6['bare_tests_per_s']:,.0f} tests/s; kernel "
          f"{v6['kernel_tests_per_s']:,.0f} tests/s  ratio {100 * v6['ratio']:.1f} %  "
          f"(kernel makes {v6['kernel_tests_per_view']:.1f} tests per view; in the kernel's time "
          f"per view the bare loop makes {v6['bare_tests_per_view_equivalent']:,.0f})")
    print(f"V6 the kernel's ray-vs-wall loop on test-heavy input: {v6['sweep_tests_per_s']:,.0f} "
          f"tests/s = {100 * v6['sweep_ratio']:.0f} % of the bare loop")
    print(f"V6 work-equivalent: {v6['walls_per_view']:.1f} walls meet a sector; brute force needs "
          f"{v6['brute_force_tests_per_view']:,.0f} tests per view; kernel at "
          f"{100 * v6['equivalent_ratio']:.0f} % of the bare loop's rate for that work")


# --- 2.5-D against 2-D (--occlusion 2.5d) ---------------------------------------------------

#: Share of buildings per storey count (a mixed European centre: kiosks and sheds to blocks).
STOREYS = {1: 0.15, 2: 0.15, 3: 0.15, 4: 0.15, 5: 0.15, 6: 0.1, 8: 0.1, 12: 0.05}
#: Kernel view sizes of the K rows: (radius m, field of view °).
HEIGHT_VIEWS = {"R 50 m, FOV 60°": (50.0, 60.0), "R 100 m, 360°": (100.0, 360.0)}


def building_attrs(n: int, seed: int) -> pd.DataFrame:
    """Building attributes as the store gives them: type and levels from their own random
    stream (the city itself is unchanged), no height tags."""
    rng = np.random.default_rng(10_000 + seed)
    levels = rng.choice(list(STOREYS), size=n, p=list(STOREYS.values())).astype(float)
    return pd.DataFrame({"building": ["yes"] * n, "height_m": np.nan, "levels": levels,
                         "min_height_m": np.nan})


def _alternate(runs: int, two_d, two_half_d) -> list[tuple[float, float, float, float]]:
    """``(2-D wall, 2.5-D wall, 2-D CPU, 2.5-D CPU)`` seconds per alternating round."""
    out = []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        two_d()
        w1, c1 = time.perf_counter(), time.process_time()
        two_half_d()
        out.append((w1 - w0, time.perf_counter() - w1, c1 - c0, time.process_time() - c1))
    return out


def height_kernel(km: float, n_views: int, runs: int, seed: int) -> dict:
    """K: views per second of both kernels on the same views, alternating rounds."""
    city, obs, x, y, d, _ = _scene(km, n_views, seed)
    frame = building_attrs(len(city.buildings), seed)
    top, bottom, _ = building_heights(frame["building"].tolist(), None, frame["levels"])
    eye = np.array([c["height_m"] for c in city.cameras])
    out = {"buildings": len(city.buildings), "views": int(x.size)}
    for name, (radius, fov) in HEIGHT_VIEWS.items():
        rounds = _alternate(
            runs, lambda f=fov, r=radius: visibility(obs, x, y, d, f, r),
            lambda f=fov, r=radius: visibility25(obs, top, x, y, d, f, r, eye, bottom_m=bottom))
        reg = visibility25(obs, top, x, y, d, fov, radius, eye, bottom_m=bottom)
        out[name] = {"rounds": rounds, "layered_share": float((reg.layers > 1).mean()),
                     "ratio": statistics.median(r[0] / r[1] for r in rounds),
                     "cpu_ratio": statistics.median(r[2] / r[3] for r in rounds)}
    return out


def height_end_to_end(km: float, n_cameras: int, runs: int, seed: int) -> dict:
    """E: the whole coverage analysis of one city under both models, alternating rounds."""
    city = synth_city(km * 1000, km * 1000, seed=seed, n_cameras=n_cameras)
    inputs = synthetic_inputs(city)
    inputs.building_attrs = building_attrs(len(inputs.buildings), seed)
    figs = {}

    def run(occlusion: str) -> None:
        settings = Settings(scenarios=("typical",), levels=("detection",), cell_m=4.0,
                            occlusion=occlusion)
        fig = analyse(inputs, settings).summary["by_scenario"]["typical"]["detection"]
        figs[occlusion] = (fig["street_in_view_share"], fig["land_in_view_share"])

    rounds = _alternate(runs, lambda: run("2d"), lambda: run("2.5d"))
    return {"buildings": len(inputs.buildings), "cameras": n_cameras, "rounds": rounds,
            "ratio": statistics.median(r[1] / r[0] for r in rounds),
            "cpu_ratio": statistics.median(r[3] / r[2] for r in rounds), "figures": figs}


def heights_main(a: argparse.Namespace) -> dict:
    """The K and E rows (``--occlusion 2.5d``)."""
    if a.quick:
        a.km, a.views, a.e2e_km, a.e2e_cameras, a.repeat = 0.6, 500, 1.0, 300, 1
    height_kernel(0.4, 50, 1, a.seed)  # compile (or load the numba cache) before timing
    height_end_to_end(0.5, 30, 1, a.seed)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, numba {numba.__version__}, load average "
          f"{os.getloadavg()[0]:.1f}")
    k = height_kernel(a.km, a.views, a.repeat, a.seed)
    print(f"K  {a.km:g} km city, {k['buildings']:,} buildings, {k['views']:,} views")
    for name in HEIGHT_VIEWS:
        r = k[name]
        rates = ", ".join(f"{k['views'] / w2:,.0f} / {k['views'] / w25:,.0f}"
                          for w2, w25, _, _ in r["rounds"])
        print(f"   {name}: views/s 2-D / 2.5-D per round: {rates}; 2.5-D keeps "
              f"{r['ratio']:.0%} of the 2-D rate (wall), {r['cpu_ratio']:.0%} (CPU) (medians; "
              f"target ≥ 50 %); {r['layered_share']:.0%} of the views see past a low building")
    e = height_end_to_end(a.e2e_km, a.e2e_cameras, a.repeat, a.seed)
    rounds = ", ".join(f"{w2:.1f} s / {w25:.1f} s" for w2, w25, _, _ in e["rounds"])
    print(f"E  {a.e2e_km:g} km city, {e['buildings']:,} buildings, {e['cameras']:,} cameras: "
          f"2-D / 2.5-D per round: {rounds}; 2.5-D takes {e['ratio']:.2f}× the 2-D time "
          f"(wall), {e['cpu_ratio']:.2f}× (CPU) (medians; target ≤ 1.5×)")
    for model, (street, land) in e["figures"].items():
        print(f"   {model}: street share {street:.4f}, land share {land:.4f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return {"kernel": k, "end_to_end": e}


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmarks and print a report; returns the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--km", type=float, default=3.0, help="side of the V1–V3/V5 city, km")
    ap.add_argument("--views", type=int, default=20_000, help="kernel views for V1–V3")
    ap.add_argument("--oracle-views", type=int, default=300, help="views for the baselines")
    ap.add_argument("--v5-views", type=int, default=100_000, help="views for V5")
    ap.add_argument("--scale-buildings", type=int, default=1_000_000, help="V4 city (0: skip)")
    ap.add_argument("--scale-views", type=int, default=100_000, help="V4 cameras")
    ap.add_argument("--threads", type=int, default=2, help="threads for V4")
    ap.add_argument("--long-views", type=int, default=2000, help="kernel views for L (0: skip)")
    ap.add_argument("--long-oracle", type=int, default=4, help="oracle views for L")
    ap.add_argument("--repeat", type=int, default=3, help="repeats (best time kept)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    ap.add_argument("--occlusion", choices=("2d", "2.5d"), default="2d",
                    help="2d: V1–V6 and L; 2.5d: K and E, the 2.5-D model against 2-D")
    ap.add_argument("--e2e-km", type=float, default=10.0, help="side of the E city, km")
    ap.add_argument("--e2e-cameras", type=int, default=15_000, help="E cameras")
    a = ap.parse_args(argv)
    if a.occlusion == "2.5d":
        res = heights_main(a)
        if a.json:
            a.json.write_text(json.dumps(res, indent=2))
        return res
    if a.quick:
        a.km, a.views, a.oracle_views, a.v5_views, a.scale_buildings = 1.0, 2000, 20, 5000, 0
    res = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                      f"{platform.python_version()}, numba {numba.__version__}",
           "load_before": " ".join(f"{v:.1f}" for v in os.getloadavg())}
    _, obs, x, y, d, prep = _scene(a.km, max(a.views, a.v5_views), a.seed)
    res["scene"] = (f"{a.km:g}×{a.km:g} km synthetic city, {len(obs.polygons):,} footprints, "
                    f"{obs.n_edges:,} walls (prepare_obstacles {prep:.1f} s)")
    visibility(obs, x[:10], y[:10], d[:10], 60.0, 50.0)  # compile / load the numba cache
    sub = slice(0, a.views)
    res.update(kernel_vs_baselines(obs, x[sub], y[sub], d[sub], a.oracle_views, a.repeat))
    res["V5"] = threads_scaling(obs, x[:a.v5_views], y[:a.v5_views], d[:a.v5_views], a.repeat)
    res["V6"] = edge_test_rate(obs, x, y, d, res["V1"], a.repeat)
    if a.scale_buildings:
        res["V4"] = scale_run(a.scale_buildings, a.scale_views, a.seed, a.threads, a.repeat,
                              a.long_views, a.long_oracle)
    res["load_after"] = " ".join(f"{v:.1f}" for v in os.getloadavg())
    _report(res)
    if a.json:
        a.json.write_text(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
