"""A route's lines: the pieces' vertices joined into one line (plumbing for
:mod:`survatlas.routing.plan`)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np
import shapely

from survatlas.routing import _kernels
from survatlas.routing._graph import StreetGraph
from survatlas.routing._plan import Piece


def _piece_line(g: StreetGraph, piece: Piece) -> shapely.LineString:
    e, t0, t1 = piece
    if min(t0, t1) == 0.0 and max(t0, t1) == g.edge_length[e]:
        line = g.edge_geom[e]
        return line.reverse() if t1 < t0 else line
    line = _substring(g.edge_geom[e], min(t0, t1), max(t0, t1))
    return line.reverse() if t1 < t0 else line


def _substring(line: shapely.LineString, a: float, b: float) -> shapely.LineString:
    """The part of ``line`` between distances ``0 <= a <= b`` along it (clamped to its end):
    the coordinates ``shapely.ops.substring`` gives, a point as a two-vertex line, without its
    per-call overhead (street pieces have a handful of vertices)."""
    return shapely.LineString(_substring_xy(shapely.get_coordinates(line).tolist(), a, b))


def _substring_xy(xy: list[list[float]], a: float, b: float) -> list[list[float]]:
    """The vertices of :func:`_substring` of the line of vertices ``xy``."""
    out: list[list[float]] = []
    at = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(xy):
        step = math.hypot(x1 - x0, y1 - y0)
        end = at + step
        if not out and a <= end:
            f = (a - at) / step if step else 0.0
            out.append([x0 + f * (x1 - x0), y0 + f * (y1 - y0)])
        if out:
            if b <= end:
                f = (b - at) / step if step else 0.0
                out.append([x0 + f * (x1 - x0), y0 + f * (y1 - y0)])
                return out
            if end > a:
                out.append([x1, y1])
        at = end
    if not out:  # a beyond the end: the last point
        out.append(xy[-1])
    if len(out) == 1 or out[-1] != xy[-1]:
        out.append(xy[-1])
    return out


def _route_xy(
    g: StreetGraph, pieces: Sequence[Piece], arrays: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The vertices of the pieces' lines (:func:`_piece_line`) one after the other, and the
    piece of each: ``shapely.get_coordinates(lines, return_index=True)``, with whole edges
    gathered from the graph's vertex table (backwards for pieces run against the edge)
    instead of made as lines. ``arrays``: the pieces as arrays (``piece_arrays``)."""
    ptr, coords = g.edge_coords()
    e, t0, t1 = arrays
    whole = (np.minimum(t0, t1) == 0.0) & (np.maximum(t0, t1) == g.edge_length[e])
    count = np.where(whole, ptr[e + 1] - ptr[e], 0)
    part = {int(i): _part_xy(ptr, coords, pieces[i]) for i in np.flatnonzero(~whole)}
    for i, xy in part.items():
        count[i] = len(xy)
    which = np.repeat(np.arange(len(e)), count)
    first = np.cumsum(count) - count
    k = np.arange(int(count.sum())) - first[which]
    back = (t1 < t0)[which]
    idx = np.where(back, ptr[e + 1][which] - 1 - k, ptr[e][which] + k)
    xy = coords[np.where(whole[which], idx, 0)] if len(coords) else np.zeros((len(which), 2))
    for i, part_xy in part.items():
        xy[first[i]:first[i] + count[i]] = part_xy
    return xy, which


def route_line(
    g: StreetGraph,
    pieces: Sequence[Piece],
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray],
    coords_ll: np.ndarray,
    to_lonlat: Callable[[float, float], tuple[float, float]],
) -> shapely.LineString | shapely.MultiLineString:
    """:func:`_join_xy` of :func:`_route_xy`, projected to lon/lat, in one compiled pass
    (:func:`~survatlas.routing._kernels.joined_vertices`): whole edges' vertices taken from
    ``coords_ll`` (:meth:`StreetGraph.edge_coords` projected, made once), only the few
    vertices of pieces covering part of an edge projected, one ``to_lonlat(x, y)`` each."""
    ptr, coords = g.edge_coords()
    e, t0, t1 = arrays
    whole = (np.minimum(t0, t1) == 0.0) & (np.maximum(t0, t1) == g.edge_length[e])
    partial = np.flatnonzero(~whole).tolist()
    parts = [_part_xy(ptr, coords, pieces[i]) for i in partial]
    count = np.zeros(len(e) + 1, np.int64)
    count[[i + 1 for i in partial]] = [len(xy) for xy in parts]
    part_ptr = np.cumsum(count)
    part_xy = np.concatenate(parts) if parts else _NO_XY
    out, parted, line_ptr = _kernels.joined_vertices(
        ptr, coords, coords_ll, e, t0, t1, whole, part_ptr, part_xy)
    for k in parted.tolist():
        out[k] = to_lonlat(out[k, 0], out[k, 1])
    if len(line_ptr) == 2:
        return _linestring(out)
    return shapely.MultiLineString(
        [_linestring(out[line_ptr[r]:line_ptr[r + 1]]) for r in range(len(line_ptr) - 1)])


_NO_XY = np.zeros((0, 2))


def _part_xy(ptr: np.ndarray, coords: np.ndarray, piece: Piece) -> np.ndarray:
    """The vertices of :func:`_piece_line` of a piece covering part of its edge."""
    e, t0, t1 = piece
    xy = np.array(_substring_xy(coords[ptr[e]:ptr[e + 1]].tolist(), min(t0, t1), max(t0, t1)),
                  dtype=float)
    return xy[::-1] if t1 < t0 else xy


def _join(lines: list[shapely.LineString]) -> shapely.LineString | shapely.MultiLineString:
    """Concatenate consecutive lines (a MultiLineString where they do not touch)."""
    if not lines:
        return shapely.LineString()
    return _join_xy(*shapely.get_coordinates(np.asarray(lines, dtype=object), return_index=True))


def _join_xy(xy: np.ndarray, which: np.ndarray) -> shapely.LineString | shapely.MultiLineString:
    """:func:`_join` of lines given by their vertices and the line of each."""
    first = np.ones(len(xy), bool)
    first[1:] = which[1:] != which[:-1]
    gap = np.hypot(*(xy[1:] - xy[:-1]).T) >= 1e-6
    joint = first.copy()
    joint[1:] &= ~gap  # the first vertex of a line that continues the previous one
    joint[0] = False
    keep = ~joint
    run = np.cumsum(first & ~joint)[keep] - 1
    xy = xy[keep]
    parts = [_linestring(xy[run == r]) for r in range(int(run.max()) + 1)]
    return parts[0] if len(parts) == 1 else shapely.MultiLineString(parts)


def _linestring(xy: np.ndarray) -> shapely.LineString:
    return shapely.LineString(xy if len(xy) > 1 else np.vstack([xy, xy]))


def warm_up() -> None:
    """Load (or compile) :func:`route_line`'s kernel now, with the types a route request
    calls it with (``Network.prepare``)."""
    ptr, coords = np.array([0, 2], np.int64), np.zeros((2, 2))
    one = np.zeros(1, np.int64)
    _kernels.joined_vertices(ptr, coords, coords, one, np.zeros(1), np.ones(1),
                             np.ones(1, bool), np.zeros(2, np.int64), np.zeros((0, 2)))
