"""One data key per store: the id of the key its confidential material is encrypted with."""

from __future__ import annotations

import sqlite3

from survatlas.store._migrations import migration


@migration("m0621_store_key")
def upgrade(conn: sqlite3.Connection) -> None:
    """The key id, recorded by the first write made with a key (``store.store_key``)."""
    conn.execute(
        "CREATE TABLE store_key (id INTEGER PRIMARY KEY CHECK (id = 1), key_id TEXT NOT NULL)"
    )
