"""Coverage runs as records: the one reader of "which run answers this question, and is it current".

``survatlas coverage`` saves one run (it replaces the previous one). The run records what it
covers — the area asked for (``bbox``; none: the whole store), the DORI levels and optics
scenarios computed, the cell size, the occlusion model, the sensitivity filter of the inputs it
read (``audience``) — and a fingerprint of every input row it read (devices with their
sensitivity, position and optics; obstacle buildings; streets; sites).

Every consumer (routes, exposure, web layers and summaries, site rankings, profiles, coverage
exports) calls :func:`require_run` with what it needs. When the run does not cover it, a
:class:`~survatlas.errors.CoverageMissingError` says in one line which ``survatlas coverage …``
to run. When the inputs changed since the run, the run is returned marked ``stale`` (the CLI
warns, the web API sets ``stale``). When a camera the run used is no longer public, public
outputs refuse the run (:class:`~survatlas.errors.StaleCoverageError`): figures computed with it
must not be published.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from survatlas import optics
from survatlas.errors import CoverageMissingError, StaleCoverageError
from survatlas.store import Store
from survatlas.store.gate import audience_clause, bbox_clause

BBox = tuple[float, float, float, float]
SCENARIOS = ("best", "typical", "worst")
ALL_LEVELS = (*optics.LEVELS, optics.PLATE_LEVEL)
#: the occlusion model ``survatlas coverage`` uses when not told (buildings hide by their height)
DEFAULT_OCCLUSION = "2.5d"
#: the occlusion model of runs recorded before runs said which (footprints as 2-D walls)
LEGACY_OCCLUSION = "2d"
#: input rows hashed into a run's fingerprint: table -> columns (besides id and sensitivity)
FINGERPRINT_COLUMNS: dict[str, tuple[str, ...]] = {
    "devices": ("device_type", "lon", "lat", "views", "mount", "camera_type", "tilt_down_deg",
                "height_m", "fov_deg", "range_m", "focal_mm", "sensor_width_mm", "width_px",
                "content_sha"),
    "buildings": ("obstacle", "height_m", "levels", "min_height_m", "min_x", "min_y", "max_x",
                  "max_y", "content_sha"),
    "streets": ("highway", "walkable", "min_x", "min_y", "max_x", "max_y", "content_sha"),
    "sites": ("category", "min_x", "min_y", "max_x", "max_y", "content_sha"),
}
_SLACK = 1e-9
#: ``require_run(bbox=ANY_AREA)``: the caller keeps to the run's area itself (routing)
ANY_AREA = "any"


@dataclass(frozen=True)
class CoverageRun:
    """The stored coverage run and what it covers.

    ``bbox`` is the lon/lat area asked for (None: the whole store); ``stale`` is set by
    :func:`require_run` when the inputs changed since the run, with the reasons.
    """

    id: int
    created_at: str
    crs_wkt: str
    settings: dict[str, Any]
    summary: dict[str, Any]
    bbox: BBox | None
    building_bbox: BBox | None
    levels: tuple[str, ...]
    scenarios: tuple[str, ...]
    cell_m: float | None
    occlusion: str
    audience: str
    fingerprint: str | None
    stale: bool = False
    stale_reasons: tuple[str, ...] = field(default=())

    def covers(self, bbox: BBox | None) -> bool:
        """Whether the run's area contains ``bbox`` (None: the whole store)."""
        if self.bbox is None:
            return True
        if bbox is None:
            return False
        w, s, e, n = self.bbox
        return (bbox[0] >= w - _SLACK and bbox[1] >= s - _SLACK and bbox[2] <= e + _SLACK
                and bbox[3] <= n + _SLACK)

    def main_scenario(self) -> str:
        """``typical`` when computed, else the first scenario computed."""
        return "typical" if "typical" in self.scenarios or not self.scenarios else self.scenarios[0]

    def describe(self) -> str:
        """One line: area, levels, scenarios, cell, occlusion (for methods and warnings)."""
        area = "the whole store" if self.bbox is None else "bbox " + _bbox_text(self.bbox)
        return (f"coverage run {self.id}: {area}; levels "
                f"{', '.join(self.levels)}; scenarios {', '.join(self.scenarios)}; cell "
                f"{self.cell_m if self.cell_m is not None else '?'} m; occlusion {self.occlusion}; "
                f"inputs: {self.audience} records")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json`` and the web API (``stale`` and its reasons included)."""
        return {
            "id": self.id, "created_at": self.created_at,
            "bbox": list(self.bbox) if self.bbox else None,
            "levels": list(self.levels), "scenarios": list(self.scenarios),
            "cell_m": self.cell_m, "occlusion": self.occlusion, "audience": self.audience,
            "stale": self.stale, "stale_reasons": list(self.stale_reasons),
        }


def _bbox_text(bbox: Sequence[float]) -> str:
    return ",".join(f"{v:g}" for v in bbox)


def coverage_command(bbox: BBox | None = None, levels: Iterable[str] = (),
                     scenarios: Iterable[str] = (), occlusion: str | None = None) -> str:
    """The ``survatlas coverage …`` command computing ``levels`` and ``scenarios`` over ``bbox``
    with the ``occlusion`` model (None or :data:`DEFAULT_OCCLUSION`: no ``--occlusion``)."""
    parts = ["survatlas coverage"]
    if bbox is not None:
        parts.append(f"--bbox {_bbox_text(bbox)}")
    levels = [lv for lv in ALL_LEVELS if lv in set(levels)]
    if levels and set(levels) != set(optics.LEVELS):
        parts += [f"--level {lv}" for lv in levels]
    scenarios = set(scenarios)
    if len(scenarios) == 1:
        parts.append(f"--scenario {next(iter(scenarios))}")
    if occlusion is not None and occlusion != DEFAULT_OCCLUSION:
        parts.append(f"--occlusion {occlusion}")
    return " ".join(parts)


# --- writing ---------------------------------------------------------------------------------

def record_values(store: Store, settings: Any, bbox: BBox | None,
                  building_bbox: BBox | None, inputs: dict[str, int]) -> dict[str, Any]:
    """The record columns of a run about to be saved (``coverage_runs``, migration m0110)."""
    return {
        "bbox": json.dumps(list(bbox)) if bbox is not None else None,
        "building_bbox": json.dumps(list(building_bbox)) if building_bbox is not None else None,
        "levels": json.dumps(list(settings.levels)),
        "scenarios": json.dumps(list(settings.scenarios)),
        "cell_m": float(settings.cell_m),
        "occlusion": getattr(settings, "occlusion", DEFAULT_OCCLUSION),
        "audience": "public",
        "fingerprint": input_fingerprint(store, bbox, building_bbox, remember=True),
        "inputs": json.dumps(inputs),
    }


def input_fingerprint(store: Store, bbox: BBox | None, building_bbox: BBox | None, *,
                      remember: bool = False) -> str:
    """sha256 of every row a run over ``bbox`` reads: the public records.

    Devices, streets and sites meeting ``bbox`` and buildings meeting ``building_bbox`` (the area
    plus the cameras' reach), each with id, sensitivity and the fields a run uses. Making a camera
    restricted (it leaves the public set), moving it, changing its optics or adding a building
    changes the fingerprint; adding or editing a restricted record does not, so the ``stale``
    flag of a public output says nothing about restricted material.

    A fingerprint remembered at the store's input state (migration m0130: a counter every
    update and delete of those tables moves, and their row counts) is read back instead of
    hashed again; ``remember`` (a run being saved) stores the one computed.
    """
    key = _stamp(store, bbox, building_bbox)
    if key is not None and key in _FINGERPRINTS:
        return _FINGERPRINTS[key]
    scope = json.dumps([list(bbox) if bbox is not None else None,
                        list(building_bbox) if building_bbox is not None else None])
    fingerprint = remembered_digest(store, scope,
                                    lambda: _hash_inputs(store, bbox, building_bbox),
                                    remember=remember)
    if key is not None:
        _FINGERPRINTS.clear()  # one store state at a time
        _FINGERPRINTS[key] = fingerprint
    return fingerprint


def input_state(store: Store) -> str | None:
    """The state of the coverage inputs: the update/delete counter of migration m0130 and the
    row count of each input table (an insert raises a count; None in a store without the
    counter). Read before the rows are hashed."""
    try:
        row = store.conn.execute("SELECT n FROM input_version WHERE id = 1").fetchone()
    except sqlite3.OperationalError:
        return None
    if row is None:
        return None
    counts = [store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
              for table in FINGERPRINT_COLUMNS]
    return "/".join(str(int(v)) for v in (row[0], *counts))


def remembered_digest(store: Store, scope: str, compute: Callable[[], str], *,
                      remember: bool = True) -> str:
    """A digest of input rows, read back from ``fingerprint_memo`` when one was remembered for
    ``scope`` at the store's current input state (migration m0130), else made by ``compute`` —
    and, when ``remember``, remembered at the state read *before* it was made (a write in
    between leaves it under a state the store has left: never read back).

    ``scope`` names what ``compute`` digests (the rows it reads and how); two digests of
    different rows must not share a scope.
    """
    state = input_state(store)
    digest = _remembered(store, scope, state)
    if digest is None:
        digest = compute()
        if remember and state is not None:
            _remember(store, scope, state, digest)
    return digest


def _remember(store: Store, scope: str, state: str, fingerprint: str) -> None:
    """Keep ``fingerprint`` for ``scope`` at ``state`` (a cache: a store locked or read-only
    just keeps none). The state was read before the rows were hashed, so a write in between
    tags the fingerprint with a state the store has already left: it is never read back (the
    counter only grows; counts that come back are paired with a counter that moved)."""
    with contextlib.suppress(sqlite3.OperationalError):
        store.conn.execute("INSERT OR REPLACE INTO fingerprint_memo (scope, state, fingerprint) "
                           "VALUES (?, ?, ?)", (scope, state, fingerprint))


def _remembered(store: Store, scope: str, state: str | None) -> str | None:
    """The fingerprint remembered for ``scope`` at ``state``, if any."""
    if state is None:
        return None
    row = store.conn.execute("SELECT fingerprint FROM fingerprint_memo WHERE scope = ? AND "
                             "state = ?", (scope, state)).fetchone()
    return None if row is None else str(row[0])


def _hash_inputs(store: Store, bbox: BBox | None, building_bbox: BBox | None) -> str:
    """sha256 of the public input rows (see :func:`input_fingerprint`), read and hashed."""
    digest = hashlib.sha256()
    cur = store.conn.cursor()
    cur.row_factory = None  # plain tuples: what the digest reads, without sqlite3.Row objects
    for table, columns in FINGERPRINT_COLUMNS.items():
        area = building_bbox if table == "buildings" else bbox
        where, params = bbox_clause(store, table, area)
        digest.update(f"|{table}|".encode())
        cur.execute(f"SELECT id, sensitivity, {', '.join(columns)} FROM {table} WHERE {where} "
                    f"AND {audience_clause('public')} ORDER BY id", params)
        while rows := cur.fetchmany(10_000):
            digest.update(repr(rows).encode())
    return digest.hexdigest()


#: fingerprints by (store file, its modification stamps, area): a server asks once per change
_FINGERPRINTS: dict[tuple, str] = {}


def _stamp(store: Store, bbox: BBox | None, building_bbox: BBox | None) -> tuple | None:
    """The store files' modification times and sizes (the database and its WAL), or None."""
    try:
        stats = [p.stat() for p in (store.path, store.path.with_name(store.path.name + "-wal"))
                 if p.exists()]
    except OSError:
        return None
    return (str(store.path.resolve()), *((st.st_mtime_ns, st.st_size) for st in stats),
            bbox, building_bbox)


# --- reading: the one place that asks for "the stored run" -----------------------------------

def current_run(store: Store) -> CoverageRun | None:
    """The stored coverage run as recorded (no checks), or None when there is none."""
    try:
        rows = store.query("SELECT * FROM coverage_runs ORDER BY id DESC LIMIT 1")
    except sqlite3.OperationalError:
        return None
    if not rows:
        return None
    r = dict(rows[0])
    settings = _json(r.get("settings")) or {}
    levels = _json(r.get("levels")) or settings.get("levels") or _stored(store, "level")
    scenarios = _json(r.get("scenarios")) or settings.get("scenarios") or _stored(store, "scenario")
    return CoverageRun(
        id=r["id"], created_at=r["created_at"], crs_wkt=r["crs"], settings=settings,
        summary=_json(r.get("summary")) or {},
        bbox=_box(r.get("bbox")), building_bbox=_box(r.get("building_bbox")),
        levels=tuple(lv for lv in ALL_LEVELS if lv in levels),
        scenarios=tuple(sc for sc in (*SCENARIOS, *sorted(set(scenarios) - set(SCENARIOS)))
                        if sc in scenarios),
        cell_m=r.get("cell_m", settings.get("cell_m")),
        occlusion=r.get("occlusion") or LEGACY_OCCLUSION,
        audience=r.get("audience") or "public", fingerprint=r.get("fingerprint"),
    )


def require_run(store: Store, *, bbox: BBox | str | None = None, levels: Iterable[str] = (),
                scenarios: Iterable[str] = (), audience: str = "public",
                check_inputs: bool = True, per_camera: bool = False,
                outputs: Iterable[str] = (), occlusion: str | None = None) -> CoverageRun:
    """The stored run, after checking it covers ``bbox``, ``levels`` and ``scenarios``.

    Parameters
    ----------
    bbox
        The lon/lat area the caller reads (None: the whole store; :data:`ANY_AREA`: the
        caller keeps to ``run.bbox`` itself).
    levels, scenarios
        The DORI levels and optics scenarios the caller reads.
    audience
        Who the output is for. For ``public``, a run that used a camera since made
        non-public is refused.
    check_inputs
        Compare the run's input fingerprint with the store now (``stale`` flag).
    per_camera
        The caller reads per-camera results filtered by ``audience`` (routing's seen
        intervals, visible regions), so a withdrawn camera is left out rather than refused.
    outputs
        The outputs the caller reads (``sites``, ``areas``, ``h3``): a run made with
        ``coverage --only`` that left one out is refused rather than read as empty.
    occlusion
        The occlusion model the caller needs (``2d`` or ``2.5d``); None (the default): the
        run of either model — routes, maps and reports read whichever run is stored and say
        which in their method (:meth:`CoverageRun.describe`).

    Raises
    ------
    CoverageMissingError
        No run, or the run does not cover what is asked; the message gives the command to run.
    StaleCoverageError
        ``audience`` is public and a camera the run used is no longer public.
    """
    levels, scenarios = tuple(dict.fromkeys(levels)), tuple(dict.fromkeys(scenarios))
    run = current_run(store)
    if run is None:
        area = None if isinstance(bbox, str) else bbox
        raise CoverageMissingError(
            "no coverage results in this store: run "
            f"`{coverage_command(area, levels, scenarios, occlusion)}`"
            " first")
    problems: list[str] = []
    area = run.bbox
    if not isinstance(bbox, str) and not run.covers(bbox):
        area = None if bbox is None or run.bbox is None else _union(run.bbox, bbox)
        problems.append(
            f"covers only bbox {_bbox_text(run.bbox or ())}, not "
            f"{'the whole store' if bbox is None else 'bbox ' + _bbox_text(bbox)}")
    done = run.settings.get("outputs") or outputs
    missing = [*(f"level {lv}" for lv in levels if lv not in run.levels),
               *(f"scenario {sc}" for sc in scenarios if sc not in run.scenarios),
               *(f"the {o} output" for o in outputs if o not in done)]
    if missing:
        problems.append(f"did not compute {', '.join(missing)}")
    if occlusion is not None and occlusion != run.occlusion:
        problems.append(f"used occlusion {run.occlusion}, not {occlusion}")
    if problems:
        cmd = coverage_command(area, (*run.levels, *levels), (*run.scenarios, *scenarios),
                               occlusion or run.occlusion)
        raise CoverageMissingError(f"the coverage run {' and '.join(problems)}: run `{cmd}`")
    withdrawn = 0 if per_camera else withdrawn_devices(store, audience)
    if withdrawn:
        raise StaleCoverageError(
            f"the coverage results were computed with {withdrawn} camera(s) no longer visible to "
            f"the {audience} audience; they cannot be published: run "
            f"`{coverage_command(run.bbox, run.levels, run.scenarios, run.occlusion)}` again")
    if not check_inputs:
        return run
    reasons = stale_reasons(store, run)
    return replace(run, stale=bool(reasons), stale_reasons=tuple(reasons)) if reasons else run


def stale_reasons(store: Store, run: CoverageRun) -> list[str]:
    """Why ``run`` no longer matches the store (empty: it is current)."""
    if run.fingerprint is None:
        return ["the run predates input fingerprints (its inputs cannot be checked): run "
                f"`{coverage_command(run.bbox, run.levels, run.scenarios, run.occlusion)}` again"]
    if input_fingerprint(store, run.bbox, run.building_bbox) != run.fingerprint:
        return ["cameras, buildings, streets or sites changed since the run: run "
                f"`{coverage_command(run.bbox, run.levels, run.scenarios, run.occlusion)}` again"]
    return []


def withdrawn_devices(store: Store, audience: str = "public") -> int:
    """How many cameras used by the stored results ``audience`` may no longer see."""
    try:
        return int(store.scalar(
            "SELECT count(*) FROM devices WHERE id IN (SELECT device_id FROM coverage_view_rows "
            "UNION SELECT camera_id FROM street_seen_rows) "  # each stored set once
            f"AND NOT ({audience_clause(audience)})") or 0)
    except sqlite3.OperationalError:
        return 0


def warning(run: CoverageRun) -> str | None:
    """The one-line warning a stale run gets on the CLI (None when current)."""
    if not run.stale:
        return None
    return "warning: coverage results are stale — " + "; ".join(run.stale_reasons)


def _union(a: Sequence[float], b: Sequence[float]) -> BBox:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _json(text: Any) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _box(text: Any) -> BBox | None:
    value = _json(text)
    return tuple(float(v) for v in value) if value else None  # type: ignore[return-value]


def _stored(store: Store, column: str) -> list[str]:
    """Levels or scenarios found in the result tables (runs recorded before m0110)."""
    found: list[str] = []
    for table in ("street_coverage", "coverage_views", "street_seen"):
        try:
            found += [r[0] for r in store.query(f"SELECT DISTINCT {column} FROM {table}")]
        except sqlite3.OperationalError:
            continue
    return list(dict.fromkeys(found))
