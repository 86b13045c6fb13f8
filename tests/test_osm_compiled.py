"""The compiled OSM read loop (``survatlas.ingest._osmcore``, built by ``make osmcore``).

After ``make`` the importer reads with it; the stores it writes equal, table by table and
column by column, those of the pyosmium reader (only the times of the import differ, and the
custody hashes chained over them). Its rows equal the plain public-API reference of
``test_osm_reader_reference.py`` (which also covers the pyosmium reader here).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from survatlas.errors import CorruptFileError
from survatlas.ingest import _osmcompiled, _osmread, import_osm
from survatlas.store import Store
from survatlas.synth.osmfile import grid_extract
from test_osm_reader_reference import EDGE_CASES, reader_rows, reference_rows

#: columns that hold the time of the import (and the custody hashes chained over them)
TIME_COLUMNS = {"applied_at", "at", "hash", "prev_hash", "finished_at", "started_at",
                "recorded_at", "retrieved_at"}


def test_the_compiled_reader_is_used_after_make(monkeypatch, monaco_pbf, tmp_path):
    assert _osmcompiled.current_build() is not None, "run `make osmcore` (g++, libosmium2-dev)"
    assert _osmcompiled.active_reader() == "libosmium"
    calls = []
    real = _osmcompiled.compiled_read

    def spy(*args, **kwargs):
        calls.append(args[1])
        yield from real(*args, **kwargs)

    monkeypatch.setattr(_osmcompiled, "compiled_read", spy)
    with Store(tmp_path / "s.db") as store:
        summary = import_osm(store, monaco_pbf)
    assert calls == [monaco_pbf]
    assert summary.layers["buildings"].added > 0


def test_a_stale_build_is_ignored(monkeypatch):
    monkeypatch.setattr(_osmcompiled, "source_digest", lambda: "0" * 16)
    _osmcompiled.current_build.cache_clear()
    try:
        assert _osmcompiled.current_build() is None
        assert _osmcompiled.active_reader() == "pyosmium"
    finally:
        monkeypatch.undo()
        _osmcompiled.current_build.cache_clear()
    assert _osmcompiled.active_reader() == "libosmium"


def _dump(db: Path) -> dict[str, list[tuple]]:
    """Every table's rows, the columns of :data:`TIME_COLUMNS` left out."""
    conn = sqlite3.connect(db)
    out = {}
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
        kept = ", ".join(f'"{c}"' for c in cols if c not in TIME_COLUMNS) or "1"
        out[table] = conn.execute(f'SELECT {kept} FROM "{table}" ORDER BY rowid').fetchall()
    conn.close()
    return out


@pytest.fixture(scope="module")
def grid_pbf(tmp_path_factory) -> Path:
    return grid_extract(tmp_path_factory.mktemp("grid"), 12)


@pytest.mark.parametrize("name", ["helsinki_pbf", "monaco_pbf", "grid_pbf"])
def test_stores_equal_those_of_the_pyosmium_reader(name, request, tmp_path, monkeypatch):
    path = request.getfixturevalue(name)
    with Store(tmp_path / "compiled.db") as store:
        compiled = import_osm(store, path)
    monkeypatch.setattr(_osmcompiled, "current_build", lambda: None)
    with Store(tmp_path / "pyosmium.db") as store:
        plain = import_osm(store, path)
    assert compiled.layers == plain.layers
    got, want = _dump(tmp_path / "compiled.db"), _dump(tmp_path / "pyosmium.db")
    assert got.keys() == want.keys()
    for table in want:
        assert got[table] == want[table], table
    assert len(got["buildings"]) > 0 and len(got["custody_log"]) > 0
    if name != "grid_pbf":  # multipolygons: the first pass runs beside the reading of nodes
        assert any("relation" in row for row in got["buildings"])


def test_the_node_index_on_file_gives_the_same_rows(helsinki_pbf, tmp_path):
    in_memory = list(_osmread.read_messages(helsinki_pbf, "public", file_index=False))
    on_file = list(_osmread.read_messages(helsinki_pbf, "public", file_index=True,
                                          index_dir=tmp_path))
    rows = [[(k, p.layer, p.columns) if k == "rows" else (k, p) for k, p in m[:-1]]
            for m in (in_memory, on_file)]
    assert rows[0] == rows[1] and len(rows[0]) > 2
    assert in_memory[-1][1] == on_file[-1][1]
    assert list(tmp_path.iterdir()) == []  # the index file is gone


def test_rejections_come_in_file_order(tmp_path):
    path = tmp_path / "edge.osm"
    path.write_text(EDGE_CASES, encoding="utf-8")
    _, rejected = reader_rows(path)
    assert rejected == reference_rows(path)[1] == [
        "way/104: man_made=surveillance on a way (map it as a node)"]


@pytest.mark.parametrize("content", [b"<osm version='0.6'><node id='1' lat=", b"\x00\x00\x00\x0dnot a pbf"])
def test_a_corrupt_file_is_one_clear_line_and_nothing_is_written(content, tmp_path):
    path = tmp_path / ("bad.osm" if content.startswith(b"<") else "bad.osm.pbf")
    path.write_bytes(content)
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(CorruptFileError, match="could not be read as OSM data") as err:
            import_osm(store, path)
        assert "\n" not in str(err.value)
        assert store.scalar("SELECT count(*) FROM buildings") == 0
        assert store.scalar("SELECT count(*) FROM sources") == 0


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc")
def test_no_thread_outlives_the_read(helsinki_pbf):
    """The extension's thread pool and the reader thread end with the read (a process forked
    afterwards would otherwise wait for threads it does not have)."""
    before = _threads()
    messages = _osmread.read_messages(helsinki_pbf, "public")
    next(messages)
    assert _threads() > before  # it reads in threads
    for _ in messages:
        pass
    assert _settled(before) == before


def _threads() -> int:
    return len(list(Path("/proc/self/task").iterdir()))


def _settled(before: int, wait_s: float = 2.0) -> int:
    """The thread count once it is back to ``before``, or after ``wait_s``: a joined thread
    has finished its work, but the kernel may list its task for a moment longer."""
    end = time.monotonic() + wait_s
    while (now := _threads()) != before and time.monotonic() < end:
        time.sleep(0.01)
    return now


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc")
def test_reading_starts_before_the_first_message_and_close_ends_it(helsinki_pbf, tmp_path):
    """The file is opened and read while the importer prepares its transaction; a reader
    closed (or dropped) unread leaves no thread and no node-location file behind."""
    before = _threads()
    messages = _osmread.read_messages(helsinki_pbf, "public", file_index=True,
                                      index_dir=tmp_path)
    assert _threads() > before  # reading already
    messages.close()
    assert _settled(before) == before
    assert list(tmp_path.iterdir()) == []
    messages = _osmread.read_messages(helsinki_pbf, "public")
    del messages  # never iterated, never closed: stopped at once (no reference cycle)
    assert _settled(before) == before


def test_the_first_chunk_is_small_then_chunks_double():
    sizes = _osmcompiled.chunk_sizes(20_000)
    assert [next(sizes) for _ in range(6)] == [4_000, 8_000, 16_000, 20_000, 20_000, 20_000]
    assert next(_osmcompiled.chunk_sizes(100)) == 100


def test_a_small_file_comes_in_several_chunks(helsinki_pbf):
    """Helsinki (9,544 objects) in a chunk of about 4,000 objects and the rest (a chunk ends
    with the block of the file that fills it): the first is written while the rest is read."""
    progress = [p for k, p in _osmread.read_messages(helsinki_pbf, "public") if k == "progress"]
    assert len(progress) == 2 and sum(progress) == 9_544
    assert 4_000 <= progress[0] < 5_000


@pytest.mark.parametrize("name", ["helsinki_pbf", "monaco_pbf", "grid_pbf"])
def test_the_extension_hands_over_the_bounds_of_every_geometry(name, request):
    """The compiled reader gives each chunk its rows' boxes (read while the WKB is made), the
    very doubles :func:`~survatlas.ingest._wkb.wkb_bounds` reads back from the bytes."""
    from survatlas.ingest._records import ROW_COLUMNS
    from survatlas.ingest._wkb import wkb_bounds

    layers = set()
    for kind, chunk in _osmread.read_messages(request.getfixturevalue(name), "public"):
        if kind != "rows":
            continue
        assert chunk.bounds is not None and chunk.bounds.shape == (len(chunk), 4)
        geoms = chunk.columns[ROW_COLUMNS[chunk.layer].index("geom") - 1]
        assert chunk.bounds.tolist() == wkb_bounds(geoms).tolist(), chunk.layer
        layers.add(chunk.layer)
    assert {"buildings", "streets"} <= layers


@pytest.mark.parametrize("name", ["helsinki_pbf", "monaco_pbf"])
def test_the_context_read_in_the_same_pass_equals_the_pyosmium_pass(name, request, tmp_path,
                                                                     monkeypatch):
    """With the compiled reader the map's context (water, green, rail, motorways, place
    names) comes from the pass that reads devices and buildings: the ``context`` table holds
    the rows the separate pyosmium pass writes, and that pass no longer runs. (Their order,
    hence their ids, differ: pyosmium hands over the areas after every way, the compiled
    reader as it assembles them.)"""
    from survatlas.ingest import context as context_module
    from survatlas.ingest import osm as osm_module

    path = request.getfixturevalue(name)
    with monkeypatch.context() as patch:
        patch.setattr(osm_module, "read_context", lambda *a, **k: pytest.fail("second pass"))
        with Store(tmp_path / "compiled.db") as store:
            compiled = import_osm(store, path, context=True)
    monkeypatch.setattr(_osmcompiled, "current_build", lambda: None)
    with Store(tmp_path / "pyosmium.db") as store:
        plain = import_osm(store, path, context=True)
    assert compiled.context == plain.context and sum(plain.context.values()) > 50
    got, want = _dump(tmp_path / "compiled.db"), _dump(tmp_path / "pyosmium.db")
    for table in ("buildings", "streets", "devices", "sites"):
        assert got[table] == want[table], table
    assert sorted(r[1:] for r in got["context"]) == sorted(r[1:] for r in want["context"])
    assert len(got["context_rtree"]) == len(want["context_rtree"]) == len(got["context"])
    assert {r.kind for r in context_module.read_context(path)} >= {"water", "green", "rail"}
