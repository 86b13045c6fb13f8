"""The CLI: one clear line and a non-zero exit for bad input; --json on every report."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from survatlas.cli import main


def run(*args, db=None):
    argv = (["--db", str(db)] if db else []) + list(args)
    return CliRunner().invoke(main, argv, catch_exceptions=False)


@pytest.fixture(scope="module")
def db(tmp_path_factory, helsinki_pbf):
    path = tmp_path_factory.mktemp("cli") / "s.db"
    result = run("import", "osm", str(helsinki_pbf), "--json", db=path)
    assert result.exit_code == 0, result.output
    return path


def test_import_json_summary(db, helsinki_pbf):
    again = json.loads(run("import", "osm", str(helsinki_pbf), "--json", db=db).output)
    assert again["layers"]["devices"]["added"] == 0
    assert again["layers"]["devices"]["unchanged"] >= 221


def test_stats_json_reports_what_was_imported(db):
    stats = json.loads(run("stats", "--json", db=db).output)
    assert stats["devices"]["surveillance"] == 221
    assert stats["devices"]["by_device_type"]["camera"] == 221
    assert stats["buildings"]["total"] > 400 and stats["streets"]["total"] > 2000
    assert stats["sites_by_category"]["education"] >= 9
    assert 0 <= stats["completeness"]["direction"] <= 1


def test_stats_bbox_narrows_counts(db):
    part = json.loads(run("stats", "--json", "--bbox", "24.940,60.165,24.945,60.170", db=db).output)
    assert 0 < part["devices"]["total"] < 221


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["import", "osm", "missing.osm.pbf"], "no such file"),
        (["stats", "--bbox", "1,2,3"], "four numbers"),
        (["stats", "--bbox", "10,95,11,96"], "latitude"),
    ],
)
def test_errors_are_one_line_and_non_zero(tmp_path, args, needle):
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "s.db"), *args])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert any(needle in line for line in lines), result.output
    assert "Traceback" not in result.output


def test_store_that_is_not_a_store(tmp_path):
    bogus = tmp_path / "x.db"
    bogus.write_text("hello " * 500)
    result = CliRunner().invoke(main, ["--db", str(bogus), "stats"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "not a survatlas store" in result.output


def test_stats_on_missing_store(tmp_path):
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "none.db"), "stats"])
    assert result.exit_code == 2 and "import data first" in result.output


def test_csv_without_coordinates(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("name\nA\n")
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "s.db"), "import", "cameras", str(path)])
    assert result.exit_code == 2 and "no latitude/longitude columns" in result.output


def test_truncated_pbf_via_cli(tmp_path, helsinki_pbf):
    broken = tmp_path / "b.osm.pbf"
    broken.write_bytes(helsinki_pbf.read_bytes()[:200_000])
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "s.db"), "import", "osm", str(broken)])
    assert result.exit_code == 2 and "could not be read" in result.output


def test_export_json(db, tmp_path):
    result = json.loads(run("export", "--layer", "sites", "--format", "gpkg",
                            str(tmp_path / "s.gpkg"), "--json", db=db).output)
    assert result["features"] > 0 and result["files"][0].endswith("s.gpkg")
