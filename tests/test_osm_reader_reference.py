"""The fast OSM reader against a plain one: the same rows from pyosmium's public API.

The importer's readers take short cuts for speed. The compiled one
(:mod:`survatlas.ingest._osmcompiled`, ``make osmcore``) filters and encodes in C++ and decides
column-wise; pyosmium's (:mod:`survatlas.ingest._osmread`, the fallback) calls pyosmium's C
accessors directly, decides most objects from key lookups before reading any tag, caches row
tails per tag set and timestamps per instant, and writes tags JSON by hand. The reference below
reads every object the obvious way (every tag into a dict through ``obj.tags``, ``obj.id``,
``obj.timestamp`` …) and applies the documented rules; all must give the same rows, column by
column, and reject the same objects.
"""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import osmium
import osmium.geom
import pytest
import shapely

from survatlas.ingest import _osmcompiled
from survatlas.ingest._osmread import (
    BUILDING_KEYS,
    node_locations,
    osm_file_processor,
    read_messages,
)
from survatlas.ingest._records import LAYER_COLUMNS, ROW_COLUMNS, device_values
from survatlas.ingest.tags import normalise_tags, parse_height
from survatlas.synth.osmfile import grid_extract
from survatlas.vocab import NON_STREET_HIGHWAYS, is_obstacle, is_walkable, site_categories

SENS = "public"


def _number(value, parse):
    try:
        return None if value is None else float(parse(value))
    except (ValueError, TypeError):
        return None


def _building(tags: dict) -> tuple:
    return (tags.get("building"), int(is_obstacle(tags)), _number(tags.get("height"), parse_height),
            _number(tags.get("building:levels"), float), _number(tags.get("min_height"), parse_height))


def _dumps(tags: dict) -> str:
    return json.dumps(tags, sort_keys=True, ensure_ascii=False)


def _head(obj, osm_type: str, osm_id: int, wkb_hex: str) -> tuple:
    ts = obj.timestamp.astimezone(UTC).replace(microsecond=0).isoformat()
    return (osm_type, osm_id, obj.version, ts, f"osm-v{obj.version}", bytes.fromhex(wkb_hex))


def reference_rows(path: Path) -> tuple[dict[str, list[tuple]], list[str]]:
    """Rows per layer (ROW_COLUMNS without origin) and rejected objects, read plainly."""
    rows: dict[str, list[tuple]] = {layer: [] for layer in ROW_COLUMNS}
    rejected: list[str] = []
    wkb = osmium.geom.WKBFactory()
    with node_locations(path) as locations:
        for obj in osm_file_processor(path, locations):
            tags = {tag.k: tag.v for tag in obj.tags}
            if isinstance(obj, osmium.osm.Node):
                device = (tags.get("man_made") == "surveillance"
                          or tags.get("highway") == "speed_camera")
                categories = site_categories(tags)
                if not (device or categories):
                    continue
                if not obj.location.valid():
                    rejected.append(f"node/{obj.id}: invalid location")
                    continue
                head = _head(obj, "node", obj.id, wkb.create_point(obj))
                if device:
                    values = device_values(normalise_tags(tags), obj.location.lon, obj.location.lat)
                    values["name"] = tags.get("name")
                    rows["devices"].append((*head, _dumps(tags), SENS,
                                            *map(values.get, LAYER_COLUMNS["devices"])))
                rows["sites"] += [(*head, _dumps(tags), SENS, c, tags.get("name"))
                                  for c in categories]
            elif isinstance(obj, osmium.osm.Way):
                highway = tags.get("highway")
                if highway is None or highway in NON_STREET_HIGHWAYS or tags.get("area") == "yes":
                    if tags.get("man_made") == "surveillance":
                        rejected.append(f"way/{obj.id}: man_made=surveillance on a way (map it as a node)")
                    continue
                try:
                    geom = wkb.create_linestring(obj)
                except (RuntimeError, osmium.InvalidLocationError):
                    coords = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
                    coords = [c for i, c in enumerate(coords) if i == 0 or c != coords[i - 1]]
                    if len(coords) < 2:
                        rejected.append(f"way/{obj.id}: fewer than two nodes inside the extract")
                        continue
                    geom = shapely.to_wkb(shapely.LineString(coords), hex=True)
                rows["streets"].append((*_head(obj, "way", obj.id, geom), _dumps(tags), SENS,
                                        highway, tags.get("name"), int(is_walkable(tags))))
            elif isinstance(obj, osmium.osm.Area):
                building = tags.get("building")
                categories = site_categories(tags)
                if building in (None, "no") and not categories:
                    continue
                try:
                    geom = wkb.create_multipolygon(obj)
                except RuntimeError:
                    rejected.append(f"area {obj.orig_id()}: broken polygon")
                    continue
                osm_type = "way" if obj.from_way() else "relation"
                head = _head(obj, osm_type, obj.orig_id(), geom)
                rows["sites"] += [(*head, _dumps(tags), SENS, c, tags.get("name"))
                                  for c in categories]
                if building not in (None, "no"):
                    kept = tags if categories else {k: tags[k] for k in BUILDING_KEYS if k in tags}
                    rows["buildings"].append((*head, _dumps(kept), SENS, *_building(kept)))
    return rows, rejected


def reader_rows(path: Path) -> tuple[dict[str, list[tuple]], list[str]]:
    """The same, from the importer's reader (its chunks' rows, origin and bounds left out)."""
    rows: dict[str, list[tuple]] = {layer: [] for layer in ROW_COLUMNS}
    rejected: list[str] = []
    for kind, payload in read_messages(path, SENS, chunk_size=997):  # several chunks
        if kind == "rows":
            width = len(ROW_COLUMNS[payload.layer])
            rows[payload.layer] += [tuple(bytes(v) if isinstance(v, bytearray) else v
                                          for v in row[1:width]) for row in payload.rows()]
        elif kind == "end":
            rejected = payload.rejected
    return rows, rejected


@pytest.fixture(scope="module")
def grid_pbf(tmp_path_factory) -> Path:
    return grid_extract(tmp_path_factory.mktemp("grid"), 12)


EDGE_CASES = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="test">
  <node id="1" version="2" timestamp="2021-03-04T05:06:07Z" lat="60.1" lon="24.9">
    <tag k="man_made" v="surveillance"/><tag k="surveillance:type" v="camera"/>
    <tag k="amenity" v="police"/><tag k="name" v="Poliisi «Itä» \\u00e9"/>
  </node>
  <node id="2" version="1" timestamp="2021-03-04T05:06:07Z" lat="60.1001" lon="24.9">
    <tag k="highway" v="crossing"/><tag k="amenity" v="bench"/>
  </node>
  <node id="3" version="1" timestamp="2020-01-01T00:00:00Z" lat="60.1002" lon="24.9">
    <tag k="office" v="lawyer"/>
  </node>
  <node id="4" version="5" timestamp="2022-01-01T00:00:00Z" lat="60.1003" lon="24.9">
    <tag k="highway" v="speed_camera"/><tag k="maxspeed" v="40"/>
  </node>
  <node id="10" version="1" timestamp="2020-01-01T00:00:00Z" lat="60.0" lon="24.0"/>
  <node id="11" version="1" timestamp="2020-01-01T00:00:00Z" lat="60.0" lon="24.001"/>
  <node id="12" version="1" timestamp="2020-01-01T00:00:00Z" lat="60.001" lon="24.001"/>
  <node id="13" version="1" timestamp="2020-01-01T00:00:00Z" lat="60.001" lon="24.0"/>
  <way id="100" version="3" timestamp="2021-01-01T00:00:00Z">
    <nd ref="10"/><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="10"/>
    <tag k="building" v="school"/><tag k="amenity" v="school"/><tag k="height" v="12 m"/>
    <tag k="building:levels" v="3"/><tag k="name" v="Koulu"/>
  </way>
  <way id="101" version="1" timestamp="2021-01-01T00:00:00Z">
    <nd ref="10"/><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="10"/>
    <tag k="building" v="roof"/><tag k="addr:street" v="Katu"/><tag k="roof:shape" v="flat"/>
  </way>
  <way id="102" version="1" timestamp="2021-01-01T00:00:00Z">
    <nd ref="10"/><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="10"/>
    <tag k="highway" v="pedestrian"/><tag k="area" v="yes"/><tag k="name" v="Tori"/>
  </way>
  <way id="103" version="1" timestamp="2021-01-01T00:00:00Z">
    <nd ref="10"/><nd ref="11"/><nd ref="999"/>
    <tag k="highway" v="footway"/><tag k="foot" v="no"/><tag k="name" v="Polku"/>
  </way>
  <way id="104" version="1" timestamp="2021-01-01T00:00:00Z">
    <nd ref="10"/><nd ref="11"/><tag k="highway" v="motorway"/><tag k="man_made" v="surveillance"/>
  </way>
</osm>
"""


@pytest.fixture(scope="module")
def edge_osm(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("edge") / "edge.osm"
    path.write_text(EDGE_CASES, encoding="utf-8")
    return path


@pytest.mark.parametrize("reader", ["libosmium", "pyosmium"])
@pytest.mark.parametrize("name", ["helsinki_pbf", "monaco_pbf", "grid_pbf", "edge_osm"])
def test_reader_rows_equal_the_plain_reference(name, reader, request, monkeypatch):
    """Both read loops: the compiled one (``make osmcore``) and pyosmium's (its fallback)."""
    if reader == "pyosmium":
        monkeypatch.setattr(_osmcompiled, "current_build", lambda: None)
    assert _osmcompiled.active_reader() == reader
    path = request.getfixturevalue(name)
    fast, fast_rejected = reader_rows(path)
    plain, plain_rejected = reference_rows(path)
    assert {k: len(v) for k, v in fast.items()} == {k: len(v) for k, v in plain.items()}
    for layer in ROW_COLUMNS:
        for got, want in zip(fast[layer], plain[layer], strict=True):
            assert got == want, (layer, got[:3])
    assert fast_rejected == plain_rejected
    assert sum(map(len, fast.values())) > 0


def test_edge_cases_take_every_branch(edge_osm):
    """The hand-made file reaches every rule the reference spells out."""
    rows, rejected = reference_rows(edge_osm)
    assert [r[1] for r in rows["devices"]] == [1, 4]
    assert sorted((r[1], r[-2]) for r in rows["sites"]) == [
        (1, "government"), (3, "workplace"), (100, "education"), (102, "public_space")]
    assert [(r[1], json.loads(r[6])) for r in rows["buildings"]] == [
        (100, {"amenity": "school", "building": "school", "building:levels": "3",
               "height": "12 m", "name": "Koulu"}),
        (101, {"building": "roof", "roof:shape": "flat"})]
    assert [(r[1], r[-1]) for r in rows["streets"]] == [(103, 0)]  # clipped, foot=no
    assert rejected == ["way/104: man_made=surveillance on a way (map it as a node)"]
