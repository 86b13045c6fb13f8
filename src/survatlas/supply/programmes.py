"""Surveillance programmes, their vendors, constraints and comparators."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from survatlas.errors import InputError, NotFoundError
from survatlas.store import Store
from survatlas.store.clock import now_iso
from survatlas.store.custody import append_entry
from survatlas.store.gate import audience_clause
from survatlas.supply._common import _choice, _slug
from survatlas.vocab import CONFIDENCES, CONSTRAINT_KINDS, MODALITIES, ORIGINS


def add_programme(
    conn: sqlite3.Connection,
    *,
    key: str,
    name: str,
    country: str,
    source_id: int,
    operator: str | None = None,
    modalities: Sequence[str] = (),
    data_collected: Sequence[str] = (),
    sites: Sequence[str] = (),
    origin: str = "unknown",
    centralisation: str = "unknown",
    first_reported: str | None = None,
    description: str | None = None,
    confidence: str = "medium",
    sensitivity: str = "public",
) -> int:
    """Add a surveillance programme or capability (or return the one with this ``key``)."""
    for m in modalities:
        _choice(m, MODALITIES, "modality")
    _choice(origin, ORIGINS, "origin")
    _choice(confidence, CONFIDENCES, "confidence")
    _slug(key, "programme key")
    row = conn.execute("SELECT id FROM programmes WHERE key = ?", (key,)).fetchone()
    if row:
        return int(row[0])
    cur = conn.execute(
        "INSERT INTO programmes (key, name, country, operator, modalities, data_collected, sites, "
        "origin, centralisation, first_reported, description, source_id, confidence, "
        "sensitivity, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            key,
            name,
            country,
            operator,
            json.dumps(list(modalities)),
            json.dumps(list(data_collected)),
            json.dumps(list(sites)),
            origin,
            centralisation,
            first_reported,
            description,
            source_id,
            confidence,
            sensitivity,
            now_iso(),
        ),
    )
    programme_id = int(cur.lastrowid)
    append_entry(
        conn,
        "programme.add",
        f"programme:{programme_id}",
        {"key": key, "source_id": source_id, "sensitivity": sensitivity},
    )
    return programme_id


def link_programme_vendor(
    conn: sqlite3.Connection,
    programme_id: int,
    vendor_id: int,
    *,
    source_id: int,
    role: str | None = None,
    confidence: str = "medium",
) -> None:
    """Record that a vendor supplies a programme, with the source that says so."""
    _choice(confidence, CONFIDENCES, "confidence")
    cur = conn.execute(
        "INSERT INTO programme_vendors (programme_id, vendor_id, role, source_id, confidence) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (programme_id, vendor_id, role, source_id, confidence),
    )
    if cur.rowcount:
        append_entry(
            conn,
            "programme.vendor",
            f"programme:{programme_id}",
            {"vendor_id": vendor_id, "source_id": source_id},
        )


def add_constraint(
    conn: sqlite3.Connection,
    *,
    key: str,
    country: str,
    kind: str,
    claim_id: int,
    limits: Iterable[int] = (),
) -> int:
    """Record an infrastructure constraint (electricity, connectivity, compute) and what it limits.

    The figure and its source live in the claim ``claim_id``; ``limits`` are programme ids.
    """
    _choice(kind, CONSTRAINT_KINDS, "constraint kind")
    _slug(key, "constraint key")
    row = conn.execute("SELECT id FROM infra_constraints WHERE key = ?", (key,)).fetchone()
    if row:
        constraint_id, action = int(row[0]), "constraint.update"
    else:
        cur = conn.execute(
            "INSERT INTO infra_constraints (key, country, kind, claim_id) VALUES (?, ?, ?, ?)",
            (key, country, kind, claim_id),
        )
        constraint_id, action = int(cur.lastrowid), "constraint.add"
    linked = sum(
        conn.execute(
            "INSERT OR IGNORE INTO constraint_programmes (constraint_id, programme_id) "
            "VALUES (?, ?)",
            (constraint_id, programme_id),
        ).rowcount
        for programme_id in limits
    )
    if action == "constraint.add" or linked:
        append_entry(
            conn,
            action,
            f"constraint:{constraint_id}",
            {"key": key, "claim_id": claim_id, "programmes_linked": linked},
        )
    return constraint_id


def add_comparator(
    conn: sqlite3.Connection, *, place: str, country: str | None, metric: str, claim_id: int
) -> int:
    """Record a comparator figure (e.g. cameras per 1,000 people in a city); its claim has the
    value, year (``as_of``), method and source."""
    claim = conn.execute("SELECT as_of, method FROM claims WHERE id = ?", (claim_id,)).fetchone()
    if claim is None:
        raise NotFoundError(f"no claim {claim_id}")
    if not claim[0] or not claim[1]:
        raise InputError(f"comparator {place!r} needs a year (as_of) and a method on its claim")
    cur = conn.execute(
        "INSERT OR IGNORE INTO comparators (place, country, metric, claim_id) VALUES (?, ?, ?, ?)",
        (place, country, metric, claim_id),
    )
    comparator_id = int(
        conn.execute("SELECT id FROM comparators WHERE claim_id = ?", (claim_id,)).fetchone()[0]
    )
    if cur.rowcount:
        append_entry(conn, "comparator.add", f"comparator:{comparator_id}", {"claim_id": claim_id})
    return comparator_id


# ---------------------------------------------------------------- readers


def list_programmes(
    store: Store, country: str | None = None, *, audience: str = "public"
) -> list[dict[str, Any]]:
    """Programmes visible to ``audience`` (optionally of one country), with their vendors."""
    where = audience_clause(audience, "p")
    params: tuple = ()
    if country:
        where += " AND p.country = ?"
        params = (country,)
    rows = store.query(f"SELECT p.* FROM programmes p WHERE {where} ORDER BY p.id", params)
    out = []
    for r in rows:
        item = dict(r)
        for col in ("modalities", "data_collected", "sites"):
            item[col] = json.loads(item[col])
        item["vendors"] = [
            dict(v)
            for v in store.query(
                "SELECT v.id, v.name, v.country, pv.role, pv.source_id, pv.confidence "
                "FROM programme_vendors pv JOIN vendors v ON v.id = pv.vendor_id "
                f"WHERE pv.programme_id = ? AND {audience_clause(audience, 'v')} ORDER BY v.name",
                (r["id"],),
            )
        ]
        out.append(item)
    return out


def list_vendors(store: Store, *, audience: str = "public") -> list[dict[str, Any]]:
    """Vendors with aliases, restriction lists and the number of devices attributed to each."""
    rows = store.query(
        "SELECT v.*, p.name AS parent, (SELECT count(*) FROM device_vendors dv "
        "JOIN devices d ON d.id = dv.device_id WHERE dv.vendor_id = v.id AND "
        f"{audience_clause(audience, 'd')}) AS devices FROM vendors v "
        f"LEFT JOIN vendors p ON p.id = v.parent_id WHERE {audience_clause(audience, 'v')} "
        "ORDER BY v.name"
    )
    out = []
    for r in rows:
        item = dict(r)
        item["model_prefixes"] = json.loads(item["model_prefixes"])
        item["aliases"] = [
            a[0]
            for a in store.query(
                "SELECT alias FROM vendor_aliases WHERE vendor_id = ? ORDER BY alias", (r["id"],)
            )
        ]
        item["restrictions"] = [
            dict(x)
            for x in store.query(
                "SELECT list_key, list_name, jurisdiction, listed_from, source_id, confidence "
                "FROM vendor_restrictions WHERE vendor_id = ? ORDER BY list_key",
                (r["id"],),
            )
        ]
        out.append(item)
    return out


# ---------------------------------------------------------------- claims from text




def field_sources(store: Any, programme_id: int) -> list[tuple[str, int]]:
    """``(field, source id)`` of a programme's per-field citations (``sites.<site>``,
    ``first_reported`` …), by field."""
    return [(r[0], int(r[1])) for r in store.query(
        "SELECT field, source_id FROM programme_field_sources WHERE programme_id = ? "
        "ORDER BY field", (programme_id,))]
