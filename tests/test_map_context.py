"""The map's context from the OSM import: water, green, rail, motorways, place names."""

from __future__ import annotations

import math
from pathlib import Path

import mapbox_vector_tile
from click.testing import CliRunner

from survatlas.cli import main
from survatlas.ingest import import_osm
from survatlas.publish.tiles import render_tile
from survatlas.store import Store

LON, LAT = 24.95, 60.17
D = 0.001


def _osm(path: Path, *, park: bool = True) -> Path:
    """A small OSM file: a suburb name, a lake, a park, a railway, a motorway, a camera."""
    nodes, ways = [], []

    def node(i: int, dx: float, dy: float, tags: dict[str, str] | None = None) -> None:
        body = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in (tags or {}).items())
        nodes.append(f'<node id="{i}" version="1" timestamp="2024-01-01T00:00:00Z" '
                     f'lat="{LAT + dy:.7f}" lon="{LON + dx:.7f}">{body}</node>')

    def way(i: int, refs: list[int], tags: dict[str, str]) -> None:
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        body = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        ways.append(f'<way id="{i}" version="1" timestamp="2024-01-01T00:00:00Z">{nds}{body}</way>')

    node(1, 0, 0, {"place": "suburb", "name": "Kluuvi", "name:sv": "Gloet"})
    node(2, 0.0002, 0.0002, {"man_made": "surveillance", "surveillance:type": "camera"})
    for i, (dx, dy) in enumerate([(0, 0), (D, 0), (D, D), (0, D)], start=10):
        node(i, dx + 0.002, dy)
    way(100, [10, 11, 12, 13, 10], {"natural": "water", "name": "Lampi"})
    for i, (dx, dy) in enumerate([(0, 0), (D, 0), (D, D), (0, D)], start=20):
        node(i, dx - 0.003, dy)
    if park:
        way(101, [20, 21, 22, 23, 20], {"leisure": "park", "name": "Puisto"})
    node(30, -0.004, -0.001)
    node(31, 0.004, -0.001)
    way(102, [30, 31], {"railway": "rail", "name": "Rantarata"})
    node(40, -0.004, -0.002)
    node(41, 0.004, -0.002)
    way(103, [40, 41], {"highway": "motorway", "ref": "E12"})
    bounds = (f'<bounds minlat="{LAT - 0.01}" minlon="{LON - 0.01}" maxlat="{LAT + 0.01}" '
              f'maxlon="{LON + 0.01}"/>')
    path.write_text(
        "<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\" generator=\"test\">"
        + bounds + "".join(nodes) + "".join(ways) + "</osm>",
        "utf-8",
    )
    return path


def _tile(store: Store, z: int, audience: str = "public") -> dict:
    n = 2**z
    x = int((LON + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(LAT))) / math.pi) / 2 * n)
    return mapbox_vector_tile.decode(render_tile(store, "base", z, x, y, audience=audience))


def test_import_keeps_the_context_and_tiles_serve_it(tmp_path):
    with Store(tmp_path / "s.db") as store:
        summary = import_osm(store, _osm(tmp_path / "a.osm"), context=True)
        rows = store.query("SELECT kind, class, name FROM context ORDER BY kind")
        tile = _tile(store, 14)
    assert summary.context == {"place": 1, "water": 1, "green": 1, "rail": 1, "road": 1,
                               "removed": 0}
    assert [tuple(r) for r in rows] == [
        ("green", "park", "Puisto"), ("place", "suburb", "Kluuvi"), ("rail", "rail", "Rantarata"),
        ("road", "motorway", None), ("water", "water", "Lampi"),
    ]
    assert {"water", "green", "rail", "roads", "places"} <= set(tile)
    place = tile["places"]["features"][0]["properties"]
    assert place == {"class": "suburb", "name": "Kluuvi", "name:sv": "Gloet"}
    assert tile["rail"]["features"][0]["geometry"]["type"] == "LineString"
    assert tile["water"]["features"][0]["geometry"]["type"] == "Polygon"


def test_rail_waits_for_zoom_12_and_context_starts_at_10(tmp_path):
    with Store(tmp_path / "s.db") as store:
        import_osm(store, _osm(tmp_path / "a.osm"), context=True)
        low, mid = _tile(store, 10), _tile(store, 9)
    assert "rail" not in low and {"water", "roads", "places"} <= set(low)
    assert mid == {}


def test_a_reimport_replaces_the_areas_context(tmp_path):
    with Store(tmp_path / "s.db") as store:
        import_osm(store, _osm(tmp_path / "a.osm"), context=True)
        summary = import_osm(store, _osm(tmp_path / "b.osm", park=False), context=True)
        kinds = [r[0] for r in store.query("SELECT kind FROM context ORDER BY kind")]
        in_tree = store.scalar("SELECT count(*) FROM context_rtree")
    assert summary.context["removed"] == 1
    assert kinds == ["place", "rail", "road", "water"]
    assert in_tree == 4


def test_restricted_context_stays_out_of_public_tiles(tmp_path):
    with Store(tmp_path / "s.db") as store:
        import_osm(store, _osm(tmp_path / "a.osm"), sensitivity="restricted", context=True)
        public, restricted = _tile(store, 14), _tile(store, 14, audience="restricted")
    assert not {"water", "green", "rail", "roads", "places"} & set(public)
    assert {"water", "green", "rail", "roads", "places"} <= set(restricted)


def test_cli_can_leave_the_context_out(tmp_path):
    db = tmp_path / "s.db"
    result = CliRunner().invoke(
        main, ["--db", str(db), "import", "osm", str(_osm(tmp_path / "a.osm")), "--no-context"]
    )
    assert result.exit_code == 0, result.output
    with Store(db, create=False) as store:
        assert store.scalar("SELECT count(*) FROM context") == 0
    result = CliRunner().invoke(main, ["--db", str(db), "import", "osm", str(tmp_path / "a.osm")])
    assert result.exit_code == 0 and "map context: place 1" in result.output
