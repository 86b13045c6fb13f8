"""Routes over the device history: the span of dates, devices as of a date, the timeline.

One definition each: the span is :func:`survatlas.publish.growth.history_span`, devices as of
a date are read as ``survatlas coverage --as-of`` reads them
(:func:`survatlas.publish.browse.devices_as_of_page`), the timeline is
:func:`survatlas.publish.growth.timeline` (``survatlas timeline --json``). All go through the
publish gate with the server's audience.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from survatlas.publish.browse import devices_as_of_page
from survatlas.publish.growth import history_span, timeline
from survatlas.web._context import WebContext, get_context
from survatlas.web._params import (
    DEFAULT_LIMIT,
    BBoxQuery,
    LimitQuery,
    OffsetQuery,
    OptionalBBoxQuery,
    bbox_param,
    optional_bbox,
)

router = APIRouter(prefix="/api/history", tags=["history"])
Context = Annotated[WebContext, Depends(get_context)]
DateQuery = Annotated[
    str, Query(description="An ISO date (YYYY-MM-DD): devices in place on it.", max_length=40)
]


@router.get("")
def get_history(ctx: Context, bbox: OptionalBBoxQuery = None) -> dict[str, Any]:
    """Whether the store holds a device history (a full-history file or two snapshots or more)
    and the dates it spans; `reason` says why not."""
    box = optional_bbox(bbox)
    return ctx.cached(  # type: ignore[return-value]
        ("history", box, ctx.audience),
        lambda: history_span(ctx.store(), bbox=box, audience=ctx.audience),
    )


@router.get("/devices")
def get_devices_as_of(
    ctx: Context,
    date: DateQuery,
    bbox: BBoxQuery,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> dict[str, Any]:
    """Devices in place on `date` whose location is in `bbox`, as a GeoJSON FeatureCollection
    page (a negative `id` is a device gone since); the same devices as `coverage --as-of`."""
    return devices_as_of_page(
        ctx.store(), date, bbox_param(bbox), limit=limit, offset=offset, audience=ctx.audience
    )


@router.get("/timeline")
def get_timeline(
    ctx: Context, bbox: OptionalBBoxQuery = None, by: Literal["year", "month"] = "year"
) -> dict[str, Any]:
    """Devices added, removed and in place per period, by type, operator, zone and site
    category: what `survatlas timeline --json` prints."""
    return timeline(ctx.store(), bbox=optional_bbox(bbox), by=by, audience=ctx.audience)
