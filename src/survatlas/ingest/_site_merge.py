"""One site, several sources: an imported site already in the store is merged, not duplicated.

A site record from a layer is the *same site* as a stored one when both have the same category
and the same sensitivity, and their footprints overlap (a shared interior, not just a touching
wall) or — when one is a point — the point lies in the other footprint or within
:data:`SITE_MERGE_M` metres of it. The stored site is kept; the new record's source and origin
are added to ``site_sources`` (so "9 schools" stays 9, each with all the sources reporting it).

Both orders give the same set: a layer imported on top of OSM merges into the OSM sites
(:func:`split_known_sites`), and OSM imported on top of a layer merges into the layer's sites
(:func:`split_known_chunk`; OSM objects never merge with each other, so an OSM import alone
keeps every OSM object).
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence

import shapely

from survatlas.ingest._records import ROW_COLUMNS, Record, RowChunk
from survatlas.ingest._sealing import key_or_none, sealed_origin

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
    key = key_or_none()
    for rec in records:
        sealed = sealed_origin(rec.origin, key) if key is not None else rec.origin
        match = _same_site(conn, shapely.from_wkb(rec.geom_wkb), rec.values.get("category"),
                           rec.sensitivity, rec.origin, sealed=sealed)
        if match is None:
            new.append(rec)
        else:  # a confidential record's origin is kept sealed here too
            merged.append((match[0], sealed if rec.sensitivity == "confidential" else rec.origin,
                           match[1]))
    return new, merged


def has_foreign_sites(conn: sqlite3.Connection) -> bool:
    """Whether the store holds sites from a source other than OSM (layers, contributions)."""
    return conn.execute("SELECT 1 FROM sites WHERE origin NOT LIKE 'osm:%' LIMIT 1").fetchone() \
        is not None


def split_known_chunk(
    conn: sqlite3.Connection, chunk: RowChunk
) -> tuple[RowChunk, list[tuple[int, str, float]]]:
    """The rows of an OSM ``chunk`` of sites that are new, and ``(stored site id, origin,
    distance_m)`` of those already stored from a source other than OSM (the same rule as
    :func:`split_known_sites`)."""
    cols = ROW_COLUMNS["sites"][1:] if chunk.osm else ROW_COLUMNS["sites"]
    geom, cat, level = (chunk.columns[cols.index(c)] for c in ("geom", "category", "sensitivity"))
    keep: list[int] = []
    merged: list[tuple[int, str, float]] = []
    for k in range(len(chunk)):
        origin = chunk.origin(k)
        match = _same_site(conn, shapely.from_wkb(bytes(geom[k])), cat[k], level[k] or "public",
                           origin, foreign_only=True)
        if match is None:
            keep.append(k)
        else:
            merged.append((match[0], origin, match[1]))
    if not merged:
        return chunk, []
    rows = RowChunk(
        chunk.layer,
        [[col[k] for k in keep] for col in chunk.columns],
        None if chunk.bounds is None else chunk.bounds[keep],
        None if chunk.warnings is None else [chunk.warnings[k] for k in keep],
        chunk.osm,
    )
    return rows, merged


def record_site_sources(conn: sqlite3.Connection, source_id: int,
                        merged: Sequence[tuple[int, str, float]]) -> None:
    """Add each merged record's source to its stored site (re-importing adds nothing)."""
    conn.executemany(
        "INSERT OR IGNORE INTO site_sources (site_id, source_id, origin, distance_m) "
        "VALUES (?, ?, ?, ?)",
        [(site, source_id, origin, round(dist, 1)) for site, origin, dist in merged],
    )


def _same_site(conn: sqlite3.Connection, geom: shapely.Geometry, category: str | None,
               sensitivity: str, origin: str, *, foreign_only: bool = False,
               sealed: str | None = None) -> tuple[int, float] | None:
    """The stored site (id, distance in metres) that is the same as this one, if any — never
    the record itself, under its clear or its ``sealed`` origin; with ``foreign_only``, only
    sites from sources other than OSM are candidates."""
    w, s, e, n = geom.bounds
    lat0 = (s + n) / 2
    dlat = SITE_MERGE_M / _M_PER_DEG
    dlon = dlat / max(math.cos(math.radians(lat0)), 0.01)
    rows = conn.execute(
        "SELECT id, geom, origin FROM sites WHERE category = ? AND sensitivity = ? "
        "AND origin NOT IN (?, ?) "
        + ("AND origin NOT LIKE 'osm:%' " if foreign_only else "")
        + "AND id IN (SELECT id FROM sites_rtree WHERE max_x >= ? AND min_x <= ? AND max_y >= ? "
        "AND min_y <= ?) ORDER BY id",
        (category, sensitivity, origin, sealed or origin, w - dlon, e + dlon, s - dlat,
         n + dlat),
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
