"""Import OpenStreetMap extracts (.osm.pbf, .osm, .osm.bz2) with pyosmium.

What is kept: ``man_made=surveillance`` and ``highway=speed_camera`` nodes (every raw tag, OSM id
and version); buildings (closed ways and multipolygon relations; ``building=roof`` is kept but
marked as no obstacle); highway ways other than motorways and unbuilt roads (with a ``walkable``
flag); sites by category (:data:`survatlas.vocab.SITE_RULES`), as points or areas; and the
map's context (:mod:`survatlas.ingest.context`).
"""

from __future__ import annotations

import gc
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from survatlas import ODBL_ATTRIBUTION
from survatlas.errors import InputError, InputFileNotFoundError
from survatlas.ingest._history import SnapshotRecorder
from survatlas.ingest._osmread import BUILDING_KEYS, CHUNK_SIZE, KEYS, Messages, read_messages
from survatlas.ingest._records import LAYER_COLUMNS, ROW_COLUMNS, ImportSummary, Record, RowChunk
from survatlas.ingest._site_merge import has_foreign_sites, record_site_sources, split_known_chunk
from survatlas.ingest._writer import LayerWriter
from survatlas.ingest.context import ContextWriter, read_context
from survatlas.ingest.history import (
    HISTORY_SUFFIXES,
    header_box,
    import_history,
    is_history_file,
)
from survatlas.provenance.sources import file_sha256, file_source, insert_import
from survatlas.store import Store
from survatlas.store.clock import now_iso
from survatlas.store.states import written_digests
from survatlas.vocab import LAYERS

__all__ = ["BUILDING_KEYS", "CHUNK_SIZE", "OsmRecords", "check_osm_path", "import_osm", "read_osm"]

OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".osc", ".o5m",
                *HISTORY_SUFFIXES)
#: (connection, source id, recorder, snapshot date, bounds) -> history counts
HistoryWriter = Callable[[Any, int, SnapshotRecorder, str, Any], dict[str, int]]
_KEYS = KEYS  # the keys pyosmium lets through (the benchmark's bare pass uses them too)


@dataclass
class OsmRecords:
    """The records read from one OSM file, per layer."""

    layers: dict[str, list[Record]] = field(
        default_factory=lambda: {"devices": [], "buildings": [], "streets": [], "sites": []}
    )
    rejected: list[str] = field(default_factory=list)
    max_timestamp: str | None = None
    header_timestamp: str | None = None


def import_osm(
    store: Store,
    path: str | Path,
    *,
    sensitivity: str = "public",
    progress: Callable[[int], None] | None = None,
    source: Mapping[str, Any] | None = None,
    as_of: str | None = None,
    bounds: Sequence[float] | None = None,
    history: HistoryWriter | None = None,
    declassify: bool = False,
    context: bool = False,
) -> ImportSummary:
    """Import an OSM extract into ``store`` in one transaction.

    The import is also a *snapshot* of its area for the device history
    (:mod:`survatlas.ingest._history`): devices that appeared, moved, were retagged or are no
    longer there (inside the file's bounds) are recorded as such; the current view keeps the
    latest state.

    The file is read in chunks and written as it is read, in bounded memory: pyosmium keeps
    the node locations of a large file in a temporary file beside the store, the R*Tree is
    packed out of core, and the keys of a large layer are looked up chunk by chunk (see
    docs/benchmarks.md, "OSM import").
    Large files are read by a child process so that parsing and SQLite run on two cores; the
    transaction stays here, and the child never outlives the import.

    Parameters
    ----------
    store
        The store to write to.
    path
        An ``.osm.pbf``, ``.osm`` or ``.osm.bz2`` file.
    sensitivity
        Sensitivity of every record of this file (``public`` for OSM data).
    progress
        Called with the number of objects handled, now and then (the CLI draws a bar).
    source
        Provenance fields of the source written instead of the file's own (``kind``,
        ``title``, ``uri``, ``retrieved_at``, ``data_timestamp`` …): a fetch records its
        endpoint and fetch time this way.
    as_of
        Date of the snapshot (default: the file's replication timestamp, else its newest
        object).
    bounds
        W, S, E, N the snapshot covers (default: the file header's box, else the data's extent).
    history
        Writes the device history instead of the snapshot comparison, in the same transaction
        (called with the connection, the source id, the recorder and the snapshot date): the
        import of a full-history file gives every version this way.
    declassify
        Allow lowering records stored at a higher level (logged); without it such a row is
        refused when it differs, and leaves the record as it is when it does not.
    context
        Also read the map's context (water, parks and green, rail, motorways, place names:
        :mod:`survatlas.ingest.context`): in the same pass with the compiled reader, else in a
        second pyosmium pass over the file (about a bare pyosmium pass: +0.18 s on the
        Helsinki extract). Off by default here; ``survatlas import osm`` turns it on.

    Returns
    -------
    ImportSummary
        Added / updated / unchanged / skipped counts per layer and warnings by kind.

    Examples
    --------
    ::

        with Store("helsinki.db") as store:
            summary = import_osm(store, "data/helsinki-center.osm.pbf")
        print(summary.layers["devices"].added)
    """
    path = check_osm_path(path)
    if history is None and is_history_file(path):  # every version of every device
        return import_history(store, path, sensitivity=sensitivity, progress=progress,
                              importer=import_osm)
    started = now_iso()
    sha = (source or {}).get("sha256") or file_sha256(path)
    # a reader process starts now, before the transaction; node locations of large files go to
    # a temporary file beside the store (removed at once: see _osmread.node_locations)
    reader = Messages(path, sensitivity, index_dir=store.path.parent, context=context)
    try:
        with store.transaction() as conn, _fewer_collections(), _page_cache(conn), \
                ExitStack() as stack:
            fields = {"kind": "osm", "title": path.name, "uri": path.name, "sha256": sha,
                      "retrieved_at": started, "licence": "ODbL-1.0",
                      "attribution": ODBL_ATTRIBUTION, "sensitivity": sensitivity,
                      **(source or {})}
            source_id = file_source(conn, **fields)
            writers = {
                layer: LayerWriter(conn, layer, source_id, declassify=declassify)
                for layer in LAYERS
            }
            summary = ImportSummary(source_id=source_id, file=str(fields["title"]))
            recorder = SnapshotRecorder()
            end = None
            merge_sites = has_foreign_sites(conn)  # a layer's sites: OSM's merge into them
            merged: list[tuple[int, str, float]] = []
            context_writer = ContextWriter(conn, source_id, sensitivity) if context else None
            for kind, payload in reader:
                if kind == "rows":
                    if merge_sites and payload.layer == "sites":
                        payload, known = split_known_chunk(conn, payload)
                        merged += known
                    writers[payload.layer].add(payload)
                    recorder.add(payload)
                    _count_warnings(summary, payload)
                elif kind == "context" and context_writer is not None:
                    context_writer.add(payload)
                elif kind == "progress" and progress and payload:
                    progress(payload)
                elif kind == "end":
                    end = payload
            summary.layers = {layer: w.finish() for layer, w in writers.items()}
            hashers = [w.hasher for w in writers.values() if w.hasher is not None]
            stack.enter_context(written_digests(conn, hashers))  # the custody entry's digests
            if merged:
                record_site_sources(conn, source_id, merged)
                summary.layers["sites"].merged = len(merged)
            summary.rejected = end.rejected
            data_time = end.header_timestamp or end.max_timestamp
            conn.execute(
                "UPDATE sources SET data_timestamp = coalesce(data_timestamp, ?) WHERE id = ?",
                (data_time, source_id),
            )
            when = as_of or fields.get("data_timestamp") or data_time or started
            box = bounds or header_box(path)
            if history is None:
                summary.history = recorder.record(conn, source_id, when, bounds=box).to_dict()
            else:
                summary.history = history(conn, source_id, recorder, when, box)
            if context_writer is not None:  # read in the same pass, else in a pyosmium pass now
                if not end.context:
                    context_writer.add(read_context(path, index_dir=store.path.parent))
                summary.context = context_writer.finish(box)
            insert_import(conn, source_id=source_id, command="import osm", started=started, summary=summary.to_dict(), counts=summary.counts(), file=summary.file)
    finally:
        reader.close()  # stops a reader process that is still running
    return summary


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while rows stream through (−5% time).

    An import allocates millions of short-lived tuples and no reference cycles; the default
    threshold (a young-generation pass every 700 allocations) spends time re-scanning them.
    """
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], 100_000), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


#: page cache of the import's transaction, KiB (SQLite's default is 2 MiB)
IMPORT_CACHE_KIB = 32 * 1024


@contextmanager
def _page_cache(conn: sqlite3.Connection) -> Iterator[None]:
    """Give the import's one transaction a larger page cache (−4% time on a 40,000-building
    city), restored afterwards.

    With SQLite's default 2 MiB, the pages of a large import spill to the WAL while the
    transaction is still open and are read back to build the indexes; the cache grows only
    as pages are used, so a small import costs no more memory.
    """
    before = int(conn.execute("PRAGMA cache_size").fetchone()[0])
    conn.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA cache_size = {before}")


def _count_warnings(summary: ImportSummary, chunk: RowChunk) -> None:
    for warnings in chunk.warnings or ():
        for w in warnings:
            summary.warnings_by_kind[w.kind] = summary.warnings_by_kind.get(w.kind, 0) + 1


def check_osm_path(path: str | Path) -> Path:
    """Check that ``path`` exists and looks like an OSM file."""
    path = Path(path)
    if not path.is_file():
        raise InputFileNotFoundError(f"{path}: no such file; give the path of an .osm.pbf extract")
    if not path.name.lower().endswith(OSM_SUFFIXES):
        raise InputError(
            f"{path.name}: not an OSM file name; expected one of {', '.join(OSM_SUFFIXES)}"
        )
    return path


def read_osm(path: Path, *, sensitivity: str = "public") -> OsmRecords:
    """Read devices, buildings, streets and sites from an OSM file (no store involved)."""
    out = OsmRecords()
    for kind, payload in read_messages(check_osm_path(path), sensitivity):
        if kind == "rows":
            out.layers[payload.layer].extend(_records(payload))
        elif kind == "end":
            out.rejected = payload.rejected
            out.max_timestamp, out.header_timestamp = payload.max_timestamp, payload.header_timestamp
    return out


def _records(chunk: RowChunk) -> list[Record]:
    """The rows of a chunk as :class:`Record` objects (timestamps as ISO text)."""
    out = []
    rows = (r[: len(ROW_COLUMNS[chunk.layer])] for r in chunk.rows())
    for k, (origin, osm_type, osm_id, version, ts, _sha, geom, tags, sens, *extra) in enumerate(rows):
        values = dict(zip(LAYER_COLUMNS[chunk.layer], extra, strict=True))
        out.append(
            Record(
                origin,
                bytes(geom),
                values,
                json.loads(tags),
                osm_type=osm_type,
                osm_id=osm_id,
                osm_version=version,
                osm_timestamp=ts,
                sensitivity=sens,
                warnings=chunk.warnings[k] if chunk.warnings is not None else (),
            )
        )
    return out
