"""On-disk layout of tiled coverage inputs: one folder per run, partitioned GeoParquet per tile.

::

    <run folder>/manifest.json                    plan, raster, CRS, settings hash (written last)
    <run folder>/cameras/tile=<kx>_<ky>/part-0.parquet    GeoParquet points + optics columns
    <run folder>/buildings/tile=<key>/part-<n>.parquet    GeoParquet footprints (with halo), one part per chunk
    <run folder>/sites/tile=<key>/part-0.parquet          GeoParquet site footprints
    <run folder>/streets/tile=<key>/part-<n>.parquet      Parquet street segments
    <run folder>/outlines/tile=<key>/part-<n>.parquet     Parquet site-outline segments

Geometries are in the run's metric CRS (stored in the GeoParquet metadata and the manifest);
every row keeps its *global* index (``camera``, ``building``, ``site``, ``line``), so tile
results can be summed into one result. Workers read only their own tile's files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from survatlas.coverage.aggregate import Segments
from survatlas.coverage.analysis import OPTICS_COLUMNS, OPTICS_NUMBERS
from survatlas.errors import CorruptFileError

SEGMENT_COLUMNS = ("ax", "ay", "bx", "by", "line", "start_m", "length_m")


def part_path(folder: Path, layer: str, key: str, part: int = 0) -> Path:
    """The file of ``layer`` for tile ``key`` (part ``part``)."""
    return folder / layer / f"tile={key}" / f"part-{part}.parquet"


def write_geo(folder: Path, layer: str, key: str, columns: dict[str, Any], geoms: np.ndarray,
              crs, part: int = 0) -> None:
    """Write one tile's rows of a geometry layer as GeoParquet."""
    path = part_path(folder, layer, key, part)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = gpd.GeoDataFrame(pd.DataFrame(columns), geometry=list(geoms), crs=crs)
    frame.to_parquet(path, index=False)


def write_segments(folder: Path, layer: str, key: str, seg: Segments, keep: np.ndarray,
                   part: int = 0) -> None:
    """Write one part of one tile's street (or outline) segments as plain Parquet."""
    path = part_path(folder, layer, key, part)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({c: np.asarray(getattr(seg, c))[keep] for c in SEGMENT_COLUMNS})
    pq.write_table(table, path)


def read_geo(folder: Path, layer: str, key: str, part: int = 0) -> gpd.GeoDataFrame:
    """Read one part of one tile's rows of a geometry layer."""
    path = part_path(folder, layer, key, part)
    if not path.exists():
        raise CorruptFileError(f"tile file {layer}/tile={key} is missing from {folder.name}: "
                               "delete the run folder to rebuild the tiles")
    try:
        return gpd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise CorruptFileError(f"tile file {layer}/tile={key} cannot be read ({exc}): delete "
                               f"the run folder {folder.name} to rebuild the tiles") from exc


def read_parts(folder: Path, layer: str, key: str) -> gpd.GeoDataFrame:
    """Every part of one tile's layer, in part order (empty when the tile has none)."""
    parts = _parts(folder, layer, key)
    if not parts:
        return gpd.GeoDataFrame({"building": np.empty(0, np.int64)}, geometry=[])
    frames = [read_geo(folder, layer, key, int(p.stem.split("-")[1])) for p in parts]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def read_segments(folder: Path, layer: str, key: str) -> Segments:
    """Every part of one tile's segments, with their global line ids and measures."""
    cols: dict[str, list] = {c: [] for c in SEGMENT_COLUMNS}
    for path in _parts(folder, layer, key):
        try:
            table = pq.read_table(path)
        except Exception as exc:
            raise CorruptFileError(f"tile file {layer}/tile={key}/{path.name} cannot be read "
                                   f"({exc}): delete the run folder {folder.name} to rebuild "
                                   "the tiles") from exc
        for c in SEGMENT_COLUMNS:
            cols[c].append(table.column(c).to_numpy())
    arr = {c: np.concatenate(v) if v else np.empty(0) for c, v in cols.items()}
    return Segments(*(arr[c].astype(np.float64) for c in ("ax", "ay", "bx", "by")),
                    arr["line"].astype(np.int64), arr["start_m"].astype(np.float64),
                    arr["length_m"].astype(np.float64), np.empty(0))


def _parts(folder: Path, layer: str, key: str) -> list[Path]:
    return sorted((folder / layer / f"tile={key}").glob("part-*.parquet"),
                  key=lambda p: int(p.stem.split("-")[1]))


def camera_columns(index: np.ndarray, rows: list[dict]) -> dict[str, Any]:
    """Columns of the cameras layer: global index and the optics mapping of each camera."""
    out: dict[str, Any] = {"camera": np.asarray(index, np.int64)}
    for c in OPTICS_COLUMNS:
        values = [r[c] for r in rows]
        out[c] = [json.dumps(v) for v in values] if c == "views" else values
    for c in ("camera_type", "device_type"):
        out[c] = pd.array(out[c], dtype="string")
    for c in OPTICS_NUMBERS:
        out[c] = np.array([np.nan if v is None else v for v in out[c]], np.float64)
    return out


def write_manifest(folder: Path, manifest: dict) -> None:
    """Write the manifest last and atomically: a folder without one is incomplete."""
    tmp = folder / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    tmp.replace(folder / "manifest.json")


def read_manifest(folder: Path) -> dict | None:
    """The manifest of a complete run folder, or None."""
    path = folder / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
