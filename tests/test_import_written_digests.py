"""The custody digests of an import's map tables, hashed as the rows are written.

They must be exactly :func:`survatlas.store.states.table_digest` of the tables as committed
(``verify`` recomputes them from the table), keyed or not, and fall back to reading the table
whenever it was written otherwise (a store with rows, duplicates, a change after the writer).
"""

from __future__ import annotations

import json

import pytest

from import_helpers import site_record
from security_builders import set_key
from survatlas.ingest import import_osm
from survatlas.ingest._records import records_chunk
from survatlas.ingest._writer import LayerWriter, write_layer
from survatlas.store import Store, states
from survatlas.store.custody import append_entry
from survatlas.synth.osmfile import grid_extract


def _logged(store: Store) -> dict[str, str]:
    details = json.loads(store.scalar(
        "SELECT details FROM custody_log WHERE action = 'import' ORDER BY seq DESC LIMIT 1"))
    return {k.removeprefix("tables."): v for k, v in details.items() if k.startswith("tables.")}


def _recomputed(store: Store, key=None) -> dict[str, str]:
    return {t: states.table_digest(store.conn, t, key) for t in states.MAP_TABLES}


def _count_reads(monkeypatch) -> list[str]:
    reads: list[str] = []
    real = states.table_digest

    def counted(conn, table, key):
        reads.append(table)
        return real(conn, table, key)

    monkeypatch.setattr(states, "table_digest", counted)
    return reads


@pytest.fixture(scope="module")
def grid_pbf(tmp_path_factory):
    return grid_extract(tmp_path_factory.mktemp("grid"), 6)


@pytest.mark.parametrize("keyed", [False, True], ids=["plain", "keyed"])
def test_a_first_import_logs_the_digests_of_the_tables_without_reading_them_back(
    tmp_path, monkeypatch, grid_pbf, keyed
):
    key = set_key(monkeypatch) if keyed else None
    with Store(tmp_path / "s.db") as store:
        with monkeypatch.context() as patch:
            reads = _count_reads(patch)
            summary = import_osm(store, grid_pbf)
        assert summary.layers["buildings"].added > 100 and summary.layers["devices"].added > 0
        assert reads == []  # every table's digest came from its writer
        logged = _logged(store)
        assert logged == _recomputed(store, key)
        assert all(v.startswith("hmac:" if keyed else "sha256:") for v in logged.values())
        # nothing of the mechanism outlives the import
        assert store.query("SELECT name FROM temp.sqlite_master") == []
        # a second import (tables with rows) reads the tables, and logs what they hold
        filled = [t for t in states.MAP_TABLES if store.scalar(f"SELECT count(*) FROM {t}")]
        assert "buildings" in filled and "sites" not in filled  # an empty table: written
        with monkeypatch.context() as patch:
            reads = _count_reads(patch)
            import_osm(store, grid_pbf)
        assert sorted(reads) == sorted(filled)
        assert _logged(store) == _recomputed(store, key)


@pytest.mark.parametrize("layer_has_rows", [False, True])
def test_rows_written_otherwise_than_in_one_pass_leave_the_digest_to_the_table(
    tmp_path, layer_has_rows
):
    with Store(tmp_path / "s.db") as store:
        store.conn.execute("INSERT INTO sources (id, kind, title) VALUES (1, 'osm', 'x')")
        if layer_has_rows:
            with store.transaction() as conn:
                write_layer(conn, "sites", 1, [site_record("osm:way/9", "education", 1, 9)])
        # the same way twice in one chunk (merged when the unique index is built again)
        rows = [site_record("osm:way/1", "education", v, 0) for v in (1, 2)]
        with store.transaction() as conn:
            writer = LayerWriter(conn, "sites", 1)
            writer.add(records_chunk("sites", rows))
            writer.finish()
            assert writer.hasher is None
        assert store.scalar("SELECT count(*) FROM sites WHERE origin = 'osm:way/1'") == 1


def test_a_change_after_the_writer_drops_its_digest(tmp_path):
    with Store(tmp_path / "s.db") as store:
        store.conn.execute("INSERT INTO sources (id, kind, title) VALUES (1, 'osm', 'x')")
        rows = [site_record(f"osm:way/{k}", "education", 1, k) for k in range(1, 5)]
        for change in (None, "UPDATE sites SET origin = 'osm:way/99' WHERE id = 2",
                       "DELETE FROM sites WHERE id = 3",
                       "INSERT INTO sites (origin, source_id, content_sha, category, geom, min_x, min_y, "
                       "max_x, max_y) SELECT 'x', 1, 's', category, geom, 0, 0, 1, 1 FROM sites "
                       "WHERE id = 1"):
            store.conn.execute("DELETE FROM sites")
            with store.transaction() as conn:
                writer = LayerWriter(conn, "sites", 1)
                writer.add(records_chunk("sites", rows))
                writer.finish()
                written = writer.hasher.digest()
                with states.written_digests(conn, [writer.hasher]):
                    if change:
                        conn.execute(change)
                    entry = append_entry(conn, "import", "source:1")
            logged = json.loads(entry.details)["tables.sites"]
            assert logged == states.table_digest(store.conn, "sites", None)
            assert (logged == written) is (change is None)


def test_the_written_digest_is_the_read_digest_for_rows_of_any_layer(tmp_path):
    with Store(tmp_path / "s.db") as store:
        store.conn.execute("INSERT INTO sources (id, kind, title) VALUES (1, 'osm', 'x')")
        rows = [site_record(f"osm:way/{k}", "education", 1, k) for k in range(1, 30)]
        with store.transaction() as conn:
            writer = LayerWriter(conn, "sites", 1)
            writer.add(records_chunk("sites", rows[:10]))
            writer.add(records_chunk("sites", rows[10:]))
            writer.finish()
        assert writer.hasher.digest() == states.table_digest(store.conn, "sites", None)


def _framed_row_by_row(columns) -> bytes:
    """The framing as documented: every value, row by row, as its 8-byte big-endian length
    and its bytes (text as UTF-8, bytes and bytearray as they are, anything else as ``str``)."""
    out = b""
    for row in zip(*columns, strict=True):
        for v in row:
            data = v.encode() if isinstance(v, str) else (
                bytes(v) if isinstance(v, (bytes, bytearray)) else str(v).encode())
            out += len(data).to_bytes(8, "big") + data
    return out


@pytest.mark.parametrize("columns", [
    [range(7, 10), ["osm:node/1", "osm:way/2", "osm:way/3"], [4, 4, 4], ["public"] * 3,
     [b"\x01", bytearray(b"\x02\x03"), b""]],
    [[1, True, 1.0], ["a", "a", "a"], [5, 5, 5], ["x", "x", "y"]],  # equal, not the same text
    [["é"] * 2, [None, None], [3, 3], [0.5, 0.5]],
    [[], [], []],
])
def test_constant_columns_are_framed_as_every_row(columns):
    assert states.framed_columns(columns) == _framed_row_by_row(columns)
