"""A report's figures (:class:`survatlas.publish.report.ReportData`) as one
:class:`~survatlas.publish.document.Document`: key findings, maps, charts, tables, data gaps,
method, assumptions, sources and attribution. Every number shown is formatted from the figures
(:func:`pct`, :func:`interval`), never recomputed."""

from __future__ import annotations

from typing import Any

from survatlas.publish import charts
from survatlas.publish._growth_doc import growth_fact, growth_section
from survatlas.publish._report_map import coverage_map, route_map
from survatlas.publish.document import Document, Fact, Figure, Item, Table

BOUNDS = ("low", "typical", "high")
#: a stored "(missing)" group, as a reader should see it
MISSING = "(missing)"
NOT_TAGGED = "not tagged"
CATEGORY_LABELS = {"public_space": "public space"}


def pct(v: float | None) -> str:
    """``64.5 %`` (one decimal), ``–`` for no value."""
    return "–" if v is None else f"{v * 100:.1f} %"


def interval(by: dict[str, float | None]) -> str:
    """``64.5 % (26.2–78.3 %)``: typical, then the best–worst optics interval."""
    lo, hi = by.get("low"), by.get("high")
    typ = by["typical"] if "typical" in by else by.get("share")
    if lo is None and hi is None:
        return pct(typ)
    return f"{pct(typ)} ({pct(lo)[:-2]}–{pct(hi)})"


def human(key: Any) -> str:
    """A stored value as a reader reads it: ``not tagged`` for missing, spaces for underscores."""
    if key is None or key == MISSING:
        return NOT_TAGGED
    return CATEGORY_LABELS.get(str(key), str(key).replace("_", " "))


def report_document(data: Any) -> Document:
    """The report as a publication."""
    f = data.figures
    if f["kind"] == "route":
        return _route_document(data)
    cov, stats = f["coverage"], f["stats"]
    subject = f["subject"]
    title = {
        "area": "Camera coverage of an area",
        "place": f"Camera coverage around {subject.get('name')}",
        "site": f"Camera coverage of {subject.get('name') or 'site ' + str(subject.get('site_id'))}",
    }[subject["kind"]]
    bbox = f["bbox"]
    where = (
        f"area W {bbox[0]:.5f}, S {bbox[1]:.5f}, E {bbox[2]:.5f}, N {bbox[3]:.5f}"
        if bbox
        else "the whole store"
    )
    doc = Document(
        title,
        f"{where} · generated {f['generated_at']} · public records only · "
        f"{cov['standard']} DORI distances",
        facts=_area_facts(f),
        attribution=f["attribution"],
    )
    lead = doc.section("In short")
    for line in _key_lines(f):
        lead.para(line)
    maps = doc.section("Map")
    if data.result is not None and data.result.inputs.streets.size:
        names = data.extras.get("street_names", {})
        scen = "typical" if "typical" in cov["scenarios"] else next(iter(cov["scenarios"]))
        level = "detection" if "detection" in cov["intervals"] else next(iter(cov["intervals"]))
        maps.add_figure(
            Figure(
                "coverage-map.svg",
                coverage_map(data.result, names, level, scen),
                f"Walkable streets coloured by the share of their length in view of at least one "
                f"camera at {level} level ({scen} optics); buildings grey; dots are cameras. "
                f"{f['attribution']}",
                "Map of streets coloured by share in view",
            )
        )
    _coverage_tables(doc, cov)
    if subject["kind"] == "site":
        _site_section(doc, f)
    _sites_section(doc, f)
    _cameras_section(doc, stats)
    growth_section(doc, f.get("growth"))
    _gaps_section(doc, cov, stats)
    _method_section(doc, cov, stats)
    return doc


def _area_facts(f: dict[str, Any]) -> list[Fact]:
    cov, stats = f["coverage"], f["stats"]
    level = "detection" if "detection" in cov["intervals"] else next(iter(cov["intervals"]))
    iv = cov["intervals"][level]
    facts = [
        Fact(str(cov["cameras"]), "cameras mapped in the area",
             f"{stats['devices']['total']} surveillance devices in all"),
        Fact(interval(iv["street_in_view_share"]), f"of walkable streets in view ({level})",
             "typical optics (best–worst optics)"),
        Fact(interval(iv["land_in_view_share"]), f"of open land in view ({level})",
             "typical optics (best–worst optics)"),
        Fact(interval(iv["public_space_in_view_share"]), f"of public space in view ({level})",
             "squares, parks, pedestrian areas"),
        Fact(pct(stats["completeness"]["direction"]), "of cameras have a mapped direction",
             f"{cov['cameras_assumed_direction']} treated as all-round views"),
        Fact(f"{cov['street_length_m'] / 1000:,.1f} km", "of walkable street analysed",
             f"{cov['streets']} street segments"),
    ]
    growth = growth_fact(f.get("growth"))
    return facts + ([growth] if growth else [])


def _key_lines(f: dict[str, Any]) -> list[str]:
    cov, stats = f["coverage"], f["stats"]
    lines = []
    iv = cov["intervals"]
    for level in iv:
        lines.append(
            f"At {level} level, {interval(iv[level]['street_in_view_share'])} of walkable street "
            f"length and {interval(iv[level]['land_in_view_share'])} of open land are in view "
            "of at least one camera (typical optics; best–worst optics in brackets)."
        )
    top = f.get("most_watched_sites") or []
    if top:
        t = top[0]
        lines.append(
            f"The most-watched site is {t['name'] or 'an unnamed ' + human(t['category'])} "
            f"({human(t['category'])}): {interval(t)} of its area in view at {t['level']} level, "
            f"seen by {t['cameras']} cameras."
        )
    lines.append(
        f"Mapped cameras are a lower bound: {pct(stats['completeness']['direction'])} of them "
        f"have a direction and {pct(stats['completeness']['operator'])} an operator in the data."
    )
    return lines


def _coverage_tables(doc: Document, cov: dict[str, Any]) -> None:
    sec = doc.section("Share in view by DORI level")
    iv = cov["intervals"]
    sec.add_table(
        Table(
            ["level", "streets", "open land", "public space", "street in view (km, typical)"],
            [
                [
                    level,
                    interval(v["street_in_view_share"]),
                    interval(v["land_in_view_share"]),
                    interval(v["public_space_in_view_share"]),
                    _km(v["street_in_view_m"].get("typical")),
                ]
                for level, v in iv.items()
            ],
            caption="Typical optics, with the interval from best (shortest range) to worst "
            "(longest range) optics for cameras whose optics are unknown.",
            numeric=(1, 2, 3, 4),
        )
    )
    level = "detection" if "detection" in iv else next(iter(iv))
    sec.add_figure(
        _figure(
            "share-by-level.svg",
            charts.interval_chart(
                {lv: tuple(v["street_in_view_share"].get(k) for k in BOUNDS) for lv, v in iv.items()},
                title="Share of walkable streets in view, by DORI level",
            ),
            "Share of walkable street length in view per DORI level: dot = typical optics, "
            "bar = best to worst optics.",
            "Interval chart of street share in view by level",
        )
    )
    cats = _site_intervals(cov, level)
    if cats:
        sec.add_table(
            Table(
                ["site category", "sites", f"share of area in view ({level})"],
                [[human(c), str(v["sites"]), interval(v)] for c, v in cats.items()],
                caption="Share of the category's total area in view (typical; best–worst optics).",
                numeric=(1, 2),
            )
        )


def _site_intervals(cov: dict[str, Any], level: str) -> dict[str, dict[str, Any]]:
    by = cov["by_scenario"]
    names = {"best": "low", "typical": "typical", "worst": "high"}
    cats = sorted({c for s in by.values() for c in s[level]["sites"]})
    out = {}
    for cat in cats:
        row = {names.get(s, s): by[s][level]["sites"].get(cat, {}).get("area_share") for s in by}
        row["sites"] = next(by[s][level]["sites"][cat]["sites"] for s in by if cat in by[s][level]["sites"])
        out[cat] = row
    return out


def _km(metres: float | None) -> str:
    return "–" if metres is None else f"{metres / 1000:,.2f}"


def _figure(name: str, svg: bytes | None, caption: str, alt: str, wide: bool = True) -> Figure | None:
    return Figure(name, svg, caption, alt, wide=wide) if svg else None


def _site_section(doc: Document, f: dict[str, Any]) -> None:
    site, subject = f["site"], f["subject"]
    sec = doc.section(f"The site: {subject.get('name') or subject['site_id']}")
    sec.para(
        f"{human(subject['category'])}, site {subject['site_id']}"
        + (" (footprint assumed: a disc around a point)" if site["footprint_assumed"] else "")
    )
    sec.add_table(
        Table(
            ["level", "share of the site's area in view", "cameras seeing it", "area (m²)"],
            [[lv, interval(v), str(v["cameras"]), f"{v['area_m2']:,.0f}"]
             for lv, v in site["by_level"].items()],
            numeric=(1, 2, 3),
        )
    )


def _sites_section(doc: Document, f: dict[str, Any]) -> None:
    top = f.get("most_watched_sites") or []
    sec = doc.section("Most-watched sites")
    if not top:
        sec.para("No site in the area has any of its area in view.")
        return
    sec.add_table(
        Table(
            ["site", "category", "share of area in view", "cameras"],
            [[t["name"] or f"unnamed (site {t['site_id']})", human(t["category"]), interval(t),
              str(t["cameras"])] for t in top],
            caption=f"At {top[0]['level']} level, typical optics (best–worst); sites whose "
            "footprint is a disc around a point are approximate.",
            numeric=(2, 3),
        )
    )


def _cameras_section(doc: Document, stats: dict[str, Any]) -> None:
    dev = stats["devices"]
    sec = doc.section("Cameras by type, operator and zone")
    rows = []
    for key, label in (("by_device_type", "device type"), ("by_camera_type", "camera type"),
                       ("by_operator", "operator"), ("by_zone", "zone"), ("by_mount", "mount")):
        for value, n in dev[key].items():
            rows.append([label, human(value), f"{n:,}"])
    sec.add_table(Table(["grouping", "value", "devices"], rows, numeric=(2,),
                        caption=f"{dev['total']:,} devices (top 15 values of each grouping)."))
    types = {human(k): v for k, v in dev["by_device_type"].items()}
    sec.add_figure(
        _figure("devices-by-type.svg",
                charts.bar_chart(types, title="Devices by type", unit="devices", width=4.5),
                "Mapped devices by type.", "Bar chart of devices by type", wide=False)
    )


def _gaps_section(doc: Document, cov: dict[str, Any], stats: dict[str, Any]) -> None:
    sec = doc.section("Data gaps")
    comp = stats["completeness"]
    labels = {"direction": "direction", "height": "mounting height", "camera_type": "camera type",
              "tilt": "tilt", "operator": "operator", "manufacturer": "manufacturer"}
    sec.add_items(
        [Item(f"{pct(1 - v)} of cameras have no {labels.get(k, k)} in the data", lead=labels.get(k, k))
         for k, v in comp.items() if v is not None]
        + [Item(f"{cov['cameras_assumed_direction']} cameras with no direction are modelled as "
                "all-round views, which overstates what they see", lead="assumed direction"),
           Item(f"{cov['cameras_assumed_optics']} cameras take their optics from the scenario table",
                lead="assumed optics"),
           Item(f"{cov['sites_with_assumed_footprint']} of {cov['sites']} sites have an assumed "
                "footprint", lead="site footprints")]
    )
    warnings = stats.get("warnings_by_kind") or {}
    if warnings:
        sec.add_note("Import warnings: " + ", ".join(f"{human(k)} {v}" for k, v in warnings.items()))


def _method_section(doc: Document, cov: dict[str, Any], stats: dict[str, Any]) -> None:
    sec = doc.section("Method, assumptions and sources")
    sec.para(f"Method: {cov['method']}.")
    sec.add_items([Item(a) for a in cov["assumptions"]])
    sec.para(f"Counts: {stats['method']}.")
    sec.add_items(
        [Item(f"{s['title']} ({s['kind']}, data of {s.get('data_timestamp') or 'unknown date'}, "
              f"licence {s.get('licence') or 'not recorded'})") for s in stats["sources"]]
    )


def _route_document(data: Any) -> Document:
    f = data.figures
    r = f["route"]
    short, least = r["routes"][0], r["routes"][1]
    level, price = r["level"], r["price_of_privacy"]
    doc = Document(
        "How watched is this walk?",
        f"from {r['origin']['snapped']['lat']:.5f}, {r['origin']['snapped']['lon']:.5f} to "
        f"{r['destination']['snapped']['lat']:.5f}, {r['destination']['snapped']['lon']:.5f} · "
        f"{r['profile']} · {r['scenario']} optics · generated {f['generated_at']}",
        facts=[
            Fact(f"{short['length_m']:,.0f} m", "shortest route",
                 f"{short['in_view'][level]['metres']:,.0f} m in view ({pct(short['in_view'][level]['share'])})"),
            Fact(f"{least['length_m']:,.0f} m", "least-watched route",
                 f"{least['in_view'][level]['metres']:,.0f} m in view ({pct(least['in_view'][level]['share'])})"),
            Fact(f"+{price['extra_metres']:,.0f} m", "price of privacy",
                 f"avoids {price['metres_in_view_avoided']:,.0f} m in view and "
                 f"{price['cameras_avoided']} cameras at {level} level"),
        ],
        attribution=f["attribution"],
    )
    if data.plan is not None:
        doc.section("Map").add_figure(
            Figure("route-map.svg", route_map(data.plan, level, data.extras.get("streets", ())),
                   f"Shortest and least-watched routes; grey halo = stretches in view at {level} "
                   f"level. {f['attribution']}", "Map of the two routes")
        )
    sec = doc.section("Metres in view by DORI level")
    sec.add_table(
        Table(
            ["route", "length (m)", *[f"{lv} (m)" for lv in short["in_view"]]],
            [[x["kind"].replace("_", " "), f"{x['length_m']:,.0f}",
              *[f"{v['metres']:,.0f} ({v['metres_across_scenarios'][0]:,.0f}–"
                f"{v['metres_across_scenarios'][-1]:,.0f})" for v in x["in_view"].values()]]
             for x in r["routes"]],
            caption="Metres in view (typical optics; range across optics scenarios).",
            numeric=tuple(range(1, 2 + len(short["in_view"]))),
        )
    )
    doc.section("Method").para(r["method"])
    return doc
