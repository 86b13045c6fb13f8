"""Options shared by several commands, declared once."""

from __future__ import annotations

import click

from survatlas.store import MAX_ROW_ID
from survatlas.vocab import SENSITIVITIES

#: a record id (1 … 2**63 - 1): a larger number is a usage error, not a traceback
ROW_ID = click.IntRange(1, MAX_ROW_ID)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def _bbox(ctx: click.Context, param: click.Parameter, value: str | None):
    if not value:  # click calls this for every run: no pyproj import without a --bbox
        return None
    from survatlas.geo import parse_bbox

    return parse_bbox(value)


bbox_option = click.option(
    "--bbox", callback=_bbox, help="Only records meeting W,S,E,N (lon/lat)."
)


sensitivity_option = click.option(
    "--sensitivity",
    type=click.Choice(SENSITIVITIES),
    default="public",
    show_default=True,
    help="Sensitivity of the records written (a per-row column in a file may override it).",
)

declassify_option = click.option(
    "--declassify",
    is_flag=True,
    help="Allow this import to lower the sensitivity of records already stored (logged).",
)
