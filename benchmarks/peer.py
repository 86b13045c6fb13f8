"""survatlas against the one real peer, end to end: whole CLI processes from the store.

For each grid city of the issue (2 km, 5 km, 10 km; 100 m blocks, 20 m streets, 16 m lots;
cameras at random street points, range 50 m, field of view 60°; ``_peer_scene.py``) the script
generates the scene, imports it into a store with the CLI (``survatlas import osm`` and
``import cameras``), writes the peer's inputs, and then times, alternating runs, whole processes:

* ``ours``: ``survatlas --db city.db coverage --level detection --scenario typical --occlusion 2d
  --json`` (2-D like the peers, so the comparison stays like-for-like) —
  everything a coverage run gives (streets, sites, areas on the 2 m grid, H3);
* ``ours --only streets``: the same run asked for the street figures only (what the peer gives);
* ``peer``: kamerafrei's ``pipeline/compute_exposure.py`` (ray fan every 2.5°, rays stopped at
  building walls, per-edge union and intersection) through ``_peer_adapter.py``, when
  ``--peer-dir`` points at a checkout of ``leonardoalt/kamerafrei``;
* ``oracle``: the naive exact shapely pipeline from the same store (``_peer_oracle.py``), once per
  city up to ``--oracle-max-km``, as the accuracy reference.

Each figure is the median of ``--runs`` alternating runs; peak memory is the child's maximum
resident set (``wait4``). The first survatlas run after an import is reported apart: it prepares
and caches the obstacles and may load the numba cache for the first time.

Usage::

    python benchmarks/peer.py --peer-dir /path/to/kamerafrei            # 2, 5, 10 km
    python benchmarks/peer.py --sizes 2 --runs 3 --peer-dir /path/to/kamerafrei
    python benchmarks/peer.py --sizes 2 --cli-checks helsinki.osm.pbf  # + --help and stats
    python benchmarks/peer.py --sizes 10 --runs 1 --full  # + the full run against one level
    python benchmarks/peer.py --sizes 2 5 --baseline-src ../main/src  # + another checkout's code

With ``--baseline-src DIR`` the two ``ours`` runs are also made with the survatlas sources in
``DIR`` (``PYTHONPATH``), alternating with the others: a before/after in one run, same load.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "peer"
CITIES = {2: 2_000, 5: 12_500, 10: 50_000}  # side km -> cameras (500 per km²)
SURVATLAS = [sys.executable, "-m", "survatlas"]


#: CPU seconds (user + system) of the last child run by :func:`timed`
LAST_CPU: list[float] = [0.0]


def timed(cmd: list[str], src: Path | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak resident MB (``wait4`` on the child itself) and stdout of one whole
    child process (its CPU seconds go to :data:`LAST_CPU`); ``src`` is put first on its
    ``PYTHONPATH`` (another checkout's survatlas)."""
    env = None if src is None else \
        {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    chunks = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    return wall, usage.ru_maxrss / 1024, chunks.decode()


def prepare(size_km: int, cameras: int, peer: bool) -> tuple[Path, dict]:
    """Scene files, the imported store and the peer's inputs of one city (cached in WORK).

    The scene is generated in a child process: a child of a parent that holds a large scene
    would count the parent's pages in its peak resident set (``ru_maxrss`` starts from the
    forked image), inflating every figure of a run that generates its city.
    """
    folder = WORK / f"city{size_km}km_{cameras}"
    if not (folder / "info.json").exists() or (peer and not (folder / "graph_walk.pkl.gz").exists()):
        ctx = multiprocessing.get_context("spawn")
        child = ctx.Process(target=_generate, args=(size_km, cameras, str(folder), peer))
        child.start()
        child.join()
        if child.exitcode:
            raise SystemExit(f"generating the {size_km} km city failed ({child.exitcode})")
    return folder, json.loads((folder / "info.json").read_text())


def _generate(size_km: int, cameras: int, folder_name: str, peer: bool) -> None:
    """Write one city's scene, store and (with ``peer``) the peer's inputs (a child process)."""
    sys.path.insert(0, str(HERE))
    from _peer_scene import grid_scene, write_peer_inputs, write_survatlas_inputs

    folder = Path(folder_name)
    db = folder / "city.db"
    info_path = folder / "info.json"
    scene = None
    if not info_path.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        scene = grid_scene(size_km, cameras)
        osm, cams = write_survatlas_inputs(scene, folder)
        t_osm = timed([*SURVATLAS, "--db", str(db), "import", "osm", str(osm), "--json"])[0]
        t_cam = timed([*SURVATLAS, "--db", str(db), "import", "cameras", str(cams), "--json"])[0]
        info = {"buildings": len(scene.buildings), "streets": len(scene.streets),
                "cameras": cameras, "import_osm_s": t_osm, "import_cameras_s": t_cam}
        info_path.write_text(json.dumps(info))
    if peer and not (folder / "graph_walk.pkl.gz").exists():
        write_peer_inputs(scene if scene is not None else grid_scene(size_km, cameras), folder)


def ours(folder: Path, only: str | None, src: Path | None = None
         ) -> tuple[float, float, float, float]:
    cmd = [*SURVATLAS, "--db", str(folder / "city.db"), "coverage", "--level", "detection",
           "--scenario", "typical", "--occlusion", "2d", "--json"]
    if only:
        cmd += ["--only", only]
    wall, peak, out = timed(cmd, src)
    fig = json.loads(out)["by_scenario"]["typical"]["detection"]
    return wall, peak, fig["street_in_view_m"], LAST_CPU[0]


def full(folder: Path) -> tuple[float, float, float, float]:
    """The full run: every level and scenario, sites, areas and H3 (``coverage --json``)."""
    wall, peak, out = timed([*SURVATLAS, "--db", str(folder / "city.db"), "coverage", "--occlusion", "2d",
                             "--json"])
    fig = json.loads(out)["by_scenario"]["typical"]["detection"]
    return wall, peak, fig["street_in_view_m"], LAST_CPU[0]


def peer(peer_dir: Path, folder: Path) -> tuple[float, float, float, float]:
    import gzip
    import pickle

    shutil.copyfile(folder / "graph_walk.pkl.gz", folder / "graph_run.pkl.gz")
    wall, peak, _ = timed([sys.executable, str(HERE / "_peer_adapter.py"), str(peer_dir),
                           str(folder)])
    cpu = LAST_CPU[0]
    with gzip.open(folder / "graph_run.pkl.gz", "rb") as fh:  # read back, not timed
        graph = pickle.load(fh)
    seen = sum(d.get("exposure", 0.0) for _, _, d in graph.edges(data=True))
    return wall, peak, seen, cpu


def oracle(folder: Path) -> tuple[float, float, float, float]:
    wall, peak, out = timed([sys.executable, str(HERE / "_peer_oracle.py"),
                             str(folder / "city.db")])
    return wall, peak, json.loads(out)["street_in_view_m"], LAST_CPU[0]


def cli_checks(osm: Path, runs: int) -> None:
    """``survatlas --help`` and ``survatlas stats`` on a store of ``osm`` (medians)."""
    db = WORK / "demo.db"
    if not db.exists():
        timed([*SURVATLAS, "--db", str(db), "import", "osm", str(osm)])
    helps, stats = [], []
    for _ in range(runs):
        helps.append((timed([*SURVATLAS, "--help"])[0], LAST_CPU[0]))
        stats.append((timed([*SURVATLAS, "--db", str(db), "stats"])[0], LAST_CPU[0]))
    for name, runs_, target in (("--help", helps, 0.3), ("stats", stats, 0.6)):
        print(f"survatlas {name:6}  median {statistics.median(r[0] for r in runs_):.3f} s wall, "
              f"{statistics.median(r[1] for r in runs_):.3f} s CPU  (target ≤ {target} s)"
              + (f" on a store of {osm.name}" if name == "stats" else ""))


def city(size_km: int, cameras: int, args) -> dict:
    folder, info = prepare(size_km, cameras, args.peer_dir is not None)
    print(f"\n{size_km} km city: {info['buildings']:,} buildings, {info['streets']:,} street "
          f"segments, {cameras:,} cameras (import: osm {info['import_osm_s']:.1f} s, cameras "
          f"{info['import_cameras_s']:.1f} s)", flush=True)
    shutil.rmtree(folder / "city.db.cache", ignore_errors=True)  # a cold obstacle cache
    first = ours(folder, None)
    print(f"  first survatlas run after import (prepares and caches the obstacles): "
          f"{first[0]:.2f} s, {first[3]:.2f} s CPU, {first[1]:.0f} MB", flush=True)
    sides: dict[str, list[tuple[float, float, float, float]]] = {"ours": [], "ours --only streets": []}
    base_src = args.baseline_src
    if base_src:
        sides["baseline"], sides["baseline --only streets"] = [], []
        ours(folder, None, base_src)  # its own obstacle cache key or numba cache: not timed
    if args.peer_dir:
        sides["peer"] = []
    if args.full:
        sides["ours, full run"] = []
    for _ in range(args.runs):  # alternate the sides run by run
        sides["ours"].append(ours(folder, None))
        sides["ours --only streets"].append(ours(folder, "streets"))
        if base_src:
            sides["baseline"].append(ours(folder, None, base_src))
            sides["baseline --only streets"].append(ours(folder, "streets", base_src))
        if args.peer_dir:
            sides["peer"].append(peer(args.peer_dir, folder))
    if args.full:  # after the rounds: a run saved after a full run first deletes its 12× rows
        for _ in range(args.runs):
            sides["ours, full run"].append(full(folder))
    ref = oracle(folder) if size_km <= args.oracle_max_km else None
    rows = {name: {"s": statistics.median(r[0] for r in rs),
                   "min_s": min(r[0] for r in rs), "max_s": max(r[0] for r in rs),
                   "cpu_s": statistics.median(r[3] for r in rs),
                   "mb": max(r[1] for r in rs), "seen_m": rs[-1][2]} for name, rs in sides.items()}
    if ref:
        rows["oracle"] = {"s": ref[0], "min_s": ref[0], "max_s": ref[0], "mb": ref[1],
                          "seen_m": ref[2], "cpu_s": ref[3]}
    base = rows.get("peer")
    print(f"  {'':22} {'median s':>9} {'range s':>13} {'CPU s':>7} {'peak MB':>8} {'seen m':>12} "
          f"{'vs oracle':>10} {'peer/this':>9} {'(CPU)':>7}")
    for name, r in rows.items():
        acc = f"{(r['seen_m'] / ref[2] - 1) * 100:+.3f} %" if ref else "—"
        ratio = f"{base['s'] / r['s']:.2f}×" if base else "—"
        cpu_ratio = f"{base['cpu_s'] / r['cpu_s']:.2f}×" if base else "—"
        print(f"  {name:22} {r['s']:9.2f} {r['min_s']:6.2f}–{r['max_s']:<6.2f} {r['cpu_s']:7.2f} "
              f"{r['mb']:8.0f} {r['seen_m']:12,.1f} {acc:>10} {ratio:>9} {cpu_ratio:>7}",
              flush=True)
    if args.full:
        one, every = rows["ours"], rows["ours, full run"]
        print(f"  full run (4 levels × 3 scenarios) / one level: {every['s'] / one['s']:.2f}× wall, "
              f"{every['cpu_s'] / one['cpu_s']:.2f}× CPU  (target ≤ 3×)", flush=True)
    return {"size_km": size_km, **info, "first_run_s": first[0], "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-dir", type=Path, default=None,
                        help="checkout of github.com/leonardoalt/kamerafrei")
    parser.add_argument("--sizes", type=int, nargs="+", default=sorted(CITIES),
                        choices=sorted(CITIES))
    parser.add_argument("--runs", type=int, default=3, help="alternating runs per side")
    parser.add_argument("--oracle-max-km", type=int, default=5)
    parser.add_argument("--cli-checks", type=Path, metavar="OSM",
                        help="also time --help and stats on a store of this extract")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--baseline-src", type=Path, default=None, metavar="DIR",
                        help="also run ours with the survatlas sources in DIR (before/after)")
    parser.add_argument("--full", action="store_true",
                        help="also time the full run (every level and scenario, areas, H3) "
                             "against the one-level run")
    args = parser.parse_args()
    if args.peer_dir and not (args.peer_dir / "pipeline" / "compute_exposure.py").exists():
        raise SystemExit(f"{args.peer_dir}: no pipeline/compute_exposure.py; point --peer-dir at "
                         "a checkout of leonardoalt/kamerafrei")
    sys.path.insert(0, str(HERE))
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.1f}; {os.cpu_count()} cores")
    if args.cli_checks:
        cli_checks(args.cli_checks, 5)
    results = [city(size, CITIES[size], args) for size in args.sizes]
    print(f"load average {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
