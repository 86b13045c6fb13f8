"""Upsert of normalised records into the store, with change detection and counts."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely

from survatlas.errors import InputError
from survatlas.ingest import _rtree
from survatlas.ingest._checks import insert_checked_once, null_by_default
from survatlas.ingest._levels import SENSITIVITY_TAG as _SENS_TAG
from survatlas.ingest._levels import lowering_refused, rank, row_level
from survatlas.ingest._records import (
    _ORIGIN,
    _SHA,
    _VERSION,
    ROW_COLUMNS,
    LayerCounts,
    Record,
    RowChunk,
    records_chunk,
)
from survatlas.ingest._sealing import (
    SEALED_PREFIX,
    is_sealed_origin,
    key_or_none,
    keyed_sha,
    seal_chunk,
    sealed_origin,
)
from survatlas.ingest._stored_keys import StoredKeys
from survatlas.store.states import TableHasher

_CATEGORY = ROW_COLUMNS["sites"].index("category")
_TAGS, _SENS = ROW_COLUMNS["sites"].index("tags"), ROW_COLUMNS["sites"].index("sensitivity")
#: devices whose warnings are kept before they are written
_WARN_ROWS = 20_000
_FETCH_ROWS = 100_000
_OSM_ORIGIN_SQL = "'osm:' || ?{} || '/' || ?{}"

def write_layer(
    conn: sqlite3.Connection,
    layer: str,
    source_id: int,
    records: Sequence[Record],
    *,
    declassify: bool = False,
) -> LayerCounts:
    """Write all ``records`` to ``layer`` (see :class:`LayerWriter`); return the counts."""
    return write_records(conn, layer, source_id, records, declassify=declassify)[0]


def write_records(
    conn: sqlite3.Connection,
    layer: str,
    source_id: int,
    records: Sequence[Record],
    *,
    declassify: bool = False,
) -> tuple[LayerCounts, str]:
    """:func:`write_layer`, also returning the most protected level written (for the source)."""
    return write_chunk(
        conn, layer, source_id, records_chunk(layer, records) if records else None,
        declassify=declassify,
    )


def write_chunk(
    conn: sqlite3.Connection,
    layer: str,
    source_id: int,
    chunk: RowChunk | None,
    *,
    declassify: bool = False,
) -> tuple[LayerCounts, str]:
    """:func:`write_records` of rows already laid out by column (a layer built column-wise);
    the counts and the most protected level written."""
    writer = LayerWriter(conn, layer, source_id, declassify=declassify)
    if chunk is not None and len(chunk):
        writer.add(chunk)
    return writer.finish(), writer.max_level


class LayerWriter:
    """Insert new rows, update changed or newer ones, count the rest — chunk by chunk.

    A row whose OSM version is older than the stored one is skipped (the store keeps the newer
    object). Must be used inside one transaction.

    Sensitivity is an invariant of the store, kept here for every importer
    (:mod:`survatlas.ingest._levels`): a row's own ``sensitivity`` attribute wins over the
    level it was read with; a stored record is never lowered (a differing row at a lower level
    is refused) unless ``declassify``. :attr:`max_level` is the most protected level written;
    an importer raises the file's source to it (:func:`write_records`,
    :func:`provenance.sources.raise_source_level`).

    Speed (see docs/benchmarks.md): rows whose key was not in the table when the writer started
    are inserted with one ``executemany`` per chunk under a savepoint, with no Python work per
    row; only when the table's ``UNIQUE`` key rejects one (the same object twice in one file) is
    the chunk rolled back to the savepoint and written row by row. New rows enter the R*Tree at
    :meth:`finish`: when they outnumber the rows already there, the whole index is rebuilt by
    packing (:mod:`survatlas.ingest._rtree`, ~10x faster than inserting), else with one
    ``INSERT … SELECT``. Updates and deletes keep the index in step through triggers.
    The fast path checks the tables' one CHECK (sensitivity) once per chunk
    (:func:`survatlas.ingest._checks.insert_checked_once`); a table filled from empty hashes its custody digest as
    it is written (:attr:`hasher`, :func:`survatlas.store.states.written_digests`).
    """

    def __init__(
        self, conn: sqlite3.Connection, layer: str, source_id: int, *, declassify: bool = False
    ) -> None:
        self.conn, self.layer, self.source_id = conn, layer, source_id
        self.declassify = declassify
        #: the most protected level written
        self.max_level = "public"
        self.counts = LayerCounts()
        self.existing = StoredKeys(conn, layer)
        self.rows_before = len(self.existing)
        self.first_new_id = self.next_id = (
            int(conn.execute(f"SELECT coalesce(max(id), 0) FROM {layer}").fetchone()[0]) + 1
        )
        self.warn_rows: list[tuple[int, Sequence[Any]]] = []
        #: boxes of the rows inserted by the fast path, for the packed R*Tree (None: read table)
        self.new_boxes: _rtree.BoxSpool | None = (
            _rtree.BoxSpool(_rtree.spool_dir(conn)) if not self.existing else None
        )
        #: SQL of the indexes dropped while the table is filled, built again by :meth:`finish`
        self.deferred: list[str] = []
        #: the custody digest of a table filled from empty, built from the rows as written
        #: (None once a row is written otherwise: the digest is then read from the table)
        self.hasher: TableHasher | None = (
            TableHasher(layer, key_or_none()) if not self.existing else None
        )

    def _sql(self) -> tuple[str, str]:
        """INSERT (id first) and UPDATE (id last) of full rows."""
        cols = (*ROW_COLUMNS[self.layer], "min_x", "min_y", "max_x", "max_y")
        source = int(self.source_id)
        insert = (
            f"INSERT INTO {self.layer} (id, source_id, {', '.join(cols)}) "
            f"VALUES (?1, {source}, {', '.join(_marks(cols, 2))})"
        )
        sets = ", ".join(f"{c} = {m}" for c, m in zip(cols, _marks(cols, 1), strict=True))
        update = f"UPDATE {self.layer} SET source_id = {source}, {sets} WHERE id = ?{len(cols) + 1}"
        return insert, update

    def _fast_sql(self, absent: tuple[str, ...], osm: bool) -> str:
        """INSERT of a chunk's columns as they come, but those ``absent`` (all NULL).

        For an OSM chunk SQLite makes the origin. Leaving out NULL columns matters: Python's
        sqlite3 module binds ``None`` (and ``bytes``) through its adapter lookup, which formats
        and drops an AttributeError each time (~0.3 µs per value; ``bytearray`` is bound
        directly).
        """
        names = ROW_COLUMNS[self.layer][1:] if osm else ROW_COLUMNS[self.layer]
        cols = tuple(c for c in names if c not in absent)
        cols = (*cols, "min_x", "min_y", "max_x", "max_y")
        marks = ", ".join(_marks(cols, 2))
        if not osm:
            return (
                f"INSERT INTO {self.layer} (id, source_id, {', '.join(cols)}) "
                f"VALUES (?1, {int(self.source_id)}, {marks})"
            )
        origin = _OSM_ORIGIN_SQL.format(cols.index("osm_type") + 2, cols.index("osm_id") + 2)
        return (
            f"INSERT INTO {self.layer} (id, source_id, origin, {', '.join(cols)}) "
            f"VALUES (?1, {int(self.source_id)}, {origin}, {marks})"
        )

    def add(self, chunk: RowChunk) -> None:
        """Write one chunk of rows."""
        self._add(chunk)
        if len(self.warn_rows) >= _WARN_ROWS:  # written as they come: memory stays bounded
            self._write_warnings()

    def _add(self, chunk: RowChunk) -> None:
        n = len(chunk)
        if not n:
            return
        bounds = chunk.boxes()
        finite = np.isfinite(bounds).all(axis=1)
        if not finite.all():
            bad = chunk.origin(int(np.flatnonzero(~finite)[0]))
            raise InputError(f"{bad} has an empty or invalid geometry; fix or remove it and retry")
        if not (chunk.osm or chunk.checked):  # OSM node locations are finite by construction
            _check_vertices(chunk)
        self._resolve_levels(chunk)
        if chunk.warnings is not None:
            self.counts.warned += sum(1 for w in chunk.warnings if w)
        clear, chunk = chunk, seal_chunk(chunk)
        insert_sql, update_sql = self._sql()
        if self.existing:
            self._add_known(chunk, insert_sql, update_sql, self._alternatives(clear, chunk))
            return
        if self.next_id == self.first_new_id and self.layer != "devices":
            self._defer_indexes()
        first = self.next_id
        names = ROW_COLUMNS[self.layer][1:] if chunk.osm else ROW_COLUMNS[self.layer]
        absent = tuple(  # all-NULL columns that are NULL when left out
            c for c, col in zip(names, chunk.columns, strict=True)
            if c in self._null_by_default() and col.count(None) == n
        )
        columns = [col for c, col in zip(names, chunk.columns, strict=True) if c not in absent]
        sql = self._fast_sql(absent, chunk.osm)
        rows = zip(range(first, first + n), *columns, *bounds.T.tolist(), strict=True)
        if self._try_insert(sql, rows, n):
            if self.new_boxes is not None:  # 24 bytes a row, in a temporary file beyond a limit
                self.new_boxes.append(np.arange(first, first + n), _rtree.rtree_boxes(bounds))
            if self.hasher is not None:
                self.hasher.update(self._digested(chunk, first))
            if chunk.warnings is not None:
                self.warn_rows.extend(zip(range(first, first + n), chunk.warnings, strict=True))
        else:
            self._add_one_by_one(chunk.rows(), chunk.warnings, insert_sql, update_sql,
                                 self._alternatives(clear, chunk))

    def _digested(self, chunk: RowChunk, first: int) -> list[Sequence[Any]]:
        """The :data:`~survatlas.store.states.MAP_COLUMNS` of a chunk as written from id
        ``first`` on (an OSM chunk's origin as SQLite makes it)."""
        names = ROW_COLUMNS[self.layer][1:] if chunk.osm else ROW_COLUMNS[self.layer]
        cols = chunk.columns
        n = len(chunk)
        if chunk.osm:
            origins: Sequence[Any] = [
                f"osm:{t}/{i}" for t, i in zip(cols[0], cols[1], strict=True)
            ]
        else:
            origins = cols[_ORIGIN]
        return [range(first, first + n), origins, [int(self.source_id)] * n,
                cols[names.index("sensitivity")], cols[names.index("geom")]]

    def _null_by_default(self) -> frozenset[str]:
        """Columns of the table that hold NULL when an INSERT leaves them out (nullable, no
        default)."""
        if not hasattr(self, "_nullable"):
            self._nullable = null_by_default(self.conn, self.layer)
        return self._nullable

    def _alternatives(self, clear: RowChunk, sealed: RowChunk) -> list[tuple | None]:
        """Per row, the other form of its key: the clear origin of a sealed row, the sealed
        origin of a clear one — so that a re-import at another level finds the record.

        A clear row's sealed form needs the key; without it, a layer holding sealed origins
        cannot be re-imported (a confidential record would not be recognised, and the rule
        that a re-import never lowers a level could not hold).
        """
        if sealed.osm:
            return [None] * len(sealed)
        key = key_or_none()
        if key is None and self._has_sealed():
            raise InputError(
                f"the {self.layer} of this store include confidential records whose origins "
                "are sealed with the key: give the key (--key-file or SURVATLAS_KEY_FILE) so "
                "that this import recognises them; nothing was written"
            )
        out: list[tuple | None] = []
        for row, origin in zip(sealed.rows(), clear.columns[_ORIGIN], strict=True):
            other = origin if is_sealed_origin(row[_ORIGIN]) else (
                sealed_origin(origin, key) if key is not None else None
            )
            out.append(None if other is None else (other, *self._key(row)[1:]))
        return out

    def _has_sealed(self) -> bool:
        if not hasattr(self, "_sealed_rows"):
            self._sealed_rows = self.conn.execute(
                f"SELECT 1 FROM {self.layer} WHERE origin >= ? AND origin < ? LIMIT 1",
                (SEALED_PREFIX, SEALED_PREFIX[:-1] + chr(ord(SEALED_PREFIX[-1]) + 1)),
            ).fetchone() is not None
        return self._sealed_rows

    def _resolve_levels(self, chunk: RowChunk) -> None:
        """Give each row its own ``sensitivity`` attribute's level (not for OSM objects)."""
        names = ROW_COLUMNS[self.layer][1:] if chunk.osm else ROW_COLUMNS[self.layer]
        levels = chunk.columns[names.index("sensitivity")]
        if not chunk.osm:  # only rows whose tags hold a sensitivity can differ from given
            tags = chunk.columns[names.index("tags")]
            for k in [k for k, text in enumerate(tags) if text and _SENS_TAG in text]:
                levels[k] = row_level(tags[k], levels[k], chunk.origin(k))
        top = max(set(levels), key=rank)
        if rank(top) > rank(self.max_level):
            self.max_level = top

    def _try_insert(self, insert_sql: str, rows: Any, n: int) -> bool:
        """Insert rows with fresh ids under a savepoint; False (and nothing written) on a clash."""
        self.conn.execute("SAVEPOINT layer_chunk")
        try:
            insert_checked_once(self.conn, self.layer, insert_sql, rows, self.next_id - 1)
        except sqlite3.IntegrityError:
            self.conn.execute("ROLLBACK TO layer_chunk")
            self.conn.execute("RELEASE layer_chunk")
            if self.deferred:  # no unique index now: not a duplicate, a broken row
                raise
            return False
        self.conn.execute("RELEASE layer_chunk")
        self.next_id += n
        self.counts.added += n
        return True

    def _add_known(
        self, chunk: RowChunk, insert_sql: str, update_sql: str, alts: list[tuple | None]
    ) -> None:
        """Rows against a table that had rows: classify by key (or its other, sealed or clear
        form), then insert the new ones."""
        rows = chunk.rows()
        self.existing.prefetch(
            [row[_ORIGIN] for row in rows] + [a[0] for a in alts if a is not None]
        )
        warnings = chunk.warnings or [()] * len(rows)
        new_rows, new_warnings, new_alts, updates = [], [], [], []
        for row, alt, warns in zip(rows, alts, warnings, strict=True):
            old = self.existing.get(self._key(row))
            if old is None and alt is not None:
                old = self.existing.get(alt)
            if old is None:
                new_alts.append(alt)
                new_rows.append(row)
                new_warnings.append(warns)
            elif self._classify(row, old):
                updates.append((*row, old[0]))
                self.existing[self._key(row)] = (old[0], row[_VERSION], row[_SHA], row[_SENS])
                if chunk.warnings is not None:
                    self.warn_rows.append((old[0], warns))
        self.conn.executemany(update_sql, updates)
        first = self.next_id
        ids = range(first, first + len(new_rows))
        numbered = [(i, *r) for i, r in zip(ids, new_rows, strict=True)]
        if self._try_insert(insert_sql, numbered, len(new_rows)):
            if chunk.warnings is not None:
                self.warn_rows.extend(zip(ids, new_warnings, strict=True))
        else:
            self._add_one_by_one(new_rows, new_warnings if chunk.warnings else None, insert_sql,
                                 update_sql, new_alts)

    def _add_one_by_one(
        self, rows: list[tuple], warnings: list | None, insert_sql: str, update_sql: str,
        alts: list[tuple | None],
    ) -> None:
        """The slow path: look every row up in the table (the same object twice in a file)."""
        self._drop_new_boxes()
        self.hasher = None
        key_sql = (
            f"SELECT id, osm_version, content_sha, sensitivity FROM {self.layer} WHERE origin = ?"
        )
        if self.layer == "sites":
            key_sql += " AND category = ?"
        for k, row in enumerate(rows):
            old = self.conn.execute(key_sql, self._key(row)).fetchone()
            if old is None and alts[k] is not None:
                old = self.conn.execute(key_sql, alts[k]).fetchone()
            if old is None:
                row_id = self.next_id
                self.conn.execute(insert_sql, (row_id, *row))
                self.next_id += 1
                self.counts.added += 1
            elif self._classify(row, tuple(old)):
                row_id = old[0]
                self.conn.execute(update_sql, (*row, row_id))
            else:
                continue
            if warnings is not None:
                self.warn_rows.append((row_id, warnings[k]))

    def _key(self, row: tuple) -> tuple:
        """Identity in its table (sites are unique per origin and category)."""
        if self.layer == "sites":
            return (row[_ORIGIN], row[_CATEGORY])
        return (row[_ORIGIN],)

    def _classify(self, row: tuple, old: tuple) -> bool:
        """Count a row whose key is stored; True when it must be written over the stored one."""
        return self._classify_versions(
            row[_VERSION], row[_SHA], row[_SENS], old[1], old[2], old[3], row[_ORIGIN]
        )

    def _classify_versions(
        self, version: int | None, sha: str, level: str,
        old_version: int | None, old_sha: str, old_level: str, origin: str,
    ) -> bool:
        if rank(level) < rank(old_level):  # the one place a record could lose its level
            if old_level == "confidential":  # its stored hash is keyed: compare alike
                sha = keyed_sha(sha)
            if not self.declassify:
                if old_sha == sha:
                    self.counts.unchanged += 1
                    self.counts.kept_level += 1
                    return False
                raise lowering_refused(origin, old_level, level)
            self.counts.declassified += 1
        elif old_sha == sha and level == old_level:
            self.counts.unchanged += 1
            return False
        if version is not None and old_version is not None and version < old_version:
            self.counts.skipped_older += 1
            return False
        self.counts.updated += 1
        return True

    def _defer_indexes(self) -> None:
        """Drop the table's indexes while it is filled from empty (unique ones first to rebuild).

        Building an index once from sorted keys costs a fraction of updating it row by row
        (1M buildings: 0.3 s against 2.1 s for the unique key). Duplicates within the import
        are then found when the unique index is built again (:meth:`_restore_indexes`).
        """
        rows = self.conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL ORDER BY sql LIKE 'CREATE UNIQUE%' DESC, name",
            (self.layer,),
        ).fetchall()
        for name, sql in rows:
            self.conn.execute(f'DROP INDEX "{name}"')
            self.deferred.append(sql)

    def _restore_indexes(self) -> None:
        for sql in self.deferred:
            try:
                self.conn.execute(sql)
            except sqlite3.IntegrityError:  # the same object more than once in the import
                self._merge_duplicates()
                self.conn.execute(sql)
        self.deferred = []

    def _merge_duplicates(self) -> None:
        """Keep one row per key, as if the rows had been written one after the other.

        A later row equal to the kept one counts as unchanged, an older OSM version as skipped,
        anything else overwrites the kept row (keeping its id) and counts as updated.
        """
        key = "origin, category" if self.layer == "sites" else "origin"
        rows = self.conn.execute(
            f"SELECT id, {key}, osm_version, content_sha, sensitivity FROM {self.layer} "
            f"WHERE ({key}) IN "
            f"(SELECT {key} FROM {self.layer} GROUP BY {key} HAVING count(*) > 1) "
            f"ORDER BY {key}, id"
        ).fetchall()
        cols = ", ".join(c for c in (*ROW_COLUMNS[self.layer], "source_id", "min_x", "min_y",
                                     "max_x", "max_y"))
        kept: dict[tuple, list] = {}
        for row in rows:
            row_id, version, sha, level = row[0], row[-3], row[-2], row[-1]
            k = tuple(row[1:-3])
            if k not in kept:
                kept[k] = [row_id, version, sha, level]
                continue
            self.counts.added -= 1
            current = kept[k]
            if self._classify_versions(
                version, sha, level, current[1], current[2], current[3], str(k[0])
            ):
                self.conn.execute(
                    f"UPDATE {self.layer} SET ({cols}) = "
                    f"(SELECT {cols} FROM {self.layer} WHERE id = ?) WHERE id = ?",
                    (row_id, current[0]),
                )
                current[1], current[2], current[3] = version, sha, level
            self.conn.execute(f"DELETE FROM {self.layer} WHERE id = ?", (row_id,))
        self._drop_new_boxes()
        self.hasher = None

    def _drop_new_boxes(self) -> None:
        """Forget the new rows' boxes (the R*Tree will read them from the table)."""
        if self.new_boxes is not None:
            self.new_boxes.close()
            self.new_boxes = None

    def finish(self) -> LayerCounts:
        """Index the new rows, write the devices' data-quality warnings; return the counts."""
        self._restore_indexes()
        self._index_new_rows()
        self._write_warnings()
        return self.counts

    def _write_warnings(self) -> None:
        """Replace the data-quality warnings of the devices written since the last call.

        Device ids are final when a row is written (the devices table keeps its indexes while
        it fills, so no duplicates are merged later).
        """
        if self.warn_rows:
            self.conn.executemany(
                "DELETE FROM device_warnings WHERE device_id = ?", [(i,) for i, _ in self.warn_rows]
            )
            self.conn.executemany(
                "INSERT INTO device_warnings (device_id, key, value, kind, message) "
                "VALUES (?, ?, ?, ?, ?)",
                [(i, w.key, w.value, w.kind, w.message) for i, ws in self.warn_rows for w in ws],
            )
            self.warn_rows = []

    def _index_new_rows(self) -> None:
        """Put the rows inserted since the writer started into the R*Tree."""
        try:
            if self.next_id == self.first_new_id:
                return
            rtree, cols = f"{self.layer}_rtree", "id, min_x, max_x, min_y, max_y"
            if self.next_id - self.first_new_id >= self.rows_before:
                with self._all_boxes() as spool:
                    if _rtree.load_spool(self.conn, rtree, spool):
                        self.first_new_id = self.next_id
                        return
            self.conn.execute(
                f"INSERT OR REPLACE INTO {rtree} SELECT {cols} FROM {self.layer} WHERE id >= ?",
                (self.first_new_id,),
            )
            self.first_new_id = self.next_id
        finally:
            self._drop_new_boxes()

    def _all_boxes(self) -> _rtree.BoxSpool:
        """Ids and R*Tree boxes of every row of the layer (bounded memory: see BoxSpool)."""
        if self.new_boxes is not None and not self.rows_before:
            spool, self.new_boxes = self.new_boxes, None
            return spool
        spool = _rtree.BoxSpool(_rtree.spool_dir(self.conn))
        rows = self.conn.execute(f"SELECT id, min_x, min_y, max_x, max_y FROM {self.layer}")
        while batch := rows.fetchmany(_FETCH_ROWS):
            data = np.array(batch, dtype=np.float64).reshape(-1, 5)
            spool.append(data[:, 0].astype(np.int64), _rtree.rtree_boxes(data[:, 1:]))
        return spool


def _check_vertices(chunk: RowChunk) -> None:
    """Refuse a chunk with a NaN or infinite vertex (its bounds can still look finite).

    Such a geometry would be stored, then break every analysis and tile drawn over it.
    """
    geoms = shapely.from_wkb(chunk.columns[ROW_COLUMNS[chunk.layer].index("geom")])
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        origin = chunk.origin(int(index[np.flatnonzero(bad)[0]]))
        raise InputError(
            f"{origin} has a NaN or infinite coordinate; fix or remove that feature and import "
            "again; nothing was written"
        )


def _marks(cols: Sequence[str], first: int) -> list[str]:
    """Numbered parameters ``?first …`` for ``cols``."""
    return [f"?{first + k}" for k in range(len(cols))]
