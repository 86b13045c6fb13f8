"""The custody log extended to every writer: programmes, vendors, models and coverage runs."""

from __future__ import annotations

import sqlite3

from survatlas.store._migrations import migration
from survatlas.store.custody import append_entry

#: tables whose new rows have a custody entry from this migration on (checked by ``verify``).
EXTENDED_TABLES = ("programmes", "vendors", "device_models")


@migration("m0600_custody_writers")
def custody_writers(conn: sqlite3.Connection) -> None:
    """Open the extended log: the rows of :data:`EXTENDED_TABLES` (and coverage runs) before it.

    Rows older than this entry were written by a version that did not log them; ``verify``
    checks only the newer ones (as ``custody.start`` does for sources, claims and imports).
    """
    baseline = {
        f"{table}_before": int(
            conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
        )
        for table in EXTENDED_TABLES
    }
    # a coverage run replaces the previous one (ids restart): count it instead
    baseline["coverage_runs_before"] = int(
        conn.execute("SELECT count(*) FROM coverage_runs").fetchone()[0]
    )
    append_entry(conn, "custody.extend", "store", baseline)
