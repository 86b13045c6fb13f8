"""Sites from several sources: one site, every source that reports it."""

from __future__ import annotations

import sqlite3

from survatlas.store._migrations import migration


@migration("m0111_site_sources")
def site_sources(conn: sqlite3.Connection) -> None:
    """Create ``site_sources``: the other sources (and their record ids) of a merged site."""
    conn.execute(
        """CREATE TABLE site_sources (
            site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            origin TEXT NOT NULL,
            distance_m REAL NOT NULL,
            PRIMARY KEY (site_id, origin))"""
    )
    conn.execute("CREATE INDEX site_sources_origin ON site_sources(origin)")
