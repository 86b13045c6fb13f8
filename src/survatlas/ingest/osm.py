"""Import OpenStreetMap extracts (.osm.pbf, .osm, .osm.bz2) with pyosmium.

What is kept: ``man_made=surveillance`` and ``highway=speed_camera`` nodes (every raw tag, OSM id
and version); buildings (closed ways and multipolygon relations; ``building=roof`` is kept but
marked as no obstacle); highway ways other than motorways and unbuilt roads (with a ``walkable``
flag); and sites by category (:data:`survatlas.model.SITE_RULES`), as points or areas.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import osmium
import osmium.filter
import osmium.geom
import shapely

from survatlas import ODBL_ATTRIBUTION
from survatlas.errors import CorruptFileError, InputError, InputFileNotFoundError
from survatlas.ingest._writer import (
    ImportSummary,
    LayerWriter,
    Record,
    device_values,
    ensure_source,
    file_sha256,
    now_iso,
    record_import,
)
from survatlas.model import LAYERS, NON_STREET_HIGHWAYS, is_obstacle, is_walkable, site_categories
from survatlas.store import Store
from survatlas.tags import normalise_tags, parse_height

OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".osc", ".o5m")
CHUNK_SIZE = 20_000
#: tags kept for buildings that are not also sites (addresses and names are not needed)
BUILDING_KEYS = ("building", "height", "building:levels", "min_height", "building:min_level",
                 "roof:height", "roof:shape", "layer", "location", "building:part")
_KEYS = (
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
) -> ImportSummary:
    """Import an OSM extract into ``store`` in one transaction.

    The file is read in a background thread and written in chunks as it is read, so memory
    stays bounded by the chunk size and SQLite works while Python parses.

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

    Returns
    -------
    ImportSummary
        Added / updated / unchanged / skipped counts per layer and warnings by kind.
    """
    path = check_osm_path(path)
    started = now_iso()
    sha = file_sha256(path)
    reader = _ChunkReader(path, sensitivity, progress)
    with store.transaction() as conn:
        source_id = ensure_source(
            conn,
            kind="osm",
            title=path.name,
            uri=path.name,
            sha256=sha,
            retrieved_at=started,
            licence="ODbL-1.0",
            attribution=ODBL_ATTRIBUTION,
            sensitivity=sensitivity,
        )
        writers = {layer: LayerWriter(conn, layer, source_id) for layer in LAYERS}
        summary = ImportSummary(source_id=source_id, file=path.name)
        for layer, chunk in reader:
            writers[layer].add(chunk)
            for rec in chunk:
                for w in rec.warnings:
                    summary.warnings_by_kind[w.kind] = summary.warnings_by_kind.get(w.kind, 0) + 1
        summary.layers = {layer: w.finish() for layer, w in writers.items()}
        summary.rejected = reader.out.rejected
        conn.execute(
            "UPDATE sources SET data_timestamp = coalesce(data_timestamp, ?) WHERE id = ?",
            (reader.out.header_timestamp or reader.out.max_timestamp, source_id),
        )
        record_import(conn, source_id, "import osm", started, summary)
    return summary


class _ChunkReader:
    """Iterate ``(layer, records)`` chunks read from an OSM file by a background thread."""

    def __init__(
        self, path: Path, sensitivity: str, progress: Callable[[int], None] | None
    ) -> None:
        self.path, self.sensitivity, self.progress = path, sensitivity, progress
        self.out = OsmRecords()
        self.queue: queue.Queue = queue.Queue(maxsize=8)

    def __iter__(self) -> Iterator[tuple[str, list[Record]]]:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        while (item := self.queue.get()) is not None:
            if isinstance(item, BaseException):
                thread.join()
                raise item
            yield item
        thread.join()

    def _run(self) -> None:
        try:
            for chunk in read_osm_chunks(
                self.path, self.out, sensitivity=self.sensitivity, progress=self.progress
            ):
                self.queue.put(chunk)
            self.queue.put(None)
        except BaseException as exc:  # handed to the consuming thread
            self.queue.put(exc)


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
    for layer, chunk in read_osm_chunks(check_osm_path(path), out, sensitivity=sensitivity):
        out.layers[layer].extend(chunk)
    return out


def read_osm_chunks(
    path: Path,
    out: OsmRecords,
    *,
    sensitivity: str = "public",
    progress: Callable[[int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[tuple[str, list[Record]]]:
    """Yield ``(layer, records)`` chunks; ``out`` collects rejections and timestamps."""
    wkb = osmium.geom.WKBFactory()
    buffer = OsmRecords()
    try:
        fp = (
            osmium.FileProcessor(str(path))
            .with_areas(osmium.filter.KeyFilter("building", *_KEYS))
            .with_filter(osmium.filter.KeyFilter(*_KEYS))
        )
        out.header_timestamp = _header_timestamp(fp)
        for n, obj in enumerate(fp, 1):
            _handle(obj, wkb, buffer, sensitivity)
            if n % chunk_size == 0:
                yield from _drain(buffer, out)
                if progress:
                    progress(chunk_size)
    except RuntimeError as exc:
        raise CorruptFileError(
            f"{path.name} could not be read as OSM data ({exc}); re-download the extract"
        ) from exc
    yield from _drain(buffer, out)


def _drain(buffer: OsmRecords, out: OsmRecords) -> Iterator[tuple[str, list[Record]]]:
    out.rejected.extend(buffer.rejected)
    buffer.rejected.clear()
    if buffer.max_timestamp and (
        out.max_timestamp is None or buffer.max_timestamp > out.max_timestamp
    ):
        out.max_timestamp = buffer.max_timestamp
    for layer, records in buffer.layers.items():
        if records:
            yield layer, records
            buffer.layers[layer] = []


def _header_timestamp(fp: osmium.FileProcessor) -> str | None:
    value = fp.header.get("osmosis_replication_timestamp") or fp.header.get("timestamp")
    return value or None


def _handle(obj: object, wkb: osmium.geom.WKBFactory, out: OsmRecords, sens: str) -> None:
    if isinstance(obj, osmium.osm.Node):
        _node(obj, wkb, out, sens)
    elif isinstance(obj, osmium.osm.Way):
        _way(obj, wkb, out, sens)
    elif isinstance(obj, osmium.osm.Area):
        _area(obj, wkb, out, sens)


def _meta(obj: object, osm_type: str, osm_id: int, out: OsmRecords) -> dict:
    ts = obj.timestamp.isoformat() if obj.timestamp else None  # type: ignore[attr-defined]
    if ts and (out.max_timestamp is None or ts > out.max_timestamp):
        out.max_timestamp = ts
    return {
        "osm_type": osm_type,
        "osm_id": osm_id,
        "osm_version": obj.version,  # type: ignore[attr-defined]
        "osm_timestamp": ts,
    }


def _node(node: osmium.osm.Node, wkb: osmium.geom.WKBFactory, out: OsmRecords, sens: str) -> None:
    tags = dict(node.tags)
    is_device = tags.get("man_made") == "surveillance" or tags.get("highway") == "speed_camera"
    categories = site_categories(tags)
    if not (is_device or categories):
        return
    if not node.location.valid():
        out.rejected.append(f"node/{node.id}: invalid location")
        return
    geom = bytes.fromhex(wkb.create_point(node))
    meta = _meta(node, "node", node.id, out)
    origin = f"osm:node/{node.id}"
    if is_device:
        norm = normalise_tags(tags)
        values = device_values(norm, node.location.lon, node.location.lat)
        values["name"] = tags.get("name")
        out.layers["devices"].append(
            Record(origin, geom, values, tags, sensitivity=sens, warnings=norm.warnings, **meta)
        )
    for cat in categories:
        out.layers["sites"].append(
            Record(
                origin,
                geom,
                {"category": cat, "name": tags.get("name")},
                tags,
                sensitivity=sens,
                **meta,
            )
        )


def _way(way: osmium.osm.Way, wkb: osmium.geom.WKBFactory, out: OsmRecords, sens: str) -> None:
    highway = way.tags.get("highway")
    if highway is None or highway in NON_STREET_HIGHWAYS or way.tags.get("area") == "yes":
        if way.tags.get("man_made") == "surveillance":
            out.rejected.append(f"way/{way.id}: man_made=surveillance on a way (map it as a node)")
        return
    try:
        geom = bytes.fromhex(wkb.create_linestring(way))
    except (RuntimeError, osmium.InvalidLocationError):
        geom = _clipped_linestring(way)
        if geom is None:
            out.rejected.append(f"way/{way.id}: fewer than two nodes inside the extract")
            return
    tags = dict(way.tags)
    values = {"highway": highway, "name": tags.get("name"), "walkable": int(is_walkable(tags))}
    out.layers["streets"].append(
        Record(
            f"osm:way/{way.id}",
            geom,
            values,
            tags,
            sensitivity=sens,
            **_meta(way, "way", way.id, out),
        )
    )


def _clipped_linestring(way: osmium.osm.Way) -> bytes | None:
    """The part of a way whose nodes lie inside the extract (clipped extracts cut ways)."""
    coords = [(n.lon, n.lat) for n in way.nodes if n.location.valid()]
    coords = [c for i, c in enumerate(coords) if i == 0 or c != coords[i - 1]]
    if len(coords) < 2:
        return None
    return shapely.to_wkb(shapely.LineString(coords))


def _area(area: osmium.osm.Area, wkb: osmium.geom.WKBFactory, out: OsmRecords, sens: str) -> None:
    all_tags = dict(area.tags)
    building = all_tags.get("building")
    categories = site_categories(all_tags)
    if (building is None or building == "no") and not categories:
        return
    # Sites keep every tag; plain buildings keep the tags that matter for obstruction.
    tags = all_tags if categories else _selected_tags(all_tags, BUILDING_KEYS)
    try:
        geom = bytes.fromhex(wkb.create_multipolygon(area))
    except RuntimeError:
        out.rejected.append(f"area {area.orig_id()}: broken polygon")
        return
    osm_type = "way" if area.from_way() else "relation"
    origin = f"osm:{osm_type}/{area.orig_id()}"
    meta = _meta(area, osm_type, area.orig_id(), out)
    if building is not None and building != "no":
        out.layers["buildings"].append(
            Record(origin, geom, _building_values(tags), tags, sensitivity=sens, **meta)
        )
    for cat in categories:
        out.layers["sites"].append(
            Record(
                origin,
                geom,
                {"category": cat, "name": tags.get("name")},
                tags,
                sensitivity=sens,
                **meta,
            )
        )


def _selected_tags(tags: dict[str, str], keys: tuple[str, ...]) -> dict[str, str]:
    return {k: tags[k] for k in keys if k in tags}


def _building_values(tags: dict[str, str]) -> dict:
    return {
        "building": tags.get("building"),
        "obstacle": int(is_obstacle(tags)),
        "height_m": _number(tags.get("height"), parse_height),
        "levels": _number(tags.get("building:levels"), float),
        "min_height_m": _number(tags.get("min_height"), parse_height),
    }


def _number(value: str | None, parse: Callable[[str], float]) -> float | None:
    if value is None:
        return None
    try:
        return float(parse(value))
    except (ValueError, TypeError):
        return None
