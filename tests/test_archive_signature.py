"""A signed archive manifest (issue 15, finding 6): a table *and* its manifest hash changed
together — a consistent edit that file hashes alone cannot show — are refused on import;
so is a keyed store's archive whose signature was removed, and a signed one without its key."""

from __future__ import annotations

import hashlib
import json

import pytest

from security_builders import seed_public, set_key
from survatlas.errors import IntegrityError
from survatlas.provenance.backup import export_archive, import_archive
from survatlas.provenance.sources import add_source
from survatlas.store import Store
from survatlas.store.encryption import KEY_ENV


@pytest.fixture
def archive(tmp_path, monkeypatch):
    set_key(monkeypatch)
    db = tmp_path / "s.db"
    with Store(db) as store:
        seed_public(store, tmp_path / "in")
        add_source(store, kind="testimony", title="a witness", sensitivity="confidential")
        result = export_archive(store, tmp_path / "arch")
    assert result["signed"]
    return tmp_path / "arch"


def _doctor(archive, table: str, old: str, new: str) -> None:
    """Change a table file and fix its hash in the manifest (a consistent edit of both)."""
    path = archive / f"{table}.jsonl"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    manifest = json.loads((archive / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"][f"{table}.jsonl"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (archive / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def test_an_untouched_signed_archive_imports(archive, tmp_path):
    import_archive(archive, tmp_path / "ok.db")
    assert (tmp_path / "ok.db").exists()


def test_a_table_and_its_manifest_hash_changed_together_are_refused(archive, tmp_path):
    # the import record's command: a row no other check ties to its custody entry
    _doctor(archive, "imports", "import cameras", "import layer")
    with pytest.raises(IntegrityError, match="signature does not match"):
        import_archive(archive, tmp_path / "x.db")
    assert not (tmp_path / "x.db").exists()


def test_a_removed_signature_is_refused_for_a_keyed_store(archive, tmp_path):
    manifest = json.loads((archive / "manifest.json").read_text(encoding="utf-8"))
    manifest["signature"] = None
    (archive / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IntegrityError, match="not signed"):
        import_archive(archive, tmp_path / "x.db")
    assert not (tmp_path / "x.db").exists()


def test_a_signed_archive_needs_its_key(archive, tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(IntegrityError, match="give that key"):
        import_archive(archive, tmp_path / "x.db")
    set_key(monkeypatch)  # another key
    with pytest.raises(IntegrityError, match="give that key"):
        import_archive(archive, tmp_path / "x.db")
    assert not (tmp_path / "x.db").exists()
