"""``survatlas report``: a report on an area, a place, a site or a route, as HTML, PDF or Markdown."""

from __future__ import annotations

import json
from pathlib import Path

import click

from survatlas.cli import db_path
from survatlas.cli._options import ROW_ID, bbox_option
from survatlas.cli.routing import _latlon
from survatlas.store import Store

FORMATS = ("html", "pdf", "md", "json")


@click.command("report")
@bbox_option
@click.option("--place", help="A street or site name from the store (e.g. Rautatientori).")
@click.option("--site", "site_id", type=ROW_ID, help="A site id (see the map or `stats`).")
@click.option("--from", "origin", callback=lambda c, p, v: _latlon(c, p, v) if v else None,
              help="Route start as LAT,LON (with --to).")
@click.option("--to", "destination", callback=lambda c, p, v: _latlon(c, p, v) if v else None,
              help="Route end as LAT,LON (with --from).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="html", show_default=True,
              help="json prints the figures the report is made of.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (needed for pdf).")
@click.pass_context
def report_cmd(ctx: click.Context, bbox, place, site_id, origin, destination, fmt, out) -> None:
    """Key findings, maps, charts, tables, method and sources for one subject (public records).

    An area or place report computes coverage for that area in memory (the stored run is left
    as it is); a route report needs `survatlas coverage` first."""
    from survatlas.publish import document
    from survatlas.publish._report_doc import report_document
    from survatlas.publish.report import build_report

    if (origin is None) != (destination is None):
        raise click.UsageError("a route needs both --from and --to")
    if fmt == "pdf" and out is None:
        raise click.UsageError("--format pdf needs --out FILE")
    with Store(db_path(ctx), create=False) as store:
        data = build_report(store, bbox=bbox, place=place, site=site_id,
                            route=(origin, destination) if origin else None)
    if fmt == "json":
        text = json.dumps(data.figures, indent=2, ensure_ascii=False) + "\n"
        rendered: str | bytes = text
    else:
        rendered = document.render(report_document(data), fmt, out)
    if out is None:
        click.echo(rendered, nl=False)
        return
    document.write_output(out, rendered)
    click.echo(f"wrote {out}", err=True)
