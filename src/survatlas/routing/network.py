"""The street network of a profile with its exposure, loaded from the store."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
from pyproj import CRS, Transformer

from survatlas.coverage.runs import CoverageRun, coverage_command
from survatlas.errors import RoutingError
from survatlas.geo import check_lonlat, haversine_m, local_crs, to_lonlat, to_metric
from survatlas.routing import _lines
from survatlas.routing._exposure import (
    Exposure,
    coverage_crs_wkt,
    coverage_run,
    load_exposure,
)
from survatlas.routing._graph import PROFILES, StreetGraph, build_graph
from survatlas.routing._plan import (
    Pricer,
)
from survatlas.routing._robust import ROBUST, WorstPricer
from survatlas.routing._search import warm_up
from survatlas.store import Store
from survatlas.store.gate import audience_clause, read_layer

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
    #: the coverage run the exposure comes from (None: built in memory)
    run: CoverageRun | None = None
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

    def edge_coords_lonlat(self) -> np.ndarray:
        """Every edge vertex (:meth:`StreetGraph.edge_coords`) in lon/lat, projected once."""
        found = self.__dict__.get("_edge_coords_ll")
        if found is None:
            xy = self.graph.edge_coords()[1]
            found = np.column_stack(self._to_ll.transform(*xy.T)) if len(xy) else xy.copy()
            self.__dict__["_edge_coords_ll"] = found
        return found

    def worst_pricer(self, level: str) -> WorstPricer:
        """Each edge priced at its largest exposed length over the scenarios at ``level``
        (the robust route's search; cached)."""
        key = (ROBUST, level)
        if key not in self._pricers:
            scenarios = self.exposure.scenarios
            self._pricers[key] = WorstPricer([self.pricer(sc, level) for sc in scenarios])
        return self._pricers[key]  # type: ignore[return-value]

    def prepare(self) -> None:
        """Make every (scenario, level) pricer and its per-edge tables now (a server does it
        at start-up, so that no route request pays for them)."""
        for scenario in self.exposure.scenarios:
            for level in self.exposure.levels:
                self.pricer(scenario, level).prepare()
        if len(self.exposure.scenarios) > 1:
            for level in self.exposure.levels:
                self.worst_pricer(level)
        self.edge_coords_lonlat()
        warm_up()
        _lines.warm_up()

    def check_covered(self, points: Sequence[tuple[float, float]], what: str) -> None:
        """Raise :class:`RoutingError` when a (lat, lon) point lies outside the coverage run's
        area (exposure there is unknown, not zero); the message gives the run that covers all."""
        area = self.run.bbox if self.run else None
        if area is None:
            return
        out = [(lat, lon) for lat, lon in points
               if not (area[0] <= lon <= area[2] and area[1] <= lat <= area[3])]
        if not out:
            return
        lats = [p[0] for p in points]
        lons = [p[1] for p in points]
        need = (min(area[0], *lons), min(area[1], *lats), max(area[2], *lons),
                max(area[3], *lats))
        raise RoutingError(
            f"the {what} ({out[0][0]:.6f}, {out[0][1]:.6f}) lies outside the area of the coverage "
            f"run (bbox {','.join(f'{v:g}' for v in area)}), where exposure is unknown: run "
            f"`{coverage_command(need, self.run.levels, self.run.scenarios, self.run.occlusion)}` "  # type: ignore[union-attr]
            "or `survatlas coverage` for the whole store"
        )

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

    Routes never leave the area of the coverage run: when the run covers only a bbox, the
    window is cut to it (exposure outside it is unknown, not zero).

    Raises
    ------
    RoutingError
        When the store has no coverage results (run ``survatlas coverage`` first) or no street
        usable by the profile.

    Parameters
    ----------
    store : Store
        A store with streets and a coverage run.
    profile : {"walk", "bike"}
        Which streets may be used.
    bbox : tuple of float, optional
        W, S, E, N window (:func:`route_window` makes one around two points).
    audience : str
        Whose view of the cameras prices the streets.

    Examples
    --------
    ::

        with Store("helsinki.db") as store:
            net = load_network(store, "walk")
    """
    run = coverage_run(store, audience)
    bbox = _within_run(bbox, run)
    exposure = load_exposure(store, audience=audience, bbox=bbox, run=run)
    crs = store_crs(store)
    streets = read_layer(store, "streets", bbox, audience=audience)
    if streets.empty:
        w, s, e, n = _street_extent(store, audience)
        raise RoutingError(
            "no street of the store lies near these points (outside the data?); the store's "
            f"streets cover lat {s:.4f}..{n:.4f}, lon {w:.4f}..{e:.4f}: choose points inside, or "
            "import data for this area (give LAT,LON, latitude first)"
        )
    return Network(build_graph(streets, profile, crs=crs), exposure, run)


def _within_run(
    bbox: tuple[float, float, float, float] | None, run: CoverageRun
) -> tuple[float, float, float, float] | None:
    """``bbox`` cut to the run's area (the run's area when ``bbox`` is None)."""
    if run.bbox is None:
        return bbox
    if bbox is None:
        return run.bbox
    cut = (max(bbox[0], run.bbox[0]), max(bbox[1], run.bbox[1]),
           min(bbox[2], run.bbox[2]), min(bbox[3], run.bbox[3]))
    if cut[0] > cut[2] or cut[1] > cut[3]:
        raise RoutingError(
            f"the route lies outside the area of the coverage run (bbox "
            f"{','.join(f'{v:g}' for v in run.bbox)}): run `survatlas coverage` for the whole "
            "store, or with a --bbox covering the route")
    return cut


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


