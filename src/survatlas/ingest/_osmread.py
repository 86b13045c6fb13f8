"""Reading an OSM file into ready-to-insert rows, in this process or in a reader process.

After ``make osmcore`` the read loop is compiled (:mod:`survatlas.ingest._osmcompiled`); the
pyosmium reader below is what runs without that build, and the reference of its tests.

The reader turns every object pyosmium hands over into the columns of one row per layer
(:class:`survatlas.ingest._writer.RowChunk`); the importer only runs ``executemany``. For large
files the reading runs in a child process, so that parsing and SQLite use both cores (threads
would not: the work on both sides holds the GIL). The child only reads the file and sends
chunks through a pipe; the transaction stays in the importing process, and the child ends when
the file is read, when the import stops early, or — at its next send — when the importing
process has died.

Node locations (needed to build ways and areas) are kept by pyosmium in an index of 16 bytes a
node: in memory for small files, in an anonymous temporary file for files of
:data:`FILE_INDEX_MIN_BYTES` or more (:func:`node_locations`), so that a large extract does not
need memory in proportion to its size. Both run at the same speed (1M buildings, 4M nodes:
3.8 s either way); the file's pages are mapped, so they show in the resident set as *file*
pages, which the system writes back and drops when memory is short.

Hot paths avoid costly pyosmium calls. Each object's C accessors (``_pyosmium_data``: the
C++ object that pyosmium's Python wrappers forward to) are called directly, without the
wrappers' Python frame per call (a key lookup: 1.4 → 0.75 µs); a whole tag list is read by
mapping the C iterator over its length (:func:`~survatlas.ingest._osmvalues.read_tags`;
iterating a list to its end would raise a C++ ``StopIteration``, ~7 µs); most objects are
decided from a few key lookups before any tag list is read (a tag costs ~5 µs: pyosmium
builds a ``Tag`` named tuple per tag); timestamps go to SQLite as ISO text, made once per
timestamp. A pyosmium release without these accessors fails the reader's tests at once.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import osmium
import osmium.filter
import osmium.geom
import osmium.index

from survatlas.errors import CorruptFileError, SurvatlasError
from survatlas.ingest import _osmcompiled
from survatlas.ingest._osmcompiled import ReadEnd
from survatlas.ingest._osmvalues import (
    building_values,
    clipped_linestring,
    encode_tags,
    read_tags,
)
from survatlas.ingest._records import (
    LAYER_COLUMNS,
    ROW_COLUMNS,
    RowChunk,
    device_values,
    osm_content_sha,
)
from survatlas.ingest.tags import normalise_tags
from survatlas.vocab import (
    NON_STREET_HIGHWAYS,
    SITE_KEYS,
    is_walkable,
    site_categories,
)

#: objects handled between two chunks sent to the writer
CHUNK_SIZE = 20_000
#: ... or fewer, once their geometries (WKB) reach this many bytes: a chunk of long ways must
#: not hold hundreds of megabytes (20,000 ways of OSM's 2,000-node limit would be 640 MB)
CHUNK_BYTES = 8_000_000
#: files at least this large are read by a child process (smaller ones: starting it costs more)
PROCESS_MIN_BYTES = 4_000_000
#: files at least this large keep node locations in a temporary file, not in memory (an OSM
#: file of 1 MB has ~0.3–0.5 M nodes: ≤ 10 MB of index in memory below this size)
FILE_INDEX_MIN_BYTES = 1_000_000
#: tags kept for buildings that are not also sites (addresses and names are not needed)
BUILDING_KEYS = ("building", "height", "building:levels", "min_height", "building:min_level",
                 "roof:height", "roof:shape", "layer", "location", "building:part")
#: keys that let an object through pyosmium's filters
KEYS = (
    "man_made",
    "highway",
    "building",
    "amenity",
    "office",
    "landuse",
    "aeroway",
    "railway",
    "public_transport",
    "shop",
    "barrier",
    "place",
    "leisure",
)
_SITE_KEYS = frozenset(SITE_KEYS) - {"name"}  # without one of these, no site category applies
_CACHE_MAX = 4096


def osm_file_processor(path: Path, locations: Any = "flex_mem") -> osmium.FileProcessor:
    """The pyosmium pass of the import: tag filters in C++, buildings assembled as areas.

    ``locations`` is the node-location index: an index type of pyosmium, or an index made by
    :func:`node_locations` (set before the areas: ``with_areas`` would make a default one).

    Nodes, ways and areas pass with any key of :data:`KEYS`; relations never (multipolygons
    come as areas). Building ways are let through although only their areas are used: pyosmium
    hands over the areas it has assembled only after the next object that passes the filters,
    so filtering building ways out in C++ (7% faster) would let the assembled areas pile up in
    memory between two streets — in a file that lists all buildings before the streets, all of
    them (+230 MB for a million buildings).
    """
    keys = osmium.filter.KeyFilter(*KEYS)
    return (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY | osmium.osm.RELATION)
        .with_locations(locations)
        .with_areas(osmium.filter.KeyFilter("building", *KEYS))
        .with_filter(osmium.filter.EntityFilter(osmium.osm.NODE | osmium.osm.WAY | osmium.osm.AREA))
        .with_filter(keys)
    )


@contextmanager
def node_locations(
    path: Path, *, file_backed: bool | None = None, directory: Path | None = None
) -> Iterator[Any]:
    """The node-location index for one pass over ``path``, for :func:`osm_file_processor`.

    Parameters
    ----------
    path
        The OSM file.
    file_backed
        Keep the locations in a temporary file (pyosmium's ``sparse_file_array``: 16 bytes a
        node, on disk) rather than in memory (``flex_mem``). Default: for files of
        :data:`FILE_INDEX_MIN_BYTES` or more.
    directory
        Folder of the temporary file (default: the system's temporary folder). The file is
        removed as soon as pyosmium has opened it (on POSIX systems; elsewhere when the pass
        ends), so nothing is left behind, even by a killed process.
    """
    if file_backed is None:
        file_backed = path.stat().st_size >= FILE_INDEX_MIN_BYTES
    name = _index_file(directory) if file_backed else None
    if name is None:
        yield "flex_mem"
        return
    try:
        index = osmium.index.create_map(f"sparse_file_array,{name}")
    finally:
        with suppress(OSError):  # where an open file cannot be removed: at the end
            os.unlink(name)
    try:
        yield index
    finally:
        del index
        with suppress(OSError):
            os.unlink(name)


def _index_file(directory: Path | None) -> str | None:
    """A new empty file for the location index (None: no usable folder, keep it in memory)."""
    for folder in (directory, None):
        if folder is not None and "," in str(folder):  # pyosmium's index spec splits on commas
            continue
        try:
            fd, name = tempfile.mkstemp(prefix="survatlas-nodes-", suffix=".idx", dir=folder)
        except OSError:
            continue
        os.close(fd)
        if "," not in name:
            return name
        os.unlink(name)
    return None


def read_messages(
    path: Path,
    sensitivity: str,
    chunk_size: int | None = None,
    *,
    file_index: bool | None = None,
    index_dir: Path | None = None,
    context: bool = False,
) -> Iterator[tuple[str, Any]]:
    """The messages ``("rows", RowChunk)``, ``("progress", n)`` and finally ``("end", ReadEnd)``.

    ``file_index`` and ``index_dir``: where node locations are kept (see :func:`node_locations`).
    ``context``: the compiled reader also reads the map's context (``("context", rows)``).
    The compiled reader starts reading at once (in a thread): iterate the messages to the end
    or ``close()`` them.

    Raises
    ------
    CorruptFileError
        pyosmium cannot read the file.
    """
    core = _osmcompiled.current_build()
    if core is not None:  # the compiled read loop (``make osmcore``): reading starts now
        if file_index is None:
            file_index = path.stat().st_size >= FILE_INDEX_MIN_BYTES
        index = _index_file(index_dir) if file_index else None
        return _osmcompiled.compiled_read(core, path, sensitivity, chunk_size or CHUNK_SIZE,
                                          CHUNK_BYTES, KEYS, BUILDING_KEYS, index, context)
    return _read(path, sensitivity, chunk_size or CHUNK_SIZE, file_index, index_dir)


def _read(
    path: Path, sensitivity: str, chunk_size: int, file_index: bool | None,
    index_dir: Path | None,
) -> Iterator[tuple[str, Any]]:
    """The pyosmium read loop of :func:`read_messages`."""
    builder = _RowBuilder(sensitivity)
    with node_locations(path, file_backed=file_index, directory=index_dir) as locations:
        try:
            fp = osm_file_processor(path, locations)
            header = fp.header.get("osmosis_replication_timestamp") or fp.header.get("timestamp")
            handlers = {
                osmium.osm.Node: builder.node,
                osmium.osm.Way: builder.way,
                osmium.osm.Area: builder.area,
                osmium.osm.Relation: _ignore,  # multipolygons come as areas
            }
            n, chunk_bytes = 0, CHUNK_BYTES
            for obj in fp:
                handlers[type(obj)](obj)
                n += 1
                if n == chunk_size or builder.geom_bytes >= chunk_bytes:
                    yield from builder.drain()
                    yield "progress", n
                    n = 0
        except (RuntimeError, ValueError, osmium.InvalidLocationError) as exc:  # hostile files
            raise CorruptFileError(
                f"{path.name} could not be read as OSM data ({exc}); re-download the extract"
            ) from exc
        yield from builder.drain()
        yield "progress", n
    yield "end", ReadEnd(builder.rejected, builder.max_timestamp(), header or None)


class Messages:
    """The messages of :func:`read_messages`, read here or by a child process (started now).

    Iterate to receive them; :meth:`close` (always call it, e.g. in ``finally``) stops a child
    that is still reading. Start it before opening a transaction: a forked child then holds no
    copy of a connection in the middle of one. A child that dies before its first message (a
    spawned child cannot start, e.g. from a script without ``if __name__ == "__main__"``) is
    replaced by reading in this process. ``context``: see :func:`read_messages` (in-process).
    """

    def __init__(self, path: Path, sensitivity: str, *, process: bool | None = None,
                 index_dir: Path | None = None, context: bool = False) -> None:
        if process is None:
            process = use_process(path)
        self.path, self.sensitivity, self.index_dir = path, sensitivity, index_dir
        self.child, self.receive, self.done = None, None, False
        self._local: Iterator[tuple] | None = None
        if not process:
            self._local = read_messages(path, sensitivity, index_dir=index_dir, context=context)
            return
        # fork is fast and safe in a single-threaded process; with threads around, spawn (and
        # with the compiled reader, whose C++ threads the threading module does not see).
        fork = _can_fork() and threading.active_count() == 1 and not _osmcompiled.current_build()
        ctx = multiprocessing.get_context("fork" if fork else "spawn")
        self.receive, send = ctx.Pipe(duplex=False)
        self.child = ctx.Process(
            target=_child_main,
            args=(send, self.receive, path, sensitivity, index_dir),
            daemon=True,
        )
        self.child.start()
        send.close()

    def __iter__(self) -> Iterator[tuple]:
        if self._local is None:
            received = yield from self._from_child()
            if received:
                return
            self._local = read_messages(self.path, self.sensitivity, index_dir=self.index_dir)
        yield from self._local

    def _from_child(self) -> Iterator[tuple]:
        """Relay the child's messages; return False if it died before sending any."""
        received = False
        while True:
            try:
                kind, payload = self.receive.recv()  # type: ignore[union-attr]
            except EOFError:
                self.child.join(timeout=5)  # type: ignore[union-attr]
                if not received:
                    self.close()
                    return False
                raise SurvatlasError(
                    f"the reader of {self.path.name} stopped (exit code "
                    f"{self.child.exitcode}); check free memory and retry"  # type: ignore[union-attr]
                ) from None
            received = True
            if kind == "error":
                raise payload
            if kind == "end":
                self.done = True
            yield kind, payload
            if kind == "end":
                return True

    def close(self) -> None:
        """Stop and reap the child process, if any (it has ended unless the import stopped)."""
        if self._local is not None:
            self._local.close()  # type: ignore[attr-defined]
        if self.child is None:
            return
        self.receive.close()  # type: ignore[union-attr]
        if not self.done:  # the import stopped early: no need to let the child read on
            self.child.kill()
        self.child.join()
        self.child.close()
        self.child = None


def use_process(path: Path) -> bool:
    """Whether to read ``path`` in a child process: a large file, and a core to spare.

    A second process pays off only when it gets a core of its own: it costs ~10% more CPU in
    all (pickling, the pipe). On a machine already busy (1-minute load average within half a
    core of the cores this process may use) the file is read in-process. The compiled reader
    reads in-process: its own thread reads while this one writes (no pickling, no pipe).
    """
    if path.stat().st_size < PROCESS_MIN_BYTES or _osmcompiled.current_build() is not None:
        return False
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return (cores or 1) >= 2 and load <= (cores or 1) - 0.5


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _child_main(
    send: Any, receive: Any, path: Path, sensitivity: str, index_dir: Path | None
) -> None:
    """Body of the reader process: send every message; stop if the importer has gone."""
    receive.close()  # only the importer may hold the read end, so its death breaks the pipe
    gc.disable()  # no reference cycles here; collections cost ~8% of the reading
    try:
        for message in read_messages(path, sensitivity, index_dir=index_dir):
            send.send(message)
    except (BrokenPipeError, ConnectionResetError):
        return
    except Exception as exc:  # handed to the importer, which raises it
        try:
            send.send(("error", exc))
        except (BrokenPipeError, ConnectionResetError):
            return
    finally:
        send.close()


class _Layer:
    """The rows of one layer gathered since the last chunk."""

    def __init__(self, layer: str) -> None:
        self.layer = layer
        self.rows: list[tuple] = []  # the same list throughout (the builder keeps a reference)
        self.warnings: list | None = [] if layer == "devices" else None

    def chunk(self) -> RowChunk | None:
        """The rows gathered, by column (the writer computes their bounds); then start afresh."""
        if not self.rows:
            return None
        columns = [list(c) for c in zip(*self.rows, strict=True)]
        chunk = RowChunk(self.layer, columns, None, self.warnings, osm=True)
        self.rows.clear()
        self.warnings = [] if self.layer == "devices" else None
        return chunk


class _RowBuilder:
    """Turns pyosmium objects into rows (see :data:`ROW_COLUMNS`), layer by layer."""

    def __init__(self, sensitivity: str) -> None:
        self.sens = sensitivity
        self.wkb = osmium.geom.WKBFactory()
        self.layers = {layer: _Layer(layer) for layer in ROW_COLUMNS}
        self.rejected: list[str] = []
        #: bytes of WKB gathered since the last chunk
        self.geom_bytes = 0
        self.max_ts = ""  # newest object timestamp (ISO 8601 of one format: compares as text)
        self._sha: dict[int, str] = {}
        self.buildings = self.layers["buildings"].rows
        #: building value -> row tail of one-tag buildings (``()``: not a plain building)
        self._single: dict[str, tuple] = {}
        self._iso: dict[datetime, str] = {}
        #: kept tags -> row tail of plain buildings
        self._tails: dict[tuple, tuple] = {}

    def drain(self) -> Iterator[tuple[str, RowChunk]]:
        """Hand over the rows gathered so far, one chunk per layer."""
        self.geom_bytes = 0
        for layer in self.layers.values():
            chunk = layer.chunk()
            if chunk is not None:
                yield "rows", chunk

    def max_timestamp(self) -> str | None:
        """The newest object timestamp seen, ISO 8601."""
        return self.max_ts or None

    def _head(self, data: Any, osm_type: str, osm_id: int, geom: bytearray) -> tuple:
        """osm_type, osm_id, osm_version, osm_timestamp, content_sha, geom (SQLite adds origin).

        ``data`` is the object's C accessor (``obj._pyosmium_data``).
        """
        ts = self._timestamp(data.timestamp())
        if ts > self.max_ts:
            self.max_ts = ts
        version = data.version()
        sha = self._sha.get(version) or self._content_sha(version)
        return (osm_type, osm_id, version, ts, sha, geom)

    def _timestamp(self, when: datetime) -> str:
        """ISO 8601 text of whole seconds in UTC; cached (one upload shares its timestamp)."""
        ts = self._iso.get(when)
        if ts is None:
            if len(self._iso) >= _CACHE_MAX:
                self._iso.clear()
            ts = self._iso[when] = datetime.fromtimestamp(int(when.timestamp()), UTC).isoformat()
        return ts

    def _content_sha(self, version: int) -> str:
        sha = self._sha[version] = osm_content_sha(version)
        return sha

    def node(self, node: osmium.osm.Node) -> None:
        """A device and/or a site, or nothing (key lookups first: most nodes are neither)."""
        data = node._pyosmium_data
        get, size = data.tags_get_value_by_key, data.tags_size()
        keyed = {}
        for key in _NODE_KEYS:  # the commonest first: a third of the nodes have no other tag
            value = get(key, None)
            if value is not None:
                keyed[key] = value
                if len(keyed) == size:  # every tag found: the other keys are absent
                    break
        device = keyed.get("man_made") == "surveillance" or keyed.get("highway") == (
            "speed_camera")
        categories = site_categories(keyed)
        if not (device or categories):
            return
        tags = read_tags(data)
        if not node.location.valid():
            self.rejected.append(f"node/{node.id}: invalid location")
            return
        geom = bytearray.fromhex(self.wkb.create_point(node))
        head = self._head(data, "node", data.id(), geom)
        tags_json = encode_tags(tags)
        if device:
            norm = normalise_tags(tags)
            values = device_values(norm, node.location.lon, node.location.lat)
            values["name"] = tags.get("name")
            layer = self.layers["devices"]
            layer.rows.append((*head, tags_json, self.sens, *map(values.get, _DEVICE_EXTRA)))
            layer.warnings.append(norm.warnings)  # type: ignore[union-attr]
        self._sites(head, categories, tags_json, tags.get("name"))

    def _sites(self, head: tuple, categories: Any, tags_json: str, name: str | None) -> None:
        rows = self.layers["sites"].rows
        for cat in categories:
            rows.append((*head, tags_json, self.sens, cat, name))

    def way(self, way: osmium.osm.Way) -> None:
        """A street, or nothing (buildings come as areas)."""
        data = way._pyosmium_data
        get = data.tags_get_value_by_key
        highway = get("highway", None)
        if highway is None or highway in NON_STREET_HIGHWAYS or get("area", None) == "yes":
            if get("man_made", None) == "surveillance":
                self.rejected.append(
                    f"way/{data.id()}: man_made=surveillance on a way (map it as a node)"
                )
            return
        try:
            geom = bytearray.fromhex(self.wkb.create_linestring(way))
        except (RuntimeError, osmium.InvalidLocationError):
            geom = clipped_linestring(way)  # type: ignore[assignment]
            if geom is None:
                self.rejected.append(f"way/{way.id}: fewer than two nodes inside the extract")
                return
        self.geom_bytes += len(geom)
        all_tags = read_tags(data)
        self.layers["streets"].rows.append(
            (*self._head(data, "way", data.id(), geom), encode_tags(all_tags), self.sens, highway,
             all_tags.get("name"), int(is_walkable(all_tags)))
        )

    def area(self, area: osmium.osm.Area) -> None:
        """A building and/or a site (closed way or multipolygon), or nothing."""
        data = area._pyosmium_data
        if data.tags_size() == 1:  # most buildings: one tag, no site; no dict, a cached tail
            building = data.tags_get_value_by_key("building", None)
            if building is not None:
                tail = self._single.get(building)
                if tail is None:
                    tail = self._single[building] = self._one_tag_building(building)
                if tail:
                    self._plain_building(area, data, tail)
                    return
        self._area(area, data)

    def _plain_building(self, area: osmium.osm.Area, data: Any, tail: tuple) -> None:
        """The hot path: a building row from an area and its cached tail."""
        try:
            geom = bytearray.fromhex(self.wkb.create_multipolygon(area))
        except RuntimeError:
            self.rejected.append(f"area {data.orig_id()}: broken polygon")
            return
        area_id = data.id()  # libosmium: 2 × id of the way, or 2 × id + 1 of the relation
        if area_id >= 0:
            osm_type, osm_id = _AREA_TYPES[area_id & 1], area_id >> 1
        else:
            osm_type = "way" if data.from_way() else "relation"
            osm_id = data.orig_id()
        when = data.timestamp()
        ts = self._iso.get(when) or self._timestamp(when)  # the cache read inline: hot path
        if ts > self.max_ts:
            self.max_ts = ts
        version = data.version()
        sha = self._sha.get(version) or self._content_sha(version)
        self.geom_bytes += len(geom)
        self.buildings.append((osm_type, osm_id, version, ts, sha, geom, *tail))

    def _area(self, area: osmium.osm.Area, data: Any) -> None:
        all_tags = read_tags(data)
        building = all_tags.get("building")
        categories = site_categories(all_tags) if not _SITE_KEYS.isdisjoint(all_tags) else ()
        if (building is None or building == "no") and not categories:
            return
        try:
            geom = bytearray.fromhex(self.wkb.create_multipolygon(area))
        except RuntimeError:
            self.rejected.append(f"area {data.orig_id()}: broken polygon")
            return
        osm_type = "way" if data.from_way() else "relation"
        self.geom_bytes += len(geom)
        head = self._head(data, osm_type, data.orig_id(), geom)
        tail = None
        if categories:  # sites keep every tag, and so do buildings that are sites
            tags_json = encode_tags(all_tags)
            self._sites(head, categories, tags_json, all_tags.get("name"))
            tail = (tags_json, self.sens, *building_values(all_tags))
        if building is None or building == "no":
            return
        self.buildings.append(head + (tail or self._plain_tail(_selected(all_tags))))

    def _one_tag_building(self, building: str) -> tuple:
        """The row tail of a building with this one tag; () when it is no plain building."""
        tags = {"building": building}
        if building == "no" or site_categories(tags):
            return ()
        return self._plain_tail(tags)

    def _plain_tail(self, tags: dict[str, str]) -> tuple:
        """tags, sensitivity, building, obstacle, height_m, levels, min_height_m (cached)."""
        key = tuple(tags.items())
        tail = self._tails.get(key)
        if tail is None:
            if len(self._tails) >= _CACHE_MAX:
                self._tails.clear()
            tail = self._tails[key] = (encode_tags(tags), self.sens, *building_values(tags))
        return tail


_DEVICE_EXTRA = LAYER_COLUMNS["devices"]
#: the keys that decide whether a node is a device or a site (what site_categories reads),
#: the commonest on nodes first (Helsinki and Monaco)
_NODE_KEYS = tuple(dict.fromkeys((
    "highway", "amenity", "shop", "man_made", "office", "public_transport", "barrier",
    "railway", *(k for k in SITE_KEYS if k != "name"))))


_AREA_TYPES = ("way", "relation")


def _ignore(obj: object) -> None:
    return None


def _selected(tags: dict[str, str]) -> dict[str, str]:
    return {k: tags[k] for k in BUILDING_KEYS if k in tags}
