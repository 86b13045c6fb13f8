"""``survatlas fetch``: any place from OpenStreetMap services, imported like a file."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from survatlas.cli import db_path
from survatlas.cli._options import json_option
from survatlas.cli.store_commands import _print_summary
from survatlas.ingest.fetch import WHATS, fetch_area, fetch_region, load_settings
from survatlas.store import Store


def _what(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in value.split(",") if p.strip())
    unknown = [p for p in parts if p not in WHATS]
    if unknown or not parts:
        raise click.BadParameter(f"use some of {','.join(WHATS)} (comma-separated)")
    return parts


@click.command("fetch")
@click.option("--place", help="A place name, geocoded with Nominatim (its bounding box).")
@click.option("--bbox", help="W,S,E,N (lon/lat) instead of a place.")
@click.option("--region", help="A Geofabrik-style extract path, e.g. europe/monaco (whole file).")
@click.option("--what", default=",".join(WHATS), show_default=True, callback=_what,
              help="Layers to fetch from Overpass.")
@click.option("--overpass-url", envvar="SURVATLAS_OVERPASS_URL",
              help="Overpass API endpoint (default: config file, then the public instance).")
@click.option("--nominatim-url", envvar="SURVATLAS_NOMINATIM_URL",
              help="Nominatim server (default: config file, then the public instance).")
@click.option("--geofabrik-url", envvar="SURVATLAS_GEOFABRIK_URL",
              help="Extract server for --region (default: download.geofabrik.de).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              envvar="SURVATLAS_CACHE_DIR", help="Where answers are cached (~/.cache/survatlas).")
@click.option("--refresh", is_flag=True, help="Ask the servers again, ignoring cached answers.")
@json_option
@click.pass_context
def fetch_cmd(ctx: click.Context, place, bbox, region, what, overpass_url, nominatim_url,
              geofabrik_url, cache_dir, refresh, as_json) -> None:
    """Fetch cameras, buildings, streets and sites of any place from OpenStreetMap, then import
    them (all-or-nothing, idempotent; © OpenStreetMap contributors, ODbL)."""
    if sum(x is not None for x in (place, bbox, region)) != 1:
        raise click.UsageError("give exactly one of --place, --bbox or --region")
    settings = load_settings(overpass_url=overpass_url, nominatim_url=nominatim_url,
                             geofabrik_url=geofabrik_url, cache_dir=cache_dir)
    err = Console(stderr=True)
    path = db_path(ctx)
    existed = path.exists()
    try:
        with Store(path) as store, _TileProgress(err, enabled=not as_json) as progress:
            if region:
                summary = fetch_region(store, region, settings=settings, refresh=refresh,
                                       progress=progress)
            else:
                summary = fetch_area(store, place=place, bbox=bbox, what=what,
                                     settings=settings, refresh=refresh, progress=progress)
    except Exception:
        if not existed:  # a failed first fetch leaves no empty store behind
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        raise
    _print_summary(summary, as_json)


class _TileProgress:
    """Tiles (or the download) on stderr: a bar on a terminal, else one line per step."""

    def __init__(self, console: Console, *, enabled: bool) -> None:
        self.console, self.enabled, self.bar, self.task = console, enabled, None, None

    def __enter__(self):
        if not self.enabled:
            return None
        if self.console.is_terminal:
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), TimeElapsedColumn(), console=self.console,
                                transient=True)
            self.bar.__enter__()
        return self.update

    def update(self, what: str, done: int, total: int) -> None:
        if self.bar is None:
            click.echo(f"{what} {done}/{total}", err=True)
            return
        if self.task is None:
            self.task = self.bar.add_task(what, total=total)
        self.bar.update(self.task, completed=done, total=total, description=what)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
