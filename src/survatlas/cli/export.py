"""``survatlas export``: a layer of the store as GeoJSON, GeoParquet, GeoPackage, CSV, KML or
osmChange, with ODbL attribution (its own module: the formats' libraries load only here)."""

from __future__ import annotations

from pathlib import Path

import click

from survatlas.cli import db_path, emit_json
from survatlas.cli._options import bbox_option, json_option
from survatlas.publish.export import LAYER_READERS, WRITERS, export_layer
from survatlas.store import Store


@click.command("export")
@click.option(
    "--layer", required=True, help=f"One of: {', '.join(LAYER_READERS)} (and result layers)."
)
@click.option("--format", "fmt", type=click.Choice(sorted(WRITERS)), required=True)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@bbox_option
@json_option
@click.pass_context
def export_cmd(
    ctx: click.Context, layer: str, fmt: str, out: Path, bbox: tuple | None, as_json: bool
) -> None:
    """Export a layer (public records only) with ODbL attribution."""
    with Store(db_path(ctx), create=False) as store:
        result = export_layer(store, layer, fmt, out, bbox=bbox)
    if as_json:
        emit_json(result)
    else:
        click.echo(f"wrote {result['features']:,} {layer} to {', '.join(result['files'])}")
