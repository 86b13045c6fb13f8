"""The normaliser on the real OSM camera exports in ../shared/data/cameras/.

Every direction / angle / tilt / height value present must be either understood (the result
equals what the public parser reads) or carry a warning with its own key: nothing is silently
dropped. The files are read in place, never copied into the repository.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from survatlas.errors import InputError
from survatlas.ingest.tags import (
    ANGLE_KEYS,
    DIRECTION_KEYS,
    HEIGHT_KEYS,
    TILT_KEYS,
    DeviceTags,
    coverage_report,
    normalise_tags,
    parse_angle,
    parse_direction,
    parse_height,
    parse_tilt,
)

FILES = [
    "vienna-osm-cameras.geojson",
    "berlin-osm-cameras.geojson",
    "switzerland-osm-cameras.overpass.json",
    "prague-osm-cameras.geojson",
    "chicago-osm-cameras.geojson",
    "nyc-osm-cameras.geojson",
    "helsinki-region-osm-cameras-2025.geojson",
]
RICH = FILES[:3]  # the brief's three: Vienna, Berlin, Switzerland


def load_tag_records(path: Path) -> list[Mapping[str, object]]:
    """Tag mappings of a GeoJSON export (properties, or nested ``tags``) or Overpass JSON."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and "features" in data:
        props = [f.get("properties") or {} for f in data["features"]]
        return [p.get("tags") if isinstance(p.get("tags"), dict) else p for p in props]
    elements = data.get("elements", []) if isinstance(data, dict) else data
    return [e.get("tags") or {} for e in elements]


@pytest.fixture(scope="module", params=FILES)
def records(request: pytest.FixtureRequest, shared_dir: Path) -> list[Mapping[str, object]]:
    recs = load_tag_records(shared_dir / "data" / "cameras" / request.param)
    assert len(recs) > 500, f"{request.param} looks truncated"
    return recs


def _understood(key: str, raw: str, rec: DeviceTags) -> bool:
    """Does the record's field equal what the public parser reads from ``raw``?"""
    try:
        if key in DIRECTION_KEYS:
            return rec.views == parse_direction(raw)
        if key in HEIGHT_KEYS:
            return rec.height_m == parse_height(raw)
        if key in ANGLE_KEYS:
            return rec.tilt_down_deg == parse_angle(raw)
        return rec.tilt_down_deg == -parse_tilt(raw)
    except InputError:
        return False


def test_every_record_normalises(records: list[Mapping[str, object]]) -> None:
    devices = [normalise_tags(r) for r in records]  # type: ignore[arg-type]
    assert len(devices) == len(records)
    assert all(d.device_type for d in devices)


def test_no_value_is_silently_dropped(records: list[Mapping[str, object]]) -> None:
    silent = []
    for tags in records:
        rec = normalise_tags(tags)  # type: ignore[arg-type]
        warned_keys = {w.key for w in rec.warnings}
        for key in (*DIRECTION_KEYS, *ANGLE_KEYS, *TILT_KEYS, *HEIGHT_KEYS):
            if key in tags and key not in warned_keys and not _understood(key, str(tags[key]), rec):
                silent.append((key, tags[key]))
    assert silent == []


@pytest.mark.parametrize("name", RICH)
def test_rich_files_are_mostly_understood(name: str, shared_dir: Path) -> None:
    rep = coverage_report(load_tag_records(shared_dir / "data" / "cameras" / name))
    for family in ("direction", "angle", "height"):
        fam = rep[family]
        assert fam["present"] > 100
        assert fam["clean"] + fam["warned"] + fam["dropped"] == fam["present"]
        assert fam["share_understood"] > 0.95, (name, family, fam)


def test_known_real_spellings(shared_dir: Path) -> None:
    """Spot checks of spellings that occur in the Berlin and Vienna exports."""
    berlin = load_tag_records(shared_dir / "data" / "cameras" / "berlin-osm-cameras.geojson")
    spellings = {str(t.get("camera:direction")) for t in berlin}
    assert {"O", "SO", "-20", "0-360"} <= spellings  # the data still has them
    vienna = load_tag_records(shared_dir / "data" / "cameras" / "vienna-osm-cameras.geojson")
    heights = {str(t.get("height")) for t in vienna if "height" in t}
    assert all(normalise_tags({"height": h}).height_m is not None for h in heights)
