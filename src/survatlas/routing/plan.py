"""Shortest and least-exposed routes between two points."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from survatlas.errors import InputError, RoutingError
from survatlas.routing import figures
from survatlas.routing._exposure import (
    LEVELS,
    check_level,
)
from survatlas.routing._lines import _join, _piece_line, route_line
from survatlas.routing._plan import (
    Anchor,
    Path,
    Piece,
    Pricer,
    anchor_component,
    closest_gap,
    least_exposure,
    pareto_front,
    piece_arrays,
    reprice,
    snap_in_component,
    snap_nearest,
    solve,
)
from survatlas.routing._robust import (
    ROBUST,
    pick_robust,
    worst_case,
)
from survatlas.routing._search import ENGINES
from survatlas.routing.gpx import route_geojson
from survatlas.routing.network import (
    ATTRIBUTION,
    DEFAULT_LEVEL,
    METHOD,
    SNAP_MAX_M,
    Network,
)

SCENARIOS = ("best", "typical", "worst")
#: the robust route's slack: the scenarios' own routes are not searched when no route within
#: the detour can be less exposed in the worst case by more than this (metres)
ROBUST_SLACK_M = 0.01
#: what ``route --scenario`` accepts
ROUTE_SCENARIOS = (*SCENARIOS, ROBUST)
SCENARIO_POLICY = (
    "robust (the default when the coverage run has several optics scenarios): the least-exposed "
    "route minimises the worst case over the scenarios (best, typical, worst optics for cameras "
    "of unknown optics) and is never more exposed in the worst case than the shortest route; "
    "best, typical or worst: minimise exposure under that scenario only. Every route reports "
    "its exposure under each scenario."
)


@dataclass(frozen=True)
class Snap:
    """Where a given point joined the street graph."""

    given: tuple[float, float]
    snapped: tuple[float, float]
    distance_m: float
    street_id: int
    street_name: str | None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lat/lon order)."""
        return {
            "given": {"lat": self.given[0], "lon": self.given[1]},
            "snapped": {"lat": self.snapped[0], "lon": self.snapped[1]},
            "distance_m": round(self.distance_m, 1),
            "street_id": self.street_id,
            "street_name": self.street_name,
        }


@dataclass(frozen=True)
class Seen:
    """Metres in view and the distinct cameras seeing them (one scenario, one level)."""

    metres: float
    cameras: tuple[int, ...]


@dataclass(frozen=True)
class Stretch:
    """A stretch of a route in view: positions along the route, cameras, lon/lat geometry."""

    level: str
    from_m: float
    to_m: float
    cameras: tuple[int, ...]
    geometry: shapely.LineString | shapely.MultiLineString


@dataclass
class Route:
    """A route with its exposure figures.

    ``exposure[scenario][level]`` gives metres in view and cameras for every scenario of the
    coverage results; ``stretches`` are the exposed stretches for the chosen scenario, every level.
    """

    kind: str
    length_m: float
    time_s: float
    geometry: shapely.LineString | shapely.MultiLineString
    exposure: dict[str, dict[str, Seen]]
    lam: float
    scenario: str
    pieces: tuple[Piece, ...] = ()
    #: the stretches, or a function computing them on first use of :attr:`stretches`
    _stretches: list[Stretch] | Callable[[], list[Stretch]] = field(
        default_factory=list, repr=False, compare=False
    )

    @property
    def stretches(self) -> list[Stretch]:
        """The exposed stretches for the chosen scenario, every level, in route order.

        Computed on first use (cutting their geometry is most of a route's cost, and the web
        map's route figures do not need them).
        """
        if callable(self._stretches):
            self._stretches = self._stretches()
        return self._stretches

    @property
    def levels(self) -> tuple[str, ...]:
        """The DORI levels with figures (those the coverage run computed)."""
        first = next(iter(self.exposure.values()), {})
        return tuple(lvl for lvl in LEVELS if lvl in first)

    def seen(self, level: str, scenario: str | None = None) -> Seen:
        """Metres in view and cameras at ``level`` (chosen scenario by default).

        For the ``robust`` scenario: the figures of the scenario in which the route is most
        exposed at ``level`` (the worst case).
        """
        scenario = scenario or self.scenario
        if scenario == ROBUST:
            return max((by[level] for by in self.exposure.values()),
                       key=lambda s: (s.metres, len(s.cameras)))
        return self.exposure[scenario][level]

    def _in_view(self, level: str) -> dict[str, Any]:
        seen = self.seen(level)
        return {
            "metres": round(seen.metres, 1),
            "share": round(seen.metres / self.length_m, 4) if self.length_m else 0.0,
            "cameras": len(seen.cameras),
            "camera_ids": list(seen.cameras),
            "metres_across_scenarios": [round(v, 1) for v in self.metres_range(level)],
        }

    def metres_range(self, level: str) -> tuple[float, float]:
        """Lowest and highest metres in view at ``level`` across the optics scenarios."""
        values = [by_level[level].metres for by_level in self.exposure.values()]
        return min(values), max(values)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (no geometry except the stretches' positions)."""
        return {
            "kind": self.kind,
            "length_m": round(self.length_m, 1),
            "time_min": round(self.time_s / 60, 1),
            "lambda": self.lam,
            "scenario": self.scenario,
            "in_view": {level: self._in_view(level) for level in self.levels},
            "by_scenario": {
                sc: {lvl: round(s.metres, 1) for lvl, s in by_level.items()}
                for sc, by_level in self.exposure.items()
            },
            "cameras_by_scenario": {
                sc: {lvl: len(s.cameras) for lvl, s in by_level.items()}
                for sc, by_level in self.exposure.items()
            },
        }


@dataclass
class RoutePlan:
    """The answer to a route query: the shortest and least-exposed routes (and alternatives)."""

    profile: str
    scenario: str
    level: str
    max_detour: float
    origin: Snap
    destination: Snap
    shortest: Route
    least_exposed: Route
    alternatives: list[Route]
    searches: int
    method: str
    #: the coverage run the exposure comes from (area, levels, scenarios, ``stale``)
    coverage_run: dict[str, Any] | None = None

    @property
    def routes(self) -> list[Route]:
        """Shortest, least-exposed, then the alternatives."""
        return [self.shortest, self.least_exposed, *self.alternatives]

    def to_geojson(self) -> dict[str, Any]:
        """The routes and their stretches in view as a GeoJSON FeatureCollection (web map)."""
        return route_geojson(self.routes, self.method, ATTRIBUTION)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json`` and the web map."""
        short, least = self.shortest, self.least_exposed
        return {
            "profile": self.profile,
            "scenario": self.scenario,
            "level": self.level,
            "max_detour": self.max_detour,
            "origin": self.origin.to_dict(),
            "destination": self.destination.to_dict(),
            "routes": [r.to_dict() for r in self.routes],
            "price_of_privacy": figures.price_of_privacy(
                short.length_m, least.length_m,
                (short.seen(self.level).metres, short.seen(self.level).cameras),
                (least.seen(self.level).metres, least.seen(self.level).cameras),
            ),
            "scenario_policy": SCENARIO_POLICY,
            "scenarios_missing": [s for s in SCENARIOS if s not in short.exposure],
            "searches": self.searches,
            "method": self.method,
            "coverage_run": self.coverage_run,
            "attribution": ATTRIBUTION,
        }


def plan_route(
    net: Network,
    origin: tuple[float, float],
    destination: tuple[float, float],
    *,
    level: str = DEFAULT_LEVEL,
    scenario: str | None = None,
    max_detour: float = 1.25,
    alternatives: int = 0,
    engine: str = "astar",
    max_snap_m: float = SNAP_MAX_M,
    figure_levels: Sequence[str] | None = None,
) -> RoutePlan:
    """The shortest route and the least-exposed route within ``max_detour``.

    Parameters
    ----------
    net
        The network (:func:`load_network`).
    origin, destination
        (lat, lon) in WGS 84; each snaps to the nearest reachable point of the graph.
    level
        The DORI level whose metres in view are minimised.
    scenario
        The optics scenario (default ``typical`` when present).
    max_detour
        The least-exposed route is at most ``max_detour`` times as long as the shortest.
    alternatives
        Also return up to this many routes of the Pareto front (length vs exposure).
    engine
        ``astar`` (default), ``scipy`` or ``networkx``.
    figure_levels
        The DORI levels the routes carry figures for (default every level of the coverage
        run; the web map asks for ``level`` alone). Must include ``level``.

    Examples
    --------
    ::

        plan = plan_route(net, (60.17217, 24.94728), (60.16751, 24.93620), scenario="robust")
        print(plan.shortest.length_m, plan.least_exposed.length_m)
    """
    scenario = _check_query(net, level, scenario, max_detour, alternatives, engine)
    if figure_levels is not None and level not in figure_levels:
        raise InputError(f"the figure levels {list(figure_levels)} must include {level!r}")
    net.check_covered([origin, destination], "route end")
    a, b, snaps = _snap_pair(net, origin, destination, max_snap_m)
    search = ENGINES[engine].search
    robust = scenario == ROBUST
    pricers = [net.pricer(sc, level) for sc in net.exposure.scenarios] if robust else []
    pricer = net.worst_pricer(level) if robust else net.pricer(scenario, level)

    def solve_at(lam: float, bound: float, pricer: Pricer = pricer) -> Path | None:
        return solve(pricer, lam, a, b, search, bound)

    shortest = solve_at(0.0, np.inf)
    if shortest is None:
        raise RoutingError(_no_route_message(net, snaps))
    limit = max_detour * shortest.length + 1e-6
    least, searches, floor = least_exposure(solve_at, shortest, limit)
    if robust:
        worst = net.worst_pricer(level)
        alike = [worst.searches_alike(p, a, b) for p in pricers]
        least, more = _robust_least(solve_at, pricers, (shortest, least, floor), limit, alike)
        searches += more
    elif least.exposed > shortest.exposed:  # never more exposed than the shortest
        least = shortest
    alts: list[Path] = []
    if alternatives:
        front, more = pareto_front(solve_at, shortest, limit, 4 * alternatives + 8)
        front = [p for p in front if not (_same(p, shortest) or _same(p, least))]
        alts, searches = _pick(front, alternatives), searches + more

    def make(path: Path, kind: str) -> Route:
        return make_route(net, path.pieces, kind, path.lam, scenario, figure_levels,
                          path.arrays())

    return RoutePlan(
        profile=net.graph.profile.name,
        scenario=scenario,
        level=level,
        max_detour=max_detour,
        origin=snaps[0],
        destination=snaps[1],
        shortest=make(shortest, "shortest"),
        least_exposed=make(least, "least-exposed"),
        alternatives=[make(p, f"alt. {i + 1}") for i, p in enumerate(alts)],
        searches=searches + 1,
        method=_method(net),
        coverage_run=net.run.to_dict() if net.run else None,
    )


def _robust_least(
    solve_at: Callable[[float, float, Pricer], Path | None],
    pricers: Sequence[Pricer],
    found: tuple[Path, Path, float],
    limit: float,
    alike: Sequence[bool],
) -> tuple[Path, int]:
    """The robust route (:func:`pick_robust`) among the shortest route, the least exposed
    under the worst-case pricing and each scenario's least-exposed route within ``limit``;
    and the searches made.

    ``found``: the shortest route, the least exposed under the worst-case pricing and the
    floor of that search (:func:`least_exposure`). A scenario whose ``alike`` is true prices
    the query as the worst-case pricing does (``WorstPricer.searches_alike``): its route is
    the least exposed already found, not searched again; and since every path is then at
    least as exposed in the worst case as under that scenario, the floor bounds the worst
    case of every path within ``limit``. When the best candidate so far is within
    :data:`ROBUST_SLACK_M` of that floor, no other route can be less exposed by more than
    that, and the other scenarios are not searched.
    """
    shortest, least, floor = found
    candidates = [shortest, least]
    worst = [worst_case(pricers, c) for c in candidates]
    if any(alike) and min(worst) - floor <= ROBUST_SLACK_M:
        return pick_robust(candidates, pricers, limit, worst), 0
    searches = 0
    for p, same in zip(pricers, alike, strict=True):
        if same:
            continue
        route, more, _ = least_exposure(
            lambda lam, bound, p=p: solve_at(lam, bound, p), reprice(p, shortest), limit)
        searches += more
        candidates.append(route)
        worst.append(worst_case(pricers, route))
    return pick_robust(candidates, pricers, limit, worst), searches


def _method(net: Network) -> str:
    prof = net.graph.profile
    text = METHOD.format(speed=prof.speed_mps * 3.6, profile=prof.name)
    return f"{text} Exposure input: {net.exposure.method}. Metric CRS: {net.graph.crs.name}."


def _check_query(
    net: Network,
    level: str,
    scenario: str | None,
    max_detour: float,
    alternatives: int,
    engine: str,
) -> str:
    check_level(level)
    if scenario is not None and scenario not in ROUTE_SCENARIOS:
        raise InputError(f"unknown scenario {scenario!r}; use one of {', '.join(ROUTE_SCENARIOS)}")
    if not (math.isfinite(max_detour) and max_detour >= 1.0):
        raise InputError(f"max detour {max_detour} must be a number ≥ 1 (1.25 = 25 % longer)")
    if alternatives < 0:
        raise InputError("the number of alternatives cannot be negative")
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    scenario = scenario or default_scenario(net)
    for sc in net.exposure.scenarios if scenario == ROBUST else (scenario,):
        net.exposure.intervals(sc, level)  # raises for a scenario or level not computed
    return scenario


def default_scenario(net: Network) -> str:
    """``robust`` when the coverage run has several optics scenarios, else its only one."""
    return ROBUST if len(net.exposure.scenarios) > 1 else net.exposure.default_scenario()


def _same(p: Path, q: Path) -> bool:
    return abs(p.length - q.length) < 1e-3 and abs(p.exposed - q.exposed) < 1e-3


def _pick(front: list[Path], n: int) -> list[Path]:
    if n <= 0 or not front:
        return []
    if len(front) <= n:
        return front
    idx = np.unique(np.round(np.linspace(0, len(front) - 1, n)).astype(int))
    return [front[i] for i in idx]


def _snap_pair(
    net: Network,
    origin: tuple[float, float],
    destination: tuple[float, float],
    max_snap: float,
) -> tuple[Anchor, Anchor, tuple[Snap, Snap]]:
    g = net.graph
    xa, xb = net.to_xy(*origin), net.to_xy(*destination)
    a = snap_nearest(g, xa, max_snap) or _outside(net, origin, "origin", max_snap)
    b = snap_nearest(g, xb, max_snap) or _outside(net, destination, "destination", max_snap)
    ca, cb = anchor_component(g, a), anchor_component(g, b)
    if ca != cb:
        options = [
            (a, snap_in_component(g, xb, ca, max_snap)),
            (snap_in_component(g, xa, cb, max_snap), b),
        ]
        options = [(p, q) for p, q in options if p is not None and q is not None]
        if not options:
            raise RoutingError(_gap_message(net, ca, cb))
        a, b = min(options, key=lambda pq: pq[0].dist_m + pq[1].dist_m)  # type: ignore[union-attr]
    return a, b, (_snap(net, origin, a), _snap(net, destination, b))


def _snap(net: Network, given: tuple[float, float], anchor: Anchor) -> Snap:
    street = int(net.graph.edge_street[anchor.edge])
    return Snap(
        given, net.to_latlon(anchor.xy), anchor.dist_m, street, net.graph.street_names.get(street)
    )


def _outside(net: Network, point: tuple[float, float], what: str, max_snap: float) -> Anchor:
    s, w, n, e = net.bounds_latlon()
    raise RoutingError(
        f"the {what} ({point[0]:.6f}, {point[1]:.6f}) is more than {max_snap:.0f} m from every "
        f"street usable for the {net.graph.profile.name} profile; the streets cover lat "
        f"{s:.4f}..{n:.4f}, lon {w:.4f}..{e:.4f}. Choose a point inside, or import data for "
        "this area (give LAT,LON, latitude first)"
    )


def _gap_message(net: Network, ca: int, cb: int) -> str:
    na, nb, dist = closest_gap(net.graph, ca, cb)
    pa, pb = net.to_latlon(net.graph.node_xy[na]), net.to_latlon(net.graph.node_xy[nb])
    return (
        f"origin and destination lie on parts of the {net.graph.profile.name} network that do not "
        f"connect; the closest gap is {dist:.0f} m wide, between ({pa[0]:.6f}, {pa[1]:.6f}) on "
        f"{_node_street(net, na)} and ({pb[0]:.6f}, {pb[1]:.6f}) on {_node_street(net, nb)}. "
        "The data may lack a connecting way (a crossing, bridge or path), or the only "
        "connection is not usable by this profile"
    )


def _node_street(net: Network, node: int) -> str:
    g = net.graph
    e = int(np.flatnonzero((g.edge_u == node) | (g.edge_v == node))[0])
    street = int(g.edge_street[e])
    name = g.street_names.get(street)
    return f"{name!r} (street {street})" if name else f"street {street}"


def _no_route_message(net: Network, snaps: tuple[Snap, Snap]) -> str:
    return (
        f"no {net.graph.profile.name} route from {snaps[0].street_name or snaps[0].street_id} to "
        f"{snaps[1].street_name or snaps[1].street_id}: the streets connect but one-way rules "
        "forbid every way through; try --profile walk"
    )


def make_route(
    net: Network, pieces: Sequence[Piece], kind: str, lam: float, scenario: str,
    levels: Sequence[str] | None = None,
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Route:
    """Figures and geometry of a route given as pieces ``(edge, t_from, t_to)``, with figures
    for ``levels`` (default every level of the coverage run); ``arrays``: the pieces as
    arrays (:func:`piece_arrays`), when already made."""
    g = net.graph
    arrays = piece_arrays(pieces) if arrays is None else arrays
    length = float(sum(np.abs(arrays[2] - arrays[1]).tolist()))  # in order, as floats
    scenarios = net.exposure.scenarios or (scenario,)
    levels = tuple(lvl for lvl in net.exposure.levels if levels is None or lvl in levels)
    exposure = {sc: {lvl: _seen(net, arrays, sc, lvl) for lvl in levels} for sc in scenarios}
    shown = {lvl: scenario if scenario != ROBUST else
             max(scenarios, key=lambda sc, lvl=lvl: exposure[sc][lvl].metres) for lvl in levels}

    def stretches() -> list[Stretch]:
        return [s for lvl in levels for s in _stretches(net, pieces, shown[lvl], lvl)]

    return Route(
        kind=kind,
        length_m=length,
        time_s=length / g.profile.speed_mps,
        geometry=route_line(g, pieces, arrays, net.edge_coords_lonlat(), net._to_ll.transform)
        if pieces else shapely.LineString(),
        exposure=exposure,
        lam=lam,
        scenario=scenario,
        pieces=tuple(pieces),
        _stretches=stretches,
    )


def _to_lonlat(net: Network, geom: shapely.Geometry) -> shapely.Geometry:
    if geom.is_empty:
        return geom
    transformer = net._to_ll
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(*xy.T)))


def _clipped(
    net: Network, pieces: Sequence[Piece], scenario: str, level: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The seen intervals met by the route's pieces (see :meth:`SeenIndex.clipped`), in route
    order; pieces with no metre in view (``seen_between``) are left out."""
    index = net.exposure.index(scenario, level)
    if not pieces:
        return index.clipped(np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    g = net.graph
    e, t0, t1 = piece_arrays(pieces)
    streets, a, b = g.edge_street[e], g.edge_start[e] + t0, g.edge_start[e] + t1
    seen = np.flatnonzero(index.seen_between(streets, a, b) > 0)
    which, interval, lo, hi = index.clipped(streets[seen], a[seen], b[seen])
    return seen[which], interval, lo, hi


def _seen(
    net: Network, arrays: tuple[np.ndarray, np.ndarray, np.ndarray], scenario: str, level: str
) -> Seen:
    """Metres in view and cameras of a route's pieces (as arrays: :func:`piece_arrays`)."""
    pricer = net.pricer(scenario, level)
    if not len(arrays[0]):
        return Seen(0.0, ())
    return Seen(*pricer.seen_and_cameras(*arrays))


def _stretches(net: Network, pieces: Sequence[Piece], scenario: str, level: str) -> list[Stretch]:
    index = net.exposure.index(scenario, level)
    g = net.graph
    found: list[tuple[float, float, tuple[int, ...], shapely.LineString]] = []
    at = np.concatenate([[0.0], np.cumsum([abs(p[2] - p[1]) for p in pieces])])
    which, interval, c_lo, c_hi = _clipped(net, pieces, scenario, level)
    for i, j, lo, hi in zip(which.tolist(), interval.tolist(), c_lo.tolist(), c_hi.tolist(),
                            strict=True):
        e, t0, t1 = pieces[i]
        base = float(g.edge_start[e])
        a, b = lo - base, hi - base
        d0, d1 = (a - t0, b - t0) if t1 >= t0 else (t0 - b, t0 - a)
        line = _piece_line(g, (e, a, b) if t1 >= t0 else (e, b, a))
        found.append((at[i] + d0, at[i] + d1, index.camera_tuple(j), line))
    found.sort(key=lambda f: f[0])
    merged: list[list[Any]] = []
    for start, end, ids, line in found:
        if merged and start - merged[-1][1] < 1e-6:
            merged[-1][1] = end
            merged[-1][2] = merged[-1][2] | set(ids)
            merged[-1][3].append(line)
        else:
            merged.append([start, end, set(ids), [line]])
    return [
        Stretch(level, a, b, tuple(sorted(c)), _to_lonlat(net, _join(lines)))
        for a, b, c, lines in merged
    ]


