"""Bounded-memory import: file-backed node locations, spooled R*Tree packing, byte-capped chunks."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import osmium.index
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import table_counts
from import_helpers import site_record, slow_import_script, stored_rows
from survatlas.errors import CorruptFileError
from survatlas.ingest import _osmcompiled, _osmread, _rtree, _stored_keys, import_osm
from survatlas.ingest._records import LAYER_COLUMNS
from survatlas.ingest._rtree import BoxSpool, bulk_load, load_spool, rtree_boxes
from survatlas.ingest._writer import write_layer
from survatlas.store import Store
from survatlas.synth.osmfile import grid_city_arrays, write_osm

REPO = Path(__file__).resolve().parents[1]
_LAYERS = tuple(LAYER_COLUMNS)
_KEYMAP_DEFAULT = _stored_keys.KEYMAP_MAX_ROWS


def _rows(db: Path) -> dict[str, list[tuple]]:
    return stored_rows(db, rtree=True)


def _rtree_ok(db: Path) -> bool:
    conn = sqlite3.connect(db)
    try:
        return all(conn.execute(f"SELECT rtreecheck('{t}_rtree')").fetchone()[0] == "ok"
                   for t in _LAYERS)
    finally:
        conn.close()


def _ids_in(conn: sqlite3.Connection, name: str, box: tuple[float, ...]) -> list[int]:
    w, s, e, n = box
    sql = f"SELECT id FROM {name} WHERE max_x >= ? AND min_x <= ? AND max_y >= ? AND min_y <= ?"
    return sorted(r[0] for r in conn.execute(sql, (w, e, s, n)))


@pytest.fixture(scope="module")
def grid_pbf(tmp_path_factory) -> Path:
    """A generated city: 2,500 buildings, streets and cameras (~50 kB)."""
    path = tmp_path_factory.mktemp("grid") / "grid.osm.pbf"
    buildings, streets, cameras = grid_city_arrays(25, cameras_per_block=0.2)
    return write_osm(path, buildings=buildings, streets=streets, cameras=cameras)


class _IndexSpy:
    """Records the node-location files the reader makes (either reader: both take theirs from
    ``_osmread._index_file``), and the location indexes pyosmium is asked to make."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.specs: list[str] = []
        self.files: list[Path] = []
        real, real_file = osmium.index.create_map, _osmread._index_file

        def create_map(spec: str):
            self.specs.append(spec)
            return real(spec)

        def index_file(directory):
            name = real_file(directory)
            if name is not None:
                self.files.append(Path(name))
            return name

        monkeypatch.setattr(osmium.index, "create_map", create_map)
        monkeypatch.setattr(_osmread, "_index_file", index_file)


@pytest.fixture(params=["libosmium", "pyosmium"])
def reader(request, monkeypatch) -> str:
    """Each test below runs with the compiled reader (``make osmcore``) and with pyosmium's."""
    if request.param == "pyosmium":
        monkeypatch.setattr(_osmcompiled, "current_build", lambda: None)
    assert _osmcompiled.active_reader() == request.param
    return request.param


def _import(db: Path, pbf: Path, monkeypatch: pytest.MonkeyPatch, *, file_index: bool) -> dict:
    monkeypatch.setattr(_osmread, "FILE_INDEX_MIN_BYTES", 0 if file_index else 10**12)
    monkeypatch.setattr(_osmread, "use_process", lambda path: False)
    with Store(db) as store:
        summary = import_osm(store, pbf)
    return summary.to_dict() | {"source_id": 0}


@pytest.mark.parametrize("which", ["grid", "helsinki"])
def test_file_backed_node_locations_give_the_same_store(tmp_path, monkeypatch, grid_pbf,
                                                        helsinki_pbf, which, reader):
    pbf = grid_pbf if which == "grid" else helsinki_pbf
    spy = _IndexSpy(monkeypatch)
    in_memory = _import(tmp_path / "m.db", pbf, monkeypatch, file_index=False)
    assert spy.files == []
    on_file = _import(tmp_path / "f.db", pbf, monkeypatch, file_index=True)
    assert len(spy.files) == 1
    if reader == "pyosmium":
        assert spy.specs[-1].startswith("sparse_file_array,")
    assert spy.files[0].parent == tmp_path  # beside the store
    assert on_file == in_memory
    assert on_file["layers"]["buildings"]["added"] > 0
    assert _rows(tmp_path / "f.db") == _rows(tmp_path / "m.db")


def test_location_file_is_removed_after_success_and_after_a_corrupt_file(tmp_path, monkeypatch,
                                                                         helsinki_pbf, reader):
    spy = _IndexSpy(monkeypatch)
    _import(tmp_path / "s.db", helsinki_pbf, monkeypatch, file_index=True)
    broken = tmp_path / "in" / "broken.osm.pbf"
    broken.parent.mkdir()
    broken.write_bytes(helsinki_pbf.read_bytes()[:300_000])
    with Store(tmp_path / "s.db") as store, pytest.raises(CorruptFileError):
        import_osm(store, broken)
    assert len(spy.files) == 2
    assert not any(f.exists() for f in spy.files)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["s.db"]


def test_location_file_is_removed_when_the_reading_stops_early(tmp_path, monkeypatch, grid_pbf,
                                                             reader):
    spy = _IndexSpy(monkeypatch)
    monkeypatch.setattr(_osmread, "FILE_INDEX_MIN_BYTES", 0)
    messages = _osmread.read_messages(grid_pbf, "public", chunk_size=100, index_dir=tmp_path)
    assert next(messages)[0] == "rows"
    assert len(spy.files) == 1
    assert list(tmp_path.iterdir()) == []  # removed as soon as the reader opened it
    messages.close()
    assert not spy.files[0].exists()


def test_no_usable_folder_keeps_locations_in_memory(tmp_path, grid_pbf):
    odd = tmp_path / "a,b"
    odd.mkdir()
    with _osmread.node_locations(grid_pbf, file_backed=True, directory=odd) as index:
        assert not isinstance(index, str)  # the system's temporary folder instead
    assert list(odd.iterdir()) == []
    with _osmread.node_locations(grid_pbf, file_backed=False) as index:
        assert index == "flex_mem"


def test_chunks_are_capped_by_geometry_bytes(monkeypatch, grid_pbf, reader):
    """pyosmium's reader checks the cap after each object, the compiled one after each block
    of the file (≤ 8,000 objects): a chunk holds at most the cap and one block's geometry."""
    def chunks() -> tuple[int, list[tuple]]:
        n, rows = 0, []
        for kind, payload in _osmread.read_messages(grid_pbf, "public"):
            if kind == "rows":
                n += 1
                rows.extend(payload.rows())
        return n, rows

    n_default, rows_default = chunks()
    monkeypatch.setattr(_osmread, "CHUNK_BYTES", 2_000)
    n_small, rows_small = chunks()
    assert n_small > (10 if reader == "pyosmium" else 2) * n_default
    assert sorted(rows_small, key=repr) == sorted(rows_default, key=repr)


# --- R*Tree: the spooled (out-of-core) packing answers like the in-memory one ---------------

coord = st.floats(-179, 179, allow_nan=False, allow_infinity=False)
size = st.floats(0, 2, allow_nan=False, allow_infinity=False)


def _two_trees(b: np.ndarray, ids: np.ndarray, *, memory_rows: int, append: int,
               directory: Path | None = None) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    for name in ("mem", "spooled"):
        conn.execute(f"CREATE VIRTUAL TABLE {name} USING rtree(id, min_x, max_x, min_y, max_y)")
    boxes = rtree_boxes(b)
    conn.execute("BEGIN")
    assert bulk_load(conn, "mem", ids, boxes)
    with BoxSpool(directory, memory_rows=memory_rows) as spool:
        for start in range(0, len(ids), append):
            spool.append(ids[start : start + append], boxes[start : start + append])
        assert spool.file is not None or len(ids) <= memory_rows
        assert load_spool(conn, "spooled", spool)
    conn.execute("COMMIT")
    return conn


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    boxes=st.lists(st.tuples(coord, coord, size, size), min_size=1, max_size=1500),
    queries=st.lists(st.tuples(coord, coord, st.floats(0, 90), st.floats(0, 90)), min_size=1,
                     max_size=5),
    group_rows=st.sampled_from([1, 60, 250, 10_000]),
    same_x=st.booleans(),
    id_step=st.sampled_from([1, 7, 100_003]),
)
def test_spooled_rtree_answers_like_the_in_memory_one(monkeypatch, boxes, queries, group_rows,
                                                      same_x, id_step):
    monkeypatch.setattr(_rtree, "GROUP_ROWS", group_rows)
    b = np.array([(x, y, x + w, y + h) for x, y, w, h in boxes], dtype=float).reshape(-1, 4)
    if same_x:  # every box in one x bin: the groups must still stay bounded
        b[:, 0], b[:, 2] = 5.0, 5.5
    ids = np.arange(1, len(b) + 1, dtype=np.int64) * id_step
    conn = _two_trees(b, ids, memory_rows=0, append=97)
    assert conn.execute("SELECT rtreecheck('spooled')").fetchone()[0] == "ok"
    assert conn.execute("SELECT * FROM spooled ORDER BY id").fetchall() == conn.execute(
        "SELECT * FROM mem ORDER BY id").fetchall()
    for x, y, w, h in queries:
        q = (x, y, x + w, y + h)
        assert _ids_in(conn, "spooled", q) == _ids_in(conn, "mem", q)
    # the module keeps working on the spooled tree
    conn.execute("DELETE FROM spooled WHERE id % 2 = 0")
    conn.executemany("INSERT INTO spooled VALUES (?, ?, ?, ?, ?)",
                     [(-k - 1, k, k + 1, -k, 1 - k) for k in range(40)])
    assert conn.execute("SELECT rtreecheck('spooled')").fetchone()[0] == "ok"


def test_spooled_tree_has_the_in_memory_shape(monkeypatch):
    """Same node count and depth, and groups of bounded size, on a layer of 20,000 boxes."""
    rng = np.random.default_rng(3)
    xy = rng.normal(0, 1, (20_000, 2))
    b = np.hstack([xy, xy + rng.uniform(0, 0.01, (20_000, 2))])
    ids = np.arange(1, 20_001, dtype=np.int64)
    monkeypatch.setattr(_rtree, "GROUP_ROWS", 2_000)
    sizes = []
    real = _rtree._read_at

    def read_at(file, start, count, dtype):
        sizes.append(count)
        return real(file, start, count, dtype)

    monkeypatch.setattr(_rtree, "_read_at", read_at)
    conn = _two_trees(b, ids, memory_rows=1_000, append=1_000)
    assert max(sizes) <= 2_000  # nothing is read in pieces larger than GROUP_ROWS
    for sql in ("SELECT count(*) FROM {}_node", "SELECT substr(hex(data), 1, 4) FROM {}_node "
                "WHERE nodeno = 1"):
        assert conn.execute(sql.format("spooled")).fetchone() == conn.execute(
            sql.format("mem")).fetchone()
    for x, y in rng.normal(0, 1, (50, 2)):
        q = (x, y, x + 0.05, y + 0.05)
        assert _ids_in(conn, "spooled", q) == _ids_in(conn, "mem", q)


def test_box_spool_file_is_anonymous_and_closed(tmp_path):
    spool = BoxSpool(tmp_path, memory_rows=3)
    spool.append(np.arange(1, 6), rtree_boxes(np.zeros((5, 4))))
    assert spool.file is not None and spool.n == 5
    assert list(tmp_path.iterdir()) == []  # no name in the folder, even while open
    assert [len(c) for c in spool.chunks(2)] == [2, 2, 1]
    spool.close()
    assert spool.file is None


def test_writer_spooled_path_gives_the_same_store(tmp_path, monkeypatch, grid_pbf):
    small = _import(tmp_path / "m.db", grid_pbf, monkeypatch, file_index=False)
    monkeypatch.setattr(_rtree, "MEMORY_ROWS", 100)
    monkeypatch.setattr(_rtree, "GROUP_ROWS", 700)
    spooled = _import(tmp_path / "s.db", grid_pbf, monkeypatch, file_index=True)
    assert spooled == small
    assert _rtree_ok(tmp_path / "s.db")
    assert _rows(tmp_path / "s.db") == _rows(tmp_path / "m.db")
    conn_s, conn_m = sqlite3.connect(tmp_path / "s.db"), sqlite3.connect(tmp_path / "m.db")
    bounds = conn_m.execute("SELECT min(min_x), min(min_y), max(max_x), max(max_y) "
                            "FROM buildings").fetchone()
    rng = np.random.default_rng(0)
    for _ in range(30):
        x, y = rng.uniform(bounds[0], bounds[2]), rng.uniform(bounds[1], bounds[3])
        q = (x, y, x + 0.002, y + 0.002)
        assert _ids_in(conn_s, "buildings_rtree", q) == _ids_in(conn_m, "buildings_rtree", q)
    conn_s.close()
    conn_m.close()


def test_reimport_reads_boxes_from_the_table_through_a_spool(tmp_path, monkeypatch, grid_pbf,
                                                             helsinki_pbf):
    """New rows outnumbering stored ones: the whole layer is re-packed from the table."""
    monkeypatch.setattr(_rtree, "MEMORY_ROWS", 50)
    monkeypatch.setattr(_rtree, "GROUP_ROWS", 300)
    _import(tmp_path / "s.db", helsinki_pbf, monkeypatch, file_index=True)
    _import(tmp_path / "s.db", grid_pbf, monkeypatch, file_index=True)
    assert _rtree_ok(tmp_path / "s.db")
    conn = sqlite3.connect(tmp_path / "s.db")
    for layer in _LAYERS:
        assert conn.execute(f"SELECT count(*) FROM {layer}_rtree").fetchone() == conn.execute(
            f"SELECT count(*) FROM {layer}").fetchone()
    conn.close()


_SLOW_IMPORT = slow_import_script(
    "from survatlas.ingest import _osmread, _rtree\n"
    "_osmread.FILE_INDEX_MIN_BYTES = 0\n_rtree.MEMORY_ROWS = 1")


def test_kill_9_on_the_bounded_path_leaves_store_and_folder_as_they_were(tmp_path, monaco_pbf,
                                                                        helsinki_pbf):
    db = tmp_path / "store" / "s.db"
    db.parent.mkdir()
    with Store(db) as store:
        import_osm(store, monaco_pbf)
    before = table_counts(db)
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_IMPORT, str(db), str(marker),
                             str(helsinki_pbf)], env=env)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    others = [p.name for p in db.parent.iterdir() if not p.name.startswith("s.db")]
    assert others == []  # the temporary files have no name in the folder
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert table_counts(db) == before
    assert [p.name for p in db.parent.iterdir() if not p.name.startswith("s.db")] == []
    with Store(db) as store:
        assert store.scalar("PRAGMA integrity_check") == "ok"


# --- stored keys of a large layer: looked up chunk by chunk, same outcome ----------------------


_records = st.lists(
    st.builds(site_record, st.sampled_from(["osm:way/1", "osm:way/2", "osm:way/3", "osm:way/4"]),
              st.sampled_from(["education", "workplace"]), st.integers(1, 4),
              st.floats(-10, 10, allow_nan=False)),
    max_size=14,
)


def _sites(conn: sqlite3.Connection) -> list[tuple]:
    rows = conn.execute("SELECT origin, category, name, osm_version, content_sha, geom, min_x "
                        "FROM sites ORDER BY id")
    return [tuple(r) for r in rows]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(_records, min_size=2, max_size=4))
def test_keys_looked_up_per_chunk_give_what_the_loaded_key_map_gives(tmp_path_factory, batches):
    folder = tmp_path_factory.mktemp("keys")
    counts: dict[int, list[dict]] = {}
    tables = {}
    for limit in (10**9, 0):  # all keys loaded at the start / looked up chunk by chunk
        with Store(folder / f"{limit}.db") as store:
            store.conn.execute("INSERT INTO sources (id, kind, title) VALUES (1, 'osm', 'x')")
            _stored_keys.KEYMAP_MAX_ROWS = limit
            try:
                for batch in batches:
                    with store.transaction() as conn:
                        counts.setdefault(limit, []).append(
                            vars(write_layer(conn, "sites", 1, batch)))
            finally:
                _stored_keys.KEYMAP_MAX_ROWS = _KEYMAP_DEFAULT
            tables[limit] = _sites(store.conn)
            assert store.scalar("SELECT rtreecheck('sites_rtree')") == "ok"
    assert counts[0] == counts[10**9]
    assert tables[0] == tables[10**9]


def test_reimport_of_a_large_layer_looks_keys_up_per_chunk(tmp_path, monkeypatch, helsinki_pbf):
    lookups = []
    real = _stored_keys.StoredKeys.prefetch

    def prefetch(self, origins):
        lookups.append((self.lookup, len(origins)))
        return real(self, origins)

    monkeypatch.setattr(_stored_keys.StoredKeys, "prefetch", prefetch)
    first = _import(tmp_path / "a.db", helsinki_pbf, monkeypatch, file_index=False)
    again_loaded = _import(tmp_path / "a.db", helsinki_pbf, monkeypatch, file_index=False)
    monkeypatch.setattr(_stored_keys, "KEYMAP_MAX_ROWS", 0)
    _import(tmp_path / "b.db", helsinki_pbf, monkeypatch, file_index=False)
    lookups.clear()
    again_looked_up = _import(tmp_path / "b.db", helsinki_pbf, monkeypatch, file_index=False)
    assert lookups and all(flag for flag, _ in lookups)
    assert again_looked_up == again_loaded
    assert sum(c["unchanged"] for c in again_loaded["layers"].values()) == sum(
        c["added"] for c in first["layers"].values())
    assert _rows(tmp_path / "a.db") == _rows(tmp_path / "b.db")
