"""Map context from an OSM extract: water, parks and green, rail, motorways and place names.

The map of a city must let a reader recognise it. These features are read from the same file
as the devices — by the compiled reader in the same pass, else in a second pyosmium pass
(:mod:`survatlas.ingest._context_rules` holds the rules both apply) — and written to the
``context`` table (migration ``m0700_context``) in the import's transaction. A re-import of
the same area replaces the context it had: features no longer in the file's box are removed.
Every row carries the import's sensitivity and source (ODbL).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path

import osmium
import shapely

from survatlas.ingest._context_rules import (
    AREA_KEYS,
    CONTEXT_CLASSES,
    PAIRS,
    ContextRow,
    context_row,
)
from survatlas.ingest._osmread import node_locations

__all__ = ["CONTEXT_CLASSES", "ContextRow", "ContextWriter", "read_context"]


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
            .with_areas(osmium.filter.KeyFilter(*AREA_KEYS))
            .with_filter(osmium.filter.EntityFilter(osmium.osm.NODE | osmium.osm.WAY | osmium.osm.AREA))
            .with_filter(osmium.filter.TagFilter(*PAIRS))  # in C++: few objects reach Python
        )
        for obj in processor:
            tags = dict(islice(obj.tags, len(obj.tags)))
            if obj.is_node():
                point = shapely.to_wkb(shapely.Point(obj.location.lon, obj.location.lat)) if (
                    obj.location.valid()) else None
                row = context_row("n", "node", obj.id, point, tags)
            elif obj.is_way():
                row = context_row("w", "way", obj.id, _line(obj), tags)
            else:
                try:
                    geom = bytes.fromhex(wkb.create_multipolygon(obj))
                except RuntimeError:
                    geom = None  # a broken polygon: the map simply lacks it
                row = context_row("a", "way" if obj.from_way() else "relation", obj.orig_id(),
                                  geom, tags)
            if row is not None:
                yield row


class ContextWriter:
    """Upserts context rows into ``context`` as they come (the compiled reader hands them over
    chunk by chunk, in the pass that reads the rest of the file); :meth:`finish` removes older
    features inside the file's bounds that the import did not see."""

    _SQL = (
        "INSERT INTO context (origin, source_id, kind, class, name, geom, min_x, min_y, max_x, "
        "max_y, tags, sensitivity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(origin) DO UPDATE SET source_id = excluded.source_id, kind = excluded.kind, "
        "class = excluded.class, name = excluded.name, geom = excluded.geom, "
        "min_x = excluded.min_x, min_y = excluded.min_y, max_x = excluded.max_x, "
        "max_y = excluded.max_y, tags = excluded.tags, sensitivity = excluded.sensitivity"
    )

    def __init__(self, conn: sqlite3.Connection, source_id: int, sensitivity: str) -> None:
        self.conn, self.source_id, self.sensitivity = conn, source_id, sensitivity
        self.counts: dict[str, int] = {}
        self.seen: list[str] = []

    def add(self, rows: Iterable[ContextRow]) -> None:
        """Upsert ``rows`` (5,000 at a time)."""
        batch: list[tuple] = []
        for row in rows:
            w, s, e, n = shapely.bounds(shapely.from_wkb(row.geom)).tolist()
            batch.append((row.origin, self.source_id, row.kind, row.klass, row.name, row.geom,
                          w, s, e, n, json.dumps(row.tags, ensure_ascii=False, sort_keys=True),
                          self.sensitivity))
            self.seen.append(row.origin)
            self.counts[row.kind] = self.counts.get(row.kind, 0) + 1
            if len(batch) >= 5000:
                self.conn.executemany(self._SQL, batch)
                batch.clear()
        self.conn.executemany(self._SQL, batch)

    def finish(self, bounds: Sequence[float] | None) -> dict[str, int]:
        """Index the new rows, remove the stale ones inside ``bounds``.

        Returns
        -------
        dict
            Features written per kind, and ``removed``.
        """
        self.conn.execute(
            "INSERT INTO context_rtree SELECT id, min_x, max_x, min_y, max_y FROM context "
            "WHERE id NOT IN (SELECT id FROM context_rtree)"
        )
        removed = _remove_stale(self.conn, self.seen, bounds) if bounds is not None else 0
        return {**self.counts, "removed": removed}


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
