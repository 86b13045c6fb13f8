"""Import benchmark: `survatlas import osm` vs a bare pyosmium pass over the same objects.

The baseline reads the same file with the same pyosmium filters and area assembly and touches
every object our importer receives (its id and tags), doing nothing else. Our import also
normalises tags, builds WKB geometries, computes bounding boxes and writes everything to SQLite
with R*Tree indexes in one transaction. Target: ours / bare ≤ 3×.

Usage::

    python benchmarks/import_osm.py                 # Helsinki + a 1,000,000-building city
    python benchmarks/import_osm.py --blocks 100    # smaller synthetic city (40,000 buildings)
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import osmium
import osmium.filter

from survatlas._osmfile import grid_city_arrays, write_osm
from survatlas.ingest import import_osm
from survatlas.ingest.osm import _KEYS
from survatlas.store import Store

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "benchmarks" / "_work"


def bare_pass(path: Path) -> int:
    """Visit exactly the objects the importer receives, doing nothing with them."""
    fp = (osmium.FileProcessor(str(path))
          .with_areas(osmium.filter.KeyFilter("building", *_KEYS))
          .with_filter(osmium.filter.KeyFilter(*_KEYS)))
    n = 0
    for obj in fp:
        n += obj.id != 0 and len(obj.tags) >= 0
    return n


def our_import(path: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "b.db") as store:
        summary = import_osm(store, path)
    return sum(c.added for c in summary.layers.values())


def timed(fn, path: Path, runs: int) -> tuple[float, int]:
    times, result = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        result = fn(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def synthetic(blocks: int) -> Path:
    WORK.mkdir(exist_ok=True)
    path = WORK / f"grid-{blocks}.osm.pbf"
    if not path.exists():
        buildings, streets, cameras = grid_city_arrays(blocks, cameras_per_block=0.1)
        write_osm(path, buildings=buildings, streets=streets, cameras=cameras)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=500, help="blocks per side (4 buildings each)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cases = [("helsinki-center.osm.pbf", REPO / "data" / "helsinki-center.osm.pbf", args.runs),
             (f"synthetic {4 * args.blocks ** 2:,} buildings", synthetic(args.blocks), max(1, args.runs - 2))]
    print(f"{'file':32} {'objects':>10} {'bare s':>8} {'ours s':>8} {'ratio':>6}")
    for name, path, runs in cases:
        bare, _ = timed(bare_pass, path, runs)
        ours, added = timed(our_import, path, runs)
        print(f"{name:32} {added:>10,} {bare:>8.2f} {ours:>8.2f} {ours / bare:>6.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
