"""Routes over coverage results: summaries, site ranking, H3 cells, a device's visibility."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from survatlas.errors import InputError
from survatlas.model import SITE_CATEGORIES
from survatlas.web import _analyses
from survatlas.web._context import WebContext, get_context
from survatlas.web._params import BBoxQuery, OptionalBBoxQuery, optional_bbox, small_bbox

router = APIRouter(prefix="/api", tags=["coverage"])
Context = Annotated[WebContext, Depends(get_context)]

H3_MIN_RES, H3_MAX_RES = 5, 11
MAX_RANKING = 1000


@router.get("/coverage/summary")
def coverage_summary(ctx: Context, bbox: OptionalBBoxQuery = None) -> dict[str, Any]:
    """Street metres in view per DORI level and site coverage by category (low–high)."""
    return _analyses.coverage_summary(ctx.store(), optional_bbox(bbox), ctx.audience)


@router.get("/sites/ranking")
def sites_ranking(
    ctx: Context,
    category: Annotated[
        str | None, Query(description=f"One of {', '.join(SITE_CATEGORIES)}.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_RANKING)] = 100,
) -> dict[str, Any]:
    """Sites ranked by the share of them in view of a camera, per category."""
    if category is not None and category not in SITE_CATEGORIES:
        raise InputError(f"unknown category {category!r}; use one of {', '.join(SITE_CATEGORIES)}")
    rows = _analyses.site_ranking(ctx.store(), category, limit, ctx.audience)
    return {"category": category, "sites": rows}


@router.get("/h3")
def h3_cells(
    ctx: Context,
    bbox: BBoxQuery,
    resolution: Annotated[int, Query(ge=H3_MIN_RES, le=H3_MAX_RES)] = 9,
) -> dict[str, Any]:
    """H3 cells meeting `bbox` with their watched share (GeoJSON polygons)."""
    return _analyses.h3_cells(ctx.store(), small_bbox(bbox), resolution, ctx.audience)


@router.get("/devices/{device_id}/visibility")
def device_visibility(ctx: Context, device_id: Annotated[int, Path(ge=1)]) -> dict[str, Any]:
    """The device's real visibility region per DORI level (nested polygons, widest first)."""
    return _analyses.device_visibility(ctx.store(), device_id, ctx.audience)
