"""Import benchmark: `survatlas import osm` vs a bare pyosmium pass over the same objects.

The baseline reads the same file with the very same pyosmium file processor (tag filters, area
assembly: :func:`survatlas.ingest._osmread.osm_file_processor`) and touches every object our
importer receives (its id and tag count), doing nothing else. Our import also reads the tags,
builds WKB geometries and bounding boxes, and writes everything to SQLite (unique keys, R*Tree
indexes) in one transaction. Target (issue 16): ours / bare ≤ 2×. The import reads with the
compiled read loop when it is built (``make osmcore``; libosmium, the same filters and area
assembly), else with pyosmium; ``SURVATLAS_OSM_READER=pyosmium`` times the pyosmium reader.

A second baseline, ``bare+geom``, also builds the geometries the importer needs most of with
pyosmium's ``WKBFactory``: the multipolygon of every area and the linestring of every way with
a ``highway`` tag (no points: only the few kept nodes need one). It shows how much of the gap
is pyosmium's own geometry building, which any importer pays; the target is judged against the
plain pass.

Times are wall-clock medians of ``--runs`` runs, measured alternately in one process; the
import runs into a freshly created, empty store and its time includes closing the store (the
WAL checkpoint); creating the store is timed apart. CPU seconds count the reader process too.
``--mode`` forces the reader into this process (``local``) or a child process (``process``);
by default the importer decides (a child process for large files when a core is free). Peak
memory is measured in a fresh process per import.

``--cli`` also times what a user runs, whole processes: ``survatlas import osm FILE`` (a new
store, the map's context included, as the command does by default) against a Python process
that imports pyosmium and makes the bare pass (:data:`BARE_SCRIPT`: the same filters and
area assembly, no survatlas module). Interpreter start and module imports
(numpy, shapely, osmium, click, rich) are in both figures; on a small file they dominate.

Usage::

    python benchmarks/import_osm.py                 # Helsinki + a 1,000,000-building city
    python benchmarks/import_osm.py --blocks 100    # smaller synthetic city (40,000 buildings)
    python benchmarks/import_osm.py --blocks 100 --before ../main/src   # also time that version
    python benchmarks/import_osm.py --blocks 100 --cli                  # also whole processes
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import osmium
import osmium.geom

from survatlas.ingest import _osmread, import_osm
from survatlas.ingest._osmread import node_locations, osm_file_processor
from survatlas.store import Store
from survatlas.synth.osmfile import grid_extract

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "benchmarks" / "_work"


def bare_pass(path: Path) -> int:
    """Visit exactly the objects the importer receives, doing nothing with them."""
    n = 0
    with node_locations(path) as locations:  # the importer's node-location index
        for obj in osm_file_processor(path, locations):
            n += obj.id != 0 and len(obj.tags) >= 0
    return n


def bare_geometry_pass(path: Path) -> int:
    """:func:`bare_pass`, also building the areas' and highway ways' WKB (as the importer)."""
    n = 0
    wkb = osmium.geom.WKBFactory()
    with node_locations(path) as locations:
        for obj in osm_file_processor(path, locations):
            n += obj.id != 0 and len(obj.tags) >= 0
            try:
                if isinstance(obj, osmium.osm.Area):
                    wkb.create_multipolygon(obj)
                elif isinstance(obj, osmium.osm.Way) and "highway" in obj.tags:
                    wkb.create_linestring(obj)
            except (RuntimeError, osmium.InvalidLocationError):
                pass
    return n


def our_import(path: Path) -> float:
    """Wall seconds of :func:`import_osm` into a fresh empty store, closing included."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "b.db")
        start = time.perf_counter()
        import_osm(store, path)
        store.close()
        return time.perf_counter() - start


#: the whole-process baseline: a script that imports pyosmium alone and makes the bare pass
#: of :func:`bare_pass` (the importer's key filter, given as arguments, and area assembly)
BARE_SCRIPT = """
import sys, osmium
keys = osmium.filter.KeyFilter(*sys.argv[2:])
n = 0
for obj in (osmium.FileProcessor(sys.argv[1], osmium.osm.NODE | osmium.osm.WAY | osmium.osm.RELATION)
            .with_locations().with_areas(osmium.filter.KeyFilter(*sys.argv[2:]))
            .with_filter(osmium.filter.EntityFilter(osmium.osm.NODE | osmium.osm.WAY | osmium.osm.AREA))
            .with_filter(keys)):
    n += obj.id != 0 and len(obj.tags) >= 0
print(n)
"""


def cli_processes(path: Path, runs: int) -> tuple[float, float]:
    """Median wall seconds of a whole ``survatlas import osm`` process into a new store, and of
    a process making :data:`BARE_SCRIPT`'s pass, run alternately."""
    ours, bare = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "survatlas", "--db", str(Path(tmp) / "c.db"),
                            "import", "osm", str(path)], check=True, capture_output=True)
            ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", BARE_SCRIPT, str(path), *_osmread.KEYS],
                       check=True, capture_output=True)
        bare.append(time.perf_counter() - start)
    return statistics.median(ours), statistics.median(bare)


def set_mode(mode: str) -> None:
    """Force where the file is read (``local``/``process``) or let the importer decide."""
    if mode != "auto":
        _osmread.use_process = lambda path: mode == "process"


def store_creation() -> float:
    """Wall seconds to create an empty store (schema migrations)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        Store(Path(tmp) / "b.db").close()
        return time.perf_counter() - start


def cpu_seconds() -> float:
    """CPU seconds of this process and its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def measure(fn: Callable[[], float | None]) -> tuple[float, float]:
    """(wall, cpu) seconds of one call; ``fn`` may return its own wall time."""
    cpu, start = cpu_seconds(), time.perf_counter()
    own = fn()
    wall = time.perf_counter() - start
    return (own if isinstance(own, float) else wall), cpu_seconds() - cpu


def before_import(path: Path, src: str, mode: str) -> tuple[float, float]:
    """(wall, CPU) seconds of :func:`our_import` by another checkout's ``src``, in a child
    process that imports the file once untimed first (no first-call costs in the figure)."""
    out = subprocess.run([sys.executable, __file__, "--mode", mode, "--one", str(path)],
                         check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": src})
    wall, cpu = json.loads(out.stdout.strip().splitlines()[-1])
    return wall, cpu


def compare(path: Path, runs: int, before: str | None = None, mode: str = "auto") -> dict:
    """Median wall and CPU of the bare passes and of the import, run alternately."""
    bare, geom, ours, old = [], [], [], []
    for _ in range(runs):
        bare.append(measure(lambda: bare_pass(path) and None))
        geom.append(measure(lambda: bare_geometry_pass(path) and None))
        ours.append(measure(lambda: our_import(path)))
        if before:
            old.append(before_import(path, before, mode))
    med = {k: [statistics.median(x[i] for x in v) for i in (0, 1)]
           for k, v in (("bare", bare), ("geom", geom), ("ours", ours), ("old", old)) if v}
    if before:
        print(f"  {path.name}: before ({before}) {med['old'][0]:.3f} s, {med['old'][1]:.3f} s CPU"
              f" = {med['old'][1] / med['bare'][1]:.2f}× the bare pass in CPU; now "
              f"{med['ours'][1]:.3f} s CPU = {med['ours'][1] / med['bare'][1]:.2f}×", flush=True)
    return {"bare_wall": med["bare"][0], "bare_cpu": med["bare"][1],
            "geom_wall": med["geom"][0], "geom_cpu": med["geom"][1],
            "ours_wall": med["ours"][0], "ours_cpu": med["ours"][1],
            "ratio": med["ours"][0] / med["bare"][0], "cpu_ratio": med["ours"][1] / med["bare"][1],
            "geom_cpu_ratio": med["ours"][1] / med["geom"][1],
            "objects": bare_pass(path)}


def peak_rss_mb(path: Path, what: str, mode: str) -> tuple[float, float]:
    """Peak resident memory (MB) of a fresh process doing ``what`` (import or bare), and of
    its largest child (the reader process, if any; its figure counts the pages it shares with
    the importer since the fork)."""
    out = subprocess.run([sys.executable, __file__, "--mode", mode, "--rss", what, str(path)],
                         check=True, capture_output=True, text=True, env={**os.environ})
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["self"], data["children"]


def _rss_child(what: str, path: Path) -> None:
    import resource

    if what == "bare":
        bare_pass(path)
    else:
        our_import(path)
    # VmHWM: this process's own peak (ru_maxrss would include the launching process's, on Linux)
    status = Path("/proc/self/status")
    hwm = [ln for ln in status.read_text().splitlines() if ln.startswith("VmHWM")] if (
        status.exists()) else []
    own = int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"self": own,
                      "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=500, help="blocks per side (4 buildings each)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    parser.add_argument("--mode", choices=("auto", "local", "process"), default="auto",
                        help="where the file is read (default: the importer decides)")
    parser.add_argument("--before", metavar="SRC",
                        help="also time another checkout's importer (its src folder)")
    parser.add_argument("--cli", action="store_true",
                        help="also time whole `survatlas import osm` processes")
    parser.add_argument("--rss", nargs=2, metavar=("WHAT", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--one", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    set_mode(args.mode)
    if args.one:
        our_import(Path(args.one))
        print(json.dumps(measure(lambda: our_import(Path(args.one)))))
        return
    if args.rss:
        _rss_child(args.rss[0], Path(args.rss[1]))
        return
    # a 0.2 s import moves by ±10 % from run to run on a shared host: thrice the rounds
    cases = [("helsinki-center.osm.pbf", REPO / "data" / "helsinki-center.osm.pbf", 3 * args.runs),
             (f"synthetic {4 * args.blocks ** 2:,} buildings", grid_extract(WORK, args.blocks), args.runs)]
    load = os.getloadavg()[0]
    print(f"store creation (not in the import times): {store_creation() * 1000:.0f} ms")
    print(f"{'file':30} {'objects':>9} {'reader':>7} {'bare s':>7} {'ours s':>7} {'ratio':>6}"
          f" {'bare cpu':>8} {'ours cpu':>8} {'ratio':>6} {'+geom cpu':>9} {'ratio':>6}"
          f" {'peak MB ours/reader/bare':>25}")
    for name, path, runs in cases:
        where = "process" if _osmread.use_process(path) else "local"
        r = compare(path, runs, args.before, args.mode)
        mem = ""
        if not args.no_memory:
            ours, reader = peak_rss_mb(path, "import", args.mode)
            bare, _ = peak_rss_mb(path, "bare", args.mode)
            mem = f"{ours:,.0f} / {reader:,.0f} / {bare:,.0f}"
        print(f"{name:30} {r['objects']:>9,} {where:>7} {r['bare_wall']:>7.3f} {r['ours_wall']:>7.3f}"
              f" {r['ratio']:>6.2f} {r['bare_cpu']:>8.3f} {r['ours_cpu']:>8.3f} {r['cpu_ratio']:>6.2f}"
              f" {r['geom_cpu']:>9.3f} {r['geom_cpu_ratio']:>6.2f} {mem:>25}")
    if args.cli:
        print("whole processes (`survatlas import osm FILE`, context included, vs a pyosmium "
              "script's bare pass), wall medians:")
        for name, path, runs in cases:
            ours, bare = cli_processes(path, runs)
            print(f"  {name:30} survatlas {ours:.3f} s, pyosmium script {bare:.3f} s, "
                  f"ratio {ours / bare:.2f}")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, SQLite "
          f"{sqlite3.sqlite_version}; load average at the start {load:.1f}, now "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
