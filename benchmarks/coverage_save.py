"""The full coverage run against the one-level run, whole CLI processes, this tree and a baseline.

Issue 16's target: ``survatlas coverage`` (4 levels × 3 scenarios, sites, areas, H3) ≤ 3× the
CPU of ``survatlas coverage --level detection --scenario typical`` on the same store. Each
tree gets its own copy of the store (and of its obstacle cache); the runs alternate between the
trees. A one-level run is timed after a one-level run (an untimed one first: a run saved after
a full run first deletes the full run's rows), then the full runs. CPU is user + system seconds
of the child process (``os.wait4``).

The benchmark cities' cameras all have an explicit range (50 m), so every scenario-level sees
the same views and the full run stores one set of them. ``--no-range`` clears the copies'
``range_m`` first: each camera's range then follows from its optics per level and scenario
(DORI), and the full run computes and stores 12 different sets of views.

Usage::

    python benchmarks/coverage_save.py city.db --work /tmp/save-bench \\
        --baseline-src /path/to/baseline/src --runs 3
    python benchmarks/coverage_save.py city.db --work /tmp/save-bench --no-range
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ONE = ("--level", "detection", "--scenario", "typical")


def run(src: Path, db: Path, args: tuple[str, ...], occlusion: str) -> tuple[float, float]:
    """Wall and CPU seconds of one ``survatlas coverage`` process of the tree ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = [sys.executable, "-m", "survatlas", "--db", str(db), "coverage", *args,
           "--occlusion", occlusion, "--json"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime


def copy_store(db: Path, to: Path, no_range: bool = False) -> Path:
    """A copy of the store ``db`` (and its obstacle cache) in the folder ``to``; with
    ``no_range``, its cameras' explicit ranges cleared."""
    to.mkdir(parents=True, exist_ok=True)
    target = to / db.name
    shutil.copyfile(db, target)
    cache = db.with_name(db.name + ".cache")
    if cache.is_dir():
        shutil.copytree(cache, target.with_name(target.name + ".cache"), dirs_exist_ok=True)
    if no_range:
        with sqlite3.connect(target) as conn:
            conn.execute("UPDATE devices SET range_m = NULL")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--work", type=Path, required=True, help="folder for the store copies")
    parser.add_argument("--baseline-src", type=Path, default=None, metavar="DIR")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--occlusion", default="2d", choices=("2d", "2.5d"))
    parser.add_argument("--no-range", action="store_true",
                        help="clear the cameras' explicit ranges (ranges per level from optics)")
    args = parser.parse_args()
    trees = {"this tree": Path(__file__).resolve().parents[1] / "src"}
    if args.baseline_src:
        trees["baseline"] = args.baseline_src.resolve()
    stores = {name: copy_store(args.db, args.work / f"tree{i}", args.no_range) for i, name in enumerate(trees)}
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(args.runs):
        for name, src in trees.items():
            run(src, stores[name], ONE, args.occlusion)  # untimed: replaces a full run's rows
            times.setdefault((name, "one level"), []).append(
                run(src, stores[name], ONE, args.occlusion))
        for name, src in trees.items():
            times.setdefault((name, "full"), []).append(run(src, stores[name], (), args.occlusion))
    print(f"{args.db.name}{' (explicit ranges cleared)' if args.no_range else ''}: occlusion "
          f"{args.occlusion}, {args.runs} alternating runs; load "
          f"average {os.getloadavg()[0]:.1f}; CPU = user + system of the process")
    for name in trees:
        one = [c for _, c in times[name, "one level"]]
        full = [c for _, c in times[name, "full"]]
        print(f"  {name:10} one level CPU {min(one):6.2f}–{max(one):6.2f} s   full CPU "
              f"{min(full):6.2f}–{max(full):6.2f} s   full / one level (medians) "
              f"{statistics.median(full) / statistics.median(one):5.2f}×")
    if args.baseline_src:
        this = statistics.median(c for _, c in times["this tree", "full"])
        base = statistics.median(c for _, c in times["baseline", "full"])
        print(f"  full run, baseline / this tree (CPU medians): {base / this:5.2f}×")


if __name__ == "__main__":
    main()
