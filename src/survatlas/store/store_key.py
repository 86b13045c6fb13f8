"""One data key per store, enforced where writes are logged.

The first write made with a key in force records the key's public id (``store_key``); a
later write under another key is refused — a store whose confidential fields are encrypted
under two keys could not be read whole by anyone. ``verify`` reports ciphertexts of any other
key.
"""

from __future__ import annotations

import sqlite3

from survatlas.errors import SecurityError
from survatlas.store.encryption import KEY_FILE_ENV, PROTECTED_FIELDS, TEXT_PREFIX, Key

_SEALED_TAGS = "survatlas:encrypted"

_ID_AT = len(TEXT_PREFIX) + 1  # 1-based position of the key id in a text ciphertext


def _recorded(conn: sqlite3.Connection) -> str | bool | None:
    try:
        row = conn.execute("SELECT key_id FROM store_key WHERE id = 1").fetchone()
    except sqlite3.OperationalError:  # a store being built by its migrations
        return False
    return None if row is None else str(row[0])


def ciphertext_key_ids(conn: sqlite3.Connection) -> set[str]:
    """The ids of every key the store's text ciphertexts were made with."""
    ids: set[str] = set()
    for table, columns in PROTECTED_FIELDS.items():
        for col in columns:
            value = (  # sealed tags are JSON: {"survatlas:encrypted": "<ciphertext>"}
                f"json_extract({col}, '$.\"{_SEALED_TAGS}\"')" if col == "tags" else col
            )
            rows = conn.execute(
                f"SELECT DISTINCT substr({value}, ?, 16) FROM {table} "
                f"WHERE {col} LIKE ? OR {col} LIKE 'enc:%'",
                (_ID_AT, '{"' + _SEALED_TAGS + '%'),
            )
            ids.update(k for (k,) in rows if k)
    return ids


def check_store_key(conn: sqlite3.Connection, key: Key | None) -> None:
    """Refuse a write under a key other than the store's; record the key on first use."""
    if key is None:
        return
    recorded = _recorded(conn)
    if recorded is False:
        return
    if recorded is None:
        found = ciphertext_key_ids(conn) - {key.key_id}
        if found:
            _refuse(sorted(found)[0], key)
        conn.execute("INSERT INTO store_key (id, key_id) VALUES (1, ?)", (key.key_id,))
    elif recorded != key.key_id:
        _refuse(str(recorded), key)


def _refuse(store_id: str, key: Key) -> None:
    raise SecurityError(
        f"this store is encrypted with key {store_id}, but the key in force is {key.key_id}: "
        f"give the store's key file ({KEY_FILE_ENV}); nothing was written"
    )


def key_problems(conn: sqlite3.Connection) -> list[str]:
    """Ciphertexts made with a key other than the store's (for ``verify``)."""
    recorded = _recorded(conn)
    found = ciphertext_key_ids(conn)
    if recorded:
        found -= {recorded}
    elif len(found) == 1:
        return []
    return [f"confidential fields are encrypted with another key ({k}) than the store's"
            for k in sorted(found)]
