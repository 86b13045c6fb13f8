"""Import an OSM full-history file (``.osh.pbf``): every version of every surveillance device.

Two passes with pyosmium. The first gathers, node by node, the versions of every node that was
a device at some time (its moves, retaggings, deletion), and the latest version of every object.
The second writes the objects as they stand now (latest version, not deleted) to a temporary
extract that :func:`survatlas.ingest.osm.import_osm` imports like any file, so that the current
view is the latest state; in the same transaction the device versions are written to
``device_versions`` with valid-from/valid-to (:mod:`survatlas.ingest._history`).
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import osmium
import shapely

from survatlas.ingest._history import (
    SnapshotRecorder,
    _absent,
    close_versions,
    insert_version,
    retire_devices,
    state_change,
)
from survatlas.ingest._levels import rank
from survatlas.ingest._records import ImportSummary, device_values, osm_content_sha
from survatlas.ingest.tags import normalise_tags
from survatlas.store import Store
from survatlas.store.clock import iso_instant, now_iso
from survatlas.store.encryption import seal_row

HISTORY_SUFFIXES = (".osh.pbf", ".osh", ".osh.bz2", ".osh.gz")


def is_history_file(path: Path) -> bool:
    """Whether ``path`` is an OSM history file (by name, or by its header's flag)."""
    if path.name.lower().endswith(HISTORY_SUFFIXES):
        return True
    try:
        reader = osmium.io.Reader(str(path), osmium.osm.NOTHING)
    except RuntimeError:  # unreadable: the importer says why, in one line
        return False
    try:
        return bool(reader.header().has_multiple_object_versions)
    except RuntimeError:
        return False
    finally:
        reader.close()


def is_device(tags: dict[str, str]) -> bool:
    """Whether tags make a surveillance device (as the importer reads them)."""
    return tags.get("man_made") == "surveillance" or tags.get("highway") == "speed_camera"


def import_history(
    store: Store,
    path: Path,
    *,
    sensitivity: str = "public",
    progress: Callable[[int], None] | None = None,
    importer: Callable[..., ImportSummary],
) -> ImportSummary:
    """Import a full-history file (see the module text); ``importer`` is ``import_osm``."""
    versions, latest, newest = _read_versions(path)
    box = header_box(path)
    with tempfile.TemporaryDirectory(prefix="survatlas-osh-", dir=store.path.parent) as tmp:
        current = _write_current(path, latest, Path(tmp) / "current.osm.pbf")
        from survatlas.provenance.sources import file_sha256

        source = {"title": path.name, "uri": path.name, "sha256": file_sha256(path)}

        def write(conn: sqlite3.Connection, source_id: int, recorder: SnapshotRecorder,
                  when: str, bounds: Any) -> dict[str, int]:
            return _write_history(conn, source_id, versions, sensitivity, when,
                                  bounds or box or recorder.bounds)

        return importer(store, current, sensitivity=sensitivity, progress=progress,
                        source=source, history=write, bounds=box, as_of=newest)


def header_box(path: Path) -> list[float] | None:
    """W, S, E, N of the box an OSM file's header declares (None without one)."""
    reader = osmium.io.Reader(str(path), osmium.osm.NOTHING)
    try:
        box = reader.header().box()
    finally:
        reader.close()
    if not box.valid():
        return None
    return [box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat]


def _read_versions(path: Path) -> tuple[dict[int, list[dict]], dict[tuple[str, int], tuple], str]:
    """Versions of the nodes that were ever devices; (latest version, visible) of every object;
    the newest timestamp in the file (the snapshot's date)."""
    devices: dict[int, list[dict]] = {}
    latest: dict[tuple[str, int], tuple[int, bool]] = {}
    newest = None
    for obj in osmium.FileProcessor(str(path)):
        kind = "node" if obj.is_node() else "way" if obj.is_way() else "relation"
        latest[(kind, obj.id)] = (obj.version, obj.visible)
        newest = obj.timestamp if newest is None or obj.timestamp > newest else newest
        if kind != "node":
            continue
        tags = {t.k: t.v for t in obj.tags}
        state = {"version": obj.version, "timestamp": iso_instant(obj.timestamp),
                 "visible": obj.visible, "tags": tags, "device": obj.visible and is_device(tags),
                 "lonlat": (obj.location.lon, obj.location.lat)
                 if obj.visible and obj.location.valid() else None}
        if state["device"] or obj.id in devices:
            devices.setdefault(obj.id, []).append(state)
    return devices, latest, iso_instant(newest) or now_iso()


def _write_current(path: Path, latest: dict, out: Path) -> Path:
    """The objects as they stand (latest version, not deleted) as an ordinary extract."""
    header = osmium.io.Header()
    box = header_box(path)
    if box:
        header.add_box(osmium.osm.Box(osmium.osm.Location(box[0], box[1]),
                                      osmium.osm.Location(box[2], box[3])))
    with osmium.SimpleWriter(str(out), header=header) as writer:
        for obj in osmium.FileProcessor(str(path)):
            kind = "node" if obj.is_node() else "way" if obj.is_way() else "relation"
            if latest[(kind, obj.id)] == (obj.version, True):
                writer.add(obj)
    return out


def _device_row(node_id: int, state: dict, sensitivity: str, source_id: int) -> dict[str, Any]:
    """A ``devices`` row (stored form) of one version of a device node."""
    lon, lat = state["lonlat"]
    norm = normalise_tags(state["tags"])
    values = device_values(norm, lon, lat)
    values["name"] = state["tags"].get("name")
    row = {"origin": f"osm:node/{node_id}", "source_id": source_id, "osm_type": "node",
           "osm_id": node_id, "osm_version": state["version"],
           "osm_timestamp": state["timestamp"],
           "content_sha": osm_content_sha(state["version"]),
           "geom": shapely.to_wkb(shapely.Point(lon, lat)),
           "tags": json.dumps(state["tags"], sort_keys=True, ensure_ascii=False),
           "sensitivity": sensitivity, **values}
    return seal_row("devices", row)


def history_level(conn: sqlite3.Connection, origin: str, given: str) -> str:
    """The level of every past version of a device: the sensitivity rule of current rows
    (:mod:`survatlas.ingest._levels`) — the file's level, raised to the device's stored level
    (its current row, written just before by the layer writer, and its versions stored
    before): a history import never makes public what the store holds as restricted."""
    levels = [given]
    for table in ("devices", "device_versions"):
        levels += [r[0] for r in conn.execute(
            f"SELECT DISTINCT sensitivity FROM {table} WHERE origin = ?", (origin,))]
    return max(levels, key=rank)


def _intervals(states: list[dict]) -> Iterator[tuple[dict, str, str | None, str | None]]:
    """(device state, change, valid_to, ended) for each version of a node that is a device.

    ``change`` is ``added``/``reappeared`` when the version before was no device (or there was
    none), else empty (the caller compares the two states).
    """
    seen = False
    before: dict | None = None
    for k, state in enumerate(states):
        if not state["device"]:
            before = None
            continue
        nxt = states[k + 1] if k + 1 < len(states) else None
        ended = None
        if nxt is not None:
            ended = ("deleted" if not nxt["visible"] else
                     "untagged" if not nxt["device"] else "superseded")
        change = "" if before is not None else ("reappeared" if seen else "added")
        yield state, change, nxt["timestamp"] if nxt else None, ended
        before, seen = state, True


def _write_history(conn: sqlite3.Connection, source_id: int, versions: dict[int, list[dict]],
                   sensitivity: str, when: str, box: Any) -> dict[str, int]:
    """Replace the history of the file's devices by every version; close what is absent."""
    counts = {"devices": 0, "versions": 0, "deleted": 0, "untagged": 0, "absent": 0}
    closed: list[str] = []
    for node_id, states in versions.items():
        origin = f"osm:node/{node_id}"
        level = history_level(conn, origin, sensitivity)
        conn.execute("DELETE FROM device_versions WHERE origin = ?", (origin,))
        previous: dict | None = None
        for state, change, valid_to, ended in _intervals(states):
            row = _device_row(node_id, state, level, source_id)
            if not change:
                change = state_change(previous, row) or "edited"
            insert_version(conn, row, state["timestamp"], change)
            if valid_to is not None:
                conn.execute(
                    "UPDATE device_versions SET valid_to = ?, ended = ?, ended_source_id = ? "
                    "WHERE origin = ? AND valid_to IS NULL", (valid_to, ended, source_id, origin))
                if ended in ("deleted", "untagged"):
                    counts[ended] += 1
            previous = row
            counts["versions"] += 1
        counts["devices"] += 1
        if states[-1]["device"] is False:
            closed.append(origin)
    retire_devices(conn, closed)
    if box is not None:
        gone = _absent(conn, box, "osm:", {f"osm:node/{i}" for i in versions}, when)
        close_versions(conn, gone, when, "absent", source_id)
        retire_devices(conn, gone)
        counts["absent"] = len(gone)
        conn.execute(
            "INSERT INTO snapshots (source_id, kind, as_of, scope, min_x, min_y, max_x, max_y, "
            "recorded_at, counts) SELECT ?, 'history', ?, 'osm:', ?, ?, ?, ?, ?, ? WHERE NOT EXISTS "
            "(SELECT 1 FROM snapshots WHERE source_id = ? AND kind = 'history')",
            (source_id, when, *box, now_iso(), json.dumps(counts), source_id),
        )
    return counts
