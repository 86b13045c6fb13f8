"""Reports for an area, a site or a route: the figures, then one document to print.

The figures are never recomputed here: an area's coverage is
:func:`survatlas.coverage.analysis.summarise` of :func:`~survatlas.coverage.analysis.analyse`
(what ``survatlas coverage --bbox … --json`` prints, without replacing the stored run), its
counts are :func:`survatlas.publish.stats.store_stats` (``survatlas stats --json``), its growth
is :func:`survatlas.publish.growth.growth_figures` (``survatlas timeline --json``), a route is
:meth:`survatlas.routing.plan.RoutePlan.to_dict` (``survatlas route --json``). :func:`build_report`
returns the figures as JSON-ready data plus what the map needs; :mod:`._report_doc` lays them out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from survatlas import ODBL_ATTRIBUTION
from survatlas.coverage import figures as figures_def
from survatlas.coverage.ranking import rank_sites
from survatlas.errors import InputError, NotFoundError
from survatlas.publish.growth import growth_figures
from survatlas.publish.stats import store_stats
from survatlas.store import Store
from survatlas.store.gate import audience_clause, read_layer

BBox = tuple[float, float, float, float]
#: margin around a named place or a site, metres.
PLACE_MARGIN_M = 150.0
TOP_SITES = 10


@dataclass
class ReportData:
    """A report's figures (``figures``: JSON-ready) and the run behind them (for the maps)."""

    figures: dict[str, Any]
    result: Any = None
    plan: Any = None
    extras: dict[str, Any] = field(default_factory=dict)


def pad_bbox(bbox: BBox, metres: float) -> BBox:
    """``bbox`` grown by ``metres`` on every side (equirectangular: fine at city scale)."""
    lat = (bbox[1] + bbox[3]) / 2
    dlat = metres / 111_320.0
    dlon = metres / (111_320.0 * max(math.cos(math.radians(lat)), 0.01))
    return (bbox[0] - dlon, bbox[1] - dlat, bbox[2] + dlon, bbox[3] + dlat)


def find_place(store: Store, name: str, audience: str = "public") -> dict[str, Any]:
    """The streets and sites called ``name`` (case-insensitive), as one padded bbox."""
    rows = []
    for table in ("sites", "streets"):
        rows += store.query(
            f"SELECT name, min_x, min_y, max_x, max_y FROM {table} WHERE lower(name) = lower(?) "
            f"AND {audience_clause(audience)}",
            (name.strip(),),
        )
    if not rows:
        like = store.query(
            "SELECT DISTINCT name FROM (SELECT name FROM sites UNION SELECT name FROM streets) "
            "WHERE name LIKE ? ORDER BY length(name) LIMIT 5",
            (f"%{name.strip()}%",),
        )
        hint = f"; did you mean {', '.join(r[0] for r in like)}?" if like else ""
        raise NotFoundError(f"no street or site named {name!r} in the store{hint}")
    box = (
        min(r["min_x"] for r in rows),
        min(r["min_y"] for r in rows),
        max(r["max_x"] for r in rows),
        max(r["max_y"] for r in rows),
    )
    return {"name": rows[0]["name"], "matches": len(rows), "bbox": list(pad_bbox(box, PLACE_MARGIN_M))}


def build_report(
    store: Store,
    *,
    bbox: BBox | None = None,
    place: str | None = None,
    site: int | None = None,
    route: tuple[tuple[float, float], tuple[float, float]] | None = None,
    profile: str = "walk",
    settings: Any = None,
) -> ReportData:
    """The figures of a report on exactly one subject: an area (``bbox`` or ``place``), a
    ``site`` id, or a ``route`` ((lat, lon), (lat, lon)); public records only."""
    chosen = [x for x in (bbox or place, site, route) if x is not None]
    if len(chosen) != 1:
        raise InputError("give one subject: --bbox or --place, --site ID, or --from and --to")
    if route is not None:
        return _route_report(store, route, profile)
    subject: dict[str, Any] = {"kind": "area", "bbox": list(bbox) if bbox else None}
    if place is not None:
        found = find_place(store, place)
        subject = {"kind": "place", **found}
        bbox = tuple(found["bbox"])
    if site is not None:
        subject = {"kind": "site", **_site_row(store, site)}
        bbox = tuple(subject["bbox"])
    data = _area_figures(store, bbox, settings)
    data.figures["subject"] = subject
    if site is not None:
        data.figures["site"] = _site_figures(data.result, site)
    return data


def _site_row(store: Store, site_id: int) -> dict[str, Any]:
    rows = store.query(
        f"SELECT id, name, category, min_x, min_y, max_x, max_y FROM sites WHERE id = ? AND "
        f"{audience_clause('public')}",
        (site_id,),
    )
    if not rows:
        raise NotFoundError(f"no public site {site_id} in the store (see `survatlas stats`)")
    r = rows[0]
    box = (r["min_x"], r["min_y"], r["max_x"], r["max_y"])
    return {
        "site_id": r["id"],
        "name": r["name"],
        "category": r["category"],
        "bbox": list(pad_bbox(box, PLACE_MARGIN_M)),
    }


def _area_figures(store: Store, bbox: BBox | None, settings: Any) -> ReportData:
    from survatlas.coverage.analysis import Settings, analyse, load_inputs

    settings = settings or Settings()
    settings.check()
    result = analyse(load_inputs(store, bbox, walkable_only=settings.walkable_only), settings)
    figures = {
        "kind": "area",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "bbox": list(bbox) if bbox else None,
        "coverage": result.summary,
        "stats": store_stats(store, bbox),
        "most_watched_sites": most_watched(store, result),
        "growth": growth_figures(store, bbox=bbox),
        "attribution": ODBL_ATTRIBUTION,
    }
    ids = [int(i) for i in result.inputs.street_ids]
    names = {
        r["id"]: r["name"]
        for r in store.query("SELECT id, name FROM streets WHERE name IS NOT NULL")
        if r["id"] in set(ids)
    }
    return ReportData(figures, result=result, extras={"street_names": names})


def _level(result: Any) -> str:
    return figures_def.main_level(result.settings.levels)


def _scenario(result: Any) -> str:
    return figures_def.main_scenario(result.settings.scenarios)


def most_watched(store: Store, result: Any, limit: int = TOP_SITES) -> list[dict[str, Any]]:
    """Sites with the largest share of their area in view (main level and optics; low–high from
    best and worst optics), most first: the ranking of ``survatlas sites`` and the web API
    (:func:`survatlas.coverage.ranking.rank_sites`), over the sites some camera sees."""
    level = _level(result)
    ids = result.inputs.site_ids
    by = {s: result.levels[(s, level)].sites for s in result.settings.scenarios}
    names = _names(store, [int(i) for i in ids])
    main = _scenario(result)
    sites = [
        {
            "site_id": int(site_id),
            "name": names.get(int(site_id)),
            "category": str(result.inputs.site_category[i]),
            "level": level,
            "by": {s: by[s][i]["share"] for s in by},
            "cameras": len(by[main][i]["cameras"] or ()),
            "footprint_assumed": bool(result.inputs.site_assumed[i]),
        }
        for i, site_id in enumerate(ids)
    ]
    ranked = rank_sites(sites, main, seen_only=True)[:limit]
    return [{**r, **{k: _round(r[k]) for k in ("share", "low", "high")}} for r in ranked]


def _site_figures(result: Any, site_id: int) -> dict[str, Any]:
    ids = list(result.inputs.site_ids)
    if site_id not in ids:
        raise NotFoundError(f"site {site_id} has no footprint in the computed area")
    i = ids.index(site_id)
    out = {}
    for level in result.settings.levels:
        by = {s: result.levels[(s, level)].sites[i] for s in result.settings.scenarios}
        main = by[_scenario(result)]
        out[level] = {
            "share": _round(main["share"]),
            "low": _round(by.get("best", main)["share"]),
            "high": _round(by.get("worst", main)["share"]),
            "cameras": len(main["cameras"] or ()),
            "area_m2": round(main["area_m2"], 1),
        }
    return {"by_level": out, "footprint_assumed": bool(result.inputs.site_assumed[i])}


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def _names(store: Store, ids: list[int]) -> dict[int, str | None]:
    if not ids:
        return {}
    rows = store.query(
        f"SELECT id, name FROM sites WHERE id IN ({','.join('?' * len(ids))})", tuple(ids)
    )
    return {r["id"]: r["name"] for r in rows}


def _route_report(
    store: Store, route: tuple[tuple[float, float], tuple[float, float]], profile: str
) -> ReportData:
    from survatlas.routing import load_network, plan_route, route_window

    origin, destination = route
    window = route_window([origin, destination])
    net = load_network(store, profile, bbox=window)
    plan = plan_route(net, origin, destination)
    figures = {
        "kind": "route",
        "subject": {"kind": "route", "from": list(origin), "to": list(destination)},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "route": plan.to_dict(),
        "stats": store_stats(store, tuple(window)),
        "attribution": ODBL_ATTRIBUTION,
    }
    streets = read_layer(store, "streets", tuple(window)).geometry.to_numpy()
    return ReportData(figures, plan=plan, extras={"window": tuple(window), "streets": streets})
