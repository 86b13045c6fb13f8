"""``survatlas stats``: what is in the store (kept light: it imports no geometry library)."""

from __future__ import annotations

import click

from survatlas.cli import db_path, emit_json
from survatlas.cli._options import bbox_option, json_option
from survatlas.publish.stats import store_stats
from survatlas.store import Store


@click.command("stats")
@bbox_option
@json_option
@click.pass_context
def stats_cmd(ctx: click.Context, bbox: tuple | None, as_json: bool) -> None:
    """Counts by device type, area, zone, mount, operator, vendor; tag completeness; sites."""
    with Store(db_path(ctx), create=False) as store:
        stats = store_stats(store, bbox)
    if as_json:
        emit_json(stats)
        return
    from rich.console import Console  # only for the table

    console = Console()
    dev = stats["devices"]
    console.print(
        f"[bold]{dev['total']:,} devices[/] ({dev['surveillance']:,} man_made=surveillance)"
    )
    for key in (
        "by_device_type",
        "by_area",
        "by_zone",
        "by_mount",
        "by_camera_type",
        "by_operator",
        "by_manufacturer",
    ):
        console.print(f"  {key[3:]}: " + ", ".join(f"{k} {v}" for k, v in dev[key].items()))
    console.print(
        "tag completeness: "
        + ", ".join(f"{k} {v:.0%}" for k, v in stats["completeness"].items() if v is not None)
    )
    if stats["warnings_by_kind"]:
        console.print(
            "warnings: " + ", ".join(f"{k} {v}" for k, v in stats["warnings_by_kind"].items())
        )
    console.print(
        f"buildings: {stats['buildings']['total']:,} ({stats['buildings']['obstacles']:,} obstacles); "
        f"streets: {stats['streets']['total']:,} ({stats['streets']['walkable']:,} walkable)"
    )
    console.print("sites: " + ", ".join(f"{k} {v}" for k, v in stats["sites_by_category"].items()))
