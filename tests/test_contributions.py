"""Contributions: pending and restricted until accepted; photos stripped and blurred first."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from contribution_builders import FACE_256, jpeg_with_exif, png, portrait, region_detail
from survatlas.contribute.moderation import (
    ContributionPolicy,
    accept_contribution,
    list_contributions,
    reject_contribution,
    submit_contribution,
)
from survatlas.contribute.photos import PhotoLimits, sanitise_photo
from survatlas.errors import CorruptFileError, InputError, NotFoundError
from survatlas.provenance.evidence import evidence_root, read_evidence
from survatlas.provenance.integrity import verify_store
from survatlas.publish.export import export_layer
from survatlas.store import Store
from survatlas.store.custody import read_entries
from survatlas.store.gate import read_layer, read_sources

FIELDS = {
    "lat": "60.1699",
    "lon": "24.9384",
    "direction": "135",
    "surveillance:type": "camera",
    "camera:mount": "wall",
    "camera:type": "dome",
    "surveillance:zone": "street",
    "operator": "City of Helsinki",
    "height": "4",
    "note": "above the pharmacy door",
}


@pytest.fixture(scope="module")
def photo() -> bytes:
    return jpeg_with_exif(portrait())


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "c.db") as s:
        yield s


def _evidence_files(store) -> list:
    root = evidence_root(store)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_photo_loses_its_metadata_and_its_face(photo):
    original = np.asarray(Image.open(io.BytesIO(photo)).convert("RGB"))
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(0x8825), "the test photo has GPS"
    clean = sanitise_photo(photo)
    img = Image.open(io.BytesIO(clean.data))
    assert img.format == "JPEG"
    assert not img.getexif() and "comment" not in img.info and "exif" not in img.info
    assert b"PhoneMaker" not in clean.data and b"station" not in clean.data
    assert clean.faces, "the astronaut's face is found"
    after = np.asarray(img.convert("RGB"))
    assert region_detail(original, FACE_256) > 8
    assert region_detail(after, FACE_256) < region_detail(original, FACE_256) / 4


def test_the_exif_orientation_is_applied_before_blurring(photo):
    rotated = np.ascontiguousarray(np.rot90(portrait(), k=-1))  # stored sideways
    clean = sanitise_photo(jpeg_with_exif(rotated, orientation=8))  # "rotate 90 CW to view"
    upright = np.asarray(Image.open(io.BytesIO(clean.data)).convert("RGB"))
    assert upright.shape[:2] == (256, 256)
    assert clean.faces, "the face is found once the photo is upright"
    assert region_detail(upright, FACE_256) < 3


def test_png_with_transparency_is_accepted_and_becomes_a_jpeg():
    rgba = np.dstack([portrait(128), np.full((128, 128), 128, np.uint8)])
    clean = sanitise_photo(png(rgba))
    assert clean.data.startswith(b"\xff\xd8")


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"%PDF-1.7 not a photo", InputError, "not a JPEG, PNG or WebP"),
        (b"<svg onload=alert(1)>", InputError, "not a JPEG, PNG or WebP"),
        (b"", InputError, "empty"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 40, CorruptFileError, "does not decode"),
    ],
)
def test_bad_photos_get_clear_errors(data, error, message):
    with pytest.raises(error, match=message):
        sanitise_photo(data)


def test_size_and_pixel_limits(photo):
    with pytest.raises(InputError, match="limit is"):
        sanitise_photo(photo, limits=PhotoLimits(max_bytes=1000))
    with pytest.raises(InputError, match="megapixels"):
        sanitise_photo(photo, limits=PhotoLimits(max_pixels=10_000))


def test_a_contribution_waits_pending_and_restricted_until_accepted(store, photo, tmp_path):
    cid = submit_contribution(store, FIELDS, [photo])
    [item] = list_contributions(store)
    assert item["id"] == cid and item["status"] == "pending"
    assert item["sensitivity"] == "restricted"
    assert item["tags"]["camera:mount"] == "wall" and item["tags"]["camera:direction"] == "135"
    assert item["note"] == "above the pharmacy door"
    assert item["photos"][0]["faces_blurred"] >= 1 and not item["photos"][0]["original_kept"]
    # nothing public yet: no device, no public source, no public evidence, an empty export
    assert len(read_layer(store, "devices")) == 0
    assert read_sources(store) == []
    out = export_layer(store, "contributions", "osc", tmp_path / "empty.osc")
    assert out["features"] == 0
    # the stored photo is the derivative only: no EXIF; the original bytes are nowhere
    files = _evidence_files(store)
    assert len(files) == 1
    stored = read_evidence(store, item["photos"][0]["evidence"], audience="restricted")
    assert b"PhoneMaker" not in stored and not Image.open(io.BytesIO(stored)).getexif()
    assert all(photo not in f.read_bytes() for f in files)

    device_id = accept_contribution(store, cid)
    devices = read_layer(store, "devices")
    assert devices["id"].tolist() == [device_id]
    row = devices.iloc[0]
    assert (row["mount"], row["camera_type"], row["zone"]) == ("wall", "dome", "street")
    assert row["height_m"] == 4.0 and row["views"][0][0] == 135.0
    assert row["origin"] == f"contribution:{cid}"
    # the public does not even learn the id of the contributor's restricted source
    assert row["source_id"] is pd.NA
    custodian = read_layer(store, "devices", audience="confidential").iloc[0]
    assert custodian["source_id"] == item["source_id"]
    assert read_sources(store) == [], "the contributor's source stays restricted"
    assert list_contributions(store, "accepted")[0]["device_id"] == device_id


def test_osmchange_export_of_accepted_public_contributions(store, photo, tmp_path):
    import osmium

    public = submit_contribution(store, FIELDS, [])
    hidden = submit_contribution(store, {**FIELDS, "lat": "60.1710", "operator": "Secret"}, [])
    pending = submit_contribution(store, {**FIELDS, "lat": "60.1720", "operator": "Waiting"}, [])
    accept_contribution(store, public)
    accept_contribution(store, hidden, sensitivity="restricted")
    out = tmp_path / "contributions.osc"
    result = export_layer(store, "contributions", "osc", out)
    assert result["features"] == 1 and pending
    text = out.read_text(encoding="utf-8")
    assert "Secret" not in text and "Waiting" not in text and "pharmacy" not in text
    assert "<create>" in text and 'id="-1"' in text

    class Nodes(osmium.SimpleHandler):
        def __init__(self):
            super().__init__()
            self.nodes = []

        def node(self, n):
            self.nodes.append((n.id, n.location.lat, n.location.lon, dict(n.tags)))

    handler = Nodes()
    handler.apply_file(str(out))
    [(node_id, lat, lon, tags)] = handler.nodes
    assert node_id < 0
    assert (round(lat, 4), round(lon, 4)) == (60.1699, 24.9384)
    assert tags == {
        "camera:direction": "135",
        "camera:mount": "wall",
        "camera:type": "dome",
        "height": "4",
        "man_made": "surveillance",
        "operator": "City of Helsinki",
        "surveillance:type": "camera",
        "surveillance:zone": "street",
    }


def test_osmchange_is_for_contributions_only(store, tmp_path):
    with pytest.raises(InputError, match="contributions only"):
        export_layer(store, "devices", "osc", tmp_path / "d.osc")


def test_reject_keeps_the_reason_and_decisions_are_final(store):
    cid = submit_contribution(store, FIELDS, [])
    with pytest.raises(InputError, match="reason"):
        reject_contribution(store, cid, "  ")
    reject_contribution(store, cid, "duplicate of an OSM node")
    [item] = list_contributions(store, "rejected")
    assert item["reason"] == "duplicate of an OSM node" and item["device_id"] is None
    with pytest.raises(InputError, match="already rejected"):
        accept_contribution(store, cid)
    with pytest.raises(NotFoundError):
        accept_contribution(store, cid + 99)
    with pytest.raises(Exception, match="cannot change"):
        store.conn.execute("UPDATE contributions SET status = 'pending' WHERE id = ?", (cid,))


def test_every_step_is_in_the_custody_log(store, photo):
    accepted = submit_contribution(store, FIELDS, [photo])
    rejected = submit_contribution(store, FIELDS, [])
    accept_contribution(store, accepted)
    reject_contribution(store, rejected, "blurry")
    entries = [(e.action, e.subject) for e in read_entries(store.conn)]
    for action, cid in (
        ("contribution.submit", accepted),
        ("contribution.submit", rejected),
        ("contribution.accept", accepted),
        ("contribution.reject", rejected),
    ):
        assert (action, f"contribution:{cid}") in entries
    assert any(a == "evidence.add" for a, _ in entries)
    log = json.dumps([e.to_dict() for e in read_entries(store.conn)])
    assert "blurry" not in log and "60.1699" not in log and "pharmacy" not in log
    assert verify_store(store).problems == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({**FIELDS, "lat": "91"}, "outside the globe"),
        ({**FIELDS, "lat": "abc"}, "not a number"),
        ({**FIELDS, "lat": "0", "lon": "0"}, "missing position"),
        ({**FIELDS, "direction": "400"}, "0–360"),
        ({**FIELDS, "camera:mount": "dome"}, "camera:mount"),
        ({**FIELDS, "password": "x"}, "unknown field"),
        ({**FIELDS, "note": "x" * 3000}, "limit is 2000"),
    ],
)
def test_bad_fields_leave_nothing(store, photo, fields, message):
    with pytest.raises(InputError, match=message):
        submit_contribution(store, fields, [photo])
    _assert_empty(store)


def test_a_bad_photo_among_good_ones_leaves_nothing(store, photo):
    with pytest.raises(InputError, match="photo 2"):
        submit_contribution(store, FIELDS, [photo, b"GIF89a not allowed"])
    with pytest.raises(InputError, match="at most 1"):
        submit_contribution(store, FIELDS, [photo, photo], policy=ContributionPolicy(max_photos=1))
    _assert_empty(store)


def test_a_failure_while_writing_removes_the_new_blobs(store, photo, monkeypatch):
    from survatlas.contribute import moderation

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(moderation, "append_entry", fail)
    with pytest.raises(RuntimeError):
        submit_contribution(store, FIELDS, [photo])
    _assert_empty(store)


def test_originals_kept_encrypted_for_admins_when_the_policy_says_so(store, photo, monkeypatch):
    from survatlas.store.encryption import generate_key

    key = generate_key()
    policy = ContributionPolicy(keep_originals=True)
    cid = submit_contribution(store, FIELDS, [photo], policy=policy, key=key)
    [item] = list_contributions(store)
    assert item["id"] == cid and item["photos"][0]["original_kept"]
    original = store.query("SELECT * FROM evidence_files WHERE parent_sha256 IS NULL")[0]
    assert original["sensitivity"] == "confidential" and original["encryption"]
    assert all(photo not in f.read_bytes() for f in _evidence_files(store))
    assert read_evidence(store, original["sha256"], audience="confidential", key=key) == photo
    with pytest.raises(NotFoundError):
        read_evidence(store, original["sha256"], audience="restricted")


def _assert_empty(store) -> None:
    assert store.scalar("SELECT count(*) FROM contributions") == 0
    assert store.scalar("SELECT count(*) FROM sources") == 0
    assert store.scalar("SELECT count(*) FROM evidence_files") == 0
    assert _evidence_files(store) == []


def test_webp_is_accepted_and_a_decompression_bomb_is_refused():
    webp = io.BytesIO()
    Image.fromarray(portrait(64)).save(webp, "WEBP")
    assert sanitise_photo(webp.getvalue()).data.startswith(b"\xff\xd8")
    bomb = io.BytesIO()
    Image.new("L", (12000, 12000)).save(bomb, "PNG")  # a few kB on disk, 144 megapixels
    assert len(bomb.getvalue()) < 1_000_000
    with pytest.raises(InputError, match="megapixels"):
        sanitise_photo(bomb.getvalue())


def test_hostile_form_fields_raise_input_errors_only():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from survatlas.contribute.moderation import TAG_FIELDS, check_fields

    names = st.sampled_from(["lat", "lon", "direction", "note", *TAG_FIELDS]) | st.text(max_size=20)

    @settings(max_examples=300, deadline=None)
    @given(st.dictionaries(names, st.text(max_size=300), max_size=12))
    def check(fields):
        try:
            checked = check_fields({"lat": "60.1", "lon": "24.9", **fields})
        except InputError as exc:
            assert str(exc) and "\x00" not in str(exc)
            return
        assert -90 <= checked["lat"] <= 90 and -180 <= checked["lon"] <= 180
        assert checked["tags"]["man_made"] == "surveillance"
        assert all(len(v) <= 255 for v in checked["tags"].values())

    check()
