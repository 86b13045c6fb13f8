"""Reading the stored coverage run for the web: summaries, site ranking, H3, regions, tiles.

``survatlas coverage`` saves one run (tables of :mod:`survatlas.store.migrations.m0100_coverage`);
this module shapes it for the map. Every read joins the subject table with
:func:`survatlas.store.gate.audience_clause`. A figure is given for the ``typical`` optics scenario
with ``low`` (``best``: short range) and ``high`` (``worst``: long range) ends where the run
computed them.
"""

from __future__ import annotations

import math
from typing import Any

import h3
from pyproj import CRS

from survatlas import ODBL_ATTRIBUTION, geo
from survatlas.coverage import ranking
from survatlas.coverage.results import view_polygon
from survatlas.coverage.runs import ANY_AREA, require_run
from survatlas.errors import NotFoundError
from survatlas.optics import LEVELS as DORI_LEVELS
from survatlas.store import Store
from survatlas.store.gate import numbering

BBox = tuple[float, float, float, float]
LEVELS = DORI_LEVELS


def run_settings(store: Store, level: str | None = None, audience: str = "public",
                 outputs: tuple[str, ...] = ()) -> dict[str, Any]:
    """Settings of the stored run (scenarios, levels, H3 resolution …), checked by
    :func:`survatlas.coverage.runs.require_run` for ``level``; 404 when there is none."""
    run = ranking.run_for(store, level, audience, outputs)
    return {**run.settings, "scenarios": list(run.scenarios), "levels": list(run.levels),
            "coverage_run": run.to_dict()}


def check_level(store: Store, level: str, audience: str = "public") -> dict[str, Any]:
    """The run's settings, after checking it computed ``level``."""
    return run_settings(store, level, audience)


def summary(store: Store, level: str, audience: str = "public") -> dict[str, Any]:
    """The run's summary plus, for ``level``, site categories and streets as low/typical/high."""
    return ranking.level_summary(store, level, audience)


def site_ranking(
    store: Store, category: str | None, level: str, limit: int, audience: str
) -> dict[str, Any]:
    """Sites by the share of their area in view at ``level`` (typical; low–high), most first."""
    return ranking.site_ranking(store, category, level, limit, audience)


def h3_cells(
    store: Store, bbox: BBox, resolution: int, level: str, audience: str = "public"
) -> dict[str, Any]:
    """H3 cells meeting ``bbox`` with the share of land in view (coarser cells are area-sums)."""
    settings = run_settings(store, level, audience, ("h3",))
    stored = settings["h3_resolution"]
    res = min(resolution, stored)
    rows = store.query(
        "SELECT h3, scenario, land_m2, in_view_m2, cameras FROM h3_coverage WHERE level = ?",
        (level,),
    )
    cells: dict[str, dict[str, Any]] = {}
    w, s, e, n = bbox
    for r in rows:
        cell = r["h3"] if res == stored else h3.cell_to_parent(r["h3"], res)
        agg = cells.setdefault(cell, {"land": {}, "seen": {}, "cameras": {}})
        agg["land"][r["scenario"]] = agg["land"].get(r["scenario"], 0.0) + r["land_m2"]
        agg["seen"][r["scenario"]] = agg["seen"].get(r["scenario"], 0.0) + r["in_view_m2"]
        agg["cameras"][r["scenario"]] = agg["cameras"].get(r["scenario"], 0) + r["cameras"]
    features = []
    for cell, agg in cells.items():
        ring = [(lon, lat) for lat, lon in h3.cell_to_boundary(cell)]
        lons, lats = [p[0] for p in ring], [p[1] for p in ring]
        if max(lons) < w or min(lons) > e or max(lats) < s or min(lats) > n:
            continue
        shares = {k: (agg["seen"][k] / land if land else None) for k, land in agg["land"].items()}
        props = {"cell": cell, **ranking.interval(shares), "cameras": max(agg["cameras"].values())}
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
                "properties": props,
            }
        )
    return {
        "type": "FeatureCollection",
        "resolution": res,
        "level": level,
        "method": "share of land (not buildings) in view per H3 cell, from the coverage grid; "
        "coarser cells sum their children's areas",
        "attribution": ODBL_ATTRIBUTION,
        "coverage_run": settings["coverage_run"],
        "stale": settings["coverage_run"]["stale"],
        "features": features,
    }


def device_regions(store: Store, device_id: int, audience: str) -> list[dict[str, Any]]:
    """The device's visible region per level (typical scenario), widest level first."""
    run = require_run(store, bbox=ANY_AREA, audience=audience, check_inputs=False,
                      per_camera=True)
    inv = geo.to_lonlat(CRS.from_wkt(run.crs_wkt))
    row_id = numbering(store, "devices", audience).row(device_id)  # the public number's row
    if row_id is None:
        raise NotFoundError(f"no device {device_id}; list devices in a bbox to find ids")
    rows = store.query(
        "SELECT * FROM coverage_views WHERE device_id = ? AND scenario = ? ORDER BY view",
        (row_id, run.main_scenario()),
    )
    order = {lv: i for i, lv in enumerate((*LEVELS, "plate"))}
    out = []
    for r in sorted(rows, key=lambda r: order.get(r["level"], 9)):
        out.append(
            {
                "level": r["level"],
                "scenario": r["scenario"],
                "range_m": round(r["radius"], 1),
                "fov_deg": round(math.degrees(r["fov"]), 1),
                "area_m2": round(r["area_m2"], 1),
                "geometry": view_polygon(r, inv),
            }
        )
    return out
