"""Programmes, vendors and models: who made the equipment, who runs it, and which source says so.

The linked model is device → vendor (and model, with optics) → programme → operator, and every
programme, vendor link, restriction and quantity is tied to a row of ``sources``. Quantities are
``claims`` (value, range, unit, date, method, confidence, status); numbers derived by survatlas
carry ``derived=1`` and the formula.

Writers take a ``sqlite3.Connection`` so several of them can run inside one
:meth:`survatlas.store.Store.transaction`, and append their custody-log entry in it (sources and
claims are written by :mod:`survatlas.provenance.sources`, the one writer of both; this module adds reuse by
URL, the derived-claim rule and ``claim_details``); readers take a
:class:`~survatlas.store.Store`.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from survatlas.errors import InputError, NotFoundError
from survatlas.ingest._writer import now_iso
from survatlas.provenance.sources import insert_claim, insert_source
from survatlas.store import Store
from survatlas.store.custody import append_entry
from survatlas.store.gate import audience_clause
from survatlas.store.migrations.m0300_sources_claims import CONFIDENCES
from survatlas.store.migrations.m0500_supply import CONSTRAINT_KINDS, MODALITIES, ORIGINS
from survatlas.supply.claims_text import Candidate, extract_candidates

__all__ = [
    "AttributionSummary",
    "ClaimInput",
    "accept_candidates",
    "add_alias",
    "add_claim",
    "add_comparator",
    "add_constraint",
    "add_model",
    "add_programme",
    "add_restriction",
    "add_source",
    "add_source_entry",
    "add_vendor",
    "add_vendor_entry",
    "attribute_devices",
    "device_optics",
    "extract_claims",
    "link_programme_vendor",
    "list_programmes",
    "list_vendors",
    "load_builtin_vendors",
    "normalise_model",
    "normalise_name",
    "resolve_vendor",
    "set_vendor_parent",
]

#: Tag keys read for the vendor (in order) and for the model.
VENDOR_KEYS = (
    "manufacturer",
    "brand",
    "camera:manufacturer",
    "camera:brand",
    "manufacturer:wikidata",
)
MODEL_KEYS = ("model", "camera:model")
_LEGAL_SUFFIXES = frozenset(
    [
        "co",
        "ltd",
        "limited",
        "inc",
        "corp",
        "corporation",
        "company",
        "gmbh",
        "ag",
        "ab",
        "sa",
        "llc",
        "plc",
        "group",
        "holding",
        "holdings",
    ]
)
_MIN_CONTAINED_ALIAS = 4
_KEY = re.compile(r"[\w.\-]{1,80}")


def _choice(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise InputError(f"unknown {what} {value!r}; use one of {', '.join(allowed)}")
    return value


def _slug(key: str, what: str) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise InputError(
            f"{what} {str(key)[:40]!r} must be a short identifier (letters, digits, . _ -)"
        )
    return key


# ---------------------------------------------------------------- sources and claims


def add_source(
    conn: sqlite3.Connection,
    *,
    title: str,
    kind: str = "document",
    url: str | None = None,
    **fields: Any,
) -> int:
    """Add a cited source, or return the id of the one with the same URL (or title, without URL).

    A new source is written by :func:`survatlas.provenance.sources.insert_source` (validated, sealed when
    confidential, with its custody entry); ``fields`` are its other fields (``publisher``,
    ``published_date``, ``original_of`` for a syndicated copy or mirror, ``reliability`` …).
    """
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


def add_claim(conn: sqlite3.Connection, claim: ClaimInput) -> int:
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


def normalise_name(name: str) -> str:
    """Vendor name for comparison: NFKC, case-folded, punctuation and legal suffixes removed.

    >>> normalise_name("Hangzhou Hikvision Digital Technology Co., Ltd.")
    'hangzhou hikvision digital technology'
    """
    text = unicodedata.normalize("NFKC", name).casefold().replace("&", " and ")
    tokens = re.sub(r"[^\w]+", " ", text).split()
    while tokens and tokens[-1] in _LEGAL_SUFFIXES:
        tokens.pop()
    return " ".join(tokens)


def normalise_model(model: str) -> str:
    """Model number for comparison: upper case, spaces and dashes removed."""
    return re.sub(r"[\s\-_/]+", "", unicodedata.normalize("NFKC", model)).upper()


def add_vendor(
    conn: sqlite3.Connection,
    *,
    key: str,
    name: str,
    country: str | None = None,
    kind: str = "manufacturer",
    parent_id: int | None = None,
    wikidata: str | None = None,
    aliases: Iterable[str] = (),
    model_prefixes: Iterable[str] = (),
    source_id: int | None = None,
    note: str | None = None,
) -> int:
    """Add a vendor (or fill the blanks of the vendor with this ``key``); register its aliases.

    A new vendor, or a change to one, gets a custody entry (``vendor.add``/``vendor.update``).
    """
    _slug(key, "vendor key")
    if wikidata and not re.fullmatch(r"Q\d+", wikidata):
        raise InputError(f"Wikidata id {wikidata!r} should look like Q12345")
    prefixes = list(dict.fromkeys(model_prefixes))
    old = conn.execute(
        "SELECT id, country, parent_id, wikidata, source_id, note, model_prefixes FROM vendors "
        "WHERE key = ?",
        (key,),
    ).fetchone()
    if old:
        vendor_id, action = int(old[0]), "vendor.update"
        given = (country, parent_id, wikidata, source_id, note)
        filled = [o if o is not None else n for o, n in zip(old[1:6], given, strict=True)]
        merged = json.dumps(list(dict.fromkeys([*json.loads(old[6]), *prefixes])))
        changed = (*filled, merged) != tuple(old[1:])
        if changed:
            conn.execute(
                "UPDATE vendors SET country = ?, parent_id = ?, wikidata = ?, source_id = ?, "
                "note = ?, model_prefixes = ? WHERE id = ?",
                (*filled, merged, vendor_id),
            )
    else:
        cur = conn.execute(
            "INSERT INTO vendors (key, name, kind, country, parent_id, wikidata, model_prefixes, "
            "source_id, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                name,
                kind,
                country,
                parent_id,
                wikidata,
                json.dumps(prefixes),
                source_id,
                note,
                now_iso(),
            ),
        )
        vendor_id, action, changed = int(cur.lastrowid), "vendor.add", True
    added = sum(_insert_alias(conn, vendor_id, alias) for alias in (name, *aliases))
    if changed or added:
        append_entry(
            conn,
            action,
            f"vendor:{vendor_id}",
            {"key": key, "aliases_added": added, "source_id": source_id},
        )
    return vendor_id


def set_vendor_parent(conn: sqlite3.Connection, vendor_id: int, parent_id: int | None) -> bool:
    """Make ``parent_id`` the parent company of a vendor (custody entry when it changes)."""
    old = conn.execute("SELECT parent_id FROM vendors WHERE id = ?", (vendor_id,)).fetchone()
    if old is None:
        raise NotFoundError(f"no vendor {vendor_id}")
    if old[0] == parent_id:
        return False
    conn.execute("UPDATE vendors SET parent_id = ? WHERE id = ?", (parent_id, vendor_id))
    append_entry(conn, "vendor.parent", f"vendor:{vendor_id}", {"from": old[0], "to": parent_id})
    return True


def add_alias(conn: sqlite3.Connection, vendor_id: int, alias: str) -> None:
    """Register ``alias`` for a vendor; an alias already owned by another vendor is an error."""
    if _insert_alias(conn, vendor_id, alias):
        append_entry(conn, "vendor.update", f"vendor:{vendor_id}", {"aliases_added": 1})


def _insert_alias(conn: sqlite3.Connection, vendor_id: int, alias: str) -> bool:
    norm = normalise_name(alias)
    if not norm:
        return False
    row = conn.execute("SELECT vendor_id FROM vendor_aliases WHERE alias_norm = ?", (norm,))
    owner = row.fetchone()
    if owner and owner[0] != vendor_id:
        raise InputError(f"alias {alias!r} already names vendor {owner[0]}; aliases must be unique")
    if owner:
        return False
    conn.execute(
        "INSERT INTO vendor_aliases (alias_norm, alias, vendor_id) VALUES (?, ?, ?)",
        (norm, alias, vendor_id),
    )
    return True


def add_restriction(
    conn: sqlite3.Connection,
    vendor_id: int,
    *,
    list_key: str,
    list_name: str,
    source_id: int,
    jurisdiction: str | None = None,
    listed_from: str | None = None,
    confidence: str = "medium",
    note: str | None = None,
) -> None:
    """Record that a vendor appears on a restriction list (e.g. US NDAA §889), with its source."""
    _choice(confidence, CONFIDENCES, "confidence")
    _slug(list_key, "restriction list key")
    cur = conn.execute(
        "INSERT INTO vendor_restrictions (vendor_id, list_key, list_name, jurisdiction, "
        "listed_from, source_id, confidence, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (vendor_id, list_key) DO NOTHING",
        (vendor_id, list_key, list_name, jurisdiction, listed_from, source_id, confidence, note),
    )
    if cur.rowcount:
        append_entry(
            conn,
            "vendor.restriction",
            f"vendor:{vendor_id}",
            {"list_key": list_key, "source_id": source_id},
        )


_OPTICS = (
    "focal_mm",
    "focal_max_mm",
    "sensor_width_mm",
    "width_px",
    "height_px",
    "fov_deg",
    "ir_range_m",
)


def add_model(
    conn: sqlite3.Connection,
    vendor_id: int,
    model: str,
    *,
    source_id: int,
    focal_mm: float | None = None,
    focal_max_mm: float | None = None,
    sensor_width_mm: float | None = None,
    width_px: int | None = None,
    height_px: int | None = None,
    fov_deg: float | None = None,
    ir_range_m: float | None = None,
) -> int:
    """Add a camera model with its optics (from a cited datasheet), or update the optics of the
    model already stored; return its id (custody entry ``model.add``/``model.update``)."""
    for name, val in (
        ("focal_mm", focal_mm),
        ("sensor_width_mm", sensor_width_mm),
        ("width_px", width_px),
        ("fov_deg", fov_deg),
    ):
        if val is not None and val <= 0:
            raise InputError(f"{name} must be positive, got {val}")
    norm = normalise_model(model)
    optics = (focal_mm, focal_max_mm, sensor_width_mm, width_px, height_px, fov_deg, ir_range_m)
    values = (*optics, source_id)
    old = conn.execute(
        f"SELECT id, {', '.join(_OPTICS)}, source_id FROM device_models "
        "WHERE vendor_id = ? AND model_norm = ?",
        (vendor_id, norm),
    ).fetchone()
    if old is None:
        cur = conn.execute(
            f"INSERT INTO device_models (vendor_id, model, model_norm, {', '.join(_OPTICS)}, "
            "source_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (vendor_id, model, norm, *values),
        )
        model_id, action = int(cur.lastrowid), "model.add"
    elif tuple(old[1:]) != values:
        model_id, action = int(old[0]), "model.update"
        conn.execute(
            f"UPDATE device_models SET {', '.join(f'{c} = ?' for c in _OPTICS)}, source_id = ? "
            "WHERE id = ?",
            (*values, model_id),
        )
    else:
        return int(old[0])
    append_entry(
        conn, action, f"model:{model_id}", {"vendor_id": vendor_id, "source_id": source_id}
    )
    return model_id


@cache
def _builtin_vendor_table() -> dict[str, Any]:
    text = resources.files("survatlas.data.supply").joinpath("vendors.json").read_text("utf-8")
    return json.loads(text)


def load_builtin_vendors(conn: sqlite3.Connection) -> int:
    """Add the bundled vendor / alias table (idempotent); return the number of vendors in it."""
    table = _builtin_vendor_table()
    sources = {s["key"]: add_source_entry(conn, s) for s in table["sources"]}
    for entry in table["vendors"]:
        vendor_id = add_vendor_entry(conn, entry, model_prefixes=entry.get("model_prefixes", ()))
        for r in entry.get("restrictions", ()):
            add_restriction(
                conn,
                vendor_id,
                list_key=r["list_key"],
                list_name=r["list_name"],
                source_id=sources[r["source"]],
                jurisdiction=r.get("jurisdiction"),
                listed_from=r.get("listed_from"),
                confidence=r.get("confidence", "medium"),
            )
    return len(table["vendors"])


def add_vendor_entry(conn: sqlite3.Connection, entry: dict[str, Any], **overrides: Any) -> int:
    """:func:`add_vendor` from a dataset entry (``key``, ``name``, ``country``, ``kind``,
    ``wikidata``, ``aliases``); ``overrides`` set other fields (``parent_id``, ``source_id`` …)."""
    fields = {
        "key": entry["key"],
        "name": entry["name"],
        "country": entry.get("country"),
        "kind": entry.get("kind", "manufacturer"),
        "wikidata": entry.get("wikidata"),
        "aliases": entry.get("aliases", ()),
    }
    return add_vendor(conn, **{**fields, **overrides})


def add_source_entry(
    conn: sqlite3.Connection, entry: dict[str, Any], *, original_of: int | None = None
) -> int:
    """:func:`add_source` from a dataset entry (keys as the ``sources`` columns, ``kind``)."""
    fields = {
        k: entry.get(k)
        for k in (
            "title",
            "url",
            "publisher",
            "author",
            "published_date",
            "retrieved_at",
            "language",
            "reliability",
            "note",
        )
    }
    return add_source(conn, kind=entry.get("kind", "document"), original_of=original_of, **fields)


@dataclass(frozen=True)
class VendorMatch:
    """A vendor found for a name or model string, and how."""

    vendor_id: int
    method: str  # alias | name_in_text | model_prefix


def _alias_index(conn: sqlite3.Connection) -> tuple[dict[str, int], list[tuple[str, int]]]:
    rows = conn.execute("SELECT alias_norm, vendor_id FROM vendor_aliases").fetchall()
    exact = {r[0]: int(r[1]) for r in rows}
    prefixes = [
        (p.upper(), int(r[0]))
        for r in conn.execute("SELECT id, model_prefixes FROM vendors")
        for p in json.loads(r[1])
    ]
    return exact, sorted(prefixes, key=lambda p: -len(p[0]))


def _match(
    value: str, exact: dict[str, int], prefixes: list[tuple[str, int]]
) -> VendorMatch | None:
    norm = normalise_name(value)
    if not norm:
        return None
    if norm in exact:
        return VendorMatch(exact[norm], "alias")
    padded = f" {norm} "
    found = {
        vid
        for alias, vid in exact.items()
        if len(alias) >= _MIN_CONTAINED_ALIAS and f" {alias} " in padded
    }
    if len(found) == 1:
        return VendorMatch(found.pop(), "name_in_text")
    upper = value.strip().upper()
    for prefix, vid in prefixes:
        if upper.startswith(prefix):
            return VendorMatch(vid, "model_prefix")
    return None


def resolve_vendor(conn: sqlite3.Connection, value: str) -> VendorMatch | None:
    """The vendor named by ``value`` (an alias, a text containing one, or a model number).

    Ambiguous text (aliases of two vendors) resolves to ``None``.
    """
    exact, prefixes = _alias_index(conn)
    return _match(value, exact, prefixes)


@dataclass
class AttributionSummary:
    """What :func:`attribute_devices` found."""

    devices: int = 0
    attributed: int = 0
    with_model: int = 0
    by_vendor: Counter = field(default_factory=Counter)
    by_method: Counter = field(default_factory=Counter)
    unmatched: Counter = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (unmatched values: the 20 most frequent)."""
        return {
            "devices": self.devices,
            "attributed": self.attributed,
            "with_model": self.with_model,
            "by_vendor": dict(self.by_vendor.most_common()),
            "by_method": dict(self.by_method.most_common()),
            "unmatched_values": dict(self.unmatched.most_common(20)),
            "method": (
                "Vendor from the manufacturer column and the OSM tags "
                f"{', '.join(VENDOR_KEYS)} (then {', '.join(MODEL_KEYS)}), matched on the alias "
                "table after normalisation; 'model_prefix' matches are heuristic."
            ),
        }


def attribute_devices(store: Store) -> AttributionSummary:
    """Attribute every device to a vendor (and model) from its tags; replaces earlier results."""
    summary = AttributionSummary()
    with store.transaction() as conn:
        load_builtin_vendors(conn)
        exact, prefixes = _alias_index(conn)
        models = {
            (r[0], r[1]): r[2]
            for r in conn.execute("SELECT vendor_id, model_norm, id FROM device_models")
        }
        names = dict(conn.execute("SELECT id, name FROM vendors").fetchall())
        replaced = conn.execute("DELETE FROM device_vendors").rowcount
        rows = conn.execute("SELECT id, manufacturer, model, tags FROM devices").fetchall()
        stamp = now_iso()
        for device_id, manufacturer, model, tags_json in rows:
            summary.devices += 1
            found = _attribute_one(manufacturer, model, json.loads(tags_json), exact, prefixes)
            if found is None:
                value = manufacturer or _first(json.loads(tags_json), VENDOR_KEYS)
                if value:
                    summary.unmatched[value] += 1
                continue
            match, key, value, model_value = found
            model_id = _model_id(models, match.vendor_id, model_value)
            conn.execute(
                "INSERT INTO device_vendors (device_id, vendor_id, model_id, matched_key, "
                "matched_value, method, attributed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (device_id, match.vendor_id, model_id, key, value, match.method, stamp),
            )
            summary.attributed += 1
            summary.with_model += model_id is not None
            summary.by_vendor[names[match.vendor_id]] += 1
            summary.by_method[match.method] += 1
        append_entry(
            conn,
            "vendors.attribute",
            "device_vendors",
            {
                "devices": summary.devices,
                "attributed": summary.attributed,
                "with_model": summary.with_model,
                "replaced": replaced,
            },
        )
    return summary


def _first(tags: dict[str, str], keys: Sequence[str]) -> str | None:
    return next((tags[k] for k in keys if tags.get(k)), None)


def _attribute_one(
    manufacturer: str | None,
    model: str | None,
    tags: dict[str, str],
    exact: dict[str, int],
    prefixes: list[tuple[str, int]],
) -> tuple[VendorMatch, str, str, str | None] | None:
    model_value = model or _first(tags, MODEL_KEYS)
    candidates = [("manufacturer", manufacturer)] + [(k, tags.get(k)) for k in VENDOR_KEYS]
    candidates += [("model", model)] + [(k, tags.get(k)) for k in MODEL_KEYS]
    for key, value in candidates:
        if value:
            match = _match(value, exact, prefixes)
            if match:
                return match, key, value, model_value
    return None


def _model_id(models: dict[tuple[int, str], int], vendor_id: int, model: str | None) -> int | None:
    if not model:
        return None
    norm = normalise_model(model)
    for (vid, model_norm), model_id in models.items():
        if vid == vendor_id and (norm == model_norm or norm.endswith(model_norm)):
            return model_id
    return None


def device_optics(store: Store) -> dict[int, dict[str, Any]]:
    """Optics of devices whose model is known: device id → focal, sensor, pixels, FOV, source.

    Coverage scenarios use these in place of the assumed optics when a device's model is known.
    """
    rows = store.query(
        "SELECT dv.device_id, m.model, v.name AS vendor, m.focal_mm, m.focal_max_mm, "
        "m.sensor_width_mm, m.width_px, m.height_px, m.fov_deg, m.ir_range_m, m.source_id "
        "FROM device_vendors dv JOIN device_models m ON m.id = dv.model_id "
        "JOIN vendors v ON v.id = dv.vendor_id ORDER BY dv.device_id"
    )
    out = {}
    for r in rows:
        item = dict(r)
        out[item.pop("device_id")] = item
    return out


# ---------------------------------------------------------------- programmes


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
                add_claim(
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
