"""Sources and claims of the supply chain: reuse by URL, claim details, claims accepted from text."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from survatlas.errors import InputError
from survatlas.provenance.sources import insert_claim
from survatlas.store import Store
from survatlas.supply.claims_text import Candidate, extract_candidates


@dataclass
class ClaimInput:
    """A claim to store: the statement, its quantity (if any) and its provenance."""

    source_id: int
    statement: str
    subject_type: str = "country"
    subject_id: int | None = None
    subject_key: str | None = None
    quantity: str | None = None
    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    as_of: str | None = None
    method: str | None = None
    quote: str | None = None
    confidence: str = "medium"
    status: str = "unverified"
    derived: bool = False
    sensitivity: str = "public"
    key: str | None = None
    country: str | None = None
    topic: str | None = None
    attribution: str | None = None
    derived_from: int | None = None
    formula: str | None = None
    readings: Sequence[str] = field(default_factory=tuple)
    note: str | None = None


#: the fields of a :class:`ClaimInput` stored in ``claims`` (the others go to ``claim_details``).
_CLAIM_COLUMNS = (
    "source_id",
    "statement",
    "subject_type",
    "subject_id",
    "subject_key",
    "quantity",
    "value",
    "low",
    "high",
    "unit",
    "as_of",
    "method",
    "quote",
    "confidence",
    "status",
    "derived",
    "sensitivity",
)


def record_claim(conn: sqlite3.Connection, claim: ClaimInput) -> int:
    """Store a claim and its details; a claim with the same ``key`` is not stored twice.

    The claim itself is written by :func:`survatlas.provenance.sources.insert_claim` (validated, sealed when
    confidential, with its custody entry); a derived claim needs its formula.
    """
    if claim.derived and not claim.formula:
        raise InputError("a derived claim needs its formula (how survatlas computed it)")
    if claim.key:
        row = conn.execute("SELECT claim_id FROM claim_details WHERE key = ?", (claim.key,))
        found = row.fetchone()
        if found:
            return int(found[0])
    claim_id = insert_claim(conn, **{name: getattr(claim, name) for name in _CLAIM_COLUMNS})
    conn.execute(
        "INSERT INTO claim_details (claim_id, key, country, topic, attribution, derived_from, "
        "formula, readings, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            claim_id,
            claim.key,
            claim.country,
            claim.topic,
            claim.attribution,
            claim.derived_from,
            claim.formula,
            json.dumps(list(claim.readings), ensure_ascii=False),
            claim.note,
        ),
    )
    return claim_id


def distinct_claims(rows: Any) -> dict[int, dict[str, Any]]:
    """Claims by id, one per (source, statement, quantity): a statement stored several times
    (e.g. accepted from several extracted candidates before de-duplication) is shown once."""
    seen: set[tuple[Any, ...]] = set()
    out: dict[int, dict[str, Any]] = {}
    for r in rows:
        key = (r["source_id"], " ".join(str(r["statement"]).split()).casefold(), r.get("value"),
               r.get("low"), r.get("high"), r.get("unit"), r.get("subject_type"),
               r.get("subject_id"))
        if key not in seen:
            seen.add(key)
            out[r["id"]] = r
    return out


# ---------------------------------------------------------------- vendors


def extract_claims(text: str) -> list[Candidate]:
    """Candidate claims found in a report's text (nothing is stored; see :func:`accept_candidates`)."""
    return extract_candidates(text)


#: candidate kinds that carry a number (the others name a topic, an origin or a date)
_QUANTITY_KINDS = ("quantity", "ratio", "range")


def accept_candidates(
    store: Store,
    candidates: Sequence[dict[str, Any]],
    *,
    source_id: int,
    country: str | None = None,
    confidence: str = "low",
) -> list[int]:
    """Store the reviewed candidates marked ``"accept": true`` as unverified claims of
    ``source_id``; return the claim ids, one per distinct statement.

    Extraction proposes one candidate per thing found (each site category, technology, date …
    of a sentence); accepting keeps **one claim per statement and source**: the candidates of
    one sentence become one claim whose readings list what was found, with the number of its
    first quantity candidate. A date is the claim's ``as_of``, never a quantity. Accepting the
    same statement again (from this file or an earlier one) adds nothing.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for cand in candidates:
        if cand.get("accept") is not True:
            continue
        if not cand.get("sentence"):
            raise InputError("an accepted candidate needs its sentence")
        if not country:
            raise InputError("accepted claims need the country they are about (--country XX)")
        statement = _normal(cand.get("statement") or cand["sentence"])
        groups.setdefault(statement, []).append(cand)
    ids: list[int] = []
    with store.transaction() as conn:
        for statement, group in groups.items():
            found = _same_statement(conn, source_id, statement)
            claim_id = found if found is not None else record_claim(
                conn, _claim_from(group, statement, source_id, country, confidence))
            if claim_id not in ids:
                ids.append(claim_id)
    return ids


def _normal(text: str) -> str:
    return " ".join(str(text).split())


def _same_statement(conn: sqlite3.Connection, source_id: int, statement: str) -> int | None:
    """The claim of ``source_id`` with this statement (whitespace-insensitive), if any."""
    key = f"extract:{source_id}:{_digest(statement)}"
    row = conn.execute("SELECT claim_id FROM claim_details WHERE key = ?", (key,)).fetchone()
    if row:
        return int(row[0])
    for claim_id, text in conn.execute(
        "SELECT id, statement FROM claims WHERE source_id = ? ORDER BY id", (source_id,)
    ):
        if text is not None and _normal(text) == statement:
            return int(claim_id)
    return None


def _digest(statement: str) -> str:
    return hashlib.sha256(statement.casefold().encode()).hexdigest()[:20]


def _claim_from(group: list[dict[str, Any]], statement: str, source_id: int, country: str,
                confidence: str) -> ClaimInput:
    number = next((c for c in group if c.get("kind") in _QUANTITY_KINDS), None)
    date = next((c for c in group if c.get("kind") == "date"), None)
    readings = list(dict.fromkeys(
        f"{c.get('kind')}: {c.get('label') or c.get('text')}" for c in group))
    return ClaimInput(
        source_id=source_id,
        statement=statement,
        subject_type="country",
        subject_key=country,
        quote=group[0]["sentence"],
        quantity=(number.get("quantity") or number.get("label") or number.get("kind"))
        if number else None,
        value=number.get("value") if number else None,
        low=number.get("low") if number else None,
        high=number.get("high") if number else None,
        unit=number.get("unit") if number else None,
        as_of=(date.get("label") if date else None) or group[0].get("as_of"),
        confidence=confidence,
        status="unverified",
        key=f"extract:{source_id}:{_digest(statement)}",
        country=country,
        topic=group[0].get("kind"),
        readings=readings,
        method="extracted from text and accepted by a reviewer",
    )
