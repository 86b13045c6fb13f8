"""Find places, streets and devices by name: the map's search box.

Places are named sites (squares, parks, stations, schools …), streets are grouped by name (one
hit per street, with the extent of all its segments), devices match by id, name or operator.
Every query reads through the publish gate (:func:`survatlas.store.gate.audience_clause`).
"""

from __future__ import annotations

from typing import Any

from survatlas.errors import InputError
from survatlas.store import Store
from survatlas.store.gate import audience_clause, numbering

__all__ = ["MAX_RESULTS", "search"]

MAX_RESULTS = 50
_MAX_QUERY = 100


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _names(alias: str = "") -> str:
    """SQL text of a row's name and its ``name:xx`` tags (what a name search looks in)."""
    p = f"{alias}." if alias else ""
    return f"coalesce({p}name, '') || ' ' || coalesce((SELECT group_concat(value, ' ') FROM json_each({p}tags) WHERE key LIKE 'name:%' OR key IN ('alt_name', 'official_name', 'old_name')), '')"


def _places(store: Store, pattern: str, audience: str, limit: int) -> list[dict[str, Any]]:
    rows = store.query(
        f"SELECT id, name, category, min_x, min_y, max_x, max_y FROM sites "
        f"WHERE {audience_clause(audience)} AND name IS NOT NULL "
        f"AND {_names()} LIKE ? ESCAPE '\\' ORDER BY length(name), name, id LIMIT ?",
        (pattern, limit),
    )
    numbers = numbering(store, "sites", audience)
    return [
        {
            "kind": "place",
            "id": numbers.public(r[0]),
            "label": r[1],
            "detail": str(r[2]).replace("_", " "),
            "bbox": [r[3], r[4], r[5], r[6]],
        }
        for r in rows
    ]


def _streets(store: Store, pattern: str, audience: str, limit: int) -> list[dict[str, Any]]:
    rows = store.query(
        f"SELECT name, min(min_x), min(min_y), max(max_x), max(max_y), count(*), "
        f"group_concat(DISTINCT highway) FROM streets "
        f"WHERE {audience_clause(audience)} AND name IS NOT NULL "
        f"AND {_names()} LIKE ? ESCAPE '\\' GROUP BY name ORDER BY length(name), name LIMIT ?",
        (pattern, limit),
    )
    return [
        {
            "kind": "street",
            "label": r[0],
            "detail": f"street · {r[5]} segment{'s' if r[5] != 1 else ''}",
            "bbox": [r[1], r[2], r[3], r[4]],
        }
        for r in rows
    ]


def _devices(store: Store, text: str, pattern: str, audience: str, limit: int) -> list[dict]:
    numbers = numbering(store, "devices", audience)  # ids are public numbers, both ways
    wanted = numbers.row(int(text)) if text.isdigit() and len(text) < 19 else None
    wanted = -1 if wanted is None else wanted
    rows = store.query(
        f"SELECT id, origin, device_type, operator, name, lon, lat FROM devices "
        f"WHERE {audience_clause(audience)} AND (id = ? OR origin LIKE ? ESCAPE '\\' "
        f"OR operator LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\') "
        f"ORDER BY id = ? DESC, id LIMIT ?",
        (wanted, pattern, pattern, pattern, wanted, limit),
    )
    out = []
    for r in rows:
        number = numbers.public(r[0])
        bits = [str(r[2]).replace("_", " ")]
        if r[3]:
            bits.append(f"operator {r[3]}")
        out.append(
            {
                "kind": "device",
                "id": number,
                "label": r[4] or f"{str(r[2]).replace('_', ' ')} {number}",
                "detail": f"{' · '.join(bits)} · {r[1]}",
                "lon": r[5],
                "lat": r[6],
            }
        )
    return out


def search(
    store: Store, text: str, *, audience: str = "public", limit: int = 20
) -> dict[str, Any]:
    """Places, streets and devices whose name (or device id, origin, operator) contains ``text``.

    Parameters
    ----------
    store
        The store to search.
    text
        What to look for (case-insensitive for ASCII letters; 2 to 100 characters, or a
        device id).
    audience
        Sensitivity gate: only records this audience may see are found.
    limit
        Most hits per kind (1 to :data:`MAX_RESULTS`).

    Returns
    -------
    dict
        ``query`` and ``results``: places first, then streets, then devices; each hit has
        ``kind``, ``label``, ``detail`` and a ``bbox`` (places, streets) or ``lon``/``lat``.

    Raises
    ------
    InputError
        Text too short or too long, or a limit out of range.
    """
    text = " ".join(str(text).split())
    if not (len(text) >= 2 or text.isdigit()) or len(text) > _MAX_QUERY:
        raise InputError(f"search text must be 2 to {_MAX_QUERY} characters (or a device id)")
    if not 1 <= limit <= MAX_RESULTS:
        raise InputError(f"limit must be between 1 and {MAX_RESULTS}")
    pattern = _like(text)
    results = (
        _places(store, pattern, audience, limit)
        + _streets(store, pattern, audience, limit)
        + _devices(store, text, pattern, audience, limit)
    )
    return {"query": text, "results": results}
