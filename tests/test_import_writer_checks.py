"""The writer's fast insert checks the map tables' CHECK once per chunk: same rule, same refusal."""

from __future__ import annotations

import sqlite3

import pytest

from import_helpers import site_record
from survatlas.errors import InputError
from survatlas.ingest import _writer
from survatlas.ingest._checks import in_list_checks, insert_checked_once
from survatlas.ingest._records import Record
from survatlas.ingest._writer import write_layer
from survatlas.store import Store
from survatlas.store.states import MAP_TABLES
from survatlas.vocab import SENSITIVITIES


def _store(tmp_path) -> Store:
    store = Store(tmp_path / "s.db")
    store.conn.execute("INSERT INTO sources (id, kind, title) VALUES (1, 'osm', 'x')")
    return store


def _site(origin: str, x: float, level: str) -> Record:
    rec = site_record(origin, "education", 1, x)
    return Record(rec.origin, rec.geom_wkb, rec.values, rec.tags, osm_type="way",
                  osm_id=int(origin.rsplit("/", 1)[1]), osm_version=1, sensitivity=level)


def test_the_checks_are_read_from_the_schema(tmp_path):
    with _store(tmp_path) as store:
        for table in MAP_TABLES:
            assert in_list_checks(store.conn, table) == [("sensitivity", SENSITIVITIES)]
        checks = dict(in_list_checks(store.conn, "device_versions") or [])
        assert checks["sensitivity"] == SENSITIVITIES
        assert "moved+retagged" in checks["change"] and "absent" in checks["ended"]
        store.conn.execute("CREATE TABLE other (id INTEGER PRIMARY KEY, "
                           "x TEXT CHECK (x IN ('a', 'b')), n INTEGER CHECK (n > 0))")
        assert in_list_checks(store.conn, "other") is None  # not only IN lists: per row
        store.conn.execute("CREATE TABLE plain (id INTEGER PRIMARY KEY, x TEXT)")
        assert in_list_checks(store.conn, "plain") == []


def test_a_table_with_another_check_is_checked_per_row(tmp_path):
    with _store(tmp_path) as store:
        store.conn.execute("CREATE TABLE other (id INTEGER PRIMARY KEY, "
                           "x TEXT CHECK (x IN ('a', 'b')), n INTEGER CHECK (n > 0))")
        for bad in [("c", 1), ("a", 0)]:
            with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
                insert_checked_once(store.conn, "other", "INSERT INTO other (x, n) VALUES (?, ?)",
                                    [("a", 1), bad], 0)
        assert store.scalar("SELECT count(*) FROM other") == 2  # autocommit: each good row
        assert store.scalar("PRAGMA ignore_check_constraints") == 0


def test_a_device_version_breaking_a_check_is_refused_and_nothing_is_written(tmp_path):
    from survatlas.ingest._history import _CHECK_ONCE_ROWS, insert_versions

    row = {"origin": "osm:node/1", "source_id": 1, "content_sha": "s", "device_type": "camera",
           "lon": 24.9, "lat": 60.1, "geom": b"\x01", "sensitivity": "public",
           "views": "[]", "tags": "{}"}
    n = _CHECK_ONCE_ROWS + 5
    with _store(tmp_path) as store:
        good = [({**row, "origin": f"osm:node/{k}"}, "2024-01-01", "added") for k in range(n)]
        with store.transaction() as conn:
            insert_versions(conn, good)
        assert store.scalar("SELECT count(*) FROM device_versions") == n
        for k, bad in enumerate([(row, "2024-02-01", "teleported"),
                                 ({**row, "sensitivity": "secret"}, "2024-02-01", "added")]):
            with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"), \
                    store.transaction() as conn:
                insert_versions(conn, [*good[: n - 1], bad] if k else [bad, *good])
            assert store.scalar("SELECT count(*) FROM device_versions") == n
        assert store.scalar("PRAGMA ignore_check_constraints") == 0


@pytest.mark.parametrize("stored_first", [False, True], ids=["empty table", "table with rows"])
def test_a_row_breaking_the_check_is_refused_and_nothing_is_written(
    tmp_path, monkeypatch, stored_first
):
    with _store(tmp_path) as store:
        if stored_first:
            with store.transaction() as conn:
                write_layer(conn, "sites", 1, [_site("osm:way/9", 9, "public")])
        before = store.query("SELECT * FROM sites ORDER BY id")
        schema = store.query("SELECT name, sql FROM sqlite_master ORDER BY name")
        # a level the writer's own rules would refuse earlier: let it through to the insert
        monkeypatch.setattr(_writer, "rank", lambda level: 0)
        rows = [_site("osm:way/1", 0, "public"), _site("osm:way/2", 2, "secret")]
        refused = pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed: sensitivity")
        with refused, store.transaction() as conn:
            write_layer(conn, "sites", 1, rows)
        assert store.query("SELECT * FROM sites ORDER BY id") == before
        assert store.query("SELECT name, sql FROM sqlite_master ORDER BY name") == schema
        # the constraint is back in force for every later statement
        assert store.scalar("PRAGMA ignore_check_constraints") == 0
        monkeypatch.undo()
        with store.transaction() as conn:
            write_layer(conn, "sites", 1, [_site("osm:way/3", 3, "public")])
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            store.conn.execute("UPDATE sites SET sensitivity = 'secret'")
        assert {r[0] for r in store.query("SELECT sensitivity FROM sites")} == {"public"}


def test_rows_at_the_open_levels_are_written_as_given(tmp_path):
    levels = ("public", "restricted")  # confidential rows need a key (tests/test_encryption*)
    with _store(tmp_path) as store:
        rows = [_site(f"osm:way/{k + 1}", k, level) for k, level in enumerate(levels)]
        with store.transaction() as conn:
            counts = write_layer(conn, "sites", 1, rows)
        assert counts.added == len(levels)
        assert tuple(r[0] for r in store.query("SELECT sensitivity FROM sites ORDER BY id")) == levels


def test_the_import_page_cache_is_restored_after_an_import_and_after_a_failed_one(tmp_path):
    from survatlas.ingest import import_osm
    from survatlas.ingest.osm import IMPORT_CACHE_KIB
    from survatlas.synth.osmfile import grid_extract

    pbf = grid_extract(tmp_path, 2)
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(pbf.read_bytes()[: pbf.stat().st_size // 2])
    with Store(tmp_path / "s.db") as store:
        before = store.scalar("PRAGMA cache_size")
        assert before != -IMPORT_CACHE_KIB
        summary = import_osm(store, pbf)
        assert summary.layers["buildings"].added > 0
        assert store.scalar("PRAGMA cache_size") == before
        with pytest.raises(InputError):
            import_osm(store, broken)
        assert store.scalar("PRAGMA cache_size") == before
