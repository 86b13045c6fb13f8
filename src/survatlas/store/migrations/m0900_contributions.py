"""Contributions: cameras reported from the map or a phone, held for moderation.

A contribution is *pending* and *restricted* when it arrives; no public output reads this table
(it is not a layer of :mod:`survatlas.store.gate`). An editor accepts it (a device is created,
whose source is the contribution's source) or rejects it (the reason is kept). Its photos are
evidence files (:mod:`survatlas.provenance.evidence`): only the stripped, blurred derivative is
stored unless the server keeps originals encrypted for admins.
"""

from __future__ import annotations

import sqlite3

from survatlas.store._migrations import migration

STATUSES = ("pending", "accepted", "rejected")


@migration("m0900_contributions")
def contributions(conn: sqlite3.Connection) -> None:
    """Create ``contributions`` and ``contribution_photos``; terminal decisions are final."""
    statuses = ", ".join(f"'{s}'" for s in STATUSES)
    conn.execute(
        f"""CREATE TABLE contributions (
            id INTEGER PRIMARY KEY,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ({statuses})),
            lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
            lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
            direction REAL CHECK (direction IS NULL OR (direction >= 0 AND direction < 360)),
            tags TEXT NOT NULL DEFAULT '{{}}',
            note TEXT,
            contributor TEXT NOT NULL,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            submitted_at TEXT NOT NULL,
            decided_at TEXT,
            decided_by TEXT,
            reason TEXT,
            device_id INTEGER REFERENCES devices(id),
            sensitivity TEXT NOT NULL DEFAULT 'restricted'
                CHECK (sensitivity IN ('public', 'restricted', 'confidential')),
            CHECK ((status = 'accepted') = (device_id IS NOT NULL)),
            CHECK ((status = 'pending') = (decided_at IS NULL))
        )"""
    )
    conn.execute("CREATE INDEX contributions_status ON contributions(status)")
    conn.execute(
        """CREATE TABLE contribution_photos (
            id INTEGER PRIMARY KEY,
            contribution_id INTEGER NOT NULL REFERENCES contributions(id),
            position INTEGER NOT NULL,
            evidence_sha256 TEXT NOT NULL REFERENCES evidence_files(sha256),
            original_sha256 TEXT REFERENCES evidence_files(sha256),
            method TEXT NOT NULL,
            faces INTEGER NOT NULL,
            plates INTEGER NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            UNIQUE (contribution_id, position)
        )"""
    )
    # a decision is final: once accepted or rejected, a contribution does not change again
    conn.execute(
        "CREATE TRIGGER contributions_final BEFORE UPDATE ON contributions "
        "WHEN OLD.status != 'pending' BEGIN "
        "SELECT RAISE(ABORT, 'a decided contribution cannot change'); END"
    )
    conn.execute(
        "CREATE TRIGGER contributions_keep BEFORE DELETE ON contributions BEGIN "
        "SELECT RAISE(ABORT, 'contributions are kept: reject instead of deleting'); END"
    )
    conn.execute(
        "CREATE TRIGGER contribution_photos_keep BEFORE UPDATE ON contribution_photos BEGIN "
        "SELECT RAISE(ABORT, 'contribution photos are write-once'); END"
    )
