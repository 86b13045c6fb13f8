"""Small builders for test inputs (files the tests write themselves)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def write_csv(path: Path, rows: Iterable[Mapping[str, Any]], delimiter: str = ",") -> Path:
    """Write dict rows as CSV with the union of their keys as header."""
    rows = list(rows)
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_points_geojson(path: Path, points: Iterable[tuple[float, float, Mapping[str, Any]]]) -> Path:
    """Write (lon, lat, properties) triples as a GeoJSON FeatureCollection."""
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": dict(props)}
        for lon, lat, props in points
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def table_counts(db: Path) -> dict[str, int]:
    """Row counts of the foundation tables of a store file (read with plain sqlite3)."""
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("sources", "devices", "buildings", "streets", "sites", "device_warnings")}
    finally:
        conn.close()
