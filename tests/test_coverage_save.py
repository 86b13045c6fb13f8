"""Saving a coverage run (issue 16): a bulk write without foreign-key enforcement that is refused
when the inputs changed while the run was computed, leaves the previous run intact on any error,
restores enforcement, rebuilds the result tables' indexes, and stores what the checked write
stores."""

from __future__ import annotations

import sqlite3

import pytest

from routing_builders import grid_streets, make_store
from survatlas.coverage import results
from survatlas.coverage.analysis import LEVELS, SCENARIOS, Settings, analyse, load_inputs
from survatlas.coverage.scale import compute_coverage
from survatlas.errors import StoreError
from survatlas.store import Store

CAMERAS = [(200, 0, "public"), (400, 200, "public"), (600, 400, "public"), (0, 600, "public"),
           (300, 300, "restricted")]
SETTINGS = Settings(levels=LEVELS, scenarios=SCENARIOS, cell_m=4.0, occlusion="2d")
TABLES = results.RESULT_TABLES[:-1]  # without coverage_runs (its time stamp differs)


@pytest.fixture
def db(tmp_path):  # type: ignore[no-untyped-def]
    store = make_store(tmp_path, grid_streets(7), CAMERAS)
    path = store.path
    store.close()
    return path


def _computed(store: Store):  # type: ignore[no-untyped-def]
    inputs = load_inputs(store, buildings=False)
    return analyse(inputs, SETTINGS)


def _contents(store: Store) -> dict[str, list[tuple]]:
    return {t: sorted(tuple(r) for r in store.query(f"SELECT * FROM {t}")) for t in TABLES}


def _run_ids(store: Store) -> list[int]:
    return [r[0] for r in store.query("SELECT id FROM coverage_runs")]


def _indexes(store: Store) -> list[tuple]:
    return [tuple(r) for r in store.query(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")]


def _fk(store: Store) -> int:
    return int(store.scalar("PRAGMA foreign_keys"))


@pytest.mark.parametrize("edit", [
    "UPDATE devices SET range_m = 80 WHERE id = (SELECT min(id) FROM devices)",
    "DELETE FROM devices WHERE id = (SELECT max(id) FROM devices)",
    "DELETE FROM streets WHERE id = (SELECT min(id) FROM streets)",
])
def test_inputs_changed_between_compute_and_save_are_refused(db, edit):
    with Store(db) as store:
        compute_coverage(store, settings=SETTINGS)
        run_ids = _run_ids(store)
        result = _computed(store)
        with Store(db) as other, other.transaction() as conn:  # another process edits
            conn.execute(edit)
        before = _contents(store)  # a delete's cascade took the camera's or street's rows
        with pytest.raises(StoreError, match=r"changed while coverage ran.*run `survatlas "
                                             r"coverage` again; nothing was written"):
            results.save_result(store, result)
        assert _run_ids(store) == run_ids
        assert _contents(store) == before
        assert _fk(store) == 1
        assert not store.scalar("SELECT count(*) FROM pragma_foreign_key_check")


def test_an_unchanged_store_saves_and_enforcement_is_back_on(db):
    with Store(db) as store:
        result = _computed(store)
        assert result.inputs.input_state is not None
        results.save_result(store, result)
        assert _fk(store) == 1
        assert store.scalar("SELECT count(*) FROM coverage_views") > 0
        assert not store.scalar("SELECT count(*) FROM pragma_foreign_key_check")
        # the cascades still hold: deleting a camera deletes its views and intervals
        camera = store.scalar("SELECT min(device_id) FROM coverage_views")
        with store.transaction() as conn:
            conn.execute("DELETE FROM devices WHERE id = ?", (camera,))
        assert not store.scalar("SELECT count(*) FROM coverage_views WHERE device_id = ?",
                                (camera,))


def test_a_failing_save_rolls_back_and_restores_enforcement(db, monkeypatch):
    with Store(db) as store:
        compute_coverage(store, settings=SETTINGS)
        before, run_ids, indexes = _contents(store), _run_ids(store), _indexes(store)
        result = _computed(store)
        monkeypatch.setattr(results, "BULK_ROWS", 0)  # the indexes are dropped first

        def failing(conn, *args):  # type: ignore[no-untyped-def]
            conn.execute("INSERT INTO street_coverage (street_id) VALUES (1)")  # NOT NULL

        monkeypatch.setattr(results, "_insert_levels", failing)
        with pytest.raises(sqlite3.IntegrityError):
            results.save_result(store, result)
        assert _fk(store) == 1
        assert not store.conn.in_transaction
        assert (_contents(store), _run_ids(store), _indexes(store)) == (before, run_ids, indexes)


def test_bulk_transaction_refuses_to_nest_and_restores_enforcement(db):
    with Store(db) as store:
        with store.bulk_transaction() as conn:
            assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 0
        assert _fk(store) == 1
        with (store.transaction(), pytest.raises(StoreError, match="inside another transaction"),
              store.bulk_transaction()):
            pass
        assert _fk(store) == 1
        with pytest.raises(RuntimeError), store.bulk_transaction():
            raise RuntimeError("boom")
        assert _fk(store) == 1 and not store.conn.in_transaction


@pytest.mark.parametrize("bulk_rows", [0, 10**9])
def test_the_bulk_save_stores_what_the_checked_save_stores(db, monkeypatch, bulk_rows):
    """Foreign keys enforced and indexes kept (inputs not marked as read from the store) vs
    the bulk write, with (``BULK_ROWS`` 0) and without the index rebuild."""
    import dataclasses

    with Store(db) as store:
        indexes = _indexes(store)
        result = _computed(store)
        checked = dataclasses.replace(result, inputs=dataclasses.replace(result.inputs,
                                                                         input_state=None))
        results.save_result(store, checked)
        expected = _contents(store)
        monkeypatch.setattr(results, "BULK_ROWS", bulk_rows)
        results.save_result(store, result)
        assert _contents(store) == expected
        assert _indexes(store) == indexes
        assert store.scalar("PRAGMA integrity_check") == "ok"
        entries = store.query("SELECT details FROM custody_log WHERE action = 'coverage.save' "
                              "ORDER BY seq")
        assert len(entries) == 2
