"""Commands of the coverage engine: the optics calculator and `survatlas coverage`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from survatlas import optics
from survatlas.cli import db_path, emit_json
from survatlas.cli._options import bbox_option, json_option
from survatlas.coverage import figures, scale
from survatlas.coverage.analysis import LEVELS, OCCLUSION_MODELS, OUTPUTS, SCENARIOS, Settings
from survatlas.store import Store


@click.command("optics")
@click.option("--focal-mm", type=float, required=True, help="Lens focal length, mm.")
@click.option("--sensor-width-mm", type=float, default=optics.DEFAULT_SENSOR_WIDTH_MM,
              show_default=True, help="Sensor width, mm (1/2.8\" ≈ 5.37).")
@click.option("--width-px", type=int, required=True, help="Horizontal resolution, pixels.")
@click.option("--standard", type=click.Choice(sorted(optics.STANDARDS)),
              default=optics.DEFAULT_STANDARD, show_default=True)
@json_option
def optics_cmd(focal_mm: float, sensor_width_mm: float, width_px: int, standard: str,
               as_json: bool) -> None:
    """DORI distances and field of view of a camera (EN 62676-4 or VQiPS)."""
    result = {
        "hfov_deg": round(optics.hfov_deg(focal_mm, sensor_width_mm), 2),
        **{lv: round(d, 2) for lv, d in
           optics.dori_distances(focal_mm, sensor_width_mm, width_px, standard).items()},
        optics.PLATE_LEVEL: round(optics.plate_reading_distance(focal_mm, sensor_width_mm, width_px), 2),
        "standard": standard,
        "method": "d = f·W_px / (sensor width · pixels per metre of the level); "
                  f"plate: characters of {optics.PLATE_CHAR_HEIGHT_M * 100:g} cm at ≥ "
                  f"{optics.PLATE_CHAR_PX:g} px",
    }
    if as_json:
        emit_json(result)
        return
    for key, value in result.items():
        unit = "°" if key == "hfov_deg" else (" m" if isinstance(value, float) else "")
        click.echo(f"{key:>15}: {value}{unit}")


@click.command("coverage")
@bbox_option
@click.option("--level", "levels", multiple=True, type=click.Choice([*LEVELS, optics.PLATE_LEVEL]),
              help="DORI level(s) to compute (default: all four).")
@click.option("--scenario", type=click.Choice([*SCENARIOS, "all"]), default="all", show_default=True,
              help="Optics scenario for cameras of unknown optics; 'all' gives low–high intervals.")
@click.option("--standard", type=click.Choice(sorted(optics.STANDARDS)),
              default=optics.DEFAULT_STANDARD, show_default=True)
@click.option("--no-direction", type=click.Choice(["360", "skip"]), default="360", show_default=True,
              help="What a camera with no known direction becomes.")
@click.option("--cell", "cell_m", type=float, default=2.0, show_default=True,
              help="Grid cell size for area figures, metres.")
@click.option("--h3-res", type=int, default=10, show_default=True, help="H3 resolution of the summary.")
@click.option("--only", "outputs", multiple=True, type=click.Choice(OUTPUTS),
              help="Compute only these outputs (repeatable; default: all). Street figures are "
                   "always computed; 'areas' is land and public space on the --cell grid.")
@click.option("--occlusion", type=click.Choice(OCCLUSION_MODELS), default=Settings.occlusion,
              show_default=True,
              help="2.5d: buildings hide by their height (a camera on a pole sees over a low "
                   "wall; unknown heights widen the scenarios); 2d: every footprint hides what "
                   "is behind it.")
@click.option("--engine", type=click.Choice(scale.ENGINES), default="local", show_default=True,
              help="local: in this process; dask: tiled, on a Dask cluster (docs/scale.md).")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Dask scheduler to run on (default: a local cluster using every core).")
@click.option("--tile-size", "tile_m", type=float, default=None,
              help="Tile side in metres for --engine dask (default: max(2000, 18 × longest range)).")
@click.option("--workers", type=int, default=None,
              help="Worker processes of the local Dask cluster (default: one per core).")
@click.option("--as-of", help="Cameras as they stood on this date (YYYY-MM-DD; device history).")
@json_option
@click.pass_context
def coverage_cmd(ctx: click.Context, bbox, levels, scenario, standard, no_direction, cell_m,
                 h3_res, outputs, occlusion, engine, scheduler, tile_m, workers, as_of,
                 as_json) -> None:
    """Compute what the cameras see (occlusion-aware, per DORI level) and store the results."""
    settings = Settings(
        scenarios=SCENARIOS if scenario == "all" else (scenario,),
        levels=tuple(levels) or LEVELS, standard=standard, no_direction=no_direction,
        cell_m=cell_m, h3_resolution=h3_res, occlusion=occlusion,
        outputs=tuple(o for o in OUTPUTS if o in outputs or not outputs or o == "streets"),
    )
    if engine == "local" and (scheduler or tile_m or workers):
        raise click.UsageError("--scheduler, --tile-size and --workers need --engine dask")
    with Store(db_path(ctx), create=False) as store, _tile_progress(engine == "dask") as progress:
        summary = scale.compute_coverage(store, bbox, settings, engine=engine,
                                         scheduler=scheduler, tile_m=tile_m, workers=workers,
                                         progress=progress, as_of=as_of)
    if as_json:
        emit_json(summary)
    else:
        print_summary(summary)


@contextmanager
def _tile_progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """Tiles done / total on stderr: a bar on a terminal, else a line every 10 %."""
    if not enabled:
        yield None
        return
    from rich.console import Console  # rich only for what is shown (not a --json run)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    err = Console(stderr=True)
    if not err.is_terminal:
        shown = [-1]

        def lines(done: int, total: int) -> None:
            step = done * 10 // max(total, 1)
            if step > shown[0] or done == total:
                shown[0] = step
                click.echo(f"tiles {done}/{total}", err=True)

        yield lines
        return
    with Progress(TextColumn("tiles"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("tiles", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def print_summary(summary: dict) -> None:
    """A coverage summary as a table: each figure as low – typical – high."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"[bold]{summary['cameras']} cameras[/] ({summary['cameras_assumed_direction']} with an assumed "
        f"direction, {summary['cameras_assumed_optics']} with assumed optics); "
        f"{summary['street_length_m'] / 1000:,.1f} km of walkable street; CRS {summary['crs']}")
    table = Table(title="share in view — low (best optics) · typical · high (worst optics)")
    for col in ("level", "street", "land", "public space"):
        table.add_column(col)
    for level, values in summary["intervals"].items():
        table.add_row(level, *(_interval(values[m]) for m in (
            "street_in_view_share", "land_in_view_share", "public_space_in_view_share")))
    console.print(table)
    scenario = figures.main_scenario(summary["by_scenario"])
    by_level = summary["by_scenario"][scenario]
    level = figures.main_level(by_level)
    sites = Table(title=figures.site_table_title(level, scenario))
    for col in ("category", "sites", "seen", figures.SITE_SHARE_LABEL):
        sites.add_column(col)
    for cat, fig in by_level[level]["sites"].items():
        value = figures.site_share(fig)
        share = "–" if value is None else f"{value:.0%}"
        sites.add_row(cat, str(fig["sites"]), str(fig["sites_seen"]), share)
    console.print(sites)
    console.print("method: " + summary["method"])
    for note in summary["assumptions"]:
        console.print(f"  assumption: {note}")
    console.print(summary["attribution"])


def _interval(values: dict) -> str:
    parts = [values.get(k) for k in ("low", "typical", "high")]
    return " · ".join("–" if v is None else f"{v:.1%}" for v in parts)
