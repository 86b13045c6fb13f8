"""The OSM read loop in compiled code: libosmium reads, Python decides column-wise.

``survatlas.ingest._osmcore`` (``_osmcore.cpp``, built by ``make osmcore``) reads the file with
libosmium — the same library, node-location index, area assembly and tag filters as
:func:`survatlas.ingest._osmread.osm_file_processor` — and hands over whole chunks, not one
Python object per OSM object:

- plain buildings (no tag that can make a site) as columns, with their kept tags already
  encoded as :func:`~survatlas.ingest._osmvalues.encode_tags` encodes them; their remaining
  columns come from a cache per distinct tag set;
- streets as columns (tags JSON, ``highway``, ``name`` and the tags the walking rule reads);
- the few objects whose decision needs the project's vocabularies — nodes and areas that may
  be devices or sites — as tuples with their tags, decided here by the same rules as
  :class:`~survatlas.ingest._osmread._RowBuilder`; and the rejected objects, in file order.

The extension applies only key and value sets handed to it from :mod:`survatlas.vocab` (no
vocabulary is spelled in C++). Without a current build (no compiler, or a source changed since
the build) :func:`current_build` is None and the importer reads with pyosmium.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from survatlas.errors import CorruptFileError
from survatlas.ingest._context_rules import AREA_KEYS, PAIRS, context_row
from survatlas.ingest._osmvalues import building_values, encode_tags
from survatlas.ingest._records import LAYER_COLUMNS, RowChunk, device_values, osm_content_sha
from survatlas.ingest.tags import normalise_tags
from survatlas.vocab import (
    NON_STREET_HIGHWAYS,
    SITE_KEYS,
    SITE_RULES,
    TRAVEL_RULES,
    is_walkable,
    site_categories,
)

SOURCE = Path(__file__).with_name("_osmcore.cpp")
#: the tags :func:`survatlas.vocab.is_walkable` reads
WALK_KEYS = ("highway", TRAVEL_RULES["walk"].tag, "access")
_SITE_KEYS = frozenset(SITE_KEYS) - {"name"}
_DEVICE_EXTRA = LAYER_COLUMNS["devices"]
_LAYERS = ("devices", "buildings", "streets", "sites")
#: objects in the first chunk read (see :func:`chunk_sizes`)
FIRST_CHUNK = 4_000


def source_digest() -> str:
    """Hash of the extension's source (a build records the hash it was built from)."""
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]


@cache
def current_build() -> ModuleType | None:
    """The compiled reader, or None when it is missing, stale or disabled.

    ``SURVATLAS_OSM_READER=pyosmium`` in the environment disables it (to compare the readers).
    """
    if os.environ.get("SURVATLAS_OSM_READER") == "pyosmium":
        return None
    try:
        from survatlas.ingest import _osmcore  # type: ignore[attr-defined]
    except ImportError:
        return None
    if SOURCE.exists() and _osmcore.source_hash() != source_digest():
        return None
    return _osmcore


def active_reader() -> str:
    """``"libosmium"`` (a current build of ``_osmcore``) or ``"pyosmium"``: who reads."""
    return "pyosmium" if current_build() is None else "libosmium"


def site_rules() -> list[tuple[str, bool, tuple[str, ...]]]:
    """The tags that may make a site, for the extension: ``(key, any value but "no", values)``
    from :data:`survatlas.vocab.SITE_RULES`, and ``area=yes`` (with ``highway=pedestrian``
    it makes public space: :func:`survatlas.vocab.site_categories`). An object with none of
    them has no site category; the others are decided here."""
    rules = [(key, allowed is None, tuple(sorted(allowed or ())))
             for category in SITE_RULES.values() for key, allowed in category]
    return [*rules, ("area", False, ("yes",))]


def compiled_read(
    core: ModuleType,
    path: Path,
    sensitivity: str,
    chunk_size: int,
    chunk_bytes: int,
    keys: tuple[str, ...],
    building_keys: tuple[str, ...],
    index_file: str | None,
    context: bool = False,
) -> CompiledMessages:
    """The messages of :func:`survatlas.ingest._osmread.read_messages`, read by ``core``; node
    locations in ``index_file`` (a new empty file, removed once opened) or in memory (None).
    With ``context``, also ``("context", [ContextRow, …])`` messages: the map's context, read
    in the same pass (:mod:`survatlas.ingest._context_rules`).

    Reading starts now (:class:`CompiledMessages`): a file is opened and its first chunks
    read while the importer prepares its transaction.
    """
    fd = index_fd(index_file)
    header: dict[str, str] = {}
    sizes = chunk_sizes(chunk_size)

    def start() -> Any:
        reader = core.open(str(path), keys, sorted(NON_STREET_HIGHWAYS), site_rules(),
                           building_keys, WALK_KEYS, fd, PAIRS if context else [],
                           AREA_KEYS if context else [])
        header["timestamp"] = core.header_timestamp(reader)
        return reader

    try:
        ahead = ReadAhead(start, lambda reader: core.read(reader, next(sizes), chunk_bytes))
    except BaseException:
        _close_fd(fd)
        raise
    decide = _Decisions(sensitivity, building_keys, context)
    return CompiledMessages(path, ahead, decide, header, fd)


def chunk_sizes(largest: int) -> Iterator[int]:
    """Objects per chunk: :data:`FIRST_CHUNK` first, then twice the last, up to ``largest``.

    A small first chunk is decided and written while the next is read (a small file in one
    chunk would be read, then decided, then written); large chunks cost less per object.
    """
    size = min(FIRST_CHUNK, largest)
    while True:
        yield size
        size = min(2 * size, largest)


class CompiledMessages:
    """The messages of one compiled read, in order; iterate once, and always :meth:`close`.

    Raises :class:`~survatlas.errors.CorruptFileError` (with libosmium's message) for a file
    it cannot read.
    """

    def __init__(
        self, path: Path, ahead: ReadAhead, decide: _Decisions, header: dict[str, str], fd: int
    ) -> None:
        self._close = weakref.finalize(self, _stop, ahead, fd)  # also when never iterated
        # the generator holds no reference to this object: dropped unread, it is closed at once
        self._messages = _messages(path, ahead, decide, header, self._close)

    def __iter__(self) -> CompiledMessages:
        return self

    def __next__(self) -> tuple[str, Any]:
        return next(self._messages)

    def close(self) -> None:
        """Stop the reading thread and release the node-location file (idempotent)."""
        self._close()


def _messages(
    path: Path, ahead: ReadAhead, decide: _Decisions, header: dict[str, str],
    close: Callable[[], Any],
) -> Iterator[tuple[str, Any]]:
    try:
        for chunk in ahead:
            yield from decide.chunk(chunk)
    except RuntimeError as exc:  # hostile files: libosmium's message
        raise CorruptFileError(
            f"{path.name} could not be read as OSM data ({exc}); re-download the extract"
        ) from exc
    finally:
        close()
    timestamp = header.get("timestamp")
    yield "end", ReadEnd(decide.rejected, decide.max_ts or None, timestamp or None,
                         decide.context)


def _stop(ahead: ReadAhead, fd: int) -> None:
    ahead.close()
    _close_fd(fd)


def _close_fd(fd: int) -> None:
    if fd >= 0:
        os.close(fd)


class ReadAhead:
    """The results of ``read(handle)`` until None, ``handle = start()``: a thread, started
    now, opens and reads one result ahead of the consumer.

    The extension opens and reads without the GIL, so the file is read while this thread
    decides and SQLite writes (which also runs without the GIL). An error of ``start`` or
    ``read`` is raised to the consumer; after :meth:`close` the thread ends after its current
    read. The thread holds no reference to this object.
    """

    def __init__(self, start: Callable[[], Any], read: Callable[[Any], Any]) -> None:
        self._results: queue.Queue = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=_read_ahead, args=(start, read, self._results, self._stop),
            name="survatlas-osm-reader", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[Any]:
        while not self._stop.is_set():
            kind, value = self._results.get()
            if kind == "error":
                raise value
            if value is None:
                return
            yield value

    def close(self) -> None:
        """Stop the thread and wait for it (idempotent)."""
        self._stop.set()
        with suppress(queue.Empty):
            self._results.get_nowait()  # unblock a waiting put
        self._thread.join()


def _read_ahead(
    start: Callable[[], Any], read: Callable[[Any], Any], results: queue.Queue,
    stop: threading.Event,
) -> None:
    try:
        handle = start()
        while not stop.is_set():
            chunk = read(handle)
            _put(results, stop, ("chunk", chunk))
            if chunk is None:
                return
    except BaseException as exc:  # handed to the consumer
        _put(results, stop, ("error", exc))


def _put(results: queue.Queue, stop: threading.Event, item: tuple) -> None:
    while not stop.is_set():
        with suppress(queue.Full):
            results.put(item, timeout=0.1)
            return


@dataclass
class ReadEnd:
    """What the reader reports once the file is read."""

    rejected: list[str] = field(default_factory=list)
    max_timestamp: str | None = None
    header_timestamp: str | None = None
    #: the map's context came as ``("context", rows)`` messages (no second pass needed)
    context: bool = False


def index_fd(name: str | None) -> int:
    """An open descriptor of the node-location file ``name`` (removed now), or -1 (memory)."""
    if name is None:
        return -1
    try:
        return os.open(name, os.O_RDWR)
    finally:
        with suppress(OSError):
            os.unlink(name)


class _Decisions:
    """Rows from the extension's chunks: vocabulary decisions, cached per distinct value."""

    def __init__(
        self, sensitivity: str, building_keys: tuple[str, ...], context: bool = False
    ) -> None:
        self.sens, self.building_keys, self.context = sensitivity, building_keys, context
        self.rejected: list[str] = []
        self.max_ts = ""
        self._sha: dict[int, str] = {}
        self._tails: dict[str, tuple] = {}
        self._walk: dict[tuple, int] = {}

    def chunk(self, chunk: tuple) -> Iterator[tuple[str, Any]]:
        """``("rows", RowChunk)`` per layer with rows, ``("context", rows)`` if any, then
        ``("progress", n)``."""
        (b_type, b_id, b_version, b_ts, b_geom, b_kept), streets, candidates, n, _, max_ts, \
            b_boxes, s_boxes, context = chunk
        if max_ts is not None and max_ts > self.max_ts:
            self.max_ts = max_ts
        rows: dict[str, list] = {"devices": [], "sites": []}
        boxes: dict[str, list] = {"devices": [], "sites": []}
        warnings: list = []
        extra: list[tuple[int, tuple, tuple]] = []  # buildings that are sites: position, row, box
        for item in candidates:
            self._candidate(item, rows, boxes, warnings, extra)
        buildings = None
        if b_id:
            tails = [self._tails.get(k) or self._tail(k) for k in b_kept]
            buildings = [b_type, b_id, b_version, b_ts, self._shas(b_version), b_geom,
                         *map(list, zip(*tails, strict=True))]
        b_bounds = _boxes(b_boxes)
        if extra:
            buildings = _merged(buildings, extra)
            b_bounds = np.insert(b_bounds, [p for p, _, _ in extra], [b for *_, b in extra], 0)
        out = {
            "devices": (_columns(rows["devices"]), _boxes(boxes["devices"])),
            "buildings": (buildings, b_bounds),
            "streets": (self._streets(streets), _boxes(s_boxes)),
            "sites": (_columns(rows["sites"]), _boxes(boxes["sites"])),
        }
        for layer in _LAYERS:
            columns, bounds = out[layer]
            if columns:
                yield "rows", RowChunk(layer, columns, bounds,
                                       warnings if layer == "devices" else None, osm=True)
        features = [row for kind, osm_type, osm_id, geom, flat in context if (row := context_row(
            kind, osm_type, osm_id, geom, dict(zip(flat[::2], flat[1::2], strict=True))))]
        if features:
            yield "context", features
        yield "progress", n

    def _shas(self, versions: list[int]) -> list[str]:
        sha = self._sha
        return [sha.get(v) or sha.setdefault(v, osm_content_sha(v)) for v in versions]

    def _tail(self, kept: str) -> tuple:
        """tags, sensitivity, building, obstacle, height_m, levels, min_height_m."""
        tail = self._tails[kept] = (kept, self.sens, *building_values(json.loads(kept)))
        return tail

    def _streets(self, streets: tuple) -> list[list] | None:
        ids, versions, ts, geoms, tags, highway, names, walk = streets
        if not ids:
            return None
        cache = self._walk
        walkable = [cache.get(w) if w in cache else self._walkable(w) for w in walk]
        self.max_ts = max(self.max_ts, max(ts))
        return [["way"] * len(ids), ids, versions, ts, self._shas(versions), geoms, tags,
                [self.sens] * len(ids), highway, names, walkable]

    def _walkable(self, values: tuple) -> int:
        tags = {k: v for k, v in zip(WALK_KEYS, values, strict=True) if v is not None}
        walk = self._walk[values] = int(is_walkable(tags))
        return walk

    def _head(self, osm_type: str, osm_id: int, version: int, ts: str, geom: Any) -> tuple:
        if ts > self.max_ts:
            self.max_ts = ts
        sha = self._sha.get(version) or self._sha.setdefault(version, osm_content_sha(version))
        return (osm_type, osm_id, version, ts, sha, geom)

    def _candidate(
        self, item: tuple, rows: dict, boxes: dict, warnings: list, extra: list
    ) -> None:
        """One node or area that may be a device or a site, or a rejected object."""
        if item[0] == "r":
            self.rejected.append(item[1])
            return
        kind, osm_type, osm_id, version, ts, lon, lat, geom, flat, position, box = item
        tags = dict(zip(flat[::2], flat[1::2], strict=True))
        if kind == "n":
            device = tags.get("man_made") == "surveillance" or tags.get("highway") == (
                "speed_camera")
            categories = site_categories(tags)
            if not (device or categories):
                return
            if geom is None:
                self.rejected.append(f"node/{osm_id}: invalid location")
                return
            head = self._head(osm_type, osm_id, version, ts, geom)
            tags_json = encode_tags(tags)
            if device:
                norm = normalise_tags(tags)
                values = device_values(norm, lon, lat)
                values["name"] = tags.get("name")
                rows["devices"].append((*head, tags_json, self.sens,
                                        *map(values.get, _DEVICE_EXTRA)))
                boxes["devices"].append(box)
                warnings.append(norm.warnings)
            rows["sites"] += [(*head, tags_json, self.sens, c, tags.get("name"))
                              for c in categories]
            boxes["sites"] += [box] * len(categories)
            return
        building = tags.get("building")
        categories = site_categories(tags) if not _SITE_KEYS.isdisjoint(tags) else ()
        is_building = building is not None and building != "no"
        if not (is_building or categories):
            return
        if geom is None:
            self.rejected.append(f"area {osm_id}: broken polygon")
            return
        head = self._head(osm_type, osm_id, version, ts, geom)
        tail = None
        if categories:  # sites keep every tag, and so do buildings that are sites
            tags_json = encode_tags(tags)
            rows["sites"] += [(*head, tags_json, self.sens, c, tags.get("name"))
                              for c in categories]
            boxes["sites"] += [box] * len(categories)
            tail = (tags_json, self.sens, *building_values(tags))
        if is_building:
            if tail is None:
                kept = encode_tags({k: tags[k] for k in self.building_keys if k in tags})
                tail = self._tails.get(kept) or self._tail(kept)
            extra.append((position, head + tail, box))


def _columns(rows: list[tuple]) -> list[list] | None:
    return [list(c) for c in zip(*rows, strict=True)] if rows else None


def _boxes(boxes: bytes | list[tuple]) -> np.ndarray:
    """``(n, 4)`` bounds from the extension's packed doubles or from box tuples."""
    if isinstance(boxes, bytes):
        return np.frombuffer(boxes, dtype=np.float64).reshape(-1, 4)
    return np.array(boxes, dtype=np.float64).reshape(-1, 4)


def _merged(columns: list[list] | None, extra: list[tuple[int, tuple, tuple]]) -> list[list]:
    """Building columns with the rows of ``extra`` inserted at their positions (in order)."""
    rows = list(zip(*columns, strict=True)) if columns else []
    out: list[tuple] = []
    done = 0
    for position, row, _ in extra:
        out += rows[done:position]
        done = max(done, position)
        out.append(row)
    out += rows[done:]
    return [list(c) for c in zip(*out, strict=True)]
