"""A user's comparator table (CSV) for the country profile, checked row by row."""

from __future__ import annotations

import csv
from pathlib import Path

from survatlas.errors import CorruptFileError, InputError, InputFileNotFoundError
from survatlas.vocab import CONFIDENCES

COMPARATOR_COLUMNS = ("place", "metric", "value", "year", "method", "source_title")


def read_comparators_csv(path: Path) -> list[dict[str, str]]:
    """Read a user comparator table; every row needs place, metric, value, year, method and a
    source (``source_title``, optional ``source_url``, ``country``, ``confidence``)."""
    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError(f"no comparator file {path}")
    rows = list(csv.DictReader(path.read_text("utf-8-sig").splitlines()))
    for i, row in enumerate(rows, start=2):
        missing = [c for c in COMPARATOR_COLUMNS if not (row.get(c) or "").strip()]
        if missing:
            raise CorruptFileError(
                f"{path.name} line {i}: missing {', '.join(missing)}; every comparator needs "
                f"{', '.join(COMPARATOR_COLUMNS)}"
            )
        try:
            float(row["value"])
        except ValueError as exc:
            raise CorruptFileError(
                f"{path.name} line {i}: value {row['value']!r} is not a number"
            ) from exc
        if row.get("confidence") and row["confidence"] not in CONFIDENCES:
            raise InputError(f"{path.name} line {i}: confidence must be high, medium or low")
    return rows
