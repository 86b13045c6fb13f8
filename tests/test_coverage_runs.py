"""Coverage runs as records (issue 14, finding 1): every consumer asks for the run covering what
it needs; a partial or single-level run never passes for a full one; stale runs are reported and
a run made with a since-restricted camera is refused for public outputs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from routing_builders import X0, Y0, grid_streets, latlon, make_store
from survatlas.cli import main
from survatlas.coverage import runs
from survatlas.coverage.results import site_coverage_layer, street_coverage_layer
from survatlas.errors import CoverageMissingError, StaleCoverageError
from survatlas.store import Store
from survatlas.web import create_app

CAMERAS = [(200, 0, "public"), (400, 200, "public"), (600, 400, "public"), (0, 600, "public")]


def _run(db, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--db", str(db), *args])


def _lonlat_box(x0: float, y0: float, x1: float, y1: float) -> str:
    (s, w), (n, e) = latlon(X0 + x0, Y0 + y0), latlon(X0 + x1, Y0 + y1)
    return f"{w},{s},{e},{n}"


@pytest.fixture
def db(tmp_path):  # type: ignore[no-untyped-def]
    store = make_store(tmp_path, grid_streets(7), CAMERAS)
    path = store.path
    store.close()
    return path


def _route(db, *extra: str):  # type: ignore[no-untyped-def]
    a, b = latlon(X0 + 100, Y0 + 100), latlon(X0 + 500, Y0 + 500)
    return _run(db, "route", "--from", f"{a[0]},{a[1]}", "--to", f"{b[0]},{b[1]}", "--json", *extra)


def test_a_partial_bbox_run_does_not_poison_a_route_outside_it(db):
    full = _run(db, "coverage", "--json")
    assert full.exit_code == 0, full.output
    before = json.loads(_route(db).stdout)
    seen_before = before["routes"][0]["in_view"]["detection"]["metres"]
    assert seen_before > 0
    part = _run(db, "coverage", "--bbox", _lonlat_box(-20, -20, 150, 150), "--json")
    assert part.exit_code == 0, part.output
    after = _route(db)
    assert after.exit_code != 0  # was: 0 m in view, no warning
    assert "outside the area of the coverage run" in after.stderr
    assert "survatlas coverage" in after.stderr and len(after.stderr.strip().splitlines()) == 1


def test_a_route_inside_a_partial_run_stays_inside_it(db):
    assert _run(db, "coverage", "--bbox", _lonlat_box(-20, -20, 620, 620)).exit_code == 0
    res = _route(db)
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["coverage_run"]["bbox"] is not None
    assert "bbox" in data["method"]


def test_a_single_level_run_never_fills_the_other_levels(db):
    assert _run(db, "coverage", "--level", "identification").exit_code == 0
    data = json.loads(_route(db, "--level", "identification").stdout)
    for route in data["routes"]:
        assert set(route["in_view"]) == {"identification"}  # was: all four, one value
        assert set(route["by_scenario"]["typical"]) == {"identification"}
    res = _route(db)  # minimising detection needs the detection level
    assert res.exit_code != 0
    assert "--level detection" in res.stderr or "level 'detection'" in res.stderr


def test_exports_and_web_ask_for_the_level_and_area_they_need(db):
    assert _run(db, "coverage", "--level", "identification",
                "--bbox", _lonlat_box(-20, -20, 150, 150)).exit_code == 0
    with Store(db) as store:
        with pytest.raises(CoverageMissingError, match="survatlas coverage"):
            street_coverage_layer(store, None)  # the whole store: the run covers a bbox only
        with pytest.raises(CoverageMissingError, match="--level detection"):
            runs.require_run(store, levels=("detection",))
    client = TestClient(create_app(db))
    response = client.get("/api/coverage/summary", params={"level": "detection"})
    assert response.status_code == 404 and "survatlas coverage" in response.json()["detail"]
    assert client.get("/api/sites/ranking", params={"level": "detection"}).status_code == 404


def test_a_changed_input_makes_the_run_stale_everywhere(db):
    assert _run(db, "coverage").exit_code == 0
    client = TestClient(create_app(db))
    assert client.get("/api/coverage/summary").json()["stale"] is False
    with Store(db) as store, store.transaction() as conn:
        conn.execute("UPDATE devices SET range_m = 80 WHERE id = (SELECT min(id) FROM devices)")
    assert client.get("/api/coverage/summary").json()["stale"] is True
    assert client.get("/api/sites/ranking").json()["stale"] is True
    res = _route(db)
    assert res.exit_code == 0
    assert "stale" in res.stderr and "survatlas coverage" in res.stderr
    assert json.loads(res.stdout)["coverage_run"]["stale"] is True


def test_a_camera_restricted_after_the_run_is_never_served_publicly(db):
    assert _run(db, "coverage").exit_code == 0
    with Store(db) as store:
        assert len(site_coverage_layer(store, None)) >= 0
        with store.transaction() as conn:
            conn.execute("UPDATE devices SET sensitivity = 'restricted' "
                         "WHERE id = (SELECT min(id) FROM devices)")
        with pytest.raises(StaleCoverageError, match="survatlas coverage"):
            street_coverage_layer(store, None)
        # a restricted reader may still see results computed with it
        assert len(street_coverage_layer(store, None, audience="restricted")) > 0
    client = TestClient(create_app(db))
    assert client.get("/api/coverage/summary").status_code == 403
    assert client.get("/api/sites/ranking").status_code == 403
    res = _run(db, "export", "--layer", "street-coverage", "--format", "geojson", str(db.parent / "s.geojson"))
    assert res.exit_code != 0 and "survatlas coverage" in (res.stderr + res.stdout)
    # a new run drops the camera and serves again
    assert _run(db, "coverage").exit_code == 0
    assert client.get("/api/coverage/summary").status_code == 200


def test_the_run_records_what_it_covers(db):
    box = _lonlat_box(-20, -20, 620, 620)
    assert _run(db, "coverage", "--bbox", box, "--level", "detection", "--scenario", "worst",
                "--cell", "4").exit_code == 0
    with Store(db) as store:
        run = runs.require_run(store, bbox=runs.ANY_AREA)
    assert run.bbox == pytest.approx(tuple(float(v) for v in box.split(",")))
    assert run.levels == ("detection",) and run.scenarios == ("worst",)
    assert run.cell_m == 4.0 and run.occlusion == "2.5d" and run.audience == "public"
    assert run.fingerprint and not run.stale
    assert "--bbox" in runs.coverage_command(run.bbox, ("detection",), ("worst",))


def test_the_default_run_is_2_5d_and_a_2d_run_is_found_when_asked_for(db):
    assert _run(db, "coverage", "--level", "detection").exit_code == 0
    with Store(db) as store:
        run = runs.require_run(store, bbox=runs.ANY_AREA, occlusion="2.5d")
        assert run.occlusion == "2.5d" and "occlusion 2.5d" in run.describe()
        with pytest.raises(CoverageMissingError, match=r"used occlusion 2\.5d, not 2d.*"
                                                       r"--occlusion 2d`"):
            runs.require_run(store, bbox=runs.ANY_AREA, occlusion="2d")
    assert _route(db).exit_code == 0  # routes read the default run
    assert _run(db, "coverage", "--level", "detection", "--occlusion", "2d").exit_code == 0
    with Store(db) as store:
        run = runs.require_run(store, bbox=runs.ANY_AREA, occlusion="2d")
        assert run.occlusion == "2d" and runs.require_run(store, bbox=runs.ANY_AREA) == run
        with pytest.raises(CoverageMissingError, match=r"not 2\.5d: run `survatlas coverage "
                                                       r"--level detection`"):
            runs.require_run(store, bbox=runs.ANY_AREA, occlusion="2.5d")
        # the command to refresh a 2-D run keeps its model
        assert runs.coverage_command(run.bbox, run.levels, run.scenarios, run.occlusion) \
            .endswith("--occlusion 2d")
    routed = _route(db)
    assert routed.exit_code == 0, routed.output  # and routes read a 2-D run too


def _hashes(monkeypatch) -> list[int]:  # type: ignore[no-untyped-def]
    """Count the times the input rows are read and hashed (the memo of m0130 aside)."""
    calls: list[int] = []
    real = runs._hash_inputs

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(runs, "_hash_inputs", counting)
    return calls


def test_an_unchanged_store_reads_its_fingerprint_back(db, monkeypatch):
    calls = _hashes(monkeypatch)
    assert _run(db, "coverage", "--json").exit_code == 0
    first = len(calls)
    assert first >= 1
    runs._FINGERPRINTS.clear()  # a new process: no in-process memo
    assert _run(db, "coverage", "--json").exit_code == 0
    runs._FINGERPRINTS.clear()
    with Store(db) as store:
        run = runs.require_run(store, bbox=runs.ANY_AREA)
        assert not run.stale
        assert runs.input_fingerprint(store, run.bbox, run.building_bbox) == run.fingerprint
    assert len(calls) == first  # neither the second run nor the reader hashed the rows again


@pytest.mark.parametrize("edit", [
    "UPDATE devices SET range_m = 80 WHERE id = (SELECT min(id) FROM devices)",
    "DELETE FROM devices WHERE id = (SELECT max(id) FROM devices)",
    "UPDATE streets SET walkable = 1 - walkable WHERE id = (SELECT min(id) FROM streets)",
    "UPDATE buildings SET height_m = 99 WHERE id = (SELECT min(id) FROM buildings)",
    "COPY A DEVICE",  # an insert: no trigger, the row count moves
])
def test_any_write_to_an_input_table_is_seen_even_from_another_client(db, monkeypatch, edit):
    import sqlite3

    assert _run(db, "coverage", "--json").exit_code == 0
    runs._FINGERPRINTS.clear()
    with Store(db) as store:
        before = runs.input_state(store)
        remembered = store.conn.execute("SELECT scope, state FROM fingerprint_memo").fetchall()
        assert {r[1] for r in remembered} == {before}  # the inputs' and the obstacles'
        assert sum(r[0].startswith("obstacles:") for r in remembered) == 1 == len(remembered) - 1
    other = sqlite3.connect(db)  # a plain SQLite client, not survatlas
    if edit == "COPY A DEVICE":
        cols = [r[1] for r in other.execute("PRAGMA table_info(devices)") if r[1] != "id"]
        picked = ", ".join(f"'copy:' || {c}" if c == "origin" else c for c in cols)
        edit = (f"INSERT INTO devices ({', '.join(cols)}) SELECT {picked} FROM devices "
                "WHERE id = (SELECT min(id) FROM devices)")
    changed = other.execute(edit).rowcount
    other.commit()
    other.close()
    calls = _hashes(monkeypatch)
    runs._FINGERPRINTS.clear()
    with Store(db) as store:
        assert (runs.input_state(store) != before) == bool(changed)
        run = runs.current_run(store)
        now = runs.input_fingerprint(store, run.bbox, run.building_bbox)
    if changed:
        assert calls == [1]  # hashed again: the remembered fingerprint is of another state
        assert now != run.fingerprint
    else:  # an edit that changed no row (this store has no buildings) keeps the memo valid
        assert calls == [] and now == run.fingerprint
