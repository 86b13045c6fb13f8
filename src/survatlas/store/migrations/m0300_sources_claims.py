"""Sources in full (publisher, dates, syndication, reliability) and claims tied to them."""

from __future__ import annotations

import sqlite3

from survatlas.store._migrations import migration
from survatlas.vocab import CLAIM_STATUSES, CONFIDENCES


@migration("m0300_sources_claims")
def sources_claims(conn: sqlite3.Connection) -> None:
    """Add citation fields to ``sources`` and create ``claims``."""
    for column in (
        "url TEXT",
        "archived_url TEXT",
        "publisher TEXT",
        "author TEXT",
        "published_date TEXT",
        "language TEXT",
        "original_of INTEGER REFERENCES sources(id)",
        "reliability TEXT",
        "note TEXT",
    ):
        conn.execute(f"ALTER TABLE sources ADD COLUMN {column}")
    statuses = ", ".join(f"'{s}'" for s in CLAIM_STATUSES)
    confidences = ", ".join(f"'{c}'" for c in CONFIDENCES)
    conn.execute(
        f"""CREATE TABLE claims (
            id INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            subject_type TEXT NOT NULL,
            subject_id INTEGER,
            subject_key TEXT,
            statement TEXT NOT NULL,
            quantity TEXT, value REAL, low REAL, high REAL, unit TEXT,
            as_of TEXT, method TEXT, quote TEXT,
            confidence TEXT NOT NULL DEFAULT 'medium' CHECK (confidence IN ({confidences})),
            status TEXT NOT NULL DEFAULT 'unverified' CHECK (status IN ({statuses})),
            derived INTEGER NOT NULL DEFAULT 0,
            sensitivity TEXT NOT NULL DEFAULT 'public'
                CHECK (sensitivity IN ('public', 'restricted', 'confidential')),
            created_at TEXT NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX claims_subject ON claims(subject_type, subject_id)")
    conn.execute("CREATE INDEX claims_source ON claims(source_id)")
