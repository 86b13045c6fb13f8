"""Vector tile routes: ``/tiles/{tileset}/{z}/{x}/{y}.mvt`` made on the fly, cached per store state."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from survatlas.publish.tiles import MAX_ZOOM, render_tile
from survatlas.web._context import WebContext, get_context

router = APIRouter(tags=["tiles"])
Context = Annotated[WebContext, Depends(get_context)]
MVT = "application/vnd.mapbox-vector-tile"


@router.get(
    "/tiles/{tileset}/{z}/{x}/{y}.mvt",
    response_class=Response,
    responses={200: {"content": {MVT: {}}, "description": "A Mapbox Vector Tile (may be empty)."}},
)
async def tile(
    ctx: Context,
    tileset: Annotated[str, Path(pattern=r"^[a-z_]{1,40}$")],
    z: Annotated[int, Path(ge=0, le=MAX_ZOOM)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
) -> Response:
    """One Mapbox Vector Tile of `tileset` (`base`, `devices`, or an analysis' tileset)."""
    key = ("tile", tileset, z, x, y, ctx.audience)
    body = ctx.lookup(key)
    if body is None:  # render in the thread pool: SQLite and encoding block
        body = await run_in_threadpool(
            ctx.cached,
            key,
            lambda: render_tile(
                ctx.store(), tileset, z, x, y, audience=ctx.audience, memo=ctx.memo()
            ),
        )
    cache = "private" if ctx.private else "public"
    return Response(body, media_type=MVT, headers={"Cache-Control": f"{cache}, max-age=60"})
