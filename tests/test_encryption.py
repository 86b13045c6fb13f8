"""Promise 5: confidential fields and files are encrypted at rest; a wrong or missing key is a
clear error — never garbage, never a plaintext fallback."""

from __future__ import annotations

import base64
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from security_builders import CANARY, build_pair, raw_leaks, set_key, write
from survatlas.errors import SecurityError
from survatlas.ingest import import_cameras
from survatlas.provenance.evidence import blob_path, evidence_root, read_evidence
from survatlas.provenance.sources import add_source
from survatlas.store import Store, encryption
from survatlas.store.encryption import (
    ALGORITHM,
    VERSION,
    Key,
    decrypt_bytes,
    decrypt_text,
    encrypt_bytes,
    encrypt_text,
    generate_key,
    using_key,
)
from survatlas.store.gate import read_claims, read_layer, read_sources

KEY = generate_key()


@given(st.text(max_size=300), st.text(alphabet="abcdefghij._", min_size=1, max_size=20))
def test_text_round_trip(plaintext, context):
    sealed = encrypt_text(KEY, plaintext, context)
    assert sealed.startswith(f"enc:{VERSION}:{ALGORITHM}:{KEY.key_id}:")
    assert decrypt_text(KEY, sealed, context) == plaintext


@given(st.binary(max_size=2000))
def test_bytes_round_trip(data):
    assert decrypt_bytes(KEY, encrypt_bytes(KEY, data, "evidence:x"), "evidence:x") == data


def test_wrong_key_is_a_clear_error():
    sealed = encrypt_text(KEY, "secret", "claims.quote")
    other = generate_key()
    with pytest.raises(SecurityError, match="encrypted with key"):
        decrypt_text(other, sealed, "claims.quote")
    with pytest.raises(SecurityError, match="encrypted with key"):
        decrypt_bytes(other, encrypt_bytes(KEY, b"x", "c"), "c")


def test_missing_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv(encryption.KEY_ENV, raising=False)
    monkeypatch.delenv(encryption.KEY_FILE_ENV, raising=False)
    sealed = encrypt_text(KEY, "secret", "claims.quote")
    with pytest.raises(SecurityError, match="needs a key"):
        decrypt_text(None, sealed, "claims.quote")


def test_a_key_with_the_same_id_but_altered_ciphertext_fails():
    sealed = encrypt_text(KEY, "secret", "claims.quote")
    prefix, payload = sealed.rsplit(":", 1)
    raw = bytearray(base64.b64decode(payload))
    raw[-1] ^= 1
    with pytest.raises(SecurityError, match="altered"):
        decrypt_text(KEY, f"{prefix}:{base64.b64encode(bytes(raw)).decode()}", "claims.quote")


def test_a_ciphertext_moved_to_another_field_fails():
    sealed = encrypt_text(KEY, "secret", "sources.title")
    with pytest.raises(SecurityError):
        decrypt_text(KEY, sealed, "claims.quote")


def test_unknown_version_is_refused():
    sealed = encrypt_text(KEY, "secret", "c").replace("enc:v1:", "enc:v9:")
    with pytest.raises(SecurityError, match="upgrade"):
        decrypt_text(KEY, sealed, "c")


def test_key_file_is_private_and_never_overwritten(tmp_path):
    path = tmp_path / "k.key"
    key = encryption.write_key_file(path)
    assert path.stat().st_mode & 0o077 == 0
    assert encryption.read_key_file(path) == key
    with pytest.raises(Exception, match="refusing"):
        encryption.write_key_file(path)


def test_confidential_import_without_a_key_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(encryption.KEY_ENV, raising=False)
    monkeypatch.delenv(encryption.KEY_FILE_ENV, raising=False)
    csv = write(tmp_path / "c.csv", "latitude,longitude,name\n43.7,7.4,x\n")
    with Store(tmp_path / "s.db") as store:
        before = store.scalar("SELECT count(*) FROM custody_log")
        with pytest.raises(SecurityError):
            import_cameras(store, csv, sensitivity="confidential")
        assert store.scalar("SELECT count(*) FROM devices") == 0
        assert store.scalar("SELECT count(*) FROM sources") == 0
        assert store.scalar("SELECT count(*) FROM custody_log") == before


def test_no_confidential_text_is_stored_in_clear(tmp_path, monkeypatch):
    """Seized laptop: the store file, its WAL and the evidence folder hold no canary text."""
    set_key(monkeypatch)
    _, canary, _ = build_pair(tmp_path)
    conn = sqlite3.connect(canary)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    files = [canary, *canary.parent.glob("canary.db-*")]
    files += [p for p in evidence_root(Store(canary)).rglob("*") if p.is_file()]
    for path in files:
        # only the confidential canary must be absent: restricted records are not encrypted
        data = path.read_bytes()
        assert b"CANARYq7Zx witness" not in data and b"CANARYq7Zx quote" not in data, path
        assert b"CANARYq7Zx testimony" not in data, path
        assert b"CANARYq7Zx secret" not in data and b"CANARYq7Zx cam" not in data, path
        assert b"CANARYq7Zx dir" not in data, path  # a raw tag value kept in a warning


def test_the_key_holder_reads_confidential_records(tmp_path, monkeypatch):
    set_key(monkeypatch)
    _, canary, ids = build_pair(tmp_path)
    with Store(canary) as store:
        titles = [s["title"] for s in read_sources(store, audience="confidential")]
        assert f"{CANARY} witness" in titles
        quotes = [c["quote"] for c in read_claims(store, audience="confidential")]
        assert f"{CANARY} quote" in quotes
        devices = read_layer(store, "devices", audience="confidential")
        assert f"{CANARY} secret" in [t.get("description") for t in devices["tags"]]
        values = [w["value"] for ws in devices["warnings"] for w in ws]
        assert f"{CANARY} dir" in values
        assert read_evidence(store, ids["evidence"], audience="confidential").startswith(
            CANARY.encode()
        )
        with using_key(generate_key()), pytest.raises(SecurityError, match="encrypted with key"):
            read_sources(store, audience="confidential")


def test_testimony_files_are_encrypted_on_disk(tmp_path, monkeypatch):
    set_key(monkeypatch)
    _, canary, ids = build_pair(tmp_path)
    with Store(canary) as store:
        blob = blob_path(evidence_root(store), ids["evidence"]).read_bytes()
    assert encryption.is_encrypted_bytes(blob)
    assert not raw_leaks(blob)


def test_source_title_plaintext_never_reaches_the_row(tmp_path, monkeypatch):
    key = set_key(monkeypatch)
    with Store(tmp_path / "s.db") as store:
        sid = add_source(store, kind="testimony", title="Ms X", sensitivity="confidential")
        stored = store.scalar("SELECT title FROM sources WHERE id = ?", (sid,))
    assert stored.startswith("enc:v1:aes-256-gcm:") and "Ms X" not in stored
    assert decrypt_text(Key(key.secret), stored, "sources.title") == "Ms X"
