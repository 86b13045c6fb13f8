"""What the map reads besides tiles: label glyphs from installed fonts, search, label languages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from survatlas.publish.glyphs import FONT_STACKS, glyph_range
from survatlas.publish.search import MAX_RESULTS, search
from survatlas.publish.tiles import LABEL_LANGUAGES
from survatlas.store.gate import audience_clause
from survatlas.web._context import WebContext, get_context

router = APIRouter()
Context = Annotated[WebContext, Depends(get_context)]
PBF = "application/x-protobuf"


@router.get(
    "/fonts/{fontstack}/{start}-{end}.pbf",
    tags=["tiles"],
    response_class=Response,
    responses={200: {"content": {PBF: {}}, "description": "256 glyphs (signed distance fields)."}},
)
async def glyphs(
    fontstack: Annotated[str, Path(max_length=60)],
    start: Annotated[int, Path(ge=0, le=65280)],
    end: Annotated[int, Path(ge=255, le=65535)],
) -> Response:
    """Label glyphs of code points `start`–`end` (a 256 range) in `fontstack`, from local fonts.

    A comma-separated stack is served from its first known font stack.
    """
    stack = next((s.strip() for s in fontstack.split(",") if s.strip() in FONT_STACKS), fontstack)
    body = await run_in_threadpool(glyph_range, stack, start)
    return Response(body, media_type=PBF, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/api/search", tags=["summary"])
def find(
    ctx: Context,
    q: Annotated[str, Query(max_length=100, description="Name, street, device id or operator.")],
    limit: Annotated[int, Query(ge=1, le=MAX_RESULTS)] = 10,
) -> dict[str, Any]:
    """Places and streets by name (any `name:xx` too), devices by id, origin, name or operator."""
    return search(ctx.store(), q, audience=ctx.audience, limit=limit)


def label_languages(ctx: WebContext) -> list[dict[str, Any]]:
    """Label languages with a ``name:xx`` tag on some public street or site (most used first)."""
    gate = audience_clause(ctx.audience)
    counts = []
    for lang in LABEL_LANGUAGES:
        key = f'$."name:{lang}"'
        n = sum(
            int(ctx.store().scalar(
                f"SELECT count(*) FROM {table} WHERE {gate} AND json_extract(tags, ?) IS NOT NULL",
                (key,),
            ))
            for table in ("streets", "sites")
        )
        if n:
            counts.append({"code": lang, "labels": n})
    return sorted(counts, key=lambda c: -c["labels"])
