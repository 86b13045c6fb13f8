"""Tiles of a scaled-out run: which tile owns each camera and raster cell, and the halo around it."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely

from survatlas.coverage import _tiles
from survatlas.coverage._raster import Raster
from survatlas.coverage.aggregate import H3_BLOCK
from survatlas.coverage.analysis import (
    Inputs,
    Settings,
    device_columns,
)
from survatlas.coverage.camera_views import camera_views
from survatlas.errors import InputError

#: Metres added to every camera's range for its halo (a nudged camera moves ≤ 3 m).


HALO_PAD_M = 10.0
#: Smallest automatic tile size, metres.
MIN_AUTO_TILE_M = 2000.0
#: Automatic tile size in halos: (1 + 2/18)² ≈ 1.23 buildings stored per building at most.
AUTO_TILE_HALOS = 18
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
    rows = device_columns(inputs.devices)
    reach = np.zeros(len(inputs.devices))
    for scenario in settings.scenarios:
        views = camera_views(rows, scenario, standard=settings.standard,
                             no_direction=settings.no_direction)
        reach = np.maximum(reach, views.max_range(settings.levels))
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

