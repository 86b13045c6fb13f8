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

from survatlas.routing._exposure import (
    LEVELS,
    Exposure,
    Interval,
    SeenIntervals,
    load_exposure,
    normalise_intervals,
    seen_from_discs,
)
from survatlas.routing._graph import PROFILES, build_graph
from survatlas.routing.gpx import read_route_file, read_route_tracks, write_route_file
from survatlas.routing.network import (
    ATTRIBUTION,
    Network,
    load_network,
    network_from_streets,
    route_window,
    store_crs,
)
from survatlas.routing.plan import Route, RoutePlan, Snap, make_route, plan_route
from survatlas.routing.walked import (
    RouteExposure,
    find_example_pair,
    route_exposure,
    total_exposure,
)

__all__ = [
    "ATTRIBUTION",
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
    "read_route_tracks",
    "route_exposure",
    "route_window",
    "seen_from_discs",
    "store_crs",
    "total_exposure",
    "write_route_file",
]
