"""Saving a coverage run (issue 16): a bulk write without foreign-key enforcement that is refused
when the inputs changed while the run was computed, leaves the previous run intact on any error,
restores enforcement, rebuilds the result tables' indexes, and stores what the checked write
stores."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
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


def _share_views(db) -> None:  # type: ignore[no-untyped-def]
    """A listed range shorter than every DORI distance: every scenario-level sees alike (2-D)."""
    with Store(db) as store, store.transaction() as conn:
        conn.execute("UPDATE devices SET range_m = 30, fov_deg = 60")


def test_views_shared_by_scenario_levels_are_stored_once(db):
    _share_views(db)
    with Store(db) as store:
        result = _computed(store)
        first = next(iter(result.levels.values()))
        assert all(lr.regions is first.regions for lr in result.levels.values())
        results.save_result(store, result)
        n = len(first.regions)
        assert n > 0
        assert store.scalar("SELECT count(*) FROM coverage_view_rows") == n
        assert store.scalar("SELECT count(DISTINCT views) FROM coverage_sets") == 1
        assert store.scalar("SELECT count(*) FROM coverage_views") == n * len(result.levels)
        assert store.scalar("SELECT count(*) FROM street_seen_rows") == len(first.seen.line)
        per_level = [[tuple(r)[2:] for r in store.query(
            "SELECT * FROM coverage_views WHERE scenario = ? AND level = ? ORDER BY view", key)]
            for key in result.levels]
        assert all(rows == per_level[0] for rows in per_level) and len(per_level[0]) == n
        details = json.loads(store.scalar("SELECT details FROM custody_log WHERE action = "
                                          "'coverage.save'"))
        assert details["coverage_views"] == n * len(result.levels)
        assert details["coverage_view_rows"] == n
        # a shared set's rows cannot be deleted for one scenario-level alone
        with pytest.raises(sqlite3.IntegrityError, match="shared by several scenario-levels"), \
                store.transaction() as conn:
            conn.execute("DELETE FROM coverage_views WHERE scenario = 'best'")
        assert store.scalar("SELECT count(*) FROM coverage_view_rows") == n
        camera = store.scalar("SELECT min(device_id) FROM coverage_view_rows")
        with store.transaction() as conn:
            conn.execute("DELETE FROM devices WHERE id = ?", (camera,))
        assert not store.scalar("SELECT count(*) FROM coverage_views WHERE device_id = ?",
                                (camera,))
        assert store.scalar("SELECT count(*) FROM coverage_views") == \
            store.scalar("SELECT count(*) FROM coverage_view_rows") * len(result.levels) > 0


def test_rows_written_through_the_views_land_in_their_own_sets(db):
    with Store(db) as store, store.transaction() as conn:
        cam = conn.execute("SELECT min(id) FROM devices").fetchone()[0]
        street = conn.execute("SELECT min(id) FROM streets").fetchone()[0]
        for k, (scenario, level) in enumerate([("typical", "detection"), ("best", "detection")]):
            conn.execute("INSERT INTO coverage_views VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                         (scenario, level, 0, cam, 1.0, 2.0, 0.0, 1.0, 10.0 + k, 0, 5.0, 6.0,
                          b"\0" * 8, b"\0" * 8))
            conn.execute("INSERT INTO street_seen VALUES (?,?,?,?,?,?)",
                         (street, scenario, level, 0.0, 5.0 + k, cam))
        assert [tuple(r) for r in conn.execute(
            "SELECT scenario, level, radius FROM coverage_views ORDER BY radius")] == \
            [("typical", "detection", 10.0), ("best", "detection", 11.0)]
        assert conn.execute("SELECT count(DISTINCT views) FROM coverage_sets").fetchone()[0] == 2
        conn.execute("DELETE FROM street_seen WHERE scenario = 'best'")  # a set of its own
        conn.execute("DELETE FROM coverage_views WHERE scenario = 'typical'")
        assert [tuple(r) for r in conn.execute("SELECT scenario, end_m FROM street_seen")] == \
            [("typical", 5.0)]
        assert [tuple(r)[:2] for r in conn.execute("SELECT * FROM coverage_views")] == \
            [("best", "detection")]


def test_the_migration_moves_rows_of_the_former_tables(db):
    """A store with the former ``coverage_views`` and ``street_seen`` tables (before m0131)
    keeps every row through the migration."""
    from survatlas.store.migrations.m0100_coverage import coverage

    with Store(db) as store:
        compute_coverage(store, settings=SETTINGS)
        expected = _contents(store)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN")
    rows = {t: conn.execute(f"SELECT * FROM {t}").fetchall()
            for t in ("coverage_views", "street_seen")}
    for view in ("coverage_views", "street_seen"):
        conn.execute(f"DROP VIEW {view}")
    for table in ("coverage_sets", "coverage_view_rows", "street_seen_rows", "coverage_runs",
                  "street_coverage", "site_coverage", "h3_coverage"):
        conn.execute(f"ALTER TABLE {table} RENAME TO kept_{table}")
    coverage(conn)  # the former layout
    for table in ("coverage_runs", "street_coverage", "site_coverage", "h3_coverage"):
        conn.execute(f"DROP TABLE {table}")
        conn.execute(f"ALTER TABLE kept_{table} RENAME TO {table}")
    for table in ("coverage_sets", "coverage_view_rows", "street_seen_rows"):
        conn.execute(f"DROP TABLE kept_{table}")
    for table, values in rows.items():
        conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(values[0]))})",
                         values)
    conn.execute("DELETE FROM _migrations WHERE name = 'm0131_shared_coverage_rows'")
    conn.execute("COMMIT")
    conn.close()
    with Store(db) as store:
        assert store.scalar("SELECT type FROM sqlite_master WHERE name = 'coverage_views'") == \
            "view"
        assert _contents(store) == expected
        assert store.scalar("SELECT count(*) FROM coverage_sets") == len(LEVELS) * len(SCENARIOS)
        assert store.scalar("PRAGMA foreign_key_check") is None


def test_archives_keep_the_results_and_older_archives_still_import(db, tmp_path):
    """An archive holds the stored sets (the views are not tables); an archive made before
    m0131, holding ``coverage_views`` and ``street_seen`` as tables, imports through the views."""
    import base64
    import hashlib

    from survatlas.provenance.backup import export_archive, import_archive

    with Store(db) as store:
        compute_coverage(store, settings=SETTINGS)
        expected = _contents(store)
        export_archive(store, tmp_path / "arch")
        logical = {t: (store.conn.execute(f"SELECT * FROM {t}").fetchall(),
                       [d[0] for d in store.conn.execute(f"SELECT * FROM {t}").description])
                   for t in ("coverage_views", "street_seen")}
    arch = tmp_path / "arch"
    manifest = json.loads((arch / "manifest.json").read_text())
    assert {"coverage_view_rows", "street_seen_rows", "coverage_sets"} <= set(manifest["tables"])
    assert not {"coverage_views", "street_seen"} & set(manifest["tables"])
    with Store(import_archive(arch, tmp_path / "new.db")["store"]) as store:
        assert _contents(store) == expected
    for table in ("coverage_sets", "coverage_view_rows", "street_seen_rows"):  # the former layout
        del manifest["tables"][table]
        del manifest["files"][f"{table}.jsonl"]
        (arch / f"{table}.jsonl").unlink()
    for table, (rows, names) in logical.items():
        path = arch / f"{table}.jsonl"
        path.write_text(json.dumps(names) + "\n" + "".join(
            json.dumps([{"b64": base64.b64encode(v).decode()} if isinstance(v, bytes) else v
                        for v in row]) + "\n" for row in rows))
        manifest["tables"][table] = len(rows)
        manifest["files"][path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    (arch / "manifest.json").write_text(json.dumps(manifest))
    with Store(import_archive(arch, tmp_path / "old.db")["store"]) as store:
        assert _contents(store) == expected
        assert store.scalar("SELECT count(*) FROM coverage_sets") == len(LEVELS) * len(SCENARIOS)


def test_cameras_per_hex_counts_each_camera_in_its_h3_cell():
    """The count per cell equals one ``h3.latlng_to_cell`` look-up per camera (cells named as
    strings, several cameras in one cell counted once each)."""
    from collections import Counter
    from types import SimpleNamespace

    import h3
    import shapely

    from survatlas.coverage.results import _cameras_per_hex

    rng = np.random.default_rng(7)
    lon, lat = 24.93 + rng.random(400) * 0.01, 60.16 + rng.random(400) * 0.005
    lon[:5], lat[:5] = lon[5], lat[5]  # several cameras at one spot
    devices = SimpleNamespace(geometry=shapely.points(lon, lat))
    counts = _cameras_per_hex(SimpleNamespace(devices=devices), 9)
    expected = Counter(h3.latlng_to_cell(la, lo, 9) for lo, la in zip(lon, lat, strict=True))
    assert counts == dict(expected) and sum(counts.values()) == 400 and max(counts.values()) > 5
    empty = SimpleNamespace(devices=SimpleNamespace(geometry=shapely.points(np.empty((0, 2)))))
    assert _cameras_per_hex(empty, 9) == {}
