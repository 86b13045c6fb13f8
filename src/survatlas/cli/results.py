"""Reading the stored coverage run: ``survatlas sites`` and ``survatlas coverage-summary``.

Both print the same figures as the web API (``/api/sites/ranking``, ``/api/coverage/summary``)
through the one implementation, :mod:`survatlas.coverage.ranking`.
"""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from survatlas.cli import db_path, emit_json
from survatlas.cli._options import json_option
from survatlas.store import Store
from survatlas.vocab import SITE_CATEGORIES

LEVELS = ("detection", "observation", "recognition", "identification", "plate")
level_option = click.option("--level", type=click.Choice(LEVELS), default="detection",
                            show_default=True, help="DORI level of the figures.")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _warn(data: dict) -> None:
    """One line on stderr when the run's inputs changed since it ran."""
    run = data.get("coverage_run") or {}
    if run.get("stale"):
        click.echo("warning: coverage results are stale — " + "; ".join(run["stale_reasons"]),
                   err=True)


@click.command("sites")
@click.option("--category", type=click.Choice(SITE_CATEGORIES), default=None,
              help="Only sites of this category.")
@level_option
@click.option("--limit", type=click.IntRange(1, 100_000), default=20, show_default=True)
@json_option
@click.pass_context
def sites_cmd(ctx: click.Context, category: str | None, level: str, limit: int,
              as_json: bool) -> None:
    """Sites ranked by the share of their area in view (needs `survatlas coverage`)."""
    from survatlas.coverage.ranking import site_ranking

    with Store(db_path(ctx), create=False) as store:
        data = site_ranking(store, category, level, limit)
    _warn(data)
    if as_json:
        emit_json(data)
        return
    table = Table(title=f"sites by share of area in view ({level} level, {data['scenario']} "
                        "optics; low–high: best–worst optics)")
    for col in ("site", "category", "name", "share", "low–high", "cameras"):
        table.add_column(col)
    for s in data["sites"]:
        table.add_row(str(s["site_id"]), s["category"], s["name"] or "", _pct(s["share"]),
                      f"{_pct(s['low'])}–{_pct(s['high'])}", str(s.get("cameras", "")))
    console = Console()
    console.print(table)
    console.print("method: " + data["method"])


@click.command("coverage-summary")
@level_option
@json_option
@click.pass_context
def coverage_summary_cmd(ctx: click.Context, level: str, as_json: bool) -> None:
    """The stored coverage run at one level: streets and site categories in view (low–high)."""
    from survatlas.coverage import figures
    from survatlas.coverage.ranking import level_summary

    with Store(db_path(ctx), create=False) as store:
        data = level_summary(store, level)
    _warn(data)
    if as_json:
        emit_json({k: v for k, v in data.items() if k != "run"})
        return
    console = Console()
    s = data["streets"]
    console.print(f"streets in view: {_pct(s['share'])} ({_pct(s['low'])}–{_pct(s['high'])})")
    table = Table(title=figures.site_table_title(level, data["scenario"]))
    for col in ("category", "sites", "seen", figures.SITE_SHARE_LABEL, "low–high"):
        table.add_column(col)
    for cat, f in data["sites_by_category"].items():
        table.add_row(cat, str(f["sites"]), str(f["sites_seen"]), _pct(f["share"]),
                      f"{_pct(f['low'])}–{_pct(f['high'])}")
    console.print(table)
    console.print("method: " + data["method"])
