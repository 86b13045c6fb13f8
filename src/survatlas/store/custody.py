"""The custody log: who did what, when — append-only and hash-chained.

Each entry carries the hash of the previous one, so an edited, deleted, reordered or truncated
entry breaks the chain (:func:`check_chain`). SQLite triggers refuse UPDATE and DELETE on the
log; the chain catches changes made with the triggers dropped; the *anchor* (the last sequence
number and hash, printed by ``survatlas verify``) can be notarised elsewhere so that even a
rewrite of the whole chain is caught.

Entries hold identifiers, counts, kinds and hashes only: never testimony text, secrets, names of
restricted files or coordinates. :func:`append_entry` refuses floats (coordinates) and long text.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from survatlas.errors import SecurityError, StoreError
from survatlas.store.encryption import Key, load_key
from survatlas.store.states import map_state, record_state
from survatlas.store.store_key import check_store_key

GENESIS = "0" * 64
ACTOR_ENV = "SURVATLAS_ACTOR"
_MAX_TEXT = 160
_SAFE_TEXT = re.compile(r"^[\w.:/@+\- ]*$")
_ACTOR: ContextVar[str | None] = ContextVar("survatlas_actor", default=None)


@dataclass(frozen=True)
class Entry:
    """One custody-log entry."""

    seq: int
    at: str
    actor: str
    action: str
    subject: str | None
    details: str
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (details parsed)."""
        return {**vars(self), "details": json.loads(self.details)}


def current_actor() -> str:
    """Who acts: :func:`acting_as` (CLI ``--actor``, API token name), ``SURVATLAS_ACTOR``, OS user."""
    actor = _ACTOR.get() or os.environ.get(ACTOR_ENV)
    if not actor:
        try:
            actor = getpass.getuser()
        except (KeyError, OSError):
            actor = "unknown"
    return actor


@contextmanager
def acting_as(actor: str | None) -> Iterator[None]:
    """Record every custody entry made inside the block as done by ``actor``."""
    token = _ACTOR.set(actor)
    try:
        yield
    finally:
        _ACTOR.reset(token)


def entry_hash(
    seq: int, at: str, actor: str, action: str, subject: str | None, details: str, prev: str
) -> str:
    """SHA-256 (hex) of an entry's canonical form, chained to ``prev``."""
    canonical = json.dumps(
        [seq, at, actor, action, subject, details, prev], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def content_digest(*parts: str | None) -> str:
    """SHA-256 (hex) of text parts: lets an entry pin a record's content without holding it."""
    canonical = json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append_entry(
    conn: sqlite3.Connection,
    action: str,
    subject: str | None = None,
    details: Mapping[str, Any] | None = None,
    *,
    actor: str | None = None,
) -> Entry:
    """Append one entry; must run inside the write transaction of the change it records.

    Parameters
    ----------
    conn
        The store connection, inside :meth:`Store.transaction`.
    action
        What was done, e.g. ``"evidence.add"``.
    subject
        What it was done to, e.g. ``"source:12"`` or ``"evidence:sha256:…"``.
    details
        Flat mapping of identifiers, counts, kinds and hashes (no floats, no free text).
    actor
        Who did it (default :func:`current_actor`).
    """
    if not conn.in_transaction:
        raise StoreError("custody entries are written inside the transaction of the change")
    key = _key_or_none()
    check_store_key(conn, key)
    details = {
        **(details or {}),
        **record_state(conn, subject, key),
        **map_state(conn, action, key),
    }
    details_json = json.dumps(_checked(details), sort_keys=True, separators=(",", ":"))
    last = conn.execute("SELECT seq, hash FROM custody_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    who = actor or current_actor()
    digest = entry_hash(seq, at, who, action, subject, details_json, prev)
    conn.execute(
        "INSERT INTO custody_log (seq, at, actor, action, subject, details, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, at, who, action, subject, details_json, prev, digest),
    )
    return Entry(seq, at, who, action, subject, details_json, prev, digest)


def _key_or_none() -> Key | None:
    """The data key in force, if any (record digests are keyed with it)."""
    try:
        return load_key()
    except SecurityError:
        return None


def _checked(details: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in details.items():
        if isinstance(value, float):
            raise SecurityError(f"custody detail {key!r} is a number with decimals (a coordinate?)")
        if isinstance(value, str) and (len(value) > _MAX_TEXT or not _SAFE_TEXT.match(value)):
            raise SecurityError(f"custody detail {key!r} is free text; log identifiers only")
        if not (value is None or isinstance(value, (str, int, bool))):
            raise SecurityError(f"custody detail {key!r} must be a string, integer or boolean")
        out[str(key)] = value
    return out


def read_entries(
    conn: sqlite3.Connection, *, since: int = 0, limit: int | None = None
) -> list[Entry]:
    """Entries in log order (``since`` = first sequence number wanted)."""
    sql = "SELECT * FROM custody_log WHERE seq >= ? ORDER BY seq"
    params: tuple = (since,)
    if limit is not None:
        sql += " LIMIT ?"
        params = (since, limit)
    return [Entry(**dict(r)) for r in conn.execute(sql, params)]


def head(conn: sqlite3.Connection) -> tuple[int, str]:
    """The anchor: sequence number and hash of the last entry (``(0, GENESIS)`` when empty)."""
    row = conn.execute("SELECT seq, hash FROM custody_log ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


def format_anchor(seq: int, digest: str) -> str:
    """``seq:hash`` — the text to notarise and later pass to ``survatlas verify --anchor``."""
    return f"{seq}:{digest}"


def parse_anchor(text: str) -> tuple[int, str]:
    """Parse ``seq:hash``."""
    seq, _, digest = text.partition(":")
    if not seq.isdigit() or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise SecurityError(f"anchor {text!r} must be SEQ:HASH as printed by `survatlas verify`")
    return int(seq), digest


def check_chain(conn: sqlite3.Connection, anchor: tuple[int, str] | None = None) -> list[str]:
    """Walk the chain; return the problems found (empty when it verifies).

    Finds edited entries (hash mismatch), deleted or reordered entries (sequence gap or broken
    link), truncation (the recorded head is ahead of the last entry), and a rewritten history
    (``anchor`` no longer in the chain).
    """
    problems: list[str] = []
    prev_seq, prev_hash = 0, GENESIS
    hashes: dict[int, str] = {}
    for e in read_entries(conn):
        if e.seq != prev_seq + 1:
            problems.append(f"entry #{e.seq} follows #{prev_seq}: entries deleted or reordered")
        if e.prev_hash != prev_hash:
            problems.append(f"entry #{e.seq} does not link to the entry before it")
        if entry_hash(e.seq, e.at, e.actor, e.action, e.subject, e.details, e.prev_hash) != e.hash:
            problems.append(f"entry #{e.seq} was edited (its hash does not match its content)")
        prev_seq, prev_hash = e.seq, e.hash
        hashes[e.seq] = e.hash
    problems.extend(_check_head(conn, prev_seq, prev_hash))
    if anchor is not None:
        seq, digest = anchor
        if hashes.get(seq) != digest:
            problems.append(
                f"anchor {format_anchor(seq, digest)[:24]}… is not in the log: history was "
                "rewritten or truncated since it was notarised"
            )
    return problems


def _check_head(conn: sqlite3.Connection, last_seq: int, last_hash: str) -> list[str]:
    row = conn.execute("SELECT seq, hash FROM custody_head WHERE id = 1").fetchone()
    if row is None:
        return ["the custody head is missing: the log was tampered with"] if last_seq else []
    if row[0] > last_seq:
        return [f"the log ends at #{last_seq} but reached #{row[0]}: it was truncated"]
    if row[0] != last_seq or row[1] != last_hash:
        return [f"the custody head (#{row[0]}) does not match the last entry (#{last_seq})"]
    return []
