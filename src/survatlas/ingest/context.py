"""Map context from an OSM extract: water, parks and green, rail, motorways and place names.

The map of a city must let a reader recognise it. These features are read from the same file
as the devices, in a second pyosmium pass (the first is tuned for devices, buildings and
streets), and written to the ``context`` table (migration ``m0700_context``) in the import's
transaction. A re-import of the same area replaces the context it had: features no longer in
the file's box are removed. Every row carries the import's sensitivity and source (ODbL).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import osmium
import shapely

from survatlas.ingest._osmread import node_locations

__all__ = ["CONTEXT_CLASSES", "ContextRow", "read_context", "write_context"]

#: kind -> OSM key -> values kept (the value becomes the feature's class).
CONTEXT_CLASSES: dict[str, dict[str, frozenset[str]]] = {
    "water": {
        "natural": frozenset({"water", "bay", "strait", "wetland"}),
        "waterway": frozenset({"river", "canal", "stream", "riverbank", "dock"}),
        "landuse": frozenset({"reservoir", "basin"}),
    },
    "green": {
        "leisure": frozenset({"park", "garden", "nature_reserve", "golf_course", "pitch",
                              "playground", "recreation_ground", "dog_park"}),
        "landuse": frozenset({"grass", "forest", "meadow", "recreation_ground", "cemetery",
                              "village_green", "allotments", "orchard", "vineyard"}),
        "natural": frozenset({"wood", "scrub", "grassland", "heath", "beach"}),
    },
    "rail": {
        "railway": frozenset({"rail", "light_rail", "subway", "tram", "narrow_gauge",
                              "monorail", "funicular"}),
    },
    "road": {
        "highway": frozenset({"motorway", "motorway_link", "trunk", "trunk_link"}),
    },
    "place": {
        "place": frozenset({"city", "town", "village", "hamlet", "borough", "suburb", "quarter",
                            "neighbourhood", "island", "islet", "locality"}),
    },
}
_PAIRS = sorted(
    (key, value)
    for classes in CONTEXT_CLASSES.values()
    for key, values in classes.items()
    for value in values
)
_AREA_KEYS = ("natural", "waterway", "landuse", "leisure")
_LINE_KINDS = frozenset({"rail", "road"})
_LINEAR_WATER = frozenset({"river", "canal", "stream"})
#: tags kept with a feature besides its names
_KEPT = ("tunnel", "bridge", "layer", "service", "intermittent", "population")


@dataclass(frozen=True)
class ContextRow:
    """One context feature: origin (``osm:way/1``), kind, class, name, WKB and kept tags."""

    origin: str
    kind: str
    klass: str
    name: str | None
    geom: bytes
    tags: dict[str, str]


def _classify(tags: dict[str, str], *, area: bool) -> tuple[str, str] | None:
    for kind, classes in CONTEXT_CLASSES.items():
        if area and kind in _LINE_KINDS:
            continue
        for key, values in classes.items():
            value = tags.get(key)
            if value in values:
                if not area and kind in ("water", "green") and value not in _LINEAR_WATER:
                    continue  # the outline way of an area: the area carries it
                if kind == "place" and area:
                    continue  # place names are points
                return kind, value
    return None


def _kept(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k.startswith("name") or k in _KEPT}


def _line(way: osmium.osm.Way) -> bytes | None:
    coords = [(n.lon, n.lat) for n in way.nodes if n.location.valid()]
    coords = [c for i, c in enumerate(coords) if i == 0 or c != coords[i - 1]]
    return shapely.to_wkb(shapely.LineString(coords)) if len(coords) >= 2 else None


def read_context(path: Path, *, index_dir: Path | None = None) -> Iterator[ContextRow]:
    """The context features of the OSM file at ``path`` (one pyosmium pass)."""
    wkb = osmium.geom.WKBFactory()
    with node_locations(path, directory=index_dir) as locations:
        processor = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY | osmium.osm.RELATION)
            .with_locations(locations)
            .with_areas(osmium.filter.KeyFilter(*_AREA_KEYS))
            .with_filter(osmium.filter.EntityFilter(osmium.osm.NODE | osmium.osm.WAY | osmium.osm.AREA))
            .with_filter(osmium.filter.TagFilter(*_PAIRS))  # in C++: few objects reach Python
        )
        for obj in processor:
            tags = dict(islice(obj.tags, len(obj.tags)))
            if obj.is_node():
                found = _classify(tags, area=False)
                if found and found[0] == "place" and tags.get("name") and obj.location.valid():
                    point = shapely.to_wkb(shapely.Point(obj.location.lon, obj.location.lat))
                    yield ContextRow(f"osm:node/{obj.id}", *found, tags["name"], point, _kept(tags))
            elif obj.is_way():
                found = _classify(tags, area=False)
                if found and found[0] != "place" and (geom := _line(obj)) is not None:
                    yield ContextRow(f"osm:way/{obj.id}", *found, tags.get("name"), geom, _kept(tags))
            elif obj.is_area():
                found = _classify(tags, area=True)
                if found is None:
                    continue
                try:
                    geom = bytes.fromhex(wkb.create_multipolygon(obj))
                except RuntimeError:
                    continue  # a broken polygon: the map simply lacks it
                kind = "way" if obj.from_way() else "relation"
                yield ContextRow(f"osm:{kind}/{obj.orig_id()}:area", *found, tags.get("name"),
                                 geom, _kept(tags))


def write_context(
    conn: sqlite3.Connection,
    source_id: int,
    rows: Iterator[ContextRow],
    *,
    sensitivity: str = "public",
    bounds: Sequence[float] | None = None,
) -> dict[str, int]:
    """Upsert ``rows`` into ``context``; remove older features inside ``bounds`` not in them.

    Returns
    -------
    dict
        Features written per kind, and ``removed``.
    """
    counts: dict[str, int] = {}
    seen: list[str] = []
    sql = (
        "INSERT INTO context (origin, source_id, kind, class, name, geom, min_x, min_y, max_x, "
        "max_y, tags, sensitivity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(origin) DO UPDATE SET source_id = excluded.source_id, kind = excluded.kind, "
        "class = excluded.class, name = excluded.name, geom = excluded.geom, "
        "min_x = excluded.min_x, min_y = excluded.min_y, max_x = excluded.max_x, "
        "max_y = excluded.max_y, tags = excluded.tags, sensitivity = excluded.sensitivity"
    )
    batch: list[tuple] = []
    for row in rows:
        w, s, e, n = shapely.bounds(shapely.from_wkb(row.geom)).tolist()
        batch.append((row.origin, source_id, row.kind, row.klass, row.name, row.geom, w, s, e, n,
                      json.dumps(row.tags, ensure_ascii=False, sort_keys=True), sensitivity))
        seen.append(row.origin)
        counts[row.kind] = counts.get(row.kind, 0) + 1
        if len(batch) >= 5000:
            conn.executemany(sql, batch)
            batch.clear()
    conn.executemany(sql, batch)
    conn.execute(
        "INSERT INTO context_rtree SELECT id, min_x, max_x, min_y, max_y FROM context "
        "WHERE id NOT IN (SELECT id FROM context_rtree)"
    )
    counts["removed"] = _remove_stale(conn, seen, bounds) if bounds is not None else 0
    return counts


def _remove_stale(conn: sqlite3.Connection, seen: list[str], bounds: Sequence[float]) -> int:
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS context_seen (origin TEXT PRIMARY KEY)")
    conn.execute("DELETE FROM context_seen")
    conn.executemany("INSERT OR IGNORE INTO context_seen VALUES (?)", ((o,) for o in seen))
    w, s, e, n = bounds
    cursor = conn.execute(
        "DELETE FROM context WHERE id IN (SELECT id FROM context_rtree WHERE min_x >= ? AND "
        "max_x <= ? AND min_y >= ? AND max_y <= ?) AND origin NOT IN (SELECT origin FROM "
        "context_seen)",
        (w, e, s, n),
    )
    conn.execute("DELETE FROM context_seen")
    return cursor.rowcount
