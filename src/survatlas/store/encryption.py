"""Encryption at rest of confidential fields and files (AES-256-GCM).

The key is 32 random bytes, read from (first match wins) an explicit key file, the environment
variable ``SURVATLAS_KEY`` (URL-safe base64) or the file named by ``SURVATLAS_KEY_FILE``. It is
never stored in the store. Every ciphertext carries the algorithm, the format version and a key
id (a hash of the key, not the key), so a wrong or missing key is a clear :class:`SecurityError`,
never garbage and never a plaintext fallback. Each ciphertext is bound to its place (e.g.
``sources.title``) as associated data: moving it to another field makes it fail to decrypt.

Text fields are stored as ``enc:v1:aes-256-gcm:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>``;
files as ``SVENC1`` + a one-line JSON header + nonce + ciphertext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from survatlas.errors import InputError, SecurityError

ALGORITHM = "aes-256-gcm"
VERSION = "v1"
TEXT_PREFIX = f"enc:{VERSION}:{ALGORITHM}:"
FILE_MAGIC = b"SVENC1\n"
KEY_ENV = "SURVATLAS_KEY"
KEY_FILE_ENV = "SURVATLAS_KEY_FILE"
_NONCE = 12
_ACTIVE: ContextVar[Key | None] = ContextVar("survatlas_key", default=None)


@dataclass(frozen=True)
class Key:
    """A 256-bit data key and its public id."""

    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) != 32:
            raise SecurityError(
                f"an encryption key must be 32 bytes, not {len(self.secret)}; "
                "create one with `survatlas key create FILE`"
            )

    @property
    def key_id(self) -> str:
        """Public fingerprint of the key (16 hex digits); safe to store and show."""
        return hashlib.sha256(b"survatlas-key-id|" + self.secret).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"Key(id={self.key_id})"


def generate_key() -> Key:
    """A new random key."""
    return Key(secrets.token_bytes(32))


def write_key_file(path: str | Path) -> Key:
    """Create a new key file (mode 0600); refuse to overwrite an existing one."""
    path = Path(path)
    if path.exists():
        raise InputError(f"{path} exists; refusing to overwrite a key (data would be lost)")
    key = generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(base64.urlsafe_b64encode(key.secret).decode() + "\n")
    return key


def parse_key(text: str) -> Key:
    """A key from its URL-safe base64 text."""
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise SecurityError(
            "the encryption key is not valid base64; use a file made by `survatlas key create`"
        ) from exc
    return Key(raw)


def read_key_file(path: str | Path) -> Key:
    """Read a key file written by :func:`write_key_file`."""
    path = Path(path)
    try:
        return _read_key_file(str(path), path.stat().st_mtime_ns)
    except OSError as exc:
        raise SecurityError(f"cannot read the key file {path} ({exc}); check the path") from exc


@lru_cache(maxsize=8)
def _read_key_file(path: str, _mtime_ns: int) -> Key:
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise SecurityError(f"cannot read the key file {path} ({exc}); check the path") from exc
    return parse_key(text)


def load_key(key_file: str | Path | None = None) -> Key | None:
    """The key in force: explicit file, :func:`using_key`, ``SURVATLAS_KEY``, ``SURVATLAS_KEY_FILE``."""
    if key_file is not None:
        return read_key_file(key_file)
    if _ACTIVE.get() is not None:
        return _ACTIVE.get()
    if os.environ.get(KEY_ENV):
        return parse_key(os.environ[KEY_ENV])
    if os.environ.get(KEY_FILE_ENV):
        return read_key_file(os.environ[KEY_FILE_ENV])
    return None


def require_key(key: Key | None = None, *, why: str = "confidential material") -> Key:
    """``key`` or the key in force; :class:`SecurityError` when there is none."""
    key = key or load_key()
    if key is None:
        raise SecurityError(
            f"{why} is encrypted at rest and needs a key: set {KEY_FILE_ENV} to a key file "
            f"(create one with `survatlas key create FILE`) or {KEY_ENV}; nothing was written"
        )
    return key


@contextmanager
def using_key(key: Key | None) -> Iterator[None]:
    """Make ``key`` the key in force inside the block (CLI ``--key-file``, API start-up)."""
    token = _ACTIVE.set(key)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def keyed_digest(key: Key, text: str, purpose: str) -> str:
    """``hmac:`` + HMAC-SHA-256 of ``text`` under a key derived from ``key`` for ``purpose``.

    What is kept beside a confidential record in place of a plain hash of its content: without
    the key, nobody can confirm a guess of the content by hashing it.
    """
    sub = hmac.new(key.secret, f"survatlas-{purpose}-v1".encode(), hashlib.sha256).digest()
    return "hmac:" + hmac.new(sub, text.encode(), hashlib.sha256).hexdigest()


def _aesgcm(secret: bytes):
    """The AES-GCM cipher of ``secret`` (``cryptography`` is imported on first use: a store
    without restricted material never loads it)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(secret)


def is_encrypted_text(value: object) -> bool:
    """Whether ``value`` is a text ciphertext made by :func:`encrypt_text`."""
    return isinstance(value, str) and value.startswith("enc:")


def encrypt_text(key: Key, plaintext: str, context: str) -> str:
    """Encrypt ``plaintext`` bound to ``context`` (e.g. ``"claims.quote"``)."""
    nonce = secrets.token_bytes(_NONCE)
    sealed = _aesgcm(key.secret).encrypt(nonce, plaintext.encode("utf-8"), context.encode())
    return f"{TEXT_PREFIX}{key.key_id}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt_text(key: Key | None, value: str, context: str) -> str:
    """Decrypt a text ciphertext; :class:`SecurityError` on a wrong/missing key or tampering."""
    parts = value.split(":", 4)
    if len(parts) != 5 or parts[0] != "enc":
        raise SecurityError(f"{context} is not a survatlas ciphertext")
    _, version, algorithm, key_id, payload = parts
    _check_format(version, algorithm, context)
    key = require_key(key, why=context)
    _check_key(key, key_id, context)
    try:
        raw = base64.b64decode(payload, validate=True)
        return _open(key, raw, context).decode("utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise SecurityError(f"{context}: the ciphertext is damaged and cannot be read") from exc


def encrypt_bytes(key: Key, data: bytes, context: str) -> bytes:
    """Encrypt a file's bytes bound to ``context`` (e.g. ``"evidence:sha256:…"``)."""
    header = json.dumps({"alg": ALGORITHM, "v": VERSION, "key": key.key_id}).encode()
    nonce = secrets.token_bytes(_NONCE)
    return (
        FILE_MAGIC
        + header
        + b"\n"
        + nonce
        + _aesgcm(key.secret).encrypt(nonce, data, context.encode())
    )


def encrypt_chunks(key: Key, chunks: Iterable[bytes], context: str) -> Iterator[bytes]:
    """:func:`encrypt_bytes` of the concatenated ``chunks``, made chunk by chunk.

    The output is byte for byte the format of :func:`encrypt_bytes` (GCM's ciphertext is the
    plaintext's length, its 16-byte tag comes last), so a 1 GB file is encrypted in constant
    memory and decrypts with :func:`decrypt_bytes`.
    """
    header = json.dumps({"alg": ALGORITHM, "v": VERSION, "key": key.key_id}).encode()
    nonce = secrets.token_bytes(_NONCE)
    yield FILE_MAGIC + header + b"\n" + nonce
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    enc = Cipher(algorithms.AES(key.secret), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(context.encode())
    for chunk in chunks:
        yield enc.update(chunk)
    yield enc.finalize() + enc.tag


def is_encrypted_bytes(data: bytes) -> bool:
    """Whether ``data`` is an encrypted file made by :func:`encrypt_bytes`."""
    return data.startswith(FILE_MAGIC)


def decrypt_bytes(key: Key | None, data: bytes, context: str) -> bytes:
    """Decrypt an encrypted file; :class:`SecurityError` on a wrong/missing key or tampering."""
    if not is_encrypted_bytes(data):
        raise SecurityError(f"{context} is not an encrypted survatlas file")
    head, _, rest = data[len(FILE_MAGIC) :].partition(b"\n")
    try:
        header = json.loads(head)
        version, algorithm, key_id = header["v"], header["alg"], header["key"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SecurityError(f"{context}: the encrypted file's header is damaged") from exc
    _check_format(version, algorithm, context)
    key = require_key(key, why=context)
    _check_key(key, key_id, context)
    return _open(key, rest, context)


def _open(key: Key, raw: bytes, context: str) -> bytes:
    if len(raw) < _NONCE + 16:
        raise SecurityError(f"{context}: the ciphertext is truncated and cannot be read")
    from cryptography.exceptions import InvalidTag

    try:
        return _aesgcm(key.secret).decrypt(raw[:_NONCE], raw[_NONCE:], context.encode())
    except InvalidTag as exc:
        raise SecurityError(
            f"{context}: decryption failed — the ciphertext was altered or moved to another field"
        ) from exc


def _check_format(version: str, algorithm: str, context: str) -> None:
    if version != VERSION or algorithm != ALGORITHM:
        raise SecurityError(
            f"{context} was encrypted as {algorithm} {version}; this survatlas reads "
            f"{ALGORITHM} {VERSION} only — upgrade survatlas"
        )


def _check_key(key: Key, key_id: str, context: str) -> None:
    if key.key_id != key_id:
        raise SecurityError(
            f"{context} was encrypted with key {key_id}, but the key given is {key.key_id}: "
            f"give the right key file ({KEY_FILE_ENV})"
        )


#: fields encrypted at rest when their record is confidential (table -> columns).
PROTECTED_FIELDS: dict[str, tuple[str, ...]] = {
    "sources": ("title", "uri", "url", "archived_url", "publisher", "author", "note"),
    "claims": ("statement", "quote", "method", "subject_key"),
    "devices": ("name", "tags"),
    "sites": ("name", "tags"),
    "buildings": ("tags",),
    "streets": ("name", "tags"),
    "imports": ("summary",),
    "device_warnings": ("value", "message"),
}
_SEALED_TAGS = "survatlas:encrypted"


def seal_row(table: str, row: dict[str, Any], key: Key | None = None) -> dict[str, Any]:
    """Encrypt the protected fields of a confidential ``row`` (others are returned unchanged).

    ``tags`` stays valid JSON (``{"survatlas:encrypted": "<ciphertext>"}``) so that SQL JSON
    functions keep working on the table.
    """
    if row.get("sensitivity") != "confidential" or table not in PROTECTED_FIELDS:
        return row
    key = require_key(key, why=f"a confidential {table} record")
    out = dict(row)
    for col in PROTECTED_FIELDS[table]:
        value = out.get(col)
        if value is None or is_encrypted_text(value):
            continue
        sealed = encrypt_text(key, str(value), f"{table}.{col}")
        out[col] = json.dumps({_SEALED_TAGS: sealed}) if col == "tags" else sealed
    return out


@dataclass(frozen=True)
class SealedWarning:
    """A data-quality warning of a confidential device, its value and message encrypted."""

    key: str
    value: str
    kind: str
    message: str


def seal_warnings(sensitivity: str, warnings: Sequence[Any]) -> list[Any]:
    """Warnings as stored: a confidential device's raw tag values and messages encrypted."""
    if sensitivity != "confidential":
        return list(warnings)
    out = []
    for w in warnings:
        sealed = seal_row(
            "device_warnings",
            {"value": w.value, "message": w.message, "sensitivity": sensitivity},
        )
        out.append(SealedWarning(w.key, sealed["value"], w.kind, sealed["message"]))
    return out


def open_row(table: str, row: dict[str, Any], key: Key | None = None) -> dict[str, Any]:
    """Decrypt the protected fields of a confidential ``row`` (other rows are never decrypted)."""
    if table not in PROTECTED_FIELDS or row.get("sensitivity") != "confidential":
        return row
    out = row
    for col in PROTECTED_FIELDS[table]:
        value = row.get(col)
        if col == "tags" and isinstance(value, str) and value.startswith('{"' + _SEALED_TAGS):
            value = json.loads(value)[_SEALED_TAGS]
        if is_encrypted_text(value):
            out = out if out is not row else dict(row)
            out[col] = decrypt_text(key, value, f"{table}.{col}")
    return out
