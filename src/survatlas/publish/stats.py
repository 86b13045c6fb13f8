"""What a store holds: counts by type, area, zone, mount, operator, vendor; tag completeness."""

from __future__ import annotations

from typing import Any

from survatlas.store import Store
from survatlas.store.gate import audience_clause, bbox_clause, numbering

_GROUPS = ("device_type", "area", "zone", "mount", "camera_type", "operator", "manufacturer")
_TOP = 15


def store_stats(
    store: Store,
    bbox: tuple[float, float, float, float] | None = None,
    *,
    audience: str = "public",
) -> dict[str, Any]:
    """Counts and completeness figures for the records ``audience`` may see.

    Returns
    -------
    dict
        ``devices`` (total, ``surveillance`` = ``man_made=surveillance`` nodes, counts by each
        of device_type / area / zone / mount / camera_type / operator / manufacturer — top 15,
        ``None`` as "(missing)"), ``completeness`` (share with direction, height, camera type,
        tilt), ``warnings_by_kind``, ``buildings`` (total, obstacles), ``streets`` (total,
        walkable), ``sites_by_category``, ``sources``, and ``method``.
    """
    where = {
        layer: _where(store, layer, bbox, audience)
        for layer in ("devices", "buildings", "streets", "sites")
    }
    dev_sql, dev_params = where["devices"]
    total = _count(store, "devices", where["devices"])
    result: dict[str, Any] = {
        "bbox": list(bbox) if bbox else None,
        "devices": {
            "total": total,
            "surveillance": int(
                store.scalar(
                    f"SELECT count(*) FROM devices WHERE {dev_sql} "
                    "AND json_extract(tags, '$.man_made') = 'surveillance'",
                    dev_params,
                )
                or 0
            ),
            **{f"by_{g}": _group(store, g, where["devices"]) for g in _GROUPS},
        },
        "completeness": _completeness(store, where["devices"], total),
        "warnings_by_kind": dict(
            store.query(
                f"SELECT kind, count(*) FROM device_warnings WHERE device_id IN "
                f"(SELECT id FROM devices WHERE {dev_sql}) GROUP BY kind ORDER BY 2 DESC",
                dev_params,
            )
        ),
        "buildings": {
            "total": _count(store, "buildings", where["buildings"]),
            "obstacles": _count(store, "buildings", where["buildings"], "obstacle = 1"),
        },
        "streets": {
            "total": _count(store, "streets", where["streets"]),
            "walkable": _count(store, "streets", where["streets"], "walkable = 1"),
        },
        "sites_by_category": dict(
            store.query(
                f"SELECT category, count(*) FROM sites WHERE {where['sites'][0]} GROUP BY 1 ORDER BY 1",
                where["sites"][1],
            )
        ),
        "sources": [
            {**dict(r), "id": numbering(store, "sources", audience).public(r["id"])}
            for r in store.query(
                f"SELECT id, kind, title, data_timestamp, licence FROM sources "
                f"WHERE {audience_clause(audience)} ORDER BY id"
            )
        ],
        "method": "counts of stored records visible to the audience "
        f"({audience}); bbox filter on record bounding boxes",
    }
    return result


def _where(store: Store, layer: str, bbox: Any, audience: str) -> tuple[str, tuple]:
    sql, params = bbox_clause(store, layer, bbox)
    return f"{audience_clause(audience)} AND {sql}", params


def _count(store: Store, table: str, where: tuple[str, tuple], extra: str = "1") -> int:
    return int(
        store.scalar(f"SELECT count(*) FROM {table} WHERE {where[0]} AND {extra}", where[1]) or 0
    )


def _group(store: Store, column: str, where: tuple[str, tuple]) -> dict[str, int]:
    rows = store.query(
        f"SELECT coalesce({column}, '(missing)'), count(*) FROM devices WHERE {where[0]} "
        f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {_TOP}",
        where[1],
    )
    return {r[0]: r[1] for r in rows}


def _completeness(store: Store, where: tuple[str, tuple], total: int) -> dict[str, float | None]:
    checks = {
        "direction": "views != '[]'",
        "height": "height_m IS NOT NULL",
        "camera_type": "camera_type IS NOT NULL",
        "tilt": "tilt_down_deg IS NOT NULL",
        "operator": "operator IS NOT NULL",
        "manufacturer": "manufacturer IS NOT NULL",
    }
    return {
        name: (round(_count(store, "devices", where, cond) / total, 4) if total else None)
        for name, cond in checks.items()
    }
