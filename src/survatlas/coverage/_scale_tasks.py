"""The two per-tile tasks a worker runs (views, areas), and the worker count of a local cluster."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import shapely
from pyproj import CRS

from survatlas.coverage import _scale_files as files
from survatlas.coverage import _tiles
from survatlas.coverage._raster import Raster

#: Metres added to every camera's range for its halo (a nudged camera moves ≤ 3 m).
from survatlas.coverage._tile_inputs import tile_building_attrs
from survatlas.coverage.analysis import (
    Settings,
    device_columns,
)
from survatlas.coverage.regions import Regions
from survatlas.coverage.visibility import _threads


def views_task(folder: str, key: str, settings: Settings, threads: int | None = 1
               ) -> _tiles.ViewsPart:
    """Step 1 for one tile, read from the run folder (numba limited to ``threads``)."""
    with _threads(threads):
        return _views_task(Path(folder), key, settings)


def _views_task(folder_p: Path, key: str, settings: Settings) -> _tiles.ViewsPart:
    cams = files.read_geo(folder_p, "cameras", key)
    buildings = files.read_parts(folder_p, "buildings", key)
    outlines = files.read_segments(folder_p, "outlines", key)
    cam_set = _tiles.CameraSet(
        cams["camera"].to_numpy(np.int64), device_columns(cams),
        shapely.get_x(cams.geometry.values).astype(np.float64),
        shapely.get_y(cams.geometry.values).astype(np.float64),
        np.asarray(buildings.geometry.values, dtype=object),
        files.read_segments(folder_p, "streets", key), outlines if len(outlines) else None,
        tile_building_attrs(buildings))
    return _tiles.tile_views(cam_set, settings)


def areas_task(folder: str, key: str, window: tuple[int, int, int, int], settings: Settings,
               raster: Raster, crs_wkt: str, threads: int | None,
               *regions: dict[_tiles.Key, Regions]) -> _tiles.BlockPart:
    """Step 2 for one tile's raster cells, given the regions (:func:`views_regions`) of every
    tile that may reach them."""
    with _threads(threads):
        return _areas_task(Path(folder), key, window, settings, raster, crs_wkt, regions)


def views_regions(part: _tiles.ViewsPart) -> dict[_tiles.Key, Regions]:
    """The regions of a views part, per scenario and level: all an areas task needs of it
    (a cluster moves these between workers, not the whole part)."""
    return {key: level.regions for key, level in part.levels.items()}


def _areas_task(folder_p: Path, key: str, window, settings: Settings, raster: Raster,
                crs_wkt: str, parts) -> _tiles.BlockPart:
    box = _tiles.window_box(raster, window)
    geoms = np.asarray(files.read_parts(folder_p, "buildings", key).geometry.values, dtype=object)
    geoms = geoms[_tiles.box_hits(shapely.bounds(geoms), box)] if geoms.size else geoms
    sites = files.read_geo(folder_p, "sites", key)
    block = _tiles.BlockInput(window, geoms, sites["site"].to_numpy(np.int64),
                              np.asarray(sites.geometry.values, dtype=object),
                              sites["category"].to_numpy(object))
    keys = [(s, lv) for s in settings.scenarios for lv in settings.levels]
    regions = {k: _tiles.regions_meeting([r[k] for r in parts], box) for k in keys}
    return _tiles.block_areas(raster, block, regions, CRS.from_wkt(crs_wkt), settings.h3_resolution,
                              outputs=settings.outputs)


# --- running --------------------------------------------------------------------------------

def default_workers() -> int:
    """Worker processes of a local cluster: one per core."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)

