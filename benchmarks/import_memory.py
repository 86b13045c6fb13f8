"""Peak memory of `survatlas import osm` against the extract's size (is the import bounded?).

Each import runs in a fresh process (``/usr/bin/time -v python … --one FILE STORE``) into a new
store; this script samples ``/proc/<pid>/status`` of that process and of its reader child (if
any) every 50 ms and reports, per process:

* ``VmHWM`` — the kernel's exact peak resident set (anonymous *and* file-backed pages);
* the largest ``RssAnon`` sampled — anonymous memory (heap, numpy arrays, pyosmium's in-memory
  location index): what the process really needs, and what cannot be paged out to a file;
* the largest ``RssFile`` sampled — pages of mapped files (shared libraries, pyosmium's
  file-backed location index): the kernel may drop or write these back whenever memory is
  short, so they count in the resident set without being a need.

The baseline is the extract itself: if the import were not bounded, anonymous memory would grow
in step with the number of buildings. Synthetic cities come from
``survatlas.synth.osmfile.grid_city_arrays(blocks)`` (4 buildings per block, 0.1 camera per block),
cached in ``benchmarks/_work/`` (git-ignored); the stores are written there and deleted after
each run.

Usage::

    python benchmarks/import_memory.py                       # 250,000 and 1,000,000 buildings
    python benchmarks/import_memory.py --blocks 250 500 1581 # ... and ~10,000,000 (114 MB file)
    python benchmarks/import_memory.py --mode local          # reader forced into the importer
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from survatlas.synth.osmfile import grid_extract

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "benchmarks" / "_work"
_FIELDS = ("VmHWM", "VmRSS", "RssAnon", "RssFile")


def _status(pid: int) -> dict[str, int]:
    """kB figures of ``/proc/<pid>/status`` (empty once the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    out = {}
    for name in _FIELDS:
        m = re.search(rf"^{name}:\s+(\d+) kB", text, re.M)
        if m:
            out[name] = int(m.group(1))
    return out


def _children(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(c) for t in tasks for c in (t / "children").read_text().split()]
    except OSError:
        return []


def run_one(path: Path, mode: str) -> dict:
    """Import ``path`` into a new store in a fresh process; peaks per process, wall, store size."""
    store = WORK / f"{path.stem}.memory.db"
    for p in WORK.glob(f"{store.name}*"):
        p.unlink()
    cmd = ["/usr/bin/time", "-v", sys.executable, __file__, "--one", str(path), str(store),
           "--mode", mode]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peaks: dict[str, dict[str, int]] = {}
    roles: dict[int, str] = {}
    while proc.poll() is None:
        for python in _children(proc.pid):  # /usr/bin/time -> importer -> reader
            roles.setdefault(python, "importer")
            for child in _children(python):
                roles.setdefault(child, "reader")
        for pid, role in roles.items():
            now = _status(pid)
            peak = peaks.setdefault(role, {})
            for k, v in now.items():
                peak[k] = max(peak.get(k, 0), v)
        time.sleep(0.05)
    wall = time.perf_counter() - start
    out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"import failed:\n{err[-2000:]}")
    maxrss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    result = json.loads(out.strip().splitlines()[-1])
    size = sum(p.stat().st_size for p in WORK.glob(f"{store.name}*"))
    for p in WORK.glob(f"{store.name}*"):
        p.unlink()
    return {"wall": wall, "import_s": result["seconds"], "buildings": result["buildings"],
            "time_maxrss_mb": int(maxrss.group(1)) / 1024 if maxrss else None,
            "store_mb": size / 1e6,
            "peaks_mb": {r: {k: v / 1024 for k, v in p.items()} for r, p in peaks.items()}}


def _one(path: Path, store_path: Path, mode: str) -> None:
    """Child: the import itself (as the CLI runs it), timed."""
    from survatlas.ingest import _osmread, import_osm
    from survatlas.store import Store

    if mode != "auto":
        _osmread.use_process = lambda p: mode == "process"
    start = time.perf_counter()
    with Store(store_path) as store:
        summary = import_osm(store, path)
    print(json.dumps({"seconds": time.perf_counter() - start,
                      "buildings": summary.layers["buildings"].added}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, nargs="+", default=[250, 500],
                        help="blocks per side of each synthetic city (4 buildings a block)")
    parser.add_argument("--mode", choices=("auto", "local", "process"), default="local",
                        help="where the file is read (default: in the importer, one process)")
    parser.add_argument("--one", nargs=2, metavar=("FILE", "STORE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(Path(args.one[0]), Path(args.one[1]), args.mode)
        return
    print(f"{'buildings':>11} {'file MB':>8} {'store MB':>9} {'wall s':>7} {'process':>9}"
          f" {'VmHWM':>7} {'RssAnon':>8} {'RssFile':>8}   (peaks, MB)")
    for blocks in args.blocks:
        path = grid_extract(WORK, blocks)
        r = run_one(path, args.mode)
        for k, (role, p) in enumerate(sorted(r["peaks_mb"].items())):
            head = (f"{r['buildings']:>11,} {path.stat().st_size / 1e6:>8.1f} {r['store_mb']:>9,.0f}"
                    f" {r['wall']:>7.1f}") if k == 0 else " " * 38
            print(f"{head} {role:>9} {p.get('VmHWM', 0):>7,.0f} {p.get('RssAnon', 0):>8,.0f}"
                  f" {p.get('RssFile', 0):>8,.0f}", flush=True)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
          f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
