"""Device history written by every import: versions with valid-from/valid-to, and snapshots.

An import that sees an area at a date (an OSM extract, a fetch, a camera list with OSM ids) is
a *snapshot*. :class:`SnapshotRecorder` compares it with the open versions of
``device_versions`` (those with no ``valid_to``): a device new to the history is *added* (or
*reappeared*), one whose position or survatlas fields changed is closed and followed by a
version that *moved* / was *retagged* (a new OSM version that changes neither is *edited*), and
an open device inside the snapshot's bounds that the snapshot does not hold is closed as
*absent*. Those closed devices leave the current view (``devices``); the history keeps them.

The states written are the rows of ``devices`` as the layer writer stored them (sensitivity and
sealing decided there), so the history never holds a field in a form the current view does not.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from survatlas.geo import haversine_m
from survatlas.ingest._checks import insert_checked_once, null_by_default
from survatlas.ingest._records import ROW_COLUMNS, RowChunk
from survatlas.store.clock import iso_instant, now_iso
from survatlas.store.encryption import open_row

#: a device whose position changed by more than this many metres *moved*
MOVE_M = 0.5
#: fields whose change makes a version *retagged* (what survatlas reads from the tags)
RETAG_FIELDS = ("device_type", "area", "zone", "mount", "camera_type", "views", "tilt_down_deg",
                "height_m", "operator", "manufacturer", "model", "name")
#: the columns a version copies from ``devices``
STATE_COLUMNS = ("origin", "source_id", "osm_type", "osm_id", "osm_version", "osm_timestamp",
                 "content_sha", "device_type", "area", "zone", "mount", "camera_type", "views",
                 "tilt_down_deg", "height_m", "operator", "manufacturer", "model", "name",
                 "fov_deg", "range_m", "focal_mm", "sensor_width_mm", "width_px", "lon", "lat",
                 "geom", "tags", "sensitivity")
_BATCH = 500
_TS_COLUMN = ROW_COLUMNS["devices"].index("osm_timestamp")


@dataclass
class SnapshotCounts:
    """What a snapshot did to the history."""

    added: int = 0
    reappeared: int = 0
    moved: int = 0
    retagged: int = 0
    edited: int = 0
    kept: int = 0
    absent: int = 0
    older: int = 0

    def to_dict(self) -> dict[str, int]:
        """Plain data (for the import summary)."""
        return dict(vars(self))


@dataclass
class SnapshotRecorder:
    """Collects the devices an import writes, then records them as a snapshot of the history.

    Parameters
    ----------
    scope
        Origin prefix of the devices this snapshot speaks for (``"osm:"``): an open device of
        another origin (a field camera) is never declared absent by it. None: the import is
        no snapshot of an area, its devices are added or changed but nothing is absent.
    device_types
        Device types this snapshot speaks for (None: all). A list exported from
        ``man_made=surveillance`` holds no speed cameras: they are not absent from the area.
    """

    scope: str | None = "osm:"
    device_types: frozenset[str] | None = None
    origins: dict[str, str | None] = field(default_factory=dict)
    bounds: list[float] | None = None

    def add(self, chunk: RowChunk) -> None:
        """Note the devices of a chunk (their origins and OSM timestamps) and its extent."""
        self.extend(chunk.boxes())
        if chunk.layer != "devices":
            return
        for row in chunk.rows():
            ts = row[_TS_COLUMN]
            self.origins[row[0]] = iso_instant(ts) if isinstance(ts, int) else ts

    def add_origins(self, origins: Iterable[tuple[str, str | None]]) -> None:
        """Note devices by ``(origin, osm_timestamp)``."""
        self.origins.update(origins)

    def extend(self, boxes: Any) -> None:
        """Grow the snapshot's extent by ``(n, 4)`` boxes."""
        if len(boxes) == 0:
            return
        lo, hi = boxes[:, :2].min(axis=0), boxes[:, 2:].max(axis=0)
        box = [float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])]
        if self.bounds is None:
            self.bounds = box
        else:
            b = self.bounds
            self.bounds = [min(b[0], box[0]), min(b[1], box[1]), max(b[2], box[2]),
                           max(b[3], box[3])]

    def record(
        self,
        conn: sqlite3.Connection,
        source_id: int,
        as_of: str,
        *,
        bounds: Sequence[float] | None = None,
        kind: str = "snapshot",
    ) -> SnapshotCounts:
        """Write the snapshot (inside the import's transaction); return what changed.

        ``bounds`` (W, S, E, N) is the area the snapshot covers (default: the extent of its
        data); ``as_of`` when it was taken (ISO 8601).
        """
        as_of = iso_instant(as_of) or now_iso()
        box = list(bounds) if bounds is not None else self.bounds
        counts = SnapshotCounts()
        opened = _open_versions(conn, self.origins)
        rows = list(_current_rows(conn, list(self.origins)))
        ends = _last_ends(conn, [r["origin"] for r in rows if r["origin"] not in opened])
        plan = _Plan()
        for row in rows:
            origin = row["origin"]
            start = _start(self.origins.get(origin), as_of)
            _apply(plan, row, opened.get(origin), ends.get(origin, (None, None)), start, as_of,
                   counts)
        plan.write(conn, source_id)
        if box is not None and self.scope is not None:
            gone = _absent(conn, box, self.scope, set(self.origins), as_of, self.device_types)
            close_versions(conn, gone, as_of, "absent", source_id)
            retire_devices(conn, gone)
            counts.absent = len(gone)
        known = conn.execute(
            "SELECT 1 FROM snapshots WHERE source_id = ? AND as_of = ? AND kind = ?",
            (source_id, as_of, kind),
        ).fetchone()
        if box is not None and not known:  # importing the same snapshot again changes nothing
            conn.execute(
                "INSERT INTO snapshots (source_id, kind, as_of, scope, min_x, min_y, max_x, max_y,"
                " recorded_at, counts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (source_id, kind, as_of, self.scope, *box, now_iso(), json.dumps(counts.to_dict())),
            )
        return counts


def _start(osm_timestamp: str | None, as_of: str) -> str:
    """When a state seen in a snapshot began: its OSM timestamp, else the snapshot's date."""
    if osm_timestamp and osm_timestamp <= as_of:
        return osm_timestamp
    return as_of


@dataclass
class _Plan:
    """The writes of a snapshot, made at once: open versions closed, then new ones opened
    (in the order of the devices, so version ids are those of writing them one by one)."""

    closes: list[tuple[str, str]] = field(default_factory=list)
    opens: list[tuple[Mapping[str, Any], str, str]] = field(default_factory=list)

    def write(self, conn: sqlite3.Connection, source_id: int) -> None:
        """Close, then open (a version opened here is never one closed here)."""
        conn.executemany(
            "UPDATE device_versions SET valid_to = ?, ended = 'superseded', ended_source_id = ? "
            "WHERE origin = ? AND valid_to IS NULL",
            [(end, source_id, origin) for origin, end in self.closes],
        )
        insert_versions(conn, self.opens)


def _last_ends(conn: sqlite3.Connection, origins: list[str]) -> dict[str, tuple]:
    """``origin -> (max(valid_to), max(valid_from))`` of the closed histories of ``origins``
    (devices without an open version; none for a device never seen)."""
    out: dict[str, tuple] = {}
    for start in range(0, len(origins), _BATCH):
        batch = origins[start : start + _BATCH]
        out.update(
            (origin, (valid_to, valid_from)) for origin, valid_to, valid_from in conn.execute(
                "SELECT origin, max(valid_to), max(valid_from) FROM device_versions "
                f"WHERE origin IN ({', '.join('?' * len(batch))}) GROUP BY origin", batch)
        )
    return out


def _apply(
    plan: _Plan,
    row: dict[str, Any],
    open_version: dict[str, Any] | None,
    last: tuple,
    start: str,
    as_of: str,
    counts: SnapshotCounts,
) -> None:
    """Compare one device of the snapshot with its open version (or, without one, with the
    end of its history ``last``: latest valid_to, latest valid_from) and plan what changed."""
    if open_version is None:
        if last[1] is not None and last[1] > as_of:  # history newer than this snapshot
            counts.older += 1
            return
        change = "reappeared" if last[0] is not None else "added"
        plan.opens.append((row, start, change))
        setattr(counts, change, getattr(counts, change) + 1)
        return
    if open_version["valid_from"] > as_of:
        counts.older += 1
        return
    change = state_change(open_version, row)
    if change is None:
        counts.kept += 1
        return
    start = max(start, open_version["valid_from"])
    plan.closes.append((row["origin"], start))
    plan.opens.append((row, start, change))
    setattr(counts, change.split("+")[0], getattr(counts, change.split("+")[0]) + 1)


def state_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """How ``new`` differs from ``old``: moved, retagged, moved+retagged, edited or None (same).

    *moved*: more than :data:`MOVE_M` metres apart; *retagged*: a field of
    :data:`RETAG_FIELDS` differs; *edited*: another OSM version, neither.
    """
    a, b = open_row("devices", dict(old)), open_row("devices", dict(new))
    moved = haversine_m(a["lon"], a["lat"], b["lon"], b["lat"]) > MOVE_M
    retagged = any(_norm(a.get(f)) != _norm(b.get(f)) for f in RETAG_FIELDS)
    if moved and retagged:
        return "moved+retagged"
    if moved or retagged:
        return "moved" if moved else "retagged"
    versions = (a.get("osm_version"), b.get("osm_version"))
    if None not in versions and versions[0] != versions[1]:
        return "edited"  # another OSM version (a list without versions says nothing here)
    return None


def _norm(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value


def insert_version(conn: sqlite3.Connection, row: Mapping[str, Any], start: str, change: str) -> None:
    """Open a version of a device from ``row`` (``devices`` columns, stored form) at ``start``."""
    insert_versions(conn, [(row, start, change)])


#: versions from which :func:`insert_versions` checks the table's CHECKs once, not per row
_CHECK_ONCE_ROWS = 32


def insert_versions(
    conn: sqlite3.Connection, versions: Sequence[tuple[Mapping[str, Any], str, str]]
) -> None:
    """:func:`insert_version` of each ``(row, start, change)``, in order, in one statement
    (a batch leaves out the columns NULL in every row: :func:`null_by_default`)."""
    cols = (*STATE_COLUMNS, "valid_from", "change")
    rows = [(*map(row.get, STATE_COLUMNS), start, change) for row, start, change in versions]
    if len(rows) < _CHECK_ONCE_ROWS:
        conn.executemany(_insert_sql(cols), rows)
        return
    nullable = null_by_default(conn, "device_versions")
    kept = [(name, column) for name, column in zip(cols, zip(*rows, strict=True), strict=True)
            if name not in nullable or column.count(None) < len(column)]
    last = conn.execute("SELECT coalesce(max(id), 0) FROM device_versions").fetchone()[0]
    # new rows get ids above the largest (INTEGER PRIMARY KEY)
    insert_checked_once(conn, "device_versions", _insert_sql([name for name, _ in kept]),
                        list(zip(*(column for _, column in kept), strict=True)), int(last))


def _insert_sql(cols: Sequence[str]) -> str:
    return f"INSERT INTO device_versions ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


def close_versions(
    conn: sqlite3.Connection, origins: Sequence[str], end: str, why: str, source_id: int | None
) -> None:
    """Close the open versions of ``origins`` at ``end`` (why: absent, deleted, untagged …)."""
    conn.executemany(
        "UPDATE device_versions SET valid_to = ?, ended = ?, ended_source_id = ? "
        "WHERE origin = ? AND valid_to IS NULL",
        [(end, why, source_id, o) for o in origins],
    )


def retire_devices(conn: sqlite3.Connection, origins: Sequence[str]) -> None:
    """Take devices out of the current view (their history stays in ``device_versions``)."""
    conn.executemany("DELETE FROM devices WHERE origin = ?", [(o,) for o in origins])


def _current_rows(conn: sqlite3.Connection, origins: list[str]) -> Iterable[dict[str, Any]]:
    """The ``devices`` rows of ``origins`` as stored (in batches)."""
    cols = ", ".join(STATE_COLUMNS)
    for start in range(0, len(origins), _BATCH):
        batch = origins[start : start + _BATCH]
        cur = conn.execute(
            f"SELECT {cols} FROM devices WHERE origin IN ({', '.join('?' * len(batch))})", batch
        )
        for values in cur.fetchall():
            yield dict(zip(STATE_COLUMNS, values, strict=True))


def _open_versions(conn: sqlite3.Connection, origins: Mapping[str, Any]) -> dict[str, dict]:
    """The open version of each of ``origins`` that has one."""
    cols = (*STATE_COLUMNS, "valid_from")
    out: dict[str, dict] = {}
    keys = list(origins)
    for start in range(0, len(keys), _BATCH):
        batch = keys[start : start + _BATCH]
        cur = conn.execute(
            f"SELECT {', '.join(cols)} FROM device_versions WHERE valid_to IS NULL "
            f"AND origin IN ({', '.join('?' * len(batch))})",
            batch,
        )
        for values in cur.fetchall():
            row = dict(zip(cols, values, strict=True))
            out[row["origin"]] = row
    return out


def _absent(
    conn: sqlite3.Connection, box: Sequence[float], scope: str, seen: set[str], as_of: str,
    device_types: frozenset[str] | None = None,
) -> list[str]:
    """Open devices of ``scope`` (and ``device_types``) inside ``box``, opened by ``as_of``,
    that the snapshot lacks."""
    rows = conn.execute(
        "SELECT origin, device_type FROM device_versions WHERE valid_to IS NULL AND origin LIKE ? "
        "AND lon BETWEEN ? AND ? AND lat BETWEEN ? AND ? AND valid_from <= ?",
        (scope + "%", box[0], box[2], box[1], box[3], as_of),
    ).fetchall()
    return [r[0] for r in rows if r[0] not in seen
            and (device_types is None or r[1] in device_types)]
