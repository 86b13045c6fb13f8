"""CPU of one route plan (``web._analyses._planned``), untimed inside, on the demo store.

Plans ``--pairs`` random routes of ``benchmarks/web_load.py``'s mix (the map's query: robust,
detour 1.25, one figure level) ``--runs`` times in each of ``--processes`` processes, on the
preloaded shared network, and prints the process CPU per request of each run. With ``--against SRC`` the same runs are made, alternating,
by the sources under ``SRC`` (another checkout's ``src`` folder, say the code before a change) in
a second process, and the ratios are printed side by side. ``--answers FILE`` writes the
answers (JSON) of the first run to FILE, or compares them with FILE when it exists. Each
process also counts, in one untimed pass, the searches a request makes.

Usage::

    python benchmarks/route_plan.py --pairs 200 --runs 3 --processes 2 [--against ../base/src]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _pairs(db: Path, count: int) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    import web_load

    out = []
    for url in web_load.route_urls(db, random.Random(1), count):
        query = parse_qs(urlsplit(url).query)
        a, b = (tuple(map(float, query[k][0].split(","))) for k in ("from", "to"))
        out.append((a, b))
    return out


def _answer(result: dict) -> dict:
    import shapely

    out = dict(result)
    for name in ("shortest", "least_exposure"):
        route = out.get(name)
        if route is not None:
            out[name] = {**route, "geometry": shapely.to_wkb(route["geometry"]).hex()}
    return out


def _worker(db: Path, count: int, runs: int, answers: str | None) -> None:
    """Plan the pairs ``runs`` times; print one JSON line per run (ms of CPU per request)."""
    from survatlas.store import Store
    from survatlas.web import _analyses

    pairs = _pairs(db, count)
    _analyses.preload_network(db, "public")
    with Store(db, create=False) as store:
        for a, b in pairs[:20]:  # warm
            _plan(_analyses, store, a, b)
        for run in range(runs):
            got = []
            t0, w0 = time.process_time(), time.perf_counter()
            for a, b in pairs:
                got.append(_plan(_analyses, store, a, b))
            cpu, wall = time.process_time() - t0, time.perf_counter() - w0
            if run == 0 and answers:
                _answers(answers, [_answer(r) if isinstance(r, dict) else r for r in got])
            print(json.dumps({"cpu_ms": cpu * 1000 / len(pairs), "wall_ms": wall * 1000 / len(pairs),
                              "planned": sum(isinstance(r, dict) for r in got)}), flush=True)
        print(json.dumps({"searches": _searches(_analyses, store, pairs)}), flush=True)


def _searches(_analyses, store, pairs) -> float:  # type: ignore[no-untyped-def]
    """Searches a request (calls of ``routing._plan.solve`` by ``plan_route``), one untimed
    pass."""
    from survatlas.routing import plan as plan_module

    real, calls = plan_module.solve, [0]

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls[0] += 1
        return real(*args, **kwargs)

    plan_module.solve = counted
    try:
        for a, b in pairs:
            _plan(_analyses, store, a, b)
    finally:
        plan_module.solve = real
    return calls[0] / len(pairs)


def _plan(_analyses, store, a, b):  # type: ignore[no-untyped-def]
    try:
        return _analyses._planned(store, a, b, 1.25, "public", None)
    except Exception as exc:  # an error is an answer too
        return repr(exc)


def _answers(path: str, got: list) -> None:
    file = Path(path)
    text = json.dumps(got, sort_keys=True)
    if not file.exists():
        file.write_text(text)
        print(f"# wrote {len(got)} answers to {file.name}", file=sys.stderr)
        return
    want = json.loads(file.read_text())
    same = sum(json.dumps(g, sort_keys=True) == json.dumps(w, sort_keys=True)
               for g, w in zip(json.loads(text), want, strict=True))
    print(f"# answers: {same} of {len(want)} identical to {file.name}", file=sys.stderr)
    if same != len(want):
        raise SystemExit(1)


def _run(src: str, db: Path, args: argparse.Namespace, runs: int) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": src}
    cmd = [sys.executable, __file__, "--worker", str(db), "--pairs", str(args.pairs),
           "--runs", str(runs)]
    if args.answers and src == args.src:
        cmd += ["--answers", args.answers]
    done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    sys.stderr.write(done.stderr)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _cpu(runs: list[dict]) -> list[float]:
    return [r["cpu_ms"] for r in runs if "cpu_ms" in r]


def _searches_row(runs: list[dict]) -> str:
    return f"{statistics.mean(r['searches'] for r in runs if 'searches' in r):.2f}"


def _summary(runs: list[dict]) -> str:
    return f"min {min(_cpu(runs)):5.2f}  median {statistics.median(_cpu(runs)):5.2f}"


def _row(runs: list[dict]) -> str:
    return " ".join(f"{ms:5.2f}" for ms in _cpu(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="runs per process")
    parser.add_argument("--processes", type=int, default=2, help="processes per tree")
    parser.add_argument("--against", help="another src folder to compare with")
    parser.add_argument("--answers", help="write (or check against) the answers JSON file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(Path(args.worker), args.pairs, args.runs, args.answers)
        return
    import web_load

    db = web_load.demo_store()
    args.src = str(Path(__file__).resolve().parents[1] / "src")
    mine: list[dict] = []
    theirs: list[dict] = []
    for _ in range(args.processes):  # alternate the two trees' processes, in turn
        mine += _run(args.src, db, args, args.runs)
        if args.against:
            theirs += _run(args.against, db, args, args.runs)
    load = os.getloadavg()
    print(f"{args.pairs} route requests (demo store, robust, detour 1.25, one figure level), "
          f"{args.processes} processes × {args.runs} runs; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("CPU ms per request of each run:")
    print(f"  this tree:  {_row(mine)}   {_summary(mine)}")
    if theirs:
        print(f"  --against:  {_row(theirs)}   {_summary(theirs)}")
        for name, stat in (("min", min), ("median", statistics.median)):
            ratio = stat(_cpu(theirs)) / stat(_cpu(mine))
            print(f"  --against / this tree ({name}): {ratio:.2f}×")
    print(f"searches a request: this tree {_searches_row(mine)}"
          + (f", --against {_searches_row(theirs)}" if theirs else ""))


if __name__ == "__main__":
    main()
