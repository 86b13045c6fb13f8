"""Sample-survey files: counts per sampled unit and audited units, read from CSV."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from survatlas.errors import CorruptFileError, InputError


@dataclass(frozen=True)
class UnitCounts:
    """Counts of devices in sampled units, with each unit's stratum ('' when unstratified)."""

    counts: list[float]
    strata: list[str]


@dataclass(frozen=True)
class AuditRows:
    """Audited units: the survey's count and the expert's, with optional weights and strata."""

    survey: list[float]
    expert: list[float]
    weight: list[float] | None
    stratum: list[str] | None


def read_unit_counts(path: Path) -> UnitCounts:
    """Read a CSV with a ``count`` column (and optionally ``stratum``).

    Examples
    --------
    >>> # units.csv:  count,stratum\\n3,school\\n0,school\\n5,workplace
    >>> # read_unit_counts(Path("units.csv")).counts == [3.0, 0.0, 5.0]
    """
    rows = _rows(path, ("count",))
    return UnitCounts([_num(r, "count", path) for r in rows], [r.get("stratum", "") for r in rows])


def read_audit(path: Path) -> AuditRows:
    """Read a CSV of audited units: ``survey``, ``expert`` and optional ``weight``, ``stratum``."""
    rows = _rows(path, ("survey", "expert"))
    return AuditRows(
        [_num(r, "survey", path) for r in rows],
        [_num(r, "expert", path) for r in rows],
        [_num(r, "weight", path) for r in rows] if "weight" in rows[0] else None,
        [r["stratum"] for r in rows] if "stratum" in rows[0] else None,
    )


def _rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.is_file():
        raise InputError(f"{path.name}: no such file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = [
                {k.strip(): (v or "").strip() for k, v in r.items() if k}
                for r in csv.DictReader(fh)
            ]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CorruptFileError(f"{path.name}: not a UTF-8 CSV file ({exc})") from exc
    if not rows or any(c not in rows[0] for c in required):
        raise CorruptFileError(
            f"{path.name}: needs a header with {', '.join(required)} and data rows"
        )
    return rows


def _num(row: dict[str, str], col: str, path: Path) -> float:
    try:
        return float(row[col])
    except (KeyError, ValueError) as exc:
        raise CorruptFileError(f"{path.name}: {col} {row.get(col)!r} is not a number") from exc
