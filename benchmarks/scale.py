"""Scale-out benchmark: the tiled Dask engine on 1 and 2 workers against the local engine.

On one synthetic city (``survatlas.synth``: ≈ 1,375 buildings per km², cameras on façades and
poles) it measures, in one run:

- the local engine (``analyse``: one tile, in process, numba on every core) — the baseline;
- writing the tile inputs (partitioned GeoParquet) and the halo duplication factor (buildings
  stored over all tiles per building);
- the tiles run one after another in this process with one thread (no Dask) — the work itself,
  split into the views step (∝ cameras) and the areas step (∝ raster cells / buildings);
- the Dask engine on a LocalCluster of 1 and of 2 worker processes (1 thread each): wall time,
  speed-up, and the scheduling overhead per tile task
  ``(Dask on 1 worker − in-process tiles) / tasks``;
- that the Dask figures equal the local ones (largest relative difference of any figure).

Usage::

    python benchmarks/scale.py                                  # 1,000,000 buildings, 100,000 cameras
    python benchmarks/scale.py --buildings 100000 --cameras 10000   # a quick run
    python benchmarks/scale.py --skip-local                     # without the one-tile baseline
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

from distributed import Client, LocalCluster

from survatlas.coverage import _scale_run
from survatlas.coverage.analysis import Settings, analyse, combine
from survatlas.coverage.scale import (
    areas_task,
    halo_factor,
    synthetic_inputs,
    tiled_inputs,
    views_regions,
    views_task,
)
from survatlas.synth import synth_city

BUILDINGS_PER_KM2 = 1375.0


def max_rel_diff(a, b) -> float:
    """Largest relative difference between two nested summaries (0 when identical)."""
    if isinstance(a, dict):
        return max([max_rel_diff(a[k], b[k]) for k in a] or [0.0])
    if isinstance(a, list | tuple):
        return max([max_rel_diff(x, y) for x, y in zip(a, b, strict=True)] or [0.0])
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) / max(abs(a), abs(b), 1e-300)
    return 0.0 if a == b else math.inf


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def in_process_steps(folder: Path, plan, settings: Settings, crs_wkt: str) -> tuple[float, float]:
    """Seconds of the views steps and of the areas steps, one thread, no Dask."""
    views, t_views = {}, 0.0
    for key in plan.view_keys:
        views[key], dt = timed(views_task, str(folder), key, settings, 1)
        t_views += dt
    t_areas = 0.0
    for key in plan.block_keys:
        tile = plan.tiles[key]
        _, dt = timed(areas_task, str(folder), key, tile.window, settings, plan.raster, crs_wkt, 1,
                      *[views_regions(views[n]) for n in tile.needs])
        t_areas += dt
    return t_views, t_areas


def per_level_costs(inputs, cell: float) -> None:
    """One thread: obstacle preparation per 1,000 buildings, then the views of every scenario
    and level (optics, visibility, street intervals) per 1,000 cameras."""
    from survatlas import optics
    from survatlas.coverage.aggregate import line_segments, seen_intervals
    from survatlas.coverage.analysis import LEVELS, device_rows
    from survatlas.coverage.obstacles import prepare_obstacles
    from survatlas.coverage.visibility import visibility

    obstacles, t_obst = timed(prepare_obstacles, inputs.buildings)
    segments = line_segments(inputs.streets)
    rows = device_rows(inputs.devices)
    n = len(rows)
    print(f"obstacles: {t_obst / inputs.buildings.size * 1000:.4f} s per 1,000 buildings")
    print(f"views per 1,000 cameras, one thread ({n:,} cameras):")
    for scenario in ("best", "typical", "worst"):
        geoms = [optics.camera_geometry(r, scenario) for r in rows]
        cells = []
        for level in LEVELS:
            start = time.perf_counter()
            cam, d, f, r = optics.expand_views(geoms, level)
            reg = visibility(obstacles, inputs.cam_x[cam], inputs.cam_y[cam], d, f, r, camera=cam,
                             threads=1)
            seen_intervals(reg, segments)
            cells.append(f"{level} {(time.perf_counter() - start) / n * 1000:.3f} s "
                         f"(≤ {r.max(initial=0):.0f} m)")
        print(f"  {scenario:8} " + ", ".join(cells))


def warm_up() -> None:
    """Load numba's cached kernels in this process (a tiny city, every step)."""
    small = synthetic_inputs(synth_city(300, 300, seed=2, n_cameras=5), sites_every=10)
    analyse(small, Settings(scenarios=("typical",), levels=("detection",), cell_m=4.0,
                            occlusion="2d"))


def on_cluster(inputs, settings, base, tile_m, workers: int):
    """Run on a fresh LocalCluster; seconds of the whole run and of its cluster phase."""
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        client.run(warm_up)  # every worker loads numba's cached kernels once (not timed)
        start = time.perf_counter()
        (folder, plan, _), t_prep = timed(tiled_inputs, inputs, settings, base, tile_m)
        (views, blocks), t_run = timed(_scale_run.run, folder, plan, settings,
                                       inputs.crs.to_wkt(), client=client, progress=None,
                                       retries=2, threads=1)
        result, t_combine = timed(combine, inputs, settings, plan.raster, views, blocks)
        total = time.perf_counter() - start
    return result, total, t_prep, t_run, t_combine


def best_of(n: int, fn, *args):
    """The run of ``fn(*args)`` (returning ``(result, total, …)``) with the shortest total."""
    return min((fn(*args) for _ in range(max(1, n))), key=lambda r: r[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=1_000_000)
    parser.add_argument("--cameras", type=int, default=100_000)
    parser.add_argument("--scenario", default="typical")
    parser.add_argument("--level", action="append", help="DORI level(s) (default: detection)")
    parser.add_argument("--cell", type=float, default=4.0, help="raster cell, metres")
    parser.add_argument("--tile-size", type=float, default=None, help="metres (default: auto)")
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs per cluster size, fastest kept (other jobs on the machine)")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--per-level", action="store_true",
                        help="only measure the views step per scenario and level (cost model)")
    args = parser.parse_args()
    settings = Settings(scenarios=(args.scenario,), levels=tuple(args.level or ["detection"]),
                        cell_m=args.cell, occlusion="2d")  # 2-D: the recorded figures
    side = math.sqrt(args.buildings / BUILDINGS_PER_KM2) * 1000 * 1.01
    city, t_city = timed(synth_city, side, side, seed=1, n_cameras=args.cameras)
    inputs = synthetic_inputs(city, sites_every=500)
    print(f"city: {len(city.buildings):,} buildings, {len(city.cameras):,} cameras, "
          f"{city.area_km2:,.0f} km², {len(city.streets):,} streets, {len(inputs.site_ids):,} sites "
          f"(generated in {t_city:.1f} s); settings: {args.scenario}, {', '.join(settings.levels)}, "
          f"{args.cell:g} m cells")
    if args.per_level:
        warm_up()
        per_level_costs(inputs, args.cell)
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="survatlas-scale-"))
    base = work / "tiles"
    shutil.rmtree(base, ignore_errors=True)
    (folder, plan, _), t_write = timed(tiled_inputs, inputs, settings, base, args.tile_size)
    halo = halo_factor(folder)
    n_tasks = len(plan.view_keys) + len(plan.block_keys)
    print(f"tiles: {plan.tile_m:,.0f} m, {len(plan.tiles)} tiles ({len(plan.view_keys)} with "
          f"cameras), {n_tasks} tasks; longest reach {plan.reach_m:.0f} m; written in "
          f"{t_write:.1f} s; halo duplication factor {halo['factor']:.3f} "
          f"({halo['stored']:,} stored / {halo['distinct']:,} buildings)")
    warm_up()
    (t_views, t_areas), t_serial = timed(in_process_steps, folder, plan, settings,
                                         inputs.crs.to_wkt())
    print(f"in-process tiles, 1 thread: {t_serial:.1f} s (views {t_views:.1f} s = "
          f"{t_views / len(city.cameras) * 1000:.3f} s per 1,000 cameras; areas {t_areas:.1f} s "
          f"= {t_areas / len(city.buildings) * 1000:.4f} s per 1,000 buildings, "
          f"{t_areas / city.area_km2:.3f} s per km²)")
    r1, t1, prep1, run1, comb1 = best_of(args.repeat, on_cluster, inputs, settings, base,
                                         args.tile_size, 1)
    print(f"dask, 1 worker:  {t1:.1f} s (client: reuse tiles {prep1:.1f} s, combine {comb1:.1f} s; "
          f"cluster {run1:.1f} s); scheduling overhead {(run1 - t_serial) / n_tasks * 1000:.1f} ms "
          "per tile task")
    r2, t2, prep2, run2, comb2 = best_of(args.repeat, on_cluster, inputs, settings, base,
                                         args.tile_size, 2)
    print(f"dask, 2 workers: {t2:.1f} s (client: reuse tiles {prep2:.1f} s, combine {comb2:.1f} s; "
          f"cluster {run2:.1f} s); speed-up {t1 / t2:.2f}× (cluster phase {run1 / run2:.2f}×)")
    print(f"load average during the run (other processes on this machine): {os.getloadavg()}")
    print(f"dask 1 vs 2 workers, largest relative difference: {max_rel_diff(r1.summary, r2.summary):.1e}")
    if not args.skip_local:
        local, t_local = timed(analyse, inputs, settings)
        print(f"local engine (one tile, numba on all cores): {t_local:.1f} s; dask 2 workers / "
              f"local = {t2 / t_local:.2f}; largest relative difference "
              f"{max_rel_diff(local.summary, r2.summary):.1e}")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
