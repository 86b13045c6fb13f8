"""Evidence files (content-addressed, write-once), the hash-chained custody log, API tokens."""

from __future__ import annotations

import sqlite3

from survatlas.store._migrations import migration
from survatlas.store.custody import append_entry
from survatlas.vocab import ROLES


@migration("m0310_evidence_custody")
def evidence_custody(conn: sqlite3.Connection) -> None:
    """Create ``evidence_files``, ``custody_log`` (+ head) and ``tokens``.

    Triggers refuse UPDATE and DELETE on the custody log and on evidence files: the log is
    append-only and originals are write-once. The hash chain (see :mod:`survatlas.store.custody`)
    detects changes made with the triggers dropped.
    """
    conn.execute(
        """CREATE TABLE evidence_files (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            parent_sha256 TEXT REFERENCES evidence_files(sha256),
            derivation TEXT,
            media_type TEXT,
            size INTEGER NOT NULL,
            stored_sha256 TEXT NOT NULL,
            encryption TEXT,
            sensitivity TEXT NOT NULL DEFAULT 'public'
                CHECK (sensitivity IN ('public', 'restricted', 'confidential')),
            added_at TEXT NOT NULL,
            added_by TEXT NOT NULL,
            CHECK ((parent_sha256 IS NULL) = (derivation IS NULL))
        )"""
    )
    conn.execute("CREATE INDEX evidence_files_source ON evidence_files(source_id)")
    conn.execute(
        """CREATE TABLE custody_log (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT,
            details TEXT NOT NULL DEFAULT '{}',
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE
        )"""
    )
    conn.execute(
        "CREATE TABLE custody_head (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "seq INTEGER NOT NULL, hash TEXT NOT NULL)"
    )
    conn.execute(
        "CREATE TRIGGER custody_head_advance AFTER INSERT ON custody_log BEGIN "
        "INSERT INTO custody_head (id, seq, hash) VALUES (1, NEW.seq, NEW.hash) "
        "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash; END"
    )
    for table, what in (
        ("custody_log", "the custody log is append-only"),
        ("evidence_files", "evidence files are write-once"),
    ):
        for op in ("UPDATE", "DELETE"):
            conn.execute(
                f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{what}'); END"
            )
    conn.execute(
        "CREATE TRIGGER custody_head_no_delete BEFORE DELETE ON custody_head "
        "BEGIN SELECT RAISE(ABORT, 'the custody log is append-only'); END"
    )
    _start_log(conn)
    roles = ", ".join(f"'{r}'" for r in ROLES)
    conn.execute(
        f"""CREATE TABLE tokens (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL CHECK (role IN ({roles})),
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        )"""
    )


def _start_log(conn: sqlite3.Connection) -> None:
    """First entry: how many rows existed before custody logging began (checked by verify)."""
    baseline = {
        f"{table}_before": int(
            conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
        )
        for table in ("sources", "claims", "imports")
    }
    append_entry(conn, "custody.start", "store", baseline)
