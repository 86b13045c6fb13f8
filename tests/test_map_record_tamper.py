"""Tamper evidence of map records (issue 15, finding 7, second part): the custody entry of every
write to devices, buildings, streets and sites holds a digest of each map table (id, origin,
source, sensitivity, geometry); ``verify`` recomputes it, so a level or a geometry edited with
``sqlite3`` is found, while writes made through survatlas keep verifying."""

from __future__ import annotations

import json
import sqlite3

import pytest
import shapely
import shapely.affinity

from security_builders import seed_public, set_key
from survatlas.ingest import import_cameras
from survatlas.ingest.delete import delete_record
from survatlas.provenance.integrity import verify_store
from survatlas.store import Store
from survatlas.store.encryption import KEY_ENV, KEY_FILE_ENV

TABLES = ("devices", "buildings", "streets", "sites")


@pytest.fixture(params=["keyed", "no key"])
def db(tmp_path, monkeypatch, request):
    if request.param == "keyed":
        set_key(monkeypatch)
    else:
        monkeypatch.delenv(KEY_ENV, raising=False)
        monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    db = tmp_path / "s.db"
    with Store(db) as store:
        seed_public(store, tmp_path / "in")
        cams = tmp_path / "in" / "restricted.csv"
        cams.write_text("id,latitude,longitude,surveillance:type\nr1,43.73,7.41,camera\n")
        import_cameras(store, cams, sensitivity="restricted")
        assert verify_store(store).ok, verify_store(store).problems
    return db


def _sql(db, sql, params=()):
    conn = sqlite3.connect(db)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def _problems(db) -> list[str]:
    with Store(db, create=False) as store:
        return verify_store(store).problems


def test_the_import_entry_holds_a_digest_of_every_map_table(db):
    with Store(db, create=False) as store:
        details = json.loads(
            store.scalar("SELECT details FROM custody_log WHERE action = 'import' "
                         "ORDER BY seq DESC LIMIT 1")
        )
    assert {f"tables.{t}" for t in TABLES} <= set(details)
    assert all(details[f"tables.{t}"].startswith(("hmac:", "sha256:")) for t in TABLES)


def test_a_restricted_camera_made_public_with_sql_is_found(db):
    _sql(db, "UPDATE devices SET sensitivity = 'public' WHERE sensitivity = 'restricted'")
    problems = _problems(db)
    assert any(p.startswith("devices:") and "changed outside survatlas" in p for p in problems)
    _sql(db, "UPDATE devices SET sensitivity = 'restricted' WHERE origin LIKE '%:r1'")
    assert _problems(db) == []  # put back as it was: verify passes again


@pytest.mark.parametrize("table", TABLES)
def test_a_level_or_geometry_edited_with_sql_is_found(db, table):
    _sql(db, f"UPDATE {table} SET sensitivity = 'confidential' WHERE id = "
             f"(SELECT min(id) FROM {table} WHERE sensitivity = 'public')")
    assert any(p.startswith(f"{table}:") for p in _problems(db))
    _sql(db, f"UPDATE {table} SET sensitivity = 'public' WHERE sensitivity = 'confidential'")
    assert _problems(db) == []
    with Store(db, create=False) as store:
        row_id, geom = store.query(f"SELECT id, geom FROM {table} ORDER BY id LIMIT 1")[0]
    moved = shapely.affinity.translate(shapely.from_wkb(geom), 0.001, 0.0)
    _sql(db, f"UPDATE {table} SET geom = ? WHERE id = ?", (shapely.to_wkb(moved), row_id))
    assert any(p.startswith(f"{table}:") for p in _problems(db))


def test_a_record_deleted_with_sql_is_found_and_one_deleted_by_survatlas_is_not(db):
    with Store(db) as store:
        first = store.scalar("SELECT min(id) FROM buildings")
        delete_record(store, "building", first)
        assert verify_store(store).ok
    _sql(db, "DELETE FROM sites WHERE id = (SELECT min(id) FROM sites)")
    assert any(p.startswith("sites:") for p in _problems(db))
