"""The views and ranges of every camera of a run at once, as numpy columns.

:func:`survatlas.optics.camera_geometry` answers for one camera and stays the reference: a
coverage run of 50,000 cameras called it 50,000 times per scenario (≈ 10 µs each, most of a
second per scenario) and then flattened the objects into view arrays. :func:`camera_views`
gives the same numbers column-wise:

- the optics part (kind, optics, ranges and their notes) is computed once per *distinct*
  combination of the optics fields (real stores have a handful) by the reference's own
  cached function, and spread to the cameras by a group code;
- the views (listed directions and fields of view, domes, cameras with no known direction)
  are parsed column by column, numbers in one numpy pass.

Every value (directions, fields of view, ranges, the assumption flags) equals the reference's
bit for bit — ``tests/test_camera_views.py`` checks it with Hypothesis and on the Helsinki
store. Anything the column path does not read the way the reference does (an unhashable or
malformed field, a value the reference rejects) makes it fall back to the reference for the
whole set, so errors are the reference's errors, raised for the same camera.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from survatlas import optics

#: Levels a camera may have a range for: the DORI levels, then plate reading.
ALL_LEVELS = (*optics.LEVELS, optics.PLATE_LEVEL)
#: Python types whose numbers numpy converts exactly as ``float()`` does.
_PLAIN = frozenset({float, int, bool, type(None)})

#: Cameras as mappings (one per camera), or as columns (``{field: one value per camera}``,
#: as :func:`survatlas.coverage.reading.device_columns` gives them: read fastest).
Devices = Sequence[Mapping] | Mapping[str, Sequence]


@dataclass(frozen=True)
class CameraViews:
    """Views and per-level ranges of a set of cameras (one scenario).

    Attributes
    ----------
    devices
        The cameras as given (mappings or columns, see :data:`Devices`).
    scenario, standard, no_direction
        The settings they were computed with.
    parts
        Per distinct optics combination: ``(kind, optics, optics_assumed, ranges, notes)``.
    group
        Index into ``parts`` of every camera.
    start
        Offsets of every camera's views (``n + 1``; camera ``i`` has views
        ``start[i]:start[i + 1]``).
    camera, direction, fov
        One row per view: camera index, compass direction (NaN for all round) and field of
        view, degrees.
    all_round
        Per view: no direction (the reference's ``View.direction_deg is None``).
    direction_assumed
        Per camera: its direction was assumed (360° or skipped).
    """

    devices: Devices
    scenario: str
    standard: str
    no_direction: str
    parts: tuple[tuple, ...]
    group: np.ndarray
    start: np.ndarray
    camera: np.ndarray
    direction: np.ndarray
    fov: np.ndarray
    all_round: np.ndarray
    direction_assumed: np.ndarray

    def __len__(self) -> int:
        return int(self.group.size)

    @functools.cached_property
    def rows(self) -> Sequence[Mapping]:
        """One mapping per camera (what :func:`survatlas.optics.camera_geometry` reads)."""
        return _rows(self.devices)

    @property
    def optics_assumed(self) -> np.ndarray:
        """Per camera: its optics were (at least partly) assumed."""
        flags = np.array([bool(p[2]) for p in self.parts], bool)
        return flags[self.group] if flags.size else np.zeros(self.group.size, bool)

    def ranges(self, level: str) -> np.ndarray:
        """Reach of ``level`` per camera, metres (NaN where a camera lacks the level)."""
        per_part = np.array([p[3].get(level, math.nan) for p in self.parts], np.float64)
        return per_part[self.group] if per_part.size else np.empty(0)

    def expand(self, level: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(camera_index, direction_deg, fov_deg, radius_m)`` of every view at ``level``,
        as :func:`survatlas.optics.expand_views` gives them (cameras without it left out)."""
        has = np.array([level in p[3] for p in self.parts], bool)
        keep = has[self.group[self.camera]] if has.size else np.zeros(self.camera.size, bool)
        cam = self.camera[keep]
        return cam, self.direction[keep], self.fov[keep], self.ranges(level)[cam]

    def max_range(self, levels: Sequence[str]) -> np.ndarray:
        """Longest range of each camera over ``levels`` (0 for a camera with no view or none
        of the levels), metres."""
        out = np.zeros(len(self))
        for level in levels:
            r = self.ranges(level)
            out = np.where(np.isnan(r), out, np.maximum(out, r))
        return np.where(np.diff(self.start) > 0, out, 0.0)

    def optics_of(self, i: int) -> optics.CameraOptics:
        """The optics (field data, else the scenario's) of camera ``i``."""
        return self.parts[int(self.group[i])][1]

    def height_m(self, i: int) -> float | None:
        """The mounting height of camera ``i`` when known (as the reference reads it)."""
        return optics._opt_float(self.rows[i], "height_m")

    def geometry(self, i: int) -> optics.CameraGeometry:
        """The reference :class:`~survatlas.optics.CameraGeometry` of camera ``i``."""
        return optics.camera_geometry(self.rows[i], self.scenario, standard=self.standard,
                                      no_direction=self.no_direction)

    def geometries(self) -> list[optics.CameraGeometry]:
        """The reference geometry of every camera (one call each: for the few uses that want
        objects, such as 2.5-D eye heights)."""
        return [self.geometry(i) for i in range(len(self))]

    def count_assumptions(self) -> dict[str, int]:
        """What :func:`survatlas.optics.count_assumptions` gives for these cameras."""
        n_views = np.diff(self.start)
        first = self.start[:-1][n_views == 1]
        return {"cameras": len(self),
                "direction_assumed": int(self.direction_assumed.sum()),
                "optics_assumed": int(self.optics_assumed.sum()),
                "skipped": int((n_views == 0).sum()),
                "all_round": int(self.all_round[first].sum())}


def camera_views(devices: Devices, scenario: str = optics.DEFAULT_SCENARIO, *,
                 standard: str = optics.DEFAULT_STANDARD,
                 no_direction: str = "360") -> CameraViews:
    """Views and ranges of every camera of ``devices``:
    :func:`survatlas.optics.camera_geometry` for all of them, column-wise.

    Parameters
    ----------
    devices
        One mapping per camera (see :func:`survatlas.optics.camera_geometry` for the keys), or
        the same fields as columns (see :data:`Devices`).
    scenario, standard, no_direction
        As for :func:`survatlas.optics.camera_geometry`.

    Returns
    -------
    CameraViews

    Raises
    ------
    InputError
        For a bad setting or camera field, with the reference's message.
    """
    if not isinstance(devices, Mapping | list):
        devices = list(devices)
    # the settings' own errors, checked as the reference does (even for no camera)
    optics.camera_geometry({}, scenario, standard=standard, no_direction=no_direction)
    try:
        return _columns(devices, scenario, standard, no_direction)
    except Exception:  # a field the columns do not read as the reference does: it decides
        rows = _rows(devices)
        return from_geometries(rows, [optics.camera_geometry(
            r, scenario, standard=standard, no_direction=no_direction) for r in rows],
            scenario, standard, no_direction)


def from_geometries(rows: Sequence[Mapping], geoms: Sequence[optics.CameraGeometry],
                    scenario: str, standard: str, no_direction: str) -> CameraViews:
    """A :class:`CameraViews` of reference geometries (one part per camera)."""
    n = len(geoms)
    counts = np.array([len(g.views) for g in geoms], np.int64)
    views = [v for g in geoms for v in g.views]
    parts = tuple((None, g.optics, g.optics_assumed, g.ranges_m, ()) for g in geoms)
    return CameraViews(
        rows, scenario, standard, no_direction, parts, np.arange(n, dtype=np.int64),
        _offsets(counts), np.repeat(np.arange(n, dtype=np.int64), counts),
        np.array([math.nan if v.direction_deg is None else v.direction_deg for v in views],
                 np.float64),
        np.array([v.fov_deg for v in views], np.float64),
        np.array([v.direction_deg is None for v in views], bool),
        np.array([g.direction_assumed for g in geoms], bool))


def _columns(devices: Devices, scenario: str, standard: str,
             no_direction: str) -> CameraViews:
    n, column = _reader(devices)
    group, parts = _optics_groups(column, scenario, standard)
    dome = np.array([p[0] == "dome" for p in parts], bool)[group] if parts else \
        np.zeros(0, bool)
    hfov = np.array([p[1].hfov_deg for p in parts], np.float64)[group] if parts else \
        np.empty(0)
    fov_cam = _field_fov(column("fov_deg"))
    default_fov = np.where(np.isnan(fov_cam), hfov, fov_cam)

    listed = _listed(devices, column)  # (camera, direction, all_round, fov, fov given)
    n_listed = np.bincount(listed[0], minlength=n).astype(np.int64)
    synth = (n_listed == 0) & (dome | (no_direction == "360"))
    counts = np.where(n_listed > 0, n_listed, synth.astype(np.int64))
    start = _offsets(counts)
    total = int(start[-1])
    direction, fov = np.full(total, math.nan), np.full(total, 360.0)
    all_round = np.ones(total, bool)
    cam, d, none, f, given = listed
    pos = start[cam] + _rank(cam)
    direction[pos], all_round[pos] = d, none
    fov[pos] = np.where(given, f, default_fov[cam])
    return CameraViews(devices, scenario, standard, no_direction, parts, group, start,
                       np.repeat(np.arange(n, dtype=np.int64), counts), direction, fov,
                       all_round, (n_listed == 0) & ~dome)


def _reader(devices: Devices) -> tuple[int, Callable[[str], Sequence]]:
    """Number of cameras and a function giving one field of every camera (None: missing)."""
    if isinstance(devices, Mapping):
        n = len(next(iter(devices.values()), ()))
        return n, lambda k: devices[k] if k in devices else [None] * n
    return len(devices), lambda k: [r.get(k) for r in devices]


def _rows(devices: Devices) -> Sequence[Mapping]:
    if not isinstance(devices, Mapping):
        return devices
    return [dict(zip(devices, row, strict=True)) for row in zip(*devices.values(), strict=True)]


def _optics_groups(column: Callable[[str], Sequence], scenario: str,
                   standard: str) -> tuple[np.ndarray, tuple[tuple, ...]]:
    """Group code of every camera and the reference optics part of every group."""
    keys = list(zip(*(column(k) for k in optics._OPTICS_FIELDS), strict=True))
    distinct = dict.fromkeys(keys)  # first-seen order
    code = {k: i for i, k in enumerate(distinct)}
    group = np.fromiter(map(code.__getitem__, keys), np.int64, count=len(keys))
    parts = tuple(optics._optics_part(k, scenario, standard) for k in distinct)
    return group, parts


def _field_fov(raw: Sequence) -> np.ndarray:
    """The ``fov_deg`` field of every camera (NaN when missing), checked as the reference."""
    checked = {v: optics._opt_float({"fov_deg": v}, "fov_deg") for v in set(raw)}
    return np.array([math.nan if (c := checked[v]) is None else c for v in raw], np.float64)


def _listed(devices: Devices, column: Callable[[str], Sequence]) -> tuple[np.ndarray, ...]:
    """Listed views of every camera, one row each, in camera order: ``(camera, direction,
    all_round, fov, fov_given)`` — from ``views``, else from ``direction``."""
    views = column("views")
    n = len(views)
    has = [bool(v) for v in views]
    per_cam = np.array([len(v) if h else 0 for v, h in zip(views, has, strict=True)], np.int64)
    pairs = [p for v, h in zip(views, has, strict=True) if h for p in v]
    dirs = [d for d, _ in pairs]
    fovs = [f for _, f in pairs]
    d, none = _directions(dirs)
    f_given = np.array([f is not None for f in fovs], bool)
    f = _floats([f for f in fovs if f is not None])
    f_all = np.full(len(fovs), math.nan)
    f_all[f_given] = f
    cam = np.repeat(np.arange(n, dtype=np.int64), per_cam)
    # cameras with no views but a direction field (not what the store gives: one call each)
    raw = column("direction")
    extra = [(i, optics._listed_views({"direction": d})) for i, (d, h)
             in enumerate(zip(raw, has, strict=True)) if not h and d is not None]
    extra = [(i, lv) for i, lv in extra if lv]
    if not extra:
        return cam, d, none, f_all, f_given
    e_cam = np.array([i for i, lv in extra for _ in lv], np.int64)
    e_dir = np.array([dd for _, lv in extra for dd, _ in lv], np.float64)
    cam_all = np.concatenate([cam, e_cam])
    order = np.argsort(cam_all, kind="stable")
    return (cam_all[order], np.concatenate([d, e_dir])[order],
            np.concatenate([none, np.zeros(e_cam.size, bool)])[order],
            np.concatenate([f_all, np.full(e_cam.size, math.nan)])[order],
            np.concatenate([f_given, np.zeros(e_cam.size, bool)])[order])


def _directions(values: list) -> tuple[np.ndarray, np.ndarray]:
    """``parse_direction`` of every value: degrees (NaN when None) and the None mask."""
    if {type(v) for v in values} <= _PLAIN:
        raw = np.array([math.nan if v is None else v for v in values], np.float64)
        none = np.isnan(raw)  # None or NaN: the reference's None
        with np.errstate(invalid="ignore"):
            return np.mod(raw, 360.0), none
    parsed = [optics.parse_direction(v) for v in values]
    return (np.array([math.nan if p is None else p for p in parsed], np.float64),
            np.array([p is None for p in parsed], bool))


def _floats(values: list) -> np.ndarray:
    """``float(v)`` of every value (numpy's conversion of plain numbers is the same)."""
    if {type(v) for v in values} <= _PLAIN:
        return np.array(values, np.float64)
    return np.array([float(v) for v in values], np.float64)


def _rank(sorted_ids: np.ndarray) -> np.ndarray:
    """Position of every row within its run of equal ids (ids sorted)."""
    if not sorted_ids.size:
        return np.empty(0, np.int64)
    first = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    runs = np.diff(np.r_[first, sorted_ids.size])
    return np.arange(sorted_ids.size) - np.repeat(first, runs)


def _offsets(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
