"""Case studies shipped with survatlas as cited datasets, importable with one command.

A case study is a JSON file in ``survatlas/data/case_studies``: sources (with syndicated copies
linked to their originals), vendors, programmes, claims (quantities with ranges, dates, methods,
confidence and status; derived numbers with their formula), infrastructure constraints and
comparators. :func:`import_case_study` writes it to a store in one transaction, every record
with its custody-log entry; importing twice adds nothing but the log of the second import.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

from survatlas.errors import CorruptFileError, InputError, NotFoundError
from survatlas.provenance.sources import insert_import, set_source_original
from survatlas.store import Store
from survatlas.store.clock import now_iso
from survatlas.supply import (
    ClaimInput,
    add_comparator,
    add_constraint,
    add_programme,
    add_source_entry,
    add_vendor_entry,
    link_programme_vendor,
    load_builtin_vendors,
    record_claim,
    set_vendor_parent,
)
from survatlas.supply.derived import derive

__all__ = ["CaseStudySummary", "available_case_studies", "import_case_study", "load_case_study"]

_PACKAGE = "survatlas.data.case_studies"


def available_case_studies() -> list[str]:
    """Names of the bundled case studies (e.g. ``["dprk"]``)."""
    return sorted(
        p.name.removesuffix(".json")
        for p in resources.files(_PACKAGE).iterdir()
        if p.name.endswith(".json")
    )


def load_case_study(name: str) -> dict[str, Any]:
    """The raw dataset of a bundled case study."""
    if name not in available_case_studies():
        raise NotFoundError(
            f"no case study {name!r}; available: {', '.join(available_case_studies())}"
        )
    text = resources.files(_PACKAGE).joinpath(f"{name}.json").read_text("utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:  # pragma: no cover - bundled data is tested
        raise CorruptFileError(f"case study {name} is not valid JSON: {exc}") from exc


@dataclass
class CaseStudySummary:
    """What an import wrote (counts of rows now in the store for this case study)."""

    name: str
    country: str
    version: str
    sources: int
    vendors: int
    programmes: int
    claims: int
    constraints: int
    comparators: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def import_case_study(store: Store, name: str) -> CaseStudySummary:
    """Import a bundled case study into ``store`` (all-or-nothing, idempotent)."""
    data = load_case_study(name)
    country = data["country"]
    started = now_iso()
    with store.transaction() as conn:
        load_builtin_vendors(conn)
        sources = _sources(conn, data["sources"])
        vendors = _vendors(conn, data.get("vendors", ()), sources)
        programmes = _programmes(conn, data.get("programmes", ()), country, sources, vendors)
        claims = _claims(conn, data.get("claims", ()), country, sources, programmes, vendors)
        for c in data.get("constraints", ()):
            add_constraint(
                conn,
                key=c["key"],
                country=country,
                kind=c["kind"],
                claim_id=claims[c["claim"]],
                limits=[programmes[p] for p in c.get("limits", ())],
            )
        summary = CaseStudySummary(
            name=name,
            country=country,
            version=data.get("version", ""),
            sources=len(sources),
            vendors=len(vendors),
            programmes=len(programmes),
            claims=len(claims),
            constraints=len(data.get("constraints", ())),
            comparators=sum(1 for c in data.get("claims", ()) if c.get("comparator")),
        )
        insert_import(
            conn,
            source_id=next(iter(sources.values())),
            command=f"import case-study {name}",
            started=started,
            summary=summary.to_dict(),
            counts={k: v for k, v in summary.to_dict().items() if isinstance(v, int)},
        )
    return summary


def _sources(conn: Any, entries: list[dict[str, Any]]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for entry in entries:
        if "original_of" in entry:  # the dataset's key is "original" (a source key)
            raise InputError(f"source {entry.get('key')!r}: write \"original\", not "
                             "\"original_of\", for the source it is a copy of")
    for entry in sorted(entries, key=lambda e: e.get("original") is not None):
        original = ids[entry["original"]] if entry.get("original") else None
        ids[entry["key"]] = add_source_entry(conn, entry, original_of=original)
        if original is not None:  # a source stored earlier without its link
            set_source_original(conn, ids[entry["key"]], original)
    return ids


def _vendors(conn: Any, entries: Any, sources: dict[str, int]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for entry in sorted(entries, key=lambda e: e.get("parent") is not None):
        ids[entry["key"]] = add_vendor_entry(
            conn,
            entry,
            parent_id=ids.get(entry["parent"]) if entry.get("parent") else None,
            source_id=sources.get(entry.get("source", "")),
            note=entry.get("note"),
        )
    for entry in entries:
        if entry.get("parent") and entry["parent"] in ids:
            set_vendor_parent(conn, ids[entry["key"]], ids[entry["parent"]])
    return ids


def _programmes(
    conn: Any, entries: Any, country: str, sources: dict[str, int], vendors: dict[str, int]
) -> dict[str, int]:
    ids: dict[str, int] = {}
    for p in entries:
        ids[p["key"]] = add_programme(
            conn,
            key=p["key"],
            name=p["name"],
            country=country,
            source_id=sources[p["source"]],
            operator=p.get("operator"),
            modalities=p.get("modalities", ()),
            data_collected=p.get("data_collected", ()),
            sites=p.get("sites", ()),
            origin=p.get("origin", "unknown"),
            centralisation=p.get("centralisation", "unknown"),
            first_reported=p.get("first_reported"),
            description=p.get("description"),
            confidence=p.get("confidence", "medium"),
        )
        conn.executemany(
            "INSERT OR IGNORE INTO programme_field_sources (programme_id, field, source_id) "
            "VALUES (?, ?, ?)",
            [(ids[p["key"]], f, sources[src]) for f, src in p.get("field_sources", {}).items()],
        )
        for link in p.get("vendors", ()):
            link_programme_vendor(
                conn,
                ids[p["key"]],
                vendors[link["vendor"]],
                source_id=sources[link["source"]],
                role=link.get("role"),
                confidence=link.get("confidence", "medium"),
            )
    return ids


def _subject(
    subject: str, country: str, programmes: dict[str, int], vendors: dict[str, int]
) -> tuple[str, int | None, str | None]:
    kind, _, key = subject.partition(":")
    if kind == "programme":
        return "programme", programmes[key], key
    if kind == "vendor":
        return "vendor", vendors[key], key
    return kind, None, key or country


def _claims(
    conn: Any,
    entries: Any,
    country: str,
    sources: dict[str, int],
    programmes: dict[str, int],
    vendors: dict[str, int],
) -> dict[str, int]:
    ids: dict[str, int] = {}
    given: dict[str, dict[str, Any]] = {}
    for c in entries:
        if c.get("compute"):
            c = {**c, **derive(c, given), "derived": True}
        given[c["key"]] = c
        subject_type, subject_id, subject_key = _subject(c["subject"], country, programmes, vendors)
        if c.get("comparator"):
            subject_key = c["comparator"]["place"]
        ids[c["key"]] = record_claim(
            conn,
            ClaimInput(
                source_id=sources[c["source"]],
                statement=c["statement"],
                subject_type=subject_type,
                subject_id=subject_id,
                subject_key=subject_key,
                quantity=c.get("quantity"),
                value=c.get("value"),
                low=c.get("low"),
                high=c.get("high"),
                unit=c.get("unit"),
                as_of=c.get("as_of"),
                method=c.get("method"),
                quote=c.get("quote"),
                confidence=c.get("confidence", "medium"),
                status=c.get("status", "unverified"),
                derived=bool(c.get("derived")),
                key=c["key"],
                country=country,
                topic=c.get("topic"),
                attribution=c.get("attribution"),
                derived_from=ids.get(c["derived_from"]) if c.get("derived_from") else None,
                formula=c.get("formula"),
                readings=c.get("readings", ()),
                note=c.get("note"),
            ),
        )
        if c.get("comparator"):
            comp = c["comparator"]
            add_comparator(
                conn,
                place=comp["place"],
                country=comp.get("country"),
                metric=comp.get("metric", "cameras_per_1000_people"),
                claim_id=ids[c["key"]],
            )
    return ids
