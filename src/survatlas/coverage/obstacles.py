"""Building footprints turned into flat, oriented wall-edge arrays with a CSR grid."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import shapely

from survatlas.coverage import _compiled, _footprints
from survatlas.coverage._grid import build_grid, z_order
from survatlas.errors import InputError

#: Parts smaller than this (m²) are dropped as degenerate (zero-area buildings).
MIN_AREA_M2 = 1e-6
#: Footprints overlapping by more than this (m²) and more than :data:`MIN_OVERLAP_WIDTH_M`
#: are merged; smaller overlaps are rounding slivers along shared party walls and are left
#: alone.
MIN_OVERLAP_M2 = 1e-2
#: Overlaps thinner than this (m; width = 2 · area / perimeter) are slivers along a shared wall:
#: OSM stores coordinates to 1e-7° (≤ 1.1 cm), so two outlines of one party wall can cross by
#: that much. Left alone, a sliver lets a region reach into a footprint by at most its area.
MIN_OVERLAP_WIDTH_M = 0.02


@dataclass(frozen=True)
class Obstacles:
    """Opaque footprints as oriented wall edges, ready for the visibility kernel.

    Every edge runs ``(ax, ay) → (bx, by)`` with the building's interior on its left (exteriors
    counter-clockwise, holes clockwise), so a wall faces a camera when the camera is on its right.

    Attributes
    ----------
    polygons
        The cleaned polygons (shapely array): valid, single-part, overlaps merged (their ring
        orientation is as given; the edges are oriented). Held as given, or as a function
        that makes them on first use (the obstacle cache: a coverage run reads only the
        edges and the grid).
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

    _polygons: np.ndarray | Callable[[], np.ndarray] = field(repr=False, compare=False)
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
    def polygons(self) -> np.ndarray:
        """The cleaned polygons (made on first use when given as a function)."""
        if callable(self._polygons):
            object.__setattr__(self, "_polygons", self._polygons())
        return self._polygons  # type: ignore[return-value]

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
    if not invalid.any() and (shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON).all():
        parts, index = geoms, np.arange(geoms.size)  # the common case: nothing to explode
    else:
        if invalid.any():
            geoms = geoms.copy()
            geoms[invalid] = shapely.make_valid(geoms[invalid])
        parts, index = shapely.get_parts(geoms, return_index=True)
        if (shapely.get_type_id(parts) >= shapely.GeometryType.MULTIPOINT).any():
            # collections (from make_valid, or given) may hold multipolygons: explode again
            parts, sub = shapely.get_parts(parts, return_index=True)
            index = index[sub]
    keep = (shapely.get_type_id(parts) == shapely.GeometryType.POLYGON) & (
        shapely.area(parts) > MIN_AREA_M2
    )
    return parts[keep], index[keep]


def _overlapping_pairs(parts: np.ndarray, rings: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``a < b`` of footprints whose interiors overlap by more than MIN_OVERLAP_M2 and
    more than MIN_OVERLAP_WIDTH_M.

    Candidates come from box overlaps; overlaps are clipped in numba between convex footprints
    (most buildings) or their convex hulls (an upper bound of the area); pairs with a concave
    footprint whose hulls overlap go through GEOS.
    """
    a, b = shapely.STRtree(parts).query(parts)
    pair = a < b
    a, b = a[pair], b[pair]
    box = shapely.bounds(parts)
    w = np.minimum(box[a, 2], box[b, 2]) - np.maximum(box[a, 0], box[b, 0])
    h = np.minimum(box[a, 3], box[b, 3]) - np.maximum(box[a, 1], box[b, 1])
    big = (w > 0) & (h > 0) & (w * h > MIN_OVERLAP_M2)
    a, b = a[big], b[big]
    convex = _compiled.kernel("convex_exteriors", _footprints.convex_exteriors)(*rings)
    # a non-convex footprint is stood in for by its convex hull: an upper bound of the overlap
    proxy = np.arange(parts.size)
    hulls = np.flatnonzero(~convex)
    proxy[hulls] = parts.size + np.arange(hulls.size)
    with_hulls = _footprints.concat_rings(
        rings, _footprints.ragged_rings(shapely.convex_hull(parts[hulls])))
    area, perimeter = _footprints.convex_overlaps(proxy[a], proxy[b], with_hulls)
    slow = np.flatnonzero(~(convex[a] & convex[b]) & (area > MIN_OVERLAP_M2))
    if slow.size:
        overlap = shapely.relate_pattern(parts[a[slow]], parts[b[slow]], "T********")
        area[slow[~overlap]] = 0.0
        slow = slow[overlap]
        shared = shapely.intersection(parts[a[slow]], parts[b[slow]])
        area[slow], perimeter[slow] = shapely.area(shared), shapely.length(shared)
    width = 2.0 * area / np.maximum(perimeter, 1e-12)
    big = (area > MIN_OVERLAP_M2) & (width > MIN_OVERLAP_WIDTH_M)
    return a[big], b[big]


def _merge_overlaps(
    parts: np.ndarray, index: np.ndarray, edges: tuple, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Union the footprints of overlapping pairs ``(a, b)`` (touching party walls are left
    alone); the edges of untouched footprints are kept, those of unions extracted anew."""
    n = parts.size
    from scipy.sparse import coo_matrix  # only when footprints overlap (keeps imports light)
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(a.size), (a, b)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    sizes = np.bincount(label)
    single = np.flatnonzero(sizes[label] == 1)
    merged, merged_src = [parts[single]], [index[single]]
    by_label = np.argsort(label, kind="stable")
    ends = np.cumsum(sizes)
    for lab in np.flatnonzero(sizes > 1):
        members = by_label[ends[lab] - sizes[lab]:ends[lab]]
        union = shapely.get_parts(shapely.union_all(parts[members]))
        union = union[shapely.get_type_id(union) == shapely.GeometryType.POLYGON]
        merged.append(union)
        merged_src.append(np.full(union.size, index[members].min()))
    unions = np.concatenate(merged[1:])
    new_id = np.full(n, -1, np.int64)
    new_id[single] = np.arange(single.size)
    *xy, poly = edges
    keep = new_id[poly] >= 0
    *uxy, upoly = _edges(unions)
    cols = [np.concatenate([c[keep], u]) for c, u in zip(xy, uxy, strict=True)]
    poly = np.concatenate([new_id[poly[keep]], upoly + single.size]).astype(np.int32)
    return np.concatenate(merged), np.concatenate(merged_src), (*cols, poly)


def _edges(parts: np.ndarray) -> tuple[np.ndarray, ...]:
    """Flat edge arrays ``ax, ay, bx, by, polygon`` of polygons, oriented with the interior on
    the left (zero-length edges dropped)."""
    return _footprints.oriented_edges(*_footprints.ragged_rings(parts))


def _z_order(parts: np.ndarray) -> np.ndarray:
    """Order of footprints along a Z-order curve of their box centres: walls that are close in
    space end up close in memory (the kernel reads them cell by cell)."""
    if parts.size == 0:
        return np.arange(0)
    box = shapely.bounds(parts)
    xy = np.column_stack([box[:, 0] + box[:, 2], box[:, 1] + box[:, 3]]) / 2
    lo = xy.min(axis=0)
    span = max(float((xy.max(axis=0) - lo).max()), 1e-9)
    q = ((xy - lo) / span * 0xFFFF).astype(np.int64)
    return z_order(q[:, 0], q[:, 1])


def footprint_edges(polygons: Iterable) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Oriented wall edges ``ax, ay, bx, by`` of footprints, cleaned as in
    :func:`prepare_obstacles` but neither merged nor indexed (for land masks)."""
    parts, _ = _polygon_parts(_as_geometry_array(polygons))
    return _edges(parts)[:4]


def prepare_obstacles(
    polygons: Iterable, *, merge_overlaps: bool = True, cell_size: float | None = None
) -> Obstacles:
    """Clean building footprints and index their walls for the visibility kernel.

    Invalid geometries are repaired (``make_valid``), multipolygons exploded, non-polygonal and
    zero-area parts dropped (a line is not an obstacle), footprints whose interiors overlap are
    merged (touching party walls stay separate), wall edges are oriented (exterior
    counter-clockwise; the polygons keep their own orientation), zero-length edges removed, footprints sorted along a Z-order curve (memory locality) and
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
    rings = _footprints.ragged_rings(parts)
    edges = _footprints.oriented_edges(*rings)
    if merge_overlaps and parts.size > 1:
        a, b = _overlapping_pairs(parts, rings)
        if a.size:
            parts, index, edges = _merge_overlaps(parts, index, edges, a, b)
    order = _z_order(parts)
    parts, index = parts[order], index[order]
    rank = np.empty(order.size, np.int32)
    rank[order] = np.arange(order.size, dtype=np.int32)
    ax, ay, bx, by, poly = edges
    poly = rank[poly]
    order = np.argsort(poly, kind="stable")
    ax, ay, bx, by, poly = ax[order], ay[order], bx[order], by[order], poly[order]
    x0, y0, size, nx, ny, start, items = build_grid(ax, ay, bx, by, cell_size)
    counts = np.bincount(poly, minlength=len(parts))
    poff = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Obstacles(parts, index, ax, ay, bx, by, poly, poff, x0, y0, size, nx, ny, start, items)
