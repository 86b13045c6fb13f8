"""Write layers to the formats researchers use: GeoJSON, GeoParquet, GeoPackage, CSV, KML.

OSM tags keep their OSM names as columns; survatlas' own fields are prefixed ``survatlas:``;
explicit camera geometry (``fov_deg``, ``range_m`` …) keeps its field-data name so that an
export imports back unchanged. ODbL attribution goes into the file's metadata where the format
has a place for it (GeoJSON member, GeoParquet and GeoPackage metadata, KML description) and
into a sidecar ``OUT.attribution.txt`` for CSV. Every layer is read through
:mod:`survatlas.store.gate`, so restricted records never reach a file.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import shapely

from survatlas import ODBL_ATTRIBUTION, __version__
from survatlas.errors import InputError
from survatlas.store import Store
from survatlas.store.gate import read_layer

BBox = tuple[float, float, float, float] | None
LayerReader = Callable[[Store, BBox, str], gpd.GeoDataFrame]
Writer = Callable[[gpd.GeoDataFrame, Path, dict[str, str]], list[Path]]

_EXPLICIT = ("fov_deg", "range_m", "focal_mm", "sensor_width_mm", "width_px")
_META = {
    "devices": (
        "origin",
        "device_type",
        "osm_type",
        "osm_id",
        "osm_version",
        "osm_timestamp",
        "area",
        "zone",
        "mount",
        "camera_type",
        "views",
        "tilt_down_deg",
        "height_m",
        "operator",
        "manufacturer",
        "model",
        "source_id",
        "warnings",
    ),
    "buildings": (
        "origin",
        "osm_type",
        "osm_id",
        "osm_version",
        "building",
        "obstacle",
        "height_m",
        "levels",
        "source_id",
    ),
    "streets": ("origin", "osm_type", "osm_id", "osm_version", "highway", "walkable", "source_id"),
    "sites": ("origin", "osm_type", "osm_id", "osm_version", "category", "name", "source_id"),
}


def flat_frame(frame: gpd.GeoDataFrame, layer: str) -> gpd.GeoDataFrame:
    """Flatten a stored layer: ``survatlas:`` fields, explicit geometry fields, then OSM tags."""
    out: dict[str, Any] = {}
    if layer == "devices":  # the key the visibility export joins on
        out["survatlas:device_id"] = frame["id"].tolist() if "id" in frame else []
    for col in _META[layer]:
        values = frame[col].tolist() if col in frame else []
        if col in {"views", "warnings"}:
            values = [json.dumps(v, ensure_ascii=False) if v else None for v in values]
        out[f"survatlas:{col}"] = values
    for col in _EXPLICIT if layer == "devices" else ():
        if col in frame and frame[col].notna().any():
            out[col] = frame[col].tolist()
    tag_keys = sorted({k for tags in frame["tags"] for k in tags})
    for key in tag_keys:
        if key not in out:
            out[key] = [tags.get(key) for tags in frame["tags"]]
    return gpd.GeoDataFrame(
        pd.DataFrame(out, index=frame.index), geometry=frame.geometry.values, crs="EPSG:4326"
    )


def _base_reader(layer: str) -> LayerReader:
    def read(store: Store, bbox: BBox, audience: str) -> gpd.GeoDataFrame:
        return flat_frame(read_layer(store, layer, bbox, audience=audience), layer)

    return read


def _result_reader(module: str, function: str) -> LayerReader:
    def read(store: Store, bbox: BBox, audience: str) -> gpd.GeoDataFrame:
        return getattr(importlib.import_module(module), function)(store, bbox, audience)

    return read


#: layer name -> reader; analyses register their result layers here.
LAYER_READERS: dict[str, LayerReader] = {
    **{name: _base_reader(name) for name in ("devices", "buildings", "streets", "sites")},
    "visibility": _result_reader("survatlas.coverage.results", "visibility_layer"),
    "street-coverage": _result_reader("survatlas.coverage.results", "street_coverage_layer"),
    "site-coverage": _result_reader("survatlas.coverage.results", "site_coverage_layer"),
    "h3": _result_reader("survatlas.coverage.results", "h3_layer"),
    "contributions": lambda store, bbox, audience: flat_frame(
        _osmchange().contributions_frame(store, bbox, audience), "devices"
    ),
}
#: formats written for some layers only: format -> the layers it takes.
FORMAT_LAYERS: dict[str, frozenset[str]] = {"osc": frozenset({"contributions"})}


def _osmchange() -> Any:
    return importlib.import_module("survatlas.publish.osmchange")


def supports(layer: str, fmt: str) -> bool:
    """Whether ``layer`` can be written as ``fmt``."""
    return layer in FORMAT_LAYERS.get(fmt, frozenset({layer}))


def register_layer(name: str, reader: LayerReader) -> None:
    """Make a result layer exportable (its reader must go through :mod:`survatlas.store.gate`)."""
    LAYER_READERS[name] = reader


def export_layer(
    store: Store,
    layer: str,
    fmt: str,
    out: str | Path,
    *,
    bbox: BBox = None,
    audience: str = "public",
) -> dict[str, Any]:
    """Export ``layer`` to ``out`` in ``fmt``; return what was written.

    Returns
    -------
    dict
        ``layer``, ``format``, ``features`` and ``files`` (the file and any sidecar).
    """
    if layer not in LAYER_READERS:
        raise InputError(f"unknown layer {layer!r}; use one of {', '.join(sorted(LAYER_READERS))}")
    if fmt not in WRITERS:
        raise InputError(f"unknown format {fmt!r}; use one of {', '.join(sorted(WRITERS))}")
    if not supports(layer, fmt):
        raise InputError(
            f"format {fmt} is for the layers {', '.join(sorted(FORMAT_LAYERS[fmt]))} only; "
            f"choose another format for {layer}"
        )
    out = Path(out)
    if not out.parent.exists():
        raise InputError(f"folder {out.parent} does not exist; create it first")
    frame = LAYER_READERS[layer](store, bbox, audience)
    metadata = {
        "attribution": ODBL_ATTRIBUTION,
        "generator": f"survatlas {__version__}",
        "layer": layer,
        "licence": "ODbL-1.0",
    }
    tmp = out.with_name(f".partial-{out.name}")
    files = WRITERS[fmt](frame, tmp, metadata)
    final = [f.with_name(f.name.removeprefix(".partial-")) for f in files]
    for src, dst in zip(files, final, strict=True):
        src.replace(dst)
    return {"layer": layer, "format": fmt, "features": len(frame), "files": [str(f) for f in final]}


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def write_geojson(frame: gpd.GeoDataFrame, out: Path, metadata: dict[str, str]) -> list[Path]:
    """RFC 7946 FeatureCollection (lon/lat WGS 84) with attribution as a foreign member."""
    columns = [c for c in frame.columns if c != frame.geometry.name]
    features = []
    for row, geom in zip(
        frame[columns].itertuples(index=False, name=None), frame.geometry, strict=True
    ):
        props = {c: _json_value(v) for c, v in zip(columns, row, strict=True)}
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(geom),
                "properties": {k: v for k, v in props.items() if v is not None},
            }
        )
    doc = {"type": "FeatureCollection", **metadata, "features": features}
    out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return [out]


def write_geoparquet(frame: gpd.GeoDataFrame, out: Path, metadata: dict[str, str]) -> list[Path]:
    """GeoParquet with attribution in the file's key-value metadata."""
    frame.to_parquet(out, index=False)
    table = pq.read_table(out)
    merged = {
        **(table.schema.metadata or {}),
        **{k.encode(): v.encode() for k, v in metadata.items()},
    }
    pq.write_table(table.replace_schema_metadata(merged), out)
    return [out]


def write_gpkg(frame: gpd.GeoDataFrame, out: Path, metadata: dict[str, str]) -> list[Path]:
    """GeoPackage for QGIS, attribution in the dataset and layer metadata."""
    pyogrio.write_dataframe(
        frame,
        out,
        driver="GPKG",
        layer=metadata["layer"],
        dataset_metadata=metadata,
        layer_metadata=metadata,
    )
    return [out]


def write_csv(frame: gpd.GeoDataFrame, out: Path, metadata: dict[str, str]) -> list[Path]:
    """CSV with ``latitude``/``longitude`` for points (WKT otherwise) and an attribution sidecar."""
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    geoms = frame.geometry
    if len(frame) and (geoms.geom_type == "Point").all():
        table.insert(0, "longitude", geoms.x.to_numpy())
        table.insert(0, "latitude", geoms.y.to_numpy())
    else:
        table.insert(
            0, "wkt", shapely.to_wkt(geoms.values, rounding_precision=-1) if len(frame) else []
        )
    table = spreadsheet_safe(table)
    # RFC 4180 line ends: a CR or LF inside a cell is then always quoted (with "\n" alone, a
    # bare CR is written unquoted and starts a new row in a spreadsheet)
    table.to_csv(out, index=False, float_format="%.10g", lineterminator="\r\n")
    sidecar = out.with_name(out.name + ".attribution.txt")
    sidecar.write_text("\n".join(f"{k}: {v}" for k, v in metadata.items()) + "\n", encoding="utf-8")
    return [out, sidecar]


#: first characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe_text(value: Any) -> Any:
    """``value`` with a ``'`` put before it when it is text a spreadsheet would run as a formula.

    Only text is changed: a number (a negative longitude, a signed count) stays a number.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_safe(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` whose text cells and column names cannot start a formula.

    OWASP's rule for CSV: a cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
    return gets a leading single quote, which spreadsheets show but do not evaluate. Numeric
    columns are left alone (``-12.5`` in a number column is a number, not a formula).
    """
    out = table.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            out[col] = out[col].map(spreadsheet_safe_text)
    out.columns = [spreadsheet_safe_text(str(c)) for c in out.columns]
    return out


def write_kml(frame: gpd.GeoDataFrame, out: Path, metadata: dict[str, str]) -> list[Path]:
    """KML for Google Earth, attribution in the document description."""
    columns = [c for c in frame.columns if c != frame.geometry.name]
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>',
        f"<name>{escape(metadata['layer'])}</name>",
        f"<description>{escape(metadata['attribution'])}</description>",
    ]
    for row, geom in zip(
        frame[columns].itertuples(index=False, name=None), frame.geometry, strict=True
    ):
        data = "".join(
            f'<Data name="{escape(str(c), {chr(34): "&quot;"})}"><value>{escape(str(v))}</value></Data>'
            for c, v in zip(columns, row, strict=True)
            if _json_value(v) is not None
        )
        name = escape(str(dict(zip(columns, row, strict=True)).get("survatlas:origin", "")))
        parts.append(
            f"<Placemark><name>{name}</name><ExtendedData>{data}</ExtendedData>"
            f"{_kml_geometry(geom)}</Placemark>"
        )
    parts.append("</Document></kml>")
    out.write_text("\n".join(parts), encoding="utf-8")
    return [out]


def _coords(coords: Any) -> str:
    return " ".join(f"{c[0]!r},{c[1]!r}" for c in coords)


def _kml_geometry(geom: Any) -> str:
    kind = geom.geom_type
    if kind == "Point":
        return f"<Point><coordinates>{geom.x!r},{geom.y!r}</coordinates></Point>"
    if kind == "LineString":
        return f"<LineString><coordinates>{_coords(geom.coords)}</coordinates></LineString>"
    if kind == "Polygon":
        rings = f"<outerBoundaryIs><LinearRing><coordinates>{_coords(geom.exterior.coords)}</coordinates></LinearRing></outerBoundaryIs>"
        rings += "".join(
            f"<innerBoundaryIs><LinearRing><coordinates>{_coords(r.coords)}</coordinates></LinearRing></innerBoundaryIs>"
            for r in geom.interiors
        )
        return f"<Polygon>{rings}</Polygon>"
    return "<MultiGeometry>" + "".join(_kml_geometry(g) for g in geom.geoms) + "</MultiGeometry>"


#: format name -> writer; a writer returns the files it wrote.
WRITERS: dict[str, Writer] = {
    "geojson": write_geojson,
    "geoparquet": write_geoparquet,
    "gpkg": write_gpkg,
    "csv": write_csv,
    "kml": write_kml,
    "osc": lambda frame, out, metadata: _osmchange().write_osc(frame, out, metadata),
}
