"""How exposed a route is that the user walked or plans (GPX / GeoJSON), and demo route pairs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from survatlas.errors import InputError, RoutingError
from survatlas.geo import haversine_m
from survatlas.routing._plan import (
    Piece,
    snap_nearest,
    solve,
)
from survatlas.routing._search import ENGINES
from survatlas.routing.gpx import route_geojson
from survatlas.routing.network import ATTRIBUTION, DEFAULT_LEVEL, Network
from survatlas.routing.plan import Route, RoutePlan, _check_query, _method, make_route, plan_route


@dataclass
class RouteExposure:
    """The exposure of a given route (a GPX track or GeoJSON line), matched onto the streets."""

    route: Route
    input_length_m: float
    matched_m: float
    off_network_m: float
    points: int
    unmatched_points: int
    method: str
    coverage_run: dict[str, Any] | None = None

    def to_geojson(self) -> dict[str, Any]:
        """The matched route and its stretches in view as a GeoJSON FeatureCollection."""
        return route_geojson([self.route], self.method, ATTRIBUTION)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            **self.route.to_dict(),
            "input_length_m": round(self.input_length_m, 1),
            "matched_m": round(self.matched_m, 1),
            "off_network_m": round(self.off_network_m, 1),
            "points": self.points,
            "unmatched_points": self.unmatched_points,
            "method": self.method,
            "coverage_run": self.coverage_run,
            "attribution": ATTRIBUTION,
        }


def route_exposure(
    net: Network,
    points: Sequence[tuple[float, float]],
    *,
    scenario: str | None = None,
    max_snap_m: float = 50.0,
    engine: str = "astar",
) -> RouteExposure:
    """Exposure figures of a route given as (lat, lon) points.

    Each point snaps to the nearest street within ``max_snap_m``; consecutive snapped points
    are joined by the shortest street path (no longer than 3 × their distance + 2 × the snap
    radius, else the step counts as off the network). Figures cover the matched part.

    Parameters
    ----------
    net : Network
        The network (:func:`load_network`).
    points : sequence of (lat, lon)
        The route, e.g. from :func:`read_route_file` (GPX or GeoJSON).
    scenario : str, optional
        Optics scenario of the headline figures (all are reported).
    max_snap_m : float
        Farthest a point may lie from a street.
    engine : str
        Search engine for the gaps between points.

    Examples
    --------
    ::

        points = read_route_file("walk.gpx")
        print(route_exposure(net, points).to_dict())
    """
    pts = _distinct(points)
    if len(pts) < 2:
        raise InputError("the route has fewer than two distinct points; a route needs at least two")
    level = DEFAULT_LEVEL if DEFAULT_LEVEL in net.exposure.levels else net.exposure.levels[-1]
    scenario = _check_query(net, level, scenario, 1.0, 0, engine)
    net.check_covered(pts, "route point")
    xy = [net.to_xy(lat, lon) for lat, lon in pts]
    anchors = [snap_nearest(net.graph, p, max_snap_m) for p in xy]
    # the streets joining points are found by length alone: any computed scenario will do
    base = scenario if scenario in net.exposure.scenarios else net.exposure.default_scenario()
    pricer, search = net.pricer(base, level), ENGINES[engine].search
    pieces: list[Piece] = []
    off = 0.0
    for (p, q), (a, b) in zip(pairwise(xy), pairwise(anchors), strict=True):
        step = math.dist(p, q)
        path = None
        if a is not None and b is not None:
            path = solve(pricer, 0.0, a, b, search, 3 * step + 2 * max_snap_m + 1.0)
        if path is None:
            off += step
        else:
            pieces.extend(path.pieces)
    if not pieces:
        raise RoutingError(
            f"no part of the route lies within {max_snap_m:.0f} m of a street usable for the "
            f"{net.graph.profile.name} profile in this store"
        )
    lat, lon = np.array(pts).T
    route = make_route(net, pieces, "given", 0.0, scenario)
    return RouteExposure(
        route=route,
        input_length_m=float(haversine_m(lon[:-1], lat[:-1], lon[1:], lat[1:]).sum()),
        matched_m=route.length_m,
        off_network_m=off,
        points=len(pts),
        unmatched_points=sum(a is None for a in anchors),
        method=(
            f"points snapped to streets within {max_snap_m:.0f} m and joined by shortest street "
            f"paths; {_method(net)}"
        ),
        coverage_run=net.run.to_dict() if net.run else None,
    )


def total_exposure(results: Sequence[RouteExposure]) -> dict[str, Any]:
    """The figures of several routes taken together (e.g. every track of a GPX file).

    Lengths and metres in view add up per scenario and level; cameras are the distinct devices
    seeing any of the routes (a camera seen on two tracks counts once).
    """
    first = results[0].route
    levels, scenarios = first.levels, list(first.exposure)
    total_m = sum(r.route.length_m for r in results)
    in_view = {}
    for lvl in levels:
        metres = sum(r.route.seen(lvl).metres for r in results)
        cams = sorted({c for r in results for c in r.route.seen(lvl).cameras})
        in_view[lvl] = {
            "metres": round(metres, 1),
            "share": round(metres / total_m, 4) if total_m else 0.0,
            "cameras": len(cams),
            "camera_ids": cams,
        }
    return {
        "tracks": len(results),
        "length_m": round(total_m, 1),
        "input_length_m": round(sum(r.input_length_m for r in results), 1),
        "matched_m": round(sum(r.matched_m for r in results), 1),
        "off_network_m": round(sum(r.off_network_m for r in results), 1),
        "scenario": first.scenario,
        "in_view": in_view,
        "by_scenario": {sc: {lvl: round(sum(r.route.seen(lvl, sc).metres for r in results), 1)
                             for lvl in levels} for sc in scenarios},
    }


def _distinct(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for lat, lon in points:
        if not out or out[-1] != (lat, lon):
            out.append((float(lat), float(lon)))
    return out


def find_example_pair(
    net: Network,
    *,
    level: str = DEFAULT_LEVEL,
    scenario: str | None = None,
    max_detour: float = 1.25,
    samples: int = 200,
    min_m: float = 400.0,
    max_m: float = 2000.0,
    seed: int = 0,
) -> RoutePlan | None:
    """A pair of points where the least-exposed route avoids cameras the shortest passes.

    Samples ``samples`` node pairs of the largest connected piece of the network, ``min_m`` to
    ``max_m`` apart, and keeps the plan avoiding most cameras (then most metres in view).
    Returns None when no sampled pair avoids anything.
    """
    g = net.graph
    rng = np.random.default_rng(seed)
    main = np.flatnonzero(g.component == np.bincount(g.component).argmax())
    best, best_key = None, (0, 0.0)
    for _ in range(samples):
        i, j = rng.choice(main, 2, replace=False)
        if not min_m <= math.dist(g.node_xy[i], g.node_xy[j]) <= max_m:
            continue
        plan = plan_route(
            net,
            net.to_latlon(g.node_xy[i]),
            net.to_latlon(g.node_xy[j]),
            level=level,
            scenario=scenario,
            max_detour=max_detour,
        )
        short, least = plan.shortest.seen(level), plan.least_exposed.seen(level)
        key = (len(set(short.cameras) - set(least.cameras)), short.metres - least.metres)
        if key > best_key:
            best, best_key = plan, key
    return best
