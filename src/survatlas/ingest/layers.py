"""Import GIS layers (GeoJSON, GeoPackage, FlatGeobuf, shapefile …) as buildings, streets or sites.

Any CRS is reprojected to WGS 84. Attribute columns become tags (OSM names are kept).
Sites need a ``category`` column or OSM-style tags from which a category follows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from survatlas.errors import CorruptFileError, InputError, InputFileNotFoundError
from survatlas.ingest._columns import (
    TextColumn,
    constant_column,
    tag_dicts,
    tags_json,
    text_columns,
)
from survatlas.ingest._records import ROW_COLUMNS, ImportSummary, Record, RowChunk, content_shas
from survatlas.ingest._site_merge import record_site_sources, split_known_sites
from survatlas.ingest._writer import write_chunk, write_records
from survatlas.provenance.sources import (
    file_sha256,
    file_source,
    insert_import,
    raise_source_level,
)
from survatlas.store import Store
from survatlas.store.clock import now_iso
from survatlas.vocab import (
    LAYER_KINDS,
    SITE_CATEGORIES,
    is_obstacle,
    is_walkable,
    site_categories,
)

_GEOM_TYPES = {
    "buildings": {"Polygon", "MultiPolygon"},
    "streets": {"LineString", "MultiLineString"},
    "sites": {"Point", "Polygon", "MultiPolygon", "LineString", "MultiLineString"},
}


def import_layer(
    store: Store, path: str | Path, kind: str, *, sensitivity: str = "public",
    declassify: bool = False,
) -> ImportSummary:
    """Import a GIS layer as ``kind`` (buildings, streets or sites), all-or-nothing.

    A ``sensitivity`` attribute sets a row's level over ``sensitivity``; stored records are
    never lowered without ``declassify`` (see :mod:`survatlas.ingest._levels`).

    Parameters
    ----------
    store : Store
        The store to write to.
    path : str or Path
        Any file GDAL reads (GeoJSON, GeoPackage, FlatGeobuf, Shapefile …), in any CRS
        (reprojected to WGS 84).
    kind : {"buildings", "streets", "sites"}
        What the features are.
    sensitivity : str
        Level of every row without its own ``sensitivity`` attribute.
    declassify : bool
        Allow lowering the level of records already stored (logged in the custody log).

    Returns
    -------
    ImportSummary
        Rows added, updated, unchanged (and merged sites) per layer.

    Examples
    --------
    ::

        with Store("city.db") as store:
            import_layer(store, "schools.gpkg", "sites")
    """
    path = Path(path)
    if kind not in LAYER_KINDS:
        raise InputError(f"unknown layer kind {kind!r}; use one of {', '.join(LAYER_KINDS)}")
    if not path.exists():
        raise InputFileNotFoundError(
            f"{path}: no such file; give a GeoJSON/GeoPackage/FlatGeobuf layer"
        )
    frame = read_layer(path)
    started, sha = now_iso(), file_sha256(path) if path.is_file() else path.name
    rows, errors = _rows(frame, kind, path, sensitivity)
    if errors:
        raise InputError(
            f"{path.name}: "
            + "; ".join(errors[:5])
            + ". Fix these rows and import again; nothing was written"
        )
    with store.transaction() as conn:
        source_id = file_source(
            conn,
            kind="dataset",
            title=path.name,
            uri=path.name,
            sha256=sha,
            retrieved_at=started,
            sensitivity=sensitivity,
        )
        summary = ImportSummary(source_id=source_id, file=path.name)
        merged: list = []
        if isinstance(rows, RowChunk):
            summary.layers[kind], level = write_chunk(
                conn, kind, source_id, rows, declassify=declassify
            )
        else:
            records, merged = split_known_sites(conn, rows)
            summary.layers[kind], level = write_records(
                conn, kind, source_id, records, declassify=declassify
            )
        raise_source_level(conn, source_id, level)
        if merged:
            record_site_sources(conn, source_id, merged)
            summary.layers[kind].merged = len(merged)
        insert_import(conn, source_id=source_id, command=f"import layer --kind {kind}", started=started, summary=summary.to_dict(), counts=summary.counts(), file=summary.file)
    return summary


def read_layer(path: Path) -> gpd.GeoDataFrame:
    """Read a layer with pyogrio (through Arrow when available) and reproject it to WGS 84."""
    try:
        frame = _read_dataframe(path)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError,
            shapely.errors.GEOSException) as exc:
        raise CorruptFileError(f"{path.name} cannot be read as a GIS layer ({exc})") from exc
    if frame.empty:
        raise InputError(f"{path.name} has no features; nothing to import")
    if frame.crs is None:
        raise InputError(
            f"{path.name} has no coordinate reference system; set one (e.g. EPSG:4326)"
        )
    return frame if frame.crs.equals("EPSG:4326") else frame.to_crs("EPSG:4326")


def _read_dataframe(path: Path) -> gpd.GeoDataFrame:
    try:
        return pyogrio.read_dataframe(path, use_arrow=True)
    except ImportError:  # no pyarrow: GDAL's row-by-row reader, same frame
        return pyogrio.read_dataframe(path)


#: shapely geometry type ids -> names (as ``geom_type`` gives them)
_TYPE_NAMES = ("Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
               "MultiPolygon", "GeometryCollection")


def _rows(
    frame: gpd.GeoDataFrame, kind: str, path: Path, sensitivity: str
) -> tuple[RowChunk | list[Record], list[str]]:
    """The rows of a layer, checked column-wise (geometry type, emptiness, coordinates);
    errors in row order.

    Buildings and streets come as one :class:`RowChunk` built column by column (tags JSON,
    layer columns and content hashes without a Python object per row); sites as records,
    which the site merge compares one by one with the stored sites.
    """
    geoms = np.asarray(frame.geometry.array, dtype=object)
    types = shapely.get_type_id(geoms)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    allowed = np.isin(types, [_TYPE_NAMES.index(t) for t in _GEOM_TYPES[kind]])
    bb = shapely.bounds(geoms)
    inside = (np.abs(bb[:, [0, 2]]) <= 180).all(axis=1) & (np.abs(bb[:, [1, 3]]) <= 90).all(axis=1)
    finite = _finite_vertices(geoms, ~empty)
    errors = []
    for i in np.flatnonzero(empty | ~allowed | ~inside | ~finite).tolist():
        if empty[i]:
            errors.append(f"row {i + 1}: empty geometry")
        elif not allowed[i]:
            errors.append(f"row {i + 1}: a {_TYPE_NAMES[types[i]]} cannot be one of the {kind}")
        elif not finite[i]:
            errors.append(f"row {i + 1}: a NaN or infinite coordinate")
        else:
            errors.append(f"row {i + 1}: coordinates outside WGS 84 after reprojection (wrong CRS?)")
    good = np.flatnonzero(~empty & allowed & inside & finite)
    names = [c for c in frame.columns if c != frame.geometry.name]
    columns = text_columns(frame, names, good)
    wkbs = shapely.to_wkb(geoms[good]).tolist()
    ids = next((c.values() for c in columns if c.key == "id"), None)
    prefix = f"layer:{path.name}:"
    origins = [
        prefix + (str(i + 1) if ident is None else ident)
        for i, ident in zip(good.tolist(), ids or [None] * len(good), strict=True)
    ]
    if kind != "sites":
        chunk = _layer_chunk(kind, origins, wkbs, bb[good], columns, sensitivity)
        return chunk, errors
    records: list[Record] = []
    for i, origin, wkb, tags in zip(
        good.tolist(), origins, wkbs, tag_dicts(columns, len(good)), strict=True
    ):
        try:
            records.extend(_layer_records(kind, origin, wkb, tags, sensitivity))
        except InputError as exc:
            errors.append(f"row {i + 1}: {exc}")
    if errors:  # row order, whichever check found them
        errors.sort(key=lambda e: int(e.split(":", 1)[0].split()[1]))
    return records, errors


def _finite_vertices(geoms: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Rows whose vertices are all finite (bounds skip a NaN vertex: it is looked for)."""
    finite = np.ones(len(geoms), dtype=bool)
    coords, index = shapely.get_coordinates(geoms[present], return_index=True)
    bad = np.unique(index[~np.isfinite(coords).all(axis=1)])
    finite[np.flatnonzero(present)[bad]] = False
    return finite


#: tag given to a row without it, per kind (and the column it fills)
_DEFAULT_TAG = {"buildings": ("building", "yes"), "streets": ("highway", "footway")}


def _layer_chunk(
    kind: str, origins: list[str], wkbs: list[bytes], bounds: np.ndarray,
    columns: list[TextColumn], sens: str,
) -> RowChunk:
    """Buildings or streets by column, the same rows as :func:`_layer_records` gives."""
    n = len(origins)
    key, default = _DEFAULT_TAG[kind]
    by_key = {c.key: c for c in columns}
    by_key[key] = by_key[key].with_default(default) if key in by_key else (
        constant_column(key, default, n))
    tags = tags_json(list(by_key.values()), n)
    if kind == "buildings":
        building = by_key["building"]
        levels = by_key.get("building:levels") or by_key.get("levels")
        if "building:levels" in by_key and "levels" in by_key:
            levels = _fallback(by_key["building:levels"], by_key["levels"])
        values: dict[str, list] = {
            "building": building.values(),
            "obstacle": building.values(lambda b: int(is_obstacle({"building": b}))),
            "height_m": _floats(by_key.get("height"), n),
            "levels": _floats(levels, n),
            "min_height_m": _floats(by_key.get("min_height"), n),
        }
    else:
        dicts = tag_dicts(list(by_key.values()), n)
        values = {
            "highway": by_key["highway"].values(),
            "name": by_key["name"].values() if "name" in by_key else [None] * n,
            "walkable": [int(is_walkable(t)) for t in dicts],
        }
    shas = content_shas(wkbs, tags, values)
    # bytearray: sqlite3 binds it directly (bytes go through its adapter lookup, ~0.3 µs)
    wkbs = list(map(bytearray, wkbs))
    row = dict(origin=origins, osm_type=[None] * n, osm_id=[None] * n, osm_version=[None] * n,
               osm_timestamp=[None] * n, content_sha=shas, geom=wkbs, tags=tags,
               sensitivity=[sens] * n, **values)
    return RowChunk(kind, [row[c] for c in ROW_COLUMNS[kind]],
                    np.asarray(bounds, dtype=np.float64).reshape(-1, 4), checked=True)


def _fallback(first: TextColumn, second: TextColumn) -> TextColumn:
    """``first`` where present, else ``second`` (as ``tags.get(a, tags.get(b))``)."""
    texts = first.texts + second.texts
    codes = np.where(first.codes >= 0, first.codes,
                     np.where(second.codes >= 0, second.codes + len(first.texts), -1))
    return TextColumn(first.key, codes, texts)


def _floats(column: TextColumn | None, n: int) -> list[float | None]:
    return [None] * n if column is None else column.values(_float)


def _layer_records(
    kind: str, origin: str, wkb: bytes, tags: dict[str, str], sens: str
) -> list[Record]:
    if kind == "buildings":
        tags.setdefault("building", "yes")
        values: dict[str, Any] = {
            "building": tags["building"],
            "obstacle": int(is_obstacle(tags)),
            "height_m": _float(tags.get("height")),
            "levels": _float(tags.get("building:levels", tags.get("levels"))),
            "min_height_m": _float(tags.get("min_height")),
        }
        return [Record(origin, wkb, values, tags, sensitivity=sens)]
    if kind == "streets":
        tags.setdefault("highway", "footway")
        values = {
            "highway": tags["highway"],
            "name": tags.get("name"),
            "walkable": int(is_walkable(tags)),
        }
        return [Record(origin, wkb, values, tags, sensitivity=sens)]
    categories = [tags["category"]] if "category" in tags else site_categories(tags)
    if not categories:
        raise InputError("no category: add a 'category' column or OSM tags such as amenity=school")
    unknown = [c for c in categories if c not in SITE_CATEGORIES]
    if unknown:
        raise InputError(
            f"unknown category {unknown[0]!r}; use one of {', '.join(SITE_CATEGORIES)}"
        )
    return [
        Record(origin, wkb, {"category": c, "name": tags.get("name")}, tags, sensitivity=sens)
        for c in categories
    ]


def _float(value: str | None) -> float | None:
    try:
        return None if value is None else float(str(value).split()[0])
    except (ValueError, IndexError):
        return None
