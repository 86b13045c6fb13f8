"""Vector tiles (Mapbox Vector Tile 2.1) made on the fly from the store's R*Tree indexes.

A *tileset* is a named list of :class:`TileLayer` s; one tile of a tileset is one MVT holding
each of its layers visible at that zoom. Two tilesets come with the store:

``base``
    ``buildings`` (zoom 14+), ``streets`` (zoom 12+; only through roads below zoom 14) and
    ``sites`` (zoom 12+), and the OSM context from zoom 10 (:mod:`survatlas.ingest.context`):
    ``water`` and ``green`` areas, ``waterways``, ``roads`` (motorways, trunk roads), ``rail``
    (zoom 12+) and ``places`` — enough to draw an offline base map from the store alone.
``devices``
    ``devices``: one point per device from zoom :data:`POINT_ZOOM` on, and in sparse tiles below it
    down to zoom :data:`CLUSTER_ZOOM` (at most :data:`SPARSE_POINTS`); otherwise (and always
    below :data:`CLUSTER_ZOOM`, where a city is a handful of pixels) ``clusters``: one point per cell of a
    :data:`CLUSTER_GRID` × :data:`CLUSTER_GRID` grid with the ``count`` of its devices (a cell of
    one device also carries that device's id, type and area).

Every reader selects rows with :func:`survatlas.store.gate.bbox_clause` (an R*Tree query) and
:func:`survatlas.store.gate.audience_clause` (the sensitivity gate). Analyses add their own result
layers with :func:`register_tile_layer`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mapbox_vector_tile
import numpy as np
import shapely

from survatlas.errors import InputError
from survatlas.publish import _mvt as _pb
from survatlas.store import Store
from survatlas.store.gate import Numbering, audience_clause, bbox_clause, numbering

__all__ = [
    "CLUSTER_GRID",
    "CLUSTER_ZOOM",
    "EXTENT",
    "LABEL_LANGUAGES",
    "MAX_POINTS",
    "MAX_ZOOM",
    "POINT_ZOOM",
    "TILESETS",
    "TileLayer",
    "TileQuery",
    "register_tile_layer",
    "render_tile",
    "tile_bounds",
    "tileset_catalog",
]

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22
POINT_ZOOM = 15
CLUSTER_ZOOM = 14
MAX_POINTS = 5000
SPARSE_POINTS = 300
CLUSTER_GRID = 16
_MAX_LAT = 85.0511287798066
_SIMPLIFY = 2.0
#: languages whose ``name:xx`` tag travels with street and site labels (the map's choice).
LABEL_LANGUAGES = ("en", "fi", "sv", "ko", "ja", "zh", "ru", "uk", "de", "fr", "es", "ar")
_THROUGH_ROADS = (
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "living_street",
    "pedestrian",
    "road",
)

#: geometries (shapely, lon/lat; point layers may give an (n, 2) lon/lat array) and their
#: properties (Python str/int/float/bool values), aligned.
Features = tuple[Sequence[Any], list[dict[str, Any]]]


@dataclass(frozen=True)
class TileQuery:
    """What a layer reader is asked for: a tile, its buffered bbox and the audience.

    ``memo`` is a dict the caller keeps while the store does not change (or ``None``):
    readers may keep per-store summaries there, e.g. the device snapshot behind clusters.
    """

    z: int
    x: int
    y: int
    bbox: tuple[float, float, float, float]
    inner_bbox: tuple[float, float, float, float]
    audience: str
    memo: dict | None = None


@dataclass(frozen=True)
class TileLayer:
    """One layer of a tileset: its name, the zooms it shows at, and its reader."""

    name: str
    minzoom: int
    geometry: str
    read: Callable[[Store, TileQuery], Features]
    maxzoom: int = MAX_ZOOM


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """West, south, east, north (lon/lat) of tile ``z/x/y`` (XYZ scheme, Web Mercator)."""
    _check_tile(z, x, y)
    n = 2.0**z
    west, east = x / n * 360.0 - 180.0, (x + 1) / n * 360.0 - 180.0
    north = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
    south = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 1) / n))))
    return west, south, east, north


def _check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise InputError(f"zoom {z} must be between 0 and {MAX_ZOOM}")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise InputError(f"tile {z}/{x}/{y} does not exist: x and y must be 0..{2**z - 1}")


def _buffered_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    w, s, e, n = tile_bounds(z, x, y)
    pad = BUFFER / EXTENT
    dx, dy = (e - w) * pad, (n - s) * pad
    return w - dx, max(s - dy, -90.0), e + dx, min(n + dy, 90.0)


def project(lon: np.ndarray, lat: np.ndarray, z: int, x: int, y: int) -> np.ndarray:
    """Lon/lat to tile coordinates (0..EXTENT, y down) of tile ``z/x/y``; shape (n, 2)."""
    n = 2.0**z
    lat_r = np.radians(np.clip(lat, -_MAX_LAT, _MAX_LAT))
    px = ((np.asarray(lon) + 180.0) / 360.0 * n - x) * EXTENT
    py = ((1.0 - np.arcsinh(np.tan(lat_r)) / math.pi) / 2.0 * n - y) * EXTENT
    return np.column_stack([px, py])


def _to_tile(geoms: Sequence[Any], q: TileQuery, kind: str) -> np.ndarray:
    arr = np.asarray(geoms, dtype=object)
    if not len(arr):
        return arr
    out = shapely.transform(arr, lambda c: project(c[:, 0], c[:, 1], q.z, q.x, q.y))
    if kind == "point":
        return out
    out = shapely.clip_by_rect(out, -BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
    out = shapely.simplify(out, _SIMPLIFY, preserve_topology=kind == "polygon")
    if kind == "polygon":
        out = shapely.orient_polygons(out, exterior_cw=False)
    return out


def render_tile(
    store: Store,
    tileset: str,
    z: int,
    x: int,
    y: int,
    *,
    audience: str = "public",
    memo: dict | None = None,
) -> bytes:
    """Encode tile ``z/x/y`` of ``tileset`` as MVT bytes (empty layers are left out).

    ``memo``: a dict kept by the caller for as long as the store is unchanged; readers keep
    summaries there (clusters of a large store are then computed in memory, not in SQL).

    Raises
    ------
    InputError
        Unknown tileset, or a tile that does not exist.
    """
    if tileset not in TILESETS:
        raise InputError(f"unknown tileset {tileset!r}; use one of {', '.join(TILESETS)}")
    _check_tile(z, x, y)
    audience_clause(audience)  # validates the audience name
    q = TileQuery(z, x, y, _buffered_bounds(z, x, y), tile_bounds(z, x, y), audience, memo)
    layers, points = [], []
    for layer in TILESETS[tileset]:
        if not layer.minzoom <= z <= layer.maxzoom:
            continue
        geoms, props = layer.read(store, q)
        if not len(props):
            continue
        if layer.geometry == "point":
            points.append(_encode_point_layers(layer, geoms, props, q))
        else:
            layers.extend(_encode_layers(layer, geoms, props, q))
    tile = b"".join(points)
    if layers:
        tile = (
            mapbox_vector_tile.encode(
                layers,
                default_options={
                    "y_coord_down": True,
                    "extents": EXTENT,
                    "check_winding_order": False,
                },
            )
            + tile
        )
    return tile


def _encode_layers(
    layer: TileLayer, geoms: Sequence[Any], props: list[dict[str, Any]], q: TileQuery
) -> list[dict[str, Any]]:
    by_name: dict[str, list[dict[str, Any]]] = {}
    tiled = _to_tile(geoms, q, layer.geometry)
    for geom, prop in zip(tiled, props, strict=True):
        if geom is None or shapely.is_empty(geom):
            continue
        name = prop.pop("_layer", layer.name)
        by_name.setdefault(name, []).append({"geometry": geom, "properties": _clean(prop)})
    return [{"name": name, "features": feats} for name, feats in by_name.items()]


def _encode_point_layers(
    layer: TileLayer, geoms: Sequence[Any], props: list[dict[str, Any]], q: TileQuery
) -> bytes:
    """Point layers straight to MVT protobuf (a tile is a concatenation of its layers)."""
    coords = _point_coords(geoms)
    xy = np.rint(project(coords[:, 0], coords[:, 1], q.z, q.x, q.y)).astype(np.int64)
    by_name: dict[str, list[int]] = {}
    for i, prop in enumerate(props):
        by_name.setdefault(prop.pop("_layer", layer.name), []).append(i)
    return b"".join(
        _pb.tile_layer(name, xy[rows], [props[i] for i in rows], EXTENT)
        for name, rows in by_name.items()
    )


def _point_coords(geoms: Any) -> np.ndarray:
    """Lon/lat (n, 2) from an (n, 2) float array or from shapely points."""
    arr = np.asarray(geoms)
    if arr.dtype != object and arr.ndim == 2:
        return arr.astype(float)
    return shapely.get_coordinates(np.asarray(geoms, dtype=object))


def _clean(props: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in props.items():
        if value is None:
            continue
        out[key] = value.item() if hasattr(value, "item") else value
    return out


def _rows(store: Store, table: str, cols: str, q: TileQuery, extra: str = "1") -> list[Any]:
    where, params = bbox_clause(store, table, q.bbox)
    return store.query(
        f"SELECT {cols} FROM {table} WHERE {audience_clause(q.audience)} AND {where} AND {extra}",
        params,
    )


def _wkb_features(
    rows: list[Any], names: Sequence[str], numbers: Numbering | None = None
) -> Features:
    """Features of ``rows`` (geometry first, then ``names``); with ``numbers``, ``id`` is the
    record's public number (:func:`survatlas.store.gate.numbering`)."""
    geoms = shapely.from_wkb([r[0] for r in rows]) if rows else []
    props = [dict(zip(names, tuple(r)[1:], strict=True)) for r in rows]
    if numbers is not None:
        for prop, n in zip(props, numbers.public_many([p["id"] for p in props]), strict=True):
            prop["id"] = n
    return geoms, props


def read_buildings(store: Store, q: TileQuery) -> Features:
    """Buildings: id, building, height_m, obstacle."""
    rows = _rows(store, "buildings", "geom, id, building, height_m, obstacle", q)
    return _wkb_features(rows, ("id", "building", "height_m", "obstacle"),
                         numbering(store, "buildings", q.audience))


def _name_columns() -> tuple[str, tuple[str, ...]]:
    """SQL columns and property names of the label languages' ``name:xx`` tags."""
    keys = tuple(f"name:{lang}" for lang in LABEL_LANGUAGES)
    return "".join(f", json_extract(tags, '$.\"{key}\"')" for key in keys), keys


def read_streets(store: Store, q: TileQuery) -> Features:
    """Streets: id, highway, name (and ``name:xx`` labels), walkable.

    Through roads only below zoom 14.
    """
    extra = "1"
    if q.z < 14:
        extra = f"highway IN ({', '.join(repr(h) for h in _THROUGH_ROADS)})"
    cols, keys = _name_columns()
    rows = _rows(store, "streets", f"geom, id, highway, name, walkable{cols}", q, extra)
    return _wkb_features(rows, ("id", "highway", "name", "walkable", *keys),
                         numbering(store, "streets", q.audience))


def read_sites(store: Store, q: TileQuery) -> Features:
    """Sites: id, category, name (and ``name:xx`` labels)."""
    cols, keys = _name_columns()
    rows = _rows(store, "sites", f"geom, id, category, name{cols}", q)
    return _wkb_features(rows, ("id", "category", "name", *keys),
                         numbering(store, "sites", q.audience))


def _context(store: Store, q: TileQuery, kinds: Sequence[str], layers: dict[str, str]) -> Features:
    cols, keys = _name_columns()
    wanted = ", ".join(repr(k) for k in kinds)
    rows = _rows(store, "context", f"geom, kind, class, name{cols}", q, f"kind IN ({wanted})")
    geoms, props = _wkb_features(rows, ("kind", "class", "name", *keys))
    for prop in props:
        prop["_layer"] = layers[prop.pop("kind")]
    return geoms, props


def read_context_areas(store: Store, q: TileQuery) -> Features:
    """Water and green areas (layers ``water`` and ``green``): class, name."""
    return _context(store, q, ("water", "green"), {"water": "water", "green": "green"})


def read_context_lines(store: Store, q: TileQuery) -> Features:
    """Rivers and canals (``waterways``), motorways and trunk roads (``roads``) and, from
    zoom 12, rail, tram and subway lines (``rail``): class, name, tunnel."""
    kinds = ("water", "road", "rail") if q.z >= 12 else ("water", "road")
    geoms, props = _context(store, q, kinds, {"water": "waterways", "road": "roads", "rail": "rail"})
    keep = [i for i, g in enumerate(geoms) if shapely.get_type_id(g) in (1, 5)]  # lines only
    return [geoms[i] for i in keep], [props[i] for i in keep]


def read_places(store: Store, q: TileQuery) -> Features:
    """Named places (``places``: city, suburb, neighbourhood …): class, name."""
    return _context(store, q, ("place",), {"place": "places"})


_DEVICE_COLS = (
    "lon, lat, id, device_type, coalesce(area, 'unknown'), camera_type, mount, "
    "json_extract(views, '$[0][0]'), json_extract(views, '$[0][1]')"
)
_DEVICE_PROPS = ("id", "device_type", "area", "camera_type", "mount", "direction", "fov")


def read_devices(store: Store, q: TileQuery) -> Features:
    """Device points (id, device_type, area; camera_type, mount, direction, fov when known).

    Points from zoom :data:`POINT_ZOOM` on, and below it down to :data:`CLUSTER_ZOOM` in tiles
    holding at most :data:`SPARSE_POINTS` devices; clusters otherwise (always below
    :data:`CLUSTER_ZOOM`, and in any tile of more than :data:`MAX_POINTS`). A cluster of one
    device carries that device's id, type and area. Directions and fields of view are rounded
    to whole degrees.
    """
    sparse = SPARSE_POINTS if q.z >= CLUSTER_ZOOM else 0
    cap = MAX_POINTS if q.z >= POINT_ZOOM else sparse
    if q.z < POINT_ZOOM and q.memo is not None:
        snap = _snapshot(store, q)
        inside = _inside(snap, q.inner_bbox)
        if np.count_nonzero(inside) > cap:
            return _snapshot_clusters(snap, inside, q)
    where, params = bbox_clause(store, "devices", q.bbox)
    cursor = store.conn.cursor()
    cursor.row_factory = None  # plain tuples: this is the hot path of the map
    rows = cursor.execute(
        f"SELECT {_DEVICE_COLS} FROM devices WHERE {audience_clause(q.audience)} AND {where} "
        f"LIMIT {cap + 1}",
        params,
    ).fetchall()
    if len(rows) > cap:
        return _clusters(store, q)
    coords = np.array([r[:2] for r in rows], dtype=float).reshape(-1, 2)
    numbers = numbering(store, "devices", q.audience).public_many([r[2] for r in rows])
    props = [
        {
            k: (round(v) if i >= 5 else v)
            for i, (k, v) in enumerate(zip(_DEVICE_PROPS, (n, *r[3:]), strict=True))
            if v is not None
        }
        for r, n in zip(rows, numbers, strict=True)
    ]
    return coords, props


def _clusters(store: Store, q: TileQuery) -> Features:
    w, s, e, n = q.inner_bbox
    where, params = bbox_clause(store, "devices", q.inner_bbox)
    g = CLUSTER_GRID
    rows = store.query(
        f"SELECT avg(lon), avg(lat), count(*), min(id), min(device_type), min(area) "
        f"FROM devices WHERE {audience_clause(q.audience)} AND {where} "
        f"GROUP BY min(CAST((lon - ?) * ? AS INTEGER), {g - 1}), "
        f"min(CAST((? - lat) * ? AS INTEGER), {g - 1})",
        (*params, w, g / (e - w), n, g / (n - s)),
    )
    coords = np.array([r[:2] for r in rows], dtype=float).reshape(-1, 2)
    numbers = numbering(store, "devices", q.audience)
    props = [
        {"_layer": "clusters", "count": r[2]}
        | (
            {"id": numbers.public(r[3]), "device_type": r[4], "area": r[5] or "unknown"}
            if r[2] == 1
            else {}
        )
        for r in rows
    ]
    return coords, props


def _snapshot(store: Store, q: TileQuery) -> dict[str, np.ndarray]:
    """Every device the audience may see as arrays (built once per store state, in ``memo``)."""
    key = ("device_snapshot", q.audience)
    snap = q.memo.get(key)
    if snap is not None:
        return snap
    with q.memo.setdefault("_lock", threading.Lock()):  # one build, not one per thread
        snap = q.memo.get(key)
        if snap is not None:
            return snap
        cursor = store.conn.cursor()
        cursor.row_factory = None
        rows = cursor.execute(
            f"SELECT lon, lat, id, device_type, coalesce(area, 'unknown') FROM devices "
            f"WHERE {audience_clause(q.audience)} ORDER BY id"
        ).fetchall()
        types, type_code = np.unique([r[3] for r in rows], return_inverse=True)
        areas, area_code = np.unique([r[4] for r in rows], return_inverse=True)
        snap = {
            "lon": np.array([r[0] for r in rows], dtype=float),
            "lat": np.array([r[1] for r in rows], dtype=float),
            "id": np.array(  # public numbers (the snapshot is in id order)
                numbering(store, "devices", q.audience).public_many([r[2] for r in rows]),
                dtype=np.int64,
            ),
            "type": type_code.reshape(-1),
            "area": area_code.reshape(-1),
            "types": types,
            "areas": areas,
        }
        q.memo[key] = snap
    return snap


def _inside(snap: dict[str, np.ndarray], bbox: tuple[float, float, float, float]) -> np.ndarray:
    w, s, e, n = bbox
    lon, lat = snap["lon"], snap["lat"]
    return (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)


def _snapshot_clusters(snap: dict[str, np.ndarray], inside: np.ndarray, q: TileQuery) -> Features:
    """The clusters of :func:`_clusters`, computed from the in-memory snapshot."""
    w, s, e, n = q.inner_bbox
    g = CLUSTER_GRID
    idx = np.flatnonzero(inside)
    lon, lat = snap["lon"][idx], snap["lat"][idx]
    gx = np.minimum(((lon - w) * (g / (e - w))).astype(np.int64), g - 1)
    gy = np.minimum(((n - lat) * (g / (n - s))).astype(np.int64), g - 1)
    cell = gy * g + gx
    count = np.bincount(cell, minlength=g * g)
    cells = np.flatnonzero(count)
    mean_lon = np.bincount(cell, weights=lon, minlength=g * g)[cells] / count[cells]
    mean_lat = np.bincount(cell, weights=lat, minlength=g * g)[cells] / count[cells]
    first = np.full(g * g, -1, dtype=np.int64)
    first[cell[::-1]] = idx[::-1]  # the lowest id of each cell (the snapshot is id-ordered)
    props = []
    for c in cells.tolist():
        prop: dict[str, Any] = {"_layer": "clusters", "count": int(count[c])}
        if count[c] == 1:
            i = first[c]
            prop |= {
                "id": int(snap["id"][i]),
                "device_type": str(snap["types"][snap["type"][i]]),
                "area": str(snap["areas"][snap["area"][i]]),
            }
        props.append(prop)
    return np.column_stack([mean_lon, mean_lat]), props


#: tileset name -> its layers; analyses append theirs with :func:`register_tile_layer`.
TILESETS: dict[str, list[TileLayer]] = {
    "base": [
        TileLayer("buildings", 14, "polygon", read_buildings),
        TileLayer("streets", 12, "line", read_streets),
        TileLayer("sites", 12, "polygon", read_sites),
        TileLayer("context_areas", 10, "polygon", read_context_areas),
        TileLayer("context_lines", 10, "line", read_context_lines),
        TileLayer("places", 10, "point", read_places),
    ],
    "devices": [TileLayer("devices", 0, "point", read_devices)],
}


def register_tile_layer(tileset: str, layer: TileLayer) -> None:
    """Add ``layer`` to ``tileset`` (created when new); its reader must pass the audience gate."""
    layers = TILESETS.setdefault(tileset, [])
    layers[:] = [existing for existing in layers if existing.name != layer.name] + [layer]


def tileset_catalog() -> dict[str, list[dict[str, Any]]]:
    """Each tileset's layers with their zoom range and geometry kind (for map clients)."""
    return {
        name: [
            {
                "name": lay.name,
                "minzoom": lay.minzoom,
                "maxzoom": lay.maxzoom,
                "geometry": lay.geometry,
            }
            for lay in layers
        ]
        for name, layers in TILESETS.items()
    }
