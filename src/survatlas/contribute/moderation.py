"""Contributions held for moderation: submit, list, accept, reject.

A contribution arrives *pending* and *restricted*: it lives in its own table, which no public
output reads (exports, tiles, statistics and the API read devices through
:mod:`survatlas.store.gate`). Its source is a restricted ``field_observation`` that never names
the contributor. Photos are sanitised (:func:`survatlas.contribute.photos.sanitise_photo`)
before anything is written; only the derivative is stored, unless the policy keeps originals,
which are then confidential evidence, encrypted at rest, for admins only.

*Accept* creates a device (origin ``contribution:<id>``, source the contribution's source, its
photos as evidence of that source) through the same field-record path as
``survatlas import cameras``; *reject* keeps the reason. A decision is final (a trigger refuses
any later change), and every step writes a custody-log entry in the same transaction.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from survatlas.contribute._detect import HaarDetector
from survatlas.contribute.photos import CleanPhoto, PhotoLimits, sanitise_photo
from survatlas.errors import InputError, NotFoundError
from survatlas.ingest.fields import field_record, write_devices
from survatlas.ingest.tags import normalise_tags
from survatlas.provenance.evidence import (
    blob_path,
    evidence_root,
    insert_evidence,
    sha256_id,
)
from survatlas.provenance.sources import insert_import, insert_source
from survatlas.store import Store
from survatlas.store.clock import now_iso
from survatlas.store.custody import append_entry, content_digest, current_actor
from survatlas.store.encryption import Key
from survatlas.vocab import SENSITIVITIES

#: OSM keys a contribution may carry (the form's fields; ``direction`` and ``note`` apart).
TAG_FIELDS = (
    "surveillance",
    "surveillance:type",
    "surveillance:zone",
    "camera:type",
    "camera:mount",
    "camera:angle",
    "operator",
    "operator:type",
    "manufacturer",
    "model",
    "height",
    "name",
)
STATUSES = ("pending", "accepted", "rejected")
MAX_VALUE = 255
MAX_NOTE = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class ContributionPolicy:
    """Who may contribute and what a contribution may carry.

    Parameters
    ----------
    anonymous
        Accept contributions without a token (rate-limited by the web app); default: editor
        tokens only.
    keep_originals
        Keep each original photo as confidential evidence (encrypted, needs a key, admins only).
        Default: the original is discarded once the derivative is made.
    max_photos
        Photos per contribution.
    limits
        Size limits of one photo.
    """

    anonymous: bool = False
    keep_originals: bool = False
    max_photos: int = 6
    limits: PhotoLimits = field(default_factory=PhotoLimits)
    rate_per_hour: int = 20

    @property
    def max_request_bytes(self) -> int:
        """Largest request body the web app accepts (all photos plus the form)."""
        return self.max_photos * self.limits.max_bytes + 64 * 1024


def check_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a contribution's form fields; return ``lon``, ``lat``, ``direction``, ``tags``
    and ``note``. Raises :class:`InputError` naming the field and what to do."""
    unknown = sorted(set(fields) - {"lat", "lon", "direction", "note", *TAG_FIELDS})
    if unknown:
        raise InputError(
            f"unknown field {_safe(unknown[0])!r}; use lat, lon, direction, note or the OSM keys "
            + ", ".join(TAG_FIELDS)
        )
    lat, lon = _number(fields.get("lat"), "lat"), _number(fields.get("lon"), "lon")
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise InputError(f"position {lat}, {lon} is outside the globe; give lat then lon")
    if lat == 0 and lon == 0:
        raise InputError("position 0,0 is a missing position; place the camera on the map")
    direction = None
    if str(fields.get("direction") or "").strip():
        direction = _number(fields["direction"], "direction")
        if not 0 <= direction <= 360:
            raise InputError(f"direction {direction} must be 0–360 degrees (0 = north)")
        direction = round(direction % 360, 1)
    tags = {"man_made": "surveillance"}
    for key in TAG_FIELDS:
        value = _text(fields.get(key), key, MAX_VALUE)
        if value:
            tags[key] = value
    tags.setdefault("surveillance:type", "camera")
    if direction is not None:
        tags["camera:direction"] = f"{direction:g}"
    _check_vocabulary(tags)
    return {
        "lon": lon,
        "lat": lat,
        "direction": direction,
        "tags": tags,
        "note": _text(fields.get("note"), "note", MAX_NOTE),
    }


def submit_contribution(
    store: Store,
    fields: Mapping[str, Any],
    photos: Sequence[bytes] = (),
    *,
    policy: ContributionPolicy | None = None,
    detector: HaarDetector | None = None,
    key: Key | None = None,
) -> int:
    """Store a contribution as pending and restricted; return its id.

    Every field is checked and every photo sanitised before anything is written; any error
    leaves the store and the evidence folder as they were.
    """
    policy = policy or ContributionPolicy()
    checked = check_fields(fields)
    if len(photos) > policy.max_photos:
        raise InputError(f"{len(photos)} photos; at most {policy.max_photos} per contribution")
    clean = [
        sanitise_photo(data, limits=policy.limits, detector=detector, label=f"photo {n}")
        for n, data in enumerate(photos, 1)
    ]
    root = evidence_root(store)
    written: list[Path] = []
    try:
        with store.transaction() as conn:
            return _insert(conn, root, checked, photos, clean, policy, key, written)
    except BaseException:
        _remove_unreferenced(store, written)
        raise


def _insert(
    conn: sqlite3.Connection,
    root: Path,
    checked: dict[str, Any],
    originals: Sequence[bytes],
    clean: list[CleanPhoto],
    policy: ContributionPolicy,
    key: Key | None,
    written: list[Path],
) -> int:
    submitted = now_iso()
    source_id = insert_source(
        conn,
        kind="field_observation",
        title="Field report (contribution)",
        retrieved_at=submitted,
        sensitivity="restricted",
    )
    cur = conn.execute(
        "INSERT INTO contributions (lon, lat, direction, tags, note, contributor, source_id, "
        "submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            checked["lon"],
            checked["lat"],
            checked["direction"],
            json.dumps(checked["tags"], ensure_ascii=False, sort_keys=True),
            checked["note"],
            current_actor(),
            source_id,
            submitted,
        ),
    )
    contribution_id = int(cur.lastrowid)
    for position, (original, photo) in enumerate(zip(originals, clean, strict=True), 1):
        _insert_photo(conn, root, contribution_id, position, source_id, original, photo,
                      policy, key, written)
    append_entry(
        conn,
        "contribution.submit",
        f"contribution:{contribution_id}",
        {
            "source_id": source_id,
            "photos": len(clean),
            "faces_blurred": sum(len(p.faces) for p in clean),
            "plates_blurred": sum(len(p.plates) for p in clean),
            "originals_kept": policy.keep_originals and bool(clean),
        },
    )
    return contribution_id


def _insert_photo(
    conn: sqlite3.Connection,
    root: Path,
    contribution_id: int,
    position: int,
    source_id: int,
    original: bytes,
    photo: CleanPhoto,
    policy: ContributionPolicy,
    key: Key | None,
    written: list[Path],
) -> None:
    parent = None
    if policy.keep_originals:
        parent = _evidence(conn, root, original, source_id, written, key=key,
                           sensitivity="confidential", media_type=None)
    derived = _evidence(
        conn, root, photo.data, source_id, written, key=key, sensitivity="restricted",
        media_type="image/jpeg", parent=parent, derivation=photo.method if parent else None,
    )
    conn.execute(
        "INSERT INTO contribution_photos (contribution_id, position, evidence_sha256, "
        "original_sha256, method, faces, plates, width, height) VALUES (?,?,?,?,?,?,?,?,?)",
        (contribution_id, position, derived, parent, photo.method, len(photo.faces),
         len(photo.plates), photo.width, photo.height),
    )


def _evidence(conn: sqlite3.Connection, root: Path, data: bytes, source_id: int,
              written: list[Path], **kw: Any) -> str:
    from survatlas.contribute.photos import media_type

    path = blob_path(root, sha256_id(data))
    existed = path.exists()
    kw["media_type"] = kw.get("media_type") or media_type(data)
    record = insert_evidence(conn, root, data, source_id, **kw)
    if not existed and path.exists():
        written.append(path)
    return record.sha256


def _remove_unreferenced(store: Store, paths: list[Path]) -> None:
    """Delete blobs written by a failed submission (only those no record refers to)."""
    for path in paths:
        sha = f"sha256:{path.parent.name}{path.name}"
        if not store.scalar("SELECT 1 FROM evidence_files WHERE sha256 = ?", (sha,)):
            path.unlink(missing_ok=True)


def list_contributions(store: Store, status: str | None = "pending") -> list[dict[str, Any]]:
    """Contributions (all, or of one status), newest first, with their photos — a moderation
    view for editors, never a public output."""
    if status is not None and status not in STATUSES:
        raise InputError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    where, params = ("WHERE status = ?", (status,)) if status else ("", ())
    rows = store.query(f"SELECT * FROM contributions {where} ORDER BY id DESC", params)
    photos: dict[int, list[dict[str, Any]]] = {}
    for p in store.query("SELECT * FROM contribution_photos ORDER BY contribution_id, position"):
        photos.setdefault(p["contribution_id"], []).append(
            {
                "position": p["position"],
                "evidence": p["evidence_sha256"],
                "original_kept": p["original_sha256"] is not None,
                "faces_blurred": p["faces"],
                "plates_blurred": p["plates"],
                "width": p["width"],
                "height": p["height"],
                "method": p["method"],
            }
        )
    out = []
    for r in rows:
        item = dict(r)
        item["tags"] = json.loads(item["tags"])
        item["photos"] = photos.get(item["id"], [])
        out.append(item)
    return out


def get_contribution(store: Store, contribution_id: int) -> dict[str, Any]:
    """One contribution (moderation view); :class:`NotFoundError` when there is none."""
    found = [c for c in list_contributions(store, None) if c["id"] == contribution_id]
    if not found:
        raise NotFoundError(f"no contribution {contribution_id}")
    return found[0]


def accept_contribution(
    store: Store, contribution_id: int, *, sensitivity: str = "public"
) -> int:
    """Accept a pending contribution: create its device (of ``sensitivity``); return its id."""
    if sensitivity not in SENSITIVITIES:
        raise InputError(f"sensitivity {sensitivity!r} is not one of {', '.join(SENSITIVITIES)}")
    started = now_iso()
    with store.transaction() as conn:
        row = _pending(conn, contribution_id)
        props = {**json.loads(row["tags"]), "latitude": row["lat"], "longitude": row["lon"]}
        record = field_record(props, f"contribution:{contribution_id}", sensitivity=sensitivity)
        counts = write_devices(conn, row["source_id"], [record])
        device_id = int(
            conn.execute("SELECT id FROM devices WHERE origin = ?", (record.origin,)).fetchone()[0]
        )
        conn.execute(
            "UPDATE contributions SET status = 'accepted', device_id = ?, decided_at = ?, "
            "decided_by = ? WHERE id = ?",
            (device_id, now_iso(), current_actor(), contribution_id),
        )
        insert_import(
            conn,
            source_id=row["source_id"],
            command="contribution accept",
            started=started,
            summary={"contribution": contribution_id, "device": device_id},
            counts={"devices": counts.added + counts.updated},
        )
        append_entry(
            conn,
            "contribution.accept",
            f"contribution:{contribution_id}",
            {"device_id": device_id, "sensitivity": sensitivity},
        )
    return device_id


def reject_contribution(store: Store, contribution_id: int, reason: str) -> None:
    """Reject a pending contribution, keeping ``reason`` (required)."""
    text = _text(reason, "reason", MAX_NOTE)
    if not text:
        raise InputError("give a reason for rejecting the contribution")
    with store.transaction() as conn:
        _pending(conn, contribution_id)
        conn.execute(
            "UPDATE contributions SET status = 'rejected', reason = ?, decided_at = ?, "
            "decided_by = ? WHERE id = ?",
            (text, now_iso(), current_actor(), contribution_id),
        )
        append_entry(
            conn,
            "contribution.reject",
            f"contribution:{contribution_id}",
            {"reason_digest": content_digest(text)},
        )


def _pending(conn: sqlite3.Connection, contribution_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM contributions WHERE id = ?", (contribution_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no contribution {contribution_id}")
    if row["status"] != "pending":
        raise InputError(
            f"contribution {contribution_id} was already {row['status']}; a decision is final"
        )
    return row


def _check_vocabulary(tags: dict[str, str]) -> None:
    norm = normalise_tags(tags)
    for warning in norm.warnings:
        if warning.effect == "dropped" and warning.key in tags:
            raise InputError(
                f"{warning.key}={_safe(tags[warning.key])!r} cannot be used: {warning.message}"
            )


def _number(value: Any, name: str) -> float:
    try:
        number = float(str(value).strip().replace(",", "."))
    except (TypeError, ValueError):
        raise InputError(f"{name} {_safe(value)!r} is not a number; give decimal degrees") from None
    if not math.isfinite(number):
        raise InputError(f"{name} must be a finite number")
    return number


def _text(value: Any, name: str, limit: int) -> str | None:
    if value is None:
        return None
    text = _CONTROL.sub("", str(value)).strip()
    if len(text) > limit:
        raise InputError(f"{name} is {len(text)} characters long; the limit is {limit}")
    return text or None


def _safe(value: Any) -> str:
    """A short, printable echo of a client's value for an error message."""
    return _CONTROL.sub("?", str(value))[:60]
