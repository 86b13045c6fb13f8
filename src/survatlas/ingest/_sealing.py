"""Sealing of confidential map rows as they are written (:class:`~survatlas.ingest._writer.LayerWriter`).

Protected fields are encrypted (:func:`survatlas.store.encryption.seal_row`), the content hash
used to recognise a re-import is keyed, and the origin of a row made from a file — which names
the file and the row (``layer:shelters.geojson:3``) — becomes ``sealed:<hex>``, an HMAC of it
under the store's key: the same file imported again finds its record; nobody without the key
learns or confirms the name.
"""

from __future__ import annotations

from survatlas.errors import SecurityError
from survatlas.ingest._records import _ORIGIN, LAYER_COLUMNS, ROW_COLUMNS, RowChunk
from survatlas.store.encryption import (
    Key,
    keyed_digest,
    load_key,
    require_key,
    seal_row,
    seal_warnings,
)

#: the origin of a confidential record made from a file: a keyed hash of the clear origin
SEALED_PREFIX = "sealed:"


def seal_chunk(chunk: RowChunk) -> RowChunk:
    """The chunk with the protected fields of its confidential rows encrypted (seal_row).

    Their ``content_sha`` becomes a keyed hash (:func:`keyed_sha`): a plain hash beside an
    encrypted row would let anyone confirm a guess of its content. Importing again still
    changes nothing (the store has one key).
    """
    names = ROW_COLUMNS[chunk.layer][1:] if chunk.osm else ROW_COLUMNS[chunk.layer]
    sens = chunk.columns[names.index("sensitivity")]
    if "confidential" not in sens:
        return chunk
    at = {name: k for k, name in enumerate(names)}
    fields = ("tags", "sensitivity", *LAYER_COLUMNS[chunk.layer])
    columns = [list(col) for col in chunk.columns]
    sha = at["content_sha"]
    for row, level in enumerate(sens):
        if level == "confidential":
            sealed = seal_row(chunk.layer, {f: columns[at[f]][row] for f in fields})
            for f in fields:
                columns[at[f]][row] = sealed.get(f)
            columns[sha][row] = keyed_sha(columns[sha][row])
            if not chunk.osm:  # a file's name and row id say what the record is
                columns[_ORIGIN][row] = sealed_origin(
                    columns[_ORIGIN][row], require_key(why="a confidential record")
                )
    warnings = chunk.warnings
    if warnings is not None:
        warnings = [seal_warnings(level, w) for level, w in zip(sens, warnings, strict=True)]
    return RowChunk(chunk.layer, columns, chunk.bounds, warnings, chunk.osm, chunk.checked)


def sealed_origin(origin: str, key: Key) -> str:
    """``sealed:<hex>``: the origin of a confidential row (``layer:shelters.geojson:3`` names
    the file and the row) as an HMAC under the store's key — the same file imported again
    finds its record, and nobody without the key learns or confirms the name."""
    if is_sealed_origin(origin):
        return origin
    return SEALED_PREFIX + keyed_digest(key, origin, "origin").removeprefix("hmac:")


def is_sealed_origin(origin: object) -> bool:
    """Whether ``origin`` is a sealed one (:func:`sealed_origin`)."""
    return isinstance(origin, str) and origin.startswith(SEALED_PREFIX)


def key_or_none() -> Key | None:
    """The data key in force, if any."""
    try:
        return load_key()
    except SecurityError:
        return None


def keyed_sha(sha: str) -> str:
    """The content hash kept beside a confidential row (HMAC with the store's key)."""
    if sha.startswith("hmac:"):
        return sha
    return keyed_digest(require_key(why="a confidential record"), sha, "content-sha")


