"""Browse the store page by page: the features of a layer within a bounding box, one device in full.

Every read passes the sensitivity gate of :mod:`survatlas.store.gate` (``audience_clause`` and
``bbox_clause``), so a record above the audience never appears, not even as a count or an id.
Every id shown or taken is the audience's public number (:func:`survatlas.store.gate.numbering`),
so gaps in the numbers never count hidden records. Pages are ordered by id; a page holds at
most :data:`MAX_PAGE` features.
"""

from __future__ import annotations

import json
from typing import Any

import shapely

from survatlas import ODBL_ATTRIBUTION
from survatlas.errors import InputError, NotFoundError
from survatlas.store import Store
from survatlas.store.clock import iso_instant
from survatlas.store.gate import (
    audience_clause,
    bbox_clause,
    devices_as_of_sql,
    numbering,
    read_claims,
    read_sources,
)
from survatlas.vocab import LAYERS

__all__ = ["DEFAULT_PAGE", "MAX_PAGE", "device_detail", "devices_as_of_page", "feature_page"]

DEFAULT_PAGE = 500
MAX_PAGE = 5000

#: properties listed per layer in a page (the full record is in the detail view).
PAGE_COLUMNS: dict[str, tuple[str, ...]] = {
    "devices": (
        "device_type",
        "area",
        "zone",
        "mount",
        "camera_type",
        "views",
        "height_m",
        "operator",
        "manufacturer",
        "name",
    ),
    "buildings": ("building", "obstacle", "height_m", "levels"),
    "streets": ("highway", "name", "walkable"),
    "sites": ("category", "name"),
}
_HIDDEN = {"geom", "min_x", "min_y", "max_x", "max_y", "content_sha", "tags", "views"}


def feature_page(
    store: Store,
    layer: str,
    bbox: tuple[float, float, float, float],
    *,
    limit: int = DEFAULT_PAGE,
    offset: int = 0,
    audience: str = "public",
) -> dict[str, Any]:
    """One page of ``layer`` features meeting ``bbox`` as a GeoJSON FeatureCollection.

    Parameters
    ----------
    store
        The store to read.
    layer
        One of ``devices``, ``buildings``, ``streets``, ``sites``.
    bbox
        West, south, east, north (lon/lat); features whose bounding box meets it are listed.
    limit
        Page size, 1 to :data:`MAX_PAGE`.
    offset
        Features to skip (ordered by id).
    audience
        Who reads: records above this sensitivity never appear.

    Returns
    -------
    dict
        RFC 7946 FeatureCollection with foreign members ``layer``, ``bbox``, ``limit``,
        ``offset``, ``returned``, ``next_offset`` (``None`` on the last page) and ``attribution``.
    """
    _check_page(layer, limit, offset)
    where, params = bbox_clause(store, layer, bbox)
    cols = ", ".join(("id", "origin", "geom", *PAGE_COLUMNS[layer]))
    rows = store.query(
        f"SELECT {cols} FROM {layer} WHERE {audience_clause(audience)} AND {where} "
        f"ORDER BY id LIMIT ? OFFSET ?",
        (*params, limit + 1, offset),
    )
    more = len(rows) > limit
    rows = rows[:limit]
    geoms = shapely.from_wkb([r["geom"] for r in rows]) if rows else []
    numbers = numbering(store, layer, audience)
    features = [
        _feature(layer, row, geom, numbers.public(row["id"]))
        for row, geom in zip(rows, geoms, strict=True)
    ]
    return {
        "type": "FeatureCollection",
        "layer": layer,
        "bbox": list(bbox),
        "limit": limit,
        "offset": offset,
        "returned": len(features),
        "next_offset": offset + limit if more else None,
        "attribution": ODBL_ATTRIBUTION,
        "features": features,
    }


def devices_as_of_page(
    store: Store,
    date: str,
    bbox: tuple[float, float, float, float],
    *,
    limit: int = DEFAULT_PAGE,
    offset: int = 0,
    audience: str = "public",
) -> dict[str, Any]:
    """One page of the devices in place on ``date`` within ``bbox``, as a FeatureCollection.

    The devices are read from the device history exactly as ``survatlas coverage --as-of``
    reads them (:func:`survatlas.store.gate.devices_as_of_sql`), through the publish gate: a
    device restricted now never shows, not even as it stood before.

    Parameters
    ----------
    store
        The store to read.
    date
        An ISO date (``2019-04-21``) or instant.
    bbox
        West, south, east, north (lon/lat).
    limit, offset
        Page size (1 to :data:`MAX_PAGE`) and devices to skip (ordered by origin).
    audience
        Who reads: records above this sensitivity never appear.

    Returns
    -------
    dict
        A FeatureCollection like :func:`feature_page`'s plus ``as_of``; each feature's ``id``
        is the current device's public number (null: a device gone since, not in the current
        view) and its properties add ``valid_from`` (the version's start) and ``current``.

    Examples
    --------
    ::

        with open_store("helsinki.db") as store:
            page = devices_as_of_page(store, "2019-04-21", (24.93, 60.16, 24.96, 60.18))
    """
    _check_page("devices", limit, offset)
    when = iso_instant(date)
    sql, params = devices_as_of_sql(store, when, bbox, audience)
    rows = store.query(f"SELECT * FROM ({sql}) LIMIT ? OFFSET ?", (*params, limit + 1, offset))
    more = len(rows) > limit
    rows = rows[:limit]
    geoms = shapely.from_wkb([r["geom"] for r in rows]) if rows else []
    features = []
    numbers = numbering(store, "devices", audience)
    for row, geom in zip(rows, geoms, strict=True):
        current = row["id"] > 0  # a gone device has no public number (its version id would
        feature = _feature(  # count hidden versions): its id is null
            "devices", row, geom, numbers.public(row["id"]) if current else None
        )
        feature["properties"].update(valid_from=row["valid_from"], current=current)
        features.append(feature)
    return {
        "type": "FeatureCollection",
        "layer": "devices",
        "as_of": when,
        "bbox": list(bbox),
        "limit": limit,
        "offset": offset,
        "returned": len(features),
        "next_offset": offset + limit if more else None,
        "attribution": ODBL_ATTRIBUTION,
        "features": features,
    }


def _check_page(layer: str, limit: int, offset: int) -> None:
    if layer not in LAYERS:
        raise InputError(f"unknown layer {layer!r}; use one of {', '.join(LAYERS)}")
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(f"limit {limit} must be between 1 and {MAX_PAGE}; page with offset")
    if offset < 0:
        raise InputError(f"offset {offset} must be 0 or more")


def _feature(layer: str, row: Any, geom: Any, number: int | None) -> dict[str, Any]:
    props = {c: row[c] for c in PAGE_COLUMNS[layer] if c != "views" and row[c] is not None}
    if layer == "devices":
        props["views"] = json.loads(row["views"])
    props["origin"] = row["origin"]
    return {
        "type": "Feature",
        "id": number,
        "geometry": shapely.geometry.mapping(geom),
        "properties": props,
    }


def device_detail(store: Store, device_id: int, *, audience: str = "public") -> dict[str, Any]:
    """Everything stored about one device: columns, every tag, warnings, its source and claims.

    Raises
    ------
    NotFoundError
        No device with this id is visible to ``audience`` (a hidden device looks absent).
    """
    row_id = numbering(store, "devices", audience).row(device_id)
    row = store.conn.execute(
        f"SELECT * FROM devices WHERE id = ? AND {audience_clause(audience)}", (row_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no device {device_id}; list devices in a bbox to find ids")
    record = dict(row)
    fields = {k: v for k, v in record.items() if k not in _HIDDEN and k != "id"}
    fields["source_id"] = numbering(store, "sources", audience).public(record["source_id"])
    sources = _sources(store, record["source_id"], audience)
    return {
        "id": device_id,
        "geometry": shapely.geometry.mapping(shapely.from_wkb(record["geom"])),
        "fields": fields,
        "views": [{"direction_deg": d, "fov_deg": f} for d, f in json.loads(record["views"])],
        "tags": json.loads(record["tags"]),
        "warnings": [
            dict(w)
            for w in store.query(
                "SELECT key, value, kind, message FROM device_warnings WHERE device_id = ? "
                "ORDER BY id",
                (row_id,),
            )
        ],
        "sources": sources,
        "claims": _claims(store, row_id, audience),
        "attribution": next((s["attribution"] for s in sources if s.get("attribution")), None),
    }


def _sources(store: Store, source_id: int, audience: str) -> list[dict[str, Any]]:
    rows = read_sources(store, audience=audience, row_ids=[source_id])
    return [{k: v for k, v in r.items() if v is not None} for r in rows]


def _claims(store: Store, device_id: int, audience: str) -> list[dict[str, Any]]:
    if store.scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'claims'") is None:
        return []
    rows = read_claims(store, audience=audience, subject_type="device", subject_row=device_id)
    return [{k: v for k, v in r.items() if v is not None} for r in rows]
