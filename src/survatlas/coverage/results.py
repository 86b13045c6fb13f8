"""Saving a coverage run to the store, and reading its layers back for export and the web."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from itertools import repeat
from typing import TYPE_CHECKING, Any

import h3
import numpy as np
import shapely
from pyproj import CRS

from survatlas import geo
from survatlas.coverage import runs
from survatlas.coverage.aggregate import distinct_counts
from survatlas.coverage.analysis import Result
from survatlas.coverage.regions import STATUS
from survatlas.errors import StoreError
from survatlas.store import Store
from survatlas.store.clock import now_iso
from survatlas.store.custody import append_entry, content_digest
from survatlas.store.gate import audience_clause, numbering, public_camera_list

if TYPE_CHECKING:
    import geopandas as gpd

BBox = tuple[float, float, float, float]
#: the result tables as readers see them (``coverage_views`` and ``street_seen`` are SQL views
#: over the stored sets of migration m0131)
RESULT_TABLES = ("coverage_views", "street_seen", "street_coverage", "site_coverage", "h3_coverage",
                 "coverage_runs")
#: the tables a run is stored in (what a new run empties)
STORED_TABLES = ("coverage_sets", "coverage_view_rows", "street_seen_rows", "street_coverage",
                 "site_coverage", "h3_coverage", "coverage_runs")


def save_result(store: Store, result: Result, bbox: BBox | None = None) -> None:
    """Replace the store's coverage results with ``result`` in one transaction, with one
    custody-log entry (``coverage.save``: counts of what was written and replaced, no places).

    ``bbox`` is the lon/lat area the run was asked for (None: the whole store); it is recorded
    with the run's levels, scenarios, cell size and input fingerprint
    (:mod:`survatlas.coverage.runs`).

    Inputs read from this store (``result.inputs.input_state`` set by
    :func:`~survatlas.coverage.analysis.load_inputs`) are saved as a bulk write
    (:meth:`~survatlas.store.Store.bulk_transaction`: foreign keys not enforced, and the
    result tables' secondary indexes re-built after a large insert): inside the write lock the
    store's input state must still be the one the inputs were read at — no camera, street or
    site the rows reference was deleted since — or nothing is written.

    Raises
    ------
    StoreError
        The inputs changed while the run was computed (run it again), or the store refused
        the write; the previous run stays as it was.
    """
    inputs = result.inputs
    device_ids = np.asarray(inputs.devices["id"], np.int64)
    record = runs.record_values(
        store, result.settings, bbox, inputs.building_bbox,
        {"devices": len(device_ids), "streets": len(inputs.street_ids),
         "sites": len(inputs.site_ids)})
    state = inputs.input_state
    with (store.bulk_transaction() if state is not None else store.transaction()) as conn:
        if state is not None and runs.input_state(store) != state:
            raise StoreError(
                "the store's cameras, buildings, streets or sites changed while coverage ran: "
                "run `survatlas coverage` again; nothing was written (the previous results "
                "are kept)")
        replaced = conn.execute("SELECT count(*) FROM coverage_runs").fetchone()[0]
        for table in STORED_TABLES:
            conn.execute(f"DELETE FROM {table}")
        run = (now_iso(), json.dumps(asdict(result.settings)), json.dumps(result.summary))
        run_id = conn.execute(
            f"INSERT INTO coverage_runs (created_at, settings, summary, crs, {', '.join(record)}) "
            f"VALUES (?, ?, ?, ?{', ?' * len(record)})",
            (*run, inputs.crs.to_wkt(), *record.values()),
        ).lastrowid
        rebuild = _drop_indexes(conn) if state is not None and _rows(result) >= BULK_ROWS else []
        _insert_levels(conn, result, device_ids)
        for sql in rebuild:
            conn.execute(sql)
        append_entry(conn, "coverage.save", f"coverage_run:{run_id}", {
            "run_sha256": content_digest(*run),
            "replaced_runs": replaced,
            "devices": len(device_ids),
            "scenario_levels": len(result.levels),
            **{table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
               for table in (*RESULT_TABLES[:-1], "coverage_view_rows", "street_seen_rows")},
        })


#: rows of views and street intervals from which a save drops the result tables' secondary
#: indexes and builds them again after the inserts (cheaper than keeping them up to date)
BULK_ROWS = 200_000


def _rows(result: Result) -> int:
    """Views and street intervals a run stores (what the secondary indexes index)."""
    views = {id(lr.regions): len(lr.regions) for lr in result.levels.values()}
    seen = {id(lr.seen): len(lr.seen.line) for lr in result.levels.values()}
    return sum(views.values()) + sum(seen.values())


def _drop_indexes(conn) -> list[str]:
    """Drop the secondary indexes of the result tables; the statements that create them again."""
    tables = ", ".join(f"'{t}'" for t in RESULT_TABLES)
    found = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                         f"tbl_name IN ({tables}) AND sql IS NOT NULL ORDER BY name").fetchall()
    for name, _ in found:
        conn.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in found]


def _insert_levels(conn, result: Result, device_ids: np.ndarray) -> None:
    """Insert the rows of every scenario-level of ``result`` (the result tables are empty)."""
    inputs = result.inputs
    lengths = shapely.length(inputs.streets) if inputs.streets.size else np.empty(0)
    outline_len = shapely.length(shapely.boundary(inputs.site_footprints)) \
        if inputs.site_footprints.size else np.empty(0)
    outputs = result.settings.outputs
    cams_in_hex = _cameras_per_hex(inputs, result.settings.h3_resolution) \
        if "h3" in outputs else {}
    view_sets: dict[int, int] = {}  # by Regions object: scenario-levels may share one
    seen_sets: dict[int, int] = {}  # and then their street intervals
    for (scenario, level), lr in result.levels.items():
        new_views, new_seen = id(lr.regions) not in view_sets, id(lr.seen) not in seen_sets
        views, seen = _set_number(view_sets, lr.regions), _set_number(seen_sets, lr.seen)
        conn.execute("INSERT INTO coverage_sets (scenario, level, views, seen) VALUES (?,?,?,?)",
                     (scenario, level, views, seen))
        if new_views:
            conn.executemany(
                "INSERT INTO coverage_view_rows VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                zip(repeat(views), *_view_columns(lr.regions, device_ids)),
            )
        if new_seen:
            conn.executemany(
                "INSERT INTO street_seen_rows VALUES (?,?,?,?,?)",
                zip(repeat(seen), inputs.street_ids[lr.seen.line].tolist(),
                    lr.seen.start_m.tolist(), lr.seen.end_m.tolist(),
                    device_ids[lr.seen.camera].tolist()),
            )
        conn.executemany(
            "INSERT INTO street_coverage VALUES (?,?,?,?,?,?)",
            zip(inputs.street_ids.tolist(), [scenario] * len(lengths), [level] * len(lengths),
                lengths.tolist(), lr.street_in_view_m.tolist(), lr.street_cameras.tolist(),
                strict=True),
        )
        if "sites" in outputs:  # not computed: no site rows rather than zeros
            _save_sites(conn, inputs, lr, scenario, level, device_ids, outline_len)
        conn.executemany(
            "INSERT INTO h3_coverage VALUES (?,?,?,?,?,?,?)",
            [(cell, scenario, level, v["land_m2"], v["in_view_m2"],
              v["in_view_m2"] / v["land_m2"] if v["land_m2"] else None, cams_in_hex.get(cell, 0))
             for cell, v in lr.h3.items()],
        )


def _set_number(sets: dict[int, int], obj: object) -> int:
    """The set number of ``obj`` (numbered from 1 in order of first use), added when new."""
    return sets.setdefault(id(obj), len(sets) + 1)


def _view_columns(reg, device_ids: np.ndarray) -> list[list]:
    """The ``coverage_view_rows`` columns after the set number, one list each, built column-wise:
    view, device, x, y, start, fov, radius, status, area, sector area, and the region as float32
    angle and radius blobs (slices of one buffer)."""
    n = len(reg)
    sector = np.where(reg.fov >= 2 * math.pi - 1e-9, math.pi, reg.fov / 2) * reg.radius ** 2
    bounds = list(zip((reg.offsets[:-1] * 4).tolist(), (reg.offsets[1:] * 4).tolist(),
                      strict=True))
    angles = reg.angles.astype(np.float32).tobytes()
    radii = reg.radii.astype(np.float32).tobytes()
    return [list(range(n)), device_ids[reg.camera].tolist(),
            *(np.asarray(a, np.float64).tolist() for a in (reg.x, reg.y, reg.start, reg.fov,
                                                            reg.radius)),
            np.asarray(reg.status, np.int64).tolist(),
            np.asarray(reg.area(), np.float64).tolist(), sector.tolist(),
            [angles[a:b] for a, b in bounds], [radii[a:b] for a, b in bounds]]


def _save_sites(conn, inputs, lr, scenario: str, level: str, device_ids, outline_len) -> None:
    outline_seen = lr.outline.union_length(len(inputs.site_ids))
    conn.executemany(
        "INSERT INTO site_coverage VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [(int(sid), scenario, level, s["area_m2"], s["in_view_m2"], s["share"],
          float(outline_len[i]), float(outline_seen[i]),
          float(outline_seen[i] / outline_len[i]) if outline_len[i] else None,
          json.dumps([int(device_ids[c]) for c in s["cameras"]]),
          int(inputs.site_assumed[i]))
         for i, (sid, s) in enumerate(zip(inputs.site_ids, lr.sites, strict=True))],
    )


def _cameras_per_hex(inputs, resolution: int) -> dict[str, int]:
    """Cameras in each H3 cell (by their position), cells named as strings."""
    import h3.api.basic_int as h3i

    lonlat = shapely.get_coordinates(np.asarray(inputs.devices.geometry, dtype=object))
    cells, counts = distinct_counts(np.array(  # integers: one string per distinct cell
        [h3i.latlng_to_cell(lat, lon, resolution) for lon, lat in lonlat.tolist()], np.uint64))
    return {h3.int_to_str(cell): n
            for cell, n in zip(cells.tolist(), counts.tolist(), strict=True)}


def latest_summary(store: Store, *, levels=(), scenarios=(), audience: str = "public") -> dict[str, Any]:
    """The summary of the store's coverage run (its record: :func:`survatlas.coverage.runs.require_run`).

    Raises :class:`~survatlas.errors.CoverageMissingError` when there is no run or it did not
    compute ``levels`` / ``scenarios``.
    """
    return runs.require_run(store, bbox=runs.ANY_AREA, levels=levels, scenarios=scenarios,
                            audience=audience, check_inputs=False).summary


def _run_crs(store: Store, bbox, audience: str, outputs: tuple[str, ...] = ()) -> CRS:
    """The CRS of the run, after checking it covers ``bbox`` (and ``outputs``) for ``audience``."""
    run = runs.require_run(store, bbox=_box(bbox), audience=audience, outputs=outputs)
    return CRS.from_wkt(run.crs_wkt)


def _box(bbox) -> BBox | None:
    return None if bbox is None else tuple(float(v) for v in bbox)  # type: ignore[return-value]


def _public_ids(store: Store, table: str) -> str:
    return f"SELECT id FROM {table} WHERE {audience_clause('public')}"


def view_polygon(row: Any, transformer: Any) -> shapely.Geometry:
    """The visible region of one stored camera view as a lon/lat polygon.

    Parameters
    ----------
    row
        A ``coverage_views`` row: camera position ``x``, ``y`` (run CRS), ``start`` and ``fov``
        (radians) and the region r(θ) as float32 ``angles`` (from ``start``) and ``radii``.
    transformer
        A pyproj transformer from the run CRS to lon/lat (:func:`survatlas.geo.to_lonlat`).

    Returns
    -------
    shapely.Geometry
        The polygon (the camera position is its first vertex unless the view is all-round),
        made valid when needed; empty when the region has fewer than 3 vertices.
    """
    a = np.frombuffer(row["angles"], np.float32).astype(float) + row["start"]
    rad = np.frombuffer(row["radii"], np.float32).astype(float)
    pts = np.column_stack([row["x"] + rad * np.cos(a), row["y"] + rad * np.sin(a)])
    if row["fov"] < 2 * math.pi - 1e-9:
        pts = np.vstack([[row["x"], row["y"]], pts])
    if len(pts) < 3:
        return shapely.Polygon()
    lon, lat = transformer.transform(pts[:, 0], pts[:, 1])
    poly = shapely.Polygon(np.column_stack([lon, lat]))
    return poly if poly.is_valid else shapely.make_valid(poly)


def visibility_layer(store: Store, bbox, audience: str = "public") -> gpd.GeoDataFrame:
    """Visible region of every camera view, per scenario and level, as lon/lat polygons.

    Polygon-only: every geometry is a Polygon or MultiPolygon (the polygonal parts of a region
    made valid); a view that sees nothing (a camera inside a building, status 2) has no row.
    ``survatlas:device_id`` joins to the same column of the devices export; ``status`` is the label of
    ``status_code`` (:data:`survatlas.coverage.regions.STATUS`, documented in docs/coverage.md).
    """
    crs = _run_crs(store, bbox, audience)
    inv = geo.to_lonlat(crs)
    rows = store.query(
        "SELECT v.*, d.lon, d.lat, d.origin FROM coverage_views v JOIN devices d "
        f"ON d.id = v.device_id WHERE d.{audience_clause(audience)} ORDER BY scenario, level, view")
    records, geoms = [], []
    devices = numbering(store, "devices", audience)
    for r in rows:
        if bbox and not (bbox[0] <= r["lon"] <= bbox[2] and bbox[1] <= r["lat"] <= bbox[3]):
            continue
        poly = polygonal(view_polygon(r, inv))
        if poly.is_empty:
            continue
        geoms.append(poly)
        records.append({"survatlas:device_id": devices.public(r["device_id"]), "survatlas:origin": r["origin"],
                        "scenario": r["scenario"], "level": r["level"],
                        "range_m": round(r["radius"], 2),
                        "fov_deg": round(math.degrees(r["fov"]), 2), "area_m2": round(r["area_m2"], 2),
                        "occlusion_ratio": round(1 - r["area_m2"] / r["sector_m2"], 4) if r["sector_m2"] else None,
                        "status_code": r["status"], "status": STATUS.get(r["status"], "unknown")})
    return _geo_frame(records, geoms)


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of ``geom`` as a Polygon or MultiPolygon (empty Polygon when none)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = [q for p in parts for q in shapely.get_parts(p) if not q.is_empty]
    if not polys:
        return shapely.Polygon()
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def street_coverage_layer(store: Store, bbox, audience: str = "public") -> gpd.GeoDataFrame:
    """Every street with its metres in view per scenario and level (one row per combination)."""
    _run_crs(store, bbox, audience)
    rows = store.query(
        "SELECT c.*, s.geom, s.highway, s.name, s.origin FROM street_coverage c "
        f"JOIN streets s ON s.id = c.street_id WHERE s.{audience_clause(audience)} "
        + ("AND s.id IN (SELECT id FROM streets_rtree WHERE max_x >= ? AND min_x <= ? AND max_y >= ? "
           "AND min_y <= ?)" if bbox else ""),
        (bbox[0], bbox[2], bbox[1], bbox[3]) if bbox else ())
    streets = numbering(store, "streets", audience)
    return _frame(rows, lambda r: {
        "survatlas:street_id": streets.public(r["street_id"]), "survatlas:origin": r["origin"], "highway": r["highway"],
        "name": r["name"], "scenario": r["scenario"], "level": r["level"],
        "length_m": round(r["length_m"], 2), "in_view_m": round(r["in_view_m"], 2),
        "in_view_share": round(r["in_view_m"] / r["length_m"], 4) if r["length_m"] else None,
        "cameras": r["cameras"]})


def site_coverage_layer(store: Store, bbox, audience: str = "public") -> gpd.GeoDataFrame:
    """Every site with the share of its area and outline in view, per scenario and level."""
    _run_crs(store, bbox, audience, ("sites",))
    rows = store.query(
        "SELECT c.*, s.geom, s.category, s.name, s.origin FROM site_coverage c "
        f"JOIN sites s ON s.id = c.site_id AND s.category IS NOT NULL WHERE s.{audience_clause(audience)}")
    rows = [r for r in rows if not bbox or _in_bbox(r["geom"], bbox)]
    sites, devices = numbering(store, "sites", audience), numbering(store, "devices", audience)
    return _frame(rows, lambda r: {
        "survatlas:site_id": sites.public(r["site_id"]), "survatlas:origin": r["origin"], "category": r["category"],
        "name": r["name"], "scenario": r["scenario"], "level": r["level"],
        "area_m2": round(r["area_m2"], 1), "in_view_share": _r(r["share"]),
        "outline_in_view_share": _r(r["outline_share"]),
        "cameras": public_camera_list(r["cameras"], devices),
        "footprint_assumed": bool(r["footprint_assumed"])})


def h3_layer(store: Store, bbox, audience: str = "public") -> gpd.GeoDataFrame:
    """H3 cells with land in view per scenario and level, and cameras per cell."""
    _run_crs(store, bbox, audience, ("h3",))
    rows = store.query("SELECT * FROM h3_coverage ORDER BY scenario, level, h3")
    records, geoms = [], []
    for r in rows:
        poly = shapely.Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(r["h3"])])
        if bbox and not shapely.intersects(poly, shapely.box(*bbox)):
            continue
        geoms.append(poly)
        records.append({"h3": r["h3"], "scenario": r["scenario"], "level": r["level"],
                        "land_m2": round(r["land_m2"], 1), "in_view_share": _r(r["share"]),
                        "cameras": r["cameras"]})
    return _geo_frame(records, geoms)


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _in_bbox(wkb: bytes, bbox) -> bool:
    return bool(shapely.intersects(shapely.from_wkb(wkb), shapely.box(*bbox)))


def _frame(rows, fields) -> gpd.GeoDataFrame:
    records = [fields(r) for r in rows]
    geoms = shapely.from_wkb([r["geom"] for r in rows]) if rows else []
    return _geo_frame(records, list(geoms))


def _geo_frame(records: list[dict], geoms: list) -> gpd.GeoDataFrame:
    """A lon/lat layer of ``records`` (geopandas is imported by the readers only: saving a run
    does not need it)."""
    import geopandas as gpd
    import pandas as pd

    return gpd.GeoDataFrame(pd.DataFrame(records), geometry=geoms, crs="EPSG:4326")
