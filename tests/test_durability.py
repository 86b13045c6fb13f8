"""Promise 7: backup, restore and archive round trips reproduce records, hashes and a verifiable
log; a ``kill -9`` during writes leaves a store that opens and verifies."""

from __future__ import annotations

import base64
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import survatlas
from security_builders import build_pair, set_key
from survatlas.cli import main
from survatlas.errors import InputError, IntegrityError
from survatlas.provenance.backup import backup_store, export_archive, import_archive, restore_store
from survatlas.provenance.evidence import evidence_root, read_evidence
from survatlas.provenance.integrity import verify_store
from survatlas.store import Store
from survatlas.store.custody import read_entries

TABLES = (
    "sources",
    "devices",
    "buildings",
    "streets",
    "sites",
    "claims",
    "evidence_files",
    "imports",
    "device_warnings",
    "tokens",
    "contributions",
    "contribution_photos",
)


def _dump(db: Path, tables=TABLES) -> dict[str, list]:
    conn = sqlite3.connect(db)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}
    finally:
        conn.close()


def _log(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT * FROM custody_log ORDER BY seq").fetchall()
    finally:
        conn.close()


@pytest.fixture
def db(tmp_path, monkeypatch):
    set_key(monkeypatch)
    return build_pair(tmp_path)[1]


def test_backup_and_restore_reproduce_the_store(db, tmp_path):
    with Store(db) as store:
        result = backup_store(store, tmp_path / "b.db")
    assert result["evidence_files"] == 3  # a public document, a testimony, a contribution photo
    target = tmp_path / "restored.db"
    restore_store(tmp_path / "b.db", target)
    assert _dump(target) == _dump(db)
    assert _log(target)[: len(_log(db))] == _log(db)
    with Store(target) as store:
        assert verify_store(store).ok
        for sha in store.query("SELECT sha256 FROM evidence_files"):
            assert read_evidence(store, sha[0], audience="confidential")


def test_restore_refuses_to_overwrite_and_refuses_a_tampered_backup(db, tmp_path):
    with Store(db) as store:
        backup_store(store, tmp_path / "b.db")
    with pytest.raises(InputError, match="--force"):
        restore_store(tmp_path / "b.db", db)
    conn = sqlite3.connect(tmp_path / "b.db")
    conn.execute("DROP TRIGGER custody_log_no_update")
    conn.execute("UPDATE custody_log SET actor = 'mallory' WHERE seq = 2")
    conn.commit()
    conn.close()
    with pytest.raises(IntegrityError):
        restore_store(tmp_path / "b.db", tmp_path / "new.db")
    assert not (tmp_path / "new.db").exists()


def test_archive_export_then_import_reproduces_records_hashes_and_log(db, tmp_path):
    with Store(db) as store:
        export_archive(store, tmp_path / "arch")
    rebuilt = tmp_path / "rebuilt.db"
    import_archive(tmp_path / "arch", rebuilt)
    assert _dump(rebuilt) == _dump(db)
    original_log = _log(db)
    assert _log(rebuilt)[: len(original_log)] == original_log
    with Store(rebuilt) as store:
        report = verify_store(store)
        assert report.ok, report.problems
        assert read_entries(store.conn)[-1].action == "archive.import"
        shas = [r[0] for r in store.query("SELECT sha256 FROM evidence_files")]
        assert all(read_evidence(store, s, audience="confidential") for s in shas)
        assert (evidence_root(store) / "sha256").is_dir()


def test_a_changed_archive_is_refused(db, tmp_path):
    with Store(db) as store:
        export_archive(store, tmp_path / "arch")
    path = tmp_path / "arch" / "claims.jsonl"
    path.write_text(path.read_text().replace("medium", "high"))
    with pytest.raises(IntegrityError, match="changed"):
        import_archive(tmp_path / "arch", tmp_path / "x.db")
    assert not (tmp_path / "x.db").exists()


def test_cli_backup_restore(db, tmp_path):
    run = CliRunner().invoke
    out = run(main, ["--db", str(db), "backup", str(tmp_path / "b.db")])
    assert out.exit_code == 0 and "anchor" in out.output
    res = run(main, ["--db", str(tmp_path / "r.db"), "restore", str(tmp_path / "b.db")])
    assert res.exit_code == 0, res.output
    assert run(main, ["--db", str(tmp_path / "r.db"), "verify"]).exit_code == 0


WRITER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from survatlas.store import Store
    from survatlas.ingest import import_cameras
    from survatlas.provenance.sources import add_source, add_claim
    from survatlas.provenance.evidence import add_evidence
    folder = Path(sys.argv[1])
    with Store(folder / "s.db") as store:
        for i in range(100000):
            csv = folder / f"c{i}.csv"
            rows = "".join(f"{43 + (i * 50 + k) * 1e-4},{7 + k * 1e-4},r{i}-{k}\\n" for k in range(50))
            csv.write_text("latitude,longitude,id\\n" + rows)
            import_cameras(store, csv, sensitivity="confidential" if i % 3 == 0 else "public")
            sid = add_source(store, kind="testimony", title=f"w{i}", sensitivity="confidential")
            add_claim(store, source_id=sid, subject_type="device", subject_id=1, statement=f"s{i}")
            blob = folder / f"e{i}.bin"
            blob.write_bytes(os.urandom(20000))
            add_evidence(store, blob, sid)
            print(i, flush=True)
    """
)


@pytest.mark.parametrize("delay", [0.4, 0.9, 1.7])
def test_kill_9_during_writes_leaves_a_store_that_opens_and_verifies(tmp_path, delay, monkeypatch):
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    src = str(Path(survatlas.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src, "SURVATLAS_KEY": key}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True
    )
    proc.stdout.readline()  # at least one full round has landed
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    monkeypatch.setenv("SURVATLAS_KEY", key)
    with Store(tmp_path / "s.db") as store:
        report = verify_store(store)
        assert report.ok, report.problems
        assert report.entries >= 5
        imports = store.scalar("SELECT count(*) FROM imports")
        assert store.scalar("SELECT count(DISTINCT source_id) FROM devices") == imports


def test_an_interrupted_evidence_add_leaves_only_a_harmless_orphan(db, tmp_path):
    orphan = evidence_root(Store(db)) / "sha256" / "ff" / ("f" * 62)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"written before the crash, never recorded")
    with Store(db) as store:
        report = verify_store(store)
    assert report.ok
    assert any("unreferenced" in n for n in report.notes)
    assert json.dumps(report.to_dict())
