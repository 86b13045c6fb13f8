"""Vendors, their aliases, restrictions and camera models; resolving a tag value to a vendor."""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from survatlas.errors import InputError, NotFoundError
from survatlas.provenance.sources import cite_source
from survatlas.store.clock import now_iso
from survatlas.store.custody import append_entry
from survatlas.supply._common import _LEGAL_SUFFIXES, _MIN_CONTAINED_ALIAS, _choice, _slug
from survatlas.vocab import CONFIDENCES


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
    return cite_source(conn, kind=entry.get("kind", "document"), original_of=original_of, **fields)


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


