"""Render the README's publication images: page 1 and 2 of the Helsinki place report and page 1
of the KP profile (PDF → PNG with pdftoppm), into docs/img/.

Usage: python scripts/publication_images.py  (needs poppler-utils; takes a minute or two)
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from click.testing import CliRunner

from survatlas.cli import main

REPO = Path(__file__).resolve().parents[1]
IMG = REPO / "docs" / "img"


def _cli(*args: str) -> None:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if result.exit_code:
        raise SystemExit(result.output)


def _pages(pdf: Path, stem: str, first: int, last: int) -> None:
    subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", str(first), "-l", str(last), str(pdf),
                    str(IMG / stem)], check=True)
    for png in IMG.glob(f"{stem}-0*.png"):  # pdftoppm pads page numbers of long documents
        png.replace(IMG / f"{stem}-{int(png.stem.rsplit('-', 1)[1])}.png")


def main_() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        _cli("--db", str(t / "h.db"), "import", "osm", str(REPO / "data/helsinki-center.osm.pbf"))
        _cli("--db", str(t / "h.db"), "report", "--place", "Rautatientori", "--format", "pdf",
             "--out", str(t / "report.pdf"))
        _pages(t / "report.pdf", "report-rautatientori", 1, 2)
        _cli("--db", str(t / "kp.db"), "import", "case-study", "dprk")
        _cli("--db", str(t / "kp.db"), "profile", "KP", "--format", "pdf", "--out",
             str(t / "kp.pdf"))
        _pages(t / "kp.pdf", "profile-kp", 1, 1)


if __name__ == "__main__":
    main_()
