"""Promise 2: originals are hashed as received, stored content-addressed and write-once;
derived copies (EXIF/GPS stripped) record their parent's hash."""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3

import numpy as np
import pytest
from PIL import Image

from security_builders import set_key, write
from survatlas.errors import CorruptFileError, IntegrityError, NotFoundError
from survatlas.provenance.evidence import (
    STRIP_DERIVATION,
    add_evidence,
    blob_path,
    derive_stripped,
    evidence_root,
    list_evidence,
    read_evidence,
    strip_jpeg_metadata,
)
from survatlas.provenance.integrity import verify_store
from survatlas.provenance.sources import add_source
from survatlas.store import Store

GPS_IFD = 0x8825


def jpeg_with_gps(comment: bytes = b"shot by a witness") -> bytes:
    """A small JPEG carrying camera make, GPS position and a comment."""
    img = Image.new("RGB", (32, 24))
    img.putdata([((x * 8) % 256, (y * 10) % 256, 128) for y in range(24) for x in range(32)])
    exif = Image.Exif()
    exif[0x010F] = "WitnessPhone"
    exif[GPS_IFD] = {1: "N", 2: (43.0, 44.0, 8.4), 3: "E", 4: (7.0, 25.0, 16.4)}
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif, comment=comment, quality=90)
    return buf.getvalue()


@pytest.fixture
def store(tmp_path, monkeypatch):
    set_key(monkeypatch)
    with Store(tmp_path / "s.db") as s:
        yield s


def test_the_id_is_the_sha256_of_the_bytes_as_received(store, tmp_path):
    src = add_source(store, kind="document", title="report")
    data = b"%PDF-1.4 a document"
    rec = add_evidence(store, write(tmp_path / "d.pdf", data.decode()), src)
    assert rec.sha256 == "sha256:" + hashlib.sha256(data).hexdigest()
    assert rec.media_type == "application/pdf"
    path = blob_path(evidence_root(store), rec.sha256)
    assert path.read_bytes() == data
    assert path.parent.name == rec.sha256[7:9] and path.name == rec.sha256[9:]


def test_originals_are_write_once(store, tmp_path):
    src = add_source(store, kind="document", title="report")
    rec = add_evidence(store, write(tmp_path / "a.txt", "original"), src)
    path = blob_path(evidence_root(store), rec.sha256)
    assert not os.access(path, os.W_OK) or os.geteuid() == 0
    assert path.stat().st_mode & 0o222 == 0
    conn = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.IntegrityError, match="write-once"):
        conn.execute("UPDATE evidence_files SET sha256 = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="write-once"):
        conn.execute("DELETE FROM evidence_files")


def test_adding_the_same_bytes_twice_keeps_one_record(store, tmp_path):
    src = add_source(store, kind="document", title="report")
    a = add_evidence(store, write(tmp_path / "a.txt", "same"), src)
    b = add_evidence(store, write(tmp_path / "b.txt", "same"), src)
    assert a == b
    assert store.scalar("SELECT count(*) FROM custody_log WHERE action = 'evidence.add'") == 1


def test_a_blob_altered_before_a_retry_is_refused(store, tmp_path):
    src = add_source(store, kind="document", title="report")
    data = "later evidence"
    target = blob_path(evidence_root(store), "sha256:" + hashlib.sha256(data.encode()).hexdigest())
    target.parent.mkdir(parents=True)
    target.write_bytes(b"planted")
    with pytest.raises(IntegrityError):
        add_evidence(store, write(tmp_path / "e.txt", data), src)
    assert store.scalar("SELECT count(*) FROM evidence_files") == 0


def test_a_changed_or_missing_file_fails_verify(store, tmp_path):
    src = add_source(store, kind="photo", title="photo")
    recs = [add_evidence(store, write(tmp_path / f"{i}.txt", f"file {i}"), src) for i in range(2)]
    assert verify_store(store).ok
    changed = blob_path(evidence_root(store), recs[0].sha256)
    os.chmod(changed, 0o644)
    changed.write_bytes(b"file X")
    blob_path(evidence_root(store), recs[1].sha256).unlink()
    problems = verify_store(store).problems
    assert any("changed on disk" in p for p in problems)
    assert any("missing" in p for p in problems)
    with pytest.raises(IntegrityError):
        read_evidence(store, recs[0].sha256)


def test_stripping_removes_exif_and_gps_and_keeps_the_pixels(store, tmp_path):
    src = add_source(store, kind="photo", title="street photo", sensitivity="restricted")
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)
    rec = add_evidence(store, _bytes(tmp_path, original), src)
    derived = derive_stripped(store, rec.sha256, sensitivity="public")
    data = read_evidence(store, derived.sha256)
    with Image.open(io.BytesIO(data)) as img:
        assert len(img.getexif()) == 0
        assert "comment" not in img.info and "exif" not in img.info
        stripped_pixels = np.asarray(img)
    assert b"WitnessPhone" not in data and b"witness" not in data
    assert np.array_equal(stripped_pixels, np.asarray(Image.open(io.BytesIO(original))))
    assert derived.parent_sha256 == rec.sha256
    assert derived.derivation == STRIP_DERIVATION
    assert derived.sensitivity == "public"
    assert [e["sha256"] for e in list_evidence(store)] == [derived.sha256]
    assert store.scalar("SELECT count(*) FROM custody_log WHERE action = 'evidence.derive'") == 1


def _bytes(folder, data):
    path = folder / "photo.jpg"
    path.write_bytes(data)
    return path


def test_stripping_a_non_jpeg_is_a_clear_error(store, tmp_path):
    src = add_source(store, kind="document", title="doc")
    rec = add_evidence(store, write(tmp_path / "d.txt", "text"), src)
    with pytest.raises(CorruptFileError, match="JPEG"):
        derive_stripped(store, rec.sha256)


def test_strip_is_idempotent_and_lossless_on_clean_files():
    once = strip_jpeg_metadata(jpeg_with_gps())
    assert strip_jpeg_metadata(once) == once


def test_hidden_evidence_is_not_found_by_a_public_reader(store, tmp_path):
    src = add_source(store, kind="testimony", title="w", sensitivity="confidential")
    rec = add_evidence(store, write(tmp_path / "t.txt", "testimony"), src)
    assert rec.encryption == "aes-256-gcm:v1"
    assert list_evidence(store) == []
    with pytest.raises(NotFoundError):
        read_evidence(store, rec.sha256)
    assert read_evidence(store, rec.sha256, audience="confidential") == b"testimony"
