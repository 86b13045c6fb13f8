"""Coordinate handling: WGS 84 at the boundary, a local UTM CRS for metric work.

The metric CRS is chosen once, from the centre of the data, and reported with every result.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from survatlas.errors import InputError

if TYPE_CHECKING:  # pyproj is imported when a CRS is first needed (an import needs none)
    from pyproj import CRS, Transformer

WGS84 = "EPSG:4326"


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the UTM zone containing (lon, lat)."""
    check_lonlat(lon, lat)
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


def local_crs(lon: float, lat: float) -> CRS:
    """The metric CRS (UTM) used for data centred on (lon, lat)."""
    from pyproj import CRS

    return CRS.from_epsg(utm_epsg(lon, lat))


def to_metric(crs: CRS) -> Transformer:
    """Transformer from WGS 84 lon/lat to ``crs`` (always x=lon, y=lat order)."""
    from pyproj import Transformer

    return Transformer.from_crs(WGS84, crs, always_xy=True)


def to_lonlat(crs: CRS) -> Transformer:
    """Transformer from ``crs`` back to WGS 84 lon/lat."""
    from pyproj import Transformer

    return Transformer.from_crs(crs, WGS84, always_xy=True)


def check_lonlat(lon: float, lat: float) -> None:
    """Raise :class:`InputError` for impossible WGS 84 coordinates."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InputError(f"coordinates ({lon}, {lat}) are not numbers")
    if not -90.0 <= lat <= 90.0:
        raise InputError(f"latitude {lat} is outside -90..90 (are latitude and longitude swapped?)")
    if not -180.0 <= lon <= 180.0:
        raise InputError(f"longitude {lon} is outside -180..180")


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Parse ``W,S,E,N`` into floats, checking order and range."""
    try:
        w, s, e, n = (float(p) for p in text.split(","))
    except ValueError as exc:
        raise InputError(f"bbox {text!r} must be four numbers W,S,E,N (lon/lat)") from exc
    check_lonlat(w, s)
    check_lonlat(e, n)
    if w > e or s > n:
        raise InputError(f"bbox {text!r} must be W,S,E,N with W <= E and S <= N")
    return w, s, e, n


def haversine_m(
    lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in metres (vectorised)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(a))
