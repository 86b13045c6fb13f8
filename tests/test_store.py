"""The store of record: creation, migrations, refusal of foreign files, transactions, R*Tree."""

from __future__ import annotations

import sqlite3

import pytest
import shapely

from survatlas.errors import NotAStoreError, StoreError
from survatlas.ingest._records import Record
from survatlas.ingest._writer import write_layer
from survatlas.store import Store
from survatlas.store._migrations import APPLICATION_ID, pending_migrations


def test_new_store_is_wal_with_foreign_keys_and_all_migrations(tmp_path):
    with Store(tmp_path / "s.db") as store:
        assert store.scalar("PRAGMA journal_mode") == "wal"
        assert store.scalar("PRAGMA foreign_keys") == 1
        assert store.scalar("PRAGMA application_id") == APPLICATION_ID
        assert pending_migrations(store.conn) == []
        names = {r[0] for r in store.query("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sources", "devices", "buildings", "streets", "sites", "devices_rtree"} <= names


def test_missing_store_is_an_error_when_not_creating(tmp_path):
    with pytest.raises(StoreError, match="import data first"):
        Store(tmp_path / "absent.db", create=False)


def test_text_file_is_not_a_store(tmp_path):
    bogus = tmp_path / "notes.db"
    bogus.write_text("this is not a database at all " * 100)
    with pytest.raises(NotAStoreError, match="not a survatlas store"):
        Store(bogus)


def test_other_sqlite_database_is_not_a_store(tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE x (a)")
    conn.commit()
    conn.close()
    with pytest.raises(NotAStoreError, match="another application"):
        Store(other)


def test_transaction_rolls_back_on_error(tmp_path):
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(RuntimeError), store.transaction() as conn:
            conn.execute("INSERT INTO sources (kind, title) VALUES ('osm', 'x')")
            raise RuntimeError("boom")
        assert store.scalar("SELECT count(*) FROM sources") == 0


def test_rtree_follows_inserts_updates_and_deletes(tmp_path):
    with Store(tmp_path / "s.db") as store, store.transaction() as conn:
        conn.execute("INSERT INTO sources (id, kind, title) VALUES (1, 'osm', 'x')")
        rec = Record("b", shapely.to_wkb(shapely.box(10, 20, 11, 21)), {"obstacle": 1}, {})
        counts = write_layer(conn, "buildings", 1, [rec])
        assert counts.added == 1
        assert store.ids_in_bbox("buildings", (10.5, 20.5, 12, 22)) == [1]
        conn.execute("UPDATE buildings SET id = 7")
        conn.execute("DELETE FROM buildings_rtree")
        conn.execute("INSERT INTO buildings_rtree VALUES (7, 10, 11, 20, 21)")
        conn.execute("UPDATE buildings SET min_x = 50, max_x = 51 WHERE id = 7")
        assert store.ids_in_bbox("buildings", (10.5, 20.5, 12, 22)) == []
        assert store.ids_in_bbox("buildings", (49, 20, 52, 22)) == [7]
        conn.execute("DELETE FROM buildings WHERE id = 7")
        assert store.ids_in_bbox("buildings", (-180, -90, 180, 90)) == []


def test_none_is_still_bound_as_null_through_the_fast_adapter(tmp_path):
    """The store registers an adapter for None (a faster lookup in Python's sqlite3); the
    value stored and compared is NULL as before, and other values are untouched."""
    assert sqlite3.adapters[(type(None), sqlite3.PrepareProtocol)](None) is None
    with Store(tmp_path / "s.db") as store:
        row = store.conn.execute("SELECT ? IS NULL, typeof(?), ?, ? IS NULL",
                                 (None, None, 0, "")).fetchone()
    assert tuple(row) == (1, "null", 0, 0)
