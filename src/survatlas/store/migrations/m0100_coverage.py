"""Coverage results: the latest run's views, street intervals, street/site/H3 figures."""

from __future__ import annotations

import sqlite3

from survatlas.store._migrations import migration


@migration("m0100_coverage")
def coverage(conn: sqlite3.Connection) -> None:
    """Create the coverage result tables (one current run; a new run replaces it)."""
    conn.execute(
        """CREATE TABLE coverage_runs (
            id INTEGER PRIMARY KEY, created_at TEXT NOT NULL,
            settings TEXT NOT NULL, summary TEXT NOT NULL, crs TEXT NOT NULL)"""
    )
    conn.execute(
        """CREATE TABLE coverage_views (
            scenario TEXT NOT NULL, level TEXT NOT NULL, view INTEGER NOT NULL,
            device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
            x REAL NOT NULL, y REAL NOT NULL, start REAL NOT NULL, fov REAL NOT NULL,
            radius REAL NOT NULL, status INTEGER NOT NULL,
            area_m2 REAL NOT NULL, sector_m2 REAL NOT NULL,
            angles BLOB NOT NULL, radii BLOB NOT NULL,
            PRIMARY KEY (scenario, level, view))"""
    )
    conn.execute("CREATE INDEX coverage_views_device ON coverage_views(device_id)")
    conn.execute(
        """CREATE TABLE street_seen (
            street_id INTEGER NOT NULL REFERENCES streets(id) ON DELETE CASCADE,
            scenario TEXT NOT NULL, level TEXT NOT NULL,
            start_m REAL NOT NULL, end_m REAL NOT NULL,
            camera_id INTEGER NOT NULL)"""
    )
    conn.execute("CREATE INDEX street_seen_key ON street_seen(scenario, level, street_id)")
    conn.execute(
        """CREATE TABLE street_coverage (
            street_id INTEGER NOT NULL REFERENCES streets(id) ON DELETE CASCADE,
            scenario TEXT NOT NULL, level TEXT NOT NULL,
            length_m REAL NOT NULL, in_view_m REAL NOT NULL, cameras INTEGER NOT NULL,
            PRIMARY KEY (scenario, level, street_id))"""
    )
    conn.execute(
        """CREATE TABLE site_coverage (
            site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
            scenario TEXT NOT NULL, level TEXT NOT NULL,
            area_m2 REAL NOT NULL, in_view_m2 REAL NOT NULL, share REAL,
            outline_m REAL NOT NULL, outline_in_view_m REAL NOT NULL, outline_share REAL,
            cameras TEXT NOT NULL, footprint_assumed INTEGER NOT NULL,
            PRIMARY KEY (scenario, level, site_id))"""
    )
    conn.execute(
        """CREATE TABLE h3_coverage (
            h3 TEXT NOT NULL, scenario TEXT NOT NULL, level TEXT NOT NULL,
            land_m2 REAL NOT NULL, in_view_m2 REAL NOT NULL, share REAL, cameras INTEGER NOT NULL,
            PRIMARY KEY (scenario, level, h3))"""
    )
