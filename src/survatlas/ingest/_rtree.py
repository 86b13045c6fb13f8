"""Bulk loading of a 2-D SQLite R*Tree by sort-tile-recursive (STR) packing.

SQLite's R*Tree module inserts one box at a time (about 10 µs per box on a 1M-box index: every
insert walks the tree, rewrites node blobs and the rowid → node map). An index filled in one go
can instead be packed: boxes are sorted into tiles (Leutenegger, Lopez & Edgington 1997, "STR: a
simple and efficient algorithm for R-tree packing") and the nodes are written straight into the
index's shadow tables ``{name}_node``, ``{name}_parent`` and ``{name}_rowid``, in the format that
SQLite's ``ext/rtree/rtree.c`` documents at its top:

* a node is a blob of fixed size (the size of the root node's blob): a 2-byte big-endian tree
  depth (root only, 0 elsewhere), a 2-byte cell count, then the cells;
* a cell is an 8-byte big-endian rowid (leaves) or child node number (inner nodes) followed by
  ``min_x, max_x, min_y, max_y`` as big-endian 32-bit floats, rounded outwards the way the
  module rounds them (so a query finds what an insert would have found);
* node 1 is the root; ``_rowid`` maps every rowid to its leaf, ``_parent`` every non-root node to
  its parent.

The result passes SQLite's own ``rtreecheck()`` (see the tests), answers the same queries as an
index filled row by row, and later inserts, updates and deletes go through the module as usual.
When the shadow tables are not writable (a connection in SQLite's *defensive* mode) the caller
falls back to ordinary inserts.

**Bounded memory.** Packing a layer in memory needs ~120 bytes a row (the boxes, the sort
orders, the node blobs). Boxes are therefore gathered in a :class:`BoxSpool`, which keeps up to
:data:`MEMORY_ROWS` rows in memory and moves to an anonymous temporary file beyond. A spooled
layer is packed out of core (:func:`load_spool`) with the same sort-tile-recursive layout:

1. one pass over the spool counts the boxes per x bin (:data:`_BINS` bins of the x centres'
   range) and per range of ids;
2. a second pass gives every box its position in x order (bin by bin; within a bin, in spool
   order) and so its vertical slab, and writes it to the part of a temporary file that holds
   its group of :data:`GROUP_ROWS` positions (whole slabs);
3. each group is read back, sorted by slab and y centre, cut into leaves (a leaf may span two
   groups, as it may span two slabs in memory), and written; the leaf of every row goes to a
   second temporary file, partitioned by ranges of ids;
4. the leaves' boxes (one per ~170 rows: 1.5 MB for 10 million rows) are packed in memory into
   the upper levels, and the rowid → leaf map is written range by range, in id order (inserting
   it in leaf order would cost ~6× more).

Memory then stays bounded by ``GROUP_ROWS`` and ``_BINS`` (≈ 30 MB), whatever the layer's size,
apart from the leaves' boxes. The order differs from the in-memory STR only within one x bin
(ties broken by spool order instead of exact x), so queries find the same rows (see the tests)
at a similar cost.
"""

from __future__ import annotations

import math
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

#: rtree.c: RNDTOWARDS / RNDAWAY, the factors of its outward rounding to 32-bit floats
_TOWARDS = 1.0 - 1.0 / 8388608.0
_AWAY = 1.0 + 1.0 / 8388608.0
_ROWID_BATCH = 100_000
_CELL = np.dtype([("id", ">i8"), ("box", ">f4", (4,))])
#: rows a :class:`BoxSpool` keeps in memory (and packs there); beyond, it spools to a file
MEMORY_ROWS = 200_000
#: rows sorted at a time by the out-of-core packing (whole slabs; ~30 MB of arrays)
GROUP_ROWS = 200_000
#: x bins that order boxes in the out-of-core packing
_BINS = 1 << 18
_RECORD = np.dtype([("id", "<i8"), ("box", "<f4", (4,))])
_KEYED = np.dtype([("id", "<i8"), ("box", "<f4", (4,)), ("slab", "<i8")])
_LEAF = np.dtype([("id", "<i8"), ("leaf", "<i8")])


def round_down(values: np.ndarray) -> np.ndarray:
    """32-bit floats not above ``values`` (rtree.c ``rtreeValueDown``)."""
    out = values.astype(np.float32)
    bad = out.astype(np.float64) > values
    if bad.any():
        v = values[bad]
        out[bad] = (v * np.where(v < 0, _AWAY, _TOWARDS)).astype(np.float32)
    return out


def round_up(values: np.ndarray) -> np.ndarray:
    """32-bit floats not below ``values`` (rtree.c ``rtreeValueUp``)."""
    out = values.astype(np.float32)
    bad = out.astype(np.float64) < values
    if bad.any():
        v = values[bad]
        out[bad] = (v * np.where(v < 0, _TOWARDS, _AWAY)).astype(np.float32)
    return out


def rtree_boxes(bounds: np.ndarray) -> np.ndarray:
    """``(n, 4)`` min_x, min_y, max_x, max_y (float64) -> R*Tree cells min_x, max_x, min_y, max_y."""
    out = np.empty((len(bounds), 4), dtype=np.float32)
    out[:, 0] = round_down(bounds[:, 0])
    out[:, 1] = round_up(bounds[:, 2])
    out[:, 2] = round_down(bounds[:, 1])
    out[:, 3] = round_up(bounds[:, 3])
    return out


def bulk_load(conn: sqlite3.Connection, name: str, ids: np.ndarray, boxes: np.ndarray) -> bool:
    """Replace the content of the 2-D R*Tree ``name`` by ``ids`` and their ``boxes``.

    Parameters
    ----------
    conn
        A connection inside a write transaction.
    name
        The R*Tree virtual table (``id, min_x, max_x, min_y, max_y``).
    ids
        Row ids, unique.
    boxes
        ``(n, 4)`` float32 ``min_x, max_x, min_y, max_y`` as given by :func:`rtree_boxes`.

    Returns
    -------
    bool
        False when the shadow tables cannot be written (nothing was changed); True otherwise.
    """
    node_size = _node_size(conn, name)
    if node_size is None:
        return False
    capacity = (node_size - 4) // _CELL.itemsize
    ids = np.asarray(ids, dtype=np.int64)
    nodes, parents, leaf_of = _pack(ids, boxes, capacity, node_size)

    def write() -> None:
        conn.executemany(f"INSERT INTO {name}_node (nodeno, data) VALUES (?, ?)", nodes)
        conn.executemany(f"INSERT INTO {name}_parent (nodeno, parentnode) VALUES (?, ?)", parents)
        _write_rowids(conn, f"{name}_rowid", ids, leaf_of, _has_json(conn))

    return _replace_content(conn, name, write)


def load_spool(conn: sqlite3.Connection, name: str, spool: BoxSpool) -> bool:
    """Replace the content of the R*Tree ``name`` by the rows of ``spool`` (see :func:`bulk_load`).

    A spool still in memory is packed there; a spooled one out of core, in bounded memory (see
    the module's docstring), with temporary files beside the spool's.
    """
    if spool.file is None:
        records = spool.records()
        return bulk_load(conn, name, records["id"], records["box"])
    node_size = _node_size(conn, name)
    if node_size is None:
        return False
    capacity = (node_size - 4) // _CELL.itemsize
    if spool.n <= capacity:
        records = np.concatenate(list(spool.chunks(spool.n)))
        return bulk_load(conn, name, records["id"], records["box"])
    return _replace_content(
        conn, name, lambda: _OutOfCore(conn, name, spool, capacity, node_size).run()
    )


def _node_size(conn: sqlite3.Connection, name: str) -> int | None:
    row = conn.execute(f"SELECT length(data) FROM {name}_node WHERE nodeno = 1").fetchone()
    return None if row is None else int(row[0])


def _replace_content(conn: sqlite3.Connection, name: str, write: Any) -> bool:
    """Empty the shadow tables and call ``write()`` under a savepoint; False if not writable."""
    try:
        conn.execute("SAVEPOINT rtree_bulk")
    except sqlite3.OperationalError:
        return False
    try:
        for table in ("node", "parent", "rowid"):
            conn.execute(f"DELETE FROM {name}_{table}")
        write()
    except sqlite3.DatabaseError:
        conn.execute("ROLLBACK TO rtree_bulk")
        conn.execute("RELEASE rtree_bulk")
        return False
    conn.execute("RELEASE rtree_bulk")
    return True


def _has_json(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT value FROM json_each('[1]')").fetchall()
    except sqlite3.OperationalError:  # an SQLite without JSON functions
        return False
    return True


def _write_rowids(
    conn: sqlite3.Connection, table: str, ids: np.ndarray, leaf: np.ndarray, json: bool
) -> None:
    """Fill the rowid → leaf map; consecutive ids go in one statement (half the time)."""
    if json and len(ids) and ids[-1] - ids[0] == len(ids) - 1 and (np.diff(ids) == 1).all():
        sql = f"INSERT INTO {table} (rowid, nodeno) SELECT ? + key, value FROM json_each(?)"
        for start in range(0, len(ids), _ROWID_BATCH):  # batches bound the text's memory
            part = leaf[start : start + _ROWID_BATCH].tolist()
            conn.execute(sql, (int(ids[start]), "[" + ",".join(map(str, part)) + "]"))
        return
    for start in range(0, len(ids), _ROWID_BATCH):
        conn.executemany(
            f"INSERT INTO {table} (rowid, nodeno) VALUES (?, ?)",
            zip(
                ids[start : start + _ROWID_BATCH].tolist(),
                leaf[start : start + _ROWID_BATCH].tolist(),
                strict=True,
            ),
        )


def _pack(
    ids: np.ndarray, boxes: np.ndarray, capacity: int, node_size: int
) -> tuple[list[tuple[int, bytearray]], list[tuple[int, int]], np.ndarray]:
    """Pack level by level: (node number, blob) pairs, (child, parent) pairs, leaf of each id."""
    return _pack_levels(ids, boxes, capacity, node_size, next_no=2, depth=0, rows=True)


def _pack_levels(
    entry_ids: np.ndarray, entry_boxes: np.ndarray, capacity: int, node_size: int, *,
    next_no: int, depth: int, rows: bool,
) -> tuple[list[tuple[int, bytearray]], list[tuple[int, int]], np.ndarray]:
    """Pack from one level up to the root (node 1).

    ``rows``: the entries are table rows (the first level is made of leaves); otherwise they
    are nodes numbered ``entry_ids`` at ``depth - 1`` levels above the leaves. New nodes are
    numbered from ``next_no``.
    """
    nodes: list[tuple[int, bytearray]] = []
    parents: list[tuple[int, int]] = []
    leaf_of = np.ones(len(entry_ids) if rows else 0, dtype=np.int64)
    children_level = rows  # the entries of the first level are rows, not nodes
    while True:
        order = _str_order(entry_boxes, capacity)
        entry_ids, entry_boxes = entry_ids[order], entry_boxes[order]
        n_nodes = max(1, math.ceil(len(entry_ids) / capacity))
        numbers = np.arange(next_no, next_no + n_nodes) if n_nodes > 1 else np.array([1])
        owner = np.repeat(numbers, capacity)[: len(entry_ids)]
        if children_level:
            leaf_of[order] = owner
        else:
            parents.extend(zip(entry_ids.tolist(), owner.tolist(), strict=True))
        depth_here = depth if n_nodes == 1 else 0
        nodes.extend(_blobs(entry_ids, entry_boxes, numbers, capacity, depth_here, node_size))
        if n_nodes == 1:
            return nodes, parents, leaf_of
        entry_boxes = _node_boxes(entry_boxes, capacity)
        entry_ids, next_no, depth, children_level = numbers, next_no + n_nodes, depth + 1, False


def _node_boxes(boxes: np.ndarray, capacity: int) -> np.ndarray:
    """The box of each run of ``capacity`` consecutive boxes."""
    starts = np.arange(0, len(boxes), capacity)
    return np.stack(
        [
            np.minimum.reduceat(boxes[:, 0], starts),
            np.maximum.reduceat(boxes[:, 1], starts),
            np.minimum.reduceat(boxes[:, 2], starts),
            np.maximum.reduceat(boxes[:, 3], starts),
        ],
        axis=1,
    )


def _str_order(boxes: np.ndarray, capacity: int) -> np.ndarray:
    """Sort-tile-recursive order: vertical slabs by x centre, then y centre within each slab."""
    n = len(boxes)
    if n <= capacity:
        return np.arange(n)
    cx = boxes[:, 0] + boxes[:, 1]
    cy = boxes[:, 2] + boxes[:, 3]
    pages = math.ceil(n / capacity)
    slab_size = math.ceil(math.sqrt(pages)) * capacity
    key = np.empty(n, dtype=np.int64)
    key[np.argsort(cx)] = (np.arange(n) // slab_size) * n
    key[np.argsort(cy)] += np.arange(n)
    return np.argsort(key)


def _blobs(
    ids: np.ndarray, boxes: np.ndarray, numbers: np.ndarray, capacity: int, depth: int,
    node_size: int,
) -> list[tuple[int, bytearray]]:
    """The node blobs of one level: consecutive runs of ``capacity`` cells, zero-padded."""
    n_nodes = len(numbers)
    cells = np.zeros(n_nodes * capacity, dtype=_CELL)
    cells["id"][: len(ids)], cells["box"][: len(ids)] = ids, boxes
    raw = np.zeros((n_nodes, node_size), dtype=np.uint8)
    raw[:, 4 : 4 + capacity * _CELL.itemsize] = cells.view(np.uint8).reshape(n_nodes, -1)
    counts = np.full(n_nodes, capacity, dtype=">u2")
    counts[-1] = len(ids) - capacity * (n_nodes - 1)
    raw[:, 0:2] = np.frombuffer(depth.to_bytes(2, "big"), dtype=np.uint8)
    raw[:, 2:4] = counts.view(np.uint8).reshape(n_nodes, 2)
    return list(zip(numbers.tolist(), map(bytearray, raw), strict=True))


class BoxSpool:
    """Ids and R*Tree boxes gathered chunk by chunk, for :func:`load_spool`.

    Up to ``memory_rows`` rows (default :data:`MEMORY_ROWS`) are kept in memory; beyond, every
    row goes to an anonymous temporary file (24 bytes a row) in ``directory`` (or the system's
    temporary folder), which the system removes when it is closed — also when the process is
    killed. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, directory: Path | None = None, memory_rows: int | None = None) -> None:
        self.directory = directory
        self.memory_rows = MEMORY_ROWS if memory_rows is None else memory_rows
        self.parts: list[np.ndarray] = []
        self.file: IO[bytes] | None = None
        self.n = 0
        self.cx = [math.inf, -math.inf]  # range of the x centres (min_x + max_x)
        self.id_range = [np.iinfo(np.int64).max, np.iinfo(np.int64).min]

    def __enter__(self) -> BoxSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, ids: np.ndarray, boxes: np.ndarray) -> None:
        """Add rows: ``ids`` and their ``(n, 4)`` boxes as given by :func:`rtree_boxes`."""
        if not len(ids):
            return
        rec = np.empty(len(ids), dtype=_RECORD)
        rec["id"], rec["box"] = ids, boxes
        cx = _centres(rec, 0)
        self.cx = [min(self.cx[0], float(cx.min())), max(self.cx[1], float(cx.max()))]
        self.id_range = [min(self.id_range[0], int(rec["id"].min())),
                         max(self.id_range[1], int(rec["id"].max()))]
        if self.file is None and self.n + len(rec) > self.memory_rows:
            self.file = _temp_file(self.directory)
            for part in self.parts:
                _write_at(self.file, self.file.tell(), part)
            self.parts = []
        if self.file is not None:
            _write_at(self.file, self.n * _RECORD.itemsize, rec)
        else:
            self.parts.append(rec)
        self.n += len(rec)

    def records(self) -> np.ndarray:
        """All rows (``id``, ``box``) of a spool kept in memory."""
        if self.file is not None:
            raise ValueError("the spool is in a file: read it with chunks()")
        return np.concatenate(self.parts) if self.parts else np.empty(0, dtype=_RECORD)

    def chunks(self, rows: int) -> Iterator[np.ndarray]:
        """The rows in the order they were added, ``rows`` at a time."""
        if self.file is None:
            yield from self.parts
            return
        for start in range(0, self.n, rows):
            yield _read_at(self.file, start, min(rows, self.n - start), _RECORD)

    def close(self) -> None:
        """Drop the rows (and the temporary file)."""
        self.parts = []
        if self.file is not None:
            self.file.close()
            self.file = None


def spool_dir(conn: sqlite3.Connection) -> Path | None:
    """The folder of ``conn``'s main database file (None for a database in memory)."""
    for _, db, file in conn.execute("PRAGMA database_list"):
        if db == "main" and file:
            return Path(file).parent
    return None


def _temp_file(directory: Path | None) -> IO[bytes]:
    """An anonymous temporary file in ``directory``, else in the system's temporary folder."""
    if directory is not None:
        try:
            return tempfile.TemporaryFile(prefix="survatlas-rtree-", dir=directory)
        except OSError:  # a read-only folder: the system's temporary folder will do
            pass
    return tempfile.TemporaryFile(prefix="survatlas-rtree-")


def _write_at(file: IO[bytes], row_offset_bytes: int, array: np.ndarray) -> None:
    file.seek(row_offset_bytes)
    file.write(np.ascontiguousarray(array).view(np.uint8).data)


def _read_at(file: IO[bytes], start: int, count: int, dtype: np.dtype) -> np.ndarray:
    """``count`` records of ``dtype`` from record number ``start``."""
    out = np.empty(count, dtype=dtype)
    file.seek(start * dtype.itemsize)
    got = file.readinto(out.view(np.uint8).data)  # type: ignore[attr-defined]
    if got != out.nbytes:
        raise OSError(f"temporary file of the R*Tree packing is short ({got} of {out.nbytes})")
    return out


def _centres(rec: np.ndarray, axis: int) -> np.ndarray:
    """x (``axis`` 0) or y (1) centres ×2, as float32 like :func:`_str_order`."""
    box = rec["box"]
    return box[:, 2 * axis] + box[:, 2 * axis + 1]


class _OutOfCore:
    """The out-of-core packing of a spooled layer (steps 1–4 of the module's docstring)."""

    def __init__(
        self, conn: sqlite3.Connection, name: str, spool: BoxSpool, capacity: int, node_size: int
    ) -> None:
        self.conn, self.name, self.spool = conn, name, spool
        self.capacity, self.node_size = capacity, node_size
        n = spool.n
        pages = math.ceil(n / capacity)
        group_max = max(capacity, GROUP_ROWS // capacity * capacity)
        # the STR slab (capped: beyond ~GROUP_ROWS² / capacity rows, slabs get thinner)
        self.slab = min(math.ceil(math.sqrt(pages)) * capacity, group_max)
        self.group = max(1, group_max // self.slab) * self.slab
        self.n_groups = math.ceil(n / self.group)
        lo, hi = spool.cx
        self.lo, self.scale = lo, (_BINS / (hi - lo) if hi > lo else 0.0)
        # ranges of ids for the rowid map: GROUP_ROWS ids each (wider if the ids are sparse)
        self.id_lo = spool.id_range[0]
        id_count = spool.id_range[1] - self.id_lo + 1
        most = 4 * math.ceil(n / GROUP_ROWS) + 16
        self.id_span = max(GROUP_ROWS, math.ceil(id_count / most))
        self.n_buckets = (id_count - 1) // self.id_span + 1

    def _bins(self, rec: np.ndarray) -> np.ndarray:
        x = (_centres(rec, 0).astype(np.float64) - self.lo) * self.scale
        return np.clip(x.astype(np.int64), 0, _BINS - 1)

    def _buckets(self, ids: np.ndarray) -> np.ndarray:
        return (ids - self.id_lo) // self.id_span

    def run(self) -> None:
        """Write the nodes, the parent map and the rowid map (the tables are empty)."""
        hist = np.zeros(_BINS, dtype=np.int64)
        bucket_rows = np.zeros(self.n_buckets, dtype=np.int64)
        for rec in self.spool.chunks(GROUP_ROWS):
            hist += np.bincount(self._bins(rec), minlength=_BINS)
            bucket_rows += np.bincount(self._buckets(rec["id"]), minlength=self.n_buckets)
        with _temp_file(self.spool.directory) as groups, _temp_file(self.spool.directory) as leaves:
            self._partition(hist, groups)
            del hist
            leaf_ids, leaf_boxes = self._leaves(groups, leaves, bucket_rows)
            next_no = int(leaf_ids[-1]) + 1
            nodes, parents, _ = _pack_levels(
                leaf_ids, leaf_boxes, self.capacity, self.node_size, next_no=next_no, depth=1,
                rows=False,
            )
            self.conn.executemany(f"INSERT INTO {self.name}_node (nodeno, data) VALUES (?, ?)",
                                  nodes)
            self.conn.executemany(
                f"INSERT INTO {self.name}_parent (nodeno, parentnode) VALUES (?, ?)", parents
            )
            self._rowids(leaves, bucket_rows)

    def _partition(self, hist: np.ndarray, groups: IO[bytes]) -> None:
        """Give each row its x position and slab; write it to its group's part of ``groups``."""
        first_of_bin = np.cumsum(hist) - hist
        seen = np.zeros(_BINS, dtype=np.int64)
        filled = np.arange(self.n_groups, dtype=np.int64) * self.group  # next record per group
        for rec in self.spool.chunks(GROUP_ROWS):
            b = self._bins(rec)
            order = np.argsort(b, kind="stable")
            b_sorted = b[order]
            rank_in_chunk = np.arange(len(b)) - np.searchsorted(b_sorted, b_sorted, side="left")
            position = first_of_bin[b_sorted] + seen[b_sorted] + rank_in_chunk  # increasing
            seen += np.bincount(b, minlength=_BINS)
            keyed = np.empty(len(rec), dtype=_KEYED)
            keyed["id"], keyed["box"] = rec["id"][order], rec["box"][order]
            keyed["slab"] = position // self.slab
            cuts = np.searchsorted(position // self.group, np.arange(self.n_groups + 1))
            for g in np.flatnonzero(np.diff(cuts)):
                part = keyed[cuts[g] : cuts[g + 1]]
                _write_at(groups, int(filled[g]) * _KEYED.itemsize, part)
                filled[g] += len(part)

    def _leaves(
        self, groups: IO[bytes], leaves: IO[bytes], bucket_rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sort each group by slab and y, write its leaves; the leaf numbers and boxes."""
        n, cap = self.spool.n, self.capacity
        filled = np.cumsum(bucket_rows) - bucket_rows  # next record per id range
        carry = np.empty(0, dtype=_KEYED)
        numbers: list[np.ndarray] = []
        boxes: list[np.ndarray] = []
        next_no = 2
        for g in range(self.n_groups):
            start = g * self.group
            rec = _read_at(groups, start, min(self.group, n - start), _KEYED)
            rec = rec[np.lexsort((_centres(rec, 1), rec["slab"]))]
            rec = np.concatenate([carry, rec]) if len(carry) else rec
            take = len(rec) if g == self.n_groups - 1 else len(rec) // cap * cap
            rec, carry = rec[:take], rec[take:]
            if not take:
                continue
            ids, box = rec["id"], np.ascontiguousarray(rec["box"])
            k = math.ceil(take / cap)
            here = np.arange(next_no, next_no + k)
            self.conn.executemany(
                f"INSERT INTO {self.name}_node (nodeno, data) VALUES (?, ?)",
                _blobs(ids, box, here, cap, 0, self.node_size),
            )
            numbers.append(here)
            boxes.append(_node_boxes(box, cap))
            next_no += k
            pairs = np.empty(take, dtype=_LEAF)
            pairs["id"], pairs["leaf"] = ids, np.repeat(here, cap)[:take]
            bucket = self._buckets(ids)
            order = np.argsort(bucket, kind="stable")
            pairs, bucket = pairs[order], bucket[order]
            cuts = np.searchsorted(bucket, np.arange(self.n_buckets + 1))
            for b in np.flatnonzero(np.diff(cuts)):
                _write_at(leaves, int(filled[b]) * _LEAF.itemsize, pairs[cuts[b] : cuts[b + 1]])
                filled[b] += cuts[b + 1] - cuts[b]
        return np.concatenate(numbers), np.concatenate(boxes)

    def _rowids(self, leaves: IO[bytes], bucket_rows: np.ndarray) -> None:
        """Write the rowid → leaf map range of ids by range of ids, in id order."""
        json = _has_json(self.conn)
        start = 0
        for count in bucket_rows.tolist():
            if count:
                pairs = _read_at(leaves, start, count, _LEAF)
                pairs = pairs[np.argsort(pairs["id"])]
                _write_rowids(self.conn, f"{self.name}_rowid", np.ascontiguousarray(pairs["id"]),
                              np.ascontiguousarray(pairs["leaf"]), json)
                start += count
