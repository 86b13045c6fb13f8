"""The column-wise layer import gives the rows the row-by-row definition gives (issue 16).

The reference below is the importer as it was (a tags dict, a :class:`Record` and a content
hash per row, :func:`records_chunk`); the column-wise path (:mod:`survatlas.ingest._columns`,
:func:`content_shas`) must give the same columns, byte for byte: a content hash that moved
would make every re-import of an unchanged file count as an update. Also the custody log's
table digest, now hashed a column at a time, against its value-by-value definition.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survatlas.errors import InputError
from survatlas.ingest import import_layer
from survatlas.ingest._columns import tags_json, text_columns
from survatlas.ingest._records import Record, _content_sha, content_shas, records_chunk
from survatlas.ingest._writer import write_records
from survatlas.ingest.layers import _layer_records, _rows
from survatlas.provenance.sources import file_source
from survatlas.store import Store
from survatlas.store.states import _hasher, table_digest

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ------------------------------------------------------------------ the row-by-row reference
def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value)) and (
        value is not pd.NaT)


def _text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def reference_records(frame: gpd.GeoDataFrame, kind: str, name: str, sens: str) -> list[Record]:
    """Every row's records as the importer made them before it worked by column."""
    columns = [c for c in frame.columns if c != frame.geometry.name]
    values = [frame[c].tolist() for c in columns]
    wkbs = shapely.to_wkb(np.asarray(frame.geometry.array, dtype=object)).tolist()
    records = []
    for i, wkb in enumerate(wkbs):
        tags = {c: _text(col[i]) for c, col in zip(columns, values, strict=True)
                if _present(col[i])}
        origin = f"layer:{name}:{tags.get('id', i + 1)}"
        records.extend(_layer_records(kind, origin, wkb, tags, sens))
    return records


# ------------------------------------------------------------------ generated layers
_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)
_MAYBE_TEXT = st.one_of(st.none(), _TEXT, st.sampled_from(["yes", "roof", "no", "carport",
                                                          'a "quoted" name', "Straße", "12 m"]))
_MAYBE_FLOAT = st.one_of(st.just(float("nan")), st.floats(-1e6, 1e6, allow_nan=False),
                         st.sampled_from([3.0, 12.5, -0.0, 1e20]))


@st.composite
def layers(draw: Any, kind: str) -> gpd.GeoDataFrame:
    n = draw(st.integers(1, 12))
    data: dict[str, list] = {}
    if draw(st.booleans()):
        data["height"] = draw(st.lists(_MAYBE_FLOAT, min_size=n, max_size=n))
    if draw(st.booleans()):
        data["building:levels"] = draw(st.lists(st.sampled_from([2.0, 3.0, float("nan"), 4.5]),
                                                min_size=n, max_size=n))
    if draw(st.booleans()):
        data["levels"] = draw(st.lists(st.one_of(st.none(), st.sampled_from(["2", "x", "3 fl"])),
                                       min_size=n, max_size=n))
    for key in ("building", "name", "highway", "foot", "access", "min_height"):
        if draw(st.booleans()):
            data[key] = draw(st.lists(_MAYBE_TEXT, min_size=n, max_size=n))
    if draw(st.booleans()):
        data["id"] = draw(st.lists(st.one_of(st.none(), st.integers(-5, 5), _TEXT),
                                   min_size=n, max_size=n, unique_by=str))
    if draw(st.booleans()):
        data["count"] = draw(st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n))
    if draw(st.booleans()):
        data["flag"] = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if draw(st.booleans()):
        data["nested"] = draw(st.lists(st.one_of(st.none(), st.dictionaries(_TEXT, _TEXT,
                                                                            max_size=2)),
                                       min_size=n, max_size=n))
    if draw(st.booleans()):
        data["sensitivity"] = draw(st.lists(st.sampled_from([None, "public", "restricted"]),
                                            min_size=n, max_size=n))
    x = np.arange(n) * 0.001 + 7.4
    if kind == "buildings":
        geoms = shapely.box(x, 43.7, x + 0.0005, 43.7005)
    else:
        geoms = shapely.linestrings([[(a, 43.7), (a + 0.0005, 43.7005)] for a in x])
    return gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:4326")


def _as_reference(columns: list[list]) -> list[list]:
    return [[bytes(v) if isinstance(v, bytearray) else v for v in col] for col in columns]


def _nan_as_text(columns: list[list]) -> list[list]:
    """NaN values as a marker: two NaN objects never compare equal in a list."""
    return [["NaN" if isinstance(v, float) and math.isnan(v) else v for v in col]
            for col in columns]


@pytest.mark.parametrize("kind", ["buildings", "streets"])
@SETTINGS
@given(data=st.data())
def test_column_wise_rows_equal_the_row_by_row_records(kind, data):
    frame = data.draw(layers(kind))
    chunk, errors = _rows(frame, kind, Path("city.geojson"), "restricted")
    assert errors == []
    expected = records_chunk(kind, reference_records(frame, kind, "city.geojson", "restricted"))
    assert _nan_as_text(_as_reference(chunk.columns)) == _nan_as_text(expected.columns)
    np.testing.assert_array_equal(chunk.bounds, expected.bounds)


def _stored(db: Path, kind: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    rows = conn.execute(f"SELECT * FROM {kind} ORDER BY id").fetchall()
    rows += conn.execute(f"SELECT * FROM {kind}_rtree ORDER BY id").fetchall()
    conn.close()
    return rows


@pytest.mark.parametrize("kind", ["buildings", "streets"])
def test_an_imported_file_stores_the_rows_of_the_record_writer(tmp_path, kind):
    """End to end, through GDAL: the same stored rows (and R*Tree) as writing the reference
    records, and a second import of the file changes nothing."""
    rng = np.random.default_rng(5)
    n = 300
    x = 13.4 + rng.random(n) * 0.05
    y = 52.5 + rng.random(n) * 0.05
    geoms = (shapely.box(x, y, x + 1e-4, y + 1e-4) if kind == "buildings"
             else shapely.linestrings(np.stack([np.c_[x, y], np.c_[x + 1e-4, y]], axis=1)))
    frame = gpd.GeoDataFrame({
        "height": np.where(rng.random(n) < 0.3, np.nan, np.round(rng.uniform(3, 40, n), 1)),
        "building:levels": rng.integers(1, 9, n),
        "name": np.where(rng.random(n) < 0.5, None, "Haus " + np.arange(n).astype(str)),
        "highway": rng.choice(["residential", "footway", "motorway"], n),
        "access": np.where(rng.random(n) < 0.2, "private", None),
    }, geometry=geoms, crs="EPSG:4326")
    path = tmp_path / "layer.geojson"
    frame.to_file(path, driver="GeoJSON")
    with Store(tmp_path / "a.db") as store:
        summary = import_layer(store, path, kind)
        again = import_layer(store, path, kind)
    assert summary.layers[kind].added == n
    assert again.layers[kind].unchanged == n and again.changed == 0
    read = gpd.read_file(path)
    with Store(tmp_path / "b.db") as store, store.transaction() as conn:
        sid = file_source(conn, kind="dataset", title=path.name, uri=path.name, sha256="x",
                          retrieved_at="2026-01-01T00:00:00+00:00", sensitivity="public")
        write_records(conn, kind, sid, reference_records(read, kind, path.name, "public"))
    assert _stored(tmp_path / "a.db", kind) == _stored(tmp_path / "b.db", kind)


def test_a_nan_vertex_is_named_by_its_row(tmp_path):
    frame = gpd.GeoDataFrame(
        {"name": ["a", "b"]},
        geometry=[shapely.box(7.4, 43.7, 7.41, 43.71),
                  shapely.Polygon([(7.4, 43.7), (7.41, 43.7), (7.41, math.inf), (7.4, 43.7)])],
        crs="EPSG:4326")
    chunk, errors = _rows(frame, "buildings", Path("x.geojson"), "public")
    assert errors == ["row 2: a NaN or infinite coordinate"]
    assert len(chunk) == 1
    path = tmp_path / "x.geojson"
    path.write_text(frame.to_json())
    with Store(tmp_path / "s.db") as store, pytest.raises(InputError, match="row 2: a NaN"):
        import_layer(store, path, "buildings")


# ------------------------------------------------------------------ the pieces
_VALUE = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True),
                   _TEXT, st.sampled_from([1, 1.0, True, 0, 0.0, False, -0.0]))


@SETTINGS
@given(rows=st.lists(st.fixed_dictionaries({"a": _VALUE, "b": _VALUE, "walkable": _VALUE}),
                     min_size=1, max_size=20), tags=st.lists(_TEXT, min_size=20, max_size=20))
def test_content_shas_equal_the_per_record_hash(rows, tags):
    geoms = [bytes([k]) * 5 for k in range(len(rows))]
    tags = tags[: len(rows)]
    values = {k: [r[k] for r in rows] for k in rows[0]}
    expected = [_content_sha(Record(f"layer:x:{k}", g, r, {}), t)
                for k, (g, t, r) in enumerate(zip(geoms, tags, rows, strict=True))]
    assert content_shas(geoms, tags, values) == expected


@SETTINGS
@given(rows=st.lists(st.dictionaries(
    st.sampled_from(["b", "a", "é", 'q"uote', "z:key", "A"]), _TEXT), min_size=1, max_size=10))
def test_tags_json_equals_json_dumps(rows):
    keys = sorted({k for r in rows for k in r})
    frame = pd.DataFrame({k: [r.get(k) for r in rows] for k in keys}, dtype=object)
    columns = text_columns(frame, keys, np.arange(len(rows)))
    expected = [json.dumps(r, sort_keys=True, ensure_ascii=False) for r in rows]
    assert tags_json(columns, len(rows)) == expected


def _reference_digest(conn: sqlite3.Connection, table: str) -> str:
    mac, mark = _hasher(None, b"survatlas-map-table-v1")
    for row in conn.execute(f"SELECT id, origin, source_id, sensitivity, geom FROM {table} "
                            "ORDER BY id"):
        for value in row:
            data = value if isinstance(value, bytes) else str(value).encode()
            mac.update(len(data).to_bytes(8, "big") + data)
    return mark + mac.hexdigest()


_CELL = st.one_of(st.none(), st.integers(-(2**62), 2**62), st.floats(allow_nan=False),
                  _TEXT, st.binary(max_size=40))


@SETTINGS
@given(rows=st.lists(st.tuples(_CELL, _CELL, _CELL, _CELL), max_size=30),
       plain=st.booleans())
def test_table_digest_equals_the_value_by_value_hash(rows, plain):
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row  # as the store's connection
    conn.execute("CREATE TABLE sites (id INTEGER PRIMARY KEY, origin, source_id, sensitivity, "
                 "geom)")
    if plain:  # one type per column, as in a store: the column-at-a-time path
        rows = [(f"o{k}", k % 3, "public", hashlib.sha1(bytes([k])).digest())
                for k in range(len(rows))]
    conn.executemany("INSERT INTO sites (origin, source_id, sensitivity, geom) "
                     "VALUES (?, ?, ?, ?)", rows)
    assert table_digest(conn, "sites", None) == _reference_digest(conn, "sites")
