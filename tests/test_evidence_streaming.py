"""Evidence is hashed, copied and encrypted in chunks (issue 15, finding 9): memory does not
grow with the file; the stored files are the owner's only (finding 8)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from security_builders import set_key
from survatlas.provenance.backup import backup_store
from survatlas.provenance.evidence import add_evidence, blob_path, evidence_root, read_evidence
from survatlas.provenance.sources import add_source
from survatlas.store import Store

SIZE = 256 * 2**20

_PROBE = """
import json, resource, sys
from survatlas.provenance.evidence import add_evidence
from survatlas.provenance.sources import add_source
from survatlas.store import Store
db, path, level = sys.argv[1:]
with Store(db) as store:
    src = add_source(store, kind="photo", title="t", sensitivity=level)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rec = add_evidence(store, path, src)
print(json.dumps({"base_kb": base, "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "sha": rec.sha256}))
"""


@pytest.mark.parametrize("level", ["public", "confidential"])
def test_a_large_file_is_added_in_constant_memory(tmp_path, monkeypatch, level):
    set_key(monkeypatch)
    big = tmp_path / "big.bin"
    with big.open("wb") as fh:  # not sparse-zero only: a pattern, 256 MB
        block = hashlib.sha256(b"x").digest() * (2**20 // 32)
        for _ in range(SIZE // len(block)):
            fh.write(block)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path / "s.db"), str(big), level],
        capture_output=True, text=True, env=env, check=True,
    )
    probe = json.loads(out.stdout)
    grew_mb = (probe["peak_kb"] - probe["base_kb"]) / 1024
    print(f"{level}: adding a {SIZE >> 20} MB file grew memory by {grew_mb:.0f} MB")
    assert grew_mb < 64, f"adding a {SIZE >> 20} MB file grew memory by {grew_mb:.0f} MB"
    digest = hashlib.sha256()
    with big.open("rb") as fh:
        while chunk := fh.read(2**20):
            digest.update(chunk)
    assert probe["sha"] == "sha256:" + digest.hexdigest()


def test_a_streamed_encrypted_file_decrypts_and_a_plain_one_reads_back(tmp_path, monkeypatch):
    set_key(monkeypatch)
    data = os.urandom(3 * 2**20 + 17)  # several chunks and a ragged end
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    with Store(tmp_path / "s.db") as store:
        for level in ("confidential", "public"):
            src = add_source(store, kind="photo", title=level, sensitivity=level)
            if level == "public":
                path.write_bytes(data[::-1])
            rec = add_evidence(store, path, src)
            want = data if level == "confidential" else data[::-1]
            assert read_evidence(store, rec.sha256, audience="confidential") == want
            stored = blob_path(evidence_root(store), rec.sha256).read_bytes()
            assert (stored == want) is (level == "public")


def test_store_evidence_and_backups_are_the_owners_only(tmp_path, monkeypatch):
    set_key(monkeypatch)
    db = tmp_path / "s.db"
    path = tmp_path / "note.txt"
    path.write_text("a restricted photo's bytes")
    with Store(db) as store:
        src = add_source(store, kind="photo", title="p", sensitivity="restricted")
        rec = add_evidence(store, path, src)
        blob = blob_path(evidence_root(store), rec.sha256)
        backup_store(store, tmp_path / "b.db")
        assert Path(f"{db}-wal").stat().st_mode & 0o077 == 0  # while open
    assert db.stat().st_mode & 0o077 == 0
    assert blob.stat().st_mode & 0o777 == 0o400
    assert (tmp_path / "b.db").stat().st_mode & 0o077 == 0
    copies = list((tmp_path / "b.db.evidence").rglob("*"))
    assert [c for c in copies if c.is_file()]
    assert all(c.stat().st_mode & 0o777 == 0o400 for c in copies if c.is_file())
