"""Custody entries found by subject (the last state of a record, checked on every API call)."""

from __future__ import annotations

import sqlite3

from survatlas.store._migrations import migration


@migration("m0620_custody_subjects")
def upgrade(conn: sqlite3.Connection) -> None:
    """Index the custody log by subject and sequence number."""
    conn.execute("CREATE INDEX custody_log_subject ON custody_log(subject, seq)")
