"""How many direction / angle / tilt / height values of real OSM exports survatlas understands.

Usage (from the repository root; ``../shared`` beside the checkout)::

    python benchmarks/tag_coverage.py [DATA_DIR] [--json]

For every camera file in DATA_DIR (default ``../shared/data/cameras``), prints per value family:
key occurrences present, understood as written (clean), understood after a documented repair or
overruled by a higher-precedence key (warned), dropped with a warning, the share understood,
and, side by side, the share a naive reader understands (``float(value)`` in the valid range,
as simple importers do). The figures are copied into docs/tags.md.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping
from pathlib import Path

from survatlas.ingest.tags import COVERAGE_FAMILIES, coverage_report

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DIR = REPO.parent / "shared" / "data" / "cameras"

#: Valid ranges of the naive reader (float(value) must land inside).
NAIVE_RANGES = {
    "direction": (0.0, 360.0),
    "angle": (0.0, 90.0),
    "tilt": (-90.0, 90.0),
    "height": (0.3, 300.0),
}


def load_tag_records(path: Path) -> list[Mapping[str, object]]:
    """Tag mappings of a GeoJSON export (properties, or nested ``tags``) or Overpass JSON."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and "features" in data:
        props = [f.get("properties") or {} for f in data["features"]]
        return [p.get("tags") if isinstance(p.get("tags"), dict) else p for p in props]
    elements = data.get("elements", []) if isinstance(data, dict) else data
    return [e.get("tags") or {} for e in elements]


def naive_share(records: list[Mapping[str, object]], family: str) -> float:
    """Share of present values that ``float()`` reads inside the family's valid range."""
    low, high = NAIVE_RANGES[family]
    present = ok = 0
    for tags in records:
        for key in COVERAGE_FAMILIES[family]:
            if tags.get(key) is None:
                continue
            present += 1
            try:
                value = float(str(tags[key]))
            except ValueError:
                continue
            ok += low <= value <= high
    return ok / present if present else math.nan


def file_report(path: Path) -> dict[str, dict[str, float]]:
    """Coverage of one file, with the naive reader's share added per family."""
    records = load_tag_records(path)
    report = coverage_report(records)
    for family, row in report.items():
        row["share_naive"] = naive_share(records, family)
    report["records"] = {"count": float(len(records))}
    return report


def _pct(x: float) -> str:
    return "   –  " if math.isnan(x) else f"{100 * x:5.1f}%"


def print_table(name: str, report: dict[str, dict[str, float]]) -> None:
    """One small fixed-width table per file."""
    print(f"\n{name}  ({int(report['records']['count'])} records)")
    print(f"  {'family':<10}{'present':>8}{'clean':>7}{'warned':>7}{'dropped':>8}"
          f"{'understood':>11}{'naive':>8}{'ratio':>7}")
    for family in COVERAGE_FAMILIES:
        r = report[family]
        ratio = r["share_understood"] / r["share_naive"] if r["share_naive"] else math.nan
        print(f"  {family:<10}{int(r['present']):>8}{int(r['clean']):>7}{int(r['warned']):>7}"
              f"{int(r['dropped']):>8}{_pct(r['share_understood']):>11}"
              f"{_pct(r['share_naive']):>8}{'' if math.isnan(ratio) else f'{ratio:.2f}x':>7}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args()
    files = sorted([*args.data_dir.glob("*.geojson"), *args.data_dir.glob("*.json")])
    if not files:
        raise SystemExit(f"no .geojson/.json files in {args.data_dir}")
    reports = {f.name: file_report(f) for f in files}
    if args.json:
        clean = {name: {fam: {k: None if math.isnan(v) else v for k, v in row.items()}
                        for fam, row in rep.items()} for name, rep in reports.items()}
        print(json.dumps(clean, indent=1))
        return
    print("Tag coverage: understood = clean + warned (repaired, or overruled by a key of higher "
          "precedence); naive = float(value) inside the valid range.")
    for name, report in reports.items():
        print_table(name, report)


if __name__ == "__main__":
    main()
