"""The coverage tileset: streets and sites coloured by the share in view of the stored run.

One definition for the web map (``/tiles/coverage/…``) and the static site
(``tiles/coverage.pmtiles``): each feature carries, per DORI level, the ``typical`` scenario's
share of its length (streets) or area (sites) in view, from the run
:func:`survatlas.coverage.runs.require_run` accepts for the public. Every read joins the subject
table with :func:`survatlas.store.gate.audience_clause`.
"""

from __future__ import annotations

import shapely

from survatlas.coverage.runs import ANY_AREA, current_run, require_run
from survatlas.errors import SurvatlasError
from survatlas.publish.tiles import Features, TileLayer, TileQuery, register_tile_layer
from survatlas.store import Store
from survatlas.store.gate import audience_clause, bbox_clause, numbering

__all__ = ["TILESET", "TILE_LAYERS", "register_coverage_tiles", "typical_by_level"]

TILESET = "coverage"


def typical_by_level(
    store: Store, table: str, key: str, ids: list[int], audience: str = "public"
) -> dict[int, dict]:
    """Main-scenario share per level of ``ids``; nothing when there is no run or the run used a
    camera ``audience`` may no longer see (the figures would carry it)."""
    if not ids or current_run(store) is None:
        return {}
    try:
        run = require_run(store, bbox=ANY_AREA, audience=audience, check_inputs=False)
    except SurvatlasError:
        return {}
    scenario = run.main_scenario()
    marks = ",".join("?" * len(ids))
    share = "in_view_m / length_m" if table == "street_coverage" else "share"
    rows = store.query(
        f"SELECT {key}, level, {share} FROM {table} WHERE scenario = ? AND {key} IN ({marks})",
        (scenario, *ids),
    )
    found: dict[int, dict] = {}
    for r in rows:
        if r[2] is not None:
            found.setdefault(r[0], {})[r[1]] = round(float(r[2]), 4)
    return found


def read_street_coverage(store: Store, q: TileQuery) -> Features:
    """Streets with the typical share of their length in view, one property per DORI level."""
    where, params = bbox_clause(store, "streets", q.bbox)
    rows = store.query(
        f"SELECT geom, id FROM streets WHERE {audience_clause(q.audience)} AND {where}", params
    )
    shares = typical_by_level(
        store, "street_coverage", "street_id", [r[1] for r in rows], q.audience
    )
    rows = [r for r in rows if r[1] in shares]
    geoms = shapely.from_wkb([r[0] for r in rows]) if rows else []
    numbers = numbering(store, "streets", q.audience)
    return geoms, [{"id": numbers.public(r[1]), **shares[r[1]]} for r in rows]


def read_site_coverage(store: Store, q: TileQuery) -> Features:
    """Sites with the typical share of their area in view, one property per DORI level."""
    where, params = bbox_clause(store, "sites", q.bbox)
    rows = store.query(
        f"SELECT geom, id, category FROM sites WHERE {audience_clause(q.audience)} AND {where}",
        params,
    )
    shares = typical_by_level(store, "site_coverage", "site_id", [r[1] for r in rows], q.audience)
    rows = [r for r in rows if r[1] in shares]
    geoms = shapely.from_wkb([r[0] for r in rows]) if rows else []
    numbers = numbering(store, "sites", q.audience)
    return geoms, [
        {"id": numbers.public(r[1]), "category": r[2], **shares[r[1]]} for r in rows
    ]


TILE_LAYERS = (
    TileLayer("site_coverage", 12, "polygon", read_site_coverage),
    TileLayer("street_coverage", 13, "line", read_street_coverage),
)


def register_coverage_tiles() -> None:
    """Add the coverage layers to :mod:`survatlas.publish.tiles` (tileset ``coverage``)."""
    for layer in TILE_LAYERS:
        register_tile_layer(TILESET, layer)
