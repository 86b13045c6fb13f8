"""Delete a map record (a device, building, street or site), with a custody entry.

The way out for a bad row (a wrong place, a feature that should never have been imported):
the row, its data-quality warnings and its coverage rows go in one transaction with the entry
``record.delete`` (the record's kind, id and sensitivity; never its content or place).
"""

from __future__ import annotations

from typing import Any

from survatlas.errors import InputError, NotFoundError
from survatlas.store import MAX_ROW_ID, Store
from survatlas.store.custody import append_entry

#: the kinds of record ``delete`` accepts: subject prefix -> table
KINDS = {"device": "devices", "building": "buildings", "street": "streets", "site": "sites"}


def parse_record(text: str) -> tuple[str, int]:
    """``device:12`` -> ("device", 12); a clear :class:`InputError` otherwise."""
    kind, _, ident = text.partition(":")
    if kind not in KINDS or not ident.isdigit() or not 1 <= int(ident) <= MAX_ROW_ID:
        raise InputError(
            f"{text[:60]!r} is not a record: give KIND:ID with KIND one of "
            f"{', '.join(KINDS)} and ID a positive whole number, e.g. device:12"
        )
    return kind, int(ident)


def delete_record(store: Store, kind: str, record_id: int) -> dict[str, Any]:
    """Delete one record and log it; return what was deleted (kind, id, sensitivity).

    Raises
    ------
    NotFoundError
        When no such record exists (nothing is written).
    """
    table = KINDS[kind]
    with store.transaction() as conn:
        row = conn.execute(
            f"SELECT sensitivity FROM {table} WHERE id = ?", (record_id,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no {kind} with id {record_id}; see `survatlas stats`")
        conn.execute(f"DELETE FROM {table} WHERE id = ?", (record_id,))
        conn.execute(f"DELETE FROM {table}_rtree WHERE id = ?", (record_id,))
        append_entry(
            conn, "record.delete", f"{kind}:{record_id}", {"layer": table, "sensitivity": row[0]}
        )
    return {"kind": kind, "id": record_id, "sensitivity": row[0]}
