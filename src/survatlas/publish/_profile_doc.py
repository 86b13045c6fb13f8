"""A country profile (the dict of :func:`survatlas.publish.profile.country_profile`) as one
:class:`~survatlas.publish.document.Document`: key findings and charts first, then programmes,
vendors, trade, devices, constraints, comparators, other findings, open questions, method and the
sources grouped by kind. Markdown, HTML and PDF all render this one model."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from survatlas.errors import InputError
from survatlas.publish import charts, document
from survatlas.publish.document import Document, Fact, Figure, Item, Section, Source, Table

FORMATS = ("md", "html", "pdf", "json")
#: kinds of source, as section headings of the source list, in order.
SOURCE_KINDS = {
    "report": "Reports",
    "document": "Official and primary documents",
    "legal_instrument": "Laws, resolutions and sanctions lists",
    "dataset": "Datasets",
    "satellite_analysis": "Satellite analyses",
    "news": "News reports",
    "osm": "OpenStreetMap",
    "user_comparator_file": "User-supplied comparator files",
}
_FACTS = (
    ("Operator", "operator"),
    ("Modalities", "modalities"),
    ("Data collected", "data_collected"),
    ("Sites", "sites"),
    ("Origin", "origin"),
    ("Centralisation", "centralisation"),
    ("First reported", "first_reported"),
    ("Confidence", "confidence"),
)


def statement_item(s: dict[str, Any], lead: str | None = None) -> Item:
    """A sourced statement (quantity, date, method, attribution, formula and note as details)."""
    fields = (
        ("quantity", "quantity: {}"),
        ("as_of", "as of {}"),
        ("method", "method: {}"),
        ("attribution", "attributed to {}"),
        ("formula", "formula: {}"),
        ("note", "note: {}"),
    )
    children = [Item(f"possible reading: {r}") for r in s.get("readings", ())]
    children += [statement_item(d) for d in s.get("derived_claims", ())]
    return Item(
        s["text"],
        lead=lead,
        refs=list(s["refs"]),
        status=s["status"],
        confidence=s["confidence"],
        derived=bool(s.get("derived")),
        details=[fmt.format(s[k]) for k, fmt in fields if s.get(k)],
        children=children,
        reprint=bool(s.get("reprint_of")),
    )


def all_statements(p: dict[str, Any]) -> list[dict[str, Any]]:
    """Every distinct claim the profile shows (programmes, constraints, comparators, findings,
    open questions and the claims derived from them), once each."""
    seen: dict[Any, dict[str, Any]] = {}
    pool = [c for prog in p["programmes"] for c in prog["claims"]]
    pool += p["constraints"] + p["comparators"] + p["findings"]
    for q in p["open_questions"]:
        pool += [q, *q.get("derived_claims", ())]
    for s in pool:
        key = s["claim_id"] if s.get("claim_id") is not None else id(s)
        seen.setdefault(key, s)
    return list(seen.values())


def profile_document(p: dict[str, Any], device_map: Figure | None = None) -> Document:
    """The profile as a publication; ``device_map`` (from
    :func:`survatlas.publish._profile_map.profile_device_map`) goes in "Devices mapped"."""
    name, code = p["country"]["name"], p["country"]["code"]
    doc = Document(
        f"Surveillance profile: {name} ({code})",
        f"Generated {p['generated_at']} for the {p['audience']} audience · "
        f"{len(p['sources'])} sources · every statement links to its source.",
        facts=_facts(p),
    )
    _summary(doc.section("Summary"), p)
    _programmes(doc, p)
    _vendors(doc.section("Vendors and their origin"), p)
    _trade(doc.section("Trade flows and sanctions screen"), p["trade"])
    _devices(doc.section("Devices mapped"), p["devices"], device_map)
    doc.section("Infrastructure constraints").add_items(
        statement_item(c, c["kind"])
        if not c["limits"]
        else _with_detail(statement_item(c, c["kind"]), f"limits: {', '.join(c['limits'])}")
        for c in p["constraints"]
    )
    comp = doc.section("Comparators").add_items(
        statement_item(c, f"{c['place']} ({c['metric']}, {c['year']})") for c in p["comparators"]
    )
    if p.get("comparators_note"):
        comp.para(p["comparators_note"])
    doc.section("Other findings").add_items(statement_item(f) for f in p["findings"])
    doc.section("Open questions (unverified or disputed claims)").add_items(
        statement_item(q) for q in p["open_questions"]
    )
    doc.section("Method").add_items(Item(m) for m in p["method"])
    src = doc.section("Sources")
    src.blocks.append(_source_block(p["sources"]))
    return doc


def _with_detail(item: Item, text: str) -> Item:
    item.details.append(text)
    return item


def _facts(p: dict[str, Any]) -> list[Fact]:
    vendors = p["vendors"]
    origins = Counter(v["country"] or "unknown" for v in vendors)
    restricted = [v for v in vendors if v["restrictions"]]
    statuses = Counter(s["status"] for s in all_statements(p))
    facts = [
        Fact(str(len(p["programmes"])), "surveillance programmes documented"),
        Fact(
            str(len(vendors)),
            "vendors linked to them",
            ", ".join(f"{k} {n}" for k, n in origins.most_common()),
        ),
        Fact(
            str(len(restricted)),
            "on a sanctions or restriction list (vendors)",
            ", ".join(v["name"] for v in restricted) or None,
        ),
        Fact(
            f"{p['trade']['flagged']} of {len(p['trade']['flows'])}"
            if p["trade"]["flows"]
            else "none",
            "recorded trade flows flagged by the sanctions screen"
            if p["trade"]["flows"]
            else "trade flows recorded in the store",
            "flags are leads, not findings of violation",
        ),
        Fact(
            f"{statuses.get('verified', 0)} of {sum(statuses.values())}",
            "claims verified",
            f"{statuses.get('unverified', 0)} unverified, {statuses.get('disputed', 0)} disputed",
        ),
        Fact(str(len(p["open_questions"])), "open questions listed at the end"),
    ]
    return facts


def _summary(sec: Section, p: dict[str, Any]) -> None:
    # a date ("since 2021") is not a headline quantity
    headline = [s for s in all_statements(p) if s.get("quantity") and s.get("unit") != "year"
                and s["status"] != "superseded"]
    headline.sort(key=lambda s: ({"verified": 0}.get(s["status"], 1), s.get("claim_id") or 0))
    sec.para(
        "Headline quantities, each with its status and source (unverified figures are marked as "
        "such; see Open questions):"
    )
    sec.add_items(
        _with_quantity(s) for s in headline[:6]
    )
    sec.add_figure(_claims_chart(p))
    sec.add_figure(_vendor_chart(p))


def _with_quantity(s: dict[str, Any]) -> Item:
    item = statement_item(s, s["quantity"])
    item.details = [d for d in item.details if not d.startswith("quantity:")]
    return item


def _claims_chart(p: dict[str, Any]) -> Figure | None:
    by_year: dict[int, Counter[str]] = {}
    for s in all_statements(p):
        year = str(s.get("as_of") or "")[:4]
        if year.isdigit():
            by_year.setdefault(int(year), Counter())[s["status"]] += 1
    svg = charts.stacked_by_year(
        by_year, title="Claims by the date they refer to, by status", colours=charts.STATUS_COLOURS
    )
    undated = sum(1 for s in all_statements(p) if not str(s.get("as_of") or "")[:4].isdigit())
    if svg is None:
        return None
    return Figure(
        "claims-by-year.svg",
        svg,
        f"Claims in this profile by the year they refer to (as of), coloured by status; "
        f"{undated} undated claims are not shown.",
        "Stacked bar chart of claims per year by status",
        wide=False,
    )


def _vendor_chart(p: dict[str, Any]) -> Figure | None:
    origins = Counter(
        f"{v['country'] or 'unknown'} ({v['origin']})" for v in p["vendors"]
    )
    svg = charts.bar_chart(origins, title="Vendors by country of origin", unit="vendors", width=4.5)
    if svg is None:
        return None
    return Figure(
        "vendors-by-origin.svg",
        svg,
        "Vendors linked to the country's programmes, by the vendor's country (domestic or "
        "imported); see Vendors for sources.",
        "Bar chart of vendors by country of origin",
        wide=False,
    )


def _programmes(doc: Document, p: dict[str, Any]) -> None:
    doc.section("Programmes and capabilities").para(
        f"{len(p['programmes'])} programmes; facts of each carry its source."
    )
    originals = {s["ref"]: s["original"] for s in p["sources"] if s.get("original")}
    for prog in p["programmes"]:
        sec = doc.section(prog["name"], level=3)
        field_refs = prog.get("field_refs") or {}
        items = []
        said = {" ".join(c["text"].split()).casefold() for c in prog["claims"]}
        if prog.get("description") and " ".join(prog["description"].split()).casefold() not in said:
            refs = [field_refs.get("description", *prog["refs"])]
            items.append(_cited(prog["description"], refs, originals))
        facts = _program_facts(prog, originals)
        if len(facts) > 1:
            items.append(Item(f"confidence {prog['confidence']}; each fact with its source",
                              lead="Facts", children=facts))
        elif facts:
            facts[0].text += f"; Confidence: {prog['confidence']}"
            facts[0].lead = "Facts"
            items.append(facts[0])
        items += [
            Item(
                f"{v['name']} ({v['country'] or '?'}), {v['role'] or ''}",
                lead="Vendor",
                refs=list(v["refs"]),
                confidence=v["confidence"],
                reprint=bool(v["refs"]) and all(r in originals for r in v["refs"]),
            )
            for v in prog["vendors"]
        ]
        if prog["constrained_by"]:
            items.append(
                Item(
                    f"{', '.join(prog['constrained_by'])} (see Infrastructure constraints)",
                    lead="Limited by",
                )
            )
        items += [statement_item(c) for c in prog["claims"]]
        sec.add_items(items)


def _cited(text: str, refs: list[str], originals: dict[str, str], lead: str | None = None
           ) -> Item:
    """A line citing ``refs``, labelled "reprint only" when every ref is a syndicated copy
    (``originals``: copy ref → original ref; the source list names each copy's original)."""
    return Item(text, lead=lead, refs=refs, reprint=bool(refs) and all(r in originals for r in refs))


def _program_facts(prog: dict[str, Any], originals: dict[str, str]) -> list[Item]:
    """A programme's facts, each citing its own source: per field (``first_reported``) or, for a
    list, per value (``sites.power_station``); a field without its own citation cites the
    programme's source. Facts with the same source share one line (``Sites: power_station,
    store; First reported: 2019-07 [S15]``)."""
    field_refs = prog.get("field_refs") or {}
    by_ref: dict[str, list[str]] = {}
    for label, key in _FACTS:
        value = prog.get(key)
        if not value or key == "confidence":
            continue
        default = field_refs.get(key, *prog["refs"])
        groups: dict[str, list[str]] = {}
        for v in value if isinstance(value, list) else [value]:
            groups.setdefault(field_refs.get(f"{key}.{v}", default), []).append(str(v))
        for ref, values in groups.items():
            by_ref.setdefault(ref, []).append(f"{label}: {', '.join(values)}")
    return [_cited("; ".join(facts), [ref], originals) for ref, facts in by_ref.items()]


def _vendors(sec: Section, p: dict[str, Any]) -> None:
    items = []
    for v in p["vendors"]:
        text = f"{v['kind']}; country {v['country'] or 'unknown'}; {v['origin']}"
        if v.get("parent"):
            text += f"; parent {v['parent']}"
        if v.get("wikidata"):
            text += f"; Wikidata {v['wikidata']}"
        children = [
            Item(
                f"on {r['list']} (from {r['listed_from'] or '?'})",
                refs=list(r["refs"]),
                confidence=r["confidence"],
            )
            for r in v["restrictions"]
        ]
        if v.get("devices_in_area"):
            children.append(Item(f"{int(v['devices_in_area'])} mapped devices in the area"))
        items.append(Item(text, lead=v["name"], refs=list(v["refs"]), children=children))
    sec.add_items(items)


def _trade(sec: Section, t: dict[str, Any]) -> None:
    sec.para(
        f"HS table version {t['hs_table_version']}; {t['flagged']} of {len(t['flows'])} "
        "flows flagged."
    )
    sec.add_items(
        Item(
            f"{r['citation']}, in force from {r['in_force_from']}: “{r['quote']}”",
            lead=f"Rule {r['id']}",
            refs=list(r["refs"]),
            confidence=r["confidence"],
            details=[r["verification"]],
        )
        for r in t["rules"]
    )
    if not t["flows"]:
        sec.para("No trade flows in the store for this country.")
        return
    rows = []
    for f in t["flows"]:
        flags = "; ".join(
            f"FLAG {fl['citation']} ({fl['coverage']}) [{', '.join(fl['refs'])}]"
            for fl in f["flags"]
        )
        value = f"{f['value_usd']:,.0f}" if f["value_usd"] is not None else "?"
        rows.append(
            [f["period"], f"{f['supplier']} → {f['recipient']}", f["hs_code"],
             f["hs_label"] or "", value, flags or "—", ", ".join(f["refs"])]
        )
    sec.add_table(
        Table(["period", "supplier → recipient", "HS", "goods", "value (US$)", "flags", "source"],
              rows, numeric=(4,))
    )


def _devices(sec: Section, d: dict[str, Any], device_map: Figure | None = None) -> None:
    if d["total"] is None:
        sec.para(d["note"])
        return
    vendors = ", ".join(f"{k} {v}" for k, v in d["by_vendor"].items())
    sec.add_items(
        [Item(f"{d['total']} devices in {d['bbox']}: {vendors}", refs=list(d["refs"]))]
    )
    sec.add_note(d["note"])
    if device_map is not None:  # its legend counts the devices by vendor: no chart needed
        sec.add_figure(device_map)
        return
    sec.add_figure(
        Figure(
            "devices-by-vendor.svg",
            svg,
            "Mapped devices in the area by vendor (a lower bound of what exists).",
            "Bar chart of mapped devices by vendor",
            wide=False,
        )
        if (svg := charts.bar_chart(d["by_vendor"], title="Devices by vendor", unit="devices",
                                    width=4.5))
        else None
    )


def _source_block(sources: list[dict[str, Any]]) -> Any:
    from survatlas.publish.document import Block, safe_url

    grouped: dict[str, list[Source]] = {}
    order = list(SOURCE_KINDS)
    for s in sorted(sources, key=lambda s: order.index(s["kind"]) if s["kind"] in order else 99):
        bits = [str(s[k]) for k in ("author", "publisher", "published_date") if s.get(k)]
        if s.get("url") and not safe_url(s["url"]):
            bits.append(f"URL (not a web link): {s['url']}")
        if s.get("language"):
            bits.append(f"language {s['language']}")
        if s.get("note"):
            bits.append(f"note: {s['note'].rstrip('.')}")
        heading = SOURCE_KINDS.get(s["kind"], s["kind"].replace("_", " ").capitalize())
        grouped.setdefault(heading, []).append(
            Source(s["ref"], s["title"], s["kind"], safe_url(s.get("url")), bits, s.get("original"))
        )
    return Block(sources=grouped)


def render_markdown(profile: dict[str, Any], out: Path | None = None) -> str:
    """The profile as Markdown (every statement links to its source entry)."""
    return document.render_markdown(profile_document(profile), out)


def render_html(profile: dict[str, Any]) -> str:
    """The profile as a standalone HTML page (every statement links to its source entry)."""
    return document.render_html(profile_document(profile))


def render_profile(
    profile: dict[str, Any], fmt: str, out: Path | None = None, *,
    device_map: Figure | None = None,
) -> str | bytes:
    """The profile as Markdown, HTML or JSON text, or PDF bytes.

    Parameters
    ----------
    profile : dict
        From :func:`country_profile`.
    fmt : {"md", "html", "json", "pdf"}
        The format.
    out : Path, optional
        For PDF, the file to write.
    device_map : Figure, optional
        The devices map (:func:`survatlas.publish._profile_map.profile_device_map`).

    Examples
    --------
    ::

        html = render_profile(country_profile(store, "KP"), "html")
    """
    if fmt == "json":
        return json.dumps(profile, indent=2, ensure_ascii=False)
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return document.render(profile_document(profile, device_map), fmt, out)
