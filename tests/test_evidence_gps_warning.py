"""A public evidence photo with GPS in its EXIF gets a warning (issue 14, finding 5)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from security_builders import set_key
from survatlas.cli import main
from survatlas.provenance.evidence import location_metadata
from test_evidence_files import jpeg_with_gps


def _run(db, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--db", str(db), *args])


def test_gps_in_a_public_photo_is_warned_about(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    set_key(monkeypatch)
    db = tmp_path / "e.db"
    src = json.loads(_run(db, "source", "add", "--kind", "photo", "--title", "street photo",
                          "--json").stdout)["id"]
    photo = tmp_path / "p.jpg"
    photo.write_bytes(jpeg_with_gps())
    assert location_metadata(photo.read_bytes()) == ["GPS EXIF"]
    res = _run(db, "evidence", "add", str(photo), "--source", str(src), "--json")
    assert res.exit_code == 0, res.output
    assert "GPS" in res.stderr and "evidence strip" in res.stderr
    assert json.loads(res.stdout)["warnings"]
    stripped = json.loads(_run(db, "evidence", "strip", json.loads(res.stdout)["sha256"],
                               "--json").stdout)
    assert stripped["sha256"] and location_metadata(b"not an image") == []


def test_a_restricted_photo_or_a_photo_without_gps_is_not_warned_about(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    set_key(monkeypatch)
    db = tmp_path / "e.db"
    src = json.loads(_run(db, "source", "add", "--kind", "photo", "--title", "t",
                          "--json").stdout)["id"]
    photo = tmp_path / "p.jpg"
    photo.write_bytes(jpeg_with_gps())
    res = _run(db, "evidence", "add", str(photo), "--source", str(src), "--sensitivity",
               "restricted", "--json")
    assert res.exit_code == 0 and "GPS" not in res.stderr
    clean = tmp_path / "c.txt"
    clean.write_text("a transcript")
    res = _run(db, "evidence", "add", str(clean), "--source", str(src), "--json")
    assert res.exit_code == 0 and res.stderr == "" and json.loads(res.stdout)["warnings"] == []
