"""Routes over routing: the shortest and the least-exposed way between two points, and GPX."""

from __future__ import annotations

from typing import Annotated, Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from survatlas import ODBL_ATTRIBUTION
from survatlas.errors import RoutingError
from survatlas.web import _analyses
from survatlas.web._context import WebContext, get_context
from survatlas.web._params import latlon_param

router = APIRouter(prefix="/api", tags=["routing"])
Context = Annotated[WebContext, Depends(get_context)]

DetourQuery = Annotated[
    float,
    Query(ge=1.0, le=3.0, description="Longest detour allowed, as a multiple of the shortest."),
]
ROUTES = ("shortest", "least_exposure")


LevelQuery = Annotated[
    str | None,
    Query(description="DORI level whose metres in view are minimised.", max_length=20),
]


def _routes(
    ctx: WebContext, origin: str, destination: str, max_detour: float, level: str | None
) -> dict[str, Any]:
    return _analyses.compare_routes(
        ctx.store(),
        latlon_param(origin, "from"),
        latlon_param(destination, "to"),
        max_detour,
        ctx.audience,
        level,
    )


@router.get("/route")
def route(
    ctx: Context,
    origin: Annotated[str, Query(alias="from", description="lat,lon", max_length=60)],
    destination: Annotated[str, Query(alias="to", description="lat,lon", max_length=60)],
    max_detour: DetourQuery = 1.25,
    level: LevelQuery = None,
) -> dict[str, Any]:
    """Shortest route vs least-exposure route (within `max_detour` × the shortest length)."""
    return _routes(ctx, origin, destination, max_detour, level)


@router.get("/route.gpx", response_class=Response)
def route_gpx(
    ctx: Context,
    origin: Annotated[str, Query(alias="from", description="lat,lon", max_length=60)],
    destination: Annotated[str, Query(alias="to", description="lat,lon", max_length=60)],
    max_detour: DetourQuery = 1.25,
    level: LevelQuery = None,
) -> Response:
    """Both routes as GPX 1.1 tracks (for phones and GPS units)."""
    result = _routes(ctx, origin, destination, max_detour, level)
    return Response(
        routes_gpx(result),
        media_type="application/gpx+xml",
        headers={"Content-Disposition": 'attachment; filename="survatlas-route.gpx"'},
    )


def routes_gpx(result: dict[str, Any]) -> str:
    """GPX 1.1 with one track per route found in ``result``."""
    tracks = []
    for key in ROUTES:
        route = result.get(key)
        if not route or not route.get("geometry"):
            continue
        points = _line_coords(route["geometry"])
        segment = "".join(f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"/>' for lon, lat in points)
        tracks.append(f"<trk><name>{escape(key)}</name><trkseg>{segment}</trkseg></trk>")
    if not tracks:
        raise RoutingError("no route to write as GPX; pick two points on the street network")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="survatlas" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<metadata><desc>{escape(ODBL_ATTRIBUTION)}</desc>"
        '<copyright author="OpenStreetMap contributors">'
        "<license>https://opendatacommons.org/licenses/odbl/1-0/</license>"
        "</copyright></metadata>" + "".join(tracks) + "</gpx>\n"
    )


def _line_coords(geometry: dict[str, Any]) -> list[tuple[float, float]]:
    if geometry["type"] == "LineString":
        return [tuple(c[:2]) for c in geometry["coordinates"]]
    if geometry["type"] == "MultiLineString":
        return [tuple(c[:2]) for part in geometry["coordinates"] for c in part]
    raise RoutingError(f"a route geometry must be a line, not {geometry['type']}")
