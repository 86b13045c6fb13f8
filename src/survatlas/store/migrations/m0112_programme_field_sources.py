"""Per-field citations of a programme: each field (a site, the first-report date …) cites the
source it comes from."""

from __future__ import annotations

import sqlite3

from survatlas.store._migrations import migration


@migration("m0112_programme_field_sources")
def programme_field_sources(conn: sqlite3.Connection) -> None:
    """Create ``programme_field_sources`` (field: ``sites.<site>``, ``first_reported`` …)."""
    conn.execute(
        """CREATE TABLE programme_field_sources (
            programme_id INTEGER NOT NULL REFERENCES programmes(id) ON DELETE CASCADE,
            field TEXT NOT NULL,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            PRIMARY KEY (programme_id, field))"""
    )
