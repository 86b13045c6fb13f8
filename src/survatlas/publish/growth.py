"""Growth of surveillance over time: a timeline per period, the difference between two dates.

Both read the device history (``device_versions``: every state of every device with
valid-from/valid-to, written by imports, fetches and full-history files) through the publish
gate's audience rule, so a public output counts public records only. One definition serves the
CLI (``survatlas timeline`` / ``diff``), the chart and reports (:func:`timeline`, :func:`diff`).

What a date means: for OSM data, *added* is when a device was first **mapped** (the timestamp
of its first OSM version), not when it was installed; *removed* is when it was deleted or
retagged in OSM, or, between two snapshots, the date of the first snapshot that no longer held
it (it went at some time between the two). Mapping activity drives both.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

from survatlas import ODBL_ATTRIBUTION
from survatlas.errors import InputError
from survatlas.ingest.history import state_change
from survatlas.store import Store
from survatlas.store.clock import iso_instant
from survatlas.store.encryption import open_row
from survatlas.store.gate import audience_clause, history_clause, read_layer

#: a device this close to a site (metres) counts for the site's category (0: inside an area)
SITE_NEAR_M = 50.0
PERIODS = ("month", "year")
GROUPS = ("device_type", "operator", "zone", "site_category")
ENDINGS = ("deleted", "untagged", "absent")
METHOD = (
    "Device history (every OSM version, and what successive snapshots showed): a device is "
    "added when its first version (or its return) begins, removed when OSM deleted or retagged "
    "it or a later snapshot of its area no longer held it, and in place at the end of a period "
    "when a version of it was valid then. Site category: a site area holding the device, or a "
    f"site within {SITE_NEAR_M:g} m."
)
ASSUMPTIONS = [
    "OSM dates are mapping dates, not installation dates: growth in the map is growth in "
    "mapping as much as in cameras",
    "a device missing from a newer snapshot is dated removed at that snapshot's date (it went "
    "between the two snapshots)",
    "between snapshots nothing is known; devices never mapped are not counted",
    "without a full-history file, a device already in the first snapshot is dated by its "
    "version there (its latest edit by then), not by when it was first mapped",
]


def _in_box(bbox: Sequence[float] | None) -> tuple[str, tuple]:
    """SQL ``AND`` condition (and parameters) on a version's point being inside ``bbox``."""
    if bbox is None:
        return "", ()
    return " AND lon BETWEEN ? AND ? AND lat BETWEEN ? AND ?", (bbox[0], bbox[2], bbox[1], bbox[3])


def _versions(store: Store, bbox: Sequence[float] | None, audience: str) -> list[dict[str, Any]]:
    where, params = _in_box(bbox)
    rows = store.query(
        "SELECT id, origin, valid_from, valid_to, change, ended, device_type, operator, zone, "
        "lon, lat, osm_version, content_sha, name, tags, views, area, mount, camera_type, "
        "tilt_down_deg, height_m, manufacturer, model, sensitivity FROM device_versions "
        f"WHERE {history_clause(audience)}{where} ORDER BY origin, valid_from", params)
    return [dict(r) for r in rows]


def _site_categories(store: Store, versions: list[dict], bbox: Any, audience: str) -> None:
    """Set ``site_category`` of each version: the categories of the sites at or near it."""
    for v in versions:
        v["site_category"] = []
    if not versions:
        return
    import numpy as np
    import shapely

    from survatlas import geo

    lons = np.array([v["lon"] for v in versions])
    lats = np.array([v["lat"] for v in versions])
    pad = SITE_NEAR_M / 111_320.0 * 2
    box = bbox or (lons.min() - pad * 2, lats.min() - pad, lons.max() + pad * 2, lats.max() + pad)
    sites = read_layer(store, "sites", tuple(box), audience=audience)
    if not len(sites):
        return
    crs = geo.local_crs(float(np.median(lons)), float(np.median(lats)))
    metric = sites.to_crs(crs)
    x, y = geo.to_metric(crs).transform(lons, lats)
    points = shapely.points(x, y)
    tree = shapely.STRtree(metric.geometry.values)
    pairs = tree.query(points, predicate="dwithin", distance=SITE_NEAR_M)
    cats = metric["category"].tolist()
    for p, s in zip(*pairs, strict=True):
        if cats[s] not in versions[p]["site_category"]:
            versions[p]["site_category"].append(cats[s])


def _snapshots(store: Store, bbox: Sequence[float] | None, audience: str) -> list[dict[str, Any]]:
    """The imports that saw the area (``as_of``, ``kind``), from sources ``audience`` may see.

    An import's extent is used to select it but never published: the extent of a small
    restricted import would pinpoint its records.
    """
    rows = store.query(
        "SELECT s.as_of, s.kind, s.min_x, s.min_y, s.max_x, s.max_y FROM snapshots s "
        f"JOIN sources src ON src.id = s.source_id WHERE {audience_clause(audience, 'src')} "
        "ORDER BY s.as_of"
    )
    if bbox is not None:  # the snapshots that saw some of the area
        rows = [r for r in rows if r["max_x"] >= bbox[0] and r["min_x"] <= bbox[2]
                and r["max_y"] >= bbox[1] and r["min_y"] <= bbox[3]]
    return [{"as_of": r["as_of"], "kind": r["kind"]} for r in rows]


def history_span(
    store: Store, *, bbox: Sequence[float] | None = None, audience: str = "public"
) -> dict[str, Any]:
    """Whether the store holds a history of an area, and the dates it spans.

    A history is a full-history file, or snapshots of the area at two dates or more; one
    snapshot only dates each device's latest edit, which says nothing about growth.

    Parameters
    ----------
    store : Store
        The store.
    bbox : sequence of float, optional
        W, S, E, N: the area (default: everywhere).
    audience : str
        Whose view: ``public`` counts public records only (through the publish gate).

    Returns
    -------
    dict
        ``available`` (bool), ``reason`` (why not, one line, or ``None``), ``start`` (the
        first version's date), ``end`` (the latest change or snapshot), ``snapshots`` (dates
        and kinds), ``devices`` (devices with a version in the area).

    Examples
    --------
    ::

        with open_store("helsinki.db") as store:
            span = history_span(store)
            print(span["start"], span["end"]) if span["available"] else print(span["reason"])
    """
    snapshots = _snapshots(store, bbox, audience)
    where, params = _in_box(bbox)
    row = store.query(
        "SELECT min(valid_from), max(valid_from), max(valid_to), count(DISTINCT origin) "
        f"FROM device_versions WHERE {history_clause(audience)}{where}", params)[0]
    dates = sorted({s["as_of"][:10] for s in snapshots})
    full = any(s["kind"] == "history" for s in snapshots)
    ends = [d for d in (row[1], row[2], *(s["as_of"] for s in snapshots)) if d]
    reason = None
    if not row[3]:
        reason = "no device history in this area: import OSM data (or a history file) first"
    elif not full and len(dates) < 2:
        reason = (f"one snapshot only ({dates[0] if dates else 'undated'}): import a later "
                  "snapshot or a full-history file (.osh.pbf) of the area to see its growth")
    return {
        "available": reason is None,
        "reason": reason,
        "start": row[0],
        "end": max(ends) if ends else None,
        "snapshots": [{"as_of": s["as_of"], "kind": s["kind"]} for s in snapshots],
        "devices": row[3],
        "audience": audience,
    }


def growth_figures(
    store: Store, *, bbox: Sequence[float] | None = None, audience: str = "public"
) -> dict[str, Any]:
    """The growth figures of an area for a report: its :func:`history_span` and, when it has
    a history, its :func:`timeline` by year (by month when the history spans under three
    calendar years) — the same figures ``survatlas timeline --bbox … --by … --json`` prints.

    Returns
    -------
    dict
        ``available``, ``reason``, ``span`` and (when available) ``by`` and ``timeline``.

    Examples
    --------
    ::

        with open_store("helsinki.db") as store:
            growth = growth_figures(store, bbox=(24.93, 60.16, 24.96, 60.18))
    """
    span = history_span(store, bbox=bbox, audience=audience)
    out: dict[str, Any] = {"available": span["available"], "reason": span["reason"],
                           "span": span}
    if span["available"]:
        years = int(span["end"][:4]) - int(span["start"][:4]) + 1
        out["by"] = "year" if years >= 3 else "month"
        out["timeline"] = timeline(store, bbox=bbox, by=out["by"], audience=audience)
    return out


def _period(when: str, by: str) -> str:
    return when[:7] if by == "month" else when[:4]


def _next(period: str, by: str) -> str:
    if by == "year":
        return str(int(period) + 1)
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + month // 12}-{month % 12 + 1:02d}"


def _keys(v: dict[str, Any], group: str) -> list[str]:
    if group == "site_category":
        return v["site_category"] or ["none"]
    return [v.get(group) or "unknown"]


def timeline(
    store: Store,
    *,
    bbox: Sequence[float] | None = None,
    by: str = "year",
    audience: str = "public",
    until: str | None = None,
) -> dict[str, Any]:
    """Devices added, removed and in place per period, overall and by group.

    Parameters
    ----------
    store
        The store.
    bbox
        W, S, E, N; devices outside are not counted.
    by
        ``year`` or ``month``.
    audience
        Whose view (the publish gate's audiences): ``public`` counts public records only.
    until
        Last date shown (default: the latest event or snapshot).

    Returns
    -------
    dict
        ``periods`` (each: ``period``, ``end``, ``added``, ``removed``, ``in_place`` and
        ``by`` group → value → those three), ``snapshots``, ``method``, ``assumptions``,
        ``attribution``.

    Examples
    --------
    ::

        with open_store("helsinki.db") as store:
            for period in timeline(store, by="year")["periods"]:
                print(period["period"], period["added"], period["removed"], period["in_place"])
    """
    if by not in PERIODS:
        raise InputError(f"--by {by!r}: use month or year")
    versions = _versions(store, bbox, audience)
    _site_categories(store, versions, bbox, audience)
    snapshots = _snapshots(store, bbox, audience)
    result: dict[str, Any] = {
        "by": by, "bbox": list(bbox) if bbox else None, "periods": [],
        "snapshots": snapshots, "method": METHOD, "assumptions": ASSUMPTIONS,
        "attribution": ODBL_ATTRIBUTION, "audience": audience,
    }
    if not versions:
        return result
    events: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for v in versions:
        if v["change"] in ("added", "reappeared"):
            events[_period(v["valid_from"], by)].append(("added", v))
        if v["ended"] in ENDINGS:
            events[_period(v["valid_to"], by)].append(("removed", v))
    last = iso_instant(until) if until else max(
        [v["valid_from"] for v in versions] + [v["valid_to"] for v in versions if v["valid_to"]]
        + [s["as_of"] for s in snapshots])
    period, stop = min(events) if events else _period(last, by), _period(last, by)
    while period <= stop:
        end = iso_instant(_next(period, by))
        row = {"period": period, "end": end, "added": 0, "removed": 0, "in_place": 0,
               "by": {g: defaultdict(lambda: {"added": 0, "removed": 0, "in_place": 0})
                      for g in GROUPS}}
        for kind, v in events.get(period, []):
            row[kind] += 1
            for g in GROUPS:
                for k in _keys(v, g):
                    row["by"][g][k][kind] += 1
        for v in versions:
            if v["valid_from"] < end and (v["valid_to"] is None or v["valid_to"] >= end):
                row["in_place"] += 1
                for g in GROUPS:
                    for k in _keys(v, g):
                        row["by"][g][k]["in_place"] += 1
        row["by"] = {g: dict(sorted(d.items())) for g, d in row["by"].items()}
        row["between_snapshots"] = _unobserved(period, end, by, snapshots)
        result["periods"].append(row)
        period = _next(period, by)
    return result


def _unobserved(period: str, end: str, by: str, snapshots: list[dict]) -> bool:
    """Whether a period lies wholly between two consecutive snapshots (nothing seen in it;
    a change between them is dated at the later one). A history file sees every version."""
    if any(s["kind"] == "history" for s in snapshots):
        return False
    start = iso_instant(period if by == "year" else period + "-01")
    dates = sorted({s["as_of"] for s in snapshots})
    return any(a <= start and end <= b for a, b in pairwise(dates))


def diff(
    store: Store,
    date_from: str,
    date_to: str,
    *,
    bbox: Sequence[float] | None = None,
    audience: str = "public",
) -> dict[str, Any]:
    """What appeared, disappeared, moved, was retagged or stayed between two dates.

    Returns
    -------
    dict
        ``counts`` (appeared, disappeared, moved, retagged, kept — *kept* counts every device
        in place on both dates, moved or retagged ones included), ``devices`` (origin,
        change, lon, lat, device_type, operator), ``method``, ``assumptions``,
        ``attribution``.

    Parameters
    ----------
    store : Store
        The store (with device history: several snapshots or a history file).
    date_from, date_to : str
        ISO dates (``2019-04-21``).
    bbox : sequence of float, optional
        W, S, E, N; devices outside are not counted.
    audience : str
        Whose view: ``public`` counts public records only.

    Examples
    --------
    ::

        with open_store("helsinki.db") as store:
            print(diff(store, "2019-04-21", "2025-11-01")["counts"])
    """
    start, end = iso_instant(date_from), iso_instant(date_to)
    if start > end:
        raise InputError(f"--from {date_from} is after --to {date_to}; swap them")
    versions = _versions(store, bbox, audience)
    at_start = {v["origin"]: v for v in versions if _valid(v, start)}
    at_end = {v["origin"]: v for v in versions if _valid(v, end)}
    counts = Counter({k: 0 for k in ("appeared", "disappeared", "moved", "retagged", "kept")})
    devices = []
    for origin in sorted(set(at_start) | set(at_end)):
        a, b = at_start.get(origin), at_end.get(origin)
        if a is None:
            change = "appeared"
        elif b is None:
            change = "disappeared"
        else:
            counts["kept"] += 1
            change = "kept" if a["id"] == b["id"] else (
                state_change(open_row("devices", a), open_row("devices", b)) or "kept")
            change = {"edited": "kept", "moved+retagged": "moved"}.get(change, change)
        if change != "kept":
            counts[change] += 1
        v = b or a
        devices.append({"origin": origin, "change": change, "lon": v["lon"], "lat": v["lat"],
                        "device_type": v["device_type"], "operator": v["operator"]})
    return {"from": start, "to": end, "bbox": list(bbox) if bbox else None,
            "in_place_from": len(at_start), "in_place_to": len(at_end), "counts": dict(counts),
            "devices": devices, "method": METHOD, "assumptions": ASSUMPTIONS,
            "attribution": ODBL_ATTRIBUTION, "audience": audience}


def _valid(v: dict[str, Any], when: str) -> bool:
    return v["valid_from"] <= when and (v["valid_to"] is None or v["valid_to"] > when)


def timeline_chart(result: dict[str, Any], path: str | Path, *, title: str | None = None) -> Path:
    """A PNG of a :func:`timeline`: the chart reports carry (:func:`~survatlas.publish.charts.
    growth_figure`): devices added (up) and removed (down) per period, a line of devices in
    place, the dating caveat and the ODbL attribution underneath."""
    from survatlas.publish.charts import growth_figure, pyplot

    path = Path(path)
    fig = growth_figure(result, title=title)
    if fig is None:
        raise InputError("no device history to chart; import OSM data (or a history file) first")
    fig.savefig(path, dpi=150)
    pyplot().close(fig)
    return path
