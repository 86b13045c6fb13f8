"""Commands of routing: ``route`` (shortest vs least-exposed) and ``exposure`` (of a route file)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from survatlas.cli import db_path, emit_json
from survatlas.cli._options import json_option
from survatlas.errors import InputError
from survatlas.geo import check_lonlat
from survatlas.optics import LEVELS as DORI_LEVELS
from survatlas.store import Store

if TYPE_CHECKING:
    from survatlas.routing import Route

# Literal copies keep `survatlas --help` fast (survatlas.routing loads numba); a test checks them.
LEVELS = tuple(reversed(DORI_LEVELS))
PROFILES = ("bike", "walk")
DEFAULT_LEVEL = "detection"
ROUTE_SCENARIOS = ("best", "typical", "worst", "robust")

_SHORT = {
    "identification": "ident.",
    "recognition": "recog.",
    "observation": "obs.",
    "detection": "detect.",
}


def _latlon(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, float]:
    try:
        lat, lon = (float(p) for p in value.split(","))
        check_lonlat(lon, lat)
    except (ValueError, InputError) as exc:
        raise click.BadParameter(f"{value!r} must be LAT,LON in degrees (WGS 84): {exc}") from exc
    return lat, lon


profile_option = click.option(
    "--profile", type=click.Choice(PROFILES), default="walk", show_default=True
)
scenario_option = click.option(
    "--scenario",
    type=click.Choice(ROUTE_SCENARIOS),
    default=None,
    help="Optics scenario to minimise: best, typical, worst, or robust (the worst case over the "
    "scenarios; the default when the coverage run computed several).",
)


@click.command("route")
@click.option("--from", "origin", required=True, callback=_latlon, help="Start as LAT,LON.")
@click.option("--to", "destination", required=True, callback=_latlon, help="End as LAT,LON.")
@profile_option
@click.option(
    "--level",
    type=click.Choice(LEVELS),
    default=DEFAULT_LEVEL,
    show_default=True,
    help="DORI level whose metres in view are minimised.",
)
@scenario_option
@click.option(
    "--max-detour",
    type=float,
    default=1.25,
    show_default=True,
    help="The least-exposed route is at most this many times as long as the shortest.",
)
@click.option(
    "--alternatives", type=int, default=0, help="Also list up to N routes of the Pareto front."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the routes to a .geojson or .gpx file.",
)
@json_option
@click.pass_context
def route_cmd(
    ctx: click.Context,
    origin: tuple[float, float],
    destination: tuple[float, float],
    profile: str,
    level: str,
    scenario: str | None,
    max_detour: float,
    alternatives: int,
    out: Path | None,
    as_json: bool,
) -> None:
    """The shortest route and the least-watched route within a detour (needs `survatlas coverage`)."""
    from survatlas.routing import (
        ATTRIBUTION,
        load_network,
        plan_route,
        route_window,
        write_route_file,
    )

    with Store(db_path(ctx), create=False) as store:
        net = load_network(store, profile, bbox=route_window([origin, destination]))
    _warn_stale(net)
    plan = plan_route(
        net,
        origin,
        destination,
        level=level,
        scenario=scenario,
        max_detour=max_detour,
        alternatives=alternatives,
    )
    if out is not None:
        write_route_file(out, plan.routes, method=plan.method, attribution=ATTRIBUTION)
    if as_json:
        emit_json({**plan.to_dict(), "out": str(out) if out else None})
        return
    console = Console()
    for what, snap in (("from", plan.origin), ("to", plan.destination)):
        console.print(
            f"{what}: {snap.street_name or f'street {snap.street_id}'} "
            f"(snapped {snap.distance_m:.0f} m)"
        )
    console.print(
        _table([r for r in plan.routes], plan.level, f"{profile}, {plan.scenario} optics")
    )
    price = plan.to_dict()["price_of_privacy"]
    console.print(
        f"price of privacy: +{price['extra_metres']:.0f} m (×{price['detour']:.2f}) to avoid "
        f"{price['metres_in_view_avoided']:.0f} m in view at {plan.level} level and "
        f"{price['cameras_avoided']} camera(s)"
    )
    if out is not None:
        console.print(f"wrote {out}")
    console.print(f"[dim]{plan.method} {ATTRIBUTION}[/]")


@click.command("exposure")
@click.argument("route_file", type=click.Path(path_type=Path))
@profile_option
@scenario_option
@click.option(
    "--max-snap", type=float, default=50.0, show_default=True, help="Snap radius (m) of points."
)
@json_option
@click.pass_context
def exposure_cmd(
    ctx: click.Context,
    route_file: Path,
    profile: str,
    scenario: str | None,
    max_snap: float,
    as_json: bool,
) -> None:
    """How exposed are the routes you walked or plan (every GPX track/route or GeoJSON line)?

    Each track is scored, then all of them together (cameras counted once).
    """
    from survatlas.routing import (
        ATTRIBUTION,
        load_network,
        read_route_tracks,
        route_exposure,
        route_window,
        total_exposure,
    )

    tracks = read_route_tracks(route_file)
    points = [p for _, pts in tracks for p in pts]
    with Store(db_path(ctx), create=False) as store:
        net = load_network(store, profile, bbox=route_window(points, margin_m=500.0))
    _warn_stale(net)
    results = [route_exposure(net, pts, scenario=scenario, max_snap_m=max_snap)
               for _, pts in tracks]
    total = total_exposure(results)
    if as_json:
        per_track = [{"name": name, **r.to_dict()} for (name, _), r in zip(tracks, results,
                                                                           strict=True)]
        single = per_track[0] if len(per_track) == 1 else {}
        emit_json({**single, "tracks": per_track, "total": total})
        return
    console = Console()
    for (name, _), result in zip(tracks, results, strict=True):
        result.route.kind = name
    level = DEFAULT_LEVEL if DEFAULT_LEVEL in results[0].route.levels else \
        results[0].route.levels[-1]
    console.print(_table([r.route for r in results], level,
                         f"{profile}, {results[0].route.scenario} optics"))
    for (name, _), result in zip(tracks, results, strict=True):
        console.print(
            f"{name}: {result.points} points, {result.input_length_m:.0f} m as drawn; matched to "
            f"streets {result.matched_m:.0f} m; off the network {result.off_network_m:.0f} m "
            f"({result.unmatched_points} points farther than {max_snap:.0f} m from a street)"
        )
    if len(results) > 1:
        seen = total["in_view"][level]
        console.print(
            f"all {len(results)} tracks: {total['length_m']:,.0f} m, {seen['metres']:,.0f} m in "
            f"view at {level} level, {seen['cameras']} distinct cameras"
        )
    console.print(f"[dim]{results[0].method} {ATTRIBUTION}[/]")


def _warn_stale(net: object) -> None:
    """One line on stderr when the coverage run's inputs changed since it ran."""
    from survatlas.coverage.runs import warning

    run = getattr(net, "run", None)
    if run is not None and run.stale:
        click.echo(warning(run), err=True)


def _table(routes: list[Route], level: str, title: str) -> Table:
    """Routes with metres/cameras in view per computed level (chosen scenario; robust: worst
    case), and the optimised level under every optics scenario."""
    from survatlas.routing.plan import SCENARIO_POLICY

    levels = routes[0].levels if routes else ()
    scenarios = list(routes[0].exposure) if routes else []
    table = Table(title=f"{title}; in view: metres/cameras")
    for col in ("route", "distance", "time", *(_SHORT[lvl] for lvl in levels)):
        table.add_column(col + ("*" if col == _SHORT.get(level) else ""), justify="right")
    table.add_column(f"{_SHORT[level]} m: " + " · ".join(scenarios), justify="right")
    for r in routes:
        cells = [r.kind, f"{r.length_m:,.0f} m", f"{r.time_s / 60:.0f} min"]
        for lvl in levels:
            seen = r.seen(lvl)
            cells.append(f"{seen.metres:,.0f}/{len(seen.cameras)}")
        cells.append(" · ".join(f"{r.seen(level, sc).metres:,.0f}" for sc in scenarios))
        table.add_row(*cells)
    table.caption = escape(
        f"* minimised ({routes[0].scenario if routes else ''}). Scenario policy: "
        + SCENARIO_POLICY)
    return table
