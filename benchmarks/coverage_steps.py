"""Where a coverage run's CPU goes: each step of ``survatlas coverage`` timed in one process.

The steps of the local engine (:func:`survatlas.coverage.scale.compute_coverage`) run one after
another on a store, each timed with ``time.process_time`` (CPU seconds of this process):
importing the coverage modules, reading the inputs, the obstacle cache, the cameras' optics
(per camera with the reference :func:`survatlas.optics.camera_geometry`, then column-wise with
:func:`survatlas.coverage.camera_views.camera_views`, which the analysis runs, and their ratio),
the analysis (views, street intervals and the asked outputs; the first kernel call included),
the input fingerprint and saving the results (which computes the fingerprint again). Run it
on a copy of a store: it replaces the store's coverage results, as the command does.

Usage::

    python benchmarks/coverage_steps.py city.db                 # streets only, 2-D
    python benchmarks/coverage_steps.py city.db --only streets sites areas h3
"""

from __future__ import annotations

import argparse
import os
import time

CPU = time.process_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db")
    parser.add_argument("--only", nargs="+", default=["streets"])
    parser.add_argument("--occlusion", default="2d", choices=("2d", "2.5d"))
    args = parser.parse_args()
    steps: list[tuple[str, float]] = []
    start = CPU()
    from survatlas import optics
    from survatlas.coverage import results, runs
    from survatlas.coverage.analysis import Settings, all_cameras, analyse, load_inputs
    from survatlas.coverage.camera_views import camera_views
    from survatlas.coverage.obstacle_cache import with_obstacles
    from survatlas.coverage.reading import rows_of
    from survatlas.coverage.scale import _with_heights
    from survatlas.store import Store

    steps.append(("import the coverage modules", CPU() - start))
    settings = Settings(scenarios=("typical",), levels=("detection",), occlusion=args.occlusion,
                        outputs=tuple(o for o in ("streets", "sites", "areas", "h3")
                                      if o in args.only or o == "streets"))

    def step(name, fn, *a, **kw):
        t = CPU()
        out = fn(*a, **kw)
        steps.append((name, CPU() - t))
        return out

    with Store(args.db, create=False) as store:
        inputs = step("read cameras, streets, sites (load_inputs)", load_inputs, store,
                      buildings=False)
        inputs, obstacles, hit = step("obstacle cache (read, fingerprint, load)", with_obstacles,
                                      store, inputs)
        inputs = step("building tags (2.5-D only)", _with_heights, store, inputs, settings)
        columns = step("cameras and street segments (all_cameras)",
                       lambda: all_cameras(inputs).rows)
        rows = rows_of(columns)
        step("optics of every camera, per camera (reference)",
             lambda: [optics.camera_geometry(r, "typical") for r in rows])
        step("optics of every camera, column-wise (camera_views)",
             lambda: camera_views(columns, "typical"))
        result = step("analyse (views, streets, outputs; first kernel call)", analyse, inputs,
                      settings, obstacles=obstacles)
        runs._FINGERPRINTS.clear()
        step("input fingerprint", runs.input_fingerprint, store, None, inputs.building_bbox)
        runs._FINGERPRINTS.clear()
        step("save the results (fingerprint included)", results.save_result, store, result, None)
    total = CPU() - start
    print(f"{args.db}: {len(inputs.devices):,} cameras, {inputs.streets.size:,} streets, "
          f"outputs {', '.join(settings.outputs)}, occlusion {args.occlusion}, obstacle cache "
          f"{'hit' if hit else 'miss'}; load average {os.getloadavg()[0]:.1f}")
    for name, sec in steps:
        print(f"  {name:55} {sec:6.3f} s CPU  {sec / total:5.1%}")
    times = dict(steps)
    ref, cols = (times[f"optics of every camera, {k}"] for k in
                 ("per camera (reference)", "column-wise (camera_views)"))
    print(f"  optics column-wise vs per camera: {ref / cols:.1f}× faster "
          "(camera_views is what analyse runs)")
    print(f"  {'total (steps overlap: optics is also inside analyse)':55} {total:6.3f} s CPU")


if __name__ == "__main__":
    main()
