"""Uniform grid over wall edges, stored as CSR (cell → edge ids), built with numba.

An edge is registered in every cell its bounding box overlaps. A query over a box visits the
cells of the box and keeps an edge only in its *owner* cell — the cell holding the lower-left
corner of (edge box ∩ query box) — so every edge is reported once without a "seen" array.
"""

from __future__ import annotations

import math

import numpy as np

from survatlas.coverage import _compiled
from survatlas.coverage._jit import njit

#: Target number of edges per cell when the cell size is chosen automatically.
EDGES_PER_CELL = 8.0
#: Upper bound on the number of cells (the cell size grows when an extent is very sparse).
MAX_CELLS = 4_000_000


@njit(cache=True, inline="always")
def cell_of(v: float, origin: float, inv_cell: float, n: int) -> int:
    """Index of the grid column (or row) holding coordinate ``v``, clamped to ``[0, n)``."""
    i = math.floor((v - origin) * inv_cell)
    if i < 0:
        return 0
    if i >= n:
        return n - 1
    return i


@njit(cache=True)
def _build_csr(ax, ay, bx, by, x0, y0, inv_cell, nx, ny):
    counts = np.zeros(nx * ny + 1, np.int64)
    for e in range(ax.shape[0]):
        i0 = cell_of(min(ax[e], bx[e]), x0, inv_cell, nx)
        i1 = cell_of(max(ax[e], bx[e]), x0, inv_cell, nx)
        j0 = cell_of(min(ay[e], by[e]), y0, inv_cell, ny)
        j1 = cell_of(max(ay[e], by[e]), y0, inv_cell, ny)
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                counts[j * nx + i + 1] += 1
    start = np.cumsum(counts)
    cursor = start[:-1].copy()
    items = np.empty(start[-1], np.int32)
    for e in range(ax.shape[0]):
        i0 = cell_of(min(ax[e], bx[e]), x0, inv_cell, nx)
        i1 = cell_of(max(ax[e], bx[e]), x0, inv_cell, nx)
        j0 = cell_of(min(ay[e], by[e]), y0, inv_cell, ny)
        j1 = cell_of(max(ay[e], by[e]), y0, inv_cell, ny)
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                c = j * nx + i
                items[cursor[c]] = e
                cursor[c] += 1
    return start, items


def choose_cell_size(bounds: tuple[float, float, float, float], n_edges: int) -> float:
    """Cell size (m) giving about :data:`EDGES_PER_CELL` edges per cell, within sane limits.

    Parameters
    ----------
    bounds
        ``(xmin, ymin, xmax, ymax)`` of all edges, in metres.
    n_edges
        Number of edges.

    Returns
    -------
    float
        Cell size in metres, between 5 m and the extent, never giving more than
        :data:`MAX_CELLS` cells.
    """
    w = max(bounds[2] - bounds[0], 1.0)
    h = max(bounds[3] - bounds[1], 1.0)
    size = math.sqrt(w * h * EDGES_PER_CELL / max(n_edges, 1))
    size = max(size, 5.0, math.sqrt(w * h / MAX_CELLS))
    return min(size, max(w, h))


def build_grid(
    ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray, cell_size: float | None
) -> tuple[float, float, float, int, int, np.ndarray, np.ndarray]:
    """Build the CSR grid over edges ``(ax, ay) → (bx, by)``.

    Returns
    -------
    tuple
        ``(x0, y0, cell_size, nx, ny, start, items)``: origin, cell size, grid shape, CSR offsets
        (``nx * ny + 1``) and edge ids.
    """
    if ax.size == 0:
        return 0.0, 0.0, 1.0, 1, 1, np.zeros(2, np.int64), np.empty(0, np.int32)
    bounds = (
        float(min(ax.min(), bx.min())),
        float(min(ay.min(), by.min())),
        float(max(ax.max(), bx.max())),
        float(max(ay.max(), by.max())),
    )
    size = float(cell_size) if cell_size else choose_cell_size(bounds, ax.size)
    nx = int((bounds[2] - bounds[0]) / size) + 1
    ny = int((bounds[3] - bounds[1]) / size) + 1
    build = _compiled.kernel("build_csr", _build_csr)
    start, items = build(ax, ay, bx, by, bounds[0], bounds[1], 1.0 / size, nx, ny)
    return bounds[0], bounds[1], size, nx, ny, start, items


def _spread_bits(v: np.ndarray) -> np.ndarray:
    """Insert a zero bit between the low 16 bits of each value (for Z-order keys)."""
    v = v & 0xFFFF
    v = (v | (v << 8)) & 0x00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F
    v = (v | (v << 2)) & 0x33333333
    return (v | (v << 1)) & 0x55555555


def z_order(ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
    """Permutation sorting integer cell coordinates (0 … 65535) along a Z-order curve."""
    key = _spread_bits(ix.astype(np.int64)) | (_spread_bits(iy.astype(np.int64)) << 1)
    return np.argsort(key)
