"""Bulk inserts that check a table's ``col IN (…)`` CHECK constraints once, not per row.

SQLite evaluates ``CHECK (col IN ('a', 'b', 'c'))`` by building the list into a temporary index
each time a statement runs — per row of an ``executemany`` — which costs ~6 µs a row and a
constraint (half of a map row's insert; 40 % of a device version's). :func:`insert_checked_once`
runs the inserts with ``PRAGMA ignore_check_constraints`` and then checks the new rows with one
query. The constraints are read from the table's schema, so a changed CHECK is checked as it
now reads; a table with any other form of CHECK is inserted into the ordinary way.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

_CHECK = re.compile(r"\bCHECK\s*\(", re.IGNORECASE)
_IN_LIST = re.compile(
    r"^\s*(\w+)\s+IN\s*\(\s*('[^']*'(?:\s*,\s*'[^']*')*)\s*\)\s*$", re.IGNORECASE | re.DOTALL
)


def in_list_checks(conn: sqlite3.Connection, table: str) -> list[tuple[str, tuple[str, ...]]] | None:
    """``[(column, allowed values)]`` of every CHECK of ``table``; None when one of them is not
    of the form ``column IN ('…', …)``."""
    sql = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    if sql is None:
        return None
    text, out = sql[0], []
    for match in _CHECK.finditer(text):
        body = _balanced(text, match.end())
        parsed = _IN_LIST.match(body) if body is not None else None
        if parsed is None:
            return None
        values = tuple(v.strip()[1:-1] for v in parsed.group(2).split(","))
        out.append((parsed.group(1), values))
    return out


def null_by_default(conn: sqlite3.Connection, table: str) -> frozenset[str]:
    """Columns of ``table`` that hold NULL when an INSERT leaves them out (nullable, no
    default): an import leaves out those that are NULL in every row of a batch, since binding
    None costs Python's ``sqlite3`` (3.11) about a microsecond a value."""
    return frozenset(
        name for _, name, _, notnull, default, _ in conn.execute(f"PRAGMA table_info({table})")
        if not notnull and default is None
    )


def _balanced(text: str, start: int) -> str | None:
    """The text from ``start`` to the parenthesis closing the one just before it."""
    depth, quoted = 1, False
    for k in range(start, len(text)):
        ch = text[k]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth == 0:
                return text[start:k]
    return None


def insert_checked_once(
    conn: sqlite3.Connection, table: str, insert_sql: str, rows: Any, after_id: int
) -> None:
    """``executemany(insert_sql, rows)`` into ``table``, whose new rows all get ids above
    ``after_id``, checking its CHECK constraints once for all of them.

    A row that breaks one raises the :class:`sqlite3.IntegrityError` SQLite would have raised
    (the caller rolls back); the pragma is off again whatever happens.
    """
    checks = in_list_checks(conn, table)
    if not checks:
        conn.executemany(insert_sql, rows)
        return
    conn.execute("PRAGMA ignore_check_constraints = ON")
    try:
        conn.executemany(insert_sql, rows)
    finally:
        conn.execute("PRAGMA ignore_check_constraints = OFF")
    tests = " OR ".join(f"{col} NOT IN ({', '.join('?' * len(vals))})" for col, vals in checks)
    params = [v for _, vals in checks for v in vals]
    bad = conn.execute(
        f"SELECT id, {', '.join(col for col, _ in checks)} FROM {table} "
        f"WHERE id > ? AND ({tests}) LIMIT 1",
        (after_id, *params),
    ).fetchone()
    if bad is not None:
        failed = [col for (col, vals), v in zip(checks, bad[1:], strict=True)
                  if v is not None and v not in vals]
        raise sqlite3.IntegrityError(
            f"CHECK constraint failed: {', '.join(failed)} (row {bad[0]} of {table} has "
            f"{', '.join(repr(v) for v in bad[1:])})"
        )
