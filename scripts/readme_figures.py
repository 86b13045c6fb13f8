"""Regenerate the Helsinki figures of README.md from a demo store (never typed by hand).

Run after ``make demo`` (``survatlas import osm data/helsinki-center.osm.pbf`` and
``survatlas coverage`` on the store):

    python scripts/readme_figures.py --db survatlas.db            # rewrite README.md
    python scripts/readme_figures.py --db survatlas.db --check    # exit 1 if README differs

The blocks between ``<!-- figures:NAME -->`` and ``<!-- /figures:NAME -->`` are replaced:
``coverage`` (the share of street and land in view per level, sites seen) and ``route`` (the
documented route under the default scenario policy). Every figure goes through the same
definitions as the CLI and the web API (:mod:`survatlas.coverage.figures`,
:mod:`survatlas.routing.figures`).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from survatlas.coverage import figures
from survatlas.coverage.ranking import level_summary
from survatlas.coverage.runs import ANY_AREA, require_run
from survatlas.routing import load_network, plan_route, route_window
from survatlas.store import Store

ROUTE = ((60.17217, 24.94728), (60.16751, 24.93620))
LEVEL_NAMES = {"identification": "identification (faces)"}
CATEGORY_WORDS = {"education": "schools and colleges", "transport": "stations",
                  "public_space": "public squares and parks"}


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


def coverage_block(store: Store) -> str:
    """The coverage table and the sentence on sites seen, from the stored run."""
    run = require_run(store, bbox=None)
    summary = run.summary
    rows = ["| level | share of walkable street in view (low · typical · high) | "
            "share of open land in view |", "|---|---|---|"]
    for level, values in summary["intervals"].items():
        street, land = values["street_in_view_share"], values["land_in_view_share"]
        rows.append(f"| {LEVEL_NAMES.get(level, level)} | "
                    + " · ".join(_pct(street.get(k)) for k in ("low", "typical", "high")) + " | "
                    + " · ".join(_pct(land.get(k)) for k in ("low", "typical", "high")) + " |")
    detection = level_summary(store, "detection")
    main = detection["scenario"]
    by = summary["by_scenario"][main]["detection"]["sites"]
    seen = [f"{by[c]['sites_seen']} of the {by[c]['sites']} {w}" for c, w in CATEGORY_WORDS.items()
            if c in by]
    share = figures.site_share(by["education"]) if "education" in by else None
    det = summary["by_scenario"][main]["detection"]
    text = (
        f"With {main} optics, {', '.join(seen[:-1])} and {seen[-1]} are seen by at least one "
        f"camera at detection level ({figures.SITE_SHARE_METHOD}: {_pct(share)} for schools and "
        f"colleges). {det['views_inside_a_building']} cameras are mapped more than 3 m inside a "
        "building footprint (indoor cameras, or mapping errors) and see nothing; "
        f"{det['views_nudged_out_of_a_wall']} mapped on a wall are moved just outside it."
    )
    return "\n".join(rows) + "\n\n" + text


def route_block(store: Store) -> str:
    """The documented route under the default scenario policy, with every scenario shown."""
    net = load_network(store, bbox=route_window(list(ROUTE)))
    plan = plan_route(net, *ROUTE)
    data = plan.to_dict()
    scen = list(plan.shortest.exposure)
    rows = [
        "```sh",
        f".venv/bin/survatlas route --from {ROUTE[0][0]:.5f},{ROUTE[0][1]:.5f} "
        f"--to {ROUTE[1][0]:.5f},{ROUTE[1][1]:.5f}",
        "```",
        "",
        f"| route (walk, scenario {plan.scenario}) | distance | in view at detection level: "
        + " · ".join(scen) + " optics | distinct cameras (worst case) | in view at "
        "identification level (worst case) |",
        "|---|---|---|---|---|",
    ]
    for r, label in ((plan.shortest, "shortest"),
                     (plan.least_exposed, f"least-exposed (detour ≤ {plan.max_detour:g}×)")):
        det = " · ".join(f"{r.seen('detection', sc).metres:,.0f} m" for sc in scen)
        ident = r.seen("identification")
        rows.append(f"| {label} | {r.length_m:,.0f} m ({r.time_s / 60:.0f} min) | {det} | "
                    f"{len(r.seen('detection').cameras)} | {ident.metres:,.0f} m "
                    f"({len(ident.cameras)} cameras) |")
    price = data["price_of_privacy"]
    rows += ["", (
        f"The price of privacy here is {price['extra_metres']:,.0f} m more walking to cut the "
        f"worst-case detection exposure by {price['metres_in_view_avoided']:,.0f} m; "
        f"{price['cameras_avoided']} cameras that see the shortest route do not see the "
        f"least-exposed one (cameras avoided), and the detour passes {price['cameras_added']} "
        "camera(s) the shortest does not. Scenario policy: " + data["scenario_policy"]
    )]
    return "\n".join(rows)


def replace_block(text: str, name: str, body: str) -> str:
    """``text`` with the block ``name`` replaced by ``body`` (markers kept)."""
    pattern = re.compile(rf"(<!-- figures:{name} -->\n).*?(\n<!-- /figures:{name} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no <!-- figures:{name} --> block")
    return pattern.sub(lambda m: m.group(1) + body + m.group(2), text)


def main() -> None:
    """Rewrite (or check) README.md from the store."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="survatlas.db")
    ap.add_argument("--readme", type=Path, default=Path(__file__).parents[1] / "README.md")
    ap.add_argument("--check", action="store_true", help="exit 1 when README.md differs")
    args = ap.parse_args()
    with Store(args.db, create=False) as store:
        require_run(store, bbox=ANY_AREA)
        blocks = {"coverage": coverage_block(store), "route": route_block(store)}
    old = args.readme.read_text()
    new = old
    for name, body in blocks.items():
        new = replace_block(new, name, body)
    if args.check:
        sys.exit(0 if new == old else 1)
    args.readme.write_text(new)
    print(f"README.md: {', '.join(blocks)} figures regenerated from {args.db}")


if __name__ == "__main__":
    main()
