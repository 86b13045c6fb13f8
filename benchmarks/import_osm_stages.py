"""Where `survatlas import osm` spends its CPU time: the reader by object type, then the stages.

Two measurements on one file, CPU seconds, medians of ``--runs``:

* **reader by object type** — the pyosmium pass of the importer (its file processor and
  node-location index) with the reader's handler for nothing, nodes only, ways only, areas
  only, and all three: the difference to "nothing" is our Python for that type;
* **stages of a whole import** into a fresh store — the writer (``LayerWriter.add`` and
  ``finish``), the device history (``SnapshotRecorder.record``), the custody digests of the
  map tables (``custody.map_state``); the rest is the reader and the transaction.

Usage::

    python benchmarks/import_osm_stages.py data/helsinki-center.osm.pbf
    python benchmarks/import_osm_stages.py benchmarks/_work/grid-100.osm.pbf --runs 3
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import osmium

import survatlas.ingest._history as history
import survatlas.ingest._writer as writer
import survatlas.store.custody as custody
from survatlas.ingest import import_osm
from survatlas.ingest._osmread import _RowBuilder, node_locations, osm_file_processor
from survatlas.store import Store

TYPES = {"nothing": "", "nodes": "n", "ways": "w", "areas": "a", "all": "nwa"}


def reader_pass(path: Path, which: str) -> float:
    """CPU seconds of the pyosmium pass with the reader's handlers for ``which`` types."""
    builder = _RowBuilder("public")
    handlers = {osmium.osm.Node: builder.node if "n" in which else None,
                osmium.osm.Way: builder.way if "w" in which else None,
                osmium.osm.Area: builder.area if "a" in which else None,
                osmium.osm.Relation: None}
    start = time.process_time()
    with node_locations(path) as locations:
        for obj in osm_file_processor(path, locations):
            handle = handlers[type(obj)]
            if handle is not None:
                handle(obj)
    return time.process_time() - start


def _timed(owner: object, name: str, label: str, spent: dict[str, float]) -> None:
    """Wrap ``owner.name`` so that its CPU seconds add up in ``spent[label]``."""
    fn: Callable = getattr(owner, name)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.process_time() - start

    setattr(owner, name, wrapper)


def stages(path: Path, runs: int) -> dict[str, float]:
    """Median CPU seconds of each stage of an import (after one untimed import)."""
    spent: dict[str, float] = {}
    _timed(writer.LayerWriter, "add", "writer: rows", spent)
    _timed(writer.LayerWriter, "finish", "writer: indexes, R*Tree", spent)
    _timed(history.SnapshotRecorder, "record", "device history", spent)
    _timed(custody, "map_state", "custody digests", spent)
    per_run: list[dict[str, float]] = []
    for k in range(runs + 1):
        spent.clear()
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "s.db")
            start = time.process_time()
            import_osm(store, path)
            store.close()
            total = time.process_time() - start
        if k:  # the first import pays first-call costs
            per_run.append({"import (total)": total, **spent,
                            "reader and the rest": total - sum(spent.values())})
    return {key: statistics.median(r[key] for r in per_run) for key in per_run[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    times = {name: [] for name in TYPES}
    for _ in range(args.runs):
        for name, which in TYPES.items():
            times[name].append(reader_pass(args.file, which))
    med = {name: statistics.median(v) for name, v in times.items()}
    print(f"{args.file.name}: reader by object type (CPU s, median of {args.runs})")
    for name in TYPES:
        extra = "" if name == "nothing" else f"  (+{med[name] - med['nothing']:.3f} ours)"
        print(f"  {name:10} {med[name]:.3f}{extra}")
    print(f"{args.file.name}: stages of an import (CPU s, median of {args.runs})")
    for name, value in stages(args.file, args.runs).items():
        print(f"  {name:26} {value:.3f}")
    print(f"load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; "
          f"{os.cpu_count()} cores")


if __name__ == "__main__":
    main()
