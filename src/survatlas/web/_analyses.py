"""The one place where the web layer calls the coverage and routing analyses.

``survatlas.coverage`` and ``survatlas.routing`` are separate capabilities; the web layer asks
for them by name when a request comes in, so the app runs (and says what is missing, with a 501)
before they are installed. Each adapter below names the library function it calls and the shape
it passes on; when a library signature differs, only this file changes.
"""

from __future__ import annotations

import importlib
from typing import Any

import h3
import shapely

from survatlas import ODBL_ATTRIBUTION
from survatlas.store import Store

BBox = tuple[float, float, float, float]


class AnalysisUnavailableError(Exception):
    """A coverage or routing function the route needs is not installed (HTTP 501)."""


def _function(module: str, name: str) -> Any:
    try:
        mod = importlib.import_module(f"survatlas.{module}")
    except ImportError as exc:
        raise AnalysisUnavailableError(
            f"survatlas.{module} is not installed in this build, so this view is unavailable"
        ) from exc
    func = getattr(mod, name, None)
    if func is None:
        raise AnalysisUnavailableError(f"survatlas.{module} has no {name}(); update survatlas")
    return func


def available() -> dict[str, bool]:
    """Which analyses this build can serve (the front end hides the others)."""
    found = {}
    for module in ("coverage", "routing"):
        try:
            importlib.import_module(f"survatlas.{module}")
        except ImportError:
            found[module] = False
        else:
            found[module] = True
    return found


def coverage_summary(store: Store, bbox: BBox | None, audience: str) -> dict[str, Any]:
    """``survatlas.coverage.coverage_summary(store, bbox, audience=)`` → JSON-able dict.

    Expected keys: ``streets`` (metres walkable / in view per DORI level), ``sites_by_category``
    (``{category: {"share": s, "low": l, "high": h, "sites": n}}``) and ``method``.
    """
    return _function("coverage", "coverage_summary")(store, bbox, audience=audience)


def site_ranking(
    store: Store, category: str | None, limit: int, audience: str
) -> list[dict[str, Any]]:
    """``survatlas.coverage.site_ranking(store, category=, limit=, audience=)`` → rows.

    Each row: ``site_id``, ``name``, ``category``, ``share`` (watched share of the site),
    ``low``, ``high`` (interval), ``cameras``; most watched first.
    """
    func = _function("coverage", "site_ranking")
    return list(func(store, category=category, limit=limit, audience=audience))


def h3_cells(store: Store, bbox: BBox, resolution: int, audience: str) -> dict[str, Any]:
    """``survatlas.coverage.h3_cells(store, bbox, resolution, audience=)`` → GeoJSON polygons.

    The library returns rows ``{"cell": h3 index, "share": watched share, ...}``; each becomes a
    polygon feature with the row as properties.
    """
    rows = _function("coverage", "h3_cells")(store, bbox, resolution, audience=audience)
    features = []
    for row in rows:
        ring = [(lon, lat) for lat, lon in h3.cell_to_boundary(row["cell"])]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
                "properties": dict(row),
            }
        )
    return {"type": "FeatureCollection", "attribution": ODBL_ATTRIBUTION, "features": features}


def device_visibility(store: Store, device_id: int, audience: str) -> dict[str, Any]:
    """``survatlas.coverage.device_regions(store, device_id, audience=)`` → nested DORI polygons.

    The library returns ``[{"level": "detect"|"observe"|"recognise"|"identify", "geometry":
    shapely polygon, ...}]`` from the widest level to the narrowest.
    """
    rows = _function("coverage", "device_regions")(store, device_id, audience=audience)
    features = []
    for row in rows:
        props = {k: v for k, v in dict(row).items() if k != "geometry"}
        geom = row["geometry"]
        if not isinstance(geom, dict):
            geom = shapely.geometry.mapping(geom)
        features.append({"type": "Feature", "geometry": geom, "properties": props})
    return {"type": "FeatureCollection", "device_id": device_id, "features": features}


def compare_routes(
    store: Store,
    origin: tuple[float, float],
    destination: tuple[float, float],
    max_detour: float,
    audience: str,
) -> dict[str, Any]:
    """``survatlas.routing.compare_routes(store, origin, destination, max_detour=, audience=)``.

    Points are ``(lat, lon)``. Returns ``{"shortest": route, "least_exposure": route, ...}``;
    a route holds its figures (``length_m``, ``exposed_m`` …) and ``geometry`` (a GeoJSON
    LineString or a shapely line, converted here).
    """
    func = _function("routing", "compare_routes")
    result = dict(func(store, origin, destination, max_detour=max_detour, audience=audience))
    for key in ("shortest", "least_exposure"):
        route = result.get(key)
        if route is not None and not isinstance(route.get("geometry"), dict | None):
            result[key] = {**route, "geometry": shapely.geometry.mapping(route["geometry"])}
    return result
