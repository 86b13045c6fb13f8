"""The store of record: one SQLite file per store.

Geometry is WKB in EPSG:4326; every geometry table has an R*Tree bounding-box index kept in step
by triggers. Writes happen inside :meth:`Store.transaction` so an import is all-or-nothing (a
crash, an exception or a ``kill -9`` leaves the store as it was: SQLite's WAL rolls back an
unfinished transaction). Schema changes are migrations in :mod:`survatlas.store.migrations`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from survatlas.errors import NotAStoreError, StoreError
from survatlas.store._migrations import APPLICATION_ID, apply_migrations, pending_migrations

__all__ = ["GEOMETRY_TABLES", "MAX_ROW_ID", "Store", "create_private_file", "open_store"]

GEOMETRY_TABLES = ("devices", "buildings", "streets", "sites")
#: the largest row id SQLite can hold (a larger number names no record: 404, not a crash)
MAX_ROW_ID = 2**63 - 1
#: how long a write waits for another process's write to end before giving up (seconds)
LOCK_TIMEOUT_S = 30.0

# Python's sqlite3 binds a None parameter only after looking it up through the adaptation
# protocol (a key tuple, a registry lookup and two attribute lookups: ~1 µs each time on the
# benchmark machine, 5 % of a small OSM import). With an adapter registered for NoneType the
# registry answers at once; the value bound is still NULL (``{}.get(None)`` is None).
sqlite3.register_adapter(type(None), {}.get)
# The same look-up for every bytes parameter (a WKB footprint, a view's region blobs): an
# adapter that returns its argument binds the same BLOB at once (≈ 12 % of inserting a
# coverage run's 50,000 view rows).
sqlite3.register_adapter(bytes, bytes)


class Store:
    """A survatlas store (SQLite, WAL, foreign keys on).

    Parameters
    ----------
    path
        The store file.
    create
        Create the file when it does not exist. When False, a missing file is an error.
    """

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not self.path.exists() and not create:
            raise StoreError(
                f"no store at {self.path}: import data first (survatlas import osm FILE) "
                "or choose a store with --db"
            )
        if self.path.is_dir():
            raise NotAStoreError(
                f"{self.path} is a folder, not a survatlas store: give a file path"
            )
        if not self.path.exists():  # a new store is its owner's only (WAL and SHM follow)
            create_private_file(self.path)
        self.conn = _connect(self.path)
        _check_is_store(self.conn, self.path)
        try:
            apply_migrations(self.conn)
        except sqlite3.OperationalError as exc:
            self.conn.close()
            raise store_failure(exc, self.path) from exc

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block in one write transaction: all of it lands, or none of it.

        A read-only store, a full disk or a lock held by another process too long is a
        :class:`StoreError` of one line (see :func:`store_failure`), never a traceback.
        """
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise store_failure(exc, self.path) from exc
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):
                raise store_failure(exc, self.path) from exc
            raise

    @contextmanager
    def bulk_transaction(self) -> Iterator[sqlite3.Connection]:
        """:meth:`transaction` with foreign-key enforcement off, for replacing large derived
        tables (a coverage run's results) whose references the caller has checked.

        SQLite checks every inserted row's parent and cannot truncate a table with foreign
        keys while enforcement is on; off, replacing a 10 km city's coverage results takes a
        fraction of the CPU. ``PRAGMA foreign_keys`` only changes outside a transaction, so
        it is turned off before ``BEGIN`` and restored in ``finally`` (after a commit, a
        rollback or an error). The caller must make sure, inside the write lock, that every
        row it writes references a row that exists (e.g. that the inputs it read are
        unchanged): nothing checks them here. The ``ON DELETE CASCADE`` clauses still hold
        for every later write.

        Raises
        ------
        StoreError
            Called inside another transaction (enforcement could not be turned off).
        """
        if self.conn.in_transaction:
            raise StoreError("a bulk write cannot start inside another transaction; "
                             "nothing was written")
        enforced = bool(self.conn.execute("PRAGMA foreign_keys").fetchone()[0])
        self.conn.execute("PRAGMA foreign_keys = OFF")
        try:
            with self.transaction() as conn:
                yield conn
        finally:
            if enforced:
                self.conn.execute("PRAGMA foreign_keys = ON")

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        """Run a read query and return all rows."""
        return self.conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: tuple | dict = ()) -> object:
        """Run a query returning one value."""
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def ids_in_bbox(self, table: str, bbox: tuple[float, float, float, float]) -> list[int]:
        """Ids of ``table`` rows whose bounding box meets ``bbox`` (west, south, east, north)."""
        if table not in GEOMETRY_TABLES:
            raise StoreError(f"{table!r} has no geometry index; use one of {GEOMETRY_TABLES}")
        w, s, e, n = bbox
        rows = self.conn.execute(
            f"SELECT id FROM {table}_rtree WHERE max_x >= ? AND min_x <= ? "
            "AND max_y >= ? AND min_y <= ?",
            (w, e, s, n),
        )
        return [r[0] for r in rows]


def open_store(path: str | Path, *, create: bool = False) -> Store:
    """Open an existing store (or create one with ``create=True``).

    Parameters
    ----------
    path : str or Path
        The SQLite file of the store.
    create : bool
        Create the file (and apply every migration) when it does not exist; otherwise a missing
        file is an error that says to run an import first.

    Returns
    -------
    Store
        Use it as a context manager so the connection is closed.

    Examples
    --------
    ::

        with open_store("survatlas.db") as store:
            print(store.query("SELECT count(*) FROM devices")[0][0])
    """
    return Store(path, create=create)


def create_private_file(path: Path) -> None:
    """Create an empty file readable and writable by its owner only (mode 0600)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(
            f"cannot create the store {path.name} ({exc.strerror}): check the folder exists "
            "and is writable"
        ) from exc


def store_failure(exc: sqlite3.OperationalError, path: Path) -> StoreError:
    """One line that says what stopped a write to the store and what to do about it."""
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text:
        return StoreError(
            f"the store {path.name} is read-only (file permissions or a read-only disk): make "
            "it writable or copy it somewhere writable; nothing was written"
        )
    if "full" in text:
        return StoreError(
            "the disk holding the store is full: free some space and retry; nothing was written"
        )
    if "locked" in text or "busy" in text:
        return StoreError(
            f"the store {path.name} is busy with another survatlas process (waited "
            f"{LOCK_TIMEOUT_S:g} s): let it finish and retry; nothing was written"
        )
    if "unable to open" in text or "disk i/o" in text:
        return StoreError(
            f"the store {path.name} cannot be written ({exc}): check the disk and the folder's "
            "permissions; nothing was written"
        )
    return StoreError(f"the store {path.name} refused the write ({exc}); nothing was written")


def _connect(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=LOCK_TIMEOUT_S)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.OperationalError as exc:
        raise store_failure(exc, path) from exc
    except sqlite3.DatabaseError as exc:
        raise NotAStoreError(
            f"{path} is not a survatlas store ({exc}); choose another file with --db"
        ) from exc
    return conn


def _check_is_store(conn: sqlite3.Connection, path: Path) -> None:
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        n_tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise NotAStoreError(
            f"{path} is not a survatlas store ({exc}); choose another file with --db"
        ) from exc
    if app_id != APPLICATION_ID and n_tables > 0:
        conn.close()
        raise NotAStoreError(
            f"{path} is an SQLite database of another application, not a survatlas store; "
            "choose another file with --db"
        )


def needs_migration(path: str | Path) -> bool:
    """Whether the store at ``path`` has migrations not yet applied."""
    conn = _connect(Path(path))
    try:
        return bool(pending_migrations(conn))
    finally:
        conn.close()
