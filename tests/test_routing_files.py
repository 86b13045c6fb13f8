"""Route files: GPX and GeoJSON reading (good and bad input), writing, and measuring a route."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from routing_builders import disc_exposure, grid_streets
from survatlas.errors import CorruptFileError, InputError, InputFileNotFoundError, RoutingError
from survatlas.routing import (
    network_from_streets,
    plan_route,
    read_route_file,
    route_exposure,
    write_route_file,
)

GPX11 = """<?xml version="1.0"?>
<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">
<trk><name>a</name><trkseg><trkpt lat="60.1" lon="24.9"/><trkpt lat="60.2" lon="24.8"/></trkseg>
<trkseg><trkpt lat="60.3" lon="24.7"/></trkseg></trk></gpx>"""
GPX10_RTE = """<gpx version="1.0" xmlns="http://www.topografix.com/GPX/1/0">
<rte><rtept lat="1.5" lon="2.5"/><rtept lat="1.6" lon="2.6"/></rte></gpx>"""


def _write(tmp_path, name: str, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(text)
    return path


def test_gpx_reads_the_first_track_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    two = GPX11.replace(
        "</trk></gpx>", "</trk><trk><trkseg><trkpt lat='1' lon='1'/></trkseg></trk></gpx>"
    )
    assert read_route_file(_write(tmp_path, "t.gpx", two))[-1] == (60.3, 24.7)


def test_gpx_tracks_and_routes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert read_route_file(_write(tmp_path, "a.gpx", GPX11)) == [
        (60.1, 24.9),
        (60.2, 24.8),
        (60.3, 24.7),
    ]
    assert read_route_file(_write(tmp_path, "b.gpx", GPX10_RTE)) == [(1.5, 2.5), (1.6, 2.6)]


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("<gpx><trk><trkseg><trkpt lat='1' lon='2'>", CorruptFileError, "not valid"),
        ("<kml/>", CorruptFileError, "not <gpx>"),
        (
            "<gpx><trk><trkseg><trkpt lat='x' lon='2'/></trkseg></trk></gpx>",
            CorruptFileError,
            "trkpt #1",
        ),
        (
            "<gpx><trk><trkseg><trkpt lat='91' lon='2'/><trkpt lat='1' lon='2'/></trkseg></trk></gpx>",
            CorruptFileError,
            "WGS 84",
        ),
        ("<gpx><wpt lat='1' lon='2'/></gpx>", InputError, "no track points"),
        (
            "<gpx><trk><trkseg><trkpt lat='1' lon='2'/></trkseg></trk></gpx>",
            InputError,
            "at least two",
        ),
        (
            "<gpx><trk><trkseg><trkpt lat='1' lon='2'/><trkpt lat='1' lon='2'/></trkseg></trk></gpx>",
            InputError,
            "at least two",
        ),
    ],
)
def test_bad_gpx_is_a_clear_error(tmp_path, text: str, error: type, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        read_route_file(_write(tmp_path, "r.gpx", text))


def test_geojson_shapes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    line = {"type": "LineString", "coordinates": [[24.9, 60.1], [24.8, 60.2, 5.0]]}
    fc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {}, "geometry": line}],
    }
    multi = {"type": "MultiLineString", "coordinates": [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]}
    pts = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [i, 10]}}
            for i in range(3)
        ],
    }
    assert read_route_file(_write(tmp_path, "a.geojson", json.dumps(fc))) == [
        (60.1, 24.9),
        (60.2, 24.8),
    ]
    assert read_route_file(_write(tmp_path, "b.json", json.dumps(multi)))[2] == (6, 5)
    assert read_route_file(_write(tmp_path, "c.geojson", json.dumps(pts))) == [
        (10, 0),
        (10, 1),
        (10, 2),
    ]


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("{not json", CorruptFileError, "not valid GeoJSON"),
        (
            '{"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]}',
            InputError,
            "no LineString",
        ),
        ('{"type": "LineString", "coordinates": [["a", 1], [2, 3]]}', CorruptFileError, "numbers"),
        ('{"type": "LineString", "coordinates": [[1, 2]]}', InputError, "at least two"),
        ("[1, 2]", InputError, "no LineString"),
    ],
)
def test_bad_geojson_is_a_clear_error(tmp_path, text: str, error: type, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        read_route_file(_write(tmp_path, "r.geojson", text))


def test_missing_file_and_unknown_format(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputFileNotFoundError):
        read_route_file(tmp_path / "nope.gpx")
    with pytest.raises(InputError, match=r"\.gpx or \.geojson"):
        read_route_file(_write(tmp_path, "r.kml", "<kml/>"))


@pytest.fixture(scope="module")
def plan_and_net():  # type: ignore[no-untyped-def]
    streets = grid_streets(6, seed=3)
    net = network_from_streets(
        streets, disc_exposure(streets, [(1, 250, 200, 60), (2, 100, 400, 40)])
    )
    xy = net.graph.node_xy
    plan = plan_route(
        net, net.to_latlon(xy.min(axis=0)), net.to_latlon(xy.max(axis=0)), alternatives=2
    )
    return plan, net


@pytest.mark.parametrize("suffix", [".gpx", ".geojson"])
def test_a_written_route_measures_the_same(tmp_path, plan_and_net, suffix: str) -> None:  # type: ignore[no-untyped-def]
    plan, net = plan_and_net
    path = write_route_file(
        tmp_path / f"r{suffix}", [plan.shortest], method=plan.method, attribution="© OSM"
    )
    got = route_exposure(net, read_route_file(path))
    assert got.route.length_m == pytest.approx(plan.shortest.length_m, abs=0.5)
    for level in ("identification", "detection"):
        assert got.route.seen(level).metres == pytest.approx(
            plan.shortest.seen(level).metres, abs=0.5
        )
        assert got.route.seen(level).cameras == plan.shortest.seen(level).cameras
    assert got.off_network_m == 0 and got.unmatched_points == 0


def test_written_files_are_valid(tmp_path, plan_and_net) -> None:  # type: ignore[no-untyped-def]
    plan, _ = plan_and_net
    gj = json.loads(
        write_route_file(
            tmp_path / "r.geojson", plan.routes, method="m", attribution="© OSM"
        ).read_text()
    )
    kinds = [f["properties"]["feature"] for f in gj["features"]]
    assert kinds.count("route") == len(plan.routes)
    assert kinds.count("in_view") == sum(len(r.stretches) for r in plan.routes)
    assert gj["attribution"] == "© OSM"
    web = plan.to_geojson()
    assert len(web["features"]) == len(gj["features"]) and "OpenStreetMap" in web["attribution"]
    root = ET.parse(
        write_route_file(tmp_path / "r.gpx", plan.routes, method="m", attribution="© OSM")
    ).getroot()
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    assert root.get("version") == "1.1"
    assert len(root.findall("g:trk", ns)) == len(plan.routes)
    assert root.find("g:metadata/g:copyright", ns).get("author") == "© OSM"


def test_route_far_from_the_streets_is_an_error(plan_and_net) -> None:  # type: ignore[no-untyped-def]
    _, net = plan_and_net
    with pytest.raises(RoutingError, match="no part of the route"):
        route_exposure(net, [(10.0, 10.0), (10.01, 10.01)])
    with pytest.raises(InputError, match="at least two"):
        route_exposure(net, [(60.2, 24.9), (60.2, 24.9)])
