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


# ---------------------------------------------------------------- vendors


def extract_claims(text: str) -> list[Candidate]:
    """Candidate claims found in a report's text (nothing is stored; see :func:`accept_candidates`)."""
    return extract_candidates(text)


def accept_candidates(
    store: Store,
    candidates: Sequence[dict[str, Any]],
    *,
    source_id: int,
    country: str | None = None,
    confidence: str = "low",
) -> list[int]:
    """Store the reviewed candidates marked ``"accept": true`` as unverified claims of
    ``source_id``; return the claim ids (a candidate accepted twice is stored once)."""
    ids = []
    with store.transaction() as conn:
        for cand in candidates:
            if cand.get("accept") is not True:
                continue
            if not cand.get("sentence"):
                raise InputError("an accepted candidate needs its sentence")
            if not country:
                raise InputError("accepted claims need the country they are about (--country XX)")
            digest = hashlib.sha256(
                f"{cand['sentence']}|{cand.get('text')}|{cand.get('kind')}".encode()
            ).hexdigest()[:20]
            ids.append(
                record_claim(
                    conn,
                    ClaimInput(
                        source_id=source_id,
                        statement=cand.get("statement") or cand["sentence"],
                        subject_type="country",
                        subject_key=country,
                        quote=cand["sentence"],
                        quantity=cand.get("quantity") or cand.get("label") or cand.get("kind"),
                        value=cand.get("value"),
                        low=cand.get("low"),
                        high=cand.get("high"),
                        unit=cand.get("unit"),
                        as_of=cand.get("as_of"),
                        confidence=confidence,
                        status="unverified",
                        key=f"extract:{source_id}:{digest}",
                        country=country,
                        topic=cand.get("kind"),
                        method="extracted from text and accepted by a reviewer",
                    ),
                )
            )
    return ids
