"""Scale-out: coverage of a country or the planet, tiled over a Dask cluster, same numbers.

The run is cut into square tiles of ``tile_m`` metres in the run's metric CRS. A camera belongs
to exactly one tile, ``(floor(x / tile_m), floor(y / tile_m))`` (half-open, so a camera on a
border has one tile). Each tile's inputs are written once as partitioned GeoParquet next to
the store (``<db>.tiles/<run hash>/``, see :mod:`survatlas.coverage._scale_files`) and reused while the
inputs and settings do not change; workers read only their tile's files.

Every tile runs the two additive steps of :mod:`survatlas.coverage._tiles`:

1. *views* — regions of the tile's own cameras among the buildings within the halo of their
   longest range (buildings are copied into every tile whose halo they meet), and the street /
   site-outline metre intervals they see, with global ids;
2. *areas* — for the raster cells the tile owns (cells of the global raster, grouped 4 × 4 for
   H3), the count grid of every region that reaches them (the tile's own and its
   neighbours'), and integer counts of land, public space, sites and H3 cells.

Intervals are merged and cell counts summed on the client, then summarised exactly like a
single-machine run (:func:`survatlas.coverage.analysis.analyse`, which is the one-tile case).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from survatlas import optics
from survatlas.coverage import _scale_files as files
from survatlas.coverage import _tiles
from survatlas.coverage._raster import Raster
from survatlas.coverage.analysis import (
    OPTICS_COLUMNS,
    OPTICS_TEXTS,
    Inputs,
    Result,
    Settings,
    _building_filter,
    combine,
    device_rows,
    iter_buildings,
    load_inputs,
    outline_lines,
)
from survatlas.coverage.regions import Regions
from survatlas.coverage.visibility import _threads
from survatlas.errors import InputError
from survatlas.store import Store

#: Metres added to every camera's range for its halo (a nudged camera moves ≤ 3 m).
HALO_PAD_M = 10.0
#: Smallest automatic tile size, metres.
MIN_AUTO_TILE_M = 2000.0
#: Automatic tile size in halos: (1 + 2/18)² ≈ 1.23 buildings stored per building at most.
AUTO_TILE_HALOS = 18
#: Raster cells are grouped in blocks of this many cells per side for H3 (as in aggregate.h3_assignment).
H3_BLOCK = 4
ENGINES = ("local", "dask")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Tile:
    """One tile of a plan.

    Attributes
    ----------
    key
        ``"<kx>_<ky>"``: the tile covers ``[kx·t, (kx+1)·t) × [ky·t, (ky+1)·t)`` metres.
    cameras
        Global indices of the cameras the tile owns (ascending).
    halo
        Bounding box of everything its cameras can reach (range + pad), or None.
    window
        ``(j0, j1, i0, i1)``: the cells of the global raster the tile owns, or None.
    box
        Bounding box of the inputs written for the tile (halo and owned cells).
    needs
        Keys of the tiles whose cameras may see the tile's cells (its own included).
    """

    key: str
    cameras: np.ndarray
    halo: tuple[float, float, float, float] | None
    window: tuple[int, int, int, int] | None
    box: tuple[float, float, float, float]
    needs: tuple[str, ...]


@dataclass(frozen=True)
class TilePlan:
    """How a run is cut: tile size, global raster and the tiles."""

    tile_m: float
    raster: Raster
    reach_m: float
    tiles: dict[str, Tile]

    @property
    def view_keys(self) -> list[str]:
        """Tiles that own cameras."""
        return [k for k, t in self.tiles.items() if t.cameras.size]

    @property
    def block_keys(self) -> list[str]:
        """Tiles that own raster cells."""
        return [k for k, t in self.tiles.items() if t.window is not None]


def camera_reach(inputs: Inputs, settings: Settings) -> np.ndarray:
    """Longest range of each camera over the run's scenarios and levels, metres."""
    rows = device_rows(inputs.devices)
    reach = np.zeros(len(rows))
    for scenario in settings.scenarios:
        for i, row in enumerate(rows):
            g = optics.camera_geometry(row, scenario, standard=settings.standard,
                                       no_direction=settings.no_direction)
            r = [g.ranges_m[lv] for lv in settings.levels if lv in g.ranges_m] if g.views else []
            reach[i] = max(reach[i], max(r, default=0.0))
    return reach


def auto_tile_m(reach_m: float, cell_m: float) -> float:
    """Default tile size: ≥ 2 km and ≥ 18 halos, a multiple of 100 m and of 4 cells."""
    size = max(MIN_AUTO_TILE_M, AUTO_TILE_HALOS * (reach_m + HALO_PAD_M))
    step = math.lcm(100, max(1, round(H3_BLOCK * cell_m))) if float(cell_m).is_integer() else 100
    return float(math.ceil(size / step) * step)


def plan_tiles(inputs: Inputs, settings: Settings, tile_m: float | None = None) -> TilePlan:
    """Cut a run into tiles (see :class:`Tile`); ``tile_m=None`` picks :func:`auto_tile_m`."""
    settings.check()
    raster = Raster.covering(inputs.bounds, settings.cell_m)
    reach = camera_reach(inputs, settings) + HALO_PAD_M
    tile_m = auto_tile_m(float(reach.max(initial=0.0)), settings.cell_m) if tile_m is None \
        else float(tile_m)
    if not (tile_m > 0 and math.isfinite(tile_m)):
        raise InputError("tile size must be a positive number of metres")
    cams = camera_tiles(inputs.cam_x, inputs.cam_y, tile_m)
    halos: dict[str, tuple] = {}
    for key, idx in cams.items():
        r, x, y = reach[idx], inputs.cam_x[idx], inputs.cam_y[idx]
        halos[key] = (float((x - r).min()), float((y - r).min()), float((x + r).max()),
                      float((y + r).max()))
    windows = _owned_windows(raster, tile_m)
    tiles = {}
    halo_keys = list(halos)
    tree = shapely.STRtree(shapely.box(*np.array([halos[k] for k in halo_keys]).T)) \
        if halo_keys else None
    for key in sorted(set(halos) | set(windows), key=_key_order):
        window = windows.get(key)
        owned = _tiles.window_box(raster, window) if window is not None else None
        needs = tuple(sorted((halo_keys[i] for i in tree.query(shapely.box(*owned))),
                             key=_key_order)) if owned is not None and tree is not None else ()
        boxes = [b for b in (halos.get(key), owned) if b is not None]
        box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
               max(b[3] for b in boxes))
        tiles[key] = Tile(key, cams.get(key, np.empty(0, np.int64)), halos.get(key), window, box,
                          needs)
    return TilePlan(tile_m, raster, float(reach.max(initial=0.0)), tiles)


def camera_tiles(x: np.ndarray, y: np.ndarray, tile_m: float) -> dict[str, np.ndarray]:
    """Cameras of each tile ``floor(x / t), floor(y / t)`` (half-open), ascending indices."""
    kx = np.floor(np.asarray(x) / tile_m).astype(np.int64)
    ky = np.floor(np.asarray(y) / tile_m).astype(np.int64)
    if kx.size == 0:
        return {}
    order = np.lexsort((np.arange(kx.size), ky, kx))
    pairs = np.stack([kx[order], ky[order]], 1)
    cut = np.flatnonzero(np.any(np.diff(pairs, axis=0) != 0, axis=1)) + 1
    return {f"{kx[g[0]]}_{ky[g[0]]}": np.sort(g) for g in np.split(order, cut)}


def _key_order(key: str) -> tuple[int, int]:
    a, b = key.split("_")
    return int(a), int(b)


def _owned_ranges(origin: float, cell: float, n: int, tile_m: float) -> dict[int, tuple[int, int]]:
    """Per tile index along one axis, the half-open cell range it owns (4-cell groups, by centre)."""
    groups = -(-n // H3_BLOCK)
    centre = origin + (np.arange(groups) * H3_BLOCK + H3_BLOCK / 2) * cell
    k = np.floor(centre / tile_m).astype(np.int64)
    out = {}
    for t in np.unique(k):
        g = np.flatnonzero(k == t)
        out[int(t)] = (int(g[0]) * H3_BLOCK, min(n, (int(g[-1]) + 1) * H3_BLOCK))
    return out


def _owned_windows(raster: Raster, tile_m: float) -> dict[str, tuple[int, int, int, int]]:
    cols = _owned_ranges(raster.x0, raster.cell, raster.nx, tile_m)
    rows = _owned_ranges(raster.y0, raster.cell, raster.ny, tile_m)
    return {f"{kx}_{ky}": (j0, j1, i0, i1) for kx, (i0, i1) in cols.items()
            for ky, (j0, j1) in rows.items()}


# --- writing and reading tile inputs -------------------------------------------------------

@dataclass(frozen=True)
class BuildingSource:
    """Where a run's buildings come from: a fingerprint (for reuse) and their chunks in order."""

    fingerprint: str
    chunks: Callable[[], Iterator[np.ndarray]]


def memory_buildings(inputs: Inputs) -> BuildingSource:
    """The buildings held in ``inputs`` (fingerprint: every coordinate)."""
    geoms = np.asarray(inputs.buildings, dtype=object)
    h = hashlib.blake2b(digest_size=12)
    h.update(np.ascontiguousarray(shapely.get_coordinates(geoms)).tobytes())
    for parts in (shapely.get_num_coordinates(geoms), shapely.get_num_interior_rings(geoms)):
        h.update(np.ascontiguousarray(parts, np.int64).tobytes())
    return BuildingSource(h.hexdigest(), lambda: iter([geoms]))


def store_buildings(store: Store, inputs: Inputs, chunk: int = 100_000) -> BuildingSource:
    """The buildings left in the store by ``load_inputs(..., buildings=False)``, streamed.

    The fingerprint is computed in SQL (row count, largest id, total geometry bytes and
    bounding-box sums of the rows read), so checking for reusable tiles reads no geometry.
    """
    where, params = _building_filter(store, inputs.building_bbox)
    row = store.query(f"SELECT count(*), max(id), total(length(geom)), total(min_x), "
                      f"total(min_y), total(max_x), total(max_y) FROM buildings WHERE {where}",
                      params)[0]
    fingerprint = hashlib.blake2b(repr(tuple(row)).encode(), digest_size=12).hexdigest()
    return BuildingSource(fingerprint, lambda: iter_buildings(store, inputs.building_bbox,
                                                              inputs.crs, chunk=chunk))


def run_hash(inputs: Inputs, settings: Settings, tile_m: float | None,
             buildings: BuildingSource) -> str:
    """Hash of everything that decides the tile files (inputs, settings, tile size)."""
    h = hashlib.blake2b(digest_size=12)
    h.update(buildings.fingerprint.encode())
    relevant = {k: v for k, v in asdict(settings).items() if k != "h3_resolution"}
    h.update(json.dumps([relevant, tile_m, inputs.crs.to_wkt(), OPTICS_COLUMNS],
                        default=str).encode())
    h.update(_devices_digest(inputs.devices))
    for arr in (inputs.cam_x, inputs.cam_y):
        h.update(np.ascontiguousarray(arr, np.float64).tobytes())
    for geoms in (inputs.streets, inputs.site_footprints):
        geoms = np.asarray(geoms, dtype=object)
        h.update(np.ascontiguousarray(shapely.get_coordinates(geoms)).tobytes())
        for parts in (shapely.get_num_coordinates(geoms), shapely.get_type_id(geoms),
                      shapely.get_num_interior_rings(geoms)):
            h.update(np.ascontiguousarray(parts, np.int64).tobytes())
    h.update(json.dumps(inputs.site_category.tolist(), default=str).encode())
    return h.hexdigest()


def _devices_digest(devices: pd.DataFrame) -> bytes:
    """Bytes that change with any optics field of any device (vectorised: no row loop)."""
    out = []
    for col in OPTICS_COLUMNS:
        values = devices[col] if col in devices else pd.Series([None] * len(devices))
        if col in OPTICS_TEXTS:
            values = values.map(str)
            out.append(pd.util.hash_pandas_object(values, index=False).to_numpy().tobytes())
        else:
            out.append(pd.to_numeric(values).to_numpy(np.float64).tobytes())
    return b"".join(out)


def write_tiles(inputs: Inputs, settings: Settings, plan: TilePlan, folder: Path,
                buildings: BuildingSource | None = None) -> Path:
    """Write every tile's inputs as partitioned GeoParquet into ``folder`` (manifest last).

    Buildings are read chunk by chunk from ``buildings`` (default: ``inputs.buildings``) and
    each chunk is written to every tile whose box it meets, so memory stays bounded by the
    chunk size.
    """
    folder = Path(folder)
    tmp = folder.with_name(f"{folder.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    source = buildings or memory_buildings(inputs)
    counts = _write_buildings(tmp, plan, source.chunks(), inputs.crs)
    rows = device_rows(inputs.devices)
    _write_segments(tmp, "streets", plan, inputs.streets)
    _write_segments(tmp, "outlines", plan, outline_lines(inputs))
    site_boxes = shapely.bounds(inputs.site_footprints) if inputs.site_footprints.size else \
        np.empty((0, 4))
    for key, tile in plan.tiles.items():
        c = tile.cameras
        files.write_geo(tmp, "cameras", key, files.camera_columns(c, [rows[i] for i in c]),
                        shapely.points(inputs.cam_x[c], inputs.cam_y[c]), inputs.crs)
        s = _box_hits(site_boxes, _tiles.window_box(plan.raster, tile.window)) \
            if tile.window is not None else np.empty(0, np.int64)
        files.write_geo(tmp, "sites", key, {"site": s, "category": inputs.site_category[s]},
                        inputs.site_footprints[s], inputs.crs)
    files.write_manifest(tmp, _manifest(inputs, settings, plan, counts))
    if folder.exists():  # another run wrote the same tiles meanwhile: keep theirs
        shutil.rmtree(tmp)
    else:
        tmp.rename(folder)
    return folder


def _write_buildings(folder: Path, plan: TilePlan, chunks: Iterator[np.ndarray], crs
                     ) -> dict[str, int]:
    """Write each chunk of buildings into every tile whose box meets it; count per tile."""
    keys = list(plan.tiles)
    boxes = np.array([plan.tiles[k].box for k in keys], float).reshape(-1, 4)
    counts = dict.fromkeys(keys, 0)
    offset = 0
    for n, chunk in enumerate(chunks):
        chunk = np.asarray(chunk, dtype=object)
        if chunk.size:
            for idx, t in _tile_groups(shapely.bounds(chunk), keys, boxes, plan):
                files.write_geo(folder, "buildings", keys[t], {"building": idx + offset},
                                chunk[idx], crs, part=n)
                counts[keys[t]] += int(idx.size)
        offset += int(chunk.size)
    return counts


#: Segments matched to tiles at a time (bounds the memory of the matching).
SEGMENT_BATCH = 500_000


def _write_segments(folder: Path, layer: str, plan: TilePlan, lines: np.ndarray) -> None:
    """Segments of ``lines`` into every camera tile whose halo meets them, a batch at a time."""
    keys = plan.view_keys
    if not keys:
        return
    halos = np.array([plan.tiles[k].halo for k in keys], float)
    part = 0
    for seg in _tiles.chunked_segments(lines):
        for a in range(0, len(seg), SEGMENT_BATCH):
            sub = _tiles.subset_segments(seg, slice(a, a + SEGMENT_BATCH))
            boxes = np.column_stack([np.minimum(sub.ax, sub.bx), np.minimum(sub.ay, sub.by),
                                     np.maximum(sub.ax, sub.bx), np.maximum(sub.ay, sub.by)])
            for idx, t in _tile_groups(boxes, keys, halos, plan):
                files.write_segments(folder, layer, keys[t], sub, idx, part=part)
            part += 1


def _tile_groups(boxes: np.ndarray, keys: list[str], tile_boxes: np.ndarray, plan: TilePlan):
    """``(item indices, tile index)`` for every tile whose box meets the items' boxes.

    Candidates come from the tile grid (a tile's box lies within its square grown by the
    longest reach and one H3 group), then boxes are compared exactly (closed intervals).
    """
    t = plan.tile_m
    margin = plan.reach_m + 2 * H3_BLOCK * plan.raster.cell + 1.0
    kx0, kx1 = (np.floor((boxes[:, 0] - margin) / t).astype(np.int64),
                np.floor((boxes[:, 2] + margin) / t).astype(np.int64))
    ky0, ky1 = (np.floor((boxes[:, 1] - margin) / t).astype(np.int64),
                np.floor((boxes[:, 3] + margin) / t).astype(np.int64))
    nx, ny = kx1 - kx0 + 1, ky1 - ky0 + 1
    count = nx * ny
    item = np.repeat(np.arange(boxes.shape[0]), count)
    local = np.arange(item.size) - np.repeat(np.cumsum(count) - count, count)
    kx = kx0[item] + local % nx[item]
    ky = ky0[item] + local // nx[item]
    codes = np.array([_code(*_key_order(k)) for k in keys], np.int64)
    order = np.argsort(codes)
    pos = np.searchsorted(codes[order], _code(kx, ky))
    pos = np.minimum(pos, codes.size - 1)
    found = codes[order][pos] == _code(kx, ky)
    item, tile = item[found], order[pos[found]]
    b, tb = boxes[item], tile_boxes[tile]
    meet = (b[:, 0] <= tb[:, 2]) & (b[:, 2] >= tb[:, 0]) & (b[:, 1] <= tb[:, 3]) & \
        (b[:, 3] >= tb[:, 1])
    item, tile = item[meet], tile[meet]
    srt = np.lexsort((item, tile))
    item, tile = item[srt], tile[srt]
    cut = np.flatnonzero(np.diff(tile)) + 1
    return [(i, int(tt[0])) for i, tt in zip(np.split(item, cut), np.split(tile, cut), strict=True)
            if i.size]


def _code(kx, ky):
    """One int64 per tile index pair."""
    return (np.asarray(kx, np.int64) + 2**30) * 2**32 + (np.asarray(ky, np.int64) + 2**30)


def _box_hits(boxes: np.ndarray, box) -> np.ndarray:
    return np.flatnonzero((boxes[:, 0] <= box[2]) & (boxes[:, 2] >= box[0])
                          & (boxes[:, 1] <= box[3]) & (boxes[:, 3] >= box[1]))


def _manifest(inputs: Inputs, settings: Settings, plan: TilePlan, buildings: dict[str, int]
              ) -> dict:
    return {
        "format": "survatlas-tiles/1",
        "crs": inputs.crs.to_wkt(),
        "tile_m": plan.tile_m,
        "reach_m": plan.reach_m,
        "raster": asdict(plan.raster),
        "settings": asdict(settings),
        "counts": {"cameras": len(inputs.devices), "buildings_stored": sum(buildings.values()),
                   "streets": int(inputs.streets.size), "sites": int(inputs.site_ids.size)},
        "tiles": {k: {"cameras": int(t.cameras.size), "buildings": buildings[k],
                      "halo": t.halo, "window": t.window,
                      "box": t.box, "needs": list(t.needs)} for k, t in plan.tiles.items()},
    }


def tiled_inputs(inputs: Inputs, settings: Settings, base: Path, tile_m: float | None = None,
                 buildings: BuildingSource | None = None) -> tuple[Path, TilePlan, bool]:
    """The run folder under ``base`` for these inputs (written unless already complete).

    ``buildings`` defaults to ``inputs.buildings``; pass :func:`store_buildings` for inputs
    loaded with ``buildings=False``. Returns the folder, the plan and whether existing tiles
    were reused.
    """
    if inputs.buildings_in_store and buildings is None:
        raise InputError("these inputs leave their buildings in the store: pass "
                         "buildings=store_buildings(store, inputs)")
    source = buildings or memory_buildings(inputs)
    folder = Path(base) / run_hash(inputs, settings, tile_m, source)
    manifest = files.read_manifest(folder)
    if manifest is not None:
        return folder, plan_from_manifest(manifest, inputs), True
    plan = plan_tiles(inputs, settings, tile_m)
    if folder.exists():  # incomplete (no manifest): an interrupted write
        shutil.rmtree(folder)
    return write_tiles(inputs, settings, plan, folder, source), plan, False


def plan_from_manifest(manifest: dict, inputs: Inputs) -> TilePlan:
    """The plan a run folder was written with (camera tiles recomputed, halos read)."""
    tile_m = float(manifest["tile_m"])
    groups = camera_tiles(inputs.cam_x, inputs.cam_y, tile_m)
    tiles = {}
    for key, t in manifest["tiles"].items():
        cams = groups.get(key, np.empty(0, np.int64))
        if cams.size != t["cameras"]:
            raise InputError(f"tile folder does not match the inputs (tile {key}): delete it")
        tiles[key] = Tile(key, cams, _tuple(t["halo"]), _tuple(t["window"]), _tuple(t["box"]),
                          tuple(t["needs"]))
    return TilePlan(tile_m, Raster(**manifest["raster"]), float(manifest["reach_m"]), tiles)


def _tuple(value):
    return None if value is None else tuple(value)


def halo_factor(folder: Path) -> dict[str, float]:
    """Buildings stored over all tiles per distinct building (the halo duplication factor)."""
    import pyarrow.parquet as pq

    ids = [pq.read_table(p, columns=["building"]).column(0).to_numpy()
           for p in sorted((Path(folder) / "buildings").glob("tile=*/part-*.parquet"))]
    stored = int(sum(a.size for a in ids))
    distinct = int(np.unique(np.concatenate(ids)).size) if ids else 0
    return {"stored": stored, "distinct": distinct,
            "factor": stored / distinct if distinct else float("nan")}


# --- tasks (run on workers; they read their own tile files) --------------------------------

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
        cams["camera"].to_numpy(np.int64), device_rows(cams),
        shapely.get_x(cams.geometry.values).astype(np.float64),
        shapely.get_y(cams.geometry.values).astype(np.float64),
        np.asarray(buildings.geometry.values, dtype=object),
        files.read_segments(folder_p, "streets", key), outlines if len(outlines) else None)
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
    geoms = geoms[_box_hits(shapely.bounds(geoms), box)] if geoms.size else geoms
    sites = files.read_geo(folder_p, "sites", key)
    block = _tiles.BlockInput(window, geoms, sites["site"].to_numpy(np.int64),
                              np.asarray(sites.geometry.values, dtype=object),
                              sites["category"].to_numpy(object))
    keys = [(s, lv) for s in settings.scenarios for lv in settings.levels]
    regions = {k: _tiles.regions_meeting([r[k] for r in parts], box) for k in keys}
    return _tiles.block_areas(raster, block, regions, CRS.from_wkt(crs_wkt), settings.h3_resolution)


# --- running --------------------------------------------------------------------------------

def analyse_tiled(
    inputs: Inputs,
    settings: Settings | None = None,
    *,
    base: Path,
    tile_m: float | None = None,
    client: Any = None,
    progress: Progress | None = None,
    retries: int = 2,
    threads: int | None = 1,
    buildings: BuildingSource | None = None,
) -> Result:
    """Compute coverage tile by tile; same figures as :func:`analyse`.

    Parameters
    ----------
    inputs, settings
        As for :func:`survatlas.coverage.analysis.analyse`.
    base
        Folder holding the run folders of tile inputs (created; reused when unchanged).
    tile_m
        Tile size in metres (default :func:`auto_tile_m`).
    client
        A ``dask.distributed.Client``; None runs the tiles one after another in this process.
    progress
        Called with ``(tiles done, tiles total)`` as tiles finish.
    retries
        Extra attempts per tile task on a worker error (lost workers are retried by Dask).
    threads
        numba threads per tile task (1 on workers: parallelism comes from the workers).
    buildings
        Where the buildings come from (default ``inputs.buildings``; see :func:`store_buildings`).

    Raises
    ------
    survatlas.errors.ScaleError
        When some tiles cannot be computed (listed); nothing is returned or stored then.
    """
    from survatlas.coverage import _scale_run

    settings = settings or Settings()
    settings.check()
    folder, plan, _ = tiled_inputs(inputs, settings, Path(base), tile_m, buildings)
    views, blocks = _scale_run.run(folder, plan, settings, inputs.crs.to_wkt(), client=client,
                                   progress=progress, retries=retries, threads=threads)
    return combine(inputs, settings, plan.raster, views, blocks)


def tiles_base(db: Path) -> Path:
    """Where tile inputs of the store ``db`` live: ``<db>.tiles/``."""
    return Path(f"{db}.tiles")


def compute_coverage(
    store: Store,
    bbox: tuple[float, float, float, float] | None = None,
    settings: Settings | None = None,
    *,
    engine: str = "dask",
    scheduler: str | None = None,
    tile_m: float | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Like :func:`survatlas.coverage.analysis.compute_coverage`, with a choice of engine.

    ``engine="local"`` is the in-process path; ``"dask"`` tiles the run and computes the
    tiles on the Dask cluster at ``scheduler`` (``tcp://host:port``) or, without one, on a
    local cluster of ``workers`` processes (default: every core). Results are saved only when
    every tile succeeded.
    """
    from survatlas.coverage.analysis import compute_coverage as local_coverage
    from survatlas.coverage.results import save_result

    settings = settings or Settings()
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; use local or dask")
    if engine == "local":
        return local_coverage(store, bbox, settings)
    settings.check()
    inputs = load_inputs(store, bbox, walkable_only=settings.walkable_only, buildings=False)
    with dask_client(scheduler, workers) as client:
        result = analyse_tiled(inputs, settings, base=tiles_base(store.path), tile_m=tile_m,
                               client=client, progress=progress,
                               buildings=store_buildings(store, inputs))
    save_result(store, result)
    return result.summary


def dask_client(scheduler: str | None = None, workers: int | None = None):
    """A Dask client: connected to ``scheduler``, or on a new local cluster of processes."""
    from survatlas.coverage import _scale_run

    return _scale_run.client(scheduler, workers)


def default_workers() -> int:
    """Worker processes of a local cluster: one per core."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)


# --- synthetic inputs (tests and benchmarks) -------------------------------------------------

def synthetic_inputs(city, *, sites_every: int = 40, squares: int = 6) -> Inputs:
    """Coverage inputs from a :class:`survatlas.synth.SynthCity`, with some sites.

    Every ``sites_every``-th building is an ``education`` site, ``squares`` street crossings get
    a 25 m ``public_space`` disc, and one point site stands in a building (its footprint is
    then the building's). No store is needed.
    """
    import geopandas as gpd

    from survatlas.coverage.analysis import _site_footprints

    crs = CRS.from_proj4(city.crs)
    x, y = city.camera_xy()
    lon, lat = city.to_lonlat(x, y)
    cams = city.cameras
    devices = gpd.GeoDataFrame(pd.DataFrame({
        "id": np.arange(1, len(cams) + 1),
        "device_type": [c["device_type"] for c in cams],
        "camera_type": [c.get("camera_type") for c in cams],
        "views": [[[c["direction"], c.get("fov_deg")]] if "direction" in c else [] for c in cams],
        "height_m": [c["height_m"] for c in cams],
        **{k: [None] * len(cams) for k in ("tilt_down_deg", "fov_deg", "range_m", "focal_mm",
                                          "sensor_width_mm", "width_px")},
    }), geometry=list(shapely.points(lon, lat)), crs="EPSG:4326")
    buildings = np.asarray(city.buildings, dtype=object)
    school = buildings[::sites_every]
    crossings = np.unique(np.round(shapely.get_coordinates(city.streets), 3), axis=0)
    pick = np.linspace(0, len(crossings) - 1, squares).astype(int) if squares else []
    plazas = shapely.buffer(shapely.points(crossings[pick]), 25.0)
    point = shapely.points([shapely.get_coordinates(shapely.point_on_surface(buildings[1]))[0]])
    raw = np.concatenate([school, plazas, point]).astype(object)
    category = np.array(["education"] * len(school) + ["public_space"] * len(plazas) + ["workplace"],
                        dtype=object)
    footprints, assumed = _site_footprints(raw, buildings)
    bounds = tuple(float(v) for v in shapely.total_bounds(np.concatenate(
        [city.streets, footprints, shapely.points(x, y)])))
    return Inputs(crs, devices, np.asarray(x, float), np.asarray(y, float), buildings,
                  np.arange(1, len(city.streets) + 1), np.asarray(city.streets, dtype=object),
                  np.arange(1, raw.size + 1), category, footprints, assumed, bounds)
