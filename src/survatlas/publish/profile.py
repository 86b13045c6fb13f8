"""Country profiles: programmes, vendors, trade flags, devices, comparators, constraints and open
questions, every line with its sources, confidence and status.

:func:`country_profile` gathers the records ``audience`` may see into a plain dict (the JSON
output); :func:`render_profile` turns it into one document model
(:func:`survatlas.publish._profile_doc.profile_document`) rendered as Markdown, HTML or PDF, in
which every statement links to its entry in the source list. HTML output escapes every data string.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from survatlas.publish._comparators import read_comparators_csv
from survatlas.publish._profile_doc import FORMATS, render_html, render_markdown, render_profile
from survatlas.store import Store
from survatlas.store.gate import audience_clause, bbox_clause, numbering
from survatlas.supply.claims import distinct_claims
from survatlas.supply.countries import country_code, country_name
from survatlas.supply.programmes import field_sources
from survatlas.supply.trade import (
    SanctionRule,
    hs_category,
    hs_table,
    sanction_rules,
    screen_rows,
    stored_rows,
)

__all__ = [
    "FORMATS",
    "country_profile",
    "read_comparators_csv",
    "render_html",
    "render_markdown",
    "render_profile",
]

_OPEN_ORDER = {"disputed": 0, "unverified": 1}
_CONF_ORDER = {"low": 0, "medium": 1, "high": 2}


@dataclass
class _Refs:
    """The sources cited by a profile, as short references (``S12`` store, ``C1`` user file)."""

    store: Store
    audience: str
    cited: dict[str, dict[str, Any]] = field(default_factory=dict)

    def source(self, source_id: int) -> str:
        """The reference of source row ``source_id``: ``S`` and its public number, so that
        the numbers never count sources hidden from the audience."""
        numbers = numbering(self.store, "sources", self.audience)
        ref = f"S{numbers.public(source_id) or '?'}"  # "S?": a hidden source is never named
        if ref not in self.cited and ref != "S?":
            row = dict(self.store.query("SELECT * FROM sources WHERE id = ?", (source_id,))[0])
            original, row["original_of"] = row["original_of"], numbers.public(row["original_of"])
            self.cited[ref] = _source_entry(ref, row)
            if row["original_of"]:
                self.source(original)
        return ref

    def reprint_of(self, refs: list[str]) -> list[str]:
        """The originals of ``refs`` when every one is a reprint (a syndicated copy), else []."""
        originals = [self.cited[r]["original"] for r in refs if r in self.cited]
        return originals if refs and len(originals) == len(refs) and all(originals) else []

    def external(
        self,
        title: str,
        url: str | None,
        publisher: str | None = None,
        *,
        prefix: str = "C",
        kind: str = "user_comparator_file",
    ) -> str:
        """Reference to a source outside the store (``C`` user files, ``R`` rules tables)."""
        for ref, entry in self.cited.items():
            if ref.startswith(prefix) and entry["title"] == title and entry["url"] == url:
                return ref
        ref = f"{prefix}{sum(r.startswith(prefix) for r in self.cited) + 1}"
        self.cited[ref] = {
            "ref": ref,
            "title": title,
            "url": url,
            "publisher": publisher,
            "kind": kind,
            "published_date": None,
            "author": None,
            "original": None,
            "note": None,
            "language": None,
        }
        return ref


def _source_entry(ref: str, row: dict[str, Any]) -> dict[str, Any]:
    original = f"S{row['original_of']}" if row.get("original_of") else None
    return {
        "ref": ref,
        "title": row["title"],
        "url": row.get("url") or None,
        "publisher": row.get("publisher"),
        "author": row.get("author"),
        "published_date": row.get("published_date") or row.get("data_timestamp"),
        "kind": row["kind"],
        "original": original,
        "language": row.get("language"),
        "note": row.get("note"),
    }


# ---------------------------------------------------------------- gathering


def country_profile(
    store: Store,
    country: str,
    *,
    audience: str = "public",
    comparators_csv: Path | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> dict[str, Any]:
    """Everything the store holds about ``country`` that ``audience`` may see, with citations.

    Parameters
    ----------
    store : Store
        The store with a case study or programmes, vendors, claims and trade flows.
    country : str
        ISO 3166 alpha-2 code (``KP``).
    audience : str
        Whose view (public shows public records only).
    comparators_csv : Path, optional
        Extra comparators (place, metric, value, year, method, source_title).
    bbox : tuple of float, optional
        Area of the devices section.

    Returns
    -------
    dict
        The profile's sections, every statement with its references.

    Examples
    --------
    ::

        with open_store("survatlas.db") as store:
            profile = country_profile(store, "KP")
        Path("kp.html").write_text(render_profile(profile, "html"))
    """
    code = country_code(country, strict=True)
    refs = _Refs(store, audience)
    claims = _country_claims(store, code, audience)
    programmes = _programmes(store, code, audience, refs, claims)
    comparator_ids = {r[0] for r in store.query("SELECT claim_id FROM comparators")}
    constraint_ids = {r[0] for r in store.query("SELECT claim_id FROM infra_constraints")}
    profile = {
        "country": {"code": code, "name": country_name(code)},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "audience": audience,
        "programmes": programmes,
        "vendors": _vendors(store, code, audience, refs, bbox),
        "trade": _trade(store, code, audience, refs),
        "devices": _devices(store, audience, refs, bbox),
        "constraints": _constraints(store, code, audience, refs, claims),
        "comparators": _comparators(store, audience, refs, comparators_csv),
        "findings": [
            _statement(c, refs)
            for c in claims.values()
            if c["subject_type"] != "programme"
            and c["status"] not in _OPEN_ORDER
            and c["id"] not in comparator_ids | constraint_ids
        ],
        "open_questions": _open_questions(claims, refs),
        "method": _method_notes(),
    }
    own = [c for c in profile["comparators"] if c.get("place_country") == code]
    profile["comparators_note"] = (
        None if own else f"No comparator figure for {country_name(code)} itself is in the store."
    )
    profile["sources"] = sorted(refs.cited.values(), key=_ref_order)
    return profile


def _ref_order(entry: dict[str, Any]) -> tuple[str, int]:
    return entry["ref"][0], int(entry["ref"][1:])


def _country_claims(store: Store, code: str, audience: str) -> dict[int, dict[str, Any]]:
    rows = store.query(
        "SELECT c.*, d.key, d.country, d.topic, d.attribution, d.derived_from, d.formula, "
        "d.readings, d.note FROM claims c LEFT JOIN claim_details d ON d.claim_id = c.id "
        "JOIN sources s ON s.id = c.source_id "
        f"WHERE {audience_clause(audience, 'c')} AND {audience_clause(audience, 's')} AND ("
        "d.country = :c OR (c.subject_type = 'country' AND c.subject_key = :c) OR "
        "(c.subject_type = 'programme' AND c.subject_id IN "
        "(SELECT id FROM programmes WHERE country = :c))) ORDER BY c.id",
        {"c": code},
    )
    return distinct_claims(dict(r) for r in rows)


def _fmt(number: float) -> str:
    if float(number).is_integer():
        return f"{int(number):,}"
    return f"{number:,.4g}" if abs(number) < 1 else f"{number:,.2f}".rstrip("0").rstrip(".")


def format_quantity(claim: dict[str, Any]) -> str | None:
    """``6,750,000 subscribers (range 6,500,000–7,000,000)``, ``≥ 1,000 towers``, or ``None``."""
    value, low, high, unit = (
        claim.get("value"),
        claim.get("low"),
        claim.get("high"),
        claim.get("unit"),
    )
    if unit in ("year", "years") and value is not None and low is None and high is None:
        return f"{value:g}" if unit == "year" else f"{value:g} years"
    unit = f" {unit}" if unit else ""
    if value is not None and (low is not None or high is not None):
        lo = _fmt(low) if low is not None else "?"
        hi = _fmt(high) if high is not None else "?"
        return f"{_fmt(value)}{unit} (range {lo}–{hi})"
    if value is not None:
        return f"{_fmt(value)}{unit}"
    if low is not None and high is not None:
        return f"{_fmt(low)}–{_fmt(high)}{unit}"
    if low is not None:
        return f"≥ {_fmt(low)}{unit}"
    if high is not None:
        return f"≤ {_fmt(high)}{unit}"
    return None


def _statement(claim: dict[str, Any], refs: _Refs) -> dict[str, Any]:
    readings = json.loads(claim.get("readings") or "[]")
    claims = numbering(refs.store, "claims", refs.audience)
    return {
        "claim_id": claims.public(claim["id"]),
        "text": claim["statement"],
        "quantity": format_quantity(claim),
        "quantity_name": claim.get("quantity"),
        "unit": claim.get("unit"),
        "as_of": claim.get("as_of"),
        "method": claim.get("method"),
        "quote": claim.get("quote"),
        "attribution": claim.get("attribution"),
        "confidence": claim["confidence"],
        "status": claim["status"],
        "derived": bool(claim["derived"]),
        "formula": claim.get("formula"),
        "derived_from": claims.public(claim.get("derived_from")),
        "readings": readings,
        "note": claim.get("note"),
        "refs": (cited := [refs.source(claim["source_id"])]),
        "reprint_of": refs.reprint_of(cited),
    }


def _programmes(
    store: Store, code: str, audience: str, refs: _Refs, claims: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    out = []
    rows = store.query(
        f"SELECT * FROM programmes WHERE country = ? AND {audience_clause(audience)} ORDER BY id",
        (code,),
    )
    for p in rows:
        vendors = store.query(
            "SELECT v.name, v.country, pv.role, pv.source_id, pv.confidence FROM programme_vendors "
            "pv JOIN vendors v ON v.id = pv.vendor_id WHERE pv.programme_id = ? AND "
            f"{audience_clause(audience, 'v')} ORDER BY v.name",
            (p["id"],),
        )
        limits = store.query(
            "SELECT k.kind, k.key FROM constraint_programmes cp JOIN infra_constraints k "
            "ON k.id = cp.constraint_id WHERE cp.programme_id = ? ORDER BY k.kind, k.key",
            (p["id"],),
        )
        out.append(
            {
                "key": p["key"],
                "name": p["name"],
                "operator": p["operator"],
                "modalities": json.loads(p["modalities"]),
                "data_collected": json.loads(p["data_collected"]),
                "sites": json.loads(p["sites"]),
                "origin": p["origin"],
                "centralisation": p["centralisation"],
                "first_reported": p["first_reported"],
                "description": p["description"],
                "confidence": p["confidence"],
                "refs": (cited := [refs.source(p["source_id"])]),
                "reprint_of": refs.reprint_of(cited),
                "field_refs": {f: refs.source(s) for f, s in field_sources(store, p["id"])},
                "vendors": [
                    {
                        "name": v["name"],
                        "country": v["country"],
                        "role": v["role"],
                        "confidence": v["confidence"],
                        "refs": [refs.source(v["source_id"])],
                    }
                    for v in vendors
                ],
                "constrained_by": sorted({r["kind"] for r in limits}),
                "claims": [
                    _statement(c, refs)
                    for c in claims.values()
                    if c["subject_type"] == "programme" and c["subject_id"] == p["id"]
                ],
            }
        )
    return out


def _vendors(
    store: Store,
    code: str,
    audience: str,
    refs: _Refs,
    bbox: tuple[float, float, float, float] | None,
) -> list[dict[str, Any]]:
    device_counts = _device_vendor_counts(store, audience, bbox) if bbox else {}
    rows = store.query(
        "SELECT DISTINCT v.* FROM vendors v JOIN programme_vendors pv ON pv.vendor_id = v.id "
        "JOIN programmes p ON p.id = pv.programme_id WHERE p.country = ? AND "
        f"{audience_clause(audience, 'p')} AND {audience_clause(audience, 'v')} ORDER BY v.name",
        (code,),
    )
    ids = [r["id"] for r in rows]
    extra = [i for i in device_counts if i not in ids]
    rows += (
        store.query(
            f"SELECT * FROM vendors WHERE id IN ({','.join('?' * len(extra))}) ORDER BY name",
            tuple(extra),
        )
        if extra
        else []
    )
    out = []
    for v in rows:
        restrictions = store.query(
            "SELECT list_name, jurisdiction, listed_from, source_id, confidence "
            "FROM vendor_restrictions WHERE vendor_id = ? ORDER BY list_key",
            (v["id"],),
        )
        parent = store.scalar("SELECT name FROM vendors WHERE id = ?", (v["parent_id"],))
        out.append(
            {
                "name": v["name"],
                "kind": v["kind"],
                "country": v["country"],
                "origin": "domestic"
                if v["country"] == code
                else ("imported" if v["country"] else "unknown"),
                "parent": parent,
                "wikidata": v["wikidata"],
                "refs": [refs.source(v["source_id"])] if v["source_id"] else [],
                "restrictions": [
                    {
                        "list": r["list_name"],
                        "jurisdiction": r["jurisdiction"],
                        "listed_from": r["listed_from"],
                        "confidence": r["confidence"],
                        "refs": [refs.source(r["source_id"])],
                    }
                    for r in restrictions
                ],
                "devices_in_area": device_counts.get(v["id"], 0),
            }
        )
    return out


def _device_vendor_counts(
    store: Store, audience: str, bbox: tuple[float, float, float, float]
) -> dict[int, int]:
    where, params = bbox_clause(store, "devices", bbox)
    rows = store.query(
        "SELECT dv.vendor_id, count(*) FROM device_vendors dv JOIN devices d ON d.id = "
        f"dv.device_id WHERE {audience_clause(audience, 'd')} AND d.{where} GROUP BY dv.vendor_id",
        params,
    )
    return {r[0]: r[1] for r in rows}


def _devices(
    store: Store, audience: str, refs: _Refs, bbox: tuple[float, float, float, float] | None
) -> dict[str, Any]:
    if bbox is None:
        return {
            "bbox": None,
            "total": None,
            "note": "No area given (use --bbox W,S,E,N): device statistics need a mapped area.",
        }
    where, params = bbox_clause(store, "devices", bbox)
    rows = store.query(
        "SELECT d.id, d.source_id, v.name AS vendor, v.country AS vendor_country FROM devices d "
        "LEFT JOIN device_vendors dv ON dv.device_id = d.id LEFT JOIN vendors v ON "
        f"v.id = dv.vendor_id WHERE {audience_clause(audience, 'd')} AND d.{where}",
        params,
    )
    by_vendor = Counter(r["vendor"] or "(not attributed)" for r in rows)
    by_origin = Counter(r["vendor_country"] or "(unknown)" for r in rows)
    sources = sorted({r["source_id"] for r in rows})
    return {
        "bbox": list(bbox),
        "total": len(rows),
        "by_vendor": dict(by_vendor.most_common()),
        "by_vendor_country": dict(by_origin.most_common()),
        "refs": [refs.source(s) for s in sources[:20]],
        "note": "Counts of mapped devices in the area (a lower bound of what exists); vendors "
        "from OSM manufacturer/brand/model tags via the alias table.",
    }


def _trade(store: Store, code: str, audience: str, refs: _Refs) -> dict[str, Any]:
    rows, ids, source_ids = stored_rows(store, country=code, audience=audience)
    table = hs_table()
    rules = sanction_rules()
    flags = screen_rows(rows, rules, table=table, ids=ids)
    rule_by_id = {r.id: r for r in rules}
    by_flow: dict[int | None, list[Any]] = {}
    for f in flags:
        by_flow.setdefault(f.flow_id, []).append(f)
    flows = []
    for row, flow_id, source_id in zip(rows, ids, source_ids, strict=True):
        hs = hs_category(row.hs_code, table)
        flows.append(
            {
                "year": row.year,
                "period": row.period,
                "supplier": row.supplier,
                "recipient": row.recipient,
                "reporter": row.reporter,
                "flow": row.flow,
                "hs_code": row.hs_code,
                "hs_label": hs.label if hs else None,
                "surveillance_relevant": hs is not None,
                "value_usd": row.value_usd,
                "quantity": row.quantity,
                "quantity_unit": row.quantity_unit,
                "refs": [refs.source(source_id)],
                "flags": [
                    {
                        "rule": f.rule_id,
                        "citation": f.citation,
                        "coverage": f.coverage,
                        "refs": _rule_refs(refs, rule_by_id[f.rule_id])[:1],
                    }
                    for f in by_flow.get(flow_id, ())
                ],
            }
        )
    return {
        "flows": flows,
        "flagged": sum(1 for f in flows if f["flags"]),
        "hs_table_version": table.version,
        "rules": [
            {
                "id": r.id,
                "citation": r.citation(),
                "scope": r.scope,
                "quote": r.quote,
                "in_force_from": r.in_force_from.isoformat(),
                "exceptions": r.exceptions,
                "verification": r.verification,
                "confidence": r.confidence,
                "refs": _rule_refs(refs, r),
            }
            for r in rules
            if r.target == code
        ],
    }


def _rule_refs(refs: _Refs, rule: SanctionRule) -> list[str]:
    return [
        refs.external(
            s["title"], s.get("url"), s.get("publisher"), prefix="R", kind="legal_instrument"
        )
        for s in rule.sources
    ]


def _constraints(
    store: Store, code: str, audience: str, refs: _Refs, claims: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    out = []
    for k in store.query(
        "SELECT * FROM infra_constraints WHERE country = ? ORDER BY kind, id", (code,)
    ):
        claim = claims.get(k["claim_id"])
        if claim is None:  # hidden from this audience
            continue
        limits = store.query(
            "SELECT p.name FROM constraint_programmes cp JOIN programmes p ON p.id = "
            f"cp.programme_id WHERE cp.constraint_id = ? AND {audience_clause(audience, 'p')} "
            "ORDER BY p.id",
            (k["id"],),
        )
        item = _statement(claim, refs)
        item.update({"kind": k["kind"], "limits": [r[0] for r in limits]})
        out.append(item)
    return out


def _comparators(
    store: Store, audience: str, refs: _Refs, csv_path: Path | None
) -> list[dict[str, Any]]:
    rows = store.query(
        "SELECT k.place, k.country AS place_country, k.metric, c.*, d.attribution, d.formula, "
        "d.readings, d.note, d.derived_from FROM comparators k JOIN claims c ON c.id = k.claim_id "
        "LEFT JOIN claim_details d ON d.claim_id = c.id JOIN sources s ON s.id = c.source_id "
        f"WHERE {audience_clause(audience, 'c')} AND {audience_clause(audience, 's')} "
        "ORDER BY k.metric, c.value DESC"
    )
    out = []
    for r in rows:
        item = _statement(dict(r), refs)
        item.update(
            {
                "place": r["place"],
                "place_country": r["place_country"],
                "metric": r["metric"],
                "year": r["as_of"],
            }
        )
        out.append(item)
    if csv_path is not None:
        out += [_csv_comparator(row, refs) for row in read_comparators_csv(csv_path)]
    return out


def _csv_comparator(row: dict[str, str], refs: _Refs) -> dict[str, Any]:
    value = float(row["value"])
    return {
        "claim_id": None,
        "place": row["place"],
        "place_country": row.get("country") or None,
        "metric": row["metric"],
        "year": row["year"],
        "method": row["method"],
        "text": f"{row['place']}: {_fmt(value)} ({row['metric']}, {row['year']})",
        "quantity": _fmt(value),
        "quantity_name": row["metric"],
        "as_of": row["year"],
        "quote": None,
        "attribution": None,
        "confidence": row.get("confidence") or "medium",
        "status": "unverified",
        "derived": False,
        "formula": None,
        "derived_from": None,
        "readings": [],
        "note": "from a user-supplied comparator file",
        "refs": [refs.external(row["source_title"], row.get("source_url") or None)],
    }


def _open_questions(claims: dict[int, dict[str, Any]], refs: _Refs) -> list[dict[str, Any]]:
    open_ids = {c["id"] for c in claims.values() if c["status"] in _OPEN_ORDER}
    open_claims = [
        c for c in claims.values() if c["id"] in open_ids and c.get("derived_from") not in open_ids
    ]
    open_claims.sort(
        key=lambda c: (_OPEN_ORDER[c["status"]], _CONF_ORDER[c["confidence"]], c["id"])
    )
    out = []
    for c in open_claims:
        item = _statement(c, refs)
        item["derived_claims"] = [
            _statement(d, refs) for d in claims.values() if d.get("derived_from") == c["id"]
        ]
        out.append(item)
    return out


def _method_notes() -> list[str]:
    return [
        "Every statement cites the source it comes from; syndicated copies and mirrors name "
        "their original and do not count as independent corroboration.",
        "Confidence: high = primary source retrieved or several independent outlets agree; "
        "medium = one secondary source, a mirror, a syndicated copy or a translation; low = not "
        "checked against a primary source.",
        "Status: verified, unverified, disputed (sources disagree) or superseded. Numbers marked "
        "'derived' were computed by survatlas; their formula is shown.",
        "Trade flags mean the declared goods fall inside a sanctions rule's scope and period; "
        "they are leads for investigation, not findings of violation.",
    ]
