"""The ``survatlas estimate`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from survatlas.cli import main

DATA = Path(__file__).parent / "data"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_two_list_json_carries_both_estimators() -> None:
    code, out = _run("estimate", "two-list", "100", "100", "10", "--json")
    assert code == 0
    data = json.loads(out)
    assert round(data["n_hat"], 2) == 926.36
    assert data["alternatives"]["lincoln_petersen"]["n_hat"] == 1000
    assert data["ci_low"] < data["n_hat"] < data["ci_high"]


def test_two_list_table_output() -> None:
    code, out = _run("estimate", "two-list", "100", "100", "10")
    assert code == 0
    assert "Chapman" in out and "926" in out and "Lincoln–Petersen: 1,000" in out


def test_mse_json_on_uk_table() -> None:
    code, out = _run("estimate", "mse", str(DATA / "uk-modern-slavery-2013-6lists.csv"), "--json")
    assert code == 0
    data = json.loads(out)
    for key in ("n_observed", "n_hat", "ci_low", "ci_high", "model", "method", "assumptions"):
        assert key in data
    assert data["n_observed"] == 2744
    assert 10_000 <= data["n_hat"] <= 13_000
    assert data["details"]["spread"]["n_models"] > 1


def test_mse_table_shows_spread_and_warnings() -> None:
    code, out = _run(
        "estimate", "mse", str(DATA / "kosovo-1999-4lists.csv"), "--model", "independence"
    )
    assert code == 0
    assert "Spread:" in out and "Warnings:" in out and "Assumptions:" in out


def test_mse_bad_file_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "h.csv"
    bad.write_text("A,B,C\n1,0,0\n")
    result = CliRunner().invoke(main, ["estimate", "mse", str(bad)])
    assert result.exit_code == 2
    assert "count" in result.output


def _write_survey(path: Path, lon: np.ndarray, lat: np.ndarray) -> None:
    rows = ["latitude,longitude,surveillance:type"]
    rows += [f"{y:.7f},{x:.7f},camera" for x, y in zip(lon, lat, strict=True)]
    path.write_text("\n".join(rows) + "\n")


def test_total_from_store_matches_sources(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    gx, gy = np.meshgrid(np.arange(12), np.arange(10))
    lon = 24.94 + gx.ravel() * 0.001
    lat = 60.17 + gy.ravel() * 0.0006
    names = []
    for name, keep in (("osm.csv", 0.8), ("field.csv", 0.6), ("city.csv", 0.5)):
        kept = rng.random(len(lon)) < keep
        _write_survey(tmp_path / name, lon[kept], lat[kept])
        names.append(name)
    db = tmp_path / "s.db"
    for name in names:
        code, out = _run("--db", str(db), "import", "cameras", str(tmp_path / name))
        assert code == 0, out
    code, out = _run("--db", str(db), "estimate", "total", "--sources", ",".join(names), "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["details"]["matching"]["devices"] == data["n_observed"]
    assert data["ci_low"] <= 120 <= data["ci_high"]
    code, out = _run("--db", str(db), "estimate", "total", "--sources", "1,2", "--json")
    assert json.loads(out)["method"] == "Chapman"
    result = CliRunner().invoke(main, ["--db", str(db), "estimate", "total", "--sources", "1,99"])
    assert result.exit_code == 2 and "no source" in result.output


def test_sample_with_audit(tmp_path: Path) -> None:
    units = tmp_path / "units.csv"
    units.write_text("stratum,count\n" + "".join(f"{'ab'[i % 2]},{i % 4}\n" for i in range(40)))
    audit = tmp_path / "audit.csv"
    audit.write_text("survey,expert\n" + "".join(f"{i % 3},{i % 3 + 1}\n" for i in range(30)))
    code, out = _run(
        "estimate",
        "sample",
        str(units),
        "--population",
        "a=500",
        "--population",
        "b=300",
        "--audit",
        str(audit),
        "--json",
    )
    assert code == 0, out
    data = json.loads(out)
    raw = data["details"]["uncorrected"]["n_hat"]
    assert data["n_hat"] == pytest.approx(raw * data["details"]["ratio_expert_to_survey"])
    assert data["details"]["ratio_expert_to_survey"] == 60 / 30


def test_compose_one_in(tmp_path: Path) -> None:
    code, out = _run(
        "estimate",
        "compose",
        "enrolled / population",
        "--q",
        "population=25.5e6..26.2e6",
        "--q",
        "enrolled=1.1e6..1.5e6:triangular",
        "--source",
        "population=UN WPP 2024",
        "--source",
        "enrolled=report",
        "--assume",
        "everyone enrolled is alive",
        "--json",
    )
    assert code == 0, out
    data = json.loads(out)
    assert 15 < data["details"]["one_in"]["one_in"] < 25
    assert "everyone enrolled is alive" in data["assumptions"]
    result = CliRunner().invoke(main, ["estimate", "compose", "x", "--q", "x=1..a"])
    assert result.exit_code == 2


def test_mse_example_kosovo_and_exclusive_arguments() -> None:
    code, out = _run("estimate", "mse", "--example", "kosovo", "--model", "bic", "--json")
    assert code == 0
    assert json.loads(out)["n_observed"] == 4400
    result = CliRunner().invoke(main, ["estimate", "mse"])
    assert result.exit_code == 2 and "--example" in result.output
