"""OSM context of the map: water, parks and green, rail, motorways and place names."""

from __future__ import annotations

import sqlite3

from survatlas.store._migrations import add_rtree, migration


@migration("m0700_context")
def context(conn: sqlite3.Connection) -> None:
    """Create ``context``: features drawn under the data so that a reader knows the place.

    One row per OSM object: ``kind`` (water, green, rail, road, place), ``class`` (the tag
    value: river, park, tram, motorway, suburb …), its name and ``name:xx`` names in ``tags``.
    Read through the publish gate like every layer (``sensitivity``).
    """
    conn.execute(
        """CREATE TABLE context (
            id INTEGER PRIMARY KEY,
            origin TEXT NOT NULL,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            kind TEXT NOT NULL CHECK (kind IN ('water', 'green', 'rail', 'road', 'place')),
            class TEXT NOT NULL,
            name TEXT,
            geom BLOB NOT NULL,
            min_x REAL NOT NULL, min_y REAL NOT NULL, max_x REAL NOT NULL, max_y REAL NOT NULL,
            tags TEXT NOT NULL DEFAULT '{}',
            sensitivity TEXT NOT NULL DEFAULT 'public'
                CHECK (sensitivity IN ('public', 'restricted', 'confidential'))
        )"""
    )
    conn.execute("CREATE UNIQUE INDEX context_origin ON context(origin)")
    conn.execute("CREATE INDEX context_source ON context(source_id)")
    add_rtree(conn, "context")
