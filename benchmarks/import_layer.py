"""GIS layer import against a bare ``pyogrio.read_dataframe`` of the same file, side by side.

The layer is the buildings of a grid city of ``benchmarks/peer.py`` (``--km``: 10 gives
183,385 footprints) with three attribute columns (``height``, ``building:levels``, ``name``),
written once as GeoJSON (or ``--format gpkg``). Alternating runs in this process: the bare read,
then ``survatlas.ingest.import_layer`` into a new, empty store (schema made before the clock
starts; the import reads the file itself, all-or-nothing, and commits).

Usage::

    python benchmarks/import_layer.py                 # 10 km city, GeoJSON, 3 runs each
    python benchmarks/import_layer.py --km 2 --runs 5

``--before SRC`` also times another checkout's importer (its ``src`` folder) on the same file,
in a child process (only the import is timed there, after the same warm-up), alternating with the two others: the
"before" figures of ``docs/benchmarks.md``. CPU seconds are user + system of the importing
process; on a shared machine they move far less than wall seconds.

    python benchmarks/import_layer.py --km 2 --runs 5 --before ../main/src
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "peer"


def layer_file(km: int, fmt: str) -> Path:
    """The city's buildings as a layer file (cached)."""
    sys.path.insert(0, str(HERE))
    from _peer_scene import grid_scene

    path = WORK / f"buildings{km}km.{'geojson' if fmt == 'geojson' else 'gpkg'}"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        scene = grid_scene(km, 0)
        rings = scene.to_lonlat(scene.buildings)
        rng = np.random.default_rng(3)
        n = len(rings)
        frame = gpd.GeoDataFrame({
            "height": np.round(rng.uniform(6, 30, n), 1),
            "building:levels": rng.integers(2, 9, n),
            "name": np.where(rng.random(n) < 0.1, "Haus " + np.arange(n).astype(str), None),
        }, geometry=shapely.polygons(rings), crs="EPSG:4326")
        pyogrio.write_dataframe(frame, path, driver="GeoJSON" if fmt == "geojson" else "GPKG")
    return path


def warm_up() -> None:
    """Import a 10-building layer once, so that no timed run pays first-call costs (lazy
    imports, first use of numpy, shapely and SQLite paths)."""
    path = WORK / "buildings_warmup.geojson"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        frame = gpd.GeoDataFrame({"height": np.arange(10.0) + 3},
                                 geometry=shapely.box(np.arange(10) * 1e-3 + 13.4, 52.5,
                                                      np.arange(10) * 1e-3 + 13.4005, 52.5005),
                                 crs="EPSG:4326")
        pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    bare(path)
    ours(path)


def bare(path: Path) -> tuple[float, float]:
    """Wall and CPU seconds of a bare ``pyogrio.read_dataframe``."""
    start, cpu = time.perf_counter(), time.process_time()
    pyogrio.read_dataframe(path)
    return time.perf_counter() - start, time.process_time() - cpu


def ours(path: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds of ``import_layer`` into a new store (commit and close included),
    and the rows added."""
    from survatlas.ingest import import_layer
    from survatlas.store import Store

    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        store = Store(Path(tmp) / "layer.db")  # schema outside the clock
        start, cpu = time.perf_counter(), time.process_time()
        summary = import_layer(store, path, "buildings")
        store.close()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return wall, cpu, summary.layers["buildings"].added


def before(path: Path, src: str) -> tuple[float, float, int]:
    """:func:`ours` run by a child process with ``src`` first on its path."""
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run([sys.executable, __file__, "--one", str(path)], env=env, check=True,
                         capture_output=True, text=True).stdout
    wall, cpu, added = json.loads(out.strip().splitlines()[-1])
    return wall, cpu, added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--km", type=int, default=10, choices=(2, 5, 10))
    parser.add_argument("--format", default="geojson", choices=("geojson", "gpkg"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", metavar="SRC", help="also time the importer of this src")
    parser.add_argument("--one", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        warm_up()
        print(json.dumps(ours(Path(args.one))))
        return
    path = layer_file(args.km, args.format)
    warm_up()
    print(f"load average {os.getloadavg()[0]:.1f}; {path.name} "
          f"({path.stat().st_size / 1e6:.1f} MB)", flush=True)
    b, o, old, added = [], [], [], 0
    for _ in range(args.runs):
        b.append(bare(path))
        *times, added = ours(path)
        o.append(tuple(times))
        line = (f"  bare {b[-1][0]:.2f} s ({b[-1][1]:.2f} s CPU)   "
                f"import {o[-1][0]:.2f} s ({o[-1][1]:.2f} s CPU)")
        if args.before:
            *times, _ = before(path, args.before)
            old.append(tuple(times))
            line += f"   before {old[-1][0]:.2f} s ({old[-1][1]:.2f} s CPU)"
        print(line, flush=True)
    (mb, cb), (mo, co) = ([statistics.median(r[k] for r in runs) for k in (0, 1)]
                          for runs in (b, o))
    print(f"{added:,} buildings: bare pyogrio.read_dataframe {mb:.2f} s ({cb:.2f} s CPU), "
          f"import_layer {mo:.2f} s ({co:.2f} s CPU; {added / mo:,.0f} buildings/s); "
          f"ratio {mo / mb:.2f}× wall, {co / cb:.2f}× CPU the bare read (target ≤ 3×)")
    if old:
        wb, cpb = (statistics.median(r[k] for r in old) for k in (0, 1))
        print(f"before ({args.before}): {wb:.2f} s ({cpb:.2f} s CPU), {wb / mb:.2f}× wall, "
              f"{cpb / cb:.2f}× CPU the bare read; now {wb / mo:.2f}× faster in wall, "
              f"{cpb / co:.2f}× in CPU")
    print(f"load average {os.getloadavg()[0]:.1f}; {os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]}, pyogrio {pyogrio.__version__}, "
          f"GDAL {pyogrio.__gdal_version_string__}")


if __name__ == "__main__":
    main()
