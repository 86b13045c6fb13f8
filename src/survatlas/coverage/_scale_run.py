"""Running the tile tasks of a plan: one after another in-process, or on a Dask cluster."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from survatlas.coverage import _tiles
from survatlas.errors import ScaleError


@contextmanager
def client(scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """A ``distributed.Client`` on ``scheduler``, or on a new LocalCluster of processes."""
    from distributed import Client, LocalCluster

    from survatlas.coverage._scale_tasks import default_workers

    if scheduler:
        with Client(scheduler) as c:
            yield c
        return
    with LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1,
                      processes=True, dashboard_address=None, silence_logs=logging.ERROR) as cl, \
            Client(cl) as c:
        yield c


def run(folder: Path, plan, settings, crs_wkt: str, *, client: Any, progress, retries: int,
        threads: int | None) -> tuple[list[_tiles.ViewsPart], list[_tiles.BlockPart]]:
    """Views of every camera tile, then areas of every block; :class:`ScaleError` on failures."""
    if client is None:
        return _serial(folder, plan, settings, crs_wkt, progress, threads)
    return _dask(folder, plan, settings, crs_wkt, client, progress, retries, threads)


def _serial(folder, plan, settings, crs_wkt, progress, threads):
    from survatlas.coverage._scale_tasks import areas_task, views_regions, views_task

    total = len(plan.view_keys) + len(plan.block_keys)
    done, failed = 0, {}
    views: dict[str, _tiles.ViewsPart] = {}
    for key in plan.view_keys:
        try:
            views[key] = views_task(str(folder), key, settings, threads)
        except Exception as exc:  # reported per tile below
            failed[f"views {key}"] = f"{type(exc).__name__}: {exc}"
        done += 1
        if progress:
            progress(done, total)
    blocks = []
    for key in plan.block_keys:
        tile = plan.tiles[key]
        missing = [n for n in tile.needs if n not in views]
        if missing:
            failed[f"areas {key}"] = f"needs failed views tiles {', '.join(missing)}"
        else:
            try:
                blocks.append(areas_task(str(folder), key, tile.window, settings, plan.raster,
                                         crs_wkt, threads,
                                         *[views_regions(views[n]) for n in tile.needs]))
            except Exception as exc:
                failed[f"areas {key}"] = f"{type(exc).__name__}: {exc}"
        done += 1
        if progress:
            progress(done, total)
    _raise_failed(failed, total)
    return [views[k] for k in plan.view_keys], blocks


def _dask(folder, plan, settings, crs_wkt, client, progress, retries, threads):
    from distributed import as_completed

    from survatlas.coverage._scale_tasks import areas_task, views_regions, views_task

    run_id = uuid.uuid4().hex[:8]
    vf = {k: client.submit(views_task, str(folder), k, settings, threads, retries=retries,
                           pure=False, key=f"views-{k}-{run_id}") for k in plan.view_keys}
    # areas tasks take only the regions of their neighbours' views (less to move)
    rf = {k: client.submit(views_regions, f, retries=retries, pure=False,
                           key=f"regions-{k}-{run_id}") for k, f in vf.items()}
    bf = {}
    for k in plan.block_keys:
        tile = plan.tiles[k]
        bf[k] = client.submit(areas_task, str(folder), k, tile.window, settings, plan.raster,
                              crs_wkt, threads, *[rf[n] for n in tile.needs], retries=retries,
                              pure=False, key=f"areas-{k}-{run_id}")
    names = {f.key: f"views {k}" for k, f in vf.items()} | {f.key: f"areas {k}" for k, f in bf.items()}
    total, done, failed = len(names), 0, {}
    try:
        for fut in as_completed([*vf.values(), *bf.values()]):
            done += 1
            if fut.status != "finished":
                failed[names[fut.key]] = _why(fut)
            if progress:
                progress(done, total)
        _raise_failed(failed, total)
        views = client.gather([vf[k] for k in plan.view_keys])
        blocks = client.gather([bf[k] for k in plan.block_keys])
    finally:
        client.cancel([*vf.values(), *rf.values(), *bf.values()])
    return views, blocks


def _why(fut) -> str:
    if fut.status == "cancelled":
        return "cancelled (the cluster went away?)"
    try:
        exc = fut.exception()
    except Exception as err:  # the exception itself could not be fetched
        return f"{type(err).__name__}: {err}"
    return f"{type(exc).__name__}: {exc}"


def _raise_failed(failed: dict[str, str], total: int) -> None:
    if not failed:
        return
    lines = "; ".join(f"{k}: {v}" for k, v in sorted(failed.items())[:20])
    more = f" (and {len(failed) - 20} more)" if len(failed) > 20 else ""
    raise ScaleError(f"{len(failed)} of {total} tile tasks failed, nothing was saved — {lines}"
                     f"{more}. Fix the cause (or delete the tile folder if a tile file is "
                     "damaged) and run again.", failed)
