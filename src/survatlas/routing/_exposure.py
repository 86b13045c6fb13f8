"""Seen intervals along streets: the exposure input of routing (plumbing for :mod:`routing`).

The public names (:data:`SeenIntervals`, :class:`Exposure`, :func:`load_exposure`) are documented
and re-exported by :mod:`survatlas.routing`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from survatlas.coverage.runs import ANY_AREA, CoverageRun, current_run, require_run
from survatlas.errors import CoverageMissingError, InputError, RoutingError, StoreError
from survatlas.optics import LEVELS as DORI_LEVELS
from survatlas.routing import _kernels
from survatlas.store import Store
from survatlas.store.gate import audience_clause, numbering

#: DORI levels from the finest detail (shortest range) to the coarsest (longest range).
#: DORI levels, strictest first (a stretch seen at one level is seen at every level after it).
LEVELS = tuple(reversed(DORI_LEVELS))

#: One seen stretch of a street: start and end in metres from the street's first vertex (metric
#: CRS), and the ids of the cameras (``devices.id``) that see it.
Interval = tuple[float, float, tuple[int, ...]]
#: street id -> sorted, non-overlapping intervals.
SeenIntervals = dict[int, list[Interval]]

_NO_COVERAGE = (
    "this store has no coverage results (table street_seen is missing): "
    "run `survatlas coverage` first, then route again"
)


def normalise_intervals(intervals: Iterable[Sequence]) -> list[Interval]:
    """Sorted, non-overlapping intervals, each with every camera that sees it.

    Overlapping input intervals (one per camera, say) are cut at every boundary; neighbouring
    pieces seen by the same cameras are merged; empty or reversed intervals are dropped.
    """
    return union_seen([{0: list(intervals)}]).get(0, [])


def union_seen(parts: Iterable[SeenIntervals]) -> SeenIntervals:
    """The union of several :data:`SeenIntervals` (cameras of overlapping stretches combined)."""
    street: list[int] = []
    start: list[float] = []
    end: list[float] = []
    cam: list[int] = []
    for part in parts:
        for sid, intervals in part.items():
            for a, b, cams in intervals:
                for c in _as_ids(cams):
                    street.append(int(sid))
                    start.append(a)
                    end.append(b)
                    cam.append(c)
    return seen_from_arrays(street, start, end, cam)


def _as_ids(cams: object) -> tuple[int, ...]:
    if isinstance(cams, int | np.integer):
        return (int(cams),)
    return tuple(int(c) for c in cams)  # type: ignore[union-attr]


def seen_from_arrays(
    street: Sequence[int] | np.ndarray,
    start: Sequence[float] | np.ndarray,
    end: Sequence[float] | np.ndarray,
    camera: Sequence[int] | np.ndarray,
) -> SeenIntervals:
    """:data:`SeenIntervals` from one row per (street, start, end, camera), e.g. ``street_seen``.

    Vectorised: every street is cut at every interval boundary, each piece gets the cameras of
    the intervals covering it, and neighbouring pieces with the same cameras are merged.
    """
    street = np.asarray(street, dtype=np.int64)
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    camera = np.asarray(camera, dtype=np.int64)
    ok = end > start
    street, start, end, camera = street[ok], start[ok], end[ok], camera[ok]
    if not len(street):
        return {}
    ids, rank = np.unique(street, return_inverse=True)
    low = min(float(start.min()), 0.0)
    width = float(end.max()) - low + 1.0
    pos = np.concatenate([start, end])
    keys = np.concatenate([rank, rank]) * width + (pos - low)
    bp, first = np.unique(keys, return_index=True)
    bp_pos = pos[first]
    i0, i1 = np.searchsorted(bp, keys[: len(start)]), np.searchsorted(bp, keys[len(start) :])
    n = i1 - i0
    piece = np.repeat(i0, n) + np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    cams, ranks = np.repeat(camera, n), np.repeat(rank, n)
    order = np.lexsort((cams, piece))
    piece, cams, ranks = piece[order], cams[order], ranks[order]
    keep = np.ones(len(piece), bool)
    keep[1:] = (piece[1:] != piece[:-1]) | (cams[1:] != cams[:-1])
    piece, cams, ranks = piece[keep], cams[keep], ranks[keep]
    out: SeenIntervals = {}
    group: list[int] = []
    current, current_rank = -1, -1
    for p, c, r in zip(piece.tolist(), cams.tolist(), ranks.tolist(), strict=True):
        if p != current:
            if group:
                _flush(out, ids, current_rank, bp_pos, current, group)
            current, current_rank, group = p, r, []
        group.append(c)
    _flush(out, ids, current_rank, bp_pos, current, group)
    return out


def _flush(
    out: SeenIntervals, ids: np.ndarray, rank: int, bp_pos: np.ndarray, p: int, cams: list[int]
) -> None:
    intervals = out.setdefault(int(ids[rank]), [])
    _append_piece(intervals, float(bp_pos[p]), float(bp_pos[p + 1]), tuple(cams))


def _append_piece(out: list[Interval], start: float, end: float, cams: tuple[int, ...]) -> None:
    if out and out[-1][1] == start and out[-1][2] == cams:
        out[-1] = (out[-1][0], end, cams)
    else:
        out.append((start, end, cams))


@dataclass
class Exposure:
    """Seen intervals for every (scenario, DORI level), ready for routing.

    Parameters
    ----------
    seen
        ``(scenario, level) -> SeenIntervals``. Levels must be names from :data:`LEVELS`.
        Intervals are normalised, and levels are made cumulative: a stretch seen at
        identification detail is also seen at recognition, observation and detection detail.
    scenarios
        The optics scenarios covered, in display order (defaults to those in ``seen``). A
        scenario with no seen stretch at all (no cameras) may be listed here.
    method
        Where the intervals come from (reported with every figure).
    cumulative
        True when ``seen`` is already normalised and cumulative for every (scenario, level)
        (as built by :meth:`from_rows`); it is then used as given.
    levels
        The DORI levels the coverage run computed (default: all four). Asking for another
        level raises :class:`~survatlas.errors.CoverageMissingError`: a level that was not
        computed is never filled in from another.
    """

    seen: Mapping[tuple[str, str], SeenIntervals]
    scenarios: tuple[str, ...] = ()
    method: str = "given seen intervals"
    cumulative: bool = False
    levels: tuple[str, ...] = LEVELS
    _index: dict[tuple[str, str], SeenIndex] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        unknown = {lvl for _, lvl in self.seen if lvl not in LEVELS}
        if unknown:
            raise InputError(f"unknown DORI level(s) {sorted(unknown)}; use {', '.join(LEVELS)}")
        found = tuple(dict.fromkeys(s for s, _ in self.seen))
        self.scenarios = tuple(dict.fromkeys((*self.scenarios, *found)))
        self.levels = tuple(lvl for lvl in LEVELS if lvl in set(self.levels))
        if self.cumulative:
            return
        self.seen = {
            (sc, lvl): union_seen(
                self.seen.get((sc, finer), {}) for finer in _finer(self.levels, lvl)
            )
            for sc in self.scenarios
            for lvl in self.levels
        }

    @classmethod
    def from_rows(
        cls,
        rows: Sequence[Sequence],
        scenarios: Sequence[str] = (),
        method: str = "seen intervals",
        levels: Sequence[str] = LEVELS,
    ) -> Exposure:
        """An :class:`Exposure` from ``(street_id, scenario, level, start_m, end_m, camera_id)``
        rows (the ``street_seen`` schema), made cumulative across the computed ``levels``
        (vectorised)."""
        levels = tuple(lvl for lvl in LEVELS if lvl in set(levels))
        seen: dict[tuple[str, str], SeenIntervals] = {}
        if rows:
            street, scenario, level, start, end, cam = (
                np.asarray(c) for c in zip(*rows, strict=True)
            )
            for sc in dict.fromkeys(scenario.tolist()):
                for lvl in levels:
                    m = (scenario == sc) & np.isin(level, _finer(levels, lvl))
                    seen[sc, lvl] = seen_from_arrays(street[m], start[m], end[m], cam[m])
        found = tuple(dict.fromkeys(sc for sc, _ in seen))
        return cls(seen, tuple(dict.fromkeys((*scenarios, *found))), method, cumulative=True,
                   levels=levels)

    def intervals(self, scenario: str, level: str) -> SeenIntervals:
        """The seen intervals of ``scenario`` at ``level`` (empty when nothing is seen)."""
        check_level(level)
        if scenario not in self.scenarios and self.scenarios:
            raise InputError(
                f"no coverage for scenario {scenario!r}; the store has "
                f"{', '.join(self.scenarios)}: run `survatlas coverage --scenario all`"
            )
        if level not in self.levels:
            raise CoverageMissingError(
                f"the coverage run did not compute level {level!r} (it has "
                f"{', '.join(self.levels) or 'none'}): run `survatlas coverage` "
                "(all levels) or add `--level " + level + "`"
            )
        return self.seen.get((scenario, level), {})

    def index(self, scenario: str, level: str) -> SeenIndex:
        """A vectorised lookup of :meth:`intervals` (built once, then cached)."""
        key = (scenario, level)
        if key not in self._index:
            self._index[key] = SeenIndex(self.intervals(scenario, level))
        return self._index[key]

    def default_scenario(self) -> str:
        """``typical`` when covered, else the first scenario (``typical`` when there is none)."""
        if "typical" in self.scenarios or not self.scenarios:
            return "typical"
        return self.scenarios[0]


def _finer(levels: Sequence[str], level: str) -> tuple[str, ...]:
    """The computed levels at least as strict as ``level`` (seen there means seen at ``level``)."""
    return tuple(lvl for lvl in LEVELS[: LEVELS.index(level) + 1] if lvl in levels)


def check_level(level: str) -> None:
    """Raise :class:`InputError` for an unknown DORI level."""
    if level not in LEVELS:
        raise InputError(f"unknown DORI level {level!r}; use one of {', '.join(LEVELS)}")


class SeenIndex:
    """Vectorised queries over one :data:`SeenIntervals`: metres seen and cameras per stretch."""

    def __init__(self, seen: SeenIntervals) -> None:
        self.seen = seen
        streets = sorted(seen)
        self.streets = np.asarray(streets, dtype=np.int64)
        counts = np.array([len(seen[s]) for s in streets], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        flat = [iv for s in streets for iv in seen[s]]
        self.starts = np.array([iv[0] for iv in flat], dtype=float)
        self.ends = np.array([iv[1] for iv in flat], dtype=float)
        lengths = self.ends - self.starts
        rank = np.repeat(np.arange(len(streets)), counts)
        self._width = float(self.ends.max(initial=0.0)) + 1.0
        self._keys = rank * self._width + self.starts
        cum = np.concatenate([[0.0], np.cumsum(lengths)])
        self._before = cum[:-1] - cum[self.offsets[rank]] if len(flat) else cum[:0]
        n_cams = np.array([len(iv[2]) for iv in flat], dtype=np.int64)
        #: cameras of interval ``j``: ``cams[cam_offsets[j]:cam_offsets[j + 1]]``
        self.cam_offsets = np.concatenate([[0], np.cumsum(n_cams)]).astype(np.int64)
        self.cams = np.fromiter((c for iv in flat for c in iv[2]), np.int64, int(n_cams.sum()))
        self._cam_tuples = [iv[2] for iv in flat]

    def seen_to(self, streets: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Metres seen on each street between its first vertex and ``pos`` (compiled:
        :func:`survatlas.routing._kernels.seen_to`)."""
        streets, pos = _same_shape(np.asarray(streets, dtype=np.int64), np.asarray(pos, dtype=float))
        out = _kernels.seen_to(
            self.streets, self.offsets, self._keys, self.starts, self.ends, self._before,
            self._width, np.ascontiguousarray(streets.ravel()), np.ascontiguousarray(pos.ravel()),
        )
        return out.reshape(pos.shape)

    def seen_between(self, streets: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Metres seen on each street between positions ``a`` and ``b`` (either order)."""
        streets, a, b = _same_shape(
            np.asarray(streets, dtype=np.int64), np.asarray(a, dtype=float),
            np.asarray(b, dtype=float),
        )
        out = _kernels.seen_between(
            self.streets, self.offsets, self._keys, self.starts, self.ends, self._before,
            self._width, np.ascontiguousarray(streets.ravel()), np.ascontiguousarray(a.ravel()),
            np.ascontiguousarray(b.ravel()),
        )
        return out.reshape(a.shape)

    def clipped(
        self, streets: np.ndarray, a: np.ndarray, b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every seen interval met by each stretch ``[min(a, b), max(a, b)]`` of ``streets``.

        :meth:`stretches` over many stretches at once (compiled:
        :func:`survatlas.routing._kernels.clip_intervals`). Returns ``(which, interval, lo,
        hi)``: the stretch index, the interval index (for :meth:`camera_tuple`), and the
        interval clipped to the stretch; ordered by stretch, then along the street; only
        intervals met over a positive length.
        """
        return _kernels.clip_intervals(
            self.streets, self.offsets, self.starts, self.ends,
            np.ascontiguousarray(streets, dtype=np.int64),
            np.ascontiguousarray(a, dtype=float), np.ascontiguousarray(b, dtype=float),
        )

    def seen_and_cameras(
        self, streets: np.ndarray, a: np.ndarray, b: np.ndarray
    ) -> tuple[float, tuple[int, ...]]:
        """Metres in view and the distinct cameras (sorted) along the stretches
        ``[a[i], b[i]]`` of ``streets[i]`` taken together: the intervals of :meth:`clipped` of
        the stretches with any metre in view (:meth:`seen_between`), summed in stretch order
        (compiled: :func:`survatlas.routing._kernels.seen_and_cameras`)."""
        metres, cameras = _kernels.seen_and_cameras(
            self.streets, self.offsets, self._keys, self.starts, self.ends, self._before,
            self._width, self.cam_offsets, self.cams,
            np.ascontiguousarray(streets, dtype=np.int64),
            np.ascontiguousarray(a, dtype=float), np.ascontiguousarray(b, dtype=float),
        )
        return float(metres), tuple(cameras.tolist())

    def camera_tuple(self, interval: int) -> tuple[int, ...]:
        """The cameras of one interval, as stored."""
        return self._cam_tuples[interval]

    def stretches(self, street: int, a: float, b: float) -> list[Interval]:
        """The seen intervals of ``street`` clipped to ``[min(a, b), max(a, b)]``."""
        lo, hi = min(a, b), max(a, b)
        return [
            (max(s, lo), min(e, hi), cams)
            for s, e, cams in self.seen.get(street, ())
            if min(e, hi) > max(s, lo)
        ]


def _same_shape(*arrays: np.ndarray) -> list[np.ndarray]:
    """The arrays broadcast to one shape (as given when they have it: the common case)."""
    if all(arr.shape == arrays[0].shape for arr in arrays):
        return list(arrays)
    return list(np.broadcast_arrays(*arrays))


def load_exposure(
    store: Store,
    *,
    audience: str = "public",
    bbox: tuple[float, float, float, float] | None = None,
    run: CoverageRun | None = None,
) -> Exposure:
    """Read the coverage results (table ``street_seen``) of a store as an :class:`Exposure`.

    Only cameras that ``audience`` may see count (``street_seen.camera_id`` references
    ``devices.id``), so restricted cameras never show in a public route; street and camera ids
    are the audience's public numbers (those of the street layer read through the gate). Only the DORI levels
    and scenarios the run computed are present (``plate`` is left out). With ``bbox`` (W, S, E,
    N) only streets meeting it are read. ``run`` is the checked coverage run
    (:func:`survatlas.coverage.runs.require_run`; read when not given).

    Raises
    ------
    RoutingError
        When the store has no coverage results yet (run ``survatlas coverage`` first).
    """
    run = run or coverage_run(store, audience)
    where, params = "", ()
    if bbox is not None:
        where = (
            " AND s.street_id IN (SELECT id FROM streets_rtree WHERE max_x >= ? AND min_x <= ? "
            "AND max_y >= ? AND min_y <= ?)"
        )
        params = (bbox[0], bbox[2], bbox[1], bbox[3])
    try:
        rows = store.query(
            "SELECT s.street_id, s.scenario, s.level, s.start_m, s.end_m, s.camera_id "
            "FROM street_seen s JOIN devices d ON d.id = s.camera_id "
            f"WHERE {audience_clause(audience, 'd')} AND s.level IN ({_LEVELS_SQL}){where}",
            params,
        )
    except sqlite3.OperationalError as exc:
        if "street_seen" in str(exc):
            raise RoutingError(_NO_COVERAGE) from exc
        raise StoreError(f"cannot read coverage results: {exc}") from exc
    if run.scenarios and not rows and store.scalar("SELECT count(*) FROM street_seen"):
        _check_camera_ids(store)
    rows = _public_rows(store, rows, audience)
    levels = [lvl for lvl in run.levels if lvl in LEVELS]
    return Exposure.from_rows(rows, run.scenarios, _method(store, audience, run), levels)


def _public_rows(store: Store, rows: Sequence[Sequence], audience: str) -> list[tuple]:
    """``street_seen`` rows with street and camera ids as ``audience``'s public numbers
    (:func:`survatlas.store.gate.numbering`, as in the street layer the graph is built from);
    rows of a street or camera the audience may not see are left out."""
    streets = numbering(store, "streets", audience).public_many([r[0] for r in rows])
    cameras = numbering(store, "devices", audience).public_many([r[5] for r in rows])
    return [
        (s, *tuple(r)[1:5], c)
        for r, s, c in zip(rows, streets, cameras, strict=True)
        if s is not None and c is not None
    ]


_LEVELS_SQL = ", ".join(f"'{lvl}'" for lvl in LEVELS)


def coverage_run(store: Store, audience: str = "public") -> CoverageRun:
    """The store's coverage run for routing (:func:`survatlas.coverage.runs.require_run`).

    Raises :class:`RoutingError` (saying which ``survatlas coverage`` to run) when there is none.
    """
    try:
        return require_run(store, bbox=ANY_AREA, audience=audience, per_camera=True)
    except CoverageMissingError as exc:
        raise RoutingError(str(exc)) from exc


def coverage_crs_wkt(store: Store) -> str | None:
    """The metric CRS (WKT) of the store's coverage run, if there is one."""
    run = current_run(store)
    return run.crs_wkt if run else None


def _check_camera_ids(store: Store) -> None:
    linked = store.scalar(
        "SELECT count(*) FROM street_seen WHERE camera_id IN (SELECT id FROM devices)"
    )
    if not linked:
        raise StoreError(
            "street_seen.camera_id does not reference devices.id; re-run `survatlas coverage`"
        )


def _method(store: Store, audience: str, run: CoverageRun) -> str:
    return (
        "street_seen coverage results of the store "
        f"(cameras visible to the {audience} audience; {run.describe()})"
    )


def seen_from_discs(
    street_ids: Sequence[int],
    lines: Sequence,
    cameras: Sequence[tuple[int, float, float, float]],
) -> SeenIntervals:
    """Seen intervals from circular camera discs (pure geometry: no occlusion, no optics).

    A stand-in for the coverage engine in tests and benchmarks: every point of a street within
    ``radius`` of a camera is seen by it.

    Parameters
    ----------
    street_ids, lines
        Street ids and their shapely LineStrings in a metric CRS (positions are measured from
        each line's first vertex).
    cameras
        ``(camera_id, x, y, radius_m)`` in the same metric CRS.
    """
    import shapely

    if not len(cameras) or not len(lines):
        return {}
    parts, owner = shapely.get_parts(np.asarray(lines, dtype=object), return_index=True)
    part_len = shapely.length(parts)
    cum_part = np.cumsum(part_len) - part_len
    part_off = cum_part - cum_part[np.searchsorted(owner, owner)]  # parts follow one another
    coords, which = shapely.get_coordinates(parts, return_index=True)
    same = which[1:] == which[:-1]
    p0, p1, seg_part = coords[:-1][same], coords[1:][same], which[:-1][same]
    seg_len = np.hypot(*(p1 - p0).T)
    step = np.concatenate([[0.0], np.cumsum(np.hypot(*(coords[1:] - coords[:-1]).T))])
    first = np.searchsorted(which, which)  # index of each part's first vertex
    seg_off = (step[:-1] - step[first[:-1]])[same] + part_off[seg_part]
    cam = np.asarray([c[1:] for c in cameras], dtype=float)
    tree = shapely.STRtree(shapely.linestrings(np.stack([p0, p1], axis=1)))
    ci, si = tree.query(shapely.points(cam[:, :2]), predicate="dwithin", distance=cam[:, 2])
    t0, t1 = _disc_hits(p0[si], p1[si] - p0[si], cam[ci])
    keep = t1 > t0
    si, ci, t0, t1 = si[keep], ci[keep], t0[keep], t1[keep]
    return seen_from_arrays(
        np.asarray(street_ids)[owner[seg_part[si]]],
        seg_off[si] + t0 * seg_len[si],
        seg_off[si] + t1 * seg_len[si],
        np.asarray([c[0] for c in cameras])[ci],
    )


def _disc_hits(p: np.ndarray, d: np.ndarray, cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parameters ``t`` in [0, 1] where ``p + t·d`` lies inside each disc (x, y, r)."""
    f = p - cam[:, :2]
    a = np.einsum("ij,ij->i", d, d)
    b = 2 * np.einsum("ij,ij->i", f, d)
    c = np.einsum("ij,ij->i", f, f) - cam[:, 2] ** 2
    disc = np.sqrt(np.maximum(b * b - 4 * a * c, 0.0))
    a = np.where(a > 0, a, 1.0)
    return np.clip((-b - disc) / (2 * a), 0, 1), np.clip((-b + disc) / (2 * a), 0, 1)
