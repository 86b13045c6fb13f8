"""Visible regions as star-shaped r(θ) arrays, and the queries built on them.

A region is what one camera *view* sees. It is star-shaped around the (possibly nudged) camera,
so it is stored as boundary points in polar form around the camera: ``angles`` measured
counter-clockwise (radians) from the view's start bearing ``start``, non-decreasing from 0 to the
view's ``fov``, and ``radii`` in metres. Two consecutive points with the same angle are a radial
jump (the edge of a shadow). The polygon is the camera followed by the points (for a full
circle, the points alone). Between two points the boundary is straight: along a wall it is
exact; along the range arc it is a chord (arc sampled every ``arc_step_deg``).

A 2.5-D view (:mod:`survatlas.coverage.occlusion`) can see several stretches along one ray
(the ground beyond a low wall reappears). Its region is *layered*: ``layers[v] > 1`` nested
star-shaped layers written one after the other through the camera, odd ones counter-clockwise
and even ones clockwise, so the boundary is one closed polygon with winding number 1 on the
visible ground. Areas and the count grid are winding sums and need nothing else; points and
segments of layered views are tested by winding number / signed fan triangles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely

from survatlas.coverage import _compiled, _jit
from survatlas.coverage import _layers_nb as lnb
from survatlas.coverage import _regions_nb as nb
from survatlas.coverage._raster import zeroed
from survatlas.errors import InputError

#: Meaning of :attr:`Regions.status`.
STATUS = {0: "ok", 1: "nudged out of a wall", 2: "inside a building (nothing visible)"}


@dataclass(frozen=True)
class Regions:
    """Visible regions of many camera views (CSR arrays; one row per view).

    Attributes
    ----------
    offsets
        int64, ``n_views + 1``: points of view ``v`` are ``offsets[v]:offsets[v + 1]``.
    angles, radii
        float64 boundary points (radians from ``start``, counter-clockwise; metres).
    x, y
        Camera position used for each view (after any nudge), metres.
    start
        Start bearing of each view in math radians (counter-clockwise from +x / east).
    fov
        Field of view of each view in radians (``2π`` for a full circle).
    radius
        Range of each view, metres.
    status
        int8 per view: 0 ok, 1 nudged out of a wall, 2 inside a building (empty region).
    camera
        Camera id of each view (several views may share a camera).
    edge_tests
        Number of ray-versus-wall tests the kernel made (for benchmarks).
    layers
        int64 per view: number of nested layers of a 2.5-D view (None: every view has one).
    """

    offsets: np.ndarray
    angles: np.ndarray
    radii: np.ndarray
    x: np.ndarray
    y: np.ndarray
    start: np.ndarray
    fov: np.ndarray
    radius: np.ndarray
    status: np.ndarray
    camera: np.ndarray
    edge_tests: int = 0
    layers: np.ndarray | None = None
    _boxes: list = field(default_factory=list, repr=False, compare=False)

    def __len__(self) -> int:
        return int(self.offsets.size - 1)

    @property
    def layered(self) -> bool:
        """Whether any view has more than one layer (a 2.5-D view seeing past a low obstacle)."""
        return self.layers is not None and bool((self.layers > 1).any())

    def layer_counts(self) -> np.ndarray:
        """Number of layers of each view (1 for every 2-D view)."""
        return np.ones(len(self), np.int64) if self.layers is None else self.layers

    def _nb_args(self) -> tuple:
        return self.offsets, self.angles, self.radii, self.x, self.y, self.start, self.fov

    def area(self) -> np.ndarray:
        """Area of each view's region in m² (closed form over the boundary points)."""
        return _compiled.kernel("areas", nb.areas)(self.offsets, self.angles, self.radii,
                                                   self.fov)

    def bounds(self) -> np.ndarray:
        """``(n_views, 4)`` bounding boxes ``xmin, ymin, xmax, ymax`` (camera included)."""
        if not self._boxes:
            self._boxes.append(_compiled.kernel("region_boxes", nb.region_boxes)(
                *self._nb_args()))
        return self._boxes[0]

    def contains(self, view: np.ndarray | int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether each point lies in the region of the paired view (boundary included).

        Parameters
        ----------
        view
            View index, or one view index per point.
        x, y
            Point coordinates in metres.

        Returns
        -------
        numpy.ndarray
            Boolean per point. O(log k) per point (binary search on the angles).
        """
        x = np.atleast_1d(np.asarray(x, np.float64))
        y = np.atleast_1d(np.asarray(y, np.float64))
        views = np.broadcast_to(np.asarray(view, np.int64), x.shape).copy()
        self._check_views(views)
        if self.layered:
            return lnb.contains_any(views, x, y, *self._nb_args(), self.layers)
        return nb.contains_pairs(views, x, y, *self._nb_args())

    def clip_segments(
        self, view: np.ndarray | int, ax: np.ndarray, ay: np.ndarray, bx: np.ndarray,
        by: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Parts of straight segments a→b inside the paired views' regions.

        Parameters
        ----------
        view
            View index, or one per segment.
        ax, ay, bx, by
            Segment end points in metres.

        Returns
        -------
        tuple of numpy.ndarray
            CSR ``(offsets, t0, t1)``: for pair ``i`` the sorted, disjoint parameter intervals
            ``[t0, t1] ⊂ [0, 1]`` (point = a + t·(b − a)) are ``offsets[i]:offsets[i + 1]``.
            O(k) per pair for a region of k points.
        """
        ax, ay, bx, by = (np.atleast_1d(np.asarray(a, np.float64)) for a in (ax, ay, bx, by))
        views = np.broadcast_to(np.asarray(view, np.int64), ax.shape).copy()
        self._check_views(views)
        args = (self.offsets, self.angles, self.radii, self.x, self.y, self.start)
        if self.layered:
            clip = (_compiled.kernel("clip_any", lnb.clip_any) if _compiled.serial(views.size)
                    else lnb.clip_any)
            return clip(views, ax, ay, bx, by, *args, self.layers)
        clip = (_compiled.kernel("clip_pairs", nb.clip_pairs) if _compiled.serial(views.size)
                else nb.clip_pairs)
        return clip(views, ax, ay, bx, by, *args)

    def raster_count(
        self, x0: float, y0: float, cell: float, nx: int, ny: int
    ) -> np.ndarray:
        """How many views see each cell centre of a raster (no polygon union).

        Parameters
        ----------
        x0, y0
            Lower-left corner of the raster, metres.
        cell
            Cell size, metres.
        nx, ny
            Raster shape (columns, rows).

        Returns
        -------
        numpy.ndarray
            int32 array ``(ny, nx)``; row 0 is the southern row. Cell ``(j, i)`` has centre
            ``(x0 + (i + ½)·cell, y0 + (j + ½)·cell)``.
        """
        if cell <= 0 or nx <= 0 or ny <= 0:
            raise InputError("raster cell size and shape must be positive")
        box = self.bounds()
        if _compiled.serial(len(self)):  # one band: the rows of a serial fill in one pass
            count, bands = _compiled.kernel("raster_counts", nb.raster_counts), 1
        else:
            count, bands = nb.raster_counts, max(1, min(8 * _jit.num_threads(), int(ny)))
        counts = zeroed((int(ny), int(nx)), np.int32)
        count(counts, *self._nb_args(), box[:, 0], box[:, 1], box[:, 2], box[:, 3], float(x0),
              float(y0), float(cell), int(nx), int(ny), bands)
        return counts

    def points(self, view: int) -> np.ndarray:
        """``(k, 2)`` boundary points of one view in metres (without the camera)."""
        s = slice(self.offsets[view], self.offsets[view + 1])
        a = self.start[view] + self.angles[s]
        r = self.radii[s]
        return np.column_stack([self.x[view] + r * np.cos(a), self.y[view] + r * np.sin(a)])

    def to_polygons(self) -> np.ndarray:
        """Shapely polygons of every view (empty polygon for an empty region); export only.

        Built in one vectorised call; the few invalid rings (a wall grazing the camera's ray can
        leave a zero-width spike) are repaired (:func:`_repaired`).
        """
        out = np.full(len(self), shapely.Polygon(), dtype=object)
        counts = np.diff(self.offsets)
        full = self.fov >= 2 * math.pi - 1e-9
        keep = np.flatnonzero(counts >= np.where(full, 3, 2))
        if keep.size == 0:
            return out
        a = self.start[keep].repeat(counts[keep]) + self.angles[_point_index(self.offsets, keep)]
        r = self.radii[_point_index(self.offsets, keep)]
        px = self.x[keep].repeat(counts[keep]) + r * np.cos(a)
        py = self.y[keep].repeat(counts[keep]) + r * np.sin(a)
        ring = _rings(keep, counts[keep], full[keep], px, py, self.x[keep], self.y[keep])
        polys = shapely.from_ragged_array(shapely.GeometryType.POLYGON, *ring)
        bad = np.flatnonzero(~shapely.is_valid(polys))
        polys[bad] = [_repaired(p) for p in polys[bad]]
        out[keep] = polys
        for v in np.flatnonzero(self.layer_counts() > 1):
            out[v] = self._layered_polygon(int(v))
        return out

    def _layered_polygon(self, v: int) -> shapely.Geometry:
        """Visible ground of a layered view: its layers, outermost first, alternately added
        and cut out (nested, so a symmetric difference chain)."""
        pts = self.points(v)
        phi = self.angles[self.offsets[v]:self.offsets[v + 1]]
        cam = (self.x[v], self.y[v])
        full = self.fov[v] >= 2 * math.pi - 1e-9
        result = shapely.Polygon()
        for lo, hi in _layer_runs(phi):
            ring = pts[lo:hi] if full else np.vstack([[cam], pts[lo:hi]])
            if len(ring) < 3:
                continue
            layer = _polygonal(shapely.make_valid(shapely.Polygon(ring)))
            result = _polygonal(shapely.symmetric_difference(result, layer))
        return result

    def _check_views(self, views: np.ndarray) -> None:
        if views.size and (views.min() < 0 or views.max() >= len(self)):
            raise InputError(f"view index out of range (there are {len(self)} views)")


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a geometry (zero-width spikes and points dropped)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _layer_runs(phi: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` point ranges of the layers of a layered view: angles alternately
    non-decreasing and non-increasing, joined at a turn by a point at the camera, which is left
    out (a layer ends at the first point of the turn's angle and the next starts at the last)."""
    runs, lo, sign = [], 0, 1
    for k in range(1, phi.size):
        if (phi[k] - phi[k - 1]) * sign < 0:
            turn = k - 1
            while turn > lo and phi[turn - 1] == phi[k - 1]:
                turn -= 1
            runs.append((lo, turn + 1))
            lo, sign = k - 1, -sign
    runs.append((lo, phi.size))
    return runs


def _point_index(offsets: np.ndarray, views: np.ndarray) -> np.ndarray:
    """Indices of the boundary points of ``views``, in order."""
    counts = offsets[views + 1] - offsets[views]
    first = np.repeat(offsets[views] - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return np.arange(counts.sum()) + first


def _rings(views, counts, full, px, py, cx, cy):
    """Closed rings (camera first for sectors) as ragged coordinates and offsets."""
    ring_len = counts + np.where(full, 1, 2)
    ring_off = np.concatenate([[0], np.cumsum(ring_len)])
    coords = np.empty((ring_off[-1], 2))
    pos = np.arange(px.size) + np.repeat(ring_off[:-1] + np.where(full, 0, 1)
                                         - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    coords[pos, 0], coords[pos, 1] = px, py
    sector = ~full
    coords[ring_off[:-1][sector], 0], coords[ring_off[:-1][sector], 1] = cx[sector], cy[sector]
    first = ring_off[:-1]
    coords[ring_off[1:] - 1] = coords[first]
    return coords, (ring_off, np.arange(views.size + 1))


def merge_intervals(
    group: np.ndarray, t0: np.ndarray, t1: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union of 1-D intervals per group (e.g. per street segment, across cameras).

    Parameters
    ----------
    group
        Integer group key of each interval.
    t0, t1
        Interval ends (``t0 ≤ t1``).

    Returns
    -------
    tuple of numpy.ndarray
        ``(group, t0, t1)`` of disjoint merged intervals, sorted by group then start.
        ``np.bincount(group, t1 - t0)`` gives the covered length per group.
    """
    group = np.asarray(group, np.int64)
    t0 = np.asarray(t0, np.float64)
    t1 = np.asarray(t1, np.float64)
    order = np.lexsort((t0, group))
    merge = _compiled.kernel("merge_sorted", nb.merge_sorted)
    return merge(group[order], t0[order], t1[order])


def segment_coverage(
    regions: Regions, ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Share of each straight segment seen by at least one view (no polygon union).

    Candidate (segment, view) pairs come from the views' bounding boxes; each pair is clipped
    in O(k) (:meth:`Regions.clip_segments`) and the intervals merged per segment.

    Parameters
    ----------
    regions
        Visible regions.
    ax, ay, bx, by
        Segment end points in metres (split street polylines into segments first).

    Returns
    -------
    tuple
        ``(fraction, (segment, t0, t1))``: covered fraction of each segment in ``[0, 1]``, and
        the merged covered intervals. Covered length = fraction × segment length.
    """
    ax, ay, bx, by = (np.atleast_1d(np.asarray(a, np.float64)) for a in (ax, ay, bx, by))
    if len(regions) == 0 or ax.size == 0:
        empty = np.empty(0)
        return np.zeros(ax.size), (np.empty(0, np.int64), empty, empty)
    box = regions.bounds()
    tree = shapely.STRtree(shapely.box(box[:, 0], box[:, 1], box[:, 2], box[:, 3]))
    segs = shapely.linestrings(np.stack([np.column_stack([ax, ay]), np.column_stack([bx, by])],
                                        axis=1))
    seg, view = tree.query(segs, predicate="intersects")
    off, t0, t1 = regions.clip_segments(view, ax[seg], ay[seg], bx[seg], by[seg])
    merged = merge_intervals(np.repeat(seg, np.diff(off)), t0, t1)
    fraction = np.bincount(merged[0], merged[2] - merged[1], minlength=ax.size)
    return np.minimum(fraction, 1.0), merged


def _repaired(polygon: shapely.Geometry) -> shapely.Geometry:
    """``polygon`` made valid: GEOS's default repair, or where that fails (it can raise on a
    ring whose spike folds back onto an edge: "Overlay input is mixed-dimension") the repair
    that keeps the area only (``method="structure"``)."""
    try:
        return shapely.make_valid(polygon)
    except shapely.errors.GEOSException:
        return shapely.make_valid(polygon, method="structure", keep_collapsed=False)
