"""Commands for contributions (moderation from the command line) and field-file templates."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from survatlas.cli import db_path, emit_json
from survatlas.cli._options import json_option
from survatlas.contribute.form import form_description, template_rows
from survatlas.contribute.moderation import (
    STATUSES,
    accept_contribution,
    list_contributions,
    reject_contribution,
)
from survatlas.errors import InputError
from survatlas.store import Store
from survatlas.store.custody import ACTOR_ENV, acting_as
from survatlas.vocab import SENSITIVITIES

actor_option = click.option(
    "--actor", envvar=ACTOR_ENV, help="Who decides, for the custody log (default: the OS user)."
)


@click.group("contributions")
def contributions_group() -> None:
    """Cameras reported from the map or a phone: the moderation queue (restricted material)."""


@contributions_group.command("list")
@click.option("--status", type=click.Choice([*STATUSES, "all"]), default="pending",
              show_default=True)
@json_option
@click.pass_context
def list_cmd(ctx: click.Context, status: str, as_json: bool) -> None:
    """List contributions (shows restricted notes and positions: for editors only)."""
    with Store(db_path(ctx), create=False) as store:
        items = list_contributions(store, None if status == "all" else status)
    if as_json:
        emit_json(items)
        return
    table = Table("id", "status", "lat", "lon", "type", "photos", "faces/plates blurred", "note")
    for c in items:
        blurred = f"{sum(p['faces_blurred'] for p in c['photos'])}/" \
                  f"{sum(p['plates_blurred'] for p in c['photos'])}"
        table.add_row(str(c["id"]), c["status"], f"{c['lat']:.6f}", f"{c['lon']:.6f}",
                      c["tags"].get("surveillance:type", ""), str(len(c["photos"])), blurred,
                      (c["note"] or "")[:40])
    Console().print(table)


@contributions_group.command("accept")
@click.argument("contribution_id", type=int)
@click.option("--sensitivity", type=click.Choice(SENSITIVITIES), default="public",
              show_default=True, help="Sensitivity of the device created.")
@actor_option
@json_option
@click.pass_context
def accept_cmd(ctx: click.Context, contribution_id: int, sensitivity: str, actor: str | None,
               as_json: bool) -> None:
    """Accept a contribution: a device is created from it."""
    with Store(db_path(ctx), create=False) as store, acting_as(actor):
        device_id = accept_contribution(store, contribution_id, sensitivity=sensitivity)
    result = {"id": contribution_id, "status": "accepted", "device_id": device_id}
    emit_json(result) if as_json else click.echo(
        f"accepted contribution {contribution_id}: device {device_id} ({sensitivity})"
    )


@contributions_group.command("reject")
@click.argument("contribution_id", type=int)
@click.option("--reason", required=True, help="Why (kept with the contribution).")
@actor_option
@json_option
@click.pass_context
def reject_cmd(ctx: click.Context, contribution_id: int, reason: str, actor: str | None,
               as_json: bool) -> None:
    """Reject a contribution, keeping the reason."""
    with Store(db_path(ctx), create=False) as store, acting_as(actor):
        reject_contribution(store, contribution_id, reason)
    result = {"id": contribution_id, "status": "rejected"}
    emit_json(result) if as_json else click.echo(f"rejected contribution {contribution_id}")


@click.group("template")
def template_group() -> None:
    """Empty field files to fill in any tool and import with `survatlas import cameras`."""


@template_group.command("cameras")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "geojson"]), default=None,
              help="Default: from the file name's extension.")
def template_cameras_cmd(out: Path, fmt: str | None) -> None:
    """Write a camera field-file template (CSV columns or GeoJSON properties: OSM keys)."""
    fmt = fmt or out.suffix.lower().lstrip(".")
    if fmt not in {"csv", "geojson"}:
        raise InputError(f"{out.name}: give a .csv or .geojson name, or --format")
    if out.exists():
        raise InputError(f"{out} exists; choose a new file name")
    out.write_text(template_text(fmt), encoding="utf-8")
    click.echo(f"wrote {out}: fill one row per camera, then `survatlas import cameras {out.name}`")


def template_text(fmt: str) -> str:
    """The template file's text (a CSV header, or a GeoJSON collection describing its fields)."""
    columns = template_rows()
    if fmt == "csv":
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(columns)
        return buffer.getvalue()
    form = form_description()
    return json.dumps(
        {
            "type": "FeatureCollection",
            "survatlas:template": "cameras",
            "survatlas:properties": columns[3:],
            "survatlas:values": {f["key"]: f["values"] for f in form["fields"] if f["values"]},
            "features": [],
        },
        indent=2,
        ensure_ascii=False,
    ) + "\n"
