"""The one place where the web layer calls the coverage and routing analyses.

``survatlas.coverage`` and ``survatlas.routing`` are separate capabilities; the web layer asks
for them by name when a request comes in, so the app runs (and says what is missing, with a 501)
before they are installed. Each adapter below names the library function it calls and the shape
it passes on; when a library signature differs, only this file changes.
"""

from __future__ import annotations

import importlib
from typing import Any

import shapely

from survatlas.store import Store
from survatlas.tiles import register_tile_layer

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


def _coverage() -> Any:
    """The web's reader of stored coverage results (needs survatlas.coverage)."""
    _function("coverage.results", "latest_summary")  # 501 when coverage is not installed
    return importlib.import_module("survatlas.web._coverage")


def coverage_summary(store: Store, level: str) -> dict[str, Any]:
    """Summary of the stored run (``survatlas.coverage.results.latest_summary``) for ``level``.

    Adds ``sites_by_category`` and ``streets`` as ``{"share", "low", "high"}`` (typical,
    best, worst optics scenario).
    """
    return _coverage().summary(store, level)


def site_ranking(
    store: Store, category: str | None, level: str, limit: int, audience: str
) -> list[dict[str, Any]]:
    """Sites ranked by the share of their area in view at ``level`` (``share``, ``low``, ``high``)."""
    return _coverage().site_ranking(store, category, level, limit, audience)


def h3_cells(
    store: Store, bbox: BBox, resolution: int, level: str, audience: str
) -> dict[str, Any]:
    """H3 cells meeting ``bbox`` as GeoJSON polygons with their share of land in view."""
    return _coverage().h3_cells(store, bbox, resolution, level)


def device_visibility(store: Store, device_id: int, audience: str) -> dict[str, Any]:
    """The device's real visibility region per DORI level (nested polygons, widest first)."""
    rows = _coverage().device_regions(store, device_id, audience)
    features = []
    for row in rows:
        props = {k: v for k, v in dict(row).items() if k != "geometry"}
        geom = row["geometry"]
        if not isinstance(geom, dict):
            geom = shapely.geometry.mapping(geom)
        features.append({"type": "Feature", "geometry": geom, "properties": props})
    return {"type": "FeatureCollection", "device_id": device_id, "features": features}


def register_coverage_tiles() -> bool:
    """Add the coverage tile layers (tileset ``coverage``) when coverage is installed."""
    try:
        layers = _coverage().TILE_LAYERS
    except AnalysisUnavailableError:
        return False
    for layer in layers:
        register_tile_layer("coverage", layer)
    return True


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
