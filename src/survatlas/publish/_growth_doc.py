"""The growth section of an area report: the figures of
:func:`survatlas.publish.growth.growth_figures` (``survatlas timeline --json`` for the same
area) laid out as a key fact, a chart, a table per period and tables by type and operator.
Nothing is recomputed: every number is read from the timeline."""

from __future__ import annotations

from typing import Any

from survatlas.publish import charts
from survatlas.publish.document import Document, Fact, Figure, Table

#: values listed per grouping (the rest are summed as "others")
TOP_VALUES = 10
#: a monthly table longer than this lists only the months in which something changed
MAX_QUIET_ROWS = 24


def _human(key: str) -> str:
    return "not tagged" if key in ("unknown", None) else str(key).replace("_", " ")


def _totals(periods: list[dict[str, Any]]) -> tuple[int, int, int, int]:
    """Added and removed over all periods; in place before the first and after the last."""
    added = sum(p["added"] for p in periods)
    removed = sum(p["removed"] for p in periods)
    first = periods[0]
    before = first["in_place"] - first["added"] + first["removed"]
    return added, removed, before, periods[-1]["in_place"]


def growth_fact(growth: dict[str, Any] | None) -> Fact | None:
    """The key finding of the growth section, or ``None`` when the area has no history."""
    if not growth or not growth.get("available") or not growth["timeline"]["periods"]:
        return None
    periods = growth["timeline"]["periods"]
    added, removed, _before, after = _totals(periods)
    return Fact(f"+{added:,} / −{removed:,}",
                f"devices added / removed in the map, {periods[0]['period']}–"
                f"{periods[-1]['period']}",
                f"{after:,} in place at the end; OSM mapping dates, not installation dates")


def growth_section(doc: Document, growth: dict[str, Any] | None) -> None:
    """Append the section "Growth over time" (one line saying why when there is no history)."""
    if growth is None:
        return
    sec = doc.section("Growth over time")
    if not growth["available"]:
        sec.para(f"No growth figures: {growth['reason']}.")
        return
    t = growth["timeline"]
    periods = t["periods"]
    if not periods:
        sec.para("No public device was ever mapped in this area.")
        return
    added, removed, before, after = _totals(periods)
    first, last = periods[0]["period"], periods[-1]["period"]
    sec.para(
        f"From {first} to {last} (by {t['by']}), {added:,} devices were added to the map and "
        f"{removed:,} removed: {before:,} were in place before {first}, {after:,} at the end "
        f"of {last}. Snapshots of the area: "
        + ", ".join(f"{s['as_of'][:10]} ({'full history' if s['kind'] == 'history' else 'snapshot'})"
                    for s in t["snapshots"]) + "."
    )
    sec.add_figure(_chart(t))
    sec.add_table(_period_table(periods, t["by"]))
    for group, label in (("device_type", "device type"), ("operator", "operator")):
        sec.add_table(_group_table(periods, group, label, first, last))
    sec.add_note(f"Method: {t['method']} Assumptions: {'; '.join(t['assumptions'])}. "
                 "The same figures as `survatlas timeline --json` for this area.")


def _chart(t: dict[str, Any]) -> Figure | None:
    svg = charts.growth_chart(t)
    if svg is None:
        return None
    hatched = (" Hatched: periods between two snapshots, whose changes are dated at the "
               "later one." if any(p.get("between_snapshots") for p in t["periods"]) else "")
    return Figure("growth.svg", svg,
                  f"Devices in place at the end of each {t['by']} (above), added and removed "
                  f"in it (below).{hatched} {t['attribution']}",
                  f"Chart of surveillance devices added, removed and in place per {t['by']}")


def _period_table(periods: list[dict[str, Any]], by: str) -> Table:
    shown = periods
    caption = f"Devices per {by}; in place = at the end of the {by}."
    if len(periods) > MAX_QUIET_ROWS:
        shown = [p for i, p in enumerate(periods)
                 if p["added"] or p["removed"] or i in (0, len(periods) - 1)]
        if len(shown) < len(periods):
            caption += f" {len(periods) - len(shown)} {by}s without any change are left out."
    rows = [[p["period"] + (" †" if p.get("between_snapshots") else ""), f"{p['added']:,}",
             f"{p['removed']:,}", f"{p['in_place']:,}"] for p in shown]
    if any(p.get("between_snapshots") for p in shown):
        caption += " † between two snapshots: nothing was observed, changes are dated later."
    return Table([by, "added", "removed", "in place"], rows, caption=caption, numeric=(1, 2, 3))


def _group_table(periods: list[dict[str, Any]], group: str, label: str, first: str,
                 last: str) -> Table:
    sums: dict[str, list[int]] = {}
    for p in periods:
        for key, n in p["by"][group].items():
            row = sums.setdefault(key, [0, 0, 0])
            row[0] += n["added"]
            row[1] += n["removed"]
    for key, n in periods[-1]["by"][group].items():
        sums.setdefault(key, [0, 0, 0])[2] = n["in_place"]
    ordered = sorted(sums.items(), key=lambda kv: (-kv[1][2], -kv[1][0], kv[0]))
    top, rest = ordered[:TOP_VALUES], ordered[TOP_VALUES:]
    if rest:
        top.append((f"{len(rest)} others", [sum(r[1][i] for r in rest) for i in range(3)]))
    return Table(
        [label, "added", "removed", f"in place ({last})"],
        [[_human(k), f"{v[0]:,}", f"{v[1]:,}", f"{v[2]:,}"] for k, v in top],
        caption=f"By {label}, {first}–{last}.", numeric=(1, 2, 3),
    )

