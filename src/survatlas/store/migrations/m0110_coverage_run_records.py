"""Coverage runs as records: area, levels, scenarios, cell, occlusion, audience, input fingerprint."""

from __future__ import annotations

import json
import sqlite3

from survatlas.store._migrations import migration

#: columns added to ``coverage_runs`` (NULL in rows written before this migration)
COLUMNS = (
    ("bbox", "TEXT"),            # JSON [W, S, E, N] asked for; NULL: the whole store
    ("building_bbox", "TEXT"),   # JSON box the obstacles were read from (bbox + camera reach)
    ("levels", "TEXT"),          # JSON list of the levels computed
    ("scenarios", "TEXT"),       # JSON list of the optics scenarios computed
    ("cell_m", "REAL"),
    ("occlusion", "TEXT NOT NULL DEFAULT '2d'"),
    ("audience", "TEXT NOT NULL DEFAULT 'public'"),  # the sensitivity filter of the inputs read
    ("fingerprint", "TEXT"),     # sha256 of every input row read (survatlas.coverage.runs)
    ("inputs", "TEXT"),          # JSON counts of the inputs read
)


@migration("m0110_coverage_run_records")
def coverage_run_records(conn: sqlite3.Connection) -> None:
    """Add the record columns to ``coverage_runs``; fill levels, scenarios and cell size of
    earlier runs from their settings (their area and fingerprint stay unknown: reported stale)."""
    for name, decl in COLUMNS:
        conn.execute(f"ALTER TABLE coverage_runs ADD COLUMN {name} {decl}")
    for run_id, settings in conn.execute("SELECT id, settings FROM coverage_runs").fetchall():
        try:
            s = json.loads(settings)
        except ValueError:
            continue
        conn.execute(
            "UPDATE coverage_runs SET levels = ?, scenarios = ?, cell_m = ? WHERE id = ?",
            (json.dumps(s["levels"]) if "levels" in s else None,
             json.dumps(s["scenarios"]) if "scenarios" in s else None, s.get("cell_m"), run_id),
        )
