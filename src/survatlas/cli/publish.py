"""``survatlas publish``: publications written as folders (``publish site``: a static web site)."""

from __future__ import annotations

from pathlib import Path

import click

from survatlas.cli import db_path, emit_json
from survatlas.cli._options import bbox_option, json_option
from survatlas.store import Store


@click.group("publish")
def publish_group() -> None:
    """Publish the store's public records for readers (a static web site)."""


@publish_group.command("site")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@bbox_option
@click.option("--max-zoom", type=click.IntRange(0, 18), default=16, show_default=True,
              help="Highest zoom of the tile archives (the map scales them beyond).")
@click.option("--no-report", is_flag=True,
              help="Leave out the area report (skips the coverage computation).")
@click.option("--overwrite", is_flag=True, help="Replace OUTDIR if it is not empty.")
@click.option("--title", default="Surveillance infrastructure map", show_default=True,
              help="The page's title, e.g. the place's name.")
@json_option
@click.pass_context
def site_cmd(ctx: click.Context, outdir: Path, bbox, max_zoom: int, no_report: bool,
             overwrite: bool, title: str, as_json: bool) -> None:
    """A static site in OUTDIR: the map on PMTiles archives, key figures, the area report.

    It works from any static host or `python -m http.server`, with no survatlas server; it
    holds public records only. Default area: every public device, street and site."""
    from survatlas.publish.site import build_site

    with Store(db_path(ctx), create=False) as store:
        manifest = build_site(store, outdir, bbox, max_zoom=max_zoom, report=not no_report,
                              overwrite=overwrite, title=title)
    if as_json:
        emit_json(manifest)
        return
    tiles = ", ".join(f"{name} {n:,} tiles" for name, n in manifest["tiles"].items()) or "no tiles"
    click.echo(f"wrote {outdir}/ ({len(manifest['files'])} files; {tiles})")
    if manifest["report_note"]:
        click.echo(manifest["report_note"], err=True)
    click.echo(f"try it: python -m http.server --directory {outdir} 8000", err=True)
