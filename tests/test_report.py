"""`survatlas report`: every figure printed equals the CLI's --json figure for the same store."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from survatlas.cli import main
from survatlas.publish._report_doc import human, interval, pct

BBOX = "24.940,60.1685,24.9475,60.1725"  # around Rautatientori, Helsinki

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, helsinki_pbf: Path) -> Path:
    path = tmp_path_factory.mktemp("report") / "h.db"
    result = CliRunner().invoke(main, ["--db", str(path), "import", "osm", str(helsinki_pbf)])
    assert result.exit_code == 0, result.output
    return path


def _run(db: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def cli_json(db: Path) -> dict:
    return {
        "coverage": json.loads(_run(db, "coverage", "--bbox", BBOX, "--json")),
        "stats": json.loads(_run(db, "stats", "--bbox", BBOX, "--json")),
    }


@pytest.fixture(scope="module")
def report_json(db: Path) -> dict:
    return json.loads(_run(db, "report", "--bbox", BBOX, "--format", "json"))


def _expected_strings(cli: dict) -> list[str]:
    """Every headline figure as the report must print it, formatted from the CLI's JSON."""
    cov, stats = cli["coverage"], cli["stats"]
    out = [str(cov["cameras"]), f"{cov['street_length_m'] / 1000:,.1f} km"]
    for v in cov["intervals"].values():
        out += [interval(v[k]) for k in ("street_in_view_share", "land_in_view_share",
                                         "public_space_in_view_share")]
    out += [pct(stats["completeness"]["direction"])]
    for value, n in stats["devices"]["by_device_type"].items():
        out += [human(value), f"{n:,}"]
    return out


def test_report_figures_equal_cli_json(cli_json: dict, report_json: dict) -> None:
    assert report_json["coverage"] == cli_json["coverage"]
    assert report_json["stats"] == cli_json["stats"]
    top = report_json["most_watched_sites"]
    assert top and all(a["share"] >= b["share"] for a, b in itertools.pairwise(top))
    assert all(t["low"] <= t["share"] <= t["high"] for t in top)


def test_most_watched_sites_are_the_cli_site_ranking(db: Path, cli_json: dict,
                                                     report_json: dict) -> None:
    """One ranking: the report's most-watched sites are `survatlas sites --json` (the stored run
    of the same area), in the same order with the same shares, over the sites in view."""
    ranking = json.loads(_run(db, "sites", "--level", "detection", "--limit", "1000", "--json"))
    seen = [s for s in ranking["sites"] if s["share"]]
    top = report_json["most_watched_sites"]
    assert top and len(top) == min(len(seen), len(top))
    assert [t["site_id"] for t in top] == [s["site_id"] for s in seen[:len(top)]]
    for t, s in zip(top, seen, strict=False):
        for key in ("share", "low", "high"):
            assert t[key] == pytest.approx(s[key], abs=1e-4), (t["site_id"], key)
        assert t["cameras"] == s["cameras"] and t["category"] == s["category"]


def test_html_report_prints_the_cli_figures(db: Path, cli_json: dict, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    _run(db, "report", "--bbox", BBOX, "--format", "html", "--out", str(out))
    page = out.read_text("utf-8")
    for text in _expected_strings(cli_json):
        assert text.replace("–", "–") in page, text
    assert "<svg" not in page.split("<body>")[1].split("<figure")[0]  # figures are images
    assert page.count('<img src="data:image/svg+xml;base64,') >= 3
    assert "© OpenStreetMap contributors" in page and "(missing)" not in page
    assert "http" not in page.split("<body>")[1].replace("https://www.openstreetmap.org/copyright", "")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_pdf_report_pages_and_figures(db: Path, cli_json: dict, tmp_path: Path) -> None:
    out = tmp_path / "r.pdf"
    _run(db, "report", "--bbox", BBOX, "--format", "pdf", "--out", str(out))
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True)
    pages = int(next(line.split()[-1] for line in info.stdout.splitlines() if line.startswith("Pages")))
    assert 2 <= pages <= 8
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = " ".join(text.split())
    for s in _expected_strings(cli_json):
        assert s in flat, s
    assert "Key findings" in flat and "Method, assumptions and sources" in flat
    from browser_support import ARTIFACTS  # every page as a PNG for a person to look at

    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(out), str(ARTIFACTS / "report-area")],
                   check=True)
    assert len(list(ARTIFACTS.glob("report-area-*.png"))) >= pages


def test_markdown_report_writes_its_figures(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.md"
    _run(db, "report", "--bbox", BBOX, "--format", "md", "--out", str(out))
    md = out.read_text("utf-8")
    assert md.startswith("# Camera coverage of an area")
    images = [line.split("](")[1].rstrip(")") for line in md.splitlines() if line.startswith("![")]
    assert images and all((tmp_path / i).is_file() for i in images)


def test_report_errors_are_one_line(db: Path) -> None:
    runner = CliRunner()
    none = runner.invoke(main, ["--db", str(db), "report", "--format", "json"])
    assert none.exit_code == 2 and "give one subject" in none.output
    unknown = runner.invoke(main, ["--db", str(db), "report", "--place", "Atlantis"])
    assert unknown.exit_code == 2 and "no street or site named 'Atlantis'" in unknown.output
    pdf = runner.invoke(main, ["--db", str(db), "report", "--bbox", BBOX, "--format", "pdf"])
    assert pdf.exit_code == 2 and "--out" in pdf.output


def test_route_report_equals_route_json(db: Path, cli_json: dict, tmp_path: Path) -> None:
    # cli_json ran `coverage --bbox`, which saved the run a route needs
    ends = ("--from", "60.1692,24.9412", "--to", "60.1718,24.9468")
    route = json.loads(_run(db, "route", *ends, "--json"))
    route.pop("out")
    report = json.loads(_run(db, "report", *ends, "--format", "json"))
    assert report["route"] == route
    out = tmp_path / "walk.html"
    _run(db, "report", *ends, "--format", "html", "--out", str(out))
    page = out.read_text("utf-8")
    short = route["routes"][0]
    assert f"{short['length_m']:,.0f} m" in page
    assert f"+{route['price_of_privacy']['extra_metres']:,.0f} m" in page
    assert "© OpenStreetMap contributors" in page
