"""Figures from visible regions, without any polygon union.

- streets: the parts of each line seen by each camera, as metre intervals along the line
  (1-D clipping of every segment against the star-shaped regions, then an interval merge);
- areas: how many views see each raster cell centre (a count grid), masked by land, public space
  or a site's footprint;
- H3: the same count grid summarised per H3 cell.

All functions are pure: arrays in, arrays out, aligned to their inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS

from survatlas import geo
from survatlas.coverage import _compiled
from survatlas.coverage._jit import njit, prange
from survatlas.coverage._layers_nb import contains_view
from survatlas.coverage._raster import Raster, label_fill
from survatlas.coverage.regions import Regions, merge_intervals


@dataclass(frozen=True)
class Segments:
    """Straight segments of many lines, with their position along their line (metres)."""

    ax: np.ndarray
    ay: np.ndarray
    bx: np.ndarray
    by: np.ndarray
    line: np.ndarray
    start_m: np.ndarray
    length_m: np.ndarray
    line_length_m: np.ndarray

    def __len__(self) -> int:
        return int(self.ax.size)


def line_segments(lines: np.ndarray) -> Segments:
    """Explode (Multi)LineStrings in a metric CRS into segments; parts of a multi-line follow
    one another in the line's metre measure."""
    lines = np.asarray(lines, dtype=object)
    parts, owner = shapely.get_parts(lines, return_index=True)
    coords, vertex_part = shapely.get_coordinates(parts, return_index=True)
    same = vertex_part[1:] == vertex_part[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    seg_part = vertex_part[:-1][same]
    seg_line = owner[seg_part]
    length = np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])
    keep = length > 0
    a, b, seg_line, length = a[keep], b[keep], seg_line[keep], length[keep]
    cum = np.cumsum(length)
    line_first = np.searchsorted(seg_line, np.arange(lines.size))
    before = np.concatenate([[0.0], cum])[line_first]
    start = cum - length - before[seg_line]
    line_length = np.bincount(seg_line, length, minlength=lines.size)
    return Segments(a[:, 0].copy(), a[:, 1].copy(), b[:, 0].copy(), b[:, 1].copy(),
                    seg_line.astype(np.int64), start, length, line_length)


def candidate_pairs(boxes_a: np.ndarray, boxes_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(i, j)`` whose bounding boxes ``(xmin, ymin, xmax, ymax)`` overlap (touching
    included; a box with a NaN bound meets nothing), ordered by ``i``.

    A uniform grid join in numpy: every box is listed in the grid cells it spans, boxes of
    ``boxes_a`` meet the boxes of ``boxes_b`` listed in their cells, and a pair is kept in one
    cell only — the cell of the lower-left corner of the boxes' overlap. The cells are as wide
    as the larger of the two sets' median box extent; boxes that would span too many cells
    (:data:`GRID_JOIN_MAX_CELLS` entries in all) are paired with an STR tree instead.
    """
    empty = np.empty(0, np.int64)
    keep_a, keep_b = _finite_rows(boxes_a), _finite_rows(boxes_b)
    a, b = boxes_a[keep_a], boxes_b[keep_b]
    if len(a) == 0 or len(b) == 0:
        return empty, empty
    x0, y0 = min(a[:, 0].min(), b[:, 0].min()), min(a[:, 1].min(), b[:, 1].min())
    cell = max(_middle(np.maximum(a[:, 2] - a[:, 0], a[:, 3] - a[:, 1])),
               _middle(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])),
               1e-9 * max(1.0, abs(x0), abs(y0)))
    columns = np.floor((max(a[:, 2].max(), b[:, 2].max()) - x0) / cell) + 1
    rows = np.floor((max(a[:, 3].max(), b[:, 3].max()) - y0) / cell) + 1
    span_a, span_b = _cell_spans(a, x0, y0, cell), _cell_spans(b, x0, y0, cell)
    if (span_a[2] * span_a[3]).sum() + (span_b[2] * span_b[3]).sum() > GRID_JOIN_MAX_CELLS \
            or max(columns, rows) > 2**31:
        tree = shapely.STRtree(shapely.box(*b.T))
        i, j = tree.query(shapely.box(*a.T))
        order = np.argsort(i, kind="stable")
        return keep_a[i[order]], keep_b[j[order]]
    columns = int(columns)
    key_a, of_a = _cell_keys(span_a, columns)
    key_b, of_b = _cell_keys(span_b, columns)
    order = np.argsort(key_b, kind="stable")
    key_b, of_b = key_b[order], of_b[order]
    lo, hi = np.searchsorted(key_b, key_a, "left"), np.searchsorted(key_b, key_a, "right")
    n = hi - lo
    entry = np.repeat(np.arange(key_a.size), n)
    i = of_a[entry]
    j = of_b[np.repeat(lo - np.cumsum(n) + n, n) + np.arange(entry.size)]
    ai, bj = a[i], b[j]
    meet = ((ai[:, 0] <= bj[:, 2]) & (bj[:, 0] <= ai[:, 2])
            & (ai[:, 1] <= bj[:, 3]) & (bj[:, 1] <= ai[:, 3]))
    corner_x = np.floor((np.maximum(ai[:, 0], bj[:, 0]) - x0) / cell).astype(np.int64)
    corner_y = np.floor((np.maximum(ai[:, 1], bj[:, 1]) - y0) / cell).astype(np.int64)
    keep = meet & (corner_y * columns + corner_x == key_a[entry])
    return keep_a[i[keep]], keep_b[j[keep]]


#: the most grid-cell entries :func:`candidate_pairs` lists before it uses an STR tree
GRID_JOIN_MAX_CELLS = 20_000_000


def _middle(values: np.ndarray) -> float:
    """The middle value of ``values`` in sorted order (a median without ``np.median``, which
    loads ``numpy.ma``: 7 ms of a run)."""
    half = values.size // 2
    return float(np.partition(values, half)[half])


def _finite_rows(boxes: np.ndarray) -> np.ndarray:
    """Indices of the boxes whose four bounds are numbers."""
    return np.flatnonzero(np.isfinite(boxes).all(axis=1)) if len(boxes) else \
        np.empty(0, np.int64)


def _cell_spans(boxes: np.ndarray, x0: float, y0: float,
                cell: float) -> tuple[np.ndarray, ...]:
    """First column and row of the grid cells each box spans, and how many columns and rows
    (float64: a count too large for an integer is compared before it is converted)."""
    cx0, cy0 = np.floor((boxes[:, 0] - x0) / cell), np.floor((boxes[:, 1] - y0) / cell)
    return (cx0, cy0, np.floor((boxes[:, 2] - x0) / cell) - cx0 + 1,
            np.floor((boxes[:, 3] - y0) / cell) - cy0 + 1)


def _cell_keys(spans: tuple[np.ndarray, ...], columns: int) -> tuple[np.ndarray, np.ndarray]:
    """The key (row × ``columns`` + column) of every cell each box spans (:func:`_cell_spans`),
    and the box's index."""
    cx0, cy0, width, height = (v.astype(np.int64) for v in spans)
    counts = width * height
    of = np.repeat(np.arange(counts.size), counts)
    row, col = np.divmod(np.arange(of.size) - np.repeat(np.cumsum(counts) - counts, counts),
                         width[of])
    return (cy0[of] + row) * columns + cx0[of] + col, of


@dataclass(frozen=True)
class SeenIntervals:
    """Metre intervals of lines seen by cameras: row ``k`` is line ``line[k]`` seen by camera
    ``camera[k]`` from ``start_m[k]`` to ``end_m[k]`` (merged per line and camera)."""

    line: np.ndarray
    camera: np.ndarray
    start_m: np.ndarray
    end_m: np.ndarray

    def union_length(self, n_lines: int) -> np.ndarray:
        """Metres of each line seen by at least one camera."""
        line, t0, t1 = merge_intervals(self.line, self.start_m, self.end_m)
        return np.bincount(line, t1 - t0, minlength=n_lines)

    def cameras_per_line(self, n_lines: int) -> np.ndarray:
        """Number of distinct cameras that see each line."""
        if not self.line.size:
            return np.zeros(n_lines, np.int64)
        cams = int(self.camera.max()) + 1
        pairs, _ = distinct_counts(self.line.astype(np.int64) * cams + self.camera)
        return np.bincount(pairs // cams, minlength=n_lines)


def seen_intervals(regions: Regions, segments: Segments, *, min_m: float = 1e-6) -> SeenIntervals:
    """Clip every segment against every region it may meet; merge per line and camera."""
    seg_boxes = np.column_stack([
        np.minimum(segments.ax, segments.bx), np.minimum(segments.ay, segments.by),
        np.maximum(segments.ax, segments.bx), np.maximum(segments.ay, segments.by),
    ])
    view, seg = candidate_pairs(regions.bounds(), seg_boxes)
    if view.size == 0:
        empty = np.empty(0, np.int64)
        return SeenIntervals(empty, empty, np.empty(0), np.empty(0))
    offsets, t0, t1 = regions.clip_segments(view, segments.ax[seg], segments.ay[seg],
                                            segments.bx[seg], segments.by[seg])
    pair = np.repeat(np.arange(view.size), np.diff(offsets))
    s = seg[pair]
    start = segments.start_m[s] + t0 * segments.length_m[s]
    end = segments.start_m[s] + t1 * segments.length_m[s]
    line, cam = segments.line[s], regions.camera[view[pair]]
    n_cam = int(regions.camera.max()) + 1 if regions.camera.size else 1
    key, m0, m1 = merge_intervals(line * n_cam + cam, start, end)
    keep = (m1 - m0) > min_m
    key, m0, m1 = key[keep], m0[keep], m1[keep]
    return SeenIntervals(key // n_cam, key % n_cam, m0, m1)


def count_grid(regions: Regions, raster: Raster) -> np.ndarray:
    """How many views see each cell centre of ``raster`` (int32, ``(ny, nx)``)."""
    if len(regions) == 0:
        return np.zeros((raster.ny, raster.nx), np.int32)
    return regions.raster_count(raster.x0, raster.y0, raster.cell, raster.nx, raster.ny)


def area_share(counts: np.ndarray, mask: np.ndarray, cell_area: float) -> dict[str, float]:
    """Area of ``mask`` and the part of it in view (count > 0), m², and the share."""
    total = float(mask.sum()) * cell_area
    seen = float((mask & (counts > 0)).sum()) * cell_area
    return {"area_m2": total, "in_view_m2": seen, "share": (seen / total) if total else None}


@njit(cache=True, parallel=True)
def _views_seeing_any(views, px, py, box, offsets, phi, rad, cx, cy, th0, fov, layers):  # pragma: no cover
    """For each view, whether any of the points lies in its region (stops at the first)."""
    out = np.zeros(views.shape[0], np.bool_)
    for i in prange(views.shape[0]):
        v = views[i]
        for k in range(px.shape[0]):
            if px[k] < box[v, 0] or px[k] > box[v, 2] or py[k] < box[v, 1] or py[k] > box[v, 3]:
                continue
            if contains_view(v, px[k], py[k], offsets, phi, rad, cx, cy, th0, fov, layers):
                out[i] = True
                break
    return out


#: Rasters with fewer ``block``×``block`` groups than this are assigned by direct look-ups.
H3_DIRECT_MAX = 4096
#: A group centre nearer than this (m) to an H3 cell edge is looked up directly: the metric
#: projection bends H3's (gnomonic) edges by well under 0.1 mm over a cell, so every other
#: centre lies in the cell whose projected outline holds it.
H3_EDGE_TOL_M = 1e-3
#: Raster cells are grouped in blocks of this many cells per side for H3: every window of a
#: tiled or banded run starts on a group, so any tiling gives the same groups.
H3_BLOCK = 4


def h3_assignment(
    raster: Raster, crs: CRS, resolution: int, *, block: int = H3_BLOCK
) -> tuple[np.ndarray, np.ndarray]:
    """H3 cell of every ``block``×``block`` group of ``raster`` (by the group's centre).

    Equal to ``h3.latlng_to_cell`` of every group centre, computed with one look-up per H3
    cell instead of one per group when hexagons are much larger than groups: the outlines of
    the H3 cells meeting the raster are projected and scan-line filled; centres within
    :data:`H3_EDGE_TOL_M` of an outline, and any left unclaimed, are looked up directly.

    Returns
    -------
    tuple of numpy.ndarray
        ``(names, group_hex)``: the sorted H3 names and, per group (row-major), its name index.
    """
    import h3  # on first use: a run without an H3 output never loads it
    import h3.api.basic_int as h3i

    groups = Raster(raster.x0, raster.y0, raster.cell * block, -(-raster.nx // block),
                    -(-raster.ny // block))
    hexes = np.full(groups.nx * groups.ny, -1, np.int64)
    area = groups.nx * groups.ny * groups.cell_area
    few = area / h3.average_hexagon_area(resolution, "m^2") < hexes.size / 8  # else: look up
    cells = _h3_cells_meeting(groups, crs, resolution) if hexes.size > H3_DIRECT_MAX and few \
        else np.empty(0, np.int64)
    if cells.size:
        labels, near = _h3_labels(groups, crs, cells)
        hexes = np.where((labels >= 0) & ~near, cells[np.maximum(labels, 0)], -1).ravel()
    todo = np.flatnonzero(hexes < 0)
    if todo.size:
        lon, lat = geo.to_lonlat(crs).transform(*groups.centres(*np.divmod(todo, groups.nx)))
        hexes[todo] = [h3i.latlng_to_cell(la, lo, resolution)
                       for lo, la in zip(lon.tolist(), lat.tolist(), strict=True)]
    ids, group_hex = _distinct(hexes, np.concatenate([cells, hexes[todo]]))
    names = np.array([h3.int_to_str(int(c)) for c in ids.tolist()], dtype=object).astype(str)
    order = np.argsort(names, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return names[order], rank[group_hex.ravel()]


def distinct_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct ``values`` and how often each occurs: ``np.unique(values,
    return_counts=True)`` by one sort, without loading ``numpy.ma`` (7 ms of a run)."""
    ordered = np.sort(values)
    first = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]])) \
        if ordered.size else np.empty(0, np.int64)
    return ordered[first], np.diff(np.append(first, ordered.size))


def _distinct(values: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for ``values`` drawn from the far fewer
    ``candidates``: a binary search of each value among the sorted candidates instead of a
    sort of every value (and no ``np.unique``, which loads ``numpy.ma``: 7 ms of a run)."""
    pool, _ = distinct_counts(candidates)
    where = np.searchsorted(pool, values)
    used = np.bincount(where, minlength=pool.size) > 0
    return pool[used], (np.cumsum(used) - 1)[where]


def _h3_cells_meeting(groups: Raster, crs: CRS, resolution: int) -> np.ndarray:
    """Ids of the H3 cells whose centre lies near the raster (empty where the box is odd:
    across the antimeridian or near a pole — the caller then looks every centre up)."""
    import h3
    import h3.api.basic_int as h3i

    margin = 2 * h3.average_hexagon_edge_length(resolution, "m") + groups.cell
    x0, y0 = groups.x0 - margin, groups.y0 - margin
    x1 = groups.x0 + groups.nx * groups.cell + margin
    y1 = groups.y0 + groups.ny * groups.cell + margin
    t = np.linspace(0.0, 1.0, 17)[:-1]
    xs = np.concatenate([x0 + t * (x1 - x0), np.full(16, x1), x1 - t * (x1 - x0), np.full(16, x0)])
    ys = np.concatenate([np.full(16, y0), y0 + t * (y1 - y0), np.full(16, y1), y1 - t * (y1 - y0)])
    lon, lat = geo.to_lonlat(crs).transform(xs, ys)
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()) or np.abs(lat).max() > 85 \
            or np.ptp(lon) > 90:
        return np.empty(0, np.int64)
    poly = h3.LatLngPoly(list(zip(lat.tolist(), lon.tolist(), strict=True)))
    return np.array(sorted(h3i.geo_to_cells(poly, resolution)), np.int64)


def _h3_labels(groups: Raster, crs: CRS, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index into ``cells`` of the outline holding each group centre (-1: none), and the
    centres too near an outline to trust."""
    import h3.api.basic_int as h3i

    rings = [h3i.cell_to_boundary(int(c)) for c in cells.tolist()]
    sizes = np.array([len(r) + 1 for r in rings], np.int64)
    lat_lon = np.array([v for r in rings for v in (*r, r[0])], float)
    xs, ys = geo.to_metric(crs).transform(lat_lon[:, 1], lat_lon[:, 0])
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    labels = np.full((groups.ny, groups.nx), -1, np.int64)
    near = np.zeros((groups.ny, groups.nx), np.bool_)
    fill = _compiled.kernel("label_fill", label_fill)
    fill(labels, near, np.ascontiguousarray(xs, float), np.ascontiguousarray(ys, float), offsets,
         groups.x0, groups.y0, groups.cell, H3_EDGE_TOL_M)
    return labels.ravel(), near.ravel()


def block_sums(cells: np.ndarray, block: int) -> np.ndarray:
    """Sum of every ``block``×``block`` group of a 0/1 ``uint8`` grid (sides multiples of
    ``block``), row-major.

    For 4×4 groups the four cells of a group's row are one 32-bit word, summed by one multiply
    (``v·0x01010101 >> 24``: each byte is 0 or 1, so no carry), several times faster than a
    reduction over a 4-D view.
    """
    ny, nx = cells.shape
    by, bx = ny // block, nx // block
    if block != 4 or not cells.flags.c_contiguous:
        return cells.reshape(by, block, bx, block).sum(axis=(1, 3), dtype=np.int64).ravel()
    words = cells.view(np.uint32)
    rows = ((words * np.uint32(0x01010101)) >> np.uint32(24)).astype(np.uint8)
    rows = rows.reshape(by, block, bx)
    return (rows[:, 0] + rows[:, 1] + rows[:, 2] + rows[:, 3]).ravel()


def h3_cell_counts(
    raster: Raster, counts: np.ndarray, land: np.ndarray, crs: CRS, resolution: int,
    *, block: int = H3_BLOCK, assignment: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Land cells and land cells in view per H3 cell, as integer counts.

    Cell counts are additive: the counts of sub-rasters whose origins lie on ``block``-cell
    boundaries of one raster sum to the counts of that raster (used by tiled runs).
    ``assignment`` (from :func:`h3_assignment`) saves the look-ups when several count grids
    share a raster.

    Returns
    -------
    tuple of numpy.ndarray
        ``(h3 names, land cells, land cells in view)``, sorted by name.
    """
    ny, nx = counts.shape
    if ny == 0 or nx == 0:
        return np.empty(0, str), np.empty(0, np.int64), np.empty(0, np.int64)
    names, block_hex = assignment if assignment is not None else \
        h3_assignment(raster, crs, resolution, block=block)
    by, bx = -(-ny // block), -(-nx // block)
    pad_land = np.zeros((by * block, bx * block), np.uint8)
    pad_land[:ny, :nx] = land
    pad_seen = np.zeros_like(pad_land)
    np.logical_and(land, counts > 0, out=pad_seen[:ny, :nx].view(bool))
    per_block_land = block_sums(pad_land, block)
    per_block_seen = block_sums(pad_seen, block)
    land_cells = np.bincount(block_hex, per_block_land, minlength=names.size)
    seen_cells = np.bincount(block_hex, per_block_seen, minlength=names.size)
    return names, land_cells.astype(np.int64), seen_cells.astype(np.int64)
