"""Commands of the supply chain: case studies, vendors, trade flows, profiles, claims from text."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from survatlas.cli import db_path, emit_json
from survatlas.cli._options import ROW_ID, bbox_option, json_option, sensitivity_option
from survatlas.errors import CorruptFileError, InputFileNotFoundError
from survatlas.publish.document import write_output
from survatlas.publish.profile import FORMATS, country_profile, render_profile
from survatlas.store import Store
from survatlas.supply import (
    accept_candidates,
    attribute_devices,
    extract_claims,
    list_programmes,
    list_vendors,
)
from survatlas.supply.case_studies import available_case_studies, import_case_study
from survatlas.supply.trade import hs_table, import_comtrade, sanction_rules, screen_flows


@click.command("case-study")
@click.argument("name", type=click.Choice(available_case_studies()))
@json_option
@click.pass_context
def import_case_study_cmd(ctx: click.Context, name: str, as_json: bool) -> None:
    """Import a bundled, cited case study (e.g. dprk) into the store."""
    with Store(db_path(ctx)) as store:
        summary = import_case_study(store, name)
    if as_json:
        emit_json(summary.to_dict())
        return
    data = summary.to_dict()
    click.echo(
        f"case study {name} ({data['country']}, version {data['version']}): "
        + ", ".join(
            f"{data[k]} {k}"
            for k in ("sources", "vendors", "programmes", "claims", "constraints", "comparators")
        )
    )


# ---------------------------------------------------------------- trade


@click.group("trade")
def trade_group() -> None:
    """Trade flows (UN Comtrade CSV), surveillance-relevant HS codes and sanctions screening."""


@trade_group.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--title", help="Title of the source (default: 'UN Comtrade extract FILE').")
@sensitivity_option
@json_option
@click.pass_context
def trade_import_cmd(
    ctx: click.Context, file: Path, title: str | None, sensitivity: str, as_json: bool
) -> None:
    """Import a UN Comtrade CSV extract (either Comtrade layout)."""
    with Store(db_path(ctx)) as store:
        summary = import_comtrade(store, file, sensitivity=sensitivity, title=title)
    if as_json:
        emit_json(summary.to_dict())
        return
    click.echo(
        f"{summary.file}: {summary.added} added, {summary.updated} updated, "
        f"{summary.unchanged} unchanged (source {summary.source_id})"
    )
    for reason, n in summary.skipped.items():
        click.echo(f"  skipped {n}: {reason}")
    for value, n in summary.unknown_countries.items():
        click.echo(f"  unknown country {value!r} in {n} rows (kept as given)")


@trade_group.command("screen")
@click.option("--country", help="Only flows involving this country (ISO code or name).")
@click.option("--rules", type=click.Path(path_type=Path), help="A rules file (default: bundled).")
@json_option
@click.pass_context
def trade_screen_cmd(
    ctx: click.Context, country: str | None, rules: Path | None, as_json: bool
) -> None:
    """Flag stored trade flows that fall under a sanctions rule, with the rule's citation."""
    with Store(db_path(ctx), create=False) as store:
        flags = screen_flows(store, rules=sanction_rules(rules), country=country)
    if as_json:
        emit_json([f.to_dict() for f in flags])
        return
    table = Table(title=f"{len(flags)} flagged flows (leads for investigation, not findings)")
    for col in ("period", "supplier → recipient", "HS", "goods", "value US$", "rule", "coverage"):
        table.add_column(col)
    for f in flags:
        value = f"{f.row.value_usd:,.0f}" if f.row.value_usd is not None else "?"
        table.add_row(
            f.row.period,
            f"{f.supplier} → {f.recipient}",
            f.row.hs_code,
            f.hs_label or "",
            value,
            f.citation,
            f.coverage,
        )
    Console().print(table)


@trade_group.command("hs-codes")
@json_option
def trade_hs_cmd(as_json: bool) -> None:
    """The cited, versioned table of surveillance-relevant HS codes."""
    table = hs_table()
    if as_json:
        emit_json(
            {
                "version": table.version,
                "note": table.note,
                "codes": [c.__dict__ for c in table.codes],
            }
        )
        return
    out = Table(title=f"surveillance-relevant HS codes (version {table.version})")
    for col in ("code", "category", "label", "editions", "source"):
        out.add_column(col)
    for c in table.codes:
        out.add_row(c.code, c.category, c.label, " ".join(c.editions), c.sources[0]["url"])
    Console().print(out)


@trade_group.command("rules")
@json_option
def trade_rules_cmd(as_json: bool) -> None:
    """The sanctions rules table, with quoted paragraphs and citations."""
    rules = sanction_rules()
    if as_json:
        emit_json(
            [
                {
                    **r.__dict__,
                    "in_force_from": r.in_force_from.isoformat(),
                    "in_force_to": r.in_force_to.isoformat() if r.in_force_to else None,
                }
                for r in rules
            ]
        )
        return
    for r in rules:
        chapters = ", ".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in r.hs_chapters)
        click.echo(
            f"{r.id}: {r.citation()} — {r.direction} {r.target}, HS {chapters}, "
            f"from {r.in_force_from} (confidence {r.confidence})\n  “{r.quote}”\n"
            f"  source: {r.sources[0].get('url')}\n"
        )


# ---------------------------------------------------------------- profile


@click.command("profile")
@click.argument("country")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="md", show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
@click.option(
    "--comparators",
    type=click.Path(path_type=Path),
    help="Extra comparators: CSV with place,metric,value,year,method,source_title"
    "[,source_url,country,confidence].",
)
@bbox_option
@click.pass_context
def profile_cmd(
    ctx: click.Context,
    country: str,
    fmt: str,
    out: Path | None,
    comparators: Path | None,
    bbox: tuple | None,
) -> None:
    """A country profile (public records only): programmes, vendors, trade flags, devices,
    comparators, constraints and open questions, every line with its sources."""
    if fmt == "pdf" and out is None:
        raise click.UsageError("--format pdf needs --out FILE")
    from survatlas.publish._profile_map import profile_device_map

    with Store(db_path(ctx), create=False) as store:
        profile = country_profile(store, country, comparators_csv=comparators, bbox=bbox)
        device_map = profile_device_map(store, profile) if fmt != "json" else None
    data = render_profile(profile, fmt, out, device_map=device_map)
    if out:
        write_output(out, data)
        click.echo(f"wrote {out} ({len(profile['sources'])} sources cited)", err=True)
    else:
        click.echo(data, nl=False)


# ---------------------------------------------------------------- vendors and programmes


@click.group("vendors")
def vendors_group() -> None:
    """Vendors, their aliases and restriction lists; attribution of devices to vendors."""


@vendors_group.command("attribute")
@json_option
@click.pass_context
def vendors_attribute_cmd(ctx: click.Context, as_json: bool) -> None:
    """Attribute devices to vendors from manufacturer / brand / model tags (alias table)."""
    with Store(db_path(ctx), create=False) as store:
        summary = attribute_devices(store).to_dict()
    if as_json:
        emit_json(summary)
        return
    click.echo(
        f"{summary['attributed']:,} of {summary['devices']:,} devices attributed "
        f"({summary['with_model']:,} with a known model)"
    )
    for name, n in summary["by_vendor"].items():
        click.echo(f"  {name}: {n:,}")
    if summary["unmatched_values"]:
        click.echo(
            "not matched: "
            + ", ".join(f"{k} ({v})" for k, v in summary["unmatched_values"].items())
        )


@vendors_group.command("list")
@json_option
@click.pass_context
def vendors_list_cmd(ctx: click.Context, as_json: bool) -> None:
    """Vendors with country, parent, restriction lists and attributed devices."""
    with Store(db_path(ctx), create=False) as store:
        vendors = list_vendors(store)
    if as_json:
        emit_json(vendors)
        return
    table = Table(title=f"{len(vendors)} vendors")
    for col in ("name", "country", "kind", "parent", "restrictions", "devices"):
        table.add_column(col)
    for v in vendors:
        table.add_row(
            v["name"],
            v["country"] or "",
            v["kind"],
            v["parent"] or "",
            "; ".join(r["list_name"] for r in v["restrictions"]),
            str(v["devices"]),
        )
    Console().print(table)


@click.command("programmes")
@click.option("--country", help="Only this country (ISO alpha-2 code).")
@json_option
@click.pass_context
def programmes_cmd(ctx: click.Context, country: str | None, as_json: bool) -> None:
    """Surveillance programmes and capabilities with their vendors."""
    with Store(db_path(ctx), create=False) as store:
        programmes = list_programmes(store, country)
    if as_json:
        emit_json(programmes)
        return
    table = Table(title=f"{len(programmes)} programmes")
    for col in ("country", "name", "modalities", "origin", "first reported", "vendors"):
        table.add_column(col)
    for p in programmes:
        table.add_row(
            p["country"],
            p["name"],
            ", ".join(p["modalities"]),
            p["origin"],
            p["first_reported"] or "",
            ", ".join(v["name"] for v in p["vendors"]),
        )
    Console().print(table)


# ---------------------------------------------------------------- claims from text


@click.group("claims")
def claims_group() -> None:
    """Claims from a report's text: propose candidates, then accept reviewed ones."""


@claims_group.command("extract")
@click.argument("article", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help='Write the candidates as JSON for review (set "accept": true to keep one).',
)
@json_option
def claims_extract_cmd(article: Path, out: Path | None, as_json: bool) -> None:
    """Propose candidate claims (quantities, ranges, sites, technologies, origins, dates) from a
    text file. Nothing is stored: review the candidates, then run `claims accept`."""
    if not article.exists():
        raise InputFileNotFoundError(f"no file {article}")
    candidates = [
        {**c.to_dict(), "accept": False}
        for c in extract_claims(article.read_text("utf-8", errors="replace"))
    ]
    if out:
        out.write_text(json.dumps(candidates, indent=2, ensure_ascii=False), "utf-8")
        click.echo(f"wrote {len(candidates)} candidates to {out}; nothing was stored", err=True)
    if as_json:
        emit_json(candidates)
        return
    if out:
        return
    table = Table(title=f"{len(candidates)} candidate claims (nothing stored)")
    for col in ("#", "kind", "text", "parsed", "sentence"):
        table.add_column(col, overflow="fold")
    for i, c in enumerate(candidates):
        parsed = c["label"] or _parsed(c)
        table.add_row(str(i), c["kind"], c["text"], parsed, c["sentence"])
    Console().print(table)


def _parsed(c: dict) -> str:
    if c["low"] is not None and c["high"] is not None:
        return f"{c['low']:g}–{c['high']:g} {c['unit'] or ''}"
    value = c["value"] if c["value"] is not None else c["low"] or c["high"]
    qual = f"{c['qualifier']} " if c["qualifier"] else ""
    return f"{qual}{value:g} {c['unit'] or ''}" if value is not None else ""


@claims_group.command("accept")
@click.argument("reviewed", type=click.Path(path_type=Path))
@click.option(
    "--source", "source_id", type=ROW_ID, required=True, help="Id of the source the text comes from."
)
@click.option("--country", help="Country the claims are about (ISO alpha-2).")
@json_option
@click.pass_context
def claims_accept_cmd(
    ctx: click.Context, reviewed: Path, source_id: int, country: str | None, as_json: bool
) -> None:
    """Store the candidates marked "accept": true in a reviewed JSON file (as unverified)."""
    try:
        candidates = json.loads(reviewed.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise InputFileNotFoundError(f"no file {reviewed}") from exc
    except json.JSONDecodeError as exc:
        raise CorruptFileError(f"{reviewed} is not valid JSON ({exc})") from exc
    with Store(db_path(ctx), create=False) as store:
        ids = accept_candidates(store, candidates, source_id=source_id, country=country)
    if as_json:
        emit_json({"claims": ids})
    else:
        click.echo(f"stored {len(ids)} claims (unverified): {', '.join(map(str, ids))}")
