"""Raster plumbing for area statistics: a grid description and a numba polygon scan-line fill.

Area shares are counted on cell centres (no polygon union anywhere): a cell belongs to a
polygon when its centre lies inside it (even–odd rule, holes respected).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
import shapely


@dataclass(frozen=True)
class Raster:
    """A north-up grid in a metric CRS; cell ``(j, i)`` has centre ``(x0+(i+½)c, y0+(j+½)c)``."""

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int

    @classmethod
    def covering(cls, bounds: tuple[float, float, float, float], cell: float) -> Raster:
        """The grid of ``cell``-metre cells covering ``bounds`` (xmin, ymin, xmax, ymax)."""
        xmin, ymin, xmax, ymax = bounds
        x0, y0 = math.floor(xmin / cell) * cell, math.floor(ymin / cell) * cell
        nx = max(1, math.ceil((xmax - x0) / cell))
        ny = max(1, math.ceil((ymax - y0) / cell))
        return cls(float(x0), float(y0), float(cell), int(nx), int(ny))

    @property
    def cell_area(self) -> float:
        """Area of one cell, m²."""
        return self.cell * self.cell

    def centres(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Centre coordinates of cells ``(rows, cols)``."""
        return self.x0 + (cols + 0.5) * self.cell, self.y0 + (rows + 0.5) * self.cell

    def window(self, bounds: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
        """``(j0, j1, i0, i1)`` half-open row/column ranges of the cells meeting ``bounds``."""
        xmin, ymin, xmax, ymax = bounds
        i0 = max(0, math.floor((xmin - self.x0) / self.cell))
        j0 = max(0, math.floor((ymin - self.y0) / self.cell))
        i1 = min(self.nx, math.ceil((xmax - self.x0) / self.cell))
        j1 = min(self.ny, math.ceil((ymax - self.y0) / self.cell))
        return j0, max(j0, j1), i0, max(i0, i1)

    def sub(self, j0: int, j1: int, i0: int, i1: int) -> Raster:
        """The sub-grid of rows ``j0:j1`` and columns ``i0:i1``."""
        return Raster(self.x0 + i0 * self.cell, self.y0 + j0 * self.cell, self.cell,
                      max(0, i1 - i0), max(0, j1 - j0))


def polygon_mask(raster: Raster, polygons: np.ndarray) -> np.ndarray:
    """Boolean ``(ny, nx)`` mask of the cells whose centre lies in any of ``polygons``."""
    mask = np.zeros((raster.ny, raster.nx), dtype=np.bool_)
    polygons = np.asarray(polygons, dtype=object)
    polygons = polygons[~shapely.is_empty(polygons)] if polygons.size else polygons
    if polygons.size == 0:
        return mask
    _, coords, (ring_offsets, poly_offsets) = shapely.to_ragged_array(
        shapely.get_parts(polygons).astype(object)
    )
    _fill(mask, coords[:, 0].copy(), coords[:, 1].copy(), ring_offsets.astype(np.int64),
          poly_offsets.astype(np.int64), raster.x0, raster.y0, raster.cell)
    return mask


@numba.njit(cache=True)
def _fill(mask, xs, ys, ring_offsets, poly_offsets, x0, y0, cell):  # pragma: no cover - numba
    ny, nx = mask.shape
    crossings = np.empty(64, np.float64)
    for p in range(poly_offsets.size - 1):
        r0, r1 = poly_offsets[p], poly_offsets[p + 1]
        c0, c1 = ring_offsets[r0], ring_offsets[r1]
        ymin, ymax = ys[c0:c1].min(), ys[c0:c1].max()
        j_lo = max(0, int(math.ceil((ymin - y0) / cell - 0.5)))  # noqa: RUF046
        j_hi = min(ny - 1, int(math.floor((ymax - y0) / cell - 0.5)))  # noqa: RUF046
        for j in range(j_lo, j_hi + 1):
            yc = y0 + (j + 0.5) * cell
            k = 0
            for r in range(r0, r1):
                for e in range(ring_offsets[r], ring_offsets[r + 1] - 1):
                    ya, yb = ys[e], ys[e + 1]
                    if (ya <= yc) != (yb <= yc):
                        xa, xb = xs[e], xs[e + 1]
                        if k == crossings.size:
                            grown = np.empty(crossings.size * 2, np.float64)
                            grown[:k] = crossings[:k]
                            crossings = grown
                        crossings[k] = xa + (yc - ya) * (xb - xa) / (yb - ya)
                        k += 1
            if k < 2:
                continue
            row = np.sort(crossings[:k])
            for q in range(0, k - 1, 2):
                i_lo = max(0, int(math.ceil((row[q] - x0) / cell - 0.5)))  # noqa: RUF046
                i_hi = min(nx - 1, int(math.ceil((row[q + 1] - x0) / cell - 0.5)) - 1)  # noqa: RUF046
                for i in range(i_lo, i_hi + 1):
                    mask[j, i] = True
