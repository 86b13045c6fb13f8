"""Capture-history tables: which lists saw each record, aggregated into pattern counts."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from survatlas.errors import CorruptFileError, InputError, InputFileNotFoundError

MAX_LISTS = 12  # 4,095 observable cells; more lists need a different design


@dataclass(frozen=True)
class CaptureTable:
    """Counts of records by capture pattern (which of ``lists`` saw them).

    Attributes
    ----------
    lists : tuple of str
        List (source) names, one column each.
    patterns : numpy.ndarray
        Shape ``(2**J - 1, J)``, every observable 0/1 pattern in a fixed order (the all-zero
        pattern, records seen by no list, is never included: it is the unknown).
    counts : numpy.ndarray
        Records with each pattern (0 where a pattern was not seen).
    """

    lists: tuple[str, ...]
    patterns: np.ndarray
    counts: np.ndarray

    @classmethod
    def from_patterns(
        cls, lists: Sequence[str], patterns: np.ndarray, counts: Sequence[int] | np.ndarray
    ) -> CaptureTable:
        """Build a full table from (possibly partial, possibly repeated) pattern rows.

        Parameters
        ----------
        lists : sequence of str
            List names.
        patterns : array_like
            ``(k, J)`` 0/1 rows; patterns not given count 0, repeated patterns are summed.
        counts : array_like
            ``k`` non-negative whole counts.
        """
        names = _check_names(lists)
        pats = np.asarray(patterns)
        cnts = np.asarray(counts, dtype=float)
        _check_rows(pats, cnts, len(names))
        full = all_patterns(len(names))
        index = {tuple(p): i for i, p in enumerate(full)}
        out = np.zeros(len(full), dtype=np.int64)
        for row, c in zip(pats.astype(int), cnts, strict=True):
            key = tuple(row)
            if not any(key):
                if c > 0:
                    raise InputError(
                        "a row has every list 0 with a positive count: records seen by no list "
                        "cannot be counted; remove that row (it is what is being estimated)"
                    )
                continue
            out[index[key]] += int(c)
        return cls(names, full, out)

    @classmethod
    def from_records(cls, lists: Sequence[str], histories: np.ndarray) -> CaptureTable:
        """Aggregate one 0/1 row per record (``(n, J)``) into pattern counts."""
        h = np.asarray(histories)
        return cls.from_patterns(lists, h, np.ones(len(h), dtype=np.int64))

    @classmethod
    def from_csv(cls, path: str | Path) -> CaptureTable:
        """Read a CSV with one 0/1 column per list and a ``count`` column.

        Patterns not listed count 0. Blank lines and lines starting with ``#`` are ignored.
        """
        rows = _read_csv_rows(Path(path))
        header = [h.strip() for h in rows[0]]
        if "count" not in header:
            raise CorruptFileError(
                f"{path}: no 'count' column; the header must name one 0/1 column per list "
                "and a 'count' column"
            )
        c = header.index("count")
        names = [h for i, h in enumerate(header) if i != c]
        try:
            data = np.array([[float(v) for v in r] for r in rows[1:]], dtype=float)
        except ValueError as exc:
            raise CorruptFileError(f"{path}: every cell must be a number ({exc})") from exc
        if data.ndim != 2 or data.shape[1] != len(header):
            raise CorruptFileError(f"{path}: every row needs {len(header)} values")
        pats = np.delete(data, c, axis=1)
        try:
            return cls.from_patterns(names, pats, data[:, c])
        except InputError as exc:
            raise CorruptFileError(f"{path}: {exc}") from exc

    def to_csv(self, path: str | Path, *, nonzero_only: bool = True) -> None:
        """Write the table in the format :meth:`from_csv` reads."""
        with Path(path).open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow([*self.lists, "count"])
            for p, c in zip(self.patterns, self.counts, strict=True):
                if c or not nonzero_only:
                    w.writerow([*map(int, p), int(c)])

    @property
    def n_lists(self) -> int:
        """Number of lists ``J``."""
        return len(self.lists)

    @property
    def n_observed(self) -> int:
        """Records seen by at least one list."""
        return int(self.counts.sum())

    def list_sizes(self) -> dict[str, int]:
        """Records on each list."""
        return {
            n: int(self.counts[self.patterns[:, j] == 1].sum()) for j, n in enumerate(self.lists)
        }

    def overlap(self, a: int, b: int) -> int:
        """Records seen by both list ``a`` and list ``b`` (column indexes)."""
        both = (self.patterns[:, a] == 1) & (self.patterns[:, b] == 1)
        return int(self.counts[both].sum())

    def pair_overlaps(self) -> dict[str, int]:
        """Overlap of every pair of lists, keyed ``"A:B"``."""
        return {
            f"{self.lists[a]}:{self.lists[b]}": self.overlap(a, b)
            for a, b in itertools.combinations(range(self.n_lists), 2)
        }

    def rows(self) -> list[dict[str, int]]:
        """Non-zero patterns as dictionaries (list name → 0/1, plus ``count``)."""
        return [
            {**{n: int(v) for n, v in zip(self.lists, p, strict=True)}, "count": int(c)}
            for p, c in zip(self.patterns, self.counts, strict=True)
            if c
        ]


PUBLISHED = {
    "kosovo": "kosovo-1999-4lists.csv",
    "uk": "uk-modern-slavery-2013-6lists.csv",
}


def published_table(name: str) -> CaptureTable:
    """A published capture-history table shipped with survatlas (for demos and checks).

    Parameters
    ----------
    name : {"kosovo", "uk"}
        ``kosovo``: Ball et al. (2002), four lists, 4,400 killings observed, published estimate
        about 10,356. ``uk``: Silverman (2014), six lists, 2,744 potential victims of modern
        slavery observed, published estimate 10,000–13,000.
    """
    if name not in PUBLISHED:
        raise InputError(f"no published table {name!r}; choose one of {', '.join(PUBLISHED)}")
    ref = resources.files("survatlas.data").joinpath("estimation", PUBLISHED[name])
    with resources.as_file(ref) as path:
        return CaptureTable.from_csv(path)


def all_patterns(n_lists: int) -> np.ndarray:
    """Every observable 0/1 pattern for ``n_lists`` lists, shape ``(2**J - 1, J)``."""
    grid = np.array(list(itertools.product((0, 1), repeat=n_lists)), dtype=np.int8)
    return grid[1:]


def _check_names(lists: Sequence[str]) -> tuple[str, ...]:
    names = tuple(str(n).strip() for n in lists)
    if len(names) < 2:
        raise InputError(f"capture–recapture needs at least two lists, got {len(names)}")
    if len(names) > MAX_LISTS:
        raise InputError(f"at most {MAX_LISTS} lists are supported, got {len(names)}")
    if len(set(names)) != len(names) or "" in names:
        raise InputError(f"list names must be distinct and non-empty, got {list(names)}")
    return names


def _check_rows(pats: np.ndarray, cnts: np.ndarray, n_lists: int) -> None:
    if pats.ndim != 2 or pats.shape[1] != n_lists or len(pats) != len(cnts):
        raise InputError(
            f"patterns must be a (rows, {n_lists}) array with one count per row; "
            f"got shape {pats.shape} and {len(cnts)} counts"
        )
    if not np.isin(pats, (0, 1)).all():
        raise InputError("capture patterns must contain only 0 and 1")
    if (cnts < 0).any() or (cnts != np.round(cnts)).any():
        raise InputError("counts must be non-negative whole numbers")


def _read_csv_rows(path: Path) -> list[list[str]]:
    if not path.is_file():
        raise InputFileNotFoundError(f"{path}: no such file; give a CSV of capture histories")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.reader(fh) if r and not r[0].lstrip().startswith("#")]
    if len(rows) < 2:
        raise CorruptFileError(f"{path}: needs a header row and at least one data row")
    return rows
