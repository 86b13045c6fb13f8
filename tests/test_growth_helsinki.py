"""The real test of growth: central Helsinki in OSM, 2019 extract → 2025 camera export.

The figures of ``scripts/helsinki_growth.py`` (stated in the README) are checked against a
count made straight from the two raw files, without the store.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import osmium

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("helsinki_growth",
                                                  ROOT / "scripts" / "helsinki_growth.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _raw_counts(shared_dir: Path, box: list[float]) -> dict[str, set[int]]:
    """Node ids of cameras in 2019 (man_made=surveillance) and in the 2025 export, in ``box``."""
    old = {n.id for n in osmium.FileProcessor(str(ROOT / "data" / "helsinki-center.osm.pbf"),
                                              osmium.osm.NODE)
           if n.tags.get("man_made") == "surveillance"}
    export = json.loads((shared_dir / "data/cameras/helsinki-region-osm-cameras-2025.geojson")
                        .read_text())
    new, no_id = set(), 0
    for f in export["features"]:
        lon, lat = f["geometry"]["coordinates"]
        if box[0] <= lon <= box[2] and box[1] <= lat <= box[3]:
            if f["properties"].get("id") is None:
                no_id += 1
            else:
                new.add(int(f["properties"]["id"]))
    return {"old": old, "new": new, "no_id": no_id}


def test_helsinki_growth_matches_the_raw_files(shared_dir, tmp_path):
    script = _script()
    result = script.helsinki_growth(shared_dir, chart=tmp_path / "growth.png")
    raw = _raw_counts(shared_dir, result["bounds"])
    kept_cameras = raw["old"] & raw["new"]
    counts = result["counts"]
    assert counts["disappeared"] == len(raw["old"] - raw["new"])
    assert result["osm_appeared"] == len(raw["new"] - raw["old"])
    assert result["without_osm_id"] == raw["no_id"]
    assert counts["appeared"] == len(raw["new"] - raw["old"]) + raw["no_id"]
    # kept: the cameras in both, plus the speed cameras a camera export does not speak for
    assert counts["kept"] == len(kept_cameras) + result["speed_cameras"]
    assert result["in_place_from"] == len(raw["old"]) + result["speed_cameras"]
    assert (tmp_path / "growth.png").stat().st_size > 10_000
    # the README states the figures the script computes now
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- growth:start -->\n(.*?)<!-- growth:end -->", readme, re.S)
    assert block and block.group(1) == script.readme_text(result)
