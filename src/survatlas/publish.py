"""The one gate every public output passes through.

Exports, statistics, API responses, map layers and reports read records through
:func:`read_layer` or :func:`audience_clause`; records whose sensitivity is above the audience
never leave through them.
"""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from survatlas.errors import InputError
from survatlas.model import LAYERS
from survatlas.store import Store

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
) -> gpd.GeoDataFrame:
    """Rows of ``layer`` visible to ``audience`` as a GeoDataFrame in EPSG:4326.

    Columns: every stored column except the bounding box, ``tags`` parsed to a dict, and for
    devices ``warnings`` (a list of dicts).
    """
    if layer not in LAYERS:
        raise InputError(f"unknown layer {layer!r}; use one of {', '.join(LAYERS)}")
    where, params = bbox_clause(store, layer, bbox)
    rows = store.query(
        f"SELECT * FROM {layer} WHERE {audience_clause(audience)} AND {where} ORDER BY id", params
    )
    frame = (
        pd.DataFrame([dict(r) for r in rows])
        if rows
        else pd.DataFrame(columns=_columns(store, layer))
    )
    geometry = shapely.from_wkb(frame.pop("geom").to_list()) if len(frame) else []
    frame = frame.drop(columns=["min_x", "min_y", "max_x", "max_y", "content_sha"], errors="ignore")
    frame["tags"] = [json.loads(t) for t in frame["tags"]] if len(frame) else []
    if layer == "devices":
        frame["views"] = [json.loads(v) for v in frame["views"]] if len(frame) else []
        frame["warnings"] = _warnings(store, frame["id"].tolist()) if len(frame) else []
    return gpd.GeoDataFrame(frame, geometry=list(geometry), crs="EPSG:4326")


def _columns(store: Store, layer: str) -> list[str]:
    return [r[1] for r in store.query(f"PRAGMA table_info({layer})")]


def _warnings(store: Store, ids: list[int]) -> list[list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for r in store.query(
        "SELECT device_id, key, value, kind, message FROM device_warnings ORDER BY id"
    ):
        if r[0] in found:
            found[r[0]].append({"key": r[1], "value": r[2], "kind": r[3], "message": r[4]})
    return [found[i] for i in ids]
