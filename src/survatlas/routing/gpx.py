"""Route files: read GPX 1.0/1.1 (trk/trkseg/trkpt, rte/rtept) and GeoJSON lines; write both.

GPX is read and written with :mod:`xml.etree.ElementTree` (no extra dependency; expat refuses
external entities and, since Python 3.7.1, entity-expansion bombs).
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely

from survatlas.errors import CorruptFileError, InputError, InputFileNotFoundError

if TYPE_CHECKING:
    from survatlas.routing.plan import Route

GPX_NS = "http://www.topografix.com/GPX/1/1"
_SUFFIXES = {".gpx": "gpx", ".geojson": "geojson", ".json": "geojson"}


def _kind(path: Path) -> str:
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"{path.name}: unknown route format; use a .gpx or .geojson file")
    return kind


def read_route_file(path: str | Path) -> list[tuple[float, float]]:
    """The (lat, lon) points of a route file: a GPX track or route, or a GeoJSON line.

    A GPX file gives its first track (every segment, in order), else its first route; a GeoJSON
    file its first LineString or MultiLineString, else its Points in order.

    Raises
    ------
    InputFileNotFoundError, CorruptFileError, InputError
        Missing file, unreadable content, or fewer than two points.
    """
    path = Path(path)
    kind = _kind(path)
    if not path.is_file():
        raise InputFileNotFoundError(f"{path}: no such file; give a GPX or GeoJSON route")
    points = _read_gpx(path) if kind == "gpx" else _read_geojson(path)
    if len(set(points)) < 2:
        raise InputError(
            f"{path.name}: the route has {len(set(points))} distinct point(s); a route needs at "
            "least two"
        )
    return points


def read_route_tracks(path: str | Path) -> list[tuple[str, list[tuple[float, float]]]]:
    """Every route of a route file as ``(name, (lat, lon) points)``, in file order.

    GPX: each track (``trk``, all its segments) and each route (``rte``); GeoJSON: each
    LineString or MultiLineString feature, else its Points as one route. A track without a name
    is called ``track N``. Tracks with fewer than two distinct points are skipped; a file
    without any usable one raises :class:`InputError`.
    """
    path = Path(path)
    kind = _kind(path)
    if not path.is_file():
        raise InputFileNotFoundError(f"{path}: no such file; give a GPX or GeoJSON route")
    tracks = _gpx_tracks(path) if kind == "gpx" else _geojson_tracks(path)
    usable = [(name, pts) for name, pts in tracks if len(set(pts)) >= 2]
    if not usable:
        raise InputError(
            f"{path.name}: no track or route with at least two distinct points"
        )
    return usable


def _gpx_tracks(path: Path) -> list[tuple[str, list[tuple[float, float]]]]:
    root = _gpx_root(path)
    out = []
    for parent, tag in (("trk", "trkpt"), ("rte", "rtept")):
        for n, el in enumerate((e for e in root.iter() if _local(e.tag) == parent), 1):
            name = next((c.text for c in el if _local(c.tag) == "name" and c.text), None)
            pts = [_gpx_point(path, p, k) for k, p in
                   enumerate((p for p in el.iter() if _local(p.tag) == tag), 1)]
            out.append((name or f"{'track' if parent == 'trk' else 'route'} {n}", pts))
    return out


def _geojson_tracks(path: Path) -> list[tuple[str, list[tuple[float, float]]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"{path.name}: not valid GeoJSON ({exc})") from exc
    feats = data.get("features") if isinstance(data, dict) and data.get("type") == \
        "FeatureCollection" else None
    lines = [f for f in feats or [] if isinstance(f, dict) and
             (f.get("geometry") or {}).get("type") in ("LineString", "MultiLineString")]
    if len(lines) < 2:
        return [("track 1", _read_geojson(path))]
    out = []
    for n, feat in enumerate(lines, 1):
        coords = _line_coords(feat["geometry"]) or []
        name = (feat.get("properties") or {}).get("name")
        try:
            pts = [_checked(path, float(c[1]), float(c[0]), k) for k, c in enumerate(coords, 1)]
        except (TypeError, ValueError, IndexError) as exc:
            raise CorruptFileError(f"{path.name}: coordinates must be [lon, lat] numbers") from exc
        out.append((str(name) if name else f"track {n}", pts))
    return out


def _gpx_root(path: Path) -> ET.Element:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise CorruptFileError(f"{path.name}: not valid GPX/XML ({exc}); export it again") from exc
    if _local(root.tag) != "gpx":
        raise CorruptFileError(f"{path.name}: the root element is <{_local(root.tag)}>, not <gpx>")
    return root


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _read_gpx(path: Path) -> list[tuple[float, float]]:
    root = _gpx_root(path)
    for parent, tag in (("trk", "trkpt"), ("rte", "rtept")):
        first = next((el for el in root.iter() if _local(el.tag) == parent), None)
        found = [el for el in first.iter() if _local(el.tag) == tag] if first is not None else []
        if found:
            return [_gpx_point(path, el, k) for k, el in enumerate(found, 1)]
    raise InputError(f"{path.name}: no track points (trkpt) or route points (rtept) in the file")


def _gpx_point(path: Path, el: ET.Element, k: int) -> tuple[float, float]:
    try:
        lat, lon = float(el.attrib["lat"]), float(el.attrib["lon"])
    except (KeyError, ValueError) as exc:
        raise CorruptFileError(
            f"{path.name}: {_local(el.tag)} #{k} lacks a numeric lat/lon attribute"
        ) from exc
    return _checked(path, lat, lon, k)


def _checked(path: Path, lat: float, lon: float, k: int) -> tuple[float, float]:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise CorruptFileError(f"{path.name}: point #{k} ({lat}, {lon}) is not a WGS 84 lat/lon")
    return lat, lon


def _read_geojson(path: Path) -> list[tuple[float, float]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"{path.name}: not valid GeoJSON ({exc})") from exc
    coords = _line_coords(data)
    if coords is None:
        raise InputError(
            f"{path.name}: no LineString, MultiLineString or sequence of Points in the GeoJSON"
        )
    try:
        return [_checked(path, float(c[1]), float(c[0]), k) for k, c in enumerate(coords, 1)]
    except (TypeError, ValueError, IndexError) as exc:
        raise CorruptFileError(f"{path.name}: coordinates must be [lon, lat] numbers") from exc


def _line_coords(data: Any) -> list[Any] | None:
    if not isinstance(data, dict):
        return None
    kind = data.get("type")
    if kind == "FeatureCollection":
        feats = [f for f in data.get("features") or [] if isinstance(f, dict)]
        for feat in feats:
            coords = _line_coords(feat.get("geometry"))
            if coords is not None and (feat.get("geometry") or {}).get("type") != "Point":
                return coords
        points = [_line_coords(f.get("geometry")) for f in feats]
        return [p[0] for p in points if p] or None
    if kind == "Feature":
        return _line_coords(data.get("geometry"))
    coords = data.get("coordinates")
    if not isinstance(coords, list):
        return None
    if kind == "LineString":
        return coords
    if kind == "MultiLineString":
        return [c for part in coords for c in part]
    if kind == "Point":
        return [coords]
    return None


def write_route_file(
    path: str | Path, routes: Sequence[Route], *, method: str, attribution: str
) -> Path:
    """Write routes (and their stretches in view) as GeoJSON or GPX 1.1; return the path."""
    path = Path(path)
    kind = _kind(path)
    if kind == "geojson":
        path.write_text(json.dumps(route_geojson(routes, method, attribution), ensure_ascii=False))
    else:
        ET.ElementTree(_gpx(routes, method, attribution)).write(
            path, encoding="utf-8", xml_declaration=True
        )
    return path


def route_geojson(routes: Sequence[Route], method: str, attribution: str) -> dict[str, Any]:
    """Routes (LineStrings with their figures) and stretches in view as a FeatureCollection."""
    features = []
    for route in routes:
        props = route.to_dict()
        features.append(_feature(route.geometry, {"feature": "route", **props}))
        for s in route.stretches:
            features.append(
                _feature(
                    s.geometry,
                    {
                        "feature": "in_view",
                        "route": route.kind,
                        "scenario": route.scenario,
                        "level": s.level,
                        "from_m": round(s.from_m, 1),
                        "to_m": round(s.to_m, 1),
                        "cameras": list(s.cameras),
                    },
                )
            )
    return {
        "type": "FeatureCollection",
        "features": features,
        "method": method,
        "attribution": attribution,
    }


def _feature(geom: shapely.Geometry, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": props}


def gpx_document(
    tracks: Sequence[tuple[str, str | None, Sequence[Sequence[tuple[float, float]]]]],
    *, desc: str, attribution: str,
) -> ET.Element:
    """The one GPX 1.1 writer: ``tracks`` are ``(name, description, segments)`` with every
    segment a sequence of ``(lon, lat)``; ``desc`` (the method) and the ODbL licence go in the
    metadata."""
    ET.register_namespace("", GPX_NS)
    root = ET.Element(f"{{{GPX_NS}}}gpx", {"version": "1.1", "creator": "survatlas"})
    meta = ET.SubElement(root, f"{{{GPX_NS}}}metadata")
    ET.SubElement(meta, f"{{{GPX_NS}}}desc").text = desc
    copyright_ = ET.SubElement(meta, f"{{{GPX_NS}}}copyright", {"author": attribution})
    ET.SubElement(
        copyright_, f"{{{GPX_NS}}}license"
    ).text = "https://opendatacommons.org/licenses/odbl/1-0/"
    for name, description, segments in tracks:
        trk = ET.SubElement(root, f"{{{GPX_NS}}}trk")
        ET.SubElement(trk, f"{{{GPX_NS}}}name").text = name
        if description:
            ET.SubElement(trk, f"{{{GPX_NS}}}desc").text = description
        for segment in segments:
            seg = ET.SubElement(trk, f"{{{GPX_NS}}}trkseg")
            for lon, lat in segment:
                ET.SubElement(seg, f"{{{GPX_NS}}}trkpt", {"lat": f"{lat:.7f}", "lon": f"{lon:.7f}"})
    return root


def gpx_text(root: ET.Element) -> str:
    """A GPX document as text with its XML declaration."""
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _gpx(routes: Sequence[Route], method: str, attribution: str) -> ET.Element:
    tracks = [
        (route.kind, _summary(route), [p.coords for p in shapely.get_parts(route.geometry)])
        for route in routes
    ]
    return gpx_document(tracks, desc=method, attribution=attribution)


def _summary(route: Route) -> str:
    seen = "; ".join(
        f"{lvl} {s.metres:.0f} m, {len(s.cameras)} cameras"
        for lvl in route.levels
        for s in [route.seen(lvl)]
    )
    return (
        f"{route.length_m:.0f} m, {route.time_s / 60:.0f} min; in view ({route.scenario}): {seen}"
    )
