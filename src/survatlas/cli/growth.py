"""``survatlas timeline`` and ``survatlas diff``: how the surveillance network changed."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from survatlas.cli import db_path, emit_json
from survatlas.cli._options import bbox_option, json_option
from survatlas.publish.growth import (
    GROUPS,
    PERIODS,
    diff,
    history_span,
    timeline,
    timeline_chart,
)
from survatlas.store import Store


@click.command("timeline")
@bbox_option
@click.option("--by", type=click.Choice(PERIODS), default="year", show_default=True)
@click.option("--group", type=click.Choice(GROUPS), default=None,
              help="Also break each period down by this (type, operator, zone, site category).")
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a PNG chart of added / removed / in place.")
@json_option
@click.pass_context
def timeline_cmd(ctx: click.Context, bbox, by: str, group: str | None, chart: Path | None,
                 as_json: bool) -> None:
    """Devices added, removed and in place per period (public records; OSM mapping dates)."""
    with Store(db_path(ctx), create=False) as store:
        result = timeline(store, bbox=bbox, by=by)
        span = history_span(store, bbox=bbox)
    if not span["available"] and span["devices"]:
        # one snapshot: the dates are each device's latest edit, not when it was mapped
        click.echo(f"note: {span['reason']}", err=True)
    if chart is not None:
        timeline_chart(result, chart)
    if as_json:
        emit_json(result)
        return
    table = Table(title=f"surveillance devices by {by}")
    for col in ("period", "added", "removed", "in place"):
        table.add_column(col, justify="left" if col == "period" else "right")
    for p in result["periods"]:
        table.add_row(p["period"], f"{p['added']:,}", f"{p['removed']:,}", f"{p['in_place']:,}")
        if group:
            for key, n in p["by"][group].items():
                table.add_row(f"  {key}", f"{n['added']:,}", f"{n['removed']:,}",
                              f"{n['in_place']:,}")
    console = Console()
    console.print(table)
    console.print("method: " + result["method"])
    for note in result["assumptions"]:
        console.print(f"  assumption: {note}")
    if chart is not None:
        console.print(f"chart: {chart}")
    console.print(result["attribution"])


@click.command("diff")
@click.option("--from", "date_from", required=True, help="The earlier date (YYYY-MM-DD).")
@click.option("--to", "date_to", required=True, help="The later date (YYYY-MM-DD).")
@bbox_option
@json_option
@click.pass_context
def diff_cmd(ctx: click.Context, date_from: str, date_to: str, bbox, as_json: bool) -> None:
    """What appeared, disappeared, moved or was retagged between two dates."""
    with Store(db_path(ctx), create=False) as store:
        result = diff(store, date_from, date_to, bbox=bbox)
    if as_json:
        emit_json(result)
        return
    c = result["counts"]
    click.echo(f"{result['in_place_from']:,} devices on {result['from'][:10]}, "
               f"{result['in_place_to']:,} on {result['to'][:10]}: {c['appeared']:,} appeared, "
               f"{c['disappeared']:,} disappeared, {c['kept']:,} kept ({c['moved']:,} moved, "
               f"{c['retagged']:,} retagged)")
    click.echo("method: " + result["method"])
    click.echo(result["attribution"])
