"""Routes over the stored layers: features in a bbox (paged), device detail, statistics, config."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from survatlas import ODBL_ATTRIBUTION, __version__
from survatlas.publish.browse import MAX_PAGE, device_detail, feature_page
from survatlas.publish.glyphs import FONT_STACKS
from survatlas.publish.stats import store_stats
from survatlas.publish.tiles import tileset_catalog
from survatlas.store.gate import audience_clause
from survatlas.vocab import LAYERS
from survatlas.web import _analyses, api_map
from survatlas.web._context import WebContext, get_context
from survatlas.web._params import (
    DEFAULT_LIMIT,
    BBoxQuery,
    LimitQuery,
    OffsetQuery,
    OptionalBBoxQuery,
    RecordId,
    bbox_param,
    optional_bbox,
)

router = APIRouter(prefix="/api")
Context = Annotated[WebContext, Depends(get_context)]


def _page_route(layer: str) -> None:
    def page(
        ctx: Context, bbox: BBoxQuery, limit: LimitQuery = DEFAULT_LIMIT, offset: OffsetQuery = 0
    ) -> dict[str, Any]:
        return feature_page(
            ctx.store(), layer, bbox_param(bbox), limit=limit, offset=offset, audience=ctx.audience
        )

    page.__name__ = f"list_{layer}"
    page.__doc__ = (
        f"{layer.capitalize()} whose bounding box meets `bbox`, as a GeoJSON FeatureCollection "
        f"page (ordered by id, at most {MAX_PAGE} per page; follow `next_offset`)."
    )
    router.add_api_route(f"/{layer}", page, methods=["GET"], tags=["layers"])


for _layer in LAYERS:
    _page_route(_layer)


@router.get("/devices/{device_id}", tags=["layers"])
def get_device(ctx: Context, device_id: RecordId) -> dict[str, Any]:
    """One device in full: stored fields, every tag, warnings, its source and claims."""
    return device_detail(ctx.store(), device_id, audience=ctx.audience)


@router.get("/stats", tags=["summary"])
def get_stats(ctx: Context, bbox: OptionalBBoxQuery = None) -> dict[str, Any]:
    """Counts by type, zone, operator, manufacturer…, tag completeness, sites by category."""
    return store_stats(ctx.store(), optional_bbox(bbox), audience=ctx.audience)


@router.get("/config", tags=["summary"])
def get_config(ctx: Context) -> dict[str, Any]:
    """What the map needs to start: extent, tilesets, optional online tiles, what is available."""
    return {
        "version": __version__,
        "attribution": ODBL_ATTRIBUTION,
        "audience": ctx.audience,
        "private": ctx.private,
        "tile_url": ctx.tile_url,
        "bounds": ctx.cached(("bounds", ctx.audience), lambda: _bounds(ctx)),
        "tilesets": tileset_catalog(),
        "analyses": _analyses.available(),
        "max_page": MAX_PAGE,
        "labels": {
            "languages": ctx.cached(
                ("label_languages", ctx.audience), lambda: api_map.label_languages(ctx)
            ),
            "fontstacks": list(FONT_STACKS),
        },
    }


def _bounds(ctx: WebContext) -> list[float] | None:
    boxes = []
    for table in ("devices", "streets"):
        row = (
            ctx.store()
            .conn.execute(
                f"SELECT min(min_x), min(min_y), max(max_x), max(max_y) FROM {table} "
                f"WHERE {audience_clause(ctx.audience)}"
            )
            .fetchone()
        )
        if row[0] is not None:
            boxes.append(tuple(row))
    if not boxes:
        return None
    return [
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    ]
