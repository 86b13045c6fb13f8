"""A small store for the web tests: public, restricted and hostile-looking records."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import shapely

from survatlas.ingest._records import Record
from survatlas.ingest._writer import write_layer
from survatlas.ingest.tags import TagWarning
from survatlas.provenance.sources import file_source
from survatlas.store import Store

#: the test city sits around this point (Helsinki centre).
LON, LAT = 24.94, 60.17
HOSTILE = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'


@dataclass
class WebStore:
    """Where the test store is and the ids the tests look for."""

    path: Path
    public_ids: list[int]
    restricted_id: int
    hostile_id: int
    site_ids: dict[str, int]
    street_ids: dict[str, int]
    device_ids: dict[str, int]


def _point(dx: float, dy: float) -> bytes:
    return shapely.to_wkb(shapely.Point(LON + dx, LAT + dy))


def _device(origin: str, dx: float, dy: float, sensitivity: str = "public", **values) -> Record:
    tags = {"man_made": "surveillance", **values.pop("tags", {})}
    base = {
        "device_type": "camera",
        "views": json.dumps(values.pop("views", [])),
        "lon": LON + dx,
        "lat": LAT + dy,
    }
    return Record(
        origin=origin,
        geom_wkb=_point(dx, dy),
        values={**base, **values},
        tags=tags,
        sensitivity=sensitivity,
    )


def build_web_store(path: Path) -> WebStore:
    """Write devices, buildings, streets and sites (and one restricted device) to ``path``."""
    devices = [
        _device("test:cam1", 0.0, 0.0, area="public", operator="City", views=[[90.0, 60.0]]),
        _device("test:cam2", 0.001, 0.0005, area="outdoor", manufacturer="Acme"),
        _device("test:alpr", -0.001, 0.0002, device_type="alpr", zone="traffic"),
        _device(
            "test:hostile",
            0.0005,
            -0.0005,
            name=HOSTILE,
            tags={"operator": HOSTILE, "note": "javascript:alert(1)"},
        ),
        _device("test:secret", 0.0002, 0.0002, sensitivity="restricted", name="secret camera"),
    ]
    devices[1].warnings = (TagWarning("direction", "NNW?", "unparsed_direction", "not a bearing"),)
    buildings = [
        Record(
            "test:b1",
            shapely.to_wkb(shapely.box(LON + 0.0002, LAT + 0.0002, LON + 0.0006, LAT + 0.0005)),
            {"building": "yes", "obstacle": 1, "height_m": 12.0},
            {"building": "yes"},
        )
    ]
    streets = [
        Record(
            "test:s1",
            shapely.to_wkb(shapely.LineString([(LON - 0.002, LAT), (LON + 0.002, LAT)])),
            {"highway": "residential", "name": "Testikatu", "walkable": 1},
            {"highway": "residential"},
        )
    ]
    sites = [
        Record(
            "test:school",
            shapely.to_wkb(shapely.box(LON - 0.001, LAT - 0.001, LON, LAT)),
            {"category": "education", "name": "Test School"},
            {"amenity": "school"},
        ),
        Record(
            "test:station",
            shapely.to_wkb(shapely.box(LON, LAT, LON + 0.001, LAT + 0.001)),
            {"category": "transport", "name": "Test Station"},
            {"railway": "station"},
        ),
        Record(
            "test:secret-site",
            shapely.to_wkb(shapely.box(LON, LAT - 0.001, LON + 0.001, LAT)),
            {"category": "education", "name": "Secret Site"},
            {"amenity": "school"},
            sensitivity="restricted",
        ),
    ]
    with Store(path) as store, store.transaction() as conn:
        source = file_source(
            conn,
            kind="osm",
            title="web test data",
            sha256="web-test",
            licence="ODbL-1.0",
            attribution="© OpenStreetMap contributors",
        )
        for layer, records in (
            ("devices", devices),
            ("buildings", buildings),
            ("streets", streets),
            ("sites", sites),
        ):
            write_layer(conn, layer, source, records)
    with Store(path) as store:
        ids = dict(store.query("SELECT origin, id FROM devices"))
        site_ids = dict(store.query("SELECT origin, id FROM sites"))
        street_ids = dict(store.query("SELECT origin, id FROM streets"))
    return WebStore(
        path=path,
        public_ids=[ids[o] for o in ("test:cam1", "test:cam2", "test:alpr", "test:hostile")],
        restricted_id=ids["test:secret"],
        hostile_id=ids["test:hostile"],
        site_ids=site_ids,
        street_ids=street_ids,
        device_ids=ids,
    )


LEVELS = ("detection", "identification")
SCENARIOS = {"best": 0.5, "typical": 1.0, "worst": 1.5}  # scenario -> factor on every share


def add_coverage_run(web: WebStore) -> None:
    """Write a small coverage run by hand (the tables ``survatlas coverage`` fills)."""
    import h3
    import numpy as np
    from pyproj import CRS

    from survatlas.geo import to_metric

    crs = CRS.from_epsg(32635)
    by = {
        s: {
            lv: {
                "street_in_view_share": 0.2 * f,
                "sites": {
                    # mean_share is "share of sites in view"; area_share (ground) differs
                    "education": {"mean_share": 0.1 * f, "area_share": 0.12 * f, "sites": 1,
                                  "sites_seen": 1},
                    "transport": {"mean_share": 0.3 * f, "area_share": 0.33 * f, "sites": 1,
                                  "sites_seen": 1},
                },
            }
            for lv in LEVELS
        }
        for s, f in SCENARIOS.items()
    }
    summary = {"method": "hand-made test run", "by_scenario": by}
    settings = {"scenarios": list(SCENARIOS), "levels": list(LEVELS), "h3_resolution": 10}
    fwd = to_metric(crs)
    cam = web.device_ids["test:cam1"]
    x, y = fwd.transform(LON, LAT)
    angles = np.linspace(0, 2 * np.pi, 64, endpoint=False).astype(np.float32)
    cell = h3.latlng_to_cell(LAT, LON, 10)
    sibling = next(c for c in h3.cell_to_children(h3.cell_to_parent(cell, 9), 10) if c != cell)
    with Store(web.path) as store, store.transaction() as conn:
        conn.execute(
            "INSERT INTO coverage_runs (created_at, settings, summary, crs) VALUES (?, ?, ?, ?)",
            ("2026-01-01T00:00:00+00:00", json.dumps(settings), json.dumps(summary), crs.to_wkt()),
        )
        for s, f in SCENARIOS.items():
            for k, (lv, radius) in enumerate(zip(LEVELS, (40.0, 10.0), strict=True)):
                radii = np.full(64, radius * f, dtype=np.float32)
                conn.execute(
                    "INSERT INTO coverage_views VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        s,
                        lv,
                        k,
                        cam,
                        x,
                        y,
                        0.0,
                        2 * np.pi,
                        radius * f,
                        0,
                        1.0,
                        1.0,
                        angles.tobytes(),
                        radii.tobytes(),
                    ),
                )
                for origin, share in (
                    ("test:school", 0.1),
                    ("test:station", 0.3),
                    ("test:secret-site", 0.9),
                ):
                    conn.execute(
                        "INSERT INTO site_coverage VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        (
                            web.site_ids[origin],
                            s,
                            lv,
                            100.0,
                            100 * share * f,
                            share * f,
                            40.0,
                            0.0,
                            0.0,
                            json.dumps([cam]),
                            0,
                        ),
                    )
                conn.execute(
                    "INSERT INTO street_coverage VALUES (?,?,?,?,?,?)",
                    (web.street_ids["test:s1"], s, lv, 200.0, 50.0 * f, 1),
                )
                for h, land, seen in ((cell, 100.0, 50.0 * f), (sibling, 300.0, 0.0)):
                    conn.execute(
                        "INSERT INTO h3_coverage VALUES (?,?,?,?,?,?,?)",
                        (h, s, lv, land, seen, seen / land, 1),
                    )
