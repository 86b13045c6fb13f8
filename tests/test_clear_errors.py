"""Crashes turned into one clear line (issue 15, finding 9)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from survatlas.cli import main
from survatlas.errors import InputError
from survatlas.ingest import import_cameras
from survatlas.ingest.layers import import_layer
from survatlas.store import Store
from survatlas.web import create_app

HUGE = "9223372036854775808"  # 2**63: one more than SQLite's largest integer


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cams.csv"
    path.write_text("id,latitude,longitude\nc1,43.73,7.42\n")
    db = tmp_path / "s.db"
    with Store(db) as store:
        import_cameras(store, path)
    return db


@pytest.mark.parametrize("route", [f"/api/devices/{HUGE}", f"/api/devices/{HUGE}/visibility",
                                   f"/api/devices/-{HUGE}", f"/api/devices/1{HUGE}"])
def test_a_huge_id_in_the_api_is_a_422_not_a_500(db, route):
    client = TestClient(create_app(db), raise_server_exceptions=False)
    res = client.get(route)
    assert res.status_code == 422, res.text


@pytest.mark.parametrize("route", [f"/api/tiles/devices/14/{HUGE}/1.mvt",
                                   f"/api/tiles/devices/14/1/{HUGE}.mvt"])
def test_a_huge_tile_number_is_not_a_500(db, route):
    client = TestClient(create_app(db), raise_server_exceptions=False)
    assert client.get(route).status_code in (404, 422)


CLI_WITH_IDS = [
    ["source", "show", HUGE],
    ["source", "add", "--kind", "news", "--title", "t", "--original-of", HUGE],
    ["claim", "list", "--source", HUGE],
    ["claim", "list", "--subject", f"device:{HUGE}"],
    ["claim", "status", HUGE, "disputed"],
    ["claim", "add", "--source", "1", "--subject", f"device:{HUGE}", "--statement", "x"],
    ["evidence", "add", "cams.csv", "--source", HUGE],
    ["claims", "accept", "x.json", "--source", HUGE],
    ["delete", f"device:{HUGE}"],
    ["custody", "log", "--since", HUGE],
    ["custody", "log", "--limit", HUGE],
]


@pytest.mark.parametrize("args", CLI_WITH_IDS, ids=lambda a: " ".join(a[:2]))
def test_a_huge_id_on_the_command_line_is_one_clear_line(db, args):
    res = CliRunner().invoke(main, ["--db", str(db), *args])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and not isinstance(res.exception, OverflowError)
    assert "9223372036854775808" in res.output or "1<=x" in res.output or "ids are" in res.output


def _layer_with(tmp_path, coords):
    doc = {"type": "FeatureCollection", "crs": None, "features": [
        {"type": "Feature", "properties": {"id": "a", "category": "public_space"},
         "geometry": {"type": "Point", "coordinates": [7.42, 43.73]}},
        {"type": "Feature", "properties": {"id": "b", "category": "public_space"},
         "geometry": {"type": "Polygon", "coordinates": [coords]}}]}
    del doc["crs"]
    path = tmp_path / "sites.geojson"
    path.write_text(json.dumps(doc))  # json writes NaN and Infinity as JavaScript does
    return path


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_nan_or_infinite_vertex_is_refused_and_nothing_is_written(tmp_path, bad):
    ring = [[7.42, 43.73], [7.421, 43.73], [bad, 43.731], [7.42, 43.731], [7.42, 43.73]]
    path = _layer_with(tmp_path, ring)
    db = tmp_path / "s.db"
    with Store(db) as store, pytest.raises(InputError, match=r"sites\.geojson.*(NaN|infinite|outside)"):
        import_layer(store, path, "sites")
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM sites").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM sources").fetchone()[0] == 0


def test_delete_removes_a_record_and_logs_it(db):
    runner = CliRunner()
    res = runner.invoke(main, ["--db", str(db), "delete", "device:1"])
    assert res.exit_code == 0, res.output
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM devices").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM devices_rtree").fetchone()[0] == 0
    entry = conn.execute(
        "SELECT subject, details FROM custody_log WHERE action = 'record.delete'").fetchone()
    assert entry[0] == "device:1" and json.loads(entry[1])["sensitivity"] == "public"
    conn.close()
    again = runner.invoke(main, ["--db", str(db), "delete", "device:1"])
    assert again.exit_code != 0 and "no device with id 1" in again.output
    assert runner.invoke(main, ["--db", str(db), "verify"]).exit_code == 0
    bad = runner.invoke(main, ["--db", str(db), "delete", "person:1"])
    assert bad.exit_code == 2 and "KIND:ID" in bad.output


def test_the_route_method_does_not_name_the_store_file(tmp_path):
    from routing_builders import grid_streets, make_store, write_discs
    from survatlas.routing import load_exposure

    store = make_store(tmp_path, grid_streets(3), [(100, 0, "public")])
    try:
        write_discs(store, {("typical", "detection"): 40.0})
        method = load_exposure(store).method
    finally:
        store.close()
    assert store.path.name not in method and str(tmp_path) not in method
    assert "street_seen coverage results" in method


def _cli(db, *args):
    return CliRunner().invoke(main, ["--db", str(db), *args])


def _one_clear_line(res, words):
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], res.output
    assert "Traceback" not in res.output


def test_a_read_only_store_is_one_line(db, tmp_path, monkeypatch):
    import survatlas.store as store_module

    real = sqlite3.connect

    def read_only(path, *a, **kw):  # the test runs as root: file modes would not stop it
        return real(f"file:{path}?mode=ro", *a, uri=True, **kw)

    monkeypatch.setattr(store_module.sqlite3, "connect", read_only)
    _one_clear_line(_cli(db, "delete", "device:1"), "read-only")


def test_a_full_disk_is_one_line(db, tmp_path, monkeypatch):
    import survatlas.store as store_module

    real = store_module._connect

    def tiny(path):
        conn = real(path)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "disk is full"
        return conn

    monkeypatch.setattr(store_module, "_connect", tiny)
    big = tmp_path / "big.csv"
    big.write_text("id,latitude,longitude,note\n" + "".join(
        f"b{i},43.7{i % 10},7.4{i % 7},{'x' * 400}\n" for i in range(400)))
    _one_clear_line(_cli(db, "import", "cameras", str(big)), "disk")
    assert sqlite3.connect(db).execute("SELECT count(*) FROM devices").fetchone()[0] == 1


def test_a_lock_held_too_long_is_one_line(db, monkeypatch):
    import survatlas.store as store_module

    monkeypatch.setattr(store_module, "LOCK_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        _one_clear_line(_cli(db, "delete", "device:1"), "busy with another survatlas process")
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_deeply_nested_json_is_one_line(db, tmp_path):
    deep = tmp_path / "deep.geojson"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    _one_clear_line(_cli(db, "import", "cameras", str(deep)), "nested too deeply")

