"""The one gate every public output passes through.

Exports, statistics, API responses, map layers and reports read records through
:func:`read_layer`, :func:`read_sources`, :func:`read_claims`, :func:`grid_counts` or
:func:`audience_clause`; records whose sensitivity is above the audience never leave through
them. Claims are shown only when their source and their subject are visible too, and a source's
``original_of`` link only when the original is visible. When an aggregate is published, the
locations of non-public records the audience may see are snapped to a grid (default 250 m), so
that an aggregate never pinpoints a sensitive record. Confidential fields encrypted at rest
(:mod:`survatlas.store.encryption`) are decrypted only for the ``confidential`` audience, with the key.

**Public ids.** Row ids would count hidden records through their gaps (public devices 1, 2, 5
say that two hidden devices lie between). Every id a public or restricted audience sees is
therefore its *public number*: the record's rank among the rows that audience may see, in row
order (:func:`numbering`; ``public_id`` / ``row_id`` convert one way and back). The numbers
are the same as those of a store without the hidden records. The ``confidential`` audience
(the custodian, who sees everything) sees the store's own row ids.
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


class Numbering:
    """Public numbers of one table for one audience: the rank (1…n) of each visible row id.

    Parameters
    ----------
    ids
        The row ids the audience may see, ascending.
    identity
        True for the ``confidential`` audience: numbers are the row ids themselves.
    """

    def __init__(self, ids: np.ndarray, *, identity: bool = False) -> None:
        self.ids = ids
        self.identity = identity

    def public(self, row_id: int | None) -> int | None:
        """The public number of ``row_id`` (``None`` when the audience may not see it)."""
        if row_id is None:
            return None
        i = int(np.searchsorted(self.ids, row_id))
        if i >= len(self.ids) or self.ids[i] != row_id:
            return None
        return int(row_id) if self.identity else i + 1

    def public_many(self, row_ids: Any) -> list[int | None]:
        """:meth:`public` of each of ``row_ids`` (vectorised; ``None`` for a hidden row)."""
        values = [None if r is None or r != r else int(r) for r in row_ids]
        known = np.array([v if v is not None else -1 for v in values], dtype=np.int64)
        pos = np.searchsorted(self.ids, known)
        found = pos < len(self.ids)
        found[found] = self.ids[pos[found]] == known[found]
        numbers = known if self.identity else pos + 1
        return [int(n) if ok else None for n, ok in zip(numbers.tolist(), found.tolist(), strict=True)]

    def row(self, number: int | None) -> int | None:
        """The row id behind public ``number`` (``None`` when no visible row has it)."""
        if number is None:
            return None
        if self.identity:
            return self.public(number)
        return int(self.ids[number - 1]) if 1 <= number <= len(self.ids) else None


#: tables whose ids are numbered per audience.
NUMBERED_TABLES = ("devices", "buildings", "streets", "sites", "sources", "claims")


def numbering(store: Store, table: str, audience: str = "public") -> Numbering:
    """The public numbers of ``table``'s rows for ``audience`` (cached until the store changes).

    Claims are numbered among the claims :func:`claims_clause` shows (source and subject
    visible too).
    """
    if table not in NUMBERED_TABLES:
        raise InputError(f"no public numbers for {table!r}; use one of {', '.join(NUMBERED_TABLES)}")
    where = audience_clause(audience)
    version = (store.scalar("PRAGMA data_version"), store.conn.total_changes)
    cache = store.__dict__.setdefault("_numbering", {})
    hit = cache.get((table, audience))
    if hit is not None and hit[0] == version:
        return hit[1]
    if table == "claims":
        sql = (
            "SELECT c.id FROM claims c JOIN sources s ON s.id = c.source_id "
            f"WHERE {claims_clause(audience)} ORDER BY c.id"
        )
    else:
        sql = f"SELECT id FROM {table} WHERE {where} ORDER BY id"
    ids = np.array([r[0] for r in store.conn.execute(sql)], dtype=np.int64)
    result = Numbering(ids, identity=audience == "confidential")
    cache[(table, audience)] = (version, result)
    return result


def public_camera_list(cameras: str | None, devices: Numbering) -> str | None:
    """A stored JSON list of camera row ids as the audience's public numbers (JSON), leaving
    out any camera the audience may not see."""
    if cameras is None:
        return None
    numbers = (devices.public(int(c)) for c in json.loads(cameras))
    return json.dumps([n for n in numbers if n is not None])


def public_id(store: Store, table: str, row_id: int | None, audience: str = "public") -> int | None:
    """The id ``audience`` sees for row ``row_id`` of ``table`` (``None``: hidden or absent)."""
    return numbering(store, table, audience).public(row_id)


def row_id(store: Store, table: str, number: int | None, audience: str = "public") -> int | None:
    """The row of ``table`` that ``audience`` knows as ``number`` (``None``: no such record)."""
    return numbering(store, table, audience).row(number)


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
    row_ids: bool = False,
) -> gpd.GeoDataFrame:
    """Rows of ``layer`` visible to ``audience`` as a GeoDataFrame in EPSG:4326.

    Columns: every stored column except the bounding box, ``tags`` parsed to a dict, and for
    devices ``warnings`` (a list of dicts). Confidential rows (``audience="confidential"``) are
    decrypted with ``key`` (or the key in force). With ``coarsen_m``, every non-public record is
    reduced to its location snapped to a ``coarsen_m`` grid. With ``as_of`` (a date), devices
    are read as they stood then, from the device history (``id`` is the current device's, or
    minus the version's id for a device gone since).

    ``id`` and ``source_id`` are public numbers (:func:`numbering`) unless ``row_ids`` — for
    analyses that write results keyed by row, never for a public output.
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
    if not row_ids and len(frame):
        frame = _renumber(store, frame, layer, audience)
    result = gpd.GeoDataFrame(frame, geometry=list(geometry), crs="EPSG:4326")
    return coarsen(result, coarsen_m) if coarsen_m else result


def _renumber(store: Store, frame: Any, layer: str, audience: str) -> Any:
    """``id`` and ``source_id`` of a layer's frame as public numbers."""
    frame = frame.copy()
    frame["id"] = pd_ints(numbering(store, layer, audience).public_many(frame["id"]))
    if "source_id" in frame:
        frame["source_id"] = pd_ints(
            numbering(store, "sources", audience).public_many(frame["source_id"])
        )
    return frame


def pd_ints(values: list[int | None]) -> Any:
    """Integers that may be missing, as a pandas column (nullable ``Int64``)."""
    import pandas as pd

    return pd.array(values, dtype="Int64")


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
    store: Store,
    *,
    audience: str = "public",
    key: Key | None = None,
    ids: list[int] | None = None,
    row_ids: list[int] | None = None,
) -> list[dict[str, Any]]:
    """Sources visible to ``audience`` (``original_of`` hidden when the original is not).

    ``id`` and ``original_of`` are public numbers; ``ids`` selects by public number,
    ``row_ids`` by the store's row id.
    """
    numbers = numbering(store, "sources", audience)
    where = audience_clause(audience, "s")
    params: tuple = ()
    if ids is not None:
        row_ids = [*(row_ids or []), *(r for r in map(numbers.row, ids) if r is not None)]
    if row_ids is not None:
        where += f" AND s.id IN ({', '.join('?' * len(row_ids))})"
        params = tuple(row_ids)
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
        row["id"] = numbers.public(row["id"])
        row["original_of"] = numbers.public(row["original_of"])
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
    subject_row: int | None = None,
) -> list[dict[str, Any]]:
    """Claims visible to ``audience``, optionally about one subject or from one source.

    ``id``, ``source_id`` and ``subject_id`` are public numbers, and so are the ``subject_id``
    and ``source_id`` filters; ``subject_row`` filters by the subject's row id instead.
    """
    sources = numbering(store, "sources", audience)
    table = SUBJECT_TABLES.get(subject_type or "")
    if subject_id is not None and table is not None:
        subject_row = numbering(store, table, audience).row(subject_id) or 0
    elif subject_id is not None:
        subject_row = subject_id
    where, params = [claims_clause(audience)], []
    for col, value in (
        ("c.subject_type", subject_type),
        ("c.subject_id", subject_row),
        ("c.subject_key", subject_key),
        ("c.source_id", None if source_id is None else sources.row(source_id) or 0),
    ):
        if value is not None:
            where.append(f"{col} = ?")
            params.append(value)
    rows = store.query(
        f"SELECT c.* FROM claims c JOIN sources s ON s.id = c.source_id "
        f"WHERE {' AND '.join(where)} ORDER BY c.id",
        tuple(params),
    )
    claims = numbering(store, "claims", audience)
    out = []
    for r in rows:
        row = open_row("claims", dict(r), key)
        row["id"] = claims.public(row["id"])
        row["source_id"] = sources.public(row["source_id"])
        subject = SUBJECT_TABLES.get(row["subject_type"] or "")
        if subject is not None and row["subject_id"] is not None:
            row["subject_id"] = numbering(store, subject, audience).public(row["subject_id"])
        out.append(row)
    return out


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
