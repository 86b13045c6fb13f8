"""Tile inputs written once as partitioned GeoParquet next to the store, and read back by workers."""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely

from survatlas.coverage import _tiles
from survatlas.coverage._raster import Raster

#: Metres added to every camera's range for its halo (a nudged camera moves ≤ 3 m).
from survatlas.coverage._tile_plan import (
    H3_BLOCK,
    Tile,
    TilePlan,
    _key_order,
    camera_tiles,
    plan_tiles,
)
from survatlas.coverage.analysis import (
    OPTICS_COLUMNS,
    OPTICS_TEXTS,
    Inputs,
    Settings,
    _building_filter,
    device_rows,
    iter_buildings,
    outline_lines,
)
from survatlas.errors import InputError
from survatlas.store import Store

if TYPE_CHECKING:
    import pandas as pd


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
    if inputs.building_attrs is not None:
        import pandas as pd
  # heights decide the 2.5-D tiles' figures
        attrs = pd.DataFrame({c: np.asarray(inputs.building_attrs[c]) for c in ATTR_COLUMNS})
        h.update(pd.util.hash_pandas_object(attrs, index=False)
                 .to_numpy().tobytes())
    return h.hexdigest()


def _devices_digest(devices: pd.DataFrame) -> bytes:
    """Bytes that change with any optics field of any device (vectorised: no row loop)."""
    import pandas as pd

    out = []
    for col in OPTICS_COLUMNS:
        values = pd.Series(list(devices[col]) if col in devices else [None] * len(devices),
                           dtype=object)
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
    from survatlas.coverage import _scale_files as files  # geopandas, pyarrow: tiled runs only

    folder = Path(folder)
    tmp = folder.with_name(f"{folder.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    source = buildings or memory_buildings(inputs)
    counts = _write_buildings(tmp, plan, source.chunks(), inputs.crs, inputs.building_attrs)
    rows = device_rows(inputs.devices)
    _write_segments(tmp, "streets", plan, inputs.streets)
    _write_segments(tmp, "outlines", plan, outline_lines(inputs))
    site_boxes = shapely.bounds(inputs.site_footprints) if inputs.site_footprints.size else \
        np.empty((0, 4))
    for key, tile in plan.tiles.items():
        c = tile.cameras
        files.write_geo(tmp, "cameras", key, files.camera_columns(c, [rows[i] for i in c]),
                        shapely.points(inputs.cam_x[c], inputs.cam_y[c]), inputs.crs)
        s = _tiles.box_hits(site_boxes, _tiles.window_box(plan.raster, tile.window)) \
            if tile.window is not None else np.empty(0, np.int64)
        files.write_geo(tmp, "sites", key, {"site": s, "category": inputs.site_category[s]},
                        inputs.site_footprints[s], inputs.crs)
    files.write_manifest(tmp, _manifest(inputs, settings, plan, counts))
    if folder.exists():  # another run wrote the same tiles meanwhile: keep theirs
        shutil.rmtree(tmp)
    else:
        tmp.rename(folder)
    return folder


def _write_buildings(folder: Path, plan: TilePlan, chunks: Iterator[np.ndarray], crs,
                     attrs: pd.DataFrame | None = None) -> dict[str, int]:
    """Write each chunk of buildings into every tile whose box meets it; count per tile.

    ``attrs`` (type and height tags in the buildings' order, for 2.5-D runs) go with them.
    """
    from survatlas.coverage import _scale_files as files  # geopandas, pyarrow: tiled runs only

    keys = list(plan.tiles)
    boxes = np.array([plan.tiles[k].box for k in keys], float).reshape(-1, 4)
    counts = dict.fromkeys(keys, 0)
    offset = 0
    for n, chunk in enumerate(chunks):
        chunk = np.asarray(chunk, dtype=object)
        if chunk.size:
            for idx, t in _tile_groups(shapely.bounds(chunk), keys, boxes, plan):
                files.write_geo(folder, "buildings", keys[t],
                                {"building": idx + offset,
                                 **building_columns(attrs, idx + offset)},
                                chunk[idx], crs, part=n)
                counts[keys[t]] += int(idx.size)
        offset += int(chunk.size)
    return counts


#: Building attributes in tile files (``building`` there is the footprint's global index).
ATTR_COLUMNS = {"building": "building_type", "height_m": "height_m", "levels": "levels",
                "min_height_m": "min_height_m"}


def building_columns(attrs: pd.DataFrame | None, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Tile-file columns of the attributes of buildings ``rows`` (none without ``attrs``)."""
    if attrs is None:
        return {}
    return {col: np.asarray(attrs[name])[rows] for name, col in ATTR_COLUMNS.items()}


def tile_building_attrs(frame: pd.DataFrame) -> pd.DataFrame | None:
    """Attributes of a tile's buildings as :func:`building_attributes` gives them (or None)."""
    if ATTR_COLUMNS["height_m"] not in frame.columns:
        return None
    import pandas as pd

    return pd.DataFrame({name: frame[col].to_numpy() for name, col in ATTR_COLUMNS.items()})


#: Segments matched to tiles at a time (bounds the memory of the matching).
SEGMENT_BATCH = 500_000


def _write_segments(folder: Path, layer: str, plan: TilePlan, lines: np.ndarray) -> None:
    """Segments of ``lines`` into every camera tile whose halo meets them, a batch at a time."""
    from survatlas.coverage import _scale_files as files  # geopandas, pyarrow: tiled runs only

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
    from survatlas.coverage import _scale_files as files  # geopandas, pyarrow: tiled runs only

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

