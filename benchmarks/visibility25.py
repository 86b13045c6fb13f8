"""2.5-D visibility against 2-D, side by side in one run (issue 20's speed targets).

Run from the repository root::

    python benchmarks/visibility25.py                 # 3 km kernel city, 10 km end to end
    python benchmarks/visibility25.py --quick         # smoke run

K   kernel views per second: :func:`survatlas.coverage.visibility` (2-D) and
    :func:`survatlas.coverage.occlusion.visibility25` (2.5-D) on the same views of a synthetic
    city whose buildings get storeys (1–12) and whose cameras have their synthetic heights
    (3–10 m); target: 2.5-D keeps ≥ 50 % of the 2-D rate.
E   end to end: :func:`survatlas.coverage.analysis.analyse` (typical optics, detection, 4 m
    cells) of a 10 km × 10 km synthetic city with ``--occlusion 2d`` and ``2.5d``; target:
    2.5-D within 1.5× the 2-D time.

The machine is shared, so the two models are timed in alternating rounds (2-D, 2.5-D, 2-D, …)
and each round's ratio is reported; the median ratio is the figure to quote.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from survatlas.coverage import prepare_obstacles, visibility
from survatlas.coverage.analysis import Settings, analyse
from survatlas.coverage.heights import building_heights
from survatlas.coverage.occlusion import visibility25
from survatlas.coverage.scale import synthetic_inputs
from survatlas.synth import synth_city

#: Share of buildings per storey count (a mixed European centre: kiosks and sheds to blocks).
STOREYS = {1: 0.15, 2: 0.15, 3: 0.15, 4: 0.15, 5: 0.15, 6: 0.1, 8: 0.1, 12: 0.05}


def storeys(n: int, seed: int) -> np.ndarray:
    """Storeys per building, from their own random stream (the city itself is unchanged)."""
    rng = np.random.default_rng(10_000 + seed)
    return rng.choice(list(STOREYS), size=n, p=list(STOREYS.values())).astype(float)


def attrs(n: int, seed: int) -> pd.DataFrame:
    """Building attributes as the store gives them: type and levels, no height tags."""
    return pd.DataFrame({"building": ["yes"] * n, "height_m": np.nan,
                         "levels": storeys(n, seed), "min_height_m": np.nan})


def _alternate(runs: int, two_d, two_half_d) -> list[tuple[float, float]]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        two_d()
        t1 = time.perf_counter()
        two_half_d()
        t2 = time.perf_counter()
        out.append((t1 - t0, t2 - t1))
    return out


def kernel(km: float, n_views: int, runs: int, seed: int) -> dict:
    city = synth_city(km * 1000, km * 1000, seed=seed, n_cameras=n_views)
    obs = prepare_obstacles(city.buildings)
    frame = attrs(len(city.buildings), seed)
    top, bottom, _ = building_heights(frame["building"].tolist(), None, frame["levels"])
    x, y = city.camera_xy()
    eye = np.array([c["height_m"] for c in city.cameras])
    d = np.random.default_rng(seed).uniform(0, 360, x.size)
    out = {"buildings": len(city.buildings), "views": int(x.size)}
    for name, fov, radius in (("R 50 m, FOV 60°", 60.0, 50.0), ("R 100 m, 360°", 360.0, 100.0)):
        times = _alternate(
            runs, lambda f=fov, r=radius: visibility(obs, x, y, d, f, r),
            lambda f=fov, r=radius: visibility25(obs, top, x, y, d, f, r, eye, bottom_m=bottom))
        reg = visibility25(obs, top, x, y, d, fov, radius, eye, bottom_m=bottom)
        out[name] = {"rounds": times, "layered_share": float((reg.layers > 1).mean()),
                     "ratio": statistics.median(t2 / t25 for t2, t25 in times)}
    return out


def end_to_end(km: float, n_cameras: int, runs: int, seed: int) -> dict:
    city = synth_city(km * 1000, km * 1000, seed=seed, n_cameras=n_cameras)
    inputs = synthetic_inputs(city)
    inputs.building_attrs = attrs(len(inputs.buildings), seed)
    s2 = Settings(scenarios=("typical",), levels=("detection",), cell_m=4.0, occlusion="2d")
    s25 = Settings(scenarios=("typical",), levels=("detection",), cell_m=4.0, occlusion="2.5d")
    figs = {}

    def run(settings):
        fig = analyse(inputs, settings).summary["by_scenario"]["typical"]["detection"]
        figs[settings.occlusion] = (fig["street_in_view_share"], fig["land_in_view_share"])

    times = _alternate(runs, lambda: run(s2), lambda: run(s25))
    return {"buildings": len(inputs.buildings), "cameras": n_cameras, "rounds": times,
            "ratio": statistics.median(t25 / t2 for t2, t25 in times), "figures": figs}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--km", type=float, default=3.0, help="side of the kernel city, km")
    ap.add_argument("--views", type=int, default=20_000, help="kernel views")
    ap.add_argument("--e2e-km", type=float, default=10.0, help="side of the end-to-end city, km")
    ap.add_argument("--e2e-cameras", type=int, default=15_000, help="end-to-end cameras")
    ap.add_argument("--runs", type=int, default=3, help="alternating rounds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    a = ap.parse_args(argv)
    if a.quick:
        a.km, a.views, a.e2e_km, a.e2e_cameras, a.runs = 0.6, 500, 1.0, 300, 1
    kernel(0.4, 50, 1, a.seed)  # compile (or load the numba cache) before timing
    end_to_end(0.5, 30, 1, a.seed)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}")
    k = kernel(a.km, a.views, a.runs, a.seed)
    print(f"K  {a.km:g} km city, {k['buildings']:,} buildings, {k['views']:,} views")
    for name in ("R 50 m, FOV 60°", "R 100 m, 360°"):
        r = k[name]
        rates = ", ".join(f"{k['views'] / t2:,.0f} / {k['views'] / t25:,.0f}"
                          for t2, t25 in r["rounds"])
        print(f"   {name}: views/s 2-D / 2.5-D per round: {rates}; 2.5-D keeps "
              f"{r['ratio']:.0%} of the 2-D rate (median; target ≥ 50 %); "
              f"{r['layered_share']:.0%} of the views see past a low building")
    e = end_to_end(a.e2e_km, a.e2e_cameras, a.runs, a.seed)
    rounds = ", ".join(f"{t2:.1f} s / {t25:.1f} s" for t2, t25 in e["rounds"])
    print(f"E  {a.e2e_km:g} km city, {e['buildings']:,} buildings, {e['cameras']:,} cameras: "
          f"2-D / 2.5-D per round: {rounds}; 2.5-D takes {e['ratio']:.2f}× the 2-D time "
          f"(median; target ≤ 1.5×)")
    for model, (street, land) in e["figures"].items():
        print(f"   {model}: street share {street:.4f}, land share {land:.4f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return {"kernel": k, "end_to_end": e}


if __name__ == "__main__":
    main()
