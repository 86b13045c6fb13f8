"""Restores and archives accept only what survatlas wrote (issue 15, finding 6)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from security_builders import set_key
from survatlas.cli import main
from survatlas.errors import IntegrityError
from survatlas.ingest import import_cameras
from survatlas.provenance.backup import backup_store, export_archive, import_archive, restore_store
from survatlas.provenance.evidence import add_evidence
from survatlas.provenance.integrity import verify_store
from survatlas.provenance.sources import add_source
from survatlas.store import Store

TRIGGER = ("CREATE TRIGGER leak AFTER INSERT ON devices BEGIN "
           "UPDATE devices SET sensitivity = 'public' WHERE id = NEW.id; END")


@pytest.fixture
def store_db(tmp_path, monkeypatch):
    set_key(monkeypatch)
    db = tmp_path / "s.db"
    cams = tmp_path / "cams.csv"
    cams.write_text("id,latitude,longitude\nc1,43.73,7.42\n")
    note = tmp_path / "note.txt"
    note.write_text("a photo")
    with Store(db) as store:
        import_cameras(store, cams)
        add_evidence(store, note, add_source(store, kind="photo", title="p"))
    return db


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".partial-" in p.name or ".tmp-" in p.name)


def _alter(db: Path, sql: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute(sql)
    conn.commit()
    conn.close()


@pytest.mark.parametrize("sql", [
    TRIGGER,
    "CREATE VIEW everything AS SELECT * FROM devices",
    "CREATE TABLE exfil (x TEXT)",
    "CREATE INDEX extra ON devices(name)",
    "DROP TRIGGER custody_log_no_update",
])
def test_verify_reports_a_schema_survatlas_did_not_build(store_db, sql):
    _alter(store_db, sql)
    with Store(store_db, create=False) as store:
        report = verify_store(store)
    assert not report.ok
    assert any("did not create" in p or "missing" in p for p in report.problems), report.problems


def test_a_backup_with_a_foreign_trigger_is_not_restored(store_db, tmp_path):
    with Store(store_db) as store:
        backup_store(store, tmp_path / "b.db")
    _alter(tmp_path / "b.db", TRIGGER)
    target = tmp_path / "restored.db"
    with pytest.raises(IntegrityError, match="trigger 'leak'"):
        restore_store(tmp_path / "b.db", target)
    assert not target.exists()
    assert _leftovers(tmp_path) == []


def test_a_failed_restore_leaves_no_partial_copy(store_db, tmp_path):
    with Store(store_db) as store:
        backup_store(store, tmp_path / "b.db")
    secret = tmp_path / "key.txt"
    secret.write_text("a key file")
    (tmp_path / "b.db.evidence" / "sha256" / "zz").mkdir()
    (tmp_path / "b.db.evidence" / "sha256" / "zz" / "abc").symlink_to(secret)
    res = CliRunner().invoke(main, ["--db", str(tmp_path / "r.db"), "restore", str(tmp_path / "b.db")])
    assert res.exit_code == 2 and "link" in res.output, res.output
    assert not (tmp_path / "r.db").exists()
    assert _leftovers(tmp_path) == []
    assert not list((tmp_path / "r.db.evidence").rglob("abc")) if (tmp_path / "r.db.evidence").exists() else True


def test_an_archive_with_a_link_is_refused(store_db, tmp_path):
    with Store(store_db) as store:
        export_archive(store, tmp_path / "arch")
    secret = tmp_path / "key.txt"
    secret.write_text("a key file")
    blob = next(p for p in (tmp_path / "arch" / "evidence").rglob("*") if p.is_file())
    blob.unlink()
    blob.symlink_to(secret)
    with pytest.raises(IntegrityError, match="link"):
        import_archive(tmp_path / "arch", tmp_path / "new.db")
    assert not (tmp_path / "new.db").exists()


def test_an_archive_naming_a_file_outside_itself_is_refused(store_db, tmp_path):
    with Store(store_db) as store:
        export_archive(store, tmp_path / "arch")
    manifest = json.loads((tmp_path / "arch" / "manifest.json").read_text())
    manifest["files"]["../key.txt"] = "0" * 64
    (tmp_path / "arch" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError, match="outside the archive"):
        import_archive(tmp_path / "arch", tmp_path / "new.db")
