"""Every write through the CLI or the API lands in the custody log, and the store still verifies.

Each step runs one writer and must add custody entries of the expected actions (so removing the
entry from any writer fails here); at the end ``survatlas verify`` must pass, and an entry
removed by an insider must be reported.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from builders import write_csv
from survatlas.cli import main
from survatlas.provenance.integrity import verify_store
from survatlas.provenance.sources import cite_source
from survatlas.store import Store
from survatlas.store.custody import read_entries
from survatlas.supply import add_model

LON, LAT = 24.9400, 60.1700
D = 0.0005  # about 28 m of latitude


def _feature(kind: str, coords: list, props: dict) -> dict:
    return {"type": "Feature", "geometry": {"type": kind, "coordinates": coords},
            "properties": props}


def _layer(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def _box(x: float, y: float, w: float) -> list:
    return [[[x, y], [x + w, y], [x + w, y + w], [x, y + w], [x, y]]]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("writers")
    cameras = write_csv(folder / "cameras.csv", [
        {"latitude": LAT, "longitude": LON, "manufacturer": "Hikvision", "direction": 90},
        {"latitude": LAT + D, "longitude": LON + D, "manufacturer": "Dahua", "direction": 180},
    ])
    streets = _layer(folder / "streets.geojson", [
        _feature("LineString", [[LON - 2 * D, LAT], [LON + 3 * D, LAT]],
                 {"highway": "residential", "name": "Test Street"}),
        _feature("LineString", [[LON + D, LAT - 2 * D], [LON + D, LAT + 3 * D]],
                 {"highway": "footway"}),
    ])
    buildings = _layer(folder / "buildings.geojson", [
        _feature("Polygon", _box(LON + 0.6 * D, LAT + 0.2 * D, 0.3 * D), {"building": "yes"}),
    ])
    sites = _layer(folder / "sites.geojson", [
        _feature("Polygon", _box(LON - D, LAT - D, D), {"amenity": "school", "name": "School"}),
    ])
    header = ("typeCode,freqCode,refPeriodId,refYear,refMonth,period,reporterCode,reporterISO,"
              "reporterDesc,flowCode,flowDesc,partnerCode,partnerISO,partnerDesc,"
              "classificationCode,cmdCode,cmdDesc,qtyUnitAbbr,qty,netWgt,primaryValue\n")
    comtrade = folder / "comtrade.csv"
    comtrade.write_text(header + "C,A,20190101,2019,52,2019,156,CHN,x,X,x,408,PRK,x,H5,852580,"
                        "x,u,100,50,345000\n", "utf-8")
    reviewed = folder / "reviewed.json"
    reviewed.write_text(json.dumps([{
        "accept": True, "kind": "quantity", "text": "about 300 cameras",
        "sentence": "The city installed about 300 cameras in 2020.", "value": 300.0,
        "unit": "cameras", "as_of": "2020",
    }, {"accept": False, "kind": "site", "sentence": "A rejected candidate."}]), "utf-8")
    return {"cameras": cameras, "streets": streets, "buildings": buildings, "sites": sites,
            "comtrade": comtrade, "reviewed": reviewed, "folder": folder}


def _cli(db: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--db", str(db), *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


def _new_actions(db: Path, step) -> list[str]:
    with Store(db) as store:
        before = len(read_entries(store.conn))
    step()
    with Store(db) as store:
        return [e.action for e in read_entries(store.conn)[before:]]


def _submit(db: Path) -> None:
    from survatlas.contribute.moderation import submit_contribution

    with Store(db) as store:
        for n in range(2):
            submit_contribution(store, {"lat": LAT + n * D, "lon": LON - D, "direction": "30"})


def _library_model(db: Path) -> None:
    with Store(db) as store, store.transaction() as conn:
        source = cite_source(conn, title="Datasheet", kind="document", url="https://example.org/ds")
        vendor = conn.execute("SELECT id FROM vendors WHERE key = 'hikvision'").fetchone()[0]
        add_model(conn, vendor, "DS-2CD2143G2-I", source_id=source, focal_mm=2.8,
                  sensor_width_mm=5.37, width_px=2688)


@pytest.fixture(scope="module")
def written(files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run every writer once on one store; keep the custody actions each one added."""
    db = files["folder"] / "all.db"
    f = files
    steps = {
        "import cameras": (lambda: _cli(db, "import", "cameras", f["cameras"]), {"import"}),
        "import streets": (lambda: _cli(db, "import", "layer", f["streets"], "--kind", "streets"),
                           {"import"}),
        "import buildings": (
            lambda: _cli(db, "import", "layer", f["buildings"], "--kind", "buildings"), {"import"}
        ),
        "import sites": (lambda: _cli(db, "import", "layer", f["sites"], "--kind", "sites"),
                         {"import"}),
        "coverage": (lambda: _cli(db, "coverage", "--scenario", "typical", "--level",
                                  "detection", "--cell", "4", "--json"), {"coverage.save"}),
        "case study": (lambda: _cli(db, "import", "case-study", "dprk"),
                       {"import", "source.add", "claim.add", "programme.add", "programme.vendor",
                        "vendor.add", "vendor.restriction", "constraint.add", "comparator.add"}),
        "case study again": (lambda: _cli(db, "import", "case-study", "dprk"), {"import"}),
        "trade import": (lambda: _cli(db, "trade", "import", f["comtrade"]), {"import"}),
        "vendor attribution": (lambda: _cli(db, "vendors", "attribute"), {"vendors.attribute"}),
        "camera model": (lambda: _library_model(db), {"source.add", "model.add"}),
        "source add": (lambda: _cli(db, "source", "add", "--kind", "news", "--title", "Report",
                                    "--url", "https://example.org/report"), {"source.add"}),
        "claims accept": (lambda: _cli(db, "claims", "accept", f["reviewed"], "--source", "1",
                                       "--country", "KP"), {"claim.add"}),
        "claim add": (lambda: _cli(db, "claim", "add", "--source", "1", "--subject", "device:1",
                                   "--statement", "camera seen"), {"claim.add"}),
        "claim status": (lambda: _cli(db, "claim", "status", "1", "disputed"), {"claim.status"}),
        "token": (lambda: _cli(db, "token", "create", "--role", "viewer", "--name", "ana"),
                  {"token.create"}),
        "contributions": (lambda: _submit(db), {"contribution.submit", "source.add"}),
        "contribution accept": (lambda: _cli(db, "contributions", "accept", "1"),
                                {"contribution.accept", "import"}),
        "contribution reject": (lambda: _cli(db, "contributions", "reject", "2", "--reason",
                                             "duplicate"), {"contribution.reject"}),
        "backup": (lambda: _cli(db, "backup", files["folder"] / "backup.db"), {"backup"}),
    }
    added = {name: (_new_actions(db, run), want) for name, (run, want) in steps.items()}
    return {"db": db, "added": added}


def test_every_writer_adds_its_custody_entries(written: dict) -> None:
    for name, (actions, wanted) in written["added"].items():
        assert wanted <= set(actions), f"{name}: custody actions {sorted(set(actions))}"


def test_a_repeated_case_study_import_logs_only_the_import(written: dict) -> None:
    assert written["added"]["case study again"][0] == ["import"]


def test_the_store_verifies_after_every_writer(written: dict) -> None:
    result = CliRunner().invoke(main, ["--db", str(written["db"]), "verify", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] and report["entries"] > 150


def test_custody_entries_hold_counts_not_places(written: dict) -> None:
    with Store(written["db"]) as store:
        saved = [e.to_dict() for e in read_entries(store.conn) if e.action == "coverage.save"]
    assert len(saved) == 1
    details = saved[0]["details"]
    assert details["devices"] == 2 and details["coverage_views"] >= 2
    assert not any(isinstance(v, float) for v in details.values())
    assert str(LAT)[:5] not in json.dumps(details)


def test_a_removed_trade_import_entry_is_reported(written: dict, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    with sqlite3.connect(written["db"]) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    conn = sqlite3.connect(copy, isolation_level=None)
    conn.execute("DROP TRIGGER custody_log_no_delete")
    row = conn.execute(
        "SELECT subject FROM custody_log WHERE action = 'import' AND details LIKE "
        "'%\"command\":\"trade import\"%'"
    ).fetchone()
    conn.execute("DELETE FROM custody_log WHERE subject = ?", row)
    conn.close()
    with Store(copy) as store:
        problems = verify_store(store).problems
    import_id = row[0].split(":")[1]
    assert any(f"imports row {import_id} has no custody entry" in p for p in problems)


def _without_entries(db: Path, folder: Path, where: str) -> list[str]:
    """Copy the store, delete the custody entries matching ``where`` (as an insider with the
    triggers dropped, head kept in step), and return what verify reports."""
    copy = folder / "copy.db"
    with sqlite3.connect(db) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    conn = sqlite3.connect(copy, isolation_level=None)
    conn.execute("DROP TRIGGER custody_log_no_delete")
    conn.execute("DROP TRIGGER custody_head_no_delete")
    conn.execute(f"DELETE FROM custody_log WHERE {where}")
    conn.execute("DELETE FROM custody_head")
    conn.execute("INSERT INTO custody_head SELECT 1, seq, hash FROM custody_log "
                 "ORDER BY seq DESC LIMIT 1")
    conn.close()
    with Store(copy) as store:
        return verify_store(store).problems


def test_removed_supply_and_coverage_entries_are_reported(written: dict, tmp_path: Path) -> None:
    problems = _without_entries(written["db"], tmp_path, "action = 'coverage.save'")
    assert any("coverage run" in p and "no custody entry" in p for p in problems), problems
    problems = _without_entries(written["db"], tmp_path, "subject = 'vendor:1'")
    assert any("vendors row 1 has no custody entry" in p for p in problems), problems
    problems = _without_entries(written["db"], tmp_path, "action = 'programme.add'")
    assert any("programmes row" in p for p in problems), problems


def test_supply_rows_and_runs_older_than_the_extended_log_verify(tmp_path: Path) -> None:
    from survatlas.store._migrations import APPLICATION_ID, _load_all

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    conn.execute("BEGIN")
    for name, fn in _load_all().items():
        if name < "m0600":
            fn(conn)
            conn.execute("INSERT INTO _migrations VALUES (?, '2024-01-01')", (name,))
    conn.execute("INSERT INTO vendors (key, name, kind, model_prefixes, created_at) "
                 "VALUES ('v', 'V', 'manufacturer', '[]', '2024-01-01')")
    conn.execute("INSERT INTO coverage_runs (created_at, settings, summary, crs) "
                 "VALUES ('2024-01-01T00:00:00+00:00', '{}', '{}', '')")
    conn.execute("COMMIT")
    conn.close()
    with Store(path) as store:
        assert [e.action for e in read_entries(store.conn)][-1] == "custody.extend"
        assert verify_store(store).ok, verify_store(store).problems
        store.conn.execute("UPDATE coverage_runs SET created_at = '2999-01-01T00:00:00+00:00'")
        assert not verify_store(store).ok  # a run newer than the log needs its entry


def test_a_removed_contribution_entry_is_reported(written: dict, tmp_path: Path) -> None:
    problems = _without_entries(written["db"], tmp_path, "subject = 'contribution:2' AND "
                                "action = 'contribution.submit'")
    assert any("contributions row 2 has no custody entry" in p for p in problems), problems
