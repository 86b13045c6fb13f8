"""Foundation schema: sources, devices (+ warnings), buildings, streets, sites, imports."""

from __future__ import annotations

import sqlite3

from survatlas.store._migrations import add_rtree, migration

_SENS = (
    "sensitivity TEXT NOT NULL DEFAULT 'public' "
    "CHECK (sensitivity IN ('public', 'restricted', 'confidential'))"
)
_BBOX = "min_x REAL NOT NULL, min_y REAL NOT NULL, max_x REAL NOT NULL, max_y REAL NOT NULL"
_ORIGIN = (
    "origin TEXT NOT NULL, "
    "source_id INTEGER NOT NULL REFERENCES sources(id), "
    "osm_type TEXT, osm_id INTEGER, osm_version INTEGER, osm_timestamp TEXT, "
    "content_sha TEXT NOT NULL"
)


@migration("m0001_foundation")
def foundation(conn: sqlite3.Connection) -> None:
    """Create the foundation tables and their R*Tree indexes."""
    conn.execute(
        f"""CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            title TEXT NOT NULL,
            uri TEXT,
            sha256 TEXT UNIQUE,
            data_timestamp TEXT,
            retrieved_at TEXT,
            licence TEXT,
            attribution TEXT,
            {_SENS}
        )"""
    )
    conn.execute(
        f"""CREATE TABLE devices (
            id INTEGER PRIMARY KEY,
            {_ORIGIN},
            device_type TEXT NOT NULL,
            area TEXT, zone TEXT, mount TEXT, camera_type TEXT,
            views TEXT NOT NULL DEFAULT '[]',
            tilt_down_deg REAL, height_m REAL,
            operator TEXT, manufacturer TEXT, model TEXT, name TEXT,
            fov_deg REAL, range_m REAL, focal_mm REAL, sensor_width_mm REAL, width_px INTEGER,
            lon REAL NOT NULL, lat REAL NOT NULL,
            geom BLOB NOT NULL, {_BBOX},
            tags TEXT NOT NULL DEFAULT '{{}}',
            {_SENS}
        )"""
    )
    conn.execute(
        """CREATE TABLE device_warnings (
            id INTEGER PRIMARY KEY,
            device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
            key TEXT NOT NULL, value TEXT NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX device_warnings_device ON device_warnings(device_id)")
    conn.execute(
        f"""CREATE TABLE buildings (
            id INTEGER PRIMARY KEY,
            {_ORIGIN},
            building TEXT, obstacle INTEGER NOT NULL DEFAULT 1,
            height_m REAL, levels REAL, min_height_m REAL,
            geom BLOB NOT NULL, {_BBOX},
            tags TEXT NOT NULL DEFAULT '{{}}',
            {_SENS}
        )"""
    )
    conn.execute(
        f"""CREATE TABLE streets (
            id INTEGER PRIMARY KEY,
            {_ORIGIN},
            highway TEXT NOT NULL, name TEXT, walkable INTEGER NOT NULL,
            geom BLOB NOT NULL, {_BBOX},
            tags TEXT NOT NULL DEFAULT '{{}}',
            {_SENS}
        )"""
    )
    conn.execute(
        f"""CREATE TABLE sites (
            id INTEGER PRIMARY KEY,
            {_ORIGIN},
            category TEXT NOT NULL, name TEXT,
            geom BLOB NOT NULL, {_BBOX},
            tags TEXT NOT NULL DEFAULT '{{}}',
            {_SENS}
        )"""
    )
    conn.execute(
        """CREATE TABLE imports (
            id INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            command TEXT NOT NULL,
            started_at TEXT NOT NULL, finished_at TEXT NOT NULL,
            summary TEXT NOT NULL
        )"""
    )
    # Named (not inline) unique keys, so that a bulk import into an empty table can build them
    # once at the end (survatlas.ingest._writer.LayerWriter), which is several times cheaper.
    for table in ("devices", "buildings", "streets"):
        conn.execute(f"CREATE UNIQUE INDEX {table}_origin ON {table}(origin)")
    conn.execute("CREATE UNIQUE INDEX sites_origin ON sites(origin, category)")
    for table in ("devices", "buildings", "streets", "sites"):
        add_rtree(conn, table)
        conn.execute(f"CREATE INDEX {table}_source ON {table}(source_id)")
    conn.execute("CREATE INDEX devices_type ON devices(device_type)")
    conn.execute("CREATE INDEX sites_category ON sites(category)")
