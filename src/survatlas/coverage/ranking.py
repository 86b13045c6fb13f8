"""Coverage figures read back from the stored run: the summary at one level and the site ranking.

One implementation for the CLI (``survatlas sites``, ``survatlas coverage``) and the web API
(``/api/coverage/summary``, ``/api/sites/ranking``); figures are defined in
:mod:`survatlas.coverage.figures`. Every read goes through :func:`survatlas.coverage.runs.require_run`
(the run must have computed the level; a run that used a since-withdrawn camera is refused for
the public) and joins the subject table with :func:`survatlas.store.gate.audience_clause`.
Figures describe the run's area (``coverage_run.bbox``; sites and cells outside it have no
figure, never a zero). A figure is given for the ``typical`` optics scenario (when computed) with ``low`` (``best``) and
``high`` (``worst``) ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from survatlas.coverage import figures
from survatlas.coverage.runs import ANY_AREA, CoverageRun, require_run
from survatlas.store import Store
from survatlas.store.gate import audience_clause, numbering, public_camera_list

RANKING_METHOD = (
    "share of each site's area in view of at least one camera at the level; {scenario} optics "
    "scenario, low–high from the best and worst scenarios"
)


def interval(by: dict[str, float | None], main: str = "typical") -> dict[str, float | None]:
    """``{"share", "low", "high"}`` from a figure per scenario (``main``, best, worst)."""
    return {"share": by.get(main), "low": by.get("best"), "high": by.get("worst")}


def rank_sites(sites: Iterable[dict[str, Any]], main: str, *, seen_only: bool = False
               ) -> list[dict[str, Any]]:
    """THE site ranking rule (CLI ``sites``, ``/api/sites/ranking`` and the area report's
    most-watched sites): each site's share of its area in view under the ``main`` scenario,
    ``low``–``high`` from best and worst optics (:func:`interval`); most first, ties broken by
    the worst case, then by site id. ``sites`` carry their shares per scenario in ``by``;
    ``seen_only`` drops sites no camera sees under ``main``."""
    ranked = [{**{k: v for k, v in s.items() if k != "by"}, **interval(s["by"], main)}
              for s in sites]
    if seen_only:
        ranked = [s for s in ranked if s["share"]]
    ranked.sort(key=lambda s: (-(s["share"] or 0.0), -(s["high"] or 0.0), s["site_id"]))
    return ranked


def level_summary(store: Store, level: str, audience: str = "public") -> dict[str, Any]:
    """The run's summary plus, for ``level``, site categories and streets as low/typical/high.

    ``sites_by_category[cat]["share"]`` is :data:`figures.SITE_SHARE` (mean of the sites'
    shares); ``ground_share`` is the area-weighted share, under its own name.
    """
    run = require_run(store, bbox=ANY_AREA, levels=(level,), audience=audience)
    by = run.summary["by_scenario"]
    main = run.main_scenario()
    cats = sorted({c for s in by.values() for c in s[level]["sites"]})
    sites = {}
    for cat in cats:
        per = {s: by[s][level]["sites"].get(cat, {}) for s in by}
        first = next(p for p in per.values() if p)
        sites[cat] = {
            **interval({s: figures.site_share(p) for s, p in per.items() if p}, main),
            "ground_share": interval({s: p.get(figures.GROUND_SHARE) for s, p in per.items()
                                      if p}, main),
            "sites": first.get("sites"),
            "sites_seen": first.get("sites_seen") if main not in per else per[main].get("sites_seen"),
        }
    streets = interval({s: by[s][level]["street_in_view_share"] for s in by}, main)
    return {
        "level": level,
        "scenario": main,
        "sites_by_category": sites,
        "streets": streets,
        "method": run.summary.get("method", "") + "; " + figures.SITE_SHARE_METHOD,
        "run": {**run.summary, "run": run.to_dict()},
        "coverage_run": run.to_dict(),
        "stale": run.stale,
    }


def site_ranking(
    store: Store, category: str | None, level: str, limit: int, audience: str = "public"
) -> dict[str, Any]:
    """Sites by the share of their area in view at ``level`` (main scenario; low–high), most
    first, with the run record (``stale``) and the method."""
    run = require_run(store, bbox=ANY_AREA, levels=(level,), audience=audience,
                      outputs=("sites",))
    main = run.main_scenario()
    where = "AND s.category = ?" if category else ""
    rows = store.query(
        "SELECT c.site_id, c.scenario, c.share, c.cameras, c.footprint_assumed, s.name, "
        "s.category, s.min_x, s.min_y, s.max_x, s.max_y FROM site_coverage c "
        f"JOIN sites s ON s.id = c.site_id WHERE {audience_clause(audience, 's')} "
        f"AND c.level = ? {where}",
        (level, category) if category else (level,),
    )
    sites: dict[int, dict[str, Any]] = {}
    site_numbers = numbering(store, "sites", audience)
    devices = numbering(store, "devices", audience)
    for r in rows:
        site = sites.setdefault(r["site_id"], {
            "site_id": site_numbers.public(r["site_id"]), "name": r["name"], "category": r["category"],
            "bbox": [r["min_x"], r["min_y"], r["max_x"], r["max_y"]],
            "footprint_assumed": bool(r["footprint_assumed"]), "by": {},
        })
        site["by"][r["scenario"]] = r["share"]
        if r["scenario"] == main:
            site["cameras"] = len(json.loads(public_camera_list(r["cameras"], devices) or "[]"))
    ranked = rank_sites(sites.values(), main)
    return {
        "category": category,
        "level": level,
        "scenario": main,
        "method": RANKING_METHOD.format(scenario=main) + "; cameras: at the level, " + main
        + " optics",
        "coverage_run": run.to_dict(),
        "stale": run.stale,
        "sites": ranked[:limit],
    }


def run_for(store: Store, level: str | None = None, audience: str = "public",
            outputs: tuple[str, ...] = ()) -> CoverageRun:
    """The checked run for a web or CLI read at ``level`` (any level when None) and
    ``outputs``."""
    return require_run(store, bbox=ANY_AREA, levels=(level,) if level else (),
                       audience=audience, outputs=outputs)
