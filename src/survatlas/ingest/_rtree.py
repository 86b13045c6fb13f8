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
"""

from __future__ import annotations

import math
import sqlite3

import numpy as np

#: rtree.c: RNDTOWARDS / RNDAWAY, the factors of its outward rounding to 32-bit floats
_TOWARDS = 1.0 - 1.0 / 8388608.0
_AWAY = 1.0 + 1.0 / 8388608.0
_ROWID_BATCH = 100_000
_CELL = np.dtype([("id", ">i8"), ("box", ">f4", (4,))])


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
    node_size = conn.execute(f"SELECT length(data) FROM {name}_node WHERE nodeno = 1").fetchone()
    if node_size is None:
        return False
    capacity = (int(node_size[0]) - 4) // _CELL.itemsize
    nodes, parents, leaf_of = _pack(
        np.asarray(ids, dtype=np.int64), boxes, capacity, int(node_size[0])
    )
    try:
        conn.execute("SAVEPOINT rtree_bulk")
    except sqlite3.OperationalError:
        return False
    try:
        for table in ("node", "parent", "rowid"):
            conn.execute(f"DELETE FROM {name}_{table}")
        conn.executemany(f"INSERT INTO {name}_node (nodeno, data) VALUES (?, ?)", nodes)
        conn.executemany(f"INSERT INTO {name}_parent (nodeno, parentnode) VALUES (?, ?)", parents)
        _write_rowids(conn, f"{name}_rowid", np.asarray(ids, dtype=np.int64), leaf_of)
    except sqlite3.DatabaseError:
        conn.execute("ROLLBACK TO rtree_bulk")
        conn.execute("RELEASE rtree_bulk")
        return False
    conn.execute("RELEASE rtree_bulk")
    return True


def _write_rowids(conn: sqlite3.Connection, table: str, ids: np.ndarray, leaf: np.ndarray) -> None:
    """Fill the rowid → leaf map; consecutive ids go in one statement (half the time)."""
    if len(ids) and ids[-1] - ids[0] == len(ids) - 1 and (np.diff(ids) == 1).all():
        sql = f"INSERT INTO {table} (rowid, nodeno) SELECT ? + key, value FROM json_each(?)"
        try:
            for start in range(0, len(ids), _ROWID_BATCH):  # batches bound the text's memory
                part = leaf[start : start + _ROWID_BATCH].tolist()
                conn.execute(sql, (int(ids[start]), "[" + ",".join(map(str, part)) + "]"))
            return
        except sqlite3.OperationalError:  # an SQLite without JSON functions
            conn.execute(f"DELETE FROM {table}")
    conn.executemany(
        f"INSERT INTO {table} (rowid, nodeno) VALUES (?, ?)",
        zip(ids.tolist(), leaf.tolist(), strict=True),
    )


def _pack(
    ids: np.ndarray, boxes: np.ndarray, capacity: int, node_size: int
) -> tuple[list[tuple[int, bytearray]], list[tuple[int, int]], np.ndarray]:
    """Pack level by level: (node number, blob) pairs, (child, parent) pairs, leaf of each id."""
    nodes: list[tuple[int, bytearray]] = []
    parents: list[tuple[int, int]] = []
    leaf_of = np.ones(len(ids), dtype=np.int64)
    entry_ids, entry_boxes, depth, next_no = ids, boxes, 0, 2
    children_level = True  # the entries of the first level are rows, not nodes
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
        starts = np.arange(0, len(entry_ids), capacity)
        entry_boxes = np.stack(
            [
                np.minimum.reduceat(entry_boxes[:, 0], starts),
                np.maximum.reduceat(entry_boxes[:, 1], starts),
                np.minimum.reduceat(entry_boxes[:, 2], starts),
                np.maximum.reduceat(entry_boxes[:, 3], starts),
            ],
            axis=1,
        )
        entry_ids, next_no, depth, children_level = numbers, next_no + n_nodes, depth + 1, False


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
