"""Routes over coverage results: summaries, site ranking, H3 cells, a device's visibility."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from survatlas.errors import InputError
from survatlas.optics import LEVELS as DORI_LEVELS
from survatlas.vocab import SITE_CATEGORIES
from survatlas.web import _analyses
from survatlas.web._context import WebContext, get_context
from survatlas.web._params import BBoxQuery, RecordId, small_bbox

router = APIRouter(prefix="/api", tags=["coverage"])
Context = Annotated[WebContext, Depends(get_context)]

H3_MIN_RES, H3_MAX_RES = 5, 11
MAX_RANKING = 1000
LEVELS = (*DORI_LEVELS, "plate")
LevelQuery = Annotated[
    str,
    Query(
        description="DORI level: detection, observation, recognition, identification (or plate).",
        max_length=20,
    ),
]


def _level(level: str) -> str:
    if level not in LEVELS:
        raise InputError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    return level


@router.get("/coverage/summary")
def coverage_summary(ctx: Context, level: LevelQuery = "detection") -> dict[str, Any]:
    """The stored coverage run: streets and site categories in view at `level` (low–high)."""
    return _analyses.coverage_summary(ctx.store(), _level(level), ctx.audience)


@router.get("/sites/ranking")
def sites_ranking(
    ctx: Context,
    category: Annotated[
        str | None, Query(description=f"One of {', '.join(SITE_CATEGORIES)}.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_RANKING)] = 100,
    level: LevelQuery = "detection",
) -> dict[str, Any]:
    """Sites ranked by the share of them in view of a camera, per category."""
    if category is not None and category not in SITE_CATEGORIES:
        raise InputError(f"unknown category {category!r}; use one of {', '.join(SITE_CATEGORIES)}")
    return _analyses.site_ranking(ctx.store(), category, _level(level), limit, ctx.audience)


@router.get("/h3")
def h3_cells(
    ctx: Context,
    bbox: BBoxQuery,
    resolution: Annotated[int, Query(ge=H3_MIN_RES, le=H3_MAX_RES)] = 9,
    level: LevelQuery = "detection",
) -> dict[str, Any]:
    """H3 cells meeting `bbox` with their share of land in view (GeoJSON polygons)."""
    return _analyses.h3_cells(
        ctx.store(), small_bbox(bbox), resolution, _level(level), ctx.audience
    )


@router.get("/devices/{device_id}/visibility")
def device_visibility(ctx: Context, device_id: RecordId) -> dict[str, Any]:
    """The device's real visibility region per DORI level (nested polygons, widest first)."""
    return _analyses.device_visibility(ctx.store(), device_id, ctx.audience)
