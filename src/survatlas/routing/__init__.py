"""Exposure and least-surveillance routing: "how exposed is my route, what is the least-watched way?"

The exposure input
------------------
Routing reads the coverage results as plain data, :data:`SeenIntervals`: for one optics scenario
and one DORI level, a mapping ``street_id -> [(start_m, end_m, camera_ids), ...]``. Positions are
metres along the street's geometry from its first vertex, measured in the metric CRS (local UTM
of the data, :func:`survatlas.geo.local_crs`); the intervals are sorted and do not overlap, and
``camera_ids`` are the ``devices.id`` of every camera seeing that stretch. An :class:`Exposure`
holds one :data:`SeenIntervals` per (scenario, level); levels are cumulative (a stretch seen at
identification detail is also seen at recognition, observation and detection detail).
:func:`load_exposure` reads it from the store's ``street_seen`` table (written by
``survatlas coverage``); tests and benchmarks build it directly or with :func:`seen_from_discs`.

Routing
-------
:func:`load_network` builds the street graph of a profile (walk or bike) and loads the exposure;
:func:`plan_route` returns the shortest route and the least-exposed route whose length stays
within ``max_detour`` times the shortest (cost ``length + λ·exposed_length``, λ found by a
bisection along the convex hull of length vs exposure), optionally the Pareto front;
:func:`route_exposure` measures a route the user walked or plans (GPX / GeoJSON: :func:`read_route_file`,
:func:`write_route_file`). Searches are A* over the graph's CSR arrays (numba), with
scipy's Dijkstra and networkx as interchangeable engines (networkx is the test oracle).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.ops import substring

from survatlas.errors import InputError, RoutingError
from survatlas.geo import check_lonlat, haversine_m, local_crs, to_lonlat, to_metric
from survatlas.routing._exposure import (
    LEVELS,
    Exposure,
    Interval,
    SeenIntervals,
    check_level,
    coverage_crs_wkt,
    load_exposure,
    normalise_intervals,
    seen_from_discs,
)
from survatlas.routing._graph import PROFILES, StreetGraph, build_graph
from survatlas.routing._plan import (
    Anchor,
    Path,
    Piece,
    Pricer,
    anchor_component,
    closest_gap,
    least_exposure,
    pareto_front,
    snap_in_component,
    snap_nearest,
    solve,
)
from survatlas.routing._search import ENGINES
from survatlas.routing.gpx import read_route_file, route_geojson, write_route_file
from survatlas.store import Store
from survatlas.store.gate import audience_clause, read_layer

__all__ = [
    "LEVELS",
    "PROFILES",
    "Exposure",
    "Interval",
    "Network",
    "Route",
    "RouteExposure",
    "RoutePlan",
    "SeenIntervals",
    "Snap",
    "build_graph",
    "find_example_pair",
    "load_exposure",
    "load_network",
    "make_route",
    "network_from_streets",
    "normalise_intervals",
    "plan_route",
    "read_route_file",
    "route_exposure",
    "route_window",
    "seen_from_discs",
    "store_crs",
    "write_route_file",
]
PROFILE_NAMES = tuple(PROFILES)

#: Points farther than this from every usable street are "outside the data".
SNAP_MAX_M = 300.0
#: Default DORI level to minimise: any view at all.
DEFAULT_LEVEL = "detection"
ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
METHOD = (
    "Route exposure = metres of the route along street stretches that the coverage results "
    "mark as seen at the DORI level (levels are cumulative), per optics scenario; cameras = "
    "distinct devices seeing any of those stretches. Least-exposed route: minimum of "
    "length + λ·exposed length with λ found by bisection along the convex hull of "
    "(length, exposure) so that length ≤ max-detour × shortest (a Lagrangian method: routes "
    "off the hull are not considered). Time at {speed:.1f} km/h ({profile})."
)


@dataclass
class Network:
    """A street graph and its exposure, ready for any number of route queries."""

    graph: StreetGraph
    exposure: Exposure
    _pricers: dict[tuple[str, str], Pricer] = field(default_factory=dict, repr=False)
    _to_xy: Transformer = field(init=False, repr=False)
    _to_ll: Transformer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._to_xy, self._to_ll = to_metric(self.graph.crs), to_lonlat(self.graph.crs)

    def pricer(self, scenario: str, level: str) -> Pricer:
        """Edge lengths and exposed metres for ``scenario`` and ``level`` (cached)."""
        key = (scenario, level)
        if key not in self._pricers:
            self._pricers[key] = Pricer(self.graph, self.exposure.index(scenario, level))
        return self._pricers[key]

    def to_xy(self, lat: float, lon: float) -> tuple[float, float]:
        """Metric coordinates of a WGS 84 point."""
        check_lonlat(lon, lat)
        x, y = self._to_xy.transform(lon, lat)
        return float(x), float(y)

    def to_latlon(self, xy: Sequence[float]) -> tuple[float, float]:
        """WGS 84 (lat, lon) of a metric point."""
        lon, lat = self._to_ll.transform(xy[0], xy[1])
        return float(lat), float(lon)

    def bounds_latlon(self) -> tuple[float, float, float, float]:
        """(south, west, north, east) of the graph."""
        (x0, y0), (x1, y1) = self.graph.node_xy.min(axis=0), self.graph.node_xy.max(axis=0)
        s, w = self.to_latlon((x0, y0))
        n, e = self.to_latlon((x1, y1))
        return s, w, n, e


def load_network(
    store: Store,
    profile: str = "walk",
    *,
    bbox: tuple[float, float, float, float] | None = None,
    audience: str = "public",
) -> Network:
    """Build the street graph of ``profile`` from the store and load its coverage results.

    Raises
    ------
    RoutingError
        When the store has no coverage results (run ``survatlas coverage`` first) or no street
        usable by the profile.
    """
    exposure = load_exposure(store, audience=audience, bbox=bbox)
    crs = store_crs(store)
    streets = read_layer(store, "streets", bbox, audience=audience)
    if streets.empty:
        w, s, e, n = _street_extent(store, audience)
        raise RoutingError(
            "no street of the store lies near these points (outside the data?); the store's "
            f"streets cover lat {s:.4f}..{n:.4f}, lon {w:.4f}..{e:.4f}: choose points inside, or "
            "import data for this area (give LAT,LON, latitude first)"
        )
    return Network(build_graph(streets, profile, crs=crs), exposure)


def _street_extent(store: Store, audience: str) -> tuple[float, float, float, float]:
    row = store.query(
        "SELECT min(min_x), min(min_y), max(max_x), max(max_y) FROM streets "
        f"WHERE {audience_clause(audience)}"
    )[0]
    if row[0] is None:
        raise RoutingError(
            "the store holds no streets: import an OSM extract first (survatlas import osm FILE)"
        )
    return row[0], row[1], row[2], row[3]


def store_crs(store: Store) -> CRS:
    """The metric CRS in which a store's seen intervals are measured.

    The CRS recorded by the latest coverage run (``coverage_runs.crs``) when there is one, else
    the local UTM zone of the centre of all the store's streets. The routing graph uses it
    whatever window a query loads, so street positions line up with ``street_seen``.
    """
    wkt = coverage_crs_wkt(store)
    if wkt:
        return CRS.from_wkt(wkt)
    w, s, e, n = _street_extent(store, "public")
    return local_crs((w + e) / 2, (s + n) / 2)


def route_window(
    points: Sequence[tuple[float, float]], margin_m: float | None = None
) -> tuple[float, float, float, float]:
    """A (west, south, east, north) box around (lat, lon) points for :func:`load_network`.

    The margin defaults to the larger of 1 km and the distance between the farthest points, so
    that detours of up to 2× stay inside; streets crossing the box edge are kept whole.
    """
    for lat, lon in points:
        check_lonlat(lon, lat)
    lat, lon = np.array(points, dtype=float).T
    span = float(haversine_m(lon.min(), lat.min(), lon.max(), lat.max()))
    margin = margin_m if margin_m is not None else max(1000.0, span)
    dlat = margin / 111_320.0
    dlon = margin / (111_320.0 * max(math.cos(math.radians(float(lat.mean()))), 0.01))
    return (
        max(float(lon.min()) - dlon, -180.0),
        max(float(lat.min()) - dlat, -90.0),
        min(float(lon.max()) + dlon, 180.0),
        min(float(lat.max()) + dlat, 90.0),
    )


def network_from_streets(
    streets: gpd.GeoDataFrame,
    exposure: Exposure | None = None,
    profile: str = "walk",
    *,
    crs: CRS | None = None,
) -> Network:
    """A :class:`Network` from a streets GeoDataFrame and an :class:`Exposure` (no cameras if None)."""
    graph = build_graph(streets, profile, crs=crs)
    return Network(graph, exposure if exposure is not None else Exposure({}))


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
    stretches: list[Stretch]
    lam: float
    scenario: str
    pieces: tuple[Piece, ...] = ()

    def seen(self, level: str, scenario: str | None = None) -> Seen:
        """Metres in view and cameras at ``level`` (chosen scenario by default)."""
        return self.exposure[scenario or self.scenario][level]

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
            "in_view": {
                level: {
                    "metres": round(self.seen(level).metres, 1),
                    "share": round(self.seen(level).metres / self.length_m, 4)
                    if self.length_m
                    else 0.0,
                    "cameras": len(self.seen(level).cameras),
                    "camera_ids": list(self.seen(level).cameras),
                    "metres_across_scenarios": [round(v, 1) for v in self.metres_range(level)],
                }
                for level in LEVELS
            },
            "by_scenario": {
                sc: {lvl: round(s.metres, 1) for lvl, s in by_level.items()}
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
            "price_of_privacy": {
                "extra_metres": round(least.length_m - short.length_m, 1),
                "detour": round(least.length_m / short.length_m, 3) if short.length_m else 1.0,
                "metres_in_view_avoided": round(
                    short.seen(self.level).metres - least.seen(self.level).metres, 1
                ),
                "cameras_avoided": len(
                    set(short.seen(self.level).cameras) - set(least.seen(self.level).cameras)
                ),
            },
            "searches": self.searches,
            "method": self.method,
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
    """
    scenario = _check_query(net, level, scenario, max_detour, alternatives, engine)
    a, b, snaps = _snap_pair(net, origin, destination, max_snap_m)
    pricer = net.pricer(scenario, level)
    search = ENGINES[engine].search

    def solve_at(lam: float, bound: float) -> Path | None:
        return solve(pricer, lam, a, b, search, bound)

    shortest = solve_at(0.0, np.inf)
    if shortest is None:
        raise RoutingError(_no_route_message(net, snaps))
    limit = max_detour * shortest.length + 1e-6
    least, searches = least_exposure(solve_at, shortest, limit)
    alts: list[Path] = []
    if alternatives:
        front, more = pareto_front(solve_at, shortest, limit, 4 * alternatives + 8)
        front = [p for p in front if not (_same(p, shortest) or _same(p, least))]
        alts, searches = _pick(front, alternatives), searches + more

    def make(path: Path, kind: str) -> Route:
        return make_route(net, path.pieces, kind, path.lam, scenario)

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
    )


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
    if not (math.isfinite(max_detour) and max_detour >= 1.0):
        raise InputError(f"max detour {max_detour} must be a number ≥ 1 (1.25 = 25 % longer)")
    if alternatives < 0:
        raise InputError("the number of alternatives cannot be negative")
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    scenario = scenario or net.exposure.default_scenario()
    net.exposure.intervals(scenario, level)  # raises for an unknown scenario
    return scenario


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
    net: Network, pieces: Sequence[Piece], kind: str, lam: float, scenario: str
) -> Route:
    """Figures and geometry of a route given as pieces ``(edge, t_from, t_to)``."""
    g = net.graph
    lines = [_piece_line(g, p) for p in pieces]
    length = float(sum(abs(p[2] - p[1]) for p in pieces))
    scenarios = net.exposure.scenarios or (scenario,)
    exposure = {sc: {lvl: _seen(net, pieces, sc, lvl) for lvl in LEVELS} for sc in scenarios}
    stretches = [s for lvl in LEVELS for s in _stretches(net, pieces, scenario, lvl)]
    return Route(
        kind=kind,
        length_m=length,
        time_s=length / g.profile.speed_mps,
        geometry=_to_lonlat(net, _join(lines)),
        exposure=exposure,
        stretches=stretches,
        lam=lam,
        scenario=scenario,
        pieces=tuple(pieces),
    )


def _piece_line(g: StreetGraph, piece: Piece) -> shapely.LineString:
    e, t0, t1 = piece
    if min(t0, t1) == 0.0 and max(t0, t1) == g.edge_length[e]:
        line = g.edge_geom[e]
        return line.reverse() if t1 < t0 else line
    line = substring(g.edge_geom[e], min(t0, t1), max(t0, t1))
    if line.geom_type == "Point":
        line = shapely.LineString([line.coords[0], line.coords[0]])
    return line.reverse() if t1 < t0 else line


def _join(lines: list[shapely.LineString]) -> shapely.LineString | shapely.MultiLineString:
    """Concatenate consecutive lines (a MultiLineString where they do not touch)."""
    if not lines:
        return shapely.LineString()
    xy, which = shapely.get_coordinates(np.asarray(lines, dtype=object), return_index=True)
    first = np.ones(len(xy), bool)
    first[1:] = which[1:] != which[:-1]
    gap = np.hypot(*(xy[1:] - xy[:-1]).T) >= 1e-6
    joint = first.copy()
    joint[1:] &= ~gap  # the first vertex of a line that continues the previous one
    joint[0] = False
    keep = ~joint
    run = np.cumsum(first & ~joint)[keep] - 1
    xy = xy[keep]
    parts = [_linestring(xy[run == r]) for r in range(int(run.max()) + 1)]
    return parts[0] if len(parts) == 1 else shapely.MultiLineString(parts)


def _linestring(xy: np.ndarray) -> shapely.LineString:
    return shapely.LineString(xy if len(xy) > 1 else np.vstack([xy, xy]))


def _to_lonlat(net: Network, geom: shapely.Geometry) -> shapely.Geometry:
    if geom.is_empty:
        return geom
    transformer = net._to_ll
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(*xy.T)))


def _seen_pieces(net: Network, pieces: Sequence[Piece], scenario: str, level: str) -> list[int]:
    """Indices of the pieces with any metre in view."""
    if not pieces:
        return []
    g = net.graph
    e, t0, t1 = (np.array(c) for c in zip(*pieces, strict=True))
    e = e.astype(np.int64)
    base = g.edge_start[e]
    seen = net.exposure.index(scenario, level).seen_between(g.edge_street[e], base + t0, base + t1)
    return np.flatnonzero(seen > 0).tolist()


def _seen(net: Network, pieces: Sequence[Piece], scenario: str, level: str) -> Seen:
    index = net.exposure.index(scenario, level)
    g = net.graph
    metres, cams = 0.0, set()
    for i in _seen_pieces(net, pieces, scenario, level):
        e, t0, t1 = pieces[i]
        s, base = int(g.edge_street[e]), float(g.edge_start[e])
        for lo, hi, ids in index.stretches(s, base + t0, base + t1):
            metres += hi - lo
            cams.update(ids)
    return Seen(metres, tuple(sorted(cams)))


def _stretches(net: Network, pieces: Sequence[Piece], scenario: str, level: str) -> list[Stretch]:
    index = net.exposure.index(scenario, level)
    g = net.graph
    found: list[tuple[float, float, tuple[int, ...], shapely.LineString]] = []
    at = np.concatenate([[0.0], np.cumsum([abs(p[2] - p[1]) for p in pieces])])
    for i in _seen_pieces(net, pieces, scenario, level):
        e, t0, t1 = pieces[i]
        s, base = int(g.edge_street[e]), float(g.edge_start[e])
        for lo, hi, ids in index.stretches(s, base + t0, base + t1):
            a, b = lo - base, hi - base
            d0, d1 = (a - t0, b - t0) if t1 >= t0 else (t0 - b, t0 - a)
            line = _piece_line(g, (e, a, b) if t1 >= t0 else (e, b, a))
            found.append((at[i] + d0, at[i] + d1, ids, line))
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
    """
    pts = _distinct(points)
    if len(pts) < 2:
        raise InputError("the route has fewer than two distinct points; a route needs at least two")
    scenario = _check_query(net, DEFAULT_LEVEL, scenario, 1.0, 0, engine)
    xy = [net.to_xy(lat, lon) for lat, lon in pts]
    anchors = [snap_nearest(net.graph, p, max_snap_m) for p in xy]
    pricer, search = net.pricer(scenario, DEFAULT_LEVEL), ENGINES[engine].search
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
    )


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
