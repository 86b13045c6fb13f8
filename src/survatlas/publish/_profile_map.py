"""The devices map of a country profile: the devices of the profile's area, by vendor, drawn
from the store without network (the report's map helper, :func:`._report_map.devices_map`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from survatlas.publish._report_map import devices_map
from survatlas.publish.document import Figure
from survatlas.store import Store
from survatlas.store.gate import audience_clause, bbox_clause

#: with more streets than this in the area, only the main roads are drawn for context.
MAX_CONTEXT_STREETS = 20_000
_MAIN_ROADS = ("motorway", "trunk", "primary", "secondary")


def device_points(
    store: Store, bbox: tuple[float, float, float, float], audience: str = "public"
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Lon, lat and vendor name (``not attributed`` when none) of the devices in ``bbox`` that
    ``audience`` may see — the devices the profile counts."""
    where, params = bbox_clause(store, "devices", bbox)
    rows = store.query(
        "SELECT d.lon, d.lat, min(v.name) AS vendor FROM devices d "
        "LEFT JOIN device_vendors dv ON dv.device_id = d.id LEFT JOIN vendors v ON "
        f"v.id = dv.vendor_id WHERE {audience_clause(audience, 'd')} AND d.{where} "
        "GROUP BY d.id ORDER BY d.id",
        params,
    )
    lon = np.array([r["lon"] for r in rows], dtype=float)
    lat = np.array([r["lat"] for r in rows], dtype=float)
    return lon, lat, [r["vendor"] or "not attributed" for r in rows]


def _streets(store: Store, bbox: tuple[float, float, float, float], audience: str) -> Any:
    where, params = bbox_clause(store, "streets", bbox)
    base = f"SELECT geom FROM streets WHERE {audience_clause(audience)} AND {where}"
    n = store.scalar(f"SELECT count(*) FROM ({base})", params) or 0
    if n > MAX_CONTEXT_STREETS:
        base += f" AND highway IN ({', '.join(repr(h) for h in _MAIN_ROADS)})"
    return shapely.from_wkb([r[0] for r in store.query(base, params)])


def profile_device_map(store: Store, profile: dict[str, Any]) -> Figure | None:
    """The devices map of ``profile`` (``None`` when it has no area or no device in it)."""
    dev = profile["devices"]
    if not dev.get("total") or not dev.get("bbox"):
        return None
    bbox = tuple(dev["bbox"])
    audience = profile["audience"]
    lon, lat, vendors = device_points(store, bbox, audience)
    if not len(lon):
        return None
    svg = devices_map(lon, lat, vendors, bbox, _streets(store, bbox, audience),
                      title=f"Devices mapped in {profile['country']['name']}",
                      size=(5.2, 3.0))
    return Figure(
        "devices-map.svg",
        svg,
        f"The {len(lon):,} mapped devices of the area {', '.join(f'{v:g}' for v in bbox)} "
        "(W, S, E, N) by vendor, over the streets in the store; a lower bound of what exists.",
        "Map of the mapped devices coloured by vendor",
        wide=False,
    )
