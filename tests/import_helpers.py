"""Shared pieces of the import tests: store dumps, a site record, a slowed-down import script."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import shapely

from survatlas.ingest._records import LAYER_COLUMNS, Record

_COLUMNS = "origin, osm_type, osm_id, osm_version, osm_timestamp, content_sha, geom, tags, sensitivity"


def stored_rows(db: Path, *, rtree: bool = False, warnings: bool = False) -> dict[str, list[tuple]]:
    """Every stored row of every layer (and of its R*Tree / the device warnings), in id order."""
    conn = sqlite3.connect(db)
    out = {}
    for layer, extra in LAYER_COLUMNS.items():
        cols = ", ".join((_COLUMNS, *extra, "min_x", "min_y", "max_x", "max_y"))
        out[layer] = conn.execute(f"SELECT id, {cols} FROM {layer} ORDER BY id").fetchall()
        if rtree:
            out[f"{layer}_rtree"] = conn.execute(f"SELECT * FROM {layer}_rtree ORDER BY id").fetchall()
    if warnings:
        out["device_warnings"] = conn.execute(
            "SELECT device_id, key, value, kind FROM device_warnings ORDER BY 1, 2, 4").fetchall()
    conn.close()
    return out


def site_record(origin: str, category: str, version: int, x: float) -> Record:
    """A 1 m² school or workplace site at ``x`` (one OSM way in several versions)."""
    geom = shapely.to_wkb(shapely.box(x, 0, x + 1, 1))
    return Record(origin, geom, {"category": category, "name": f"v{version}"},
                  {"amenity": "school", "v": str(version)}, osm_type="way", osm_id=1,
                  osm_version=version)


def slow_import_script(prelude: str = "") -> str:
    """``python -c`` text importing ``argv[3]`` into ``argv[1]``; it writes ``argv[2]`` once the
    streets are being written and then sleeps (to be killed there). ``prelude`` runs first."""
    return f"""
import sys, time, pathlib
from survatlas.ingest import osm
from survatlas.store import Store
{prelude}
original = osm.LayerWriter.add
def slow(self, records):
    original(self, records)
    if self.layer == "streets":
        pathlib.Path(sys.argv[2]).write_text("in the middle")
        time.sleep(60)
osm.LayerWriter.add = slow
osm.import_osm(Store(sys.argv[1]), sys.argv[3])
"""
