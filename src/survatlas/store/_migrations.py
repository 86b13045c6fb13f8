"""Versioned schema migrations as decorated functions (sqlite-utils style).

Each module in :mod:`survatlas.store.migrations` registers functions with :func:`migration`.
They are applied in name order, each in its own transaction, and recorded in ``_migrations``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

APPLICATION_ID = 0x53555256  # "SURV"

Migration = Callable[[sqlite3.Connection], None]
_REGISTRY: dict[str, Migration] = {}


def migration(name: str) -> Callable[[Migration], Migration]:
    """Register a schema migration under a unique, sortable ``name`` (e.g. ``m0001_foundation``)."""

    def register(fn: Migration) -> Migration:
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise RuntimeError(f"two migrations are named {name}")
        _REGISTRY[name] = fn
        return fn

    return register


def _load_all() -> dict[str, Migration]:
    from survatlas.store import migrations as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{info.name}")
    return dict(sorted(_REGISTRY.items()))


def pending_migrations(conn: sqlite3.Connection) -> list[str]:
    """Names of the migrations not yet applied to ``conn``."""
    known = _load_all()
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='_migrations'"
    ).fetchone()
    done = set()
    if has_table:
        done = {r[0] for r in conn.execute("SELECT name FROM _migrations")}
    return [name for name in known if name not in done]


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Apply every pending migration, each in one transaction; return their names."""
    todo = pending_migrations(conn)
    if not todo:
        return []
    known = _load_all()
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        for name in pending_migrations(conn):
            known[name](conn)
            conn.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat(timespec="seconds")),
            )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return todo


def add_rtree(conn: sqlite3.Connection, table: str) -> None:
    """Create ``{table}_rtree`` and the triggers that keep it in step on update and delete.

    ``table`` must have columns ``id``, ``min_x``, ``min_y``, ``max_x``, ``max_y``. New rows are
    indexed by the bulk insert path (:class:`survatlas.ingest._writer.LayerWriter`), one
    statement per chunk, which is twice as fast as a per-row trigger.
    """
    conn.execute(f"CREATE VIRTUAL TABLE {table}_rtree USING rtree(id, min_x, max_x, min_y, max_y)")
    cols = "NEW.id, NEW.min_x, NEW.max_x, NEW.min_y, NEW.max_y"
    conn.execute(
        f"CREATE TRIGGER {table}_rtree_upd AFTER UPDATE OF min_x, min_y, max_x, max_y ON {table} "
        f"BEGIN DELETE FROM {table}_rtree WHERE id = OLD.id; "
        f"INSERT INTO {table}_rtree VALUES ({cols}); END"
    )
    conn.execute(
        f"CREATE TRIGGER {table}_rtree_del AFTER DELETE ON {table} BEGIN "
        f"DELETE FROM {table}_rtree WHERE id = OLD.id; END"
    )
