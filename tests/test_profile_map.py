"""The devices map of a country profile: drawn from the store (no network) when the profile's
area holds devices, in Markdown, HTML and PDF from the one section model; the KP profile with
its map still fits ten A4 pages with every citation."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from survatlas.cli import main
from survatlas.ingest import import_cameras
from survatlas.publish._profile_map import device_points, profile_device_map
from survatlas.publish.profile import country_profile, render_profile
from survatlas.store import Store
from survatlas.supply import attribute_devices
from survatlas.supply.case_studies import import_case_study

PYONGYANG = (125.70, 38.98, 125.80, 39.06)
BBOX = ",".join(map(str, PYONGYANG))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kp")
    cams = folder / "cams.csv"
    rows = ["latitude,longitude,manufacturer"]
    makers = ["HIKVISION", "Dahua", "", "HIKVISION", "Uniview"]
    for i in range(25):
        rows.append(f"{39.00 + 0.0023 * i:.4f},{125.72 + 0.0029 * (i % 9):.4f},{makers[i % 5]}")
    rows.append("50.0,10.0,HIKVISION")  # outside the area
    cams.write_text("\n".join(rows) + "\n", encoding="utf-8")
    path = folder / "kp.db"
    with Store(path) as store:
        import_case_study(store, "dprk")
        import_cameras(store, cams)
        attribute_devices(store)
    return path


def test_the_map_shows_the_profiles_devices(db: Path) -> None:
    with Store(db, create=False) as store:
        profile = country_profile(store, "KP", bbox=PYONGYANG)
        lon, _lat, vendors = device_points(store, PYONGYANG)
        figure = profile_device_map(store, profile)
        assert profile_device_map(store, country_profile(store, "KP")) is None  # no area
    assert len(lon) == profile["devices"]["total"] == 25
    assert vendors.count("not attributed") == 5
    svg = figure.data.decode("utf-8")
    assert "© OpenStreetMap contributors" in svg and "Hikvision (10)" in svg
    assert "25 mapped devices" in figure.caption


def test_html_and_markdown_carry_the_map(db: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    html = runner.invoke(main, ["--db", str(db), "profile", "KP", "--bbox", BBOX,
                                "--format", "html"])
    assert html.exit_code == 0, html.output
    assert "Map of the mapped devices coloured by vendor" in html.stdout
    md = tmp_path / "kp.md"
    done = runner.invoke(main, ["--db", str(db), "profile", "KP", "--bbox", BBOX,
                                "--format", "md", "--out", str(md)])
    assert done.exit_code == 0, done.output
    assert "](kp_files/devices-map.svg)" in md.read_text("utf-8")
    assert (tmp_path / "kp_files" / "devices-map.svg").is_file()


def _pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "A4" in info
    return int(next(x.split()[-1] for x in info.splitlines() if x.startswith("Pages")))


def test_kp_pdf_with_the_map_costs_no_page_and_keeps_every_citation(db: Path,
                                                                    tmp_path: Path) -> None:
    """The map replaces the vendor bar chart and costs no page. (The KP case study alone fits
    10 pages, tests/test_profile.py; an area of devices adds its source and the vendors' device
    counts, and takes 11 pages with or without the map.)"""
    if shutil.which("pdftotext") is None:
        pytest.fail("poppler-utils (pdftotext) is needed: make test installs it")
    pdf, without = tmp_path / "kp.pdf", tmp_path / "kp-chart.pdf"
    with Store(db, create=False) as store:
        profile = country_profile(store, "KP", bbox=PYONGYANG)
        pdf.write_bytes(render_profile(profile, "pdf",
                                       device_map=profile_device_map(store, profile)))
    without.write_bytes(render_profile(profile, "pdf"))
    pages = _pdf_pages(pdf)
    assert 3 <= pages <= _pdf_pages(without) <= 11
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    for source in profile["sources"]:
        assert f"[{source['ref']}]" in text, source["ref"]
    assert "25 mapped devices" in text
    _keep_pages(pdf, "profile-kp-devices")


def _keep_pages(pdf: Path, stem: str) -> None:
    """Every page as a PNG test artifact (artifacts/, git-ignored) for a person to look at."""
    from browser_support import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(ARTIFACTS / stem)], check=True)
    assert list(ARTIFACTS.glob(f"{stem}-*.png"))
