"""Reading the stored coverage run for the web: summaries, site ranking, H3, regions, tiles.

``survatlas coverage`` saves one run (tables of :mod:`survatlas.store.migrations.m0100_coverage`);
this module shapes it for the map. Every read joins the subject table with
:func:`survatlas.store.gate.audience_clause`. A figure is given for the ``typical`` optics scenario
with ``low`` (``best``: short range) and ``high`` (``worst``: long range) ends where the run
computed them.
"""

from __future__ import annotations

import json
import math
from typing import Any

import h3
import shapely
from pyproj import CRS

from survatlas import ODBL_ATTRIBUTION, geo
from survatlas.coverage.results import view_polygon
from survatlas.errors import InputError, NotFoundError
from survatlas.optics import LEVELS as DORI_LEVELS
from survatlas.publish.tiles import Features, TileLayer, TileQuery
from survatlas.store import Store
from survatlas.store.gate import audience_clause, bbox_clause

BBox = tuple[float, float, float, float]
LEVELS = DORI_LEVELS
_NO_RUN = "no coverage results in this store: run `survatlas coverage` first"


def run_settings(store: Store) -> dict[str, Any]:
    """Settings of the stored run (scenarios, levels, H3 resolution …); 404 when there is none."""
    row = store.query("SELECT settings FROM coverage_runs ORDER BY id DESC LIMIT 1")
    if not row:
        raise NotFoundError(_NO_RUN)
    return json.loads(row[0][0])


def _main_scenario(settings: dict[str, Any]) -> str:
    scenarios = settings["scenarios"]
    return "typical" if "typical" in scenarios else scenarios[0]


def check_level(store: Store, level: str) -> dict[str, Any]:
    """The run's settings, after checking it computed ``level``."""
    settings = run_settings(store)
    if level not in settings["levels"]:
        raise InputError(
            f"level {level!r} was not computed; use one of {', '.join(settings['levels'])}"
        )
    return settings


def _interval(by: dict[str, float | None]) -> dict[str, float | None]:
    return {"share": by.get("typical"), "low": by.get("best"), "high": by.get("worst")}


def summary(store: Store, level: str) -> dict[str, Any]:
    """The run's summary plus, for ``level``, site categories and streets as low/typical/high."""
    from survatlas.coverage.results import latest_summary

    check_level(store, level)
    run = latest_summary(store)
    by = run["by_scenario"]
    cats = sorted({c for s in by.values() for c in s[level]["sites"]})
    sites = {
        cat: {
            **_interval({s: by[s][level]["sites"].get(cat, {}).get("area_share") for s in by}),
            "sites": next(
                by[s][level]["sites"][cat]["sites"] for s in by if cat in by[s][level]["sites"]
            ),
        }
        for cat in cats
    }
    streets = _interval({s: by[s][level]["street_in_view_share"] for s in by})
    return {
        "level": level,
        "sites_by_category": sites,
        "streets": streets,
        "method": run["method"] + "; site figures: share of the category's area in view",
        "run": run,
    }


def site_ranking(
    store: Store, category: str | None, level: str, limit: int, audience: str
) -> list[dict[str, Any]]:
    """Sites by the share of their area in view at ``level`` (typical; low–high), most first."""
    check_level(store, level)
    where = "AND s.category = ?" if category else ""
    rows = store.query(
        "SELECT c.site_id, c.scenario, c.share, c.cameras, c.footprint_assumed, s.name, "
        "s.category, s.min_x, s.min_y, s.max_x, s.max_y FROM site_coverage c "
        f"JOIN sites s ON s.id = c.site_id WHERE {audience_clause(audience, 's')} "
        f"AND c.level = ? {where}",
        (level, category) if category else (level,),
    )
    sites: dict[int, dict[str, Any]] = {}
    for r in rows:
        site = sites.setdefault(
            r["site_id"],
            {
                "site_id": r["site_id"],
                "name": r["name"],
                "category": r["category"],
                "bbox": [r["min_x"], r["min_y"], r["max_x"], r["max_y"]],
                "footprint_assumed": bool(r["footprint_assumed"]),
                "by": {},
            },
        )
        site["by"][r["scenario"]] = r["share"]
        if r["scenario"] == "worst" or "cameras" not in site:
            site["cameras"] = len(json.loads(r["cameras"]))
    ranked = [
        {**{k: v for k, v in s.items() if k != "by"}, **_interval(s["by"])} for s in sites.values()
    ]
    ranked.sort(key=lambda s: (-(s["share"] or 0.0), -(s["high"] or 0.0), s["site_id"]))
    return ranked[:limit]


def h3_cells(store: Store, bbox: BBox, resolution: int, level: str) -> dict[str, Any]:
    """H3 cells meeting ``bbox`` with the share of land in view (coarser cells are area-sums)."""
    settings = check_level(store, level)
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
        props = {"cell": cell, **_interval(shares), "cameras": max(agg["cameras"].values())}
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
        "features": features,
    }


def device_regions(store: Store, device_id: int, audience: str) -> list[dict[str, Any]]:
    """The device's visible region per level (typical scenario), widest level first."""
    settings = run_settings(store)
    crs = store.query("SELECT crs FROM coverage_runs ORDER BY id DESC LIMIT 1")[0][0]
    inv = geo.to_lonlat(CRS.from_wkt(crs))
    device = store.query(
        f"SELECT id FROM devices WHERE id = ? AND {audience_clause(audience)}", (device_id,)
    )
    if not device:
        raise NotFoundError(f"no device {device_id}; list devices in a bbox to find ids")
    rows = store.query(
        "SELECT * FROM coverage_views WHERE device_id = ? AND scenario = ? ORDER BY view",
        (device_id, _main_scenario(settings)),
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


def _typical_by_level(store: Store, table: str, key: str, ids: list[int]) -> dict[int, dict]:
    if not ids:
        return {}
    settings = store.query("SELECT settings FROM coverage_runs ORDER BY id DESC LIMIT 1")
    if not settings:
        return {}
    scenario = _main_scenario(json.loads(settings[0][0]))
    marks = ",".join("?" * len(ids))
    share = "in_view_m / length_m" if table == "street_coverage" else "share"
    rows = store.query(
        f"SELECT {key}, level, {share} FROM {table} WHERE scenario = ? AND {key} IN ({marks})",
        (scenario, *ids),
    )
    found: dict[int, dict] = {}
    for r in rows:
        if r[2] is not None:
            found.setdefault(r[0], {})[r[1]] = round(float(r[2]), 4)
    return found


def read_street_coverage(store: Store, q: TileQuery) -> Features:
    """Streets with the typical share of their length in view, one property per DORI level."""
    where, params = bbox_clause(store, "streets", q.bbox)
    rows = store.query(
        f"SELECT geom, id FROM streets WHERE {audience_clause(q.audience)} AND {where}", params
    )
    shares = _typical_by_level(store, "street_coverage", "street_id", [r[1] for r in rows])
    rows = [r for r in rows if r[1] in shares]
    geoms = shapely.from_wkb([r[0] for r in rows]) if rows else []
    return geoms, [{"id": r[1], **shares[r[1]]} for r in rows]


def read_site_coverage(store: Store, q: TileQuery) -> Features:
    """Sites with the typical share of their area in view, one property per DORI level."""
    where, params = bbox_clause(store, "sites", q.bbox)
    rows = store.query(
        f"SELECT geom, id, category FROM sites WHERE {audience_clause(q.audience)} AND {where}",
        params,
    )
    shares = _typical_by_level(store, "site_coverage", "site_id", [r[1] for r in rows])
    rows = [r for r in rows if r[1] in shares]
    geoms = shapely.from_wkb([r[0] for r in rows]) if rows else []
    return geoms, [{"id": r[1], "category": r[2], **shares[r[1]]} for r in rows]


TILE_LAYERS = (
    TileLayer("site_coverage", 12, "polygon", read_site_coverage),
    TileLayer("street_coverage", 13, "line", read_street_coverage),
)
