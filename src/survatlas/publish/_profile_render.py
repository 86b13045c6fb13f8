"""Markdown and HTML renderers of a country profile (every data string escaped)."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from typing import Any

_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
line-height:1.45;color:#222}h1,h2,h3{line-height:1.2}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:.25rem .4rem;text-align:left;vertical-align:top}
.status{font-size:.8em;padding:0 .3em;border-radius:.2em}.verified{background:#dfd}
.unverified{background:#fed}.disputed{background:#fcc}.superseded{background:#ddd}
.derived{background:#def;font-size:.8em;padding:0 .3em}.details{color:#555;font-size:.9em}
.flag{color:#a00;font-weight:bold}"""


def _safe_url(url: str | None) -> str | None:
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None


def label(item: dict[str, Any]) -> str:
    """``UNVERIFIED, confidence low, derived by survatlas`` (status upper-cased unless verified)."""
    status = item["status"]
    parts = [status if status == "verified" else status.upper(), f"confidence {item['confidence']}"]
    if item.get("derived"):
        parts.append("derived by survatlas")
    return ", ".join(parts)


def details(item: dict[str, Any]) -> list[str]:
    """Quantity, date, method, attribution, formula and note of a statement, as short phrases."""
    fields = (
        ("quantity", "quantity: {}"),
        ("as_of", "as of {}"),
        ("method", "method: {}"),
        ("attribution", "attributed to {}"),
        ("formula", "formula: {}"),
        ("note", "note: {}"),
    )
    return [fmt.format(item[k]) for k, fmt in fields if item.get(k)]


# ---------------------------------------------------------------- Markdown


def _md(text: Any) -> str:
    return html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|")


def _md_refs(refs: Iterable[str]) -> str:
    return " ".join(f"[[{r}]](#{r.lower()})" for r in refs)


def _md_statement(item: dict[str, Any]) -> str:
    line = f"{_md(item['text'])} — *{_md(label(item))}* {_md_refs(item['refs'])}"
    extra = details(item)
    if extra:
        line += f"  \n  {_md('; '.join(extra))}"
    for reading in item.get("readings", ()):
        line += f"\n    - possible reading: {_md(reading)}"
    for derived in item.get("derived_claims", ()):
        line += f"\n    - {_md_statement(derived)}"
    return line


def render_markdown(p: dict[str, Any]) -> str:
    """The profile as Markdown (every statement links to its source entry)."""
    out = [
        f"# Surveillance profile: {_md(p['country']['name'])} ({_md(p['country']['code'])})",
        "",
        f"Generated {_md(p['generated_at'])} for the {_md(p['audience'])} audience.",
        "",
        "## Method",
        "",
    ]
    out += [f"- {_md(m)}" for m in p["method"]]
    out += ["", "## Programmes and capabilities", ""]
    for prog in p["programmes"]:
        out += _md_programme(prog)
    out += ["## Vendors and their origin", ""]
    for v in p["vendors"]:
        out.append(_md_vendor(v))
    out += ["", "## Trade flows and sanctions screen", "", *_md_trade(p["trade"])]
    out += ["", "## Devices mapped", "", _md_devices(p["devices"])]
    out += ["", "## Infrastructure constraints", ""]
    out += [
        f"- **{_md(c['kind'])}**: {_md_statement(c)}"
        + (f"  \n  limits: {_md(', '.join(c['limits']))}" if c["limits"] else "")
        for c in p["constraints"]
    ]
    out += ["", "## Comparators", ""]
    out += [
        f"- **{_md(c['place'])}** ({_md(c['metric'])}, {_md(c['year'])}): {_md_statement(c)}"
        for c in p["comparators"]
    ]
    if p.get("comparators_note"):
        out += ["", _md(p["comparators_note"])]
    out += ["", "## Other findings", ""] + [f"- {_md_statement(f)}" for f in p["findings"]]
    out += ["", "## Open questions (unverified or disputed claims)", ""]
    out += [f"- {_md_statement(q)}" for q in p["open_questions"]]
    out += ["", "## Sources", ""] + [_md_source(s) for s in p["sources"]]
    return "\n".join(out) + "\n"


#: the facts of a programme shown in a profile, in order: label, key.
_PROGRAMME_FACTS = (
    ("Operator", "operator"),
    ("Modalities", "modalities"),
    ("Data collected", "data_collected"),
    ("Sites", "sites"),
    ("Origin", "origin"),
    ("Centralisation", "centralisation"),
    ("First reported", "first_reported"),
    ("Confidence", "confidence"),
)


def _programme_facts(prog: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) of each programme fact that is given (lists joined with commas)."""
    facts = []
    for name, key in _PROGRAMME_FACTS:
        value = prog.get(key)
        if value:
            facts.append((name, ", ".join(value) if isinstance(value, list) else value))
    return facts


def _md_programme(prog: dict[str, Any]) -> list[str]:
    lines = [f"### {_md(prog['name'])} {_md_refs(prog['refs'])}", ""]
    if prog.get("description"):
        lines.append(f"{_md(prog['description'])} {_md_refs(prog['refs'])}")
        lines.append("")
    for name, text in _programme_facts(prog):
        lines.append(f"- {name}: {_md(text)} {_md_refs(prog['refs'])}")
    for v in prog["vendors"]:
        lines.append(
            f"- Vendor: {_md(v['name'])} ({_md(v['country'] or '?')}), "
            f"{_md(v['role'] or '')} — *confidence {_md(v['confidence'])}* "
            f"{_md_refs(v['refs'])}"
        )
    if prog["constrained_by"]:
        lines.append(
            f"- Limited by: {_md(', '.join(prog['constrained_by']))} "
            "(see Infrastructure constraints)"
        )
    lines += [f"- {_md_statement(c)}" for c in prog["claims"]]
    return [*lines, ""]


def _md_vendor(v: dict[str, Any]) -> str:
    line = (
        f"- **{_md(v['name'])}** ({_md(v['kind'])}; country {_md(v['country'] or 'unknown')}; "
        f"{_md(v['origin'])})"
    )
    if v.get("parent"):
        line += f", parent {_md(v['parent'])}"
    if v.get("wikidata"):
        line += f", Wikidata {_md(v['wikidata'])}"
    line += f" {_md_refs(v['refs'])}"
    for r in v["restrictions"]:
        line += (
            f"\n  - on {_md(r['list'])} (from {_md(r['listed_from'] or '?')}) — "
            f"*confidence {_md(r['confidence'])}* {_md_refs(r['refs'])}"
        )
    if v.get("devices_in_area"):
        line += f"\n  - {v['devices_in_area']} mapped devices in the area"
    return line


def _md_trade(t: dict[str, Any]) -> list[str]:
    lines = [
        f"HS table version {_md(t['hs_table_version'])}; {t['flagged']} of "
        f"{len(t['flows'])} flows flagged.",
        "",
    ]
    for r in t["rules"]:
        lines.append(
            f"- Rule {_md(r['id'])}: {_md(r['citation'])}, in force from "
            f"{_md(r['in_force_from'])}: “{_md(r['quote'])}” — *confidence "
            f"{_md(r['confidence'])}; {_md(r['verification'])}* {_md_refs(r['refs'])}"
        )
    if not t["flows"]:
        return [*lines, "", "No trade flows in the store for this country."]
    lines += [
        "",
        "| year | supplier → recipient | HS | goods | value (US$) | flags | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in t["flows"]:
        flags = (
            "; ".join(
                f"FLAG {fl['citation']} ({fl['coverage']}) {_md_refs(fl['refs'])}"
                for fl in f["flags"]
            )
            or "—"
        )
        value = f"{f['value_usd']:,.0f}" if f["value_usd"] is not None else "?"
        lines.append(
            f"| {_md(f['period'])} | {_md(f['supplier'])} → {_md(f['recipient'])} | "
            f"{_md(f['hs_code'])} | {_md(f['hs_label'] or '')} | {value} | {flags} | "
            f"{_md_refs(f['refs'])} |"
        )
    return lines


def _md_devices(d: dict[str, Any]) -> str:
    if d["total"] is None:
        return _md(d["note"])
    vendors = ", ".join(f"{k} {v}" for k, v in d["by_vendor"].items())
    return (
        f"{d['total']} devices in {_md(d['bbox'])}: {_md(vendors)}. {_md(d['note'])} "
        f"{_md_refs(d['refs'])}"
    )


def _md_source(s: dict[str, Any]) -> str:
    bits = [f'<a id="{s["ref"].lower()}"></a>**[{s["ref"]}]** {_md(s["title"])}']
    for key in ("author", "publisher", "published_date"):
        if s.get(key):
            bits.append(_md(s[key]))
    url = _safe_url(s.get("url"))
    bits.append(f"<{_md(url)}>" if url else "(no URL: original not retrieved or not online)")
    if s.get("original"):
        bits.append(f"copy of [[{s['original']}]](#{s['original'].lower()})")
    if s.get("language"):
        bits.append(f"language {_md(s['language'])}")
    if s.get("note"):
        bits.append(f"note: {_md(s['note'])}")
    return "- " + ". ".join(bits)


# ---------------------------------------------------------------- HTML


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _h_refs(refs: Iterable[str]) -> str:
    return " ".join(f'<a class="ref" href="#src-{_e(r)}">[{_e(r)}]</a>' for r in refs)


def _h_label(item: dict[str, Any]) -> str:
    status = item["status"]
    text = status if status == "verified" else status.upper()
    out = (
        f'<span class="status {_e(status)}">{_e(text)}</span> '
        f'<span class="confidence">confidence {_e(item["confidence"])}</span>'
    )
    if item.get("derived"):
        out += ' <span class="derived">derived by survatlas</span>'
    return out


def _h_statement(item: dict[str, Any]) -> str:
    out = (
        f'<span class="statement">{_e(item["text"])}</span> {_h_label(item)} '
        f"{_h_refs(item['refs'])}"
    )
    extra = details(item)
    if extra:
        out += f'<div class="details">{_e("; ".join(extra))}</div>'
    inner = [f"<li>possible reading: {_e(r)}</li>" for r in item.get("readings", ())]
    inner += [f"<li>{_h_statement(d)}</li>" for d in item.get("derived_claims", ())]
    if inner:
        out += "<ul>" + "".join(inner) + "</ul>"
    return out


def _h_list(items: Iterable[Any], render: Callable[[Any], str]) -> str:
    body = "".join(f"<li>{render(i)}</li>" for i in items)
    return f"<ul>{body}</ul>" if body else "<p>None recorded.</p>"


def render_html(p: dict[str, Any]) -> str:
    """The profile as a standalone HTML page (every statement links to its source entry)."""
    title = f"Surveillance profile: {p['country']['name']} ({p['country']['code']})"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p>Generated {_e(p['generated_at'])} for the {_e(p['audience'])} audience.</p>",
        "<h2>Method</h2>",
        _h_list(p["method"], _e),
        "<h2>Programmes and capabilities</h2>",
        "".join(_h_programme(x) for x in p["programmes"]) or "<p>None recorded.</p>",
        "<h2>Vendors and their origin</h2>",
        _h_list(p["vendors"], _h_vendor),
        "<h2>Trade flows and sanctions screen</h2>",
        _h_trade(p["trade"]),
        "<h2>Devices mapped</h2>",
        _h_devices(p["devices"]),
        "<h2>Infrastructure constraints</h2>",
        _h_list(
            p["constraints"],
            lambda c: (
                f"<strong>{_e(c['kind'])}</strong>: "
                f"{_h_statement(c)}"
                + (
                    f'<div class="details">limits: {_e(", ".join(c["limits"]))}</div>'
                    if c["limits"]
                    else ""
                )
            ),
        ),
        "<h2>Comparators</h2>",
        _h_list(
            p["comparators"],
            lambda c: (
                f"<strong>{_e(c['place'])}</strong> "
                f"({_e(c['metric'])}, {_e(c['year'])}): {_h_statement(c)}"
            ),
        ),
        f"<p>{_e(p['comparators_note'])}</p>" if p.get("comparators_note") else "",
        "<h2>Other findings</h2>",
        _h_list(p["findings"], _h_statement),
        "<h2>Open questions (unverified or disputed claims)</h2>",
        _h_list(p["open_questions"], _h_statement),
        "<h2>Sources</h2>",
        _h_sources(p["sources"]),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _h_programme(prog: dict[str, Any]) -> str:
    refs = _h_refs(prog["refs"])
    rows = []
    for name, text in _programme_facts(prog):
        rows.append(f"<tr><th>{name}</th><td>{_e(text)} {refs}</td></tr>")
    for v in prog["vendors"]:
        rows.append(
            f"<tr><th>Vendor</th><td>{_e(v['name'])} ({_e(v['country'] or '?')}), "
            f"{_e(v['role'] or '')} — confidence {_e(v['confidence'])} "
            f"{_h_refs(v['refs'])}</td></tr>"
        )
    if prog["constrained_by"]:
        rows.append(f"<tr><th>Limited by</th><td>{_e(', '.join(prog['constrained_by']))}</td></tr>")
    desc = f"<p>{_e(prog['description'])} {refs}</p>" if prog.get("description") else ""
    claims = _h_list(prog["claims"], _h_statement) if prog["claims"] else ""
    return (
        f'<section class="programme"><h3>{_e(prog["name"])} {refs}</h3>{desc}'
        f"<table>{''.join(rows)}</table>{claims}</section>"
    )


def _h_vendor(v: dict[str, Any]) -> str:
    out = (
        f"<strong>{_e(v['name'])}</strong> ({_e(v['kind'])}; country "
        f"{_e(v['country'] or 'unknown')}; {_e(v['origin'])})"
    )
    if v.get("parent"):
        out += f", parent {_e(v['parent'])}"
    if v.get("wikidata"):
        out += f", Wikidata {_e(v['wikidata'])}"
    out += f" {_h_refs(v['refs'])}"
    items = [
        f"on {_e(r['list'])} (from {_e(r['listed_from'] or '?')}) — confidence "
        f"{_e(r['confidence'])} {_h_refs(r['refs'])}"
        for r in v["restrictions"]
    ]
    if v.get("devices_in_area"):
        items.append(f"{int(v['devices_in_area'])} mapped devices in the area")
    if items:
        out += "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"
    return out


def _h_trade(t: dict[str, Any]) -> str:
    out = [
        f"<p>HS table version {_e(t['hs_table_version'])}; {int(t['flagged'])} of "
        f"{len(t['flows'])} flows flagged.</p>"
    ]
    out.append(
        _h_list(
            t["rules"],
            lambda r: (
                f"Rule {_e(r['id'])}: <strong>{_e(r['citation'])}</strong>, in force from "
                f"{_e(r['in_force_from'])}: <q>{_e(r['quote'])}</q> — confidence {_e(r['confidence'])}"
                f'<div class="details">{_e(r["verification"])}</div> {_h_refs(r["refs"])}'
            ),
        )
    )
    if not t["flows"]:
        return "".join(out) + "<p>No trade flows in the store for this country.</p>"
    rows = []
    for f in t["flows"]:
        flags = (
            "; ".join(
                f'<span class="flag">FLAG</span> {_e(fl["citation"])} ({_e(fl["coverage"])}) '
                f"{_h_refs(fl['refs'])}"
                for fl in f["flags"]
            )
            or "—"
        )
        value = f"{f['value_usd']:,.0f}" if f["value_usd"] is not None else "?"
        rows.append(
            f"<tr><td>{_e(f['period'])}</td><td>{_e(f['supplier'])} → "
            f"{_e(f['recipient'])}</td><td>{_e(f['hs_code'])}</td>"
            f"<td>{_e(f['hs_label'] or '')}</td><td>{_e(value)}</td><td>{flags}</td>"
            f"<td>{_h_refs(f['refs'])}</td></tr>"
        )
    out.append(
        "<table><tr><th>period</th><th>supplier → recipient</th><th>HS</th><th>goods</th>"
        "<th>value (US$)</th><th>flags</th><th>source</th></tr>" + "".join(rows) + "</table>"
    )
    return "".join(out)


def _h_devices(d: dict[str, Any]) -> str:
    if d["total"] is None:
        return f"<p>{_e(d['note'])}</p>"
    vendors = ", ".join(f"{k} {v}" for k, v in d["by_vendor"].items())
    return (
        f"<p>{int(d['total'])} devices in {_e(d['bbox'])}: {_e(vendors)}. {_e(d['note'])} "
        f"{_h_refs(d['refs'])}</p>"
    )


def _h_sources(sources: list[dict[str, Any]]) -> str:
    items = []
    for s in sources:
        bits = [f"<strong>[{_e(s['ref'])}]</strong> {_e(s['title'])}"]
        bits += [_e(s[k]) for k in ("author", "publisher", "published_date") if s.get(k)]
        url = _safe_url(s.get("url"))
        if url:
            bits.append(f'<a href="{_e(url)}" rel="nofollow noopener">{_e(url)}</a>')
        elif s.get("url"):
            bits.append(f"URL (not a web link): {_e(s['url'])}")
        else:
            bits.append("no URL (original not retrieved or not online)")
        if s.get("original"):
            bits.append(f'copy of <a href="#src-{_e(s["original"])}">[{_e(s["original"])}]</a>')
        if s.get("language"):
            bits.append(f"language {_e(s['language'])}")
        if s.get("note"):
            bits.append(f"note: {_e(s['note'])}")
        items.append(f'<li id="src-{_e(s["ref"])}">{". ".join(bits)}</li>')
    return f'<ol class="sources">{"".join(items)}</ol>'
