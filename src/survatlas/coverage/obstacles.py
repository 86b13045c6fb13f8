"""Building footprints turned into flat, oriented wall-edge arrays with a CSR grid."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from survatlas.coverage._grid import build_grid, z_order
from survatlas.errors import InputError

#: Parts smaller than this (m²) are dropped as degenerate (zero-area buildings).
MIN_AREA_M2 = 1e-6
#: Footprints overlapping by more than this (m²) are merged; smaller overlaps are rounding
#: slivers along shared party walls and are left alone.
MIN_OVERLAP_M2 = 1e-2


@dataclass(frozen=True)
class Obstacles:
    """Opaque footprints as oriented wall edges, ready for the visibility kernel.

    Every edge runs ``(ax, ay) → (bx, by)`` with the building's interior on its left (exteriors
    counter-clockwise, holes clockwise), so a wall faces a camera when the camera is on its right.

    Attributes
    ----------
    polygons
        The cleaned polygons (shapely array): valid, single-part, oriented, overlaps merged.
    source
        For each cleaned polygon, the index of the input geometry it came from (the first one
        when overlapping inputs were merged).
    ax, ay, bx, by
        Edge end points, metres (float64).
    edge_polygon
        Index into :attr:`polygons` of each edge (edges of a polygon are contiguous).
    polygon_offsets
        CSR offsets (``len(polygons) + 1``) of each polygon's edges.
    grid_x0, grid_y0, cell_size, nx, ny, cell_start, cell_items
        The CSR grid: origin, cell size (m), shape, offsets (``nx * ny + 1``) and edge ids.
    """

    polygons: np.ndarray
    source: np.ndarray
    ax: np.ndarray
    ay: np.ndarray
    bx: np.ndarray
    by: np.ndarray
    edge_polygon: np.ndarray
    polygon_offsets: np.ndarray
    grid_x0: float
    grid_y0: float
    cell_size: float
    nx: int
    ny: int
    cell_start: np.ndarray
    cell_items: np.ndarray

    @property
    def n_edges(self) -> int:
        """Number of wall edges."""
        return int(self.ax.size)



def _as_geometry_array(polygons: Iterable) -> np.ndarray:
    geoms = np.asarray(list(polygons) if not isinstance(polygons, np.ndarray) else polygons,
                       dtype=object)
    if geoms.ndim != 1:
        raise InputError("obstacles must be a flat sequence of shapely (Multi)Polygons")
    bad = [i for i, g in enumerate(geoms) if g is not None and not isinstance(g, shapely.Geometry)]
    if bad:
        raise InputError(f"obstacle {bad[0]} is not a shapely geometry; pass shapely Polygons")
    return geoms


def _polygon_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Valid single polygons and the input index each came from; lines and points dropped."""
    geoms = np.where(shapely.is_missing(geoms), shapely.Polygon(), geoms)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    parts, index = shapely.get_parts(geoms, return_index=True)
    # make_valid may return collections holding multipolygons: explode once more
    parts, sub = shapely.get_parts(parts, return_index=True)
    index = index[sub]
    keep = (shapely.get_type_id(parts) == shapely.GeometryType.POLYGON) & (
        shapely.area(parts) > MIN_AREA_M2
    )
    return parts[keep], index[keep]


def _merge_overlaps(parts: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union footprints whose interiors overlap (touching party walls are left alone)."""
    tree = shapely.STRtree(parts)
    a, b = tree.query(parts, predicate="intersects")
    pair = a < b
    a, b = a[pair], b[pair]
    overlap = shapely.relate_pattern(parts[a], parts[b], "T********")
    a, b = a[overlap], b[overlap]
    big = shapely.area(shapely.intersection(parts[a], parts[b])) > MIN_OVERLAP_M2
    a, b = a[big], b[big]
    if a.size == 0:
        return parts, index
    n = parts.size
    graph = coo_matrix((np.ones(a.size), (a, b)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    sizes = np.bincount(label)
    single = sizes[label] == 1
    merged, merged_src = [parts[single]], [index[single]]
    for lab in np.flatnonzero(sizes > 1):
        members = np.flatnonzero(label == lab)
        union = shapely.get_parts(shapely.union_all(parts[members]))
        union = union[shapely.get_type_id(union) == shapely.GeometryType.POLYGON]
        merged.append(union)
        merged_src.append(np.full(union.size, index[members].min()))
    return np.concatenate(merged), np.concatenate(merged_src)


def _edges(parts: np.ndarray) -> tuple[np.ndarray, ...]:
    """Flat edge arrays ``ax, ay, bx, by, polygon`` of oriented polygons (zero-length dropped)."""
    if parts.size == 0:
        empty = np.empty(0)
        return empty, empty, empty, empty, np.empty(0, np.int32)
    _, coords, (ring_off, poly_off) = shapely.to_ragged_array(parts)
    n_coords = coords.shape[0]
    is_last = np.zeros(n_coords, bool)
    is_last[ring_off[1:] - 1] = True
    start = np.flatnonzero(~is_last)
    ring_of_coord = np.repeat(np.arange(ring_off.size - 1), np.diff(ring_off))
    poly_of_ring = np.repeat(np.arange(poly_off.size - 1), np.diff(poly_off))
    a, b = coords[start], coords[start + 1]
    poly = poly_of_ring[ring_of_coord[start]].astype(np.int32)
    keep = (a != b).any(axis=1)
    a, b, poly = a[keep], b[keep], poly[keep]
    return (np.ascontiguousarray(a[:, 0]), np.ascontiguousarray(a[:, 1]),
            np.ascontiguousarray(b[:, 0]), np.ascontiguousarray(b[:, 1]), poly)


def _z_order(parts: np.ndarray) -> np.ndarray:
    """Order of footprints along a Z-order curve of their centres: walls that are close in
    space end up close in memory (the kernel reads them cell by cell)."""
    if parts.size == 0:
        return np.arange(0)
    xy = shapely.get_coordinates(shapely.centroid(parts))
    lo = xy.min(axis=0)
    span = max(float((xy.max(axis=0) - lo).max()), 1e-9)
    q = ((xy - lo) / span * 0xFFFF).astype(np.int64)
    return z_order(q[:, 0], q[:, 1])


def prepare_obstacles(
    polygons: Iterable, *, merge_overlaps: bool = True, cell_size: float | None = None
) -> Obstacles:
    """Clean building footprints and index their walls for the visibility kernel.

    Invalid geometries are repaired (``make_valid``), multipolygons exploded, non-polygonal and
    zero-area parts dropped (a line is not an obstacle), footprints whose interiors overlap are
    merged (touching party walls stay separate), rings are oriented (exterior counter-clockwise),
    duplicate vertices removed, footprints sorted along a Z-order curve (memory locality) and
    the wall edges indexed in a uniform grid.

    Parameters
    ----------
    polygons
        Shapely Polygons / MultiPolygons in a metric CRS (metres). ``None`` entries are skipped.
    merge_overlaps
        Union footprints whose interiors overlap, so no two walls cross (keeps the kernel exact).
    cell_size
        Grid cell size in metres; chosen from the edge density when ``None``.

    Returns
    -------
    Obstacles
        Flat edge arrays, the CSR grid and the cleaned polygons.
    """
    parts, index = _polygon_parts(_as_geometry_array(polygons))
    if merge_overlaps and parts.size > 1:
        parts, index = _merge_overlaps(parts, index)
    parts = shapely.orient_polygons(parts, exterior_cw=False) if parts.size else parts
    order = _z_order(parts)
    parts, index = parts[order], index[order]
    ax, ay, bx, by, poly = _edges(parts)
    order = np.argsort(poly, kind="stable")
    ax, ay, bx, by, poly = ax[order], ay[order], bx[order], by[order], poly[order]
    x0, y0, size, nx, ny, start, items = build_grid(ax, ay, bx, by, cell_size)
    counts = np.bincount(poly, minlength=len(parts))
    poff = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Obstacles(parts, index, ax, ay, bx, by, poly, poff, x0, y0, size, nx, ny, start, items)
