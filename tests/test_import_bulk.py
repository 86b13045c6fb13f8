"""Bulk write paths of the importer: packed R*Tree, WKB bounds, deferred indexes, duplicates."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from import_helpers import site_record
from survatlas.ingest._records import Record
from survatlas.ingest._rtree import bulk_load, rtree_boxes
from survatlas.ingest._wkb import wkb_bounds
from survatlas.ingest._writer import write_layer
from survatlas.store import Store

coord = st.floats(-179, 179, allow_nan=False, allow_infinity=False)
size = st.floats(0, 2, allow_nan=False, allow_infinity=False)


def _make_rtree(conn: sqlite3.Connection, name: str) -> None:
    conn.execute(f"CREATE VIRTUAL TABLE {name} USING rtree(id, min_x, max_x, min_y, max_y)")


def _ids_in(conn: sqlite3.Connection, name: str, box: tuple[float, ...]) -> list[int]:
    w, s, e, n = box
    sql = f"SELECT id FROM {name} WHERE max_x >= ? AND min_x <= ? AND max_y >= ? AND min_y <= ?"
    return sorted(r[0] for r in conn.execute(sql, (w, e, s, n)))


@settings(max_examples=30, deadline=None)
@given(
    boxes=st.lists(st.tuples(coord, coord, size, size), max_size=400),
    query=st.tuples(coord, coord, st.floats(0, 90), st.floats(0, 90)),
)
def test_packed_rtree_is_valid_and_answers_like_row_by_row_inserts(boxes, query):
    conn = sqlite3.connect(":memory:", isolation_level=None)
    _make_rtree(conn, "packed")
    _make_rtree(conn, "plain")
    b = np.array([(x, y, x + w, y + h) for x, y, w, h in boxes], dtype=float).reshape(-1, 4)
    ids = np.arange(1, len(b) + 1, dtype=np.int64) * 7
    conn.execute("BEGIN")
    assert bulk_load(conn, "packed", ids, rtree_boxes(b))
    conn.execute("COMMIT")
    conn.executemany("INSERT INTO plain VALUES (?, ?, ?, ?, ?)",
                     [(int(i), x0, x1, y0, y1) for i, (x0, y0, x1, y1) in zip(ids, b, strict=True)])
    assert conn.execute("SELECT rtreecheck('packed')").fetchone()[0] == "ok"
    assert conn.execute("SELECT * FROM packed ORDER BY id").fetchall() == conn.execute(
        "SELECT * FROM plain ORDER BY id").fetchall()  # the same 32-bit boxes, rounded outwards
    x, y, w, h = query
    assert _ids_in(conn, "packed", (x, y, x + w, y + h)) == _ids_in(conn, "plain", (x, y, x + w, y + h))
    # the module keeps working on the packed tree: inserts, updates, deletes
    conn.executemany("INSERT INTO packed VALUES (?, ?, ?, ?, ?)",
                     [(10_000 + k, k, k + 1, -k, 1 - k) for k in range(60)])
    conn.execute("DELETE FROM packed WHERE id % 2 = 0")
    conn.execute("UPDATE packed SET min_x = min_x - 1 WHERE id % 3 = 0")
    assert conn.execute("SELECT rtreecheck('packed')").fetchone()[0] == "ok"


def test_packed_rtree_replaces_what_was_there():
    conn = sqlite3.connect(":memory:", isolation_level=None)
    _make_rtree(conn, "r")
    conn.executemany("INSERT INTO r VALUES (?, 0, 1, 0, 1)", [(i,) for i in range(1, 200)])
    assert bulk_load(conn, "r", np.array([5, 9]), rtree_boxes(np.array([[0, 0, 1, 1], [2, 2, 3, 3.0]])))
    assert [r[0] for r in conn.execute("SELECT id FROM r ORDER BY id")] == [5, 9]
    assert conn.execute("SELECT rtreecheck('r')").fetchone()[0] == "ok"


def _geometries() -> st.SearchStrategy:
    pts = st.lists(st.tuples(coord, coord), min_size=3, max_size=12)
    return st.one_of(
        coord.flatmap(lambda x: coord.map(lambda y: shapely.Point(x, y))),
        pts.map(shapely.LineString),
        pts.map(lambda p: shapely.Polygon(p).convex_hull),
        pts.map(lambda p: shapely.MultiPolygon([shapely.box(*p[0], p[0][0] + 1, p[0][1] + 1)])),
        pts.map(lambda p: shapely.MultiPolygon(
            [shapely.box(*p[0], p[0][0] + 1, p[0][1] + 1), shapely.box(*p[1], p[1][0] + 2, p[1][1] + 1)])),
        pts.map(lambda p: shapely.box(p[0][0], p[0][1], p[0][0] + 4, p[0][1] + 4).difference(
            shapely.box(p[0][0] + 1, p[0][1] + 1, p[0][0] + 2, p[0][1] + 2))),
        st.sampled_from([shapely.Point(), shapely.LineString(), shapely.MultiPolygon(),
                         shapely.from_wkt("POINT Z (1 2 3)")]),
    )


@settings(max_examples=60, deadline=None)
@given(geoms=st.lists(_geometries(), max_size=40), big_endian=st.booleans())
def test_wkb_bounds_equal_shapely_bounds(geoms, big_endian):
    wkb = [shapely.to_wkb(g, byte_order=0 if big_endian and k % 2 else 1)
           for k, g in enumerate(geoms)]
    expected = np.asarray(shapely.bounds(shapely.from_wkb(wkb))).reshape(-1, 4)
    np.testing.assert_array_equal(wkb_bounds(wkb), expected)
    mixed = [bytearray(w) if k % 3 else w for k, w in enumerate(wkb)]  # the reader's type
    np.testing.assert_array_equal(wkb_bounds(mixed), expected)


records = st.lists(
    st.builds(site_record, st.sampled_from(["osm:way/1", "osm:way/2", "osm:way/3"]),
              st.sampled_from(["education", "workplace"]), st.integers(1, 4),
              st.floats(-10, 10, allow_nan=False)),
    max_size=12,
)


def _table(conn: sqlite3.Connection) -> list[tuple]:
    """Rows in id order (ids themselves may differ: merged duplicates leave gaps)."""
    rows = conn.execute(
        "SELECT origin, category, name, osm_version, content_sha, geom, tags, min_x, max_x "
        "FROM sites ORDER BY id")
    return [tuple(r) for r in rows]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=records, second=records)
def test_one_bulk_write_equals_writing_the_rows_one_by_one(tmp_path_factory, first, second):
    """Duplicates inside one write (deferred unique index) follow the row-by-row rules."""
    folder = tmp_path_factory.mktemp("dup")
    with Store(folder / "bulk.db") as bulk, Store(folder / "rows.db") as rows:
        for store in (bulk, rows):
            store.conn.execute("INSERT INTO sources (id, kind, title) VALUES (1, 'osm', 'x')")
        counts_bulk, counts_rows = [], []
        for batch in (first, second):
            with bulk.transaction() as conn:
                counts_bulk.append(vars(write_layer(conn, "sites", 1, batch)))
            total = dict.fromkeys(counts_bulk[-1], 0)
            for rec in batch:
                with rows.transaction() as conn:
                    for k, v in vars(write_layer(conn, "sites", 1, [rec])).items():
                        total[k] += v
            counts_rows.append(total)
        assert counts_bulk == counts_rows
        assert _table(bulk.conn) == _table(rows.conn)
        assert bulk.conn.execute("SELECT rtreecheck('sites_rtree')").fetchone()[0] == "ok"
        assert {r[0] for r in bulk.query("SELECT id FROM sites_rtree")} == {
            r[0] for r in bulk.query("SELECT id FROM sites")}
        names = "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'sites' ORDER BY name"
        assert [tuple(r) for r in bulk.query(names)] == [tuple(r) for r in rows.query(names)]


def test_a_failed_bulk_write_leaves_table_and_indexes_as_they_were(tmp_path):
    with Store(tmp_path / "s.db") as store:
        store.conn.execute("INSERT INTO sources (id, kind, title) VALUES (1, 'osm', 'x')")
        schema = store.query("SELECT name, sql FROM sqlite_master ORDER BY name")
        good = site_record("osm:way/1", "education", 1, 0)
        bad = Record("osm:way/2", good.geom_wkb, {"category": None}, {})  # category NOT NULL
        with pytest.raises(sqlite3.IntegrityError), store.transaction() as conn:
            write_layer(conn, "sites", 1, [good, bad])
        assert store.query("SELECT name, sql FROM sqlite_master ORDER BY name") == schema
        assert store.scalar("SELECT count(*) FROM sites") == 0


def test_packed_rtree_with_consecutive_ids_fills_the_rowid_map_in_batches(monkeypatch):
    from survatlas.ingest import _rtree

    monkeypatch.setattr(_rtree, "_ROWID_BATCH", 50)
    conn = sqlite3.connect(":memory:", isolation_level=None)
    _make_rtree(conn, "r")
    rng = np.random.default_rng(3)
    xy = rng.uniform(-50, 50, (1234, 2))
    boxes = np.c_[xy, xy + rng.uniform(0, 1, (1234, 2))]
    ids = np.arange(101, 101 + len(boxes))
    assert bulk_load(conn, "r", ids, rtree_boxes(boxes))
    assert conn.execute("SELECT rtreecheck('r')").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*), min(rowid), max(rowid) FROM r_rowid").fetchone() == (
        1234, 101, 1334)
    assert _ids_in(conn, "r", (0, 0, 10, 10)) == sorted(
        int(i) for i, b in zip(ids, boxes, strict=True)
        if b[2] >= 0 and b[0] <= 10 and b[3] >= 0 and b[1] <= 10)
