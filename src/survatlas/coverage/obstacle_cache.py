"""Prepared obstacles kept beside the store, so a second coverage run does not redo them.

:func:`survatlas.coverage.obstacles.prepare_obstacles` (repair, overlap merge, orientation,
Z-order, wall grid) depends only on the building rows a run reads and on the metric CRS. A run
from a store fingerprints those rows as it reads them (ids and WKB, see
:func:`survatlas.coverage.analysis.load_inputs`); the prepared arrays are saved under that
fingerprint in ``<store>.cache/obstacles.npz`` and reused while it matches. Any change to the
buildings (an import, an edit, a different bbox or CRS) changes the fingerprint, and the next run
prepares them afresh and replaces the file. The cache holds footprints only — nothing about
cameras — and is never part of a published output.
"""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path

import numpy as np
import shapely

from survatlas.coverage.obstacles import Obstacles, prepare_obstacles

#: Bump when the layout of :class:`Obstacles` or the preparation changes.
CACHE_VERSION = "1"
_SCALARS = ("grid_x0", "grid_y0", "cell_size", "nx", "ny")


def cache_dir(db: str | Path) -> Path:
    """Where derived data of the store ``db`` is kept: ``<db>.cache/``."""
    return Path(f"{db}.cache")


def cached_obstacles(folder: Path, fingerprint: str, buildings: np.ndarray) -> tuple[Obstacles, bool]:
    """The prepared obstacles of ``buildings`` — from ``folder`` when the fingerprint matches,
    else prepared and saved there. Returns them and whether they came from the cache.

    A cache that cannot be read (damaged, older layout) is prepared again; one that cannot be
    written (read-only folder) is skipped: the run never fails because of its cache.
    """
    path = folder / "obstacles.npz"
    key = f"{CACHE_VERSION}:{fingerprint}"
    found = _load(path, key)
    if found is not None:
        return found, True
    obstacles = prepare_obstacles(buildings)
    try:
        _save(path, key, obstacles)
    except OSError:
        pass
    return obstacles, False


def _load(path: Path, key: str) -> Obstacles | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) != key:
                return None
            values = {}
            for f in fields(Obstacles):
                if f.name == "polygons":
                    offsets = data["wkb_offsets"]
                    blob = data["wkb"].tobytes()
                    values[f.name] = shapely.from_wkb(
                        np.array([blob[a:b] for a, b in zip(offsets[:-1].tolist(),
                                                            offsets[1:].tolist(), strict=True)],
                                 dtype=object))
                elif f.name in _SCALARS:
                    values[f.name] = data[f.name].item()
                else:
                    values[f.name] = data[f.name]
    except (OSError, KeyError, ValueError):
        return None
    return Obstacles(**values)


def _save(path: Path, key: str, obstacles: Obstacles) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    wkb = shapely.to_wkb(obstacles.polygons)
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in wkb])]).astype(np.int64)
    arrays = {f.name: np.asarray(getattr(obstacles, f.name)) for f in fields(Obstacles)
              if f.name != "polygons"}
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, key=np.array(key), wkb=np.frombuffer(b"".join(wkb), np.uint8),
             wkb_offsets=offsets, **arrays)
    os.replace(tmp, path)
