"""What a custody entry records of the record it is about: its state after the write.

The entry of every write to a token, claim or source (``token:12``, ``claim:3``, ``source:7``)
holds the record's levels, roles and statuses as values (``state.sensitivity`` …) and a keyed
hash of its content (``state.digest``: HMAC-SHA-256 with a key derived from the store's data
key; a plain SHA-256, marked as such, when no key is in force). ``verify`` recomputes both
from the table and names the record and the field that differ, so ``UPDATE tokens SET
revoked_at = NULL`` or a sensitivity flip made with ``sqlite3`` is found; and a token whose
last entry says *revoked* is refused whatever its row says (:func:`logged_state`).

Map records (devices, buildings, streets, sites) are too many for one entry each: the entry of
every write to them (``import``, ``record.delete``) holds a keyed digest of each map table's
id, origin, source, sensitivity and geometry (``tables.devices`` …, :func:`table_digest`), and
``verify`` recomputes it, so a level or a geometry edited with ``sqlite3`` is found (named by
table and by the entry it departs from).

An insider who also appends a forged entry must recompute the chain (found by a notarised
anchor) and, for the digest, hold the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from itertools import chain, repeat
from typing import Any

from survatlas.store.encryption import Key

#: kind of subject -> (table, columns logged as values, columns of the content digest)
STATE: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "token": ("tokens", ("role", "revoked"), ("name", "role", "token_hash", "revoked_at")),
    "claim": (
        "claims",
        ("status", "sensitivity", "source_id"),
        ("source_id", "subject_type", "subject_id", "subject_key", "statement", "quantity",
         "value", "low", "high", "unit", "as_of", "method", "quote", "confidence", "status",
         "derived", "sensitivity"),
    ),
    "source": (
        "sources",
        ("sensitivity", "kind", "original_of"),
        ("kind", "title", "uri", "sha256", "licence", "attribution", "sensitivity", "url",
         "archived_url", "publisher", "author", "published_date", "language", "original_of",
         "reliability", "note"),
    ),
}
PREFIX = "state."
#: map tables whose content digest the entries of their writes hold
MAP_TABLES = ("devices", "buildings", "streets", "sites")
#: the columns of a map record covered by its table's digest
MAP_COLUMNS = ("id", "origin", "source_id", "sensitivity", "geom")
#: actions that write map records (their entries hold ``tables.<name>`` digests)
MAP_WRITES = frozenset({"import", "record.delete"})
TABLE_PREFIX = "tables."


def _row(conn: sqlite3.Connection, kind: str, record_id: int) -> dict[str, Any] | None:
    table = STATE[kind][0]
    cur = conn.execute(f"SELECT * FROM {table} WHERE id = ?", (record_id,))
    row = cur.fetchone()
    if row is None:
        return None
    out = dict(zip([d[0] for d in cur.description], tuple(row), strict=True))
    if kind == "token":
        out["revoked"] = out.get("revoked_at") is not None
    return out


def _subject(subject: str | None) -> tuple[str, int] | None:
    kind, _, ident = (subject or "").partition(":")
    if kind in STATE and ident.isdigit():
        return kind, int(ident)
    return None


def digest(kind: str, row: dict[str, Any], key: Key | None) -> str:
    """The content hash of a record: keyed when a key is in force."""
    columns = STATE[kind][2]
    values = [row.get(c) for c in columns]
    text = json.dumps(
        [base64.b64encode(v).decode() if isinstance(v, bytes) else v for v in values],
        sort_keys=True, separators=(",", ":"),
    ).encode()
    if key is None:
        return "sha256:" + hashlib.sha256(text).hexdigest()
    sub = hmac.new(key.secret, b"survatlas-record-state-v1", hashlib.sha256).digest()
    return f"hmac:{key.key_id}:" + hmac.new(sub, text, hashlib.sha256).hexdigest()


def _hasher(key: Key | None, purpose: bytes) -> tuple[Any, str]:
    if key is None:
        return hashlib.sha256(), "sha256:"
    sub = hmac.new(key.secret, purpose, hashlib.sha256).digest()
    return hmac.new(sub, digestmod=hashlib.sha256), f"hmac:{key.key_id}:"


def table_digest(conn: sqlite3.Connection, table: str, key: Key | None) -> str:
    """The content hash of a map table: every row's :data:`MAP_COLUMNS`, in id order (keyed
    when a key is in force, as record states are)."""
    if table not in MAP_TABLES:
        raise ValueError(f"{table!r} is not a map table")
    mac, mark = _hasher(key, b"survatlas-map-table-v1")
    rows = conn.cursor()
    rows.row_factory = None  # plain tuples (a Row object per row costs more than the hash)
    rows.execute(f"SELECT {', '.join(MAP_COLUMNS)} FROM {table} ORDER BY id")
    while batch := rows.fetchmany(_DIGEST_BATCH):
        mac.update(_framed(batch))
    return mark + mac.hexdigest()


#: rows hashed at a time by :func:`table_digest`
_DIGEST_BATCH = 20_000


def _framed(rows: list[tuple]) -> bytes:
    """Every value of ``rows``, row by row, as its 8-byte big-endian length and its bytes
    (text as UTF-8, anything else but bytes as ``str``): what :func:`table_digest` hashes.

    Built a column at a time with C-level ``map`` where a column holds one plain type (a large
    import's digest cost ~8 µs a row value by value).
    """
    return framed_columns(list(zip(*rows, strict=True)))


def framed_columns(columns: Sequence[Sequence[Any]]) -> bytes:
    """:func:`_framed` of rows given by column (``bytearray`` values count as bytes).

    A column of one repeated text or whole number (an import's source id, its sensitivity)
    is framed once, and merged with its constant neighbours: a third less work on an OSM
    import's rows.
    """
    n = len(columns[0]) if columns else 0
    parts: list[Any] = []  # a list of pieces per row, or the one piece of every row (bytes)
    for column in columns:
        if (value := _constant(column)) is not None:
            piece = len(value).to_bytes(8, "big") + value
            if parts and isinstance(parts[-1], bytes):
                parts[-1] += piece
            else:
                parts.append(piece)
            continue
        data = _encoded(column)
        lengths = list(map(len, data))
        prefix = {k: k.to_bytes(8, "big") for k in set(lengths)}
        parts += [list(map(prefix.__getitem__, lengths)), data]
    rows = (repeat(p, n) if isinstance(p, bytes) else p for p in parts)
    return b"".join(chain.from_iterable(zip(*rows, strict=True)))


def _constant(column: Sequence[Any]) -> bytes | None:
    """The encoded value of a column that repeats one ``str`` or ``int`` (else None)."""
    if not column or type(first := column[0]) not in (str, int):
        return None
    if isinstance(column, range) or column.count(first) != len(column):
        return None
    if set(map(type, column)) != {type(first)}:  # 1 == 1.0 == True, but their texts differ
        return None
    return first.encode() if type(first) is str else str(first).encode()


def _encoded(column: Sequence[Any]) -> Sequence[Any]:
    kinds = set(map(type, column))
    if kinds <= {bytes, bytearray}:
        return column
    if kinds <= {str}:
        return list(map(str.encode, column))
    if kinds <= {int}:
        return list(map(str.encode, map(str, column)))
    return [v if isinstance(v, (bytes, bytearray)) else str(v).encode() for v in column]


class TableHasher:
    """:func:`table_digest` of a map table built from its rows as they are written.

    An importer that fills an empty table in id order feeds it every row's
    :data:`MAP_COLUMNS` (:meth:`update`, by column) instead of reading the table back: the
    same bytes, hashed the same way, so the digest is the one :func:`table_digest` computes.
    It is only used through :func:`written_digests`, which drops it if the table changes after.
    """

    def __init__(self, table: str, key: Key | None) -> None:
        self.table = table
        self.key_id = key.key_id if key is not None else ""
        self.mac, self.mark = _hasher(key, b"survatlas-map-table-v1")

    def update(self, columns: Sequence[Sequence[Any]]) -> None:
        """Hash rows given as the columns of :data:`MAP_COLUMNS`, in id order."""
        if len(columns) != len(MAP_COLUMNS):
            raise ValueError(f"{len(columns)} columns given, {len(MAP_COLUMNS)} expected")
        self.mac.update(framed_columns(columns))

    def digest(self) -> str:
        """The table's digest (hashing can go on after)."""
        return self.mark + self.mac.copy().hexdigest()


_WRITTEN = "survatlas_written_digests"


@contextmanager
def written_digests(conn: sqlite3.Connection, hashers: Sequence[TableHasher]) -> Iterator[None]:
    """Let :func:`map_state` take these tables' digests from ``hashers`` inside the block.

    Temporary triggers forget a table's digest as soon as a row of it is inserted, updated or
    deleted (by anything, on this connection), so that the digest logged is always the
    table's; the triggers and the temporary table are gone after the block.
    """
    if not hashers:
        yield
        return
    _drop_written(conn)
    conn.execute(f"CREATE TEMP TABLE {_WRITTEN} "
                 "(name TEXT PRIMARY KEY, key_id TEXT NOT NULL, digest TEXT NOT NULL)")
    conn.executemany(f"INSERT INTO temp.{_WRITTEN} VALUES (?, ?, ?)",
                     [(h.table, h.key_id, h.digest()) for h in hashers])
    for h in hashers:
        if h.table not in MAP_TABLES:
            raise ValueError(f"{h.table!r} is not a map table")
        for event in ("INSERT", "UPDATE", "DELETE"):
            conn.execute(
                f"CREATE TEMP TRIGGER {_WRITTEN}_{h.table}_{event.lower()} AFTER {event} "
                f"ON main.{h.table} BEGIN "
                f"DELETE FROM {_WRITTEN} WHERE name = '{h.table}'; END"
            )
    try:
        yield
    except BaseException:
        with suppress(sqlite3.Error):  # the transaction's rollback takes them away too
            _drop_written(conn)
        raise
    _drop_written(conn)


def _drop_written(conn: sqlite3.Connection) -> None:
    names = [r[0] for r in conn.execute(
        "SELECT name FROM temp.sqlite_master WHERE type = 'trigger' AND name LIKE ?",
        (_WRITTEN + "%",),
    )]
    for name in names:
        conn.execute(f"DROP TRIGGER temp.{name}")
    conn.execute(f"DROP TABLE IF EXISTS temp.{_WRITTEN}")


def _written(conn: sqlite3.Connection, key: Key | None) -> dict[str, str]:
    """The digests :func:`written_digests` holds (still valid) for this key."""
    if conn.execute(
        "SELECT 1 FROM temp.sqlite_master WHERE type = 'table' AND name = ?", (_WRITTEN,)
    ).fetchone() is None:
        return {}
    key_id = key.key_id if key is not None else ""
    return dict(conn.execute(
        f"SELECT name, digest FROM temp.{_WRITTEN} WHERE key_id = ?", (key_id,)
    ).fetchall())


def map_state(conn: sqlite3.Connection, action: str, key: Key | None) -> dict[str, str]:
    """The ``tables.*`` details of an entry: digests of every map table for a map write."""
    if action not in MAP_WRITES:
        return {}
    written = _written(conn, key)
    return {TABLE_PREFIX + t: written.get(t) or table_digest(conn, t, key) for t in MAP_TABLES}


def table_problems(conn: sqlite3.Connection, key: Key | None) -> tuple[list[str], list[str]]:
    """Map tables whose content differs from the digest of the last entry that holds one."""
    latest: dict[str, tuple[int, str]] = {}
    for seq, details in conn.execute(
        "SELECT seq, details FROM custody_log WHERE details LIKE '%\"tables.%' ORDER BY seq"
    ):
        for name, value in json.loads(details).items():
            if name.startswith(TABLE_PREFIX):
                latest[name.removeprefix(TABLE_PREFIX)] = (int(seq), str(value))
    problems: list[str] = []
    unchecked = 0
    for table, (seq, logged) in sorted(latest.items()):
        keyed = logged.startswith("hmac:")
        if keyed and (key is None or f":{key.key_id}:" not in logged):
            unchecked += 1
            continue
        if table_digest(conn, table, key if keyed else None) != logged:
            problems.append(
                f"{table}: the id, origin, source, sensitivity or geometry of a record differs "
                f"from the digest of its last write (custody seq {seq}): changed outside survatlas"
            )
    notes = [f"{unchecked} map-table digest(s) are keyed: give the key to check them"] \
        if unchecked else []
    return problems, notes


def record_state(conn: sqlite3.Connection, subject: str | None, key: Key | None) -> dict[str, Any]:
    """The ``state.*`` details of a write to ``subject`` (empty for other subjects)."""
    parsed = _subject(subject)
    if parsed is None:
        return {}
    row = _row(conn, *parsed)
    if row is None:
        return {}
    kind = parsed[0]
    state = {PREFIX + c: row.get(c) for c in STATE[kind][1]}
    state[PREFIX + "digest"] = digest(kind, row, key)
    return state


def logged_state(conn: sqlite3.Connection, subject: str) -> tuple[int, dict[str, Any]] | None:
    """The sequence number and ``state.*`` details of the last entry about ``subject``."""
    rows = conn.execute(
        "SELECT seq, details FROM custody_log WHERE subject = ? ORDER BY seq DESC", (subject,)
    )
    for seq, details in rows:
        state = {k: v for k, v in json.loads(details).items() if k.startswith(PREFIX)}
        if state:
            return int(seq), state
    return None


def state_problems(conn: sqlite3.Connection, key: Key | None) -> tuple[list[str], list[str]]:
    """Records whose values or content differ from their last custody entry: (problems, notes)."""
    problems: list[str] = []
    notes: list[str] = []
    latest: dict[str, tuple[int, dict[str, Any]]] = {}
    for seq, subject, details in conn.execute(
        "SELECT seq, subject, details FROM custody_log ORDER BY seq"
    ):
        if _subject(subject) is None:
            continue
        state = {k: v for k, v in json.loads(details).items() if k.startswith(PREFIX)}
        if state:
            latest[subject] = (int(seq), state)
    unchecked = 0
    for subject, (seq, state) in sorted(latest.items()):
        kind, record_id = _subject(subject)  # type: ignore[misc]
        row = _row(conn, kind, record_id)
        if row is None:
            problems.append(f"{subject} was deleted outside survatlas (last entry: seq {seq})")
            continue
        for name, logged in state.items():
            field = name.removeprefix(PREFIX)
            if field == "digest":
                continue
            if row.get(field) != logged:
                problems.append(
                    f"{subject}: {field} is {row.get(field)!r} but its last custody entry "
                    f"(seq {seq}) says {logged!r}: changed outside survatlas"
                )
        logged_digest = str(state.get(PREFIX + "digest", ""))
        keyed = logged_digest.startswith("hmac:")
        if keyed and (key is None or f":{key.key_id}:" not in logged_digest):
            unchecked += 1
            continue
        if logged_digest and digest(kind, row, key if keyed else None) != logged_digest:
            problems.append(
                f"{subject}: its content differs from its last custody entry (seq {seq}): "
                "changed outside survatlas"
            )
    if unchecked:
        notes.append(f"{unchecked} record digest(s) are keyed: give the key to check them")
    return problems, notes
