"""The OSM reader process: same result as reading in-process, errors, and it never lingers."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from builders import table_counts
from import_helpers import stored_rows
from survatlas.errors import CorruptFileError
from survatlas.ingest import _osmcompiled, _osmread, import_osm
from survatlas.ingest._writer import write_layer
from survatlas.ingest.osm import read_osm
from survatlas.store import Store

REPO = Path(__file__).resolve().parents[1]


def _rows(db: Path) -> dict[str, list[tuple]]:
    return stored_rows(db, warnings=True)


@pytest.fixture(scope="module")
def helsinki_in_process(tmp_path_factory, helsinki_pbf):
    db = tmp_path_factory.mktemp("local") / "s.db"
    with Store(db) as store:
        summary = import_osm(store, helsinki_pbf)
    return db, summary


def test_reader_process_writes_what_the_in_process_reader_writes(
    tmp_path, monkeypatch, helsinki_pbf, helsinki_in_process
):
    monkeypatch.setattr(_osmread, "use_process", lambda path: True)
    with Store(tmp_path / "p.db") as store:
        summary = import_osm(store, helsinki_pbf)
    local_db, local = helsinki_in_process
    assert summary.to_dict() | {"source_id": 0} == local.to_dict() | {"source_id": 0}
    assert _rows(tmp_path / "p.db") == _rows(local_db)
    assert multiprocessing.active_children() == []


def test_spawned_reader_process_writes_the_same(tmp_path, monkeypatch, helsinki_pbf,
                                                 helsinki_in_process):
    """With threads running, the reader is spawned (a fresh interpreter), not forked."""
    monkeypatch.setattr(_osmread, "use_process", lambda path: True)
    monkeypatch.setattr(_osmread.threading, "active_count", lambda: 2)
    with Store(tmp_path / "p.db") as store:
        import_osm(store, helsinki_pbf)
    assert _rows(tmp_path / "p.db") == _rows(helsinki_in_process[0])
    assert multiprocessing.active_children() == []


def test_a_reader_that_cannot_start_is_replaced_by_reading_in_process(
    tmp_path, monkeypatch, helsinki_pbf, helsinki_in_process
):
    monkeypatch.setattr(_osmread, "use_process", lambda path: True)
    monkeypatch.setattr(_osmread, "_child_main", _dies_at_once)
    with Store(tmp_path / "p.db") as store:
        import_osm(store, helsinki_pbf)
    assert _rows(tmp_path / "p.db") == _rows(helsinki_in_process[0])
    assert multiprocessing.active_children() == []


def _dies_at_once(send, receive, path, sensitivity):
    os._exit(1)


def test_small_files_and_busy_machines_read_in_process(monkeypatch, helsinki_pbf):
    monkeypatch.setattr(_osmread, "PROCESS_MIN_BYTES", 0)
    assert _osmcompiled.current_build() is not None  # `make osmcore`
    assert not _osmread.use_process(helsinki_pbf)  # the compiled reader reads in a thread
    monkeypatch.undo()
    monkeypatch.setattr(_osmcompiled, "current_build", lambda: None)  # pyosmium's reader
    assert not _osmread.use_process(helsinki_pbf)  # 0.7 MB: a process would cost more
    monkeypatch.setattr(_osmread, "PROCESS_MIN_BYTES", 0)
    monkeypatch.setattr(_osmread.os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    monkeypatch.setattr(_osmread.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert _osmread.use_process(helsinki_pbf)
    monkeypatch.setattr(_osmread.os, "getloadavg", lambda: (3.0, 3.0, 3.0))
    assert not _osmread.use_process(helsinki_pbf)  # no core to spare


def test_record_path_writes_what_the_osm_path_writes(tmp_path, helsinki_pbf, helsinki_in_process):
    """read_osm + write_layer (Record objects, strings) equals import_osm (columns, SQL-made)."""
    records = read_osm(helsinki_pbf)
    with Store(tmp_path / "r.db") as store, store.transaction() as conn:
        conn.execute("INSERT INTO sources (id, kind, title) VALUES (1, 'osm', 'x')")
        for layer, recs in records.layers.items():
            write_layer(conn, layer, 1, recs)
    assert _rows(tmp_path / "r.db") == _rows(helsinki_in_process[0])


def test_corrupt_file_in_the_reader_process_writes_nothing(tmp_path, monkeypatch, helsinki_pbf):
    monkeypatch.setattr(_osmread, "use_process", lambda path: True)
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(helsinki_pbf.read_bytes()[:300_000])
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(CorruptFileError, match="could not be read"):
            import_osm(store, broken)
        assert store.scalar("SELECT count(*) FROM sources") == 0
        assert store.scalar("SELECT count(*) FROM streets") == 0
    assert multiprocessing.active_children() == []


def test_reader_process_is_stopped_when_the_import_fails(tmp_path, monkeypatch, helsinki_pbf):
    monkeypatch.setattr(_osmread, "use_process", lambda path: True)
    monkeypatch.setattr(_osmread, "CHUNK_SIZE", 500)
    from survatlas.ingest import _writer

    def fail(self, chunk):
        raise RuntimeError("disk full")

    monkeypatch.setattr(_writer.LayerWriter, "add", fail)
    with Store(tmp_path / "s.db") as store, pytest.raises(RuntimeError, match="disk full"):
        import_osm(store, helsinki_pbf)
    assert multiprocessing.active_children() == []


_KILLED_IMPORT = """
import multiprocessing, pathlib, sys, time
from survatlas.ingest import _osmread, osm
from survatlas.store import Store
_osmread.use_process = lambda path: True
_osmread.CHUNK_SIZE = 200
original = osm.LayerWriter.add
def slow(self, chunk):
    original(self, chunk)
    pids = [p.pid for p in multiprocessing.active_children()]
    pathlib.Path(sys.argv[2]).write_text(" ".join(map(str, pids)))
    time.sleep(60)
osm.LayerWriter.add = slow
osm.import_osm(Store(sys.argv[1]), sys.argv[3])
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in {"Z", "X"}  # ended; a zombie waits for its new parent to reap it


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
def test_kill_9_of_the_importer_ends_the_reader_and_leaves_the_store(tmp_path, helsinki_pbf):
    db, marker = tmp_path / "s.db", tmp_path / "pids"
    Store(db).close()
    before = table_counts(db)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_IMPORT, str(db), str(marker),
                             str(helsinki_pbf)], env=env)
    deadline = time.monotonic() + 60
    while not (marker.exists() and marker.read_text().strip()):
        assert proc.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    readers = [int(p) for p in marker.read_text().split()]
    assert readers, "the import did not run a reader process"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20
    while not all(_gone(pid) for pid in readers):
        assert time.monotonic() < deadline, "the reader outlived the importer"
        time.sleep(0.05)
    assert table_counts(db) == before
    with Store(db) as store:
        assert store.scalar("PRAGMA integrity_check") == "ok"


def test_confidential_import_through_the_reader_process_is_sealed(tmp_path, monkeypatch,
                                                                   helsinki_pbf):
    from survatlas.store.encryption import generate_key, open_row, using_key

    monkeypatch.setattr(_osmread, "use_process", lambda path: True)
    with using_key(generate_key()), Store(tmp_path / "c.db") as store:
        first = import_osm(store, helsinki_pbf, sensitivity="confidential")
        rows = [dict(r) for r in store.query("SELECT tags, name, sensitivity FROM streets")]
        warning = store.query("SELECT value FROM device_warnings LIMIT 1")[0][0]
        again = import_osm(store, helsinki_pbf, sensitivity="confidential")
        plain = open_row("streets", rows[0])
    assert first.layers["streets"].added == len(rows) > 2000
    assert all(r["tags"].startswith('{"survatlas:encrypted"') for r in rows)
    assert warning.startswith("enc:")
    assert "highway" in plain["tags"]
    assert again.changed == 0
