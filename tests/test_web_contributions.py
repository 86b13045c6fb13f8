"""The contribution API: who may report, what a report may carry, moderation, and no leaks."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from contribution_builders import jpeg_with_exif, portrait
from survatlas.contribute.moderation import ContributionPolicy
from survatlas.contribute.photos import PhotoLimits
from survatlas.provenance.access import create_token
from survatlas.provenance.evidence import evidence_root
from survatlas.store import Store
from survatlas.web import create_app

FORM = {
    "lat": "60.1699",
    "lon": "24.9384",
    "direction": "200",
    "surveillance:type": "camera",
    "camera:mount": "pole",
    "operator": "Transit Authority",
    "height": "5",
    "note": "at the tram stop",
}
BBOX = "24.93,60.16,24.95,60.18"


@pytest.fixture(scope="module")
def photo() -> bytes:
    return jpeg_with_exif(portrait())


@pytest.fixture
def server(tmp_path):
    db = tmp_path / "w.db"
    with Store(db) as store:
        tokens = {r: create_token(store, f"{r}-1", r) for r in ("viewer", "editor", "admin")}
    return db, {r: {"Authorization": f"Bearer {t}"} for r, t in tokens.items()}


def _client(db, **policy) -> TestClient:
    return TestClient(create_app(db, contributions=ContributionPolicy(**policy)))


def _files(photo: bytes, name: str = "IMG_0001.jpg", count: int = 1) -> list:
    return [("photo", (name, photo, "image/jpeg"))] * count


def _nothing_stored(db) -> bool:
    with Store(db) as store:
        empty = not store.scalar("SELECT count(*) FROM contributions")
        root = evidence_root(store)
    return empty and not (root.exists() and any(p.is_file() for p in root.rglob("*")))


def test_an_editor_reports_and_the_report_waits_for_moderation(server, photo):
    db, auth = server
    client = _client(db)
    res = client.post("/api/contributions", data=FORM, files=_files(photo), headers=auth["editor"])
    assert res.status_code == 201, res.text
    cid = res.json()["id"]
    # invisible to the public: no device, no feature, no count
    assert client.get("/api/devices", params={"bbox": BBOX}).json()["features"] == []
    assert client.get("/api/stats").json()["devices"]["total"] == 0
    queue = client.get("/api/contributions", params={"status": "pending"}, headers=auth["editor"])
    [item] = queue.json()["contributions"]
    assert item["id"] == cid and item["contributor"] == "editor-1"
    assert item["photos"][0]["faces_blurred"] >= 1
    shown = client.get(f"/api/contributions/{cid}/photos/1", headers=auth["editor"])
    assert shown.headers["content-type"] == "image/jpeg"
    assert not Image.open(io.BytesIO(shown.content)).getexif()
    assert b"PhoneMaker" not in shown.content

    accepted = client.post(f"/api/contributions/{cid}/accept", json={}, headers=auth["editor"])
    assert accepted.status_code == 200, accepted.text
    device_id = accepted.json()["device_id"]
    [feature] = client.get("/api/devices", params={"bbox": BBOX}).json()["features"]
    assert feature["id"] == device_id or feature["properties"].get("id") == device_id
    detail = client.get(f"/api/devices/{device_id}").json()
    assert detail["fields"]["operator"] == "Transit Authority"
    assert detail["fields"]["mount"] == "pole" and detail["sources"] == []
    assert "tram stop" not in str(detail) and "editor-1" not in str(detail)
    again = client.post(f"/api/contributions/{cid}/reject", json={"reason": "x"},
                        headers=auth["editor"])
    assert again.status_code == 422 and "final" in again.json()["detail"]


def test_who_may_report_by_default(server, photo):
    db, auth = server
    client = _client(db)
    assert client.post("/api/contributions", data=FORM, files=_files(photo)).status_code == 401
    viewer = client.post("/api/contributions", data=FORM, files=_files(photo),
                         headers=auth["viewer"])
    assert viewer.status_code == 403
    assert client.get("/api/contributions").status_code == 401
    assert client.get("/api/contributions", headers=auth["viewer"]).status_code == 403
    assert client.post("/api/contributions/1/accept", json={}).status_code == 401
    assert _nothing_stored(db)


def test_anonymous_reports_when_allowed_rate_limited_and_same_origin(server):
    db, auth = server
    client = _client(db, anonymous=True, rate_per_hour=2)
    form = client.get("/api/contributions/form").json()
    assert form["anonymous"] is True
    assert "wall" in next(f for f in form["fields"] if f["key"] == "camera:mount")["values"]
    foreign = client.post("/api/contributions", data=FORM,
                          headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and "own page" in foreign.json()["detail"]
    own = {"Origin": "http://testserver"}
    assert client.post("/api/contributions", data=FORM, headers=own).status_code == 201
    assert client.post("/api/contributions", data=FORM).status_code == 201
    limited = client.post("/api/contributions", data=FORM, headers=own)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    editor = client.post("/api/contributions", data=FORM, headers=auth["editor"])
    assert editor.status_code == 201, "editors are not rate-limited"
    with Store(db) as store:
        who = [r[0] for r in store.query("SELECT contributor FROM contributions ORDER BY id")]
    assert who == ["anonymous", "anonymous", "editor-1"]
    # other writes stay closed to anonymous callers
    assert client.post("/api/contributions/1/accept", json={}).status_code == 401
    assert client.get("/api/contributions").status_code == 401


@pytest.mark.parametrize(
    ("files", "status", "message"),
    [
        ([("photo", ("cam.jpg", b"%PDF-1.4 a document", "image/jpeg"))], 422, "not a JPEG"),
        ([("photo", ("../../etc/passwd\x00.jpg", b"<svg/onload=alert(1)>", "image/jpeg"))],
         422, "not a JPEG"),
        ([("photo", ("x.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 64, "image/jpeg"))], 422,
         "does not decode"),
        ([("note", ("n.txt", b"text", "text/plain"))], 422, "send photos as 'photo'"),
    ],
)
def test_bad_uploads_get_clear_errors_and_leave_nothing(server, files, status, message):
    db, auth = server
    res = _client(db).post("/api/contributions", data=FORM, files=files, headers=auth["editor"])
    assert res.status_code == status, res.text
    assert message in res.json()["detail"]
    assert "passwd" not in res.text
    assert _nothing_stored(db)


def test_too_big_uploads_are_refused_before_reading(server, photo):
    db, auth = server
    client = _client(db, max_photos=2, limits=PhotoLimits(max_bytes=20_000))
    big = client.post("/api/contributions", data=FORM, files=_files(b"\xff\xd8\xff" + b"0" * 200_000),
                      headers=auth["editor"])
    assert big.status_code == 413 and "limit" in big.json()["detail"]
    one_too_big = client.post("/api/contributions", data=FORM,
                              files=_files(b"\xff\xd8\xff" + b"0" * 25_000),
                              headers=auth["editor"])
    assert one_too_big.status_code == 422 and "over 20 kB" in one_too_big.json()["detail"]
    many = client.post("/api/contributions", data=FORM, files=_files(photo[:100], count=3),
                       headers=auth["editor"])
    assert many.status_code in (400, 413, 422)
    assert _nothing_stored(db)


def test_a_hostile_file_name_is_never_used(server, photo):
    db, auth = server
    res = _client(db).post(
        "/api/contributions", data=FORM, files=_files(photo, name="../../../tmp/pwn<script>.jpg"),
        headers=auth["editor"],
    )
    assert res.status_code == 201
    with Store(db) as store:
        text = str([dict(r) for r in store.query("SELECT * FROM evidence_files")])
        root = evidence_root(store)
    assert "pwn" not in text and "script" not in text
    assert all("pwn" not in str(p) for p in root.rglob("*"))
