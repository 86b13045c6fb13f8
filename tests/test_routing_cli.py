"""The `survatlas route` and `survatlas exposure` commands."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from routing_builders import X0, Y0, grid_streets, latlon, make_store, write_discs
from survatlas.cli import main
from survatlas.cli import routing as cli_routing
from survatlas.routing import LEVELS, PROFILES

RADII = {("typical", "detection"): 40.0, ("best", "detection"): 20.0}


def _db(tmp, covered: bool):  # type: ignore[no-untyped-def]
    store = make_store(tmp, grid_streets(5), [(200, 0, "public"), (400, 200, "public")])
    if covered:
        write_discs(store, RADII)
    path = store.path
    store.close()
    return path


@pytest.fixture(scope="module")
def bare_db(tmp_path_factory):  # type: ignore[no-untyped-def]
    return _db(tmp_path_factory.mktemp("bare"), covered=False)


@pytest.fixture(scope="module")
def db(tmp_path_factory):  # type: ignore[no-untyped-def]
    return _db(tmp_path_factory.mktemp("covered"), covered=True)


def _run(db, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)


def _ends(db):  # type: ignore[no-untyped-def]
    a, b = latlon(X0, Y0), latlon(X0 + 400, Y0 + 400)
    return f"{a[0]},{a[1]}", f"{b[0]},{b[1]}"


def test_cli_vocabularies_match_the_library() -> None:
    assert cli_routing.LEVELS == LEVELS
    assert set(cli_routing.PROFILES) == set(PROFILES)
    from survatlas.routing.plan import ROUTE_SCENARIOS

    assert cli_routing.ROUTE_SCENARIOS == ROUTE_SCENARIOS


def test_route_without_coverage_says_what_to_run(bare_db) -> None:  # type: ignore[no-untyped-def]
    a, b = _ends(bare_db)
    res = _run(bare_db, "route", "--from", a, "--to", b)
    assert res.exit_code == 2
    assert "run `survatlas coverage` first" in res.output


def test_route_json_table_and_files(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    a, b = _ends(db)
    res = _run(
        db,
        "route",
        "--from",
        a,
        "--to",
        b,
        "--json",
        "--alternatives",
        "2",
        "--out",
        str(tmp_path / "r.gpx"),
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    short, least = data["routes"][0], data["routes"][1]
    assert short["kind"] == "shortest" and least["kind"] == "least-exposed"
    assert short["length_m"] == pytest.approx(800, abs=5)
    assert least["in_view"]["detection"]["metres"] <= short["in_view"]["detection"]["metres"]
    assert least["length_m"] <= 1.25 * short["length_m"] + 0.1
    assert data["scenario"] == "robust" and "λ" in data["method"]
    assert (tmp_path / "r.gpx").exists()
    table = _run(db, "route", "--from", a, "--to", b, "--scenario", "best")
    assert (
        table.exit_code == 0 and "shortest" in table.output and "price of privacy" in table.output
    )
    exp = _run(db, "exposure", str(tmp_path / "r.gpx"), "--json")
    assert exp.exit_code == 0, exp.output
    figures = json.loads(exp.stdout)["tracks"][0]  # the file holds every route; first: shortest
    assert figures["length_m"] == pytest.approx(short["length_m"], abs=1)
    assert figures["in_view"]["detection"]["metres"] == pytest.approx(
        short["in_view"]["detection"]["metres"], abs=1
    )
    assert "matched to streets" in _run(db, "exposure", str(tmp_path / "r.gpx")).output


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--from", "60.1", "--to", "nope"], "must be LAT,LON"),
        (["--from", "100,24", "--to", "60,24"], "must be LAT,LON"),
        (["--from", "10,10", "--to", "10.01,10.01"], "streets cover lat"),
        (["--max-detour", "0.5"], "max detour"),
    ],
)
def test_route_bad_input(db, args: list, match: str) -> None:  # type: ignore[no-untyped-def]
    a, b = _ends(db)
    base = ["--from", a, "--to", b] if "--from" not in args else []
    res = _run(db, "route", *base, *args)
    assert res.exit_code == 2
    assert match in res.output


def test_exposure_bad_file(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.gpx"
    bad.write_text("<gpx><trk>")
    res = _run(db, "exposure", str(bad))
    assert res.exit_code == 2 and "not valid GPX" in res.output


def test_every_track_of_a_gpx_file_is_scored(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 14, finding 5: `exposure` scored only the first track."""
    a, b, c = latlon(X0, Y0), latlon(X0 + 400, Y0), latlon(X0 + 400, Y0 + 400)
    gpx = tmp_path / "two.gpx"
    gpx.write_text(
        '<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
        f'<trk><name>morning</name><trkseg><trkpt lat="{a[0]}" lon="{a[1]}"/>'
        f'<trkpt lat="{b[0]}" lon="{b[1]}"/></trkseg></trk>'
        f'<trk><name>evening</name><trkseg><trkpt lat="{b[0]}" lon="{b[1]}"/>'
        f'<trkpt lat="{c[0]}" lon="{c[1]}"/></trkseg></trk></gpx>'
    )
    res = _run(db, "exposure", str(gpx), "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [t["name"] for t in data["tracks"]] == ["morning", "evening"]
    lengths = [t["length_m"] for t in data["tracks"]]
    assert all(v > 350 for v in lengths)
    assert data["total"]["length_m"] == pytest.approx(sum(lengths), abs=0.2)
    metres = [t["in_view"]["detection"]["metres"] for t in data["tracks"]]
    assert data["total"]["in_view"]["detection"]["metres"] == pytest.approx(sum(metres), abs=0.2)
    cams = {c for t in data["tracks"] for c in t["in_view"]["detection"]["camera_ids"]}
    assert data["total"]["in_view"]["detection"]["cameras"] == len(cams)
    table = _run(db, "exposure", str(gpx)).output
    assert "morning" in table and "evening" in table and "all 2 tracks" in table
