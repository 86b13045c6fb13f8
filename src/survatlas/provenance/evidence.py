"""Evidence files: "can we prove this photo or document is unaltered, and who handled it?"

Files are stored content-addressed beside the store (``<store>.evidence/sha256/ab/cdef…``),
keyed by the SHA-256 of the bytes *as received* (``sha256:<hex>``). Originals are write-once:
the blob is created exclusively and made read-only, and SQLite triggers refuse UPDATE and
DELETE of their records. Confidential files and every testimony are encrypted at rest
(AES-256-GCM, :mod:`survatlas.store.encryption`); their id stays the hash of the plaintext, and the
hash of the stored bytes is recorded too so that a changed file is found without the key.

A *derived* copy (e.g. a photo with its EXIF/GPS metadata stripped for publication) is a new
evidence file that records its parent's hash and how it was made. Every addition writes a
custody-log entry in the same transaction as its record; the blob is written (and synced)
before that transaction, so a crash leaves at worst an unreferenced blob, never a record
without its file.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from survatlas.errors import (
    CorruptFileError,
    InputError,
    InputFileNotFoundError,
    IntegrityError,
    NotFoundError,
    SecurityError,
)
from survatlas.store import Store
from survatlas.store.clock import now_iso
from survatlas.store.custody import append_entry, current_actor
from survatlas.store.encryption import (
    Key,
    decrypt_bytes,
    encrypt_bytes,
    encrypt_chunks,
    require_key,
)
from survatlas.store.gate import AUDIENCES, audience_clause, max_sensitivity, numbering
from survatlas.vocab import SENSITIVITIES

STRIP_DERIVATION = "strip-metadata:jpeg-app-segments:v1"
_ID = re.compile(r"^sha256:[0-9a-f]{64}$")
_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
    (b"GIF8", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
)
#: JPEG APPn segments kept when stripping (marker, identifier): JFIF, ICC colour profile, Adobe.
_KEEP_APP = ((0xE0, b"JFIF\x00"), (0xE2, b"ICC_PROFILE\x00"), (0xEE, b"Adobe"))


@dataclass(frozen=True)
class EvidenceFile:
    """The record of one stored evidence file."""

    id: int
    sha256: str
    source_id: int
    parent_sha256: str | None
    derivation: str | None
    media_type: str | None
    size: int
    stored_sha256: str
    encryption: str | None
    sensitivity: str
    added_at: str
    added_by: str

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        return dict(vars(self))


#: bytes read at a time when a file is hashed, copied or encrypted
_CHUNK = 1 << 20


def evidence_root(store: Store) -> Path:
    """The folder holding the store's evidence files (``<store>.evidence``)."""
    return store.path.with_name(store.path.name + ".evidence")


def blob_path(root: Path, sha_id: str) -> Path:
    """Where the file with id ``sha256:<hex>`` lives under ``root``."""
    check_id(sha_id)
    hexdigest = sha_id.split(":", 1)[1]
    return root / "sha256" / hexdigest[:2] / hexdigest[2:]


def check_id(sha_id: str) -> str:
    """Check an evidence id (``sha256:`` + 64 lower-case hex digits)."""
    if not _ID.match(sha_id or ""):
        raise InputError(f"{sha_id!r} is not an evidence id; ids look like sha256:<64 hex digits>")
    return sha_id


def sha256_id(data: bytes) -> str:
    """The evidence id of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def add_evidence(
    store: Store,
    path: str | Path,
    source_id: int,
    *,
    sensitivity: str | None = None,
    media_type: str | None = None,
    key: Key | None = None,
) -> EvidenceFile:
    """Store a file as an original piece of evidence for ``source_id``.

    The file is hashed as received; adding the same bytes again returns the existing record.
    Its sensitivity is at least its source's; confidential files and testimony are encrypted.
    The file is read in chunks (hashed, then copied — and encrypted — chunk by chunk), so
    memory stays constant whatever its size; a file that changes meanwhile is refused.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileNotFoundError(f"{path}: no such file; give the evidence file to add")
    sha_id, size, head = _hash_file(path)
    existing = _get(store, sha_id)
    if existing is not None:
        return existing
    with store.transaction() as conn:
        sens, encrypt = _protection(conn, source_id, sensitivity, None)
        chunks = _checked_chunks(path, sha_id)
        if encrypt:
            chunks = encrypt_chunks(
                require_key(key, why="this evidence file"), chunks, f"evidence:{sha_id}"
            )
        stored_sha = _write_once(blob_path(evidence_root(store), sha_id), chunks,
                                 None if encrypt else sha_id)
        return _insert_record(conn, sha_id, source_id, sens, encrypt, stored_sha, size,
                              media_type or sniff_media_type(head, path.name), None, None)

def store_evidence(
    store: Store,
    data: bytes,
    source_id: int,
    *,
    sensitivity: str | None = None,
    media_type: str | None = None,
    parent: str | None = None,
    derivation: str | None = None,
    key: Key | None = None,
) -> EvidenceFile:
    """Store ``data`` (an original, or a derived copy of ``parent``) and log it."""
    existing = _get(store, sha256_id(data))
    if existing is not None:
        return existing
    with store.transaction() as conn:
        return insert_evidence(
            conn,
            evidence_root(store),
            data,
            source_id,
            sensitivity=sensitivity,
            media_type=media_type,
            parent=parent,
            derivation=derivation,
            key=key,
        )


def insert_evidence(
    conn: sqlite3.Connection,
    root: Path,
    data: bytes,
    source_id: int,
    *,
    sensitivity: str | None = None,
    media_type: str | None = None,
    parent: str | None = None,
    derivation: str | None = None,
    key: Key | None = None,
) -> EvidenceFile:
    """Store ``data`` under ``root`` and record it with its custody entry, inside the caller's
    transaction (the blob is written and synced before the record; the same bytes again return
    the existing record)."""
    sha_id = sha256_id(data)
    found = conn.execute("SELECT * FROM evidence_files WHERE sha256 = ?", (sha_id,)).fetchone()
    if found is not None:
        return EvidenceFile(**dict(found))
    sens, encrypt = _protection(conn, source_id, sensitivity, parent)
    stored = (
        encrypt_bytes(require_key(key, why="this evidence file"), data, f"evidence:{sha_id}")
        if encrypt
        else data
    )
    stored_sha = _write_once(blob_path(root, sha_id), [stored], None if encrypt else sha_id)
    return _insert_record(conn, sha_id, source_id, sens, encrypt, stored_sha, len(data),
                          media_type, parent, derivation)


def _protection(
    conn: sqlite3.Connection, source_id: int, sensitivity: str | None, parent: str | None
) -> tuple[str, bool]:
    """The file's sensitivity (at least its source's, for an original) and whether to encrypt."""
    src = conn.execute(
        "SELECT kind, sensitivity FROM sources WHERE id = ?", (source_id,)
    ).fetchall()
    if not src:
        raise NotFoundError(f"no source {source_id}; add it first with `survatlas source add`")
    kind, src_sens = src[0]
    if sensitivity is not None and sensitivity not in SENSITIVITIES:
        raise InputError(f"sensitivity {sensitivity!r} is not one of {', '.join(SENSITIVITIES)}")
    sens = sensitivity if parent and sensitivity else max_sensitivity(sensitivity, src_sens)
    return sens, sens == "confidential" or (kind == "testimony" and parent is None)


def _insert_record(
    conn: sqlite3.Connection, sha_id: str, source_id: int, sens: str, encrypt: bool,
    stored_sha: str, size: int, media_type: str | None, parent: str | None,
    derivation: str | None,
) -> EvidenceFile:
    """Insert the record of a stored blob and its custody entry (caller's transaction)."""
    row = {
        "sha256": sha_id,
        "source_id": source_id,
        "parent_sha256": parent,
        "derivation": derivation,
        "media_type": media_type,
        "size": size,
        "stored_sha256": stored_sha,
        "encryption": "aes-256-gcm:v1" if encrypt else None,
        "sensitivity": sens,
        "added_at": now_iso(),
        "added_by": current_actor(),
    }
    cur = conn.execute(
        f"INSERT INTO evidence_files ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
        tuple(row.values()),
    )
    details = {
        "source_id": source_id,
        "size": size,
        "sensitivity": sens,
        "encrypted": encrypt,
        "stored_sha256": stored_sha,
    }
    if parent:
        details.update(parent=parent, derivation=derivation)
    append_entry(
        conn, "evidence.derive" if parent else "evidence.add", f"evidence:{sha_id}", details
    )
    return EvidenceFile(id=int(cur.lastrowid), **row)

def sniff_media_type(data: bytes, name: str = "") -> str | None:
    """Media type from the file's first bytes (then from its name)."""
    for magic, media in _MAGIC:
        if data.startswith(magic):
            return media
    return mimetypes.guess_type(name)[0]


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            yield chunk


def _hash_file(path: Path) -> tuple[str, int, bytes]:
    """``sha256:<hex>`` of a file, its size and its first bytes (for the media type)."""
    digest, size, head = hashlib.sha256(), 0, b""
    for chunk in _file_chunks(path):
        if not size:
            head = chunk[:64]
        digest.update(chunk)
        size += len(chunk)
    return "sha256:" + digest.hexdigest(), size, head


def _checked_chunks(path: Path, sha_id: str) -> Iterator[bytes]:
    """The file's chunks, checked at the end against the hash it was added under."""
    digest = hashlib.sha256()
    for chunk in _file_chunks(path):
        digest.update(chunk)
        yield chunk
    if "sha256:" + digest.hexdigest() != sha_id:
        raise InputError(f"{path.name} changed while it was being added; add it again")


def _write_once(path: Path, chunks: Iterable[bytes], expected: str | None) -> str:
    """Create ``path`` from ``chunks`` exclusively, synced and read-only; return its hash.

    An existing blob is accepted only when it holds exactly the ``expected`` hash (a retry
    after an interrupted add of a plain file); anything else means the evidence folder was
    altered. Nothing is left behind when writing fails.
    """
    if path.exists():
        if expected is None or _hash_file(path)[0] != expected:
            raise IntegrityError(
                f"{path.name[:12]}… already exists with other content: the evidence folder was "
                "altered; run `survatlas verify`"
            )
        return expected
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                digest.update(chunk)
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o400)  # read-only, and the owner's only
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return "sha256:" + digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _get(store: Store, sha_id: str) -> EvidenceFile | None:
    rows = store.query("SELECT * FROM evidence_files WHERE sha256 = ?", (sha_id,))
    return EvidenceFile(**dict(rows[0])) if rows else None


def get_evidence(store: Store, sha_id: str, *, audience: str = "public") -> EvidenceFile:
    """The record of an evidence file ``audience`` may see."""
    record = _get(store, check_id(sha_id))
    if record is None or record.sensitivity not in AUDIENCES[audience]:
        raise NotFoundError(f"no evidence file {sha_id} visible to the {audience} audience")
    return record


def list_evidence(store: Store, *, audience: str = "public") -> list[dict[str, Any]]:
    """Evidence records ``audience`` may see (the source id is hidden when the source is).

    ``id`` and ``source_id`` are the audience's public numbers
    (:func:`survatlas.store.gate.numbering`), so their gaps never count hidden records.
    """
    rows = store.query(
        "SELECT e.*, s.sensitivity AS _src_sens FROM evidence_files e "
        f"JOIN sources s ON s.id = e.source_id WHERE {audience_clause(audience, 'e')} ORDER BY e.id"
    )
    sources = numbering(store, "sources", audience)
    out = []
    for rank, r in enumerate(rows, start=1):
        row = dict(r)
        if row.pop("_src_sens") not in AUDIENCES[audience]:
            row["source_id"] = None
        row["source_id"] = sources.public(row["source_id"])
        if audience != "confidential":
            row["id"] = rank
        out.append(row)
    return out


def read_evidence(
    store: Store, sha_id: str, *, audience: str = "public", key: Key | None = None
) -> bytes:
    """The original bytes of an evidence file, checked against its hash."""
    record = get_evidence(store, sha_id, audience=audience)
    path = blob_path(evidence_root(store), sha_id)
    try:
        stored = path.read_bytes()
    except OSError as exc:
        raise IntegrityError(f"evidence file {sha_id} is missing from the evidence folder") from exc
    if sha256_id(stored) != record.stored_sha256:
        raise IntegrityError(f"evidence file {sha_id} was changed on disk; run `survatlas verify`")
    data = decrypt_bytes(key, stored, f"evidence:{sha_id}") if record.encryption else stored
    if sha256_id(data) != sha_id:
        raise IntegrityError(f"evidence file {sha_id} does not match its hash")
    return data


def export_evidence(
    store: Store, sha_id: str, out: str | Path, *, audience: str = "public", key: Key | None = None
) -> Path:
    """Write the original bytes of an evidence file to ``out`` (never overwriting)."""
    out = Path(out)
    if out.exists():
        raise InputError(f"{out} exists; choose a new file name")
    data = read_evidence(store, sha_id, audience=audience, key=key)
    out.write_bytes(data)
    return out


#: EXIF tag of the GPS IFD (where a photo was taken)
_GPS_IFD = 0x8825


def location_metadata(data: bytes | str | Path) -> list[str]:
    """What in an image says where it was taken: ``["GPS EXIF"]`` (latitude/longitude tags),
    else ``[]`` (also for files that are not images Pillow can read). A path is read lazily
    (only the image's headers)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as img:
            gps = img.getexif().get_ifd(_GPS_IFD)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return []
    return ["GPS EXIF"] if any(k in gps for k in (1, 2, 3, 4)) else []


def public_location_warning(record: EvidenceFile, data: bytes | str | Path) -> str | None:
    """A warning when a public evidence file carries where it was taken (GPS in its EXIF):
    publishing it may expose the person who took it. None otherwise."""
    if record.sensitivity != "public" or not location_metadata(data):
        return None
    return (f"warning: public evidence {record.sha256} carries GPS coordinates in its EXIF "
            "(where the photo was taken, which can identify who took it); publish a stripped "
            f"copy instead: `survatlas evidence strip {record.sha256} --sensitivity public`, and "
            "make the original restricted")


def strip_jpeg_metadata(data: bytes) -> bytes:
    """A JPEG without its metadata, losslessly: EXIF (with GPS), XMP, IPTC, comments and every
    APPn segment other than JFIF, the ICC colour profile and Adobe are dropped; the image data
    is copied byte for byte.

    Raises
    ------
    CorruptFileError
        When ``data`` is not a well-formed JPEG.
    """
    if not data.startswith(b"\xff\xd8"):
        raise CorruptFileError("not a JPEG file (no SOI marker); only JPEG photos can be stripped")
    out, i, n = [b"\xff\xd8"], 2, len(data)
    while True:
        while i + 1 < n and data[i] == 0xFF and data[i + 1] == 0xFF:
            i += 1  # fill bytes
        if i + 1 >= n or data[i] != 0xFF:
            raise CorruptFileError(f"JPEG structure broken at byte {i}; the file is damaged")
        marker = data[i + 1]
        if marker == 0xDA or marker == 0xD9:  # start of scan: image data follows; end of image
            out.append(data[i:])
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            out.append(data[i : i + 2])
            i += 2
            continue
        if i + 4 > n:
            raise CorruptFileError("JPEG ends inside a segment header; the file is truncated")
        end = i + 2 + int.from_bytes(data[i + 2 : i + 4], "big")
        if end > n or end < i + 4:
            raise CorruptFileError(f"JPEG segment at byte {i} has an impossible length")
        if _keep_segment(marker, data[i + 4 : end]):
            out.append(data[i:end])
        i = end
    return b"".join(out)


def _keep_segment(marker: int, payload: bytes) -> bool:
    if marker == 0xFE:  # comment
        return False
    if 0xE0 <= marker <= 0xEF:
        return any(marker == m and payload.startswith(ident) for m, ident in _KEEP_APP)
    return True


def check_no_metadata(data: bytes) -> None:
    """Decode a JPEG with Pillow and make sure no EXIF, GPS, XMP, IPTC or comment is left."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            exif = img.getexif()
            leftovers = [
                k
                for k in ("exif", "xmp", "comment", "photoshop", "XML:com.adobe.xmp")
                if img.info.get(k)
            ]
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptFileError(
            f"the stripped JPEG does not decode ({exc}); the file is damaged"
        ) from exc
    if len(exif) or leftovers:
        raise SecurityError(f"metadata left after stripping: {leftovers or 'EXIF'}; not stored")


def derive_stripped(
    store: Store,
    sha_id: str,
    *,
    sensitivity: str | None = None,
    key: Key | None = None,
) -> EvidenceFile:
    """Store a copy of a JPEG original without EXIF/GPS metadata, recording its parent.

    The copy takes the parent's sensitivity unless ``sensitivity`` is given (e.g. ``public``
    for a photo cleared for publication).
    """
    parent = get_evidence(store, sha_id, audience="confidential")
    data = read_evidence(store, sha_id, audience="confidential", key=key)
    stripped = strip_jpeg_metadata(data)
    check_no_metadata(stripped)
    return store_evidence(
        store,
        stripped,
        parent.source_id,
        sensitivity=sensitivity or parent.sensitivity,
        media_type="image/jpeg",
        parent=sha_id,
        derivation=STRIP_DERIVATION,
        key=key,
    )
