"""Named coverage figures: one definition each, used by the CLI, the web API and reports.

``site_share``
    *Share of the sites of a category in view* is the **mean of the sites' shares**: for each
    site of the category (with a footprint area), the share of its area in view of at least one
    camera; then the plain mean over those sites. Every site counts once, whatever its size, so
    a single large campus cannot stand for all the schools of a city. (The area-weighted share,
    ``area_share`` in the summary — all in-view area over all area — is published under its own
    name, "share of the category's ground in view", never as "share of sites".)
``sites_seen``
    Sites of the category that at least one camera sees (any part of the area or outline).
``street_share``
    Metres of walkable street in view over all metres of walkable street.

Tables of sites state the level and the optics scenario they show (:func:`site_table_title`).
"""

from __future__ import annotations

from typing import Any

SITE_SHARE = "mean_share"
SITE_SHARE_LABEL = "mean share of a site's area in view"
GROUND_SHARE = "area_share"
GROUND_SHARE_LABEL = "share of the category's ground in view (area-weighted)"
SITE_SHARE_METHOD = (
    "share of sites of a category in view = mean over the category's sites of the share of each "
    "site's area in view of at least one camera (each site counts once)"
)


def site_share(category_figures: dict[str, Any]) -> float | None:
    """The share of a category's sites in view (mean of the sites' shares) from the summary."""
    return category_figures.get(SITE_SHARE)


def main_scenario(scenarios: Any) -> str:
    """The scenario a single-valued figure is given for: ``typical`` when computed."""
    scenarios = list(scenarios)
    return "typical" if "typical" in scenarios or not scenarios else scenarios[0]


def main_level(levels: Any) -> str:
    """The level a single table shows by default: ``detection`` when computed."""
    levels = list(levels)
    return "detection" if "detection" in levels or not levels else levels[0]


def site_table_title(level: str, scenario: str) -> str:
    """The title of a table of site categories: what it counts, at which level and optics."""
    return f"sites seen by at least one camera ({level} level, {scenario} optics)"
