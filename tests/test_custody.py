"""Promise 3: every change is in an append-only, hash-chained custody log that holds no
testimony text, secrets or coordinates; ``verify`` finds an edited, deleted, reordered or
truncated entry and exits non-zero."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from security_builders import CANARY, CANARY_DIGITS, build_pair, set_key, write
from survatlas.cli import main
from survatlas.errors import SecurityError
from survatlas.ingest import import_cameras
from survatlas.provenance.integrity import verify_store
from survatlas.provenance.sources import add_claim, add_source, set_claim_status
from survatlas.store import Store
from survatlas.store.custody import (
    acting_as,
    append_entry,
    check_chain,
    head,
    parse_anchor,
    read_entries,
)


@pytest.fixture
def db(tmp_path, monkeypatch):
    set_key(monkeypatch)
    _, canary, _ = build_pair(tmp_path)
    return canary


def _raw(db):
    """A connection with the protective triggers dropped: what a malicious insider can do."""
    conn = sqlite3.connect(db, isolation_level=None)
    for trigger in ("custody_log_no_update", "custody_log_no_delete"):
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    return conn


def _problems(db, anchor=None):
    with Store(db) as store:
        return verify_store(store, anchor=anchor).problems


def test_a_clean_store_verifies(db):
    assert _problems(db) == []


def test_every_change_is_logged_with_who(tmp_path, monkeypatch):
    set_key(monkeypatch)
    with Store(tmp_path / "s.db") as store, acting_as("ana"):
        n0 = len(read_entries(store.conn))
        sid = add_source(store, kind="news", title="t")
        import_cameras(store, write(tmp_path / "c.csv", "latitude,longitude\n43.7,7.4\n"))
        cid = add_claim(store, source_id=sid, subject_type="device", subject_id=1, statement="s")
        set_claim_status(store, cid, "disputed")
        entries = read_entries(store.conn)[n0:]
    assert [e.action for e in entries] == ["source.add", "import", "claim.add", "claim.status"]
    assert {e.actor for e in entries} == {"ana"}
    assert all(e.at and len(e.hash) == 64 for e in entries)


def test_the_log_is_append_only_in_sqlite(db):
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE custody_log SET actor = 'mallory' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM custody_log WHERE seq = 2")


def test_an_edited_entry_is_found(db):
    _raw(db).execute("UPDATE custody_log SET actor = 'mallory' WHERE seq = 3")
    assert any("#3 was edited" in p for p in _problems(db))


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(db):
    from survatlas.store.custody import entry_hash

    conn = _raw(db)
    row = conn.execute("SELECT * FROM custody_log WHERE seq = 3").fetchone()
    new = entry_hash(row[0], row[1], "mallory", row[3], row[4], row[5], row[6])
    conn.execute("UPDATE custody_log SET actor = 'mallory', hash = ? WHERE seq = 3", (new,))
    assert any("#4 does not link" in p for p in _problems(db))


def test_a_deleted_entry_is_found(db):
    _raw(db).execute("DELETE FROM custody_log WHERE seq = 4")
    problems = _problems(db)
    assert any("#5 follows #3" in p for p in problems)


def test_reordered_entries_are_found(db):
    conn = _raw(db)
    a = conn.execute(
        "SELECT at, actor, action, subject, details FROM custody_log WHERE seq = 3"
    ).fetchone()
    b = conn.execute(
        "SELECT at, actor, action, subject, details FROM custody_log WHERE seq = 4"
    ).fetchone()
    for seq, vals in ((3, b), (4, a)):
        conn.execute(
            "UPDATE custody_log SET at = ?, actor = ?, action = ?, subject = ?, details = ? WHERE seq = ?",
            (*vals, seq),
        )
    assert any("edited" in p for p in _problems(db))


def test_a_truncated_log_is_found(db):
    _raw(db).execute("DELETE FROM custody_log WHERE seq > (SELECT max(seq) - 3 FROM custody_log)")
    assert any("truncated" in p for p in _problems(db))


def test_truncation_that_also_fixes_the_head_is_found(db):
    conn = _raw(db)
    conn.execute("DROP TRIGGER custody_head_no_delete")
    last = conn.execute("SELECT max(seq) FROM custody_log").fetchone()[0]
    conn.execute("DELETE FROM custody_log WHERE seq = ?", (last,))
    conn.execute("DELETE FROM custody_head")
    conn.execute(
        "INSERT INTO custody_head SELECT 1, seq, hash FROM custody_log ORDER BY seq DESC LIMIT 1"
    )
    assert any("no custody entry" in p for p in _problems(db))


def test_a_rewritten_history_is_found_by_the_anchor(db):
    with Store(db) as store:
        anchor = head(store.conn)
    conn = _raw(db)
    conn.execute("DROP TRIGGER custody_head_no_delete")
    conn.execute("DELETE FROM custody_log")
    conn.execute("DELETE FROM custody_head")
    assert any("anchor" in p for p in _problems(db, anchor))


def test_verify_exits_non_zero_and_prints_the_anchor(db):
    ok = CliRunner().invoke(main, ["--db", str(db), "verify"])
    assert ok.exit_code == 0, ok.output
    anchor = ok.output.split("anchor: ")[1].strip()
    assert parse_anchor(anchor)[0] > 1
    again = CliRunner().invoke(main, ["--db", str(db), "verify", "--anchor", anchor])
    assert again.exit_code == 0
    _raw(db).execute("UPDATE custody_log SET details = '{}' WHERE seq = 2")
    bad = CliRunner().invoke(main, ["--db", str(db), "verify", "--json"])
    assert bad.exit_code == 1
    assert json.loads(bad.output)["ok"] is False


def test_the_log_holds_no_secret_text_or_coordinates(db):
    with Store(db) as store:
        text = json.dumps([e.to_dict() for e in read_entries(store.conn)])
    assert CANARY not in text
    assert not any(d in text for d in CANARY_DIGITS)


def test_details_refuse_coordinates_and_free_text(tmp_path):
    with Store(tmp_path / "s.db") as store, store.transaction() as conn:
        with pytest.raises(SecurityError, match="coordinate"):
            append_entry(conn, "x", details={"lat": 43.7})
        with pytest.raises(SecurityError, match="free text"):
            append_entry(conn, "x", details={"quote": "the guard told me, at night, that…"})


def test_the_chain_checker_sees_a_clean_chain_as_clean(tmp_path):
    with Store(tmp_path / "s.db") as store:
        with store.transaction() as conn:
            for i in range(5):
                append_entry(conn, "test", f"t:{i}", {"i": i})
        assert check_chain(store.conn) == []


def test_a_store_made_before_the_custody_log_verifies_after_upgrade(tmp_path, monkeypatch):
    """Rows older than the log are counted in its opening entry, not reported as missing."""
    from survatlas.store._migrations import APPLICATION_ID, _load_all

    set_key(monkeypatch)
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for name, fn in _load_all().items():
        if name < "m0310":
            fn(conn)
            conn.execute("INSERT INTO _migrations VALUES (?, '2024-01-01')", (name,))
    conn.execute("INSERT INTO sources (kind, title) VALUES ('news', 'old source')")
    conn.execute(
        "INSERT INTO imports (source_id, command, started_at, finished_at, summary) "
        "VALUES (1, 'import osm', 'x', 'x', '{}')"
    )
    conn.close()
    with Store(path) as store:
        assert read_entries(store.conn)[0].action == "custody.start"
        assert verify_store(store).ok
        import_cameras(store, write(tmp_path / "c.csv", "latitude,longitude\n43.7,7.4\n"))
        assert verify_store(store).ok
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER custody_log_no_delete")
    conn.execute("DELETE FROM custody_log WHERE action = 'import'")
    conn.close()
    with Store(path) as store:
        assert any("imports row 2 has no custody entry" in p for p in verify_store(store).problems)
