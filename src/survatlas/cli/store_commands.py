"""Commands of the foundation: import and delete.

Each command imports its importer when it runs: ``import osm`` loads neither geopandas nor
pandas (the layer and camera importers do).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from survatlas.cli import db_path, emit_json
from survatlas.cli._lazy import LazyGroup
from survatlas.cli._options import (
    declassify_option,
    json_option,
    sensitivity_option,
)
from survatlas.store import Store
from survatlas.vocab import LAYER_KINDS

if TYPE_CHECKING:
    from survatlas.ingest._records import ImportSummary

_console = Console(stderr=True)


@click.group(
    "import",
    cls=LazyGroup,
    lazy={"case-study": ("survatlas.cli.supply", "import_case_study_cmd",
                         "Import a bundled case study (programmes, vendors, sources, claims).")},
)
def import_group() -> None:
    """Import OSM extracts, field camera lists or GIS layers (all-or-nothing, idempotent)."""


_AS_OF = click.option("--as-of", help="Date of this snapshot for the device history (YYYY-MM-DD).")


@import_group.command("osm")
@click.argument("file", type=click.Path(path_type=Path))
@sensitivity_option
@_AS_OF
@declassify_option
@click.option("--context/--no-context", default=True, show_default=True,
              help="Also keep the map's context: water, parks, rail, motorways, place names.")
@json_option
@click.pass_context
def import_osm_cmd(ctx: click.Context, file: Path, sensitivity: str, as_of: str | None,
                   declassify: bool, context: bool, as_json: bool) -> None:
    """Import an OSM extract (.osm.pbf, .osm, .osm.bz2) or a full-history file (.osh.pbf)."""
    from survatlas.ingest.osm import import_osm

    with Store(db_path(ctx)) as store:
        if as_json or not _console.is_terminal:
            summary = import_osm(store, file, sensitivity=sensitivity, as_of=as_of,
                                 declassify=declassify, context=context)
        else:
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TextColumn("{task.completed:,} objects"),
                TimeElapsedColumn(),
                console=_console,
                transient=True,
            ) as bar:
                task = bar.add_task(f"reading {file.name}", total=None)
                summary = import_osm(
                    store, file, sensitivity=sensitivity, as_of=as_of, declassify=declassify,
                    context=context, progress=lambda n: bar.advance(task, n),
                )
    _print_summary(summary, as_json)


@import_group.command("cameras")
@click.argument("file", type=click.Path(path_type=Path))
@sensitivity_option
@click.option("--osm-ids", is_flag=True,
              help="The id column holds OSM node ids (an export of OSM cameras: a snapshot).")
@_AS_OF
@declassify_option
@json_option
@click.pass_context
def import_cameras_cmd(ctx: click.Context, file: Path, sensitivity: str, osm_ids: bool,
                       as_of: str | None, declassify: bool, as_json: bool) -> None:
    """Import a field camera list (CSV with latitude/longitude columns, or GeoJSON points)."""
    from survatlas.ingest.fields import import_cameras

    with Store(db_path(ctx)) as store:
        summary = import_cameras(store, file, sensitivity=sensitivity, osm_ids=osm_ids,
                                 as_of=as_of, declassify=declassify)
    _print_summary(summary, as_json)


@import_group.command("layer")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(LAYER_KINDS), required=True, help="What the layer holds.")
@sensitivity_option
@declassify_option
@json_option
@click.pass_context
def import_layer_cmd(
    ctx: click.Context, file: Path, kind: str, sensitivity: str, declassify: bool, as_json: bool
) -> None:
    """Import buildings, streets or sites from GeoJSON/GeoPackage/FlatGeobuf (any CRS)."""
    from survatlas.ingest.layers import import_layer

    with Store(db_path(ctx)) as store:
        summary = import_layer(store, file, kind, sensitivity=sensitivity, declassify=declassify)
    _print_summary(summary, as_json)


def _print_summary(summary: ImportSummary, as_json: bool) -> None:
    if as_json:
        emit_json(summary.to_dict())
        return
    table = Table(title=f"import of {summary.file} (source {summary.source_id})")
    for col in ("layer", "added", "updated", "unchanged", "older skipped", "with warnings"):
        table.add_column(col, justify="right" if col != "layer" else "left")
    for layer, c in summary.layers.items():
        table.add_row(
            layer, *(f"{v:,}" for v in (c.added, c.updated, c.unchanged, c.skipped_older, c.warned))
        )
    Console().print(table)
    data = summary.to_dict()
    if data["warnings_by_kind"]:
        click.echo(
            "warnings: " + ", ".join(f"{k} {v}" for k, v in data["warnings_by_kind"].items())
        )
    if data.get("context"):
        click.echo("map context: " + ", ".join(
            f"{k} {v:,}" for k, v in data["context"].items() if v))
    if data.get("history") and any(data["history"].values()):
        click.echo("device history: " + ", ".join(
            f"{k} {v:,}" for k, v in data["history"].items() if v))
    if data["rejected"]:
        click.echo("not imported: " + ", ".join(f"{v} × {k}" for k, v in data["rejected"].items()))
    kept = sum(c.kept_level for c in summary.layers.values())
    if kept:
        click.echo(f"kept at their stored (higher) sensitivity: {kept:,} record(s)")
    lowered = sum(c.declassified for c in summary.layers.values())
    if lowered:
        click.echo(f"declassified (logged in custody): {lowered:,} record(s)")


@click.command("delete")
@click.argument("record")
@json_option
@click.pass_context
def delete_cmd(ctx: click.Context, record: str, as_json: bool) -> None:
    """Delete a record (device:12, building:3, street:7, site:5); logged in custody."""
    from survatlas.ingest.delete import delete_record, parse_record

    kind, record_id = parse_record(record)
    with Store(db_path(ctx), create=False) as store:
        done = delete_record(store, kind, record_id)
    if as_json:
        emit_json(done)
    else:
        click.echo(f"deleted {kind}:{record_id} (logged in custody)")
