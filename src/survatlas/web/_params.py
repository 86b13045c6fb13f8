"""Query parameters shared by the routes, validated into clear 422 responses."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from survatlas.errors import InputError
from survatlas.geo import check_lonlat, parse_bbox
from survatlas.publish.browse import DEFAULT_PAGE, MAX_PAGE
from survatlas.store import MAX_ROW_ID

BBox = tuple[float, float, float, float]

BBOX_HELP = "West,south,east,north in degrees (lon/lat, WGS 84), e.g. 24.93,60.16,24.96,60.18"
BBoxQuery = Annotated[str, Query(description=BBOX_HELP, max_length=200)]
OptionalBBoxQuery = Annotated[str | None, Query(description=BBOX_HELP, max_length=200)]
LimitQuery = Annotated[
    int, Query(ge=1, le=MAX_PAGE, description=f"Page size (at most {MAX_PAGE}).")
]
OffsetQuery = Annotated[int, Query(ge=0, le=10_000_000, description="Features to skip.")]
DEFAULT_LIMIT = DEFAULT_PAGE
#: a record id in a path: beyond SQLite's range it is a 422, not an OverflowError (500)
RecordId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="Record id.")]

#: largest bbox side (degrees) the summary routes accept; larger boxes are refused.
MAX_BBOX_DEG = 5.0


def bbox_param(text: str) -> BBox:
    """Parse a ``W,S,E,N`` query value (raises :class:`InputError` → 422)."""
    return parse_bbox(text)


def optional_bbox(text: str | None) -> BBox | None:
    """Parse an optional ``W,S,E,N`` query value."""
    return None if text is None or text == "" else parse_bbox(text)


def small_bbox(text: str) -> BBox:
    """Parse a bbox and refuse one wider than :data:`MAX_BBOX_DEG` degrees on a side."""
    bbox = parse_bbox(text)
    if bbox[2] - bbox[0] > MAX_BBOX_DEG or bbox[3] - bbox[1] > MAX_BBOX_DEG:
        raise InputError(
            f"bbox {text!r} is larger than {MAX_BBOX_DEG}° on a side; zoom in or split it"
        )
    return bbox


def latlon_param(text: str, name: str) -> tuple[float, float]:
    """Parse ``lat,lon`` (raises :class:`InputError` → 422)."""
    try:
        lat, lon = (float(p) for p in text.split(","))
    except ValueError as exc:
        raise InputError(f"{name}={text!r} must be two numbers lat,lon") from exc
    check_lonlat(lon, lat)
    return lat, lon
