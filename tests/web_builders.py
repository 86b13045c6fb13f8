"""A small store for the web tests: public, restricted and hostile-looking records."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import shapely

from survatlas.ingest._writer import Record, ensure_source, write_layer
from survatlas.store import Store
from survatlas.tags import TagWarning

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
        )
    ]
    with Store(path) as store, store.transaction() as conn:
        source = ensure_source(
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
    return WebStore(
        path=path,
        public_ids=[ids[o] for o in ("test:cam1", "test:cam2", "test:alpr", "test:hostile")],
        restricted_id=ids["test:secret"],
        hostile_id=ids["test:hostile"],
    )
