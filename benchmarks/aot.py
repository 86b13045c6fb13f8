"""Ahead-of-time coverage kernels against numba's JIT kernels, side by side.

Two measurements, both alternating the two sides run by run:

* whole processes (``--sizes``): ``survatlas coverage --level detection --scenario typical
  --only streets --json`` on the peer benchmark's grid cities (``peer.py`` builds and caches
  them under ``_work/peer``), with the build (``aot``) and with ``SURVATLAS_AOT=0`` (``jit``:
  numba imported, its typing context built and the cached kernels loaded), for 2-D and 2.5-D
  occlusion; CPU seconds are user + system of the child (``wait4``);
* one kernel pass in a warm process (``--views``): the serial ahead-of-time kernels against
  numba's parallel JIT kernels on the same views, for ``PARALLEL_MIN_VIEWS``
  (``survatlas.coverage._compiled``).

Usage::

    python benchmarks/aot.py --sizes 2 5 --runs 3
    python benchmarks/aot.py --sizes 10 --runs 1 --views 20000 100000 400000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from peer import CITIES, LAST_CPU, SURVATLAS, prepare, timed  # noqa: E402


def _coverage(folder: Path, occlusion: str, aot: bool) -> tuple[float, float, float, float]:
    """Wall s, CPU s, peak MB and street metres of one whole ``--only streets`` process."""
    os.environ["SURVATLAS_AOT"] = "1" if aot else "0"
    try:
        wall, peak, out = timed([*SURVATLAS, "--db", str(folder / "city.db"), "coverage",
                                 "--level", "detection", "--scenario", "typical", "--occlusion",
                                 occlusion, "--only", "streets", "--json"])
    finally:
        os.environ.pop("SURVATLAS_AOT", None)
    seen = json.loads(out)["by_scenario"]["typical"]["detection"]["street_in_view_m"]
    return wall, LAST_CPU[0], peak, seen


def processes(size_km: int, runs: int) -> None:
    folder, info = prepare(size_km, CITIES[size_km], peer=False)
    print(f"\n{size_km} km city: {info['buildings']:,} buildings, {CITIES[size_km]:,} cameras; "
          f"`coverage --only streets`, {runs} alternating runs, medians", flush=True)
    for occlusion in ("2d", "2.5d"):
        _coverage(folder, occlusion, True)  # the obstacle cache and numba's cache warm
        _coverage(folder, occlusion, False)
        sides: dict[str, list] = {"aot": [], "jit": []}
        for _ in range(runs):
            sides["aot"].append(_coverage(folder, occlusion, True))
            sides["jit"].append(_coverage(folder, occlusion, False))
        med = {k: [statistics.median(r[i] for r in v) for i in range(3)] for k, v in sides.items()}
        same = {r[3] for v in sides.values() for r in v}
        for name, (wall, cpu, peak) in med.items():
            print(f"  {occlusion:4} {name}: {wall:6.2f} s wall  {cpu:6.2f} s CPU  {peak:5.0f} MB",
                  flush=True)
        print(f"  {occlusion:4} jit / aot: {med['jit'][0] / med['aot'][0]:.2f}× wall, "
              f"{med['jit'][1] / med['aot'][1]:.2f}× CPU; street metres "
              f"{'identical' if len(same) == 1 else sorted(same)}", flush=True)


def kernel_pass(views: list[int], runs: int) -> None:
    """Serial ahead-of-time pass against numba's parallel pass (warm: compiled and loaded)."""
    import numpy as np

    from survatlas.coverage import _compiled, _jit, prepare_obstacles, visibility
    from survatlas.coverage.occlusion import visibility25

    if _compiled.status() != "current":
        raise SystemExit(f"the ahead-of-time build is {_compiled.status()}: run make install")
    rng = np.random.default_rng(0)
    import shapely

    side = 2000.0  # a 2 km grid of 100 m blocks with 16 m lots (as the peer benchmark's city)
    lots = [shapely.box(bx + 12 + i * 16 + 1, by + 12 + j * 16 + 1, bx + 12 + i * 16 + 15,
                        by + 12 + j * 16 + 15)
            for bx in np.arange(0, side, 120.0) for by in np.arange(0, side, 120.0)
            for i in range(6) for j in range(6) if rng.random() < 0.74]
    obs = prepare_obstacles(lots)
    top = rng.uniform(6, 20, len(lots))
    threads = _jit.num_threads()
    print(f"\nkernel pass in a warm process (2 km grid, {len(lots):,} buildings; numba "
          f"{threads} threads; medians of {runs})", flush=True)
    for n in views:
        street = rng.integers(0, 17, (2, n)) * 120.0 + rng.uniform(1, 11, (2, n))
        x, y = street[0], np.where(rng.random(n) < 0.5, street[1], rng.uniform(0, side, n))
        x, y = np.where(rng.random(n) < 0.5, (x, y), (y, x))
        d = rng.uniform(0, 360, n)
        for name, run in (("2d", lambda t, x=x, y=y, d=d: visibility(obs, x, y, d, 60.0, 50.0,
                                                                     threads=t)),
                          ("2.5d", lambda t, x=x, y=y, d=d: visibility25(
                              obs, top, x, y, d, 60.0, 50.0, 5.0, threads=t))):
            run(1), run(threads)  # warm both
            times = {"aot serial": [], f"jit {threads} threads": []}
            for _ in range(runs):
                for label, t in (("aot serial", 1), (f"jit {threads} threads", threads)):
                    start = time.perf_counter()
                    run(t)
                    times[label].append(time.perf_counter() - start)
            a, j = (statistics.median(v) for v in times.values())
            print(f"  {n:>8,} views {name:4}: aot serial {a:7.3f} s, jit parallel {j:7.3f} s "
                  f"(aot/jit {a / j:.2f}×)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[2], choices=sorted(CITIES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--views", type=int, nargs="*", default=[],
                        help="view counts for the in-process kernel pass comparison")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} cores", flush=True)
    for size in args.sizes:
        processes(size, args.runs)
    if args.views:
        kernel_pass(args.views, args.runs)
    print(f"load average {os.getloadavg()[0]:.1f} (1 min)", flush=True)


if __name__ == "__main__":
    main()
