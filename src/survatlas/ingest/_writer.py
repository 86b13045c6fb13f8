"""Upsert of normalised records into the store, with change detection and counts."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from survatlas.errors import InputError

#: Extra (layer-specific) columns written for each layer, in order.
LAYER_COLUMNS: dict[str, tuple[str, ...]] = {
    "devices": (
        "device_type",
        "area",
        "zone",
        "mount",
        "camera_type",
        "views",
        "tilt_down_deg",
        "height_m",
        "operator",
        "manufacturer",
        "model",
        "name",
        "fov_deg",
        "range_m",
        "focal_mm",
        "sensor_width_mm",
        "width_px",
        "lon",
        "lat",
    ),
    "buildings": ("building", "obstacle", "height_m", "levels", "min_height_m"),
    "streets": ("highway", "name", "walkable"),
    "sites": ("category", "name"),
}
_COMMON = (
    "origin",
    "source_id",
    "osm_type",
    "osm_id",
    "osm_version",
    "osm_timestamp",
    "content_sha",
    "geom",
    "min_x",
    "min_y",
    "max_x",
    "max_y",
    "tags",
    "sensitivity",
)


@dataclass
class Record:
    """One normalised feature ready to be written to a layer."""

    origin: str
    geom_wkb: bytes
    values: dict[str, Any]
    tags: dict[str, str]
    osm_type: str | None = None
    osm_id: int | None = None
    osm_version: int | None = None
    osm_timestamp: str | None = None
    sensitivity: str = "public"
    warnings: Sequence[Any] = ()

    @property
    def key(self) -> tuple[str, ...]:
        """Identity in its table (sites are unique per origin and category)."""
        return (
            (self.origin, self.values["category"]) if "category" in self.values else (self.origin,)
        )


@dataclass
class LayerCounts:
    """What an import did to one layer."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_older: int = 0
    warned: int = 0


@dataclass
class ImportSummary:
    """What an import did, per layer, and the warnings by kind."""

    source_id: int
    file: str
    layers: dict[str, LayerCounts] = field(default_factory=dict)
    warnings_by_kind: dict[str, int] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for ``--json``."""
        return {
            "source_id": self.source_id,
            "file": self.file,
            "layers": {k: vars(v) for k, v in self.layers.items()},
            "warnings_by_kind": dict(sorted(self.warnings_by_kind.items())),
            "rejected": _count_reasons(self.rejected),
            "rejected_examples": self.rejected[:10],
        }

    @property
    def changed(self) -> int:
        """Number of records added or updated."""
        return sum(c.added + c.updated for c in self.layers.values())


def _count_reasons(rejected: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in rejected:
        reason = item.split(": ", 1)[-1]
        counts[reason] = counts.get(reason, 0) + 1
    return counts


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def now_iso() -> str:
    """The current UTC time, ISO 8601, seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def ensure_source(conn: sqlite3.Connection, **fields: Any) -> int:
    """Return the id of the source with ``fields['sha256']``, creating it when new."""
    row = conn.execute("SELECT id FROM sources WHERE sha256 = ?", (fields["sha256"],)).fetchone()
    if row:
        return int(row[0])
    cols = ", ".join(fields)
    marks = ", ".join("?" for _ in fields)
    cur = conn.execute(f"INSERT INTO sources ({cols}) VALUES ({marks})", tuple(fields.values()))
    return int(cur.lastrowid)


def write_layer(
    conn: sqlite3.Connection,
    layer: str,
    source_id: int,
    records: Sequence[Record],
) -> LayerCounts:
    """Write all ``records`` to ``layer`` (see :class:`LayerWriter`); return the counts."""
    writer = LayerWriter(conn, layer, source_id)
    writer.add(records)
    return writer.finish()


class LayerWriter:
    """Insert new records, update changed or newer ones, count the rest — chunk by chunk.

    A record whose OSM version is older than the stored one is skipped (the store keeps the
    newer object). Must be used inside one transaction. New rows get their ids here so that
    the R*Tree index is filled with one bulk statement per chunk (the insert path of every
    geometry table); updates and deletes keep the index in step through triggers.
    """

    def __init__(self, conn: sqlite3.Connection, layer: str, source_id: int) -> None:
        self.conn, self.layer, self.source_id = conn, layer, source_id
        self.counts = LayerCounts()
        self.existing = _existing(conn, layer)
        self.next_id = (
            int(conn.execute(f"SELECT coalesce(max(id), 0) FROM {layer}").fetchone()[0]) + 1
        )
        extra = LAYER_COLUMNS[layer]
        cols = ("id", *_COMMON, *extra)
        self.extra = extra
        self.insert_sql = (
            f"INSERT INTO {layer} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        )
        self.update_sql = (
            f"UPDATE {layer} SET {', '.join(c + ' = ?' for c in cols[1:])} WHERE id = ?"
        )
        self.rtree_sql = f"INSERT INTO {layer}_rtree VALUES (?, ?, ?, ?, ?)"
        self.warn_rows: list[tuple[int, Sequence[Any]]] = []

    def add(self, records: Sequence[Record]) -> None:
        """Write one chunk of records."""
        if not records:
            return
        bounds = shapely.bounds(shapely.from_wkb([r.geom_wkb for r in records]))
        if not np.isfinite(bounds).all():
            bad = records[int(np.flatnonzero(~np.isfinite(bounds).all(axis=1))[0])].origin
            raise InputError(f"{bad} has an empty or invalid geometry; fix or remove it and retry")
        inserts, updates, boxes = [], [], []
        for rec, bb in zip(records, bounds.tolist(), strict=True):
            tags_json = json.dumps(rec.tags, sort_keys=True, ensure_ascii=False)
            sha = _content_sha(rec, tags_json)
            old = self.existing.get(rec.key)
            if rec.warnings:
                self.counts.warned += 1
            if old is not None and old[2] == sha:
                self.counts.unchanged += 1
                continue
            if (
                old is not None
                and rec.osm_version is not None
                and old[1] is not None
                and rec.osm_version < old[1]
            ):
                self.counts.skipped_older += 1
                continue
            row = (
                rec.origin,
                self.source_id,
                rec.osm_type,
                rec.osm_id,
                rec.osm_version,
                rec.osm_timestamp,
                sha,
                rec.geom_wkb,
                *bb,
                tags_json,
                rec.sensitivity,
                *[rec.values.get(c) for c in self.extra],
            )
            if old is None:
                row_id = self.next_id
                self.next_id += 1
                self.existing[rec.key] = (row_id, rec.osm_version, sha)
                inserts.append((row_id, *row))
                boxes.append((row_id, bb[0], bb[2], bb[1], bb[3]))
                self.counts.added += 1
            else:
                row_id = old[0]
                updates.append((row_id, *row, row_id))
                self.counts.updated += 1
            if self.layer == "devices":
                self.warn_rows.append((row_id, rec.warnings))
        self.conn.executemany(self.insert_sql, inserts)
        self.conn.executemany(self.rtree_sql, boxes)
        self.conn.executemany(self.update_sql, [u[1:] for u in updates])

    def finish(self) -> LayerCounts:
        """Write the devices' data-quality warnings; return the counts."""
        if self.warn_rows:
            self.conn.executemany(
                "DELETE FROM device_warnings WHERE device_id = ?", [(i,) for i, _ in self.warn_rows]
            )
            self.conn.executemany(
                "INSERT INTO device_warnings (device_id, key, value, kind, message) "
                "VALUES (?, ?, ?, ?, ?)",
                [(i, w.key, w.value, w.kind, w.message) for i, ws in self.warn_rows for w in ws],
            )
        return self.counts


def _existing(conn: sqlite3.Connection, layer: str) -> dict[tuple[str, ...], tuple]:
    if conn.execute(f"SELECT 1 FROM {layer} LIMIT 1").fetchone() is None:
        return {}
    key = "origin, category" if layer == "sites" else "origin"
    rows = conn.execute(f"SELECT {key}, id, osm_version, content_sha FROM {layer}")
    width = 2 if layer == "sites" else 1
    return {tuple(r[:width]): tuple(r[width:]) for r in rows}


def _content_sha(rec: Record, tags_json: str) -> str:
    """What identifies a record's content: its OSM version, or a hash of its data."""
    if rec.osm_version is not None and rec.origin.startswith("osm:"):
        return f"osm-v{rec.osm_version}|{rec.sensitivity}"
    digest = hashlib.sha1(rec.geom_wkb)
    digest.update(tags_json.encode())
    digest.update(repr(sorted(rec.values.items())).encode())
    digest.update(f"{rec.osm_version}|{rec.sensitivity}".encode())
    return digest.hexdigest()


def record_import(
    conn: sqlite3.Connection, source_id: int, command: str, started: str, summary: ImportSummary
) -> None:
    """Log an import in the ``imports`` table."""
    conn.execute(
        "INSERT INTO imports (source_id, command, started_at, finished_at, summary) "
        "VALUES (?, ?, ?, ?, ?)",
        (source_id, command, started, now_iso(), json.dumps(summary.to_dict())),
    )


def device_values(
    norm: Any, lon: float, lat: float, explicit: dict[str, Any] | None = None
) -> dict:
    """Columns of a device from normalised tags (and explicit field-data geometry)."""
    values = {
        "device_type": norm.device_type,
        "area": norm.area,
        "zone": norm.zone,
        "mount": norm.mount,
        "camera_type": norm.camera_type,
        "views": json.dumps([[v.direction_deg, v.fov_deg] for v in norm.views]),
        "tilt_down_deg": norm.tilt_down_deg,
        "height_m": norm.height_m,
        "operator": norm.operator,
        "manufacturer": norm.manufacturer,
        "model": norm.model,
        "lon": lon,
        "lat": lat,
    }
    values.update(explicit or {})
    return values
