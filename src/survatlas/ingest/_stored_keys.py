"""The keys of the rows a layer holds when a writer starts (:class:`StoredKeys`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

#: stored rows up to which a layer's keys are all loaded into memory when an import starts
#: (~250 bytes a row); a larger layer is looked up chunk by chunk instead (memory bounded)
KEYMAP_MAX_ROWS = 1_000_000
_LOOKUP_BATCH = 500


class StoredKeys:
    """Key → ``(id, osm_version, content_sha, sensitivity)`` of the rows a layer had when the writer started.

    Up to :data:`KEYMAP_MAX_ROWS` rows, every key is loaded at once; beyond, :meth:`prefetch`
    looks up each chunk's keys in the table (through its unique index), so that updating a
    large store does not need memory in proportion to it. Both give the same answers: rows
    the import has written since are seen in the table, which the writer's slow path would
    look up anyway.
    """

    def __init__(self, conn: sqlite3.Connection, layer: str) -> None:
        self.conn, self.layer = conn, layer
        self.key = "origin, category" if layer == "sites" else "origin"
        self.width = 2 if layer == "sites" else 1
        if conn.execute(f"SELECT 1 FROM {layer} LIMIT 1").fetchone() is None:
            self.n = 0
        else:
            self.n = int(conn.execute(f"SELECT count(*) FROM {layer}").fetchone()[0])
        self.lookup = self.n > KEYMAP_MAX_ROWS
        self.map: dict[tuple, tuple] = {}
        if self.n and not self.lookup:
            self.map = self._select(
                f"SELECT {self.key}, id, osm_version, content_sha, sensitivity FROM {layer}"
            )

    def __len__(self) -> int:
        return self.n

    def _select(self, sql: str, params: Sequence[Any] = ()) -> dict[tuple, tuple]:
        w = self.width
        return {tuple(r[:w]): tuple(r[w:]) for r in self.conn.execute(sql, params)}

    def prefetch(self, origins: Sequence[str]) -> None:
        """Look up the stored rows of these origins (only for a large layer)."""
        if not self.lookup:
            return
        self.map = {}
        unique = list(dict.fromkeys(origins))
        for start in range(0, len(unique), _LOOKUP_BATCH):
            batch = unique[start : start + _LOOKUP_BATCH]
            self.map.update(self._select(
                f"SELECT {self.key}, id, osm_version, content_sha, sensitivity FROM {self.layer} "
                f"WHERE origin IN ({', '.join('?' * len(batch))})",
                batch,
            ))

    def get(self, key: tuple) -> tuple | None:
        """The stored row's ``(id, osm_version, content_sha, sensitivity)``, or None."""
        return self.map.get(key)

    def __setitem__(self, key: tuple, value: tuple) -> None:
        self.map[key] = value


