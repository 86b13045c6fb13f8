"""Tamper evidence of content (issue 15, finding 7): every write's custody entry holds the
record's state and a keyed hash of its content; verify names the record and the field; an
un-revoked token is refused."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from security_builders import set_key
from survatlas.errors import SecurityError
from survatlas.provenance.access import create_token, revoke_token, verify_token
from survatlas.provenance.integrity import verify_store
from survatlas.provenance.sources import add_claim, add_source, set_claim_status
from survatlas.store import Store
from survatlas.store.encryption import generate_key, using_key
from survatlas.web.auth import install_access


@pytest.fixture
def db(tmp_path, monkeypatch):
    set_key(monkeypatch)
    db = tmp_path / "s.db"
    with Store(db) as store:
        src = add_source(store, kind="news", title="a report", sensitivity="restricted")
        claim = add_claim(store, source_id=src, subject_type="programme", subject_key="CityWatch",
                          statement="a camera programme")
        set_claim_status(store, claim, "verified")
        create_token(store, "alice", "viewer")
        revoke_token(store, "alice")
        assert verify_store(store).ok
    return db


def _sql(db, sql):
    conn = sqlite3.connect(db)
    conn.execute(sql)
    conn.commit()
    conn.close()


def _problems(db, key=None):
    with Store(db) as store:
        return verify_store(store, key=key).problems


@pytest.mark.parametrize(("sql", "words"), [
    ("UPDATE tokens SET revoked_at = NULL", "token:1: revoked is False"),
    ("UPDATE tokens SET role = 'admin'", "token:1: role is 'admin'"),
    ("UPDATE sources SET sensitivity = 'public'", "source:1: sensitivity is 'public'"),
    ("UPDATE claims SET status = 'disputed'", "claim:1: status is 'disputed'"),
    ("UPDATE claims SET sensitivity = 'public'", "claim:1: sensitivity is 'public'"),
    ("UPDATE sources SET title = 'another title'", "source:1: its content differs"),
    ("UPDATE claims SET statement = 'no camera'", "claim:1: its content differs"),
    ("DELETE FROM claims", "claim:1 was deleted outside survatlas"),
])
def test_verify_names_the_record_and_field_changed_with_sql(db, sql, words):
    _sql(db, sql)
    problems = _problems(db)
    assert any(p.startswith(words) for p in problems), problems


def test_the_digest_is_keyed(db):
    _sql(db, "UPDATE sources SET title = 'x'")
    with Store(db) as store:
        entry = store.query(
            "SELECT details FROM custody_log WHERE subject = 'source:1' ORDER BY seq DESC")[0][0]
    assert '"state.digest":"hmac:' in entry
    # another key cannot check the digest; a note says so
    with using_key(generate_key()), Store(db) as store:
        report = verify_store(store, key=generate_key())
    assert any("keyed" in n for n in report.notes)


def test_an_unrevoked_token_is_refused_in_private_mode(tmp_path, monkeypatch):
    set_key(monkeypatch)
    db = tmp_path / "s.db"
    with Store(db) as store:
        token = create_token(store, "bob", "viewer")
        revoke_token(store, "bob")
    _sql(db, "UPDATE tokens SET revoked_at = NULL")
    with Store(db) as store, pytest.raises(SecurityError):
        verify_token(store, token)
    app = FastAPI()
    install_access(app, db, private=True)

    @app.get("/api/x")
    def x():
        return {}

    res = TestClient(app).get("/api/x", headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 401


def test_a_token_inserted_with_sql_or_raised_is_refused(tmp_path, monkeypatch):
    set_key(monkeypatch)
    db = tmp_path / "s.db"
    with Store(db) as store:
        token = create_token(store, "carol", "viewer")
        assert verify_token(store, token).role == "viewer"
    _sql(db, "UPDATE tokens SET role = 'admin'")
    with Store(db) as store, pytest.raises(SecurityError):
        verify_token(store, token)
    _sql(db, "UPDATE tokens SET role = 'viewer', name = 'dave', id = 7")
    with Store(db) as store, pytest.raises(SecurityError):
        verify_token(store, token)  # no custody entry names token:7


def test_one_key_per_store(tmp_path, monkeypatch):
    """Finding 8: importing with a different key is a clear error; verify sees two keys."""
    from survatlas.errors import SecurityError as Refused
    from survatlas.ingest import import_cameras

    set_key(monkeypatch)
    db = tmp_path / "s.db"
    cams = tmp_path / "c.csv"
    cams.write_text("id,latitude,longitude,name\nc1,43.73,7.42,a\n")
    with Store(db) as store:
        import_cameras(store, cams, sensitivity="confidential")
    other = tmp_path / "d.csv"
    other.write_text("id,latitude,longitude,name\nd1,43.74,7.43,b\n")
    set_key(monkeypatch)  # another key
    with Store(db) as store, pytest.raises(Refused, match="encrypted with key"):
        import_cameras(store, other, sensitivity="confidential")
    with Store(db) as store:
        assert store.scalar("SELECT count(*) FROM devices") == 1
    # a ciphertext of another key smuggled in with SQL is reported
    from survatlas.store.encryption import encrypt_text
    sealed = encrypt_text(generate_key(), "x", "devices.name")
    _sql(db, f"UPDATE devices SET name = '{sealed}'")
    problems = _problems(db)
    assert any("another key" in p for p in problems), problems
