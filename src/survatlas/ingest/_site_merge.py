"""One site, several sources: an imported site already in the store is merged, not duplicated.

A site record from a layer is the *same site* as a stored one when both have the same category
and the same sensitivity, and their footprints overlap (a shared interior, not just a touching
wall) or — when one is a point — the point lies in the other footprint or within
:data:`SITE_MERGE_M` metres of it. The stored site is kept; the new record's source and origin
are added to ``site_sources`` (so "9 schools" stays 9, each with all the sources reporting it).
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence

import shapely

from survatlas.ingest._records import Record

#: metres within which a point site is the same as another site of its category
SITE_MERGE_M = 30.0
_M_PER_DEG = 111_320.0


def split_known_sites(
    conn: sqlite3.Connection, records: Sequence[Record]
) -> tuple[list[Record], list[tuple[int, str, float]]]:
    """Records that are new sites, and ``(stored site id, origin, distance_m)`` of those that
    are already stored under another origin."""
    new: list[Record] = []
    merged: list[tuple[int, str, float]] = []
    for rec in records:
        match = _same_site(conn, rec)
        if match is None:
            new.append(rec)
        else:
            merged.append((match[0], rec.origin, match[1]))
    return new, merged


def record_site_sources(conn: sqlite3.Connection, source_id: int,
                        merged: Sequence[tuple[int, str, float]]) -> None:
    """Add each merged record's source to its stored site (re-importing adds nothing)."""
    conn.executemany(
        "INSERT OR IGNORE INTO site_sources (site_id, source_id, origin, distance_m) "
        "VALUES (?, ?, ?, ?)",
        [(site, source_id, origin, round(dist, 1)) for site, origin, dist in merged],
    )


def _same_site(conn: sqlite3.Connection, rec: Record) -> tuple[int, float] | None:
    geom = shapely.from_wkb(rec.geom_wkb)
    category = rec.values.get("category")
    w, s, e, n = geom.bounds
    lat0 = (s + n) / 2
    dlat = SITE_MERGE_M / _M_PER_DEG
    dlon = dlat / max(math.cos(math.radians(lat0)), 0.01)
    rows = conn.execute(
        "SELECT id, geom, origin FROM sites WHERE category = ? AND sensitivity = ? AND origin != ? "
        "AND id IN (SELECT id FROM sites_rtree WHERE max_x >= ? AND min_x <= ? AND max_y >= ? "
        "AND min_y <= ?) ORDER BY id",
        (category, rec.sensitivity, rec.origin, w - dlon, e + dlon, s - dlat, n + dlat),
    ).fetchall()
    here = _metric(geom, lat0)
    best: tuple[int, float] | None = None
    for site_id, wkb, _origin in rows:
        try:
            other = _metric(shapely.from_wkb(wkb), lat0)
        except (shapely.errors.GEOSException, TypeError):
            continue
        dist = _match_distance(here, other)
        if dist is not None and (best is None or dist < best[1]):
            best = (int(site_id), dist)
    return best


def _match_distance(a: shapely.Geometry, b: shapely.Geometry) -> float | None:
    """Distance in metres when ``a`` and ``b`` are the same site, else None."""
    areal = a.geom_type.endswith("Polygon") and b.geom_type.endswith("Polygon")
    if areal:
        return 0.0 if a.intersection(b).area > 1.0 else None
    dist = float(a.distance(b))
    return dist if dist <= SITE_MERGE_M else None


def _metric(geom: shapely.Geometry, lat0: float) -> shapely.Geometry:
    """``geom`` in metres on a local equirectangular plane (enough for 30 m tests)."""
    k = math.cos(math.radians(lat0))
    return shapely.transform(geom, lambda xy: xy * [_M_PER_DEG * k, _M_PER_DEG])
