"""A layer's attribute columns as tag texts, computed column by column.

An attribute value becomes a tag when it is present (not None, NaN or NaT) as text: whole
floats without their ``.0`` (``3.0`` → ``"3"``, as GDAL reads integer fields with gaps),
lists and dicts (nested GeoJSON properties) as JSON, anything else with ``str``. Each column
is factorised (its distinct values found in C), each distinct value converted once, and every
row refers to its value by code: a row's tags, their JSON text and the values derived from
them (heights, levels) then cost a lookup, not a Python call per value — most of what
importing a large layer cost (docs/benchmarks.md, "GIS layer import").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

_ENCODE = json.encoder.encode_basestring  # what json.dumps(…, ensure_ascii=False) uses for str


@dataclass(frozen=True)
class TextColumn:
    """One tag over the rows of a layer: ``codes[i]`` indexes ``texts``, -1 where absent."""

    key: str
    codes: np.ndarray
    texts: list[str]

    def values(self, convert: Callable[[str], Any] | None = None, absent: Any = None) -> list:
        """Per row, the text (or ``convert(text)``, each distinct text converted once), or
        ``absent``."""
        table = self.texts if convert is None else [convert(t) for t in self.texts]
        return np.array([*table, absent], dtype=object)[self.codes].tolist()

    def fragments(self) -> np.ndarray:
        """Per row, the tag as it appears in the JSON object (``"key": "text"``), or None."""
        key = _ENCODE(self.key)
        table = [f"{key}: {_ENCODE(t)}" for t in self.texts]
        return np.array([*table, None], dtype=object)[self.codes]

    def with_default(self, text: str) -> TextColumn:
        """The column with ``text`` where the tag is absent."""
        if (self.codes >= 0).all():
            return self
        texts = [*self.texts, text] if text not in self.texts else self.texts
        return TextColumn(
            self.key, np.where(self.codes < 0, texts.index(text), self.codes), texts
        )

    def present(self) -> np.ndarray:
        """Rows where the tag is present."""
        return self.codes >= 0


def constant_column(key: str, text: str, n: int) -> TextColumn:
    """A tag with the same text on all ``n`` rows."""
    return TextColumn(key, np.zeros(n, dtype=np.intp), [text])


def text_columns(frame: pd.DataFrame, names: Sequence[str], rows: np.ndarray) -> list[TextColumn]:
    """The columns ``names`` of ``frame``, at positions ``rows``, as tag texts."""
    return [_text_column(str(name), frame[name].iloc[rows]) for name in names]


def _text_column(key: str, series: pd.Series) -> TextColumn:
    try:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    except TypeError:  # unhashable values (lists, dicts): one by one
        values = [tag_text(v) if _present(v) else None for v in series.tolist()]
        codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
        return TextColumn(key, np.asarray(codes, dtype=np.intp), list(uniques))
    texts = [tag_text(v) for v in _python(uniques)]
    # distinct values may share a text (1 and 1.0, "1" and 1): codes stay valid either way
    return TextColumn(key, np.asarray(codes, dtype=np.intp), texts)


def _python(uniques: Any) -> list:
    """Distinct values as Python objects (numpy scalars as int, float, bool …)."""
    return uniques.tolist() if hasattr(uniques, "tolist") else list(uniques)


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value)) and (
        value is not pd.NaT
    )


def tag_text(value: Any) -> str:
    """A present attribute value as tag text."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def tags_json(columns: Sequence[TextColumn], n: int) -> list[str]:
    """Per row, its tags as ``json.dumps(tags, sort_keys=True, ensure_ascii=False)`` gives
    them."""
    if not columns:
        return ["{}"] * n
    ordered = sorted(columns, key=lambda c: c.key)
    frags = [c.fragments() for c in ordered]
    if all(c.present().all() for c in ordered):
        return ["{" + ", ".join(row) + "}" for row in zip(*frags, strict=True)]
    return ["{" + ", ".join(filter(None, row)) + "}" for row in zip(*frags, strict=True)]


def tag_dicts(columns: Sequence[TextColumn], n: int) -> list[dict[str, str]]:
    """Per row, its tags as a dict (for rules that read several tags)."""
    keys = [c.key for c in columns]
    out: list[dict[str, str]] = [{} for _ in range(n)]
    for key, column in zip(keys, columns, strict=True):
        for row, text in zip(out, column.values(), strict=True):
            if text is not None:
                row[key] = text
    return out
