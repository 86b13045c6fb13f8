"""The schema a store must have: exactly what its migrations build, nothing more or less.

A trigger, view, table or index that the migrations did not create was put there by someone
else — e.g. ``AFTER INSERT ON devices … SET sensitivity = 'public'`` in a doctored backup —
and a missing one (the append-only triggers of the custody log) was dropped. ``verify`` (so
``restore`` and ``archive import``) reports both.
"""

from __future__ import annotations

import re
import sqlite3
from functools import lru_cache

from survatlas.store._migrations import apply_migrations

_SPACE = re.compile(r"\s+")
_SQL = (
    "SELECT type, name, tbl_name, sql FROM sqlite_master "
    "WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
)


def _normal(sql: str) -> str:
    return _SPACE.sub(" ", sql).strip().rstrip(";")


def _objects(conn: sqlite3.Connection) -> dict[tuple[str, str], tuple[str, str]]:
    """``(type, name)`` -> ``(table, normalised SQL)`` of every schema object."""
    return {(t, n): (tbl, _normal(sql)) for t, n, tbl, sql in conn.execute(_SQL)}


@lru_cache(maxsize=1)
def expected_schema() -> dict[tuple[str, str], tuple[str, str]]:
    """The schema the migrations build (in a scratch in-memory database)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        apply_migrations(conn)
        return _objects(conn)
    finally:
        conn.close()


def schema_problems(conn: sqlite3.Connection) -> list[str]:
    """Every schema object added, dropped or changed compared with :func:`expected_schema`."""
    want, have = expected_schema(), _objects(conn)
    problems = []
    for kind, name in sorted(set(have) - set(want)):
        problems.append(
            f"a {kind} {name!r} on {have[kind, name][0]} that survatlas did not create: the store "
            "was altered outside survatlas (restore another backup, or remove it after review)"
        )
    for kind, name in sorted(set(want) - set(have)):
        problems.append(f"the {kind} {name!r} of the schema is missing: it was dropped")
    for key in sorted(set(want) & set(have)):
        if want[key] != have[key]:
            problems.append(f"the {key[0]} {key[1]!r} differs from the one survatlas creates")
    return problems
