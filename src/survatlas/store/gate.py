"""The one gate every public output passes through.

Exports, statistics, API responses, map layers and reports read records through
:func:`read_layer`, :func:`read_sources`, :func:`read_claims`, :func:`grid_counts` or
:func:`audience_clause`; records whose sensitivity is above the audience never leave through
them. Claims are shown only when their source and their subject are visible too, and a source's
``original_of`` link only when the original is visible. When an aggregate is published, the
locations of non-public records the audience may see are snapped to a grid (default 250 m), so
that an aggregate never pinpoints a sensitive record. Confidential fields encrypted at rest
(:mod:`survatlas.store.encryption`) are decrypted only for the ``confidential`` audience, with the key.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import geopandas as gpd

from survatlas.errors import InputError
from survatlas.store import Store
from survatlas.store.clock import iso_instant
from survatlas.store.encryption import Key, open_row
from survatlas.vocab import LAYERS, SENSITIVITIES

#: default grid (metres) to which sensitive locations are snapped in published aggregates.
DEFAULT_GRID_M = 250.0
_M_PER_DEG = 111_320.0
#: claim subject type -> the table holding the subject.
SUBJECT_TABLES = {
    "device": "devices",
    "site": "sites",
    "building": "buildings",
    "street": "streets",
}

AUDIENCES = {
    "public": ("public",),
    "restricted": ("public", "restricted"),
    "confidential": ("public", "restricted", "confidential"),
}


def audience_clause(audience: str = "public", alias: str = "") -> str:
    """SQL condition keeping only the rows ``audience`` may see."""
    if audience not in AUDIENCES:
        raise InputError(f"unknown audience {audience!r}; use one of {', '.join(AUDIENCES)}")
    allowed = ", ".join(f"'{s}'" for s in AUDIENCES[audience])
    prefix = f"{alias}." if alias else ""
    return f"{prefix}sensitivity IN ({allowed})"


def visible(sensitivity: str, audience: str = "public") -> bool:
    """Whether a record of ``sensitivity`` may be shown to ``audience``."""
    audience_clause(audience)
    return sensitivity in AUDIENCES[audience]


def max_sensitivity(*levels: str | None) -> str:
    """The most protected of ``levels`` (``None`` counts as public)."""
    return max((lvl or "public" for lvl in levels), key=SENSITIVITIES.index)


def bbox_clause(
    store: Store, layer: str, bbox: tuple[float, float, float, float] | None
) -> tuple[str, tuple]:
    """SQL condition (and parameters) keeping rows whose bounding box meets ``bbox``."""
    if bbox is None:
        return "1", ()
    return (
        f"id IN (SELECT id FROM {layer}_rtree WHERE max_x >= ? AND min_x <= ? "
        "AND max_y >= ? AND min_y <= ?)",
        (bbox[0], bbox[2], bbox[1], bbox[3]),
    )


def read_layer(
    store: Store,
    layer: str,
    bbox: tuple[float, float, float, float] | None = None,
    *,
    audience: str = "public",
    coarsen_m: float | None = None,
    key: Key | None = None,
    as_of: str | None = None,
) -> gpd.GeoDataFrame:
    """Rows of ``layer`` visible to ``audience`` as a GeoDataFrame in EPSG:4326.

    Columns: every stored column except the bounding box, ``tags`` parsed to a dict, and for
    devices ``warnings`` (a list of dicts). Confidential rows (``audience="confidential"``) are
    decrypted with ``key`` (or the key in force). With ``coarsen_m``, every non-public record is
    reduced to its location snapped to a ``coarsen_m`` grid. With ``as_of`` (a date), devices
    are read as they stood then, from the device history (``id`` is the current device's, or
    minus the version's id for a device gone since).
    """
    if layer not in LAYERS:
        raise InputError(f"unknown layer {layer!r}; use one of {', '.join(LAYERS)}")
    if as_of is not None and layer == "devices":
        sql, params = devices_as_of_sql(store, as_of, bbox, audience)
        rows = store.query(sql, params)
        where = ""
    else:
        where, params = bbox_clause(store, layer, bbox)
        rows = store.query(
            f"SELECT * FROM {layer} WHERE {audience_clause(audience)} AND {where} ORDER BY id",
            params,
        )
    records = [open_row(layer, dict(r), key) for r in rows]
    import geopandas as gpd
    import pandas as pd
    import shapely

    frame = pd.DataFrame(records) if rows else pd.DataFrame(columns=_columns(store, layer))
    geometry = shapely.from_wkb(frame.pop("geom").to_list()) if len(frame) else []
    frame = frame.drop(columns=["min_x", "min_y", "max_x", "max_y", "content_sha"], errors="ignore")
    frame["tags"] = [json.loads(t) for t in frame["tags"]] if len(frame) else []
    if layer == "devices":
        frame["views"] = [json.loads(v) for v in frame["views"]] if len(frame) else []
        frame["warnings"] = (
            _warnings(store, frame["id"].tolist(), frame["sensitivity"].tolist(), key)
            if len(frame)
            else []
        )
    result = gpd.GeoDataFrame(frame, geometry=list(geometry), crs="EPSG:4326")
    return coarsen(result, coarsen_m) if coarsen_m else result


def devices_as_of_sql(
    store: Store, as_of: str, bbox: tuple[float, float, float, float] | None, audience: str
) -> tuple[str, tuple]:
    """SQL (and parameters) of the device versions valid at ``as_of``, as ``devices`` rows."""
    when = iso_instant(as_of)
    cols = [r[1] for r in store.query("PRAGMA table_info(device_versions)") if r[1] != "id"]
    where, params = "", [when, when]
    if bbox is not None:
        where = " AND v.lon BETWEEN ? AND ? AND v.lat BETWEEN ? AND ?"
        params += [bbox[0], bbox[2], bbox[1], bbox[3]]
    return (
        f"SELECT coalesce(d.id, -v.id) AS id, {', '.join('v.' + c for c in cols)} "
        "FROM device_versions v LEFT JOIN devices d ON d.origin = v.origin "
        f"WHERE {history_clause(audience, 'v')} AND v.valid_from <= ? "
        f"AND (v.valid_to IS NULL OR v.valid_to > ?){where} ORDER BY v.origin",
        tuple(params),
    )


def history_clause(audience: str = "public", alias: str = "device_versions") -> str:
    """SQL condition keeping the device versions ``audience`` may see: a device's past is
    shown only when every state of it (each version and the current row) is visible, so a
    device restricted now never shows, not even as it stood before."""
    allowed = audience_clause(audience)
    return (
        f"{audience_clause(audience, alias)} AND NOT EXISTS (SELECT 1 FROM device_versions h "
        f"WHERE h.origin = {alias}.origin AND NOT h.{allowed}) AND NOT EXISTS (SELECT 1 FROM "
        f"devices c WHERE c.origin = {alias}.origin AND NOT c.{allowed})"
    )


def snap_to_grid(
    lon: np.ndarray | float, lat: np.ndarray | float, grid_m: float = DEFAULT_GRID_M
) -> tuple[np.ndarray, np.ndarray]:
    """Snap positions to the centre of their ``grid_m`` cell (deterministic, so repeated
    queries cannot average the snapping away). Cells are ``grid_m`` tall and, at their own
    latitude, ``grid_m`` wide; a snapped point is at most ``grid_m / √2`` from the original."""
    if not grid_m > 0:
        raise InputError(f"grid size {grid_m!r} must be a positive number of metres")
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlat = grid_m / _M_PER_DEG
    lat_c = np.clip((np.floor(lat / dlat) + 0.5) * dlat, -90.0, 90.0)
    dlon = grid_m / (_M_PER_DEG * np.maximum(np.cos(np.radians(lat_c)), 1e-9))
    lon_c = np.clip((np.floor(lon / dlon) + 0.5) * dlon, -180.0, 180.0)
    return lon_c, lat_c


def coarsen(frame: gpd.GeoDataFrame, grid_m: float = DEFAULT_GRID_M) -> gpd.GeoDataFrame:
    """Replace every non-public record's geometry by its representative point snapped to the grid."""
    import shapely

    sensitive = (frame["sensitivity"] != "public").to_numpy() if len(frame) else np.array([])
    if not sensitive.any():
        return frame
    out = frame.copy()
    points = shapely.point_on_surface(out.geometry.values[sensitive])
    lon, lat = snap_to_grid(shapely.get_x(points), shapely.get_y(points), grid_m)
    geoms = out.geometry.values.copy()
    geoms[sensitive] = shapely.points(lon, lat)
    out = out.set_geometry(list(geoms), crs="EPSG:4326")
    for col, values in (("lon", lon), ("lat", lat)):
        if col in out:
            out.loc[sensitive, col] = values
    return out


def grid_counts(
    store: Store,
    layer: str = "devices",
    *,
    audience: str = "public",
    grid_m: float = DEFAULT_GRID_M,
    bbox: tuple[float, float, float, float] | None = None,
) -> dict[str, Any]:
    """Counts of ``layer`` records per ``grid_m`` cell — the form in which aggregates are
    published. Only records visible to ``audience`` count; every position is snapped first.

    Returns
    -------
    dict
        ``cells`` (list of ``{"lon", "lat", "count"}``, cell centres), ``grid_m``, ``total``
        and ``method``.
    """
    if layer not in LAYERS:
        raise InputError(f"unknown layer {layer!r}; use one of {', '.join(LAYERS)}")
    where, params = bbox_clause(store, layer, bbox)
    rows = store.query(
        f"SELECT (min_x + max_x) / 2, (min_y + max_y) / 2 FROM {layer} "
        f"WHERE {audience_clause(audience)} AND {where}",
        params,
    )
    xy = np.array([tuple(r) for r in rows], dtype=float).reshape(-1, 2)
    lon, lat = snap_to_grid(xy[:, 0], xy[:, 1], grid_m)
    cells: dict[tuple[float, float], int] = {}
    for x, y in zip(lon.round(7).tolist(), lat.round(7).tolist(), strict=True):
        cells[(x, y)] = cells.get((x, y), 0) + 1
    return {
        "layer": layer,
        "grid_m": grid_m,
        "total": len(xy),
        "cells": [{"lon": x, "lat": y, "count": n} for (x, y), n in sorted(cells.items())],
        "method": f"records visible to the {audience} audience, bounding-box centres snapped "
        f"to the centre of a {grid_m:g} m grid cell, counted per cell",
    }


def read_sources(
    store: Store, *, audience: str = "public", key: Key | None = None, ids: list[int] | None = None
) -> list[dict[str, Any]]:
    """Sources visible to ``audience`` (``original_of`` hidden when the original is not)."""
    where = audience_clause(audience, "s")
    params: tuple = ()
    if ids is not None:
        where += f" AND s.id IN ({', '.join('?' * len(ids))})"
        params = tuple(ids)
    rows = store.query(
        f"SELECT s.*, o.sensitivity AS _orig_sens FROM sources s "
        f"LEFT JOIN sources o ON o.id = s.original_of WHERE {where} ORDER BY s.id",
        params,
    )
    out = []
    for r in rows:
        row = open_row("sources", dict(r), key)
        if row.pop("_orig_sens") not in AUDIENCES[audience]:
            row["original_of"] = None
        out.append(row)
    return out


def claims_clause(audience: str = "public") -> str:
    """SQL condition on ``claims c JOIN sources s``: claim, source and subject all visible."""
    subject = " OR ".join(
        f"(c.subject_type = '{t}' AND c.subject_id IN "
        f"(SELECT id FROM {table} WHERE {audience_clause(audience)}))"
        for t, table in SUBJECT_TABLES.items()
    )
    types = ", ".join(f"'{t}'" for t in SUBJECT_TABLES)
    return (
        f"{audience_clause(audience, 'c')} AND {audience_clause(audience, 's')} AND "
        f"(c.subject_type NOT IN ({types}) OR c.subject_id IS NULL OR {subject})"
    )


def read_claims(
    store: Store,
    *,
    audience: str = "public",
    key: Key | None = None,
    subject_type: str | None = None,
    subject_id: int | None = None,
    subject_key: str | None = None,
    source_id: int | None = None,
) -> list[dict[str, Any]]:
    """Claims visible to ``audience``, optionally about one subject or from one source."""
    where, params = [claims_clause(audience)], []
    for col, value in (
        ("c.subject_type", subject_type),
        ("c.subject_id", subject_id),
        ("c.subject_key", subject_key),
        ("c.source_id", source_id),
    ):
        if value is not None:
            where.append(f"{col} = ?")
            params.append(value)
    rows = store.query(
        f"SELECT c.* FROM claims c JOIN sources s ON s.id = c.source_id "
        f"WHERE {' AND '.join(where)} ORDER BY c.id",
        tuple(params),
    )
    return [open_row("claims", dict(r), key) for r in rows]


def _columns(store: Store, layer: str) -> list[str]:
    return [r[1] for r in store.query(f"PRAGMA table_info({layer})")]


def _warnings(
    store: Store, ids: list[int], sensitivities: list[str], key: Key | None = None
) -> list[list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    sens = dict(zip(ids, sensitivities, strict=True))
    for r in store.query(
        "SELECT device_id, key, value, kind, message FROM device_warnings ORDER BY id"
    ):
        if r[0] in found:
            row = {"key": r[1], "value": r[2], "kind": r[3], "message": r[4]}
            opened = open_row("device_warnings", {**row, "sensitivity": sens[r[0]]}, key)
            found[r[0]].append({k: opened[k] for k in row})
    return [found[i] for i in ids]
