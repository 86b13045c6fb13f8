"""Sources and the claims they support: "what do we know, from which source, how sure are we?"

A *source* is where a fact comes from (an OSM extract, a field observation, a photo, a
document, a testimony, a dataset, state media, news, satellite-imagery analysis, a procurement
or trade record). A syndicated copy points to its original with ``original_of``, so one wire
story reprinted five times counts as one corroboration (:func:`corroboration`). A *claim* ties a
source to a record (a device, a site, a programme …) or to a quantity (value, low–high, unit, as
of a date, by a method, with a quote), with a confidence and a status.

There is one writer of each: :func:`insert_source` and :func:`insert_claim` validate, encrypt
confidential fields at rest (:mod:`survatlas.store.encryption`) and append the custody-log entry, on a
connection inside the caller's transaction (so :mod:`survatlas.supply` and
:mod:`survatlas.supply.case_studies` can write many records in one). :func:`add_source` and
:func:`add_claim` run them in a transaction of their own. Every read goes through
:mod:`survatlas.store.gate`, so an audience sees only what it may.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from survatlas.errors import InputError, NotFoundError
from survatlas.store import Store
from survatlas.store.clock import now_iso
from survatlas.store.custody import append_entry
from survatlas.store.encryption import Key, seal_row
from survatlas.store.gate import (
    SUBJECT_TABLES,
    max_sensitivity,
    read_claims,
    read_sources,
)
from survatlas.vocab import (
    CLAIM_STATUSES,
    CONFIDENCES,
    SENSITIVITIES,
    SOURCE_KINDS,
)

#: Admiralty-code source reliability: A completely reliable … E unreliable, F cannot be judged.
RELIABILITY_GRADES = ("A", "B", "C", "D", "E", "F")
#: statuses whose claims count as support in :func:`corroboration`.
SUPPORTING = ("verified", "unverified")
_ISO_DATE = r"\d{4}(-\d{2}(-\d{2}([T ][0-9:.+\-Z]+)?)?)?"
#: an ISO 8601 date (YYYY, YYYY-MM, YYYY-MM-DD, a timestamp) or an interval of two (``2021/2023``).
_DATE = re.compile(rf"^{_ISO_DATE}(/{_ISO_DATE})?$")
_LANG = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")
_SUBJECT_TYPE = re.compile(r"^[a-z][a-z_]{0,31}$")
_MAX_TEXT = 20_000


def insert_source(
    conn: sqlite3.Connection,
    *,
    kind: str,
    title: str,
    url: str | None = None,
    archived_url: str | None = None,
    publisher: str | None = None,
    author: str | None = None,
    published_date: str | None = None,
    retrieved_at: str | None = None,
    language: str | None = None,
    original_of: int | None = None,
    reliability: str | None = None,
    sensitivity: str = "public",
    note: str | None = None,
    licence: str | None = None,
    key: Key | None = None,
) -> int:
    """Validate and record a source with its custody entry, inside the caller's transaction.

    Parameters
    ----------
    conn
        The store connection, inside :meth:`Store.transaction`.
    kind
        One of :data:`SOURCE_KINDS`.
    original_of
        For a syndicated copy, the id of the original source.
    reliability
        Admiralty grade A–F.
    sensitivity
        ``public``, ``restricted`` or ``confidential`` (confidential citation fields are
        encrypted at rest and need a key).

    Returns
    -------
    int
        The new source's id.
    """
    _choice(kind, SOURCE_KINDS, "source kind")
    _choice(sensitivity, SENSITIVITIES, "sensitivity")
    if reliability is not None:
        _choice(reliability.upper(), RELIABILITY_GRADES, "reliability grade")
    row = {
        "kind": kind,
        "title": _text(title, "title", required=True),
        "url": _url(url, "url"),
        "archived_url": _url(archived_url, "archived url"),
        "publisher": _text(publisher, "publisher"),
        "author": _text(author, "author"),
        "published_date": _date(published_date, "published date"),
        "retrieved_at": _date(retrieved_at, "retrieved date"),
        "language": _language(language),
        "original_of": original_of,
        "reliability": reliability.upper() if reliability else None,
        "sensitivity": sensitivity,
        "note": _text(note, "note"),
        "licence": _text(licence, "licence"),
    }
    if original_of is not None:
        _exists(conn, "sources", original_of, "original source")
    source_id = _insert(conn, "sources", seal_row("sources", row, key))
    append_entry(
        conn,
        "source.add",
        f"source:{source_id}",
        {"kind": kind, "sensitivity": sensitivity, "original_of": original_of},
    )
    return source_id


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, hex (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_source(conn: sqlite3.Connection, **fields: Any) -> int:
    """The id of the source of an imported file (``fields['sha256']``), created when new.

    ``fields`` are ``sources`` columns (``kind``, ``title``, ``uri``, ``sha256``,
    ``retrieved_at``, ``licence``, ``attribution``, ``sensitivity`` …); the row is sealed when
    confidential.
    """
    row = conn.execute("SELECT id FROM sources WHERE sha256 = ?", (fields["sha256"],)).fetchone()
    if row:
        return int(row[0])
    return _insert(conn, "sources", seal_row("sources", fields))


def raise_source_level(conn: sqlite3.Connection, source_id: int, level: str) -> bool:
    """Make a source at least as protected as ``level``, never less; True when raised.

    A source is as protected as its most protected record (the writer of layers calls this
    with the level of the rows it wrote). Made confidential, its fields are sealed; the change
    is logged (``source.level``).
    """
    row = conn.execute("SELECT * FROM sources WHERE id = ?", (source_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no source {source_id}")
    old = dict(zip(row.keys(), tuple(row), strict=True))
    if SENSITIVITIES.index(level) <= SENSITIVITIES.index(old["sensitivity"]):
        return False
    sealed = seal_row("sources", {**old, "sensitivity": level})
    changed = {k: v for k, v in sealed.items() if k != "id" and v != old[k]}
    conn.execute(
        f"UPDATE sources SET {', '.join(f'{k} = ?' for k in changed)} WHERE id = ?",
        (*changed.values(), source_id),
    )
    append_entry(
        conn, "source.level", f"source:{source_id}", {"from": old["sensitivity"], "to": level}
    )
    return True


def cite_source(
    conn: sqlite3.Connection, *, title: str, kind: str = "document", url: str | None = None,
    **fields: Any,
) -> int:
    """A cited source: the id of the one with the same URL (or title and kind, without URL),
    else a new one written by :func:`insert_source` with ``fields``."""
    if url:
        row = conn.execute("SELECT id FROM sources WHERE url = ?", (url,)).fetchone()
    else:
        row = conn.execute(
            "SELECT id FROM sources WHERE url IS NULL AND title = ? AND kind = ?",
            ((title or "").strip(), kind),
        ).fetchone()
    if row:
        return int(row[0])
    return insert_source(conn, kind=kind, title=title, url=url, **fields)


def add_source(store: Store, *, retrieved_at: str | None = None, **fields: Any) -> int:
    """Record a source in a transaction of its own; return its id.

    Takes the fields of :func:`insert_source`; ``retrieved_at`` defaults to now.
    """
    with store.transaction() as conn:
        return insert_source(conn, retrieved_at=retrieved_at or now_iso(), **fields)


def insert_import(
    conn: sqlite3.Connection,
    *,
    source_id: int,
    command: str,
    started: str,
    summary: Mapping[str, Any],
    counts: Mapping[str, int],
    file: str | None = None,
) -> int:
    """Log an import of a dataset (a case study, a trade extract …) in ``imports`` and in the
    custody log, inside the caller's transaction; return the import's id.

    ``summary`` is stored (encrypted when the source is confidential); the custody entry keeps
    the command, the source and ``counts`` only.
    """
    sens = conn.execute("SELECT sensitivity FROM sources WHERE id = ?", (source_id,)).fetchone()
    if sens is None:
        raise NotFoundError(f"no source {source_id} for the import")
    row = seal_row("imports", {"summary": json.dumps(dict(summary)), "sensitivity": sens[0]})
    import_id = _insert(
        conn,
        "imports",
        {
            "source_id": source_id,
            "command": command,
            "started_at": started,
            "finished_at": now_iso(),
            "summary": row["summary"],
        },
    )
    append_entry(conn, "import", f"import:{import_id}", _import_details(
        conn, source_id, command, sens[0], counts, file))
    return import_id


def _import_details(
    conn: sqlite3.Connection, source_id: int, command: str, sens: str,
    counts: Mapping[str, int], file: str | None,
) -> dict[str, Any]:
    """What the custody log keeps of an import: ids, counts, the file hash (its name if public)."""
    sha = conn.execute("SELECT sha256 FROM sources WHERE id = ?", (source_id,)).fetchone()[0]
    details: dict[str, Any] = {"command": command, "source_id": source_id, "sensitivity": sens}
    if sha and len(sha) == 64:
        details["file_sha256"] = sha
    details.update(counts)
    if file and sens == "public" and all(ch.isalnum() or ch in "._-" for ch in file):
        details["file"] = file[:120]
    return details


def set_source_original(conn: sqlite3.Connection, source_id: int, original_of: int | None) -> bool:
    """Mark a source as a syndicated copy of ``original_of`` (with a custody entry when it
    changes), inside the caller's transaction; return whether it changed."""
    old = conn.execute("SELECT original_of FROM sources WHERE id = ?", (source_id,)).fetchone()
    if old is None:
        raise NotFoundError(f"no source {source_id}")
    if old[0] == original_of:
        return False
    if original_of is not None:
        _exists(conn, "sources", original_of, "original source")
    conn.execute("UPDATE sources SET original_of = ? WHERE id = ?", (original_of, source_id))
    append_entry(
        conn, "source.original", f"source:{source_id}", {"from": old[0], "to": original_of}
    )
    return True


def get_source(
    store: Store, source_id: int, *, audience: str = "public", key: Key | None = None
) -> dict[str, Any]:
    """A source with its claims, evidence files and independent root, as ``audience`` sees it."""
    found = read_sources(store, audience=audience, key=key, ids=[source_id])
    if not found:
        raise NotFoundError(f"no source {source_id} visible to the {audience} audience")
    source = found[0]
    source["root_source_id"] = root_source(store, source_id, audience=audience)
    source["claims"] = read_claims(store, audience=audience, key=key, source_id=source_id)
    from survatlas.provenance.evidence import list_evidence

    source["evidence"] = [
        e for e in list_evidence(store, audience=audience) if e["source_id"] == source_id
    ]
    return source


#: Every source ``audience`` may see (:func:`survatlas.store.gate.read_sources`).
list_sources = read_sources


def insert_claim(
    conn: sqlite3.Connection,
    *,
    source_id: int,
    statement: str,
    subject_type: str,
    subject_id: int | None = None,
    subject_key: str | None = None,
    quantity: str | None = None,
    value: float | None = None,
    low: float | None = None,
    high: float | None = None,
    unit: str | None = None,
    as_of: str | None = None,
    method: str | None = None,
    quote: str | None = None,
    confidence: str = "medium",
    status: str = "unverified",
    sensitivity: str = "public",
    derived: bool = False,
    key: Key | None = None,
) -> int:
    """Validate and record a claim with its custody entry, inside the caller's transaction.

    A claim is at least as protected as its source (a claim from a confidential source is
    confidential). ``subject_type`` ``device``/``site``/``building``/``street`` needs the id of an
    existing record; other subject types (``programme``, ``vendor``, ``country`` …) take an id or
    a key. A quantity has a value and/or a low–high interval and a unit. ``derived`` marks a
    number computed by survatlas rather than published by the source.

    Returns
    -------
    int
        The new claim's id.
    """
    _choice(confidence, CONFIDENCES, "confidence")
    _choice(status, CLAIM_STATUSES, "status")
    _choice(sensitivity, SENSITIVITIES, "sensitivity")
    if not _SUBJECT_TYPE.match(subject_type or ""):
        raise InputError(f"subject type {subject_type!r} must be a lower-case word such as device")
    if subject_id is None and not subject_key:
        raise InputError("a claim needs a subject: give its id (--subject device:12) or a key")
    numbers = _quantity(value, low, high, unit)
    src = conn.execute("SELECT sensitivity FROM sources WHERE id = ?", (source_id,)).fetchone()
    if src is None:
        raise NotFoundError(f"no source {source_id}; add it first with `survatlas source add`")
    if subject_type in SUBJECT_TABLES and subject_id is not None:
        _exists(conn, SUBJECT_TABLES[subject_type], subject_id, subject_type)
    row = {
        "source_id": source_id,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "subject_key": _text(subject_key, "subject key"),
        "statement": _text(statement, "statement", required=True),
        "quantity": _text(quantity, "quantity"),
        **numbers,
        "as_of": _date(as_of, "as-of date"),
        "method": _text(method, "method"),
        "quote": _text(quote, "quote"),
        "confidence": confidence,
        "status": status,
        "derived": int(bool(derived)),
        "sensitivity": max_sensitivity(sensitivity, src[0]),
        "created_at": now_iso(),
    }
    claim_id = _insert(conn, "claims", seal_row("claims", row, key))
    append_entry(
        conn,
        "claim.add",
        f"claim:{claim_id}",
        {
            "source_id": source_id,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "status": status,
            "sensitivity": row["sensitivity"],
        },
    )
    return claim_id


def add_claim(store: Store, **fields: Any) -> int:
    """Record a claim in a transaction of its own (the fields of :func:`insert_claim`);
    return its id."""
    with store.transaction() as conn:
        return insert_claim(conn, **fields)


def set_claim_status(store: Store, claim_id: int, status: str) -> None:
    """Change a claim's status (e.g. to ``disputed`` or ``superseded``), with a custody entry."""
    _choice(status, CLAIM_STATUSES, "status")
    with store.transaction() as conn:
        old = conn.execute("SELECT status FROM claims WHERE id = ?", (claim_id,)).fetchone()
        if old is None:
            raise NotFoundError(f"no claim {claim_id}")
        conn.execute("UPDATE claims SET status = ? WHERE id = ?", (status, claim_id))
        append_entry(conn, "claim.status", f"claim:{claim_id}", {"from": old[0], "to": status})


#: Claims ``audience`` may see, optionally about one subject or from one source
#: (:func:`survatlas.store.gate.read_claims`).
list_claims = read_claims


def root_source(store: Store, source_id: int, *, audience: str = "public") -> int | None:
    """The original a source was syndicated from (following ``original_of`` through the
    sources ``audience`` may see); the source itself when it is an original."""
    sources = {s["id"]: s["original_of"] for s in read_sources(store, audience=audience)}
    if source_id not in sources:
        return None
    return _root(sources, source_id)


def _root(links: dict[int, int | None], start: int) -> int:
    seen, current = {start}, start
    while links.get(current) is not None and links[current] in links:
        current = links[current]
        if current in seen:  # a cycle: take the smallest id as the original
            return min(seen)
        seen.add(current)
    return current


def corroboration(
    store: Store,
    subject_type: str,
    subject_id: int | None = None,
    subject_key: str | None = None,
    *,
    audience: str = "public",
) -> dict[str, Any]:
    """How many independent sources support a subject (syndicated copies count once).

    Returns
    -------
    dict
        ``supporting_claims``, ``independent_sources``, ``root_source_ids``, ``disputed`` and
        ``superseded`` claim counts, and ``method``.
    """
    claims = read_claims(
        store,
        audience=audience,
        subject_type=subject_type,
        subject_id=subject_id,
        subject_key=subject_key,
    )
    links = {s["id"]: s["original_of"] for s in read_sources(store, audience=audience)}
    supporting = [c for c in claims if c["status"] in SUPPORTING]
    roots = sorted({_root(links, c["source_id"]) for c in supporting})
    return {
        "subject": f"{subject_type}:{subject_id if subject_id is not None else subject_key}",
        "supporting_claims": len(supporting),
        "independent_sources": len(roots),
        "root_source_ids": roots,
        "disputed": sum(c["status"] == "disputed" for c in claims),
        "superseded": sum(c["status"] == "superseded" for c in claims),
        "method": "verified or unverified claims visible to the "
        f"{audience} audience; each source followed through original_of to its original; "
        "independent sources = distinct originals",
    }


def _choice(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise InputError(f"{what} {value!r} is not one of {', '.join(allowed)}")


def _text(value: str | None, what: str, *, required: bool = False) -> str | None:
    if value is None or not str(value).strip():
        if required:
            raise InputError(f"{what} is required and may not be empty")
        return None
    text = str(value).strip()
    if len(text) > _MAX_TEXT or "\x00" in text:
        raise InputError(
            f"{what} is too long or holds a NUL byte; keep it under {_MAX_TEXT} characters"
        )
    return text


def _url(value: str | None, what: str) -> str | None:
    text = _text(value, what)
    if text is not None and not re.match(r"^(https?|ftp|ipfs|urn|doi):", text, re.IGNORECASE):
        raise InputError(
            f"{what} {text[:60]!r} must start with http(s)://, ftp://, ipfs:, urn: or doi:"
        )
    return text


def _date(value: str | None, what: str) -> str | None:
    text = _text(value, what)
    if text is not None and not _DATE.match(text):
        raise InputError(
            f"{what} {text[:40]!r} must be an ISO date: YYYY, YYYY-MM or YYYY-MM-DD "
            "(or an interval such as 2021/2023)"
        )
    return text


def _language(value: str | None) -> str | None:
    text = _text(value, "language")
    if text is not None and not _LANG.match(text):
        raise InputError(f"language {text[:20]!r} must be a BCP 47 code such as en, ko or pt-BR")
    return text


def _quantity(
    value: float | None, low: float | None, high: float | None, unit: str | None
) -> dict[str, Any]:
    numbers = {"value": value, "low": low, "high": high}
    for name, number in numbers.items():
        if number is not None and not math.isfinite(float(number)):
            raise InputError(f"{name} {number!r} is not a finite number")
    given = [n for n in (low, value, high) if n is not None]
    if given != sorted(given):
        raise InputError(f"a quantity needs low <= value <= high (got {low}, {value}, {high})")
    if given and not unit:
        raise InputError("a quantity needs a unit (e.g. cameras, USD, km)")
    return {**{k: None if v is None else float(v) for k, v in numbers.items()}, "unit": unit}


def _exists(conn: Any, table: str, row_id: int, what: str) -> None:
    if conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (row_id,)).fetchone() is None:
        raise NotFoundError(f"no {what} with id {row_id}")


def _insert(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
    cur = conn.execute(
        f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
        tuple(row.values()),
    )
    return int(cur.lastrowid)
