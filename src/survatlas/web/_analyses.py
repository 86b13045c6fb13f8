"""The one place where the web layer calls the coverage and routing analyses.

Each adapter below names the library function it calls and the shape it passes on; when a
library signature differs, only this file changes.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from typing import Any

import shapely

from survatlas import routing
from survatlas.errors import SurvatlasError
from survatlas.publish import coverage_tiles
from survatlas.routing.network import DEFAULT_LEVEL
from survatlas.store import Store
from survatlas.web import _coverage

BBox = tuple[float, float, float, float]


def available() -> dict[str, bool]:
    """Which analyses this build serves (the front end hides the others): all of them."""
    return {"coverage": True, "routing": True}


def coverage_summary(store: Store, level: str, audience: str = "public") -> dict[str, Any]:
    """Summary of the stored run (``survatlas.coverage.results.latest_summary``) for ``level``.

    Adds ``sites_by_category`` and ``streets`` as ``{"share", "low", "high"}`` (typical,
    best, worst optics scenario).
    """
    return _coverage.summary(store, level, audience)


def site_ranking(
    store: Store, category: str | None, level: str, limit: int, audience: str
) -> dict[str, Any]:
    """Sites ranked by the share of their area in view at ``level`` (``share``, ``low``, ``high``)."""
    return _coverage.site_ranking(store, category, level, limit, audience)


def h3_cells(
    store: Store, bbox: BBox, resolution: int, level: str, audience: str
) -> dict[str, Any]:
    """H3 cells meeting ``bbox`` as GeoJSON polygons with their share of land in view."""
    return _coverage.h3_cells(store, bbox, resolution, level, audience)


def device_visibility(store: Store, device_id: int, audience: str) -> dict[str, Any]:
    """The device's real visibility region per DORI level (nested polygons, widest first)."""
    rows = _coverage.device_regions(store, device_id, audience)
    features = []
    for row in rows:
        props = {k: v for k, v in dict(row).items() if k != "geometry"}
        geom = row["geometry"]
        if not isinstance(geom, dict):
            geom = shapely.geometry.mapping(geom)
        features.append({"type": "Feature", "geometry": geom, "properties": props})
    return {"type": "FeatureCollection", "device_id": device_id, "features": features}


def register_coverage_tiles() -> bool:
    """Add the coverage tile layers (tileset ``coverage``, :mod:`survatlas.publish.coverage_tiles`)."""
    coverage_tiles.register_coverage_tiles()
    return True


def compare_routes(
    store: Store,
    origin: tuple[float, float],
    destination: tuple[float, float],
    max_detour: float,
    audience: str,
    level: str | None = None,
    scenario: str | None = None,
) -> dict[str, Any]:
    """The shortest and the least-exposed route between two (lat, lon) points.

    Calls :func:`_planned` (the routing library). Returns
    ``{"shortest": route, "least_exposure": route, "price_of_privacy", "method", …}``; a route
    holds flat figures (``length_m``, ``in_view_m``, ``in_view_low_m``, ``in_view_high_m``,
    ``in_view_share``, ``cameras_in_view``, ``time_min``) and a GeoJSON ``geometry``.

    The answer to the same query (same points, detour, level, scenario and audience) on the
    same shared network is kept (:data:`ROUTE_CACHE_SIZE` answers per process) and given again
    as a copy; any write to the store (a new coverage run, a camera restricted) starts afresh.
    """
    state = _network_state(store)
    key = (str(store.path), audience, state, origin, destination, max_detour, level, scenario)
    found = _cached_answer(key)
    if found is not None:
        return found
    result = _planned(store, origin, destination, max_detour, audience, level, scenario)
    for name in ("shortest", "least_exposure"):
        route = result.get(name)
        if route is not None and not isinstance(route.get("geometry"), dict | None):
            result[name] = {**route, "geometry": shapely.geometry.mapping(route["geometry"])}
    shared = _networks.get((str(store.path), audience))
    if shared is not None and shared[0] == state and shared[1] is not None:
        _keep_answer(key, result)  # planned on the shared network of this very state
    return result


#: route answers kept per server process (:func:`compare_routes`)
ROUTE_CACHE_SIZE = 512
_answers: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
_answers_lock = threading.Lock()


def _cached_answer(key: tuple) -> dict[str, Any] | None:
    with _answers_lock:
        found = _answers.get(key)
        if found is None:
            return None
        _answers.move_to_end(key)
    return _copied(found)


def _copied(value: Any) -> Any:
    """A copy of the dicts and lists in ``value`` (its tuples, strings and numbers, which
    cannot change, are shared: a deep copy of a route's coordinates costs milliseconds)."""
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copied(v) for v in value]
    return value


def _keep_answer(key: tuple, result: dict[str, Any]) -> None:
    kept = _copied(result)
    with _answers_lock:
        _answers[key] = kept
        while len(_answers) > ROUTE_CACHE_SIZE:
            _answers.popitem(last=False)


def _planned(
    store: Store,
    origin: tuple[float, float],
    destination: tuple[float, float],
    max_detour: float,
    audience: str,
    level: str | None,
    scenario: str | None = None,
) -> dict[str, Any]:
    """``routing``: the shared network (:func:`shared_network`), or for a store too large to
    hold whole ``route_window`` → ``load_network``; then ``plan_route``, as flat figures."""
    net = shared_network(store, audience)
    if net is None:
        window = routing.route_window([origin, destination])
        net = routing.load_network(store, bbox=window, audience=audience)
    kwargs = {"max_detour": max_detour, "scenario": scenario} | ({"level": level} if level else {})
    # the answer shows one level's figures: the routes carry that level's alone
    kwargs["figure_levels"] = (level or DEFAULT_LEVEL,)
    return _plan_result(routing.plan_route(net, origin, destination, **kwargs))


#: stores with more streets than this load a window around each route instead (memory)
SHARED_NETWORK_MAX_STREETS = 300_000
_networks: dict[tuple[str, str], tuple[tuple, Any]] = {}
_network_locks: dict[tuple[str, str], threading.Lock] = {}
_networks_lock = threading.Lock()


def shared_network(store: Store, audience: str) -> Any:
    """The whole routing network of ``store`` for ``audience``, loaded once per coverage run.

    Every route request of a server process shares it (``routing.load_network`` reads the
    street network and its exposure from the store in ~2 s on the Helsinki demo; a plan takes
    ~50 ms). It is loaded again after any write to the store (a new run, an import, a camera
    restricted since), by one request while the others wait for it. ``None`` when the store
    holds more than :data:`SHARED_NETWORK_MAX_STREETS` streets (then each request loads its own
    window).
    """
    state = _network_state(store)
    key = (str(store.path), audience)
    entry = _networks.get(key)
    if entry is not None and entry[0] == state:
        return entry[1]
    with _networks_lock:
        lock = _network_locks.setdefault(key, threading.Lock())
    with lock:
        entry = _networks.get(key)
        if entry is not None and entry[0] == state:
            return entry[1]
        big = store.scalar("SELECT count(*) FROM streets") > SHARED_NETWORK_MAX_STREETS
        net = None if big else routing.load_network(store, audience=audience)
        _networks[key] = (state, net)  # replaces the network of an earlier run
        return net


def network_ready(store: Store, audience: str) -> bool:
    """Whether the shared network of ``store``'s current state is loaded, so that a route
    request needs no loading (only a plan: milliseconds)."""
    entry = _networks.get((str(store.path), audience))
    return entry is not None and entry[1] is not None and entry[0] == _network_state(store)


def preload_network(db_path: str | os.PathLike, audience: str) -> bool:
    """Load the shared network of the store at ``db_path`` ahead of the first route request
    (``survatlas serve`` calls it in a background thread of each worker process).

    Also makes its pricers' tables (``Network.prepare``) and plans one short route, so that
    the first requests pay for none of it. Returns whether a network was loaded; a store
    without coverage results (or too large to share) loads nothing and route requests then
    answer as usual.
    """
    try:
        with Store(db_path, create=False) as store:
            net = shared_network(store, audience)
            if net is None:
                return False
            net.prepare()
            _first_plan(net)
            return True
    except SurvatlasError:
        return False


def _first_plan(net: Any) -> None:
    """Plan one route along the network's first edge, so that the compiled kernels are loaded
    before the first request (a network without such a route is left as it is)."""
    g = net.graph
    if not len(g.edge_u):
        return
    ends = [net.to_latlon(g.node_xy[g.edge_u[0]]), net.to_latlon(g.node_xy[g.edge_v[0]])]
    with contextlib.suppress(SurvatlasError):
        routing.plan_route(net, *ends)


def _network_state(store: Store) -> tuple:
    """What the shared network depends on: the latest coverage run and every write to the
    store (file and WAL stamps): a camera restricted or withdrawn since the network was
    loaded must never reach a public route. The run is read again only when the stamps have
    changed since the last call (unchanged files hold the same latest run)."""
    stamps = _file_stamps(store.path)
    known = _latest_runs.get(str(store.path))
    if known is not None and known[0] == stamps:
        return (known[1], *stamps)
    run = store.query("SELECT id, created_at FROM coverage_runs ORDER BY id DESC LIMIT 1")
    latest = tuple(run[0]) if run else None
    _latest_runs[str(store.path)] = (stamps, latest)
    return (latest, *stamps)


#: the latest coverage run of each store, with the file stamps it was read at
_latest_runs: dict[str, tuple[tuple, tuple | None]] = {}


def _file_stamps(path: str | os.PathLike) -> tuple:
    """(mtime, size) of the store file and of its write-ahead log."""
    stamps = []
    for suffix in ("", "-wal"):
        try:
            st = os.stat(f"{path}{suffix}")
        except FileNotFoundError:
            stamps.append((0, 0))
        else:  # an empty write-ahead log holds no write: the same as none (opening and
            # closing the last connection creates and deletes it)
            stamps.append((st.st_mtime_ns, st.st_size) if st.st_size or not suffix else (0, 0))
    return tuple(stamps)


def _plan_result(plan: Any) -> dict[str, Any]:
    data = plan.to_dict()  # its "routes" start with the shortest and the least-exposed
    return {
        "shortest": _route_figures(plan.shortest, plan.level, data["routes"][0]),
        "least_exposure": _route_figures(plan.least_exposed, plan.level, data["routes"][1]),
        **{k: data[k] for k in ("level", "scenario", "max_detour", "price_of_privacy", "method",
                                "scenario_policy", "scenarios_missing", "coverage_run")},
        "stale": bool((data.get("coverage_run") or {}).get("stale")),
        "origin": data["origin"],
        "destination": data["destination"],
        "attribution": data.get("attribution"),
    }


def _route_figures(route: Any, level: str, data: dict[str, Any]) -> dict[str, Any]:
    """The flat figures of ``route`` (``data``: its ``to_dict()``)."""
    seen = data["in_view"][level]
    low, high = seen["metres_across_scenarios"]
    return {
        "length_m": round(route.length_m, 1),
        "in_view_m": seen["metres"],
        "in_view_low_m": low,
        "in_view_high_m": high,
        "in_view_share": seen["share"],
        "cameras_in_view": seen["cameras"],
        "in_view_by_scenario": {sc: by[level] for sc, by in data["by_scenario"].items()},
        "time_min": round(route.time_s / 60, 1),
        "geometry": route.geometry,
    }
