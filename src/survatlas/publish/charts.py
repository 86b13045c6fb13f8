"""Static charts for publications, drawn with matplotlib (Agg, no display, no network) as SVG.

Colours: a colour-blind-safe palette (Okabe–Ito) for categories and viridis for "share in
view"; every chart names its unit. Each function returns ``None`` when there is nothing to draw.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping
from typing import Any

#: Okabe–Ito, safe for the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
#: status of a claim -> colour (verified dark, open questions warm).
STATUS_COLOURS = {
    "verified": "#0072B2",
    "unverified": "#E69F00",
    "disputed": "#D55E00",
    "superseded": "#999999",
}


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, with the house style."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.family": "DejaVu Sans",
            "font.size": 8.5,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 9.5,
            "axes.titleweight": "bold",
            "svg.fonttype": "path",
            "svg.hashsalt": "survatlas",
        }
    )
    return plt


def to_svg(fig: Any) -> bytes:
    """The figure as SVG bytes (closed afterwards; metadata date left out so output is stable)."""
    plt = pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()


def bar_chart(
    counts: Mapping[str, float],
    *,
    title: str,
    unit: str,
    percent: bool = False,
    width: float = 6.0,
) -> bytes | None:
    """Horizontal bars, largest first, each labelled with its value."""
    items = [(k, v) for k, v in counts.items() if v]
    if not items:
        return None
    items.sort(key=lambda kv: kv[1])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(width, 0.3 * len(items) + 0.8))
    labels, values = zip(*items, strict=True)
    bars = ax.barh(labels, values, color=PALETTE[0])
    texts = [f"{v:.0%}" if percent else f"{v:,.0f}" for v in values]
    ax.bar_label(bars, texts, padding=2, fontsize=7.5)
    ax.set_title(title, loc="left")
    ax.set_xlabel(unit)
    ax.margins(x=0.12)
    if percent:
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    return to_svg(fig)


def interval_chart(
    rows: Mapping[str, tuple[float | None, float | None, float | None]],
    *,
    title: str,
    unit: str = "share in view",
) -> bytes | None:
    """One dot (typical) with a bar from low to high per row: shares 0–100 %."""
    rows = {k: v for k, v in rows.items() if v[1] is not None}
    if not rows:
        return None
    plt = pyplot()
    names = list(rows)[::-1]
    fig, ax = plt.subplots(figsize=(6.0, 0.32 * len(names) + 0.9))
    for y, name in enumerate(names):
        low, typ, high = rows[name]
        lo = low if low is not None else typ
        hi = high if high is not None else typ
        ax.plot([lo, hi], [y, y], color="#9ecae1", lw=6, solid_capstyle="butt")
        ax.plot([typ], [y], "o", color=PALETTE[0], ms=5)
        ax.text(hi + 0.015, y, f"{typ:.0%} ({lo:.0%}–{hi:.0%})", va="center", fontsize=7.5)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlim(0, 1.25)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.set_xlabel(f"{unit}: dot = typical optics, bar = best–worst optics")
    ax.set_title(title, loc="left")
    return to_svg(fig)


def stacked_by_year(
    counts: Mapping[str, Mapping[str, int]], *, title: str, colours: Mapping[str, str]
) -> bytes | None:
    """Columns per year, stacked by category (e.g. claims by status)."""
    if not counts:
        return None
    plt = pyplot()
    years = sorted(counts)
    cats = [c for c in colours if any(counts[y].get(c) for y in years)]
    fig, ax = plt.subplots(figsize=(4.5, 2.4))
    bottom = [0] * len(years)
    for cat in cats:
        vals = [counts[y].get(cat, 0) for y in years]
        ax.bar(years, vals, bottom=bottom, color=colours[cat], label=cat, width=0.8)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_title(title, loc="left")
    ax.set_ylabel("claims")
    ax.legend(frameon=False, fontsize=7.5, ncols=len(cats), loc="upper left")
    ax.set_ylim(0, max(bottom) * 1.3 + 1)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.xaxis.get_major_locator().set_params(integer=True)
    return to_svg(fig)


#: growth charts: added (bluish green), removed (vermillion), in place (dark line)
GROWTH_COLOURS = {"added": PALETTE[2], "removed": PALETTE[5], "in_place": "#222222"}


def growth_figure(result: Mapping[str, Any], *, title: str | None = None) -> Any:
    """The figure of a growth timeline (``survatlas.publish.growth.timeline``): above, a line
    of devices in place at the end of each period; below, bars of devices added (up) and
    removed (down) per period; hatched periods lie wholly between two snapshots; the dating
    caveat and the attribution underneath. ``None`` when there is no period."""
    periods = result["periods"]
    if not periods:
        return None
    plt = pyplot()
    labels = [p["period"] for p in periods]
    xs = list(range(len(labels)))
    fig, (top, ax) = plt.subplots(
        2, 1, sharex=True, figsize=(min(11.0, max(6.0, 0.32 * len(labels) + 2.5)), 4.2),
        gridspec_kw={"height_ratios": [1, 1.2]})
    gap = [k for k, p in enumerate(periods) if p.get("between_snapshots")]
    for axis in (top, ax):
        if gap:
            axis.axvspan(gap[0] - 0.5, gap[-1] + 0.5, color="#bbbbbb", alpha=0.3, hatch="//",
                         linewidth=0, label="no snapshot: changes dated at the next one")
        axis.yaxis.get_major_locator().set_params(integer=True)
    in_place = [p["in_place"] for p in periods]
    top.plot(xs, in_place, color=GROWTH_COLOURS["in_place"], marker="o",
             markersize=3 if len(xs) <= 40 else 0,
             label="in place (end of period)")
    top.set_ylim(0, max(in_place) * 1.15 + 1)
    top.set_ylabel("in place")
    fig.text(0.01, 0.985, title or f"Surveillance devices in the map, by {result['by']}",
             fontsize=9.5, fontweight="bold", va="top")
    ax.bar(xs, [p["added"] for p in periods], color=GROWTH_COLOURS["added"], label="added")
    ax.bar(xs, [-p["removed"] for p in periods], color=GROWTH_COLOURS["removed"],
           label="removed")
    ax.axhline(0, color="#444444", linewidth=0.6)
    ax.set_ylabel("added / removed")
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{abs(v):.0f}")
    step = max(1, len(labels) // 14)
    ax.set_xticks(xs[::step], labels[::step], rotation=45 if len(labels) > 8 else 0,
                  ha="right" if len(labels) > 8 else "center")
    handles = top.get_legend_handles_labels()[0][-1:] + ax.get_legend_handles_labels()[0]
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, 0.95),
               ncol=len(handles), frameon=False, fontsize=7.5)
    note = textwrap.fill("Dates are OSM mapping dates, not installation dates. "
                         f"{result.get('attribution', '')}", int(fig.get_figwidth() * 17))
    fig.text(0.01, 0.01, note, fontsize=6.5, color="#555555", va="bottom")
    fig.tight_layout(rect=(0, 0.04 + 0.03 * note.count("\n"), 1, 0.89))
    return fig


def growth_chart(result: Mapping[str, Any], *, title: str | None = None) -> bytes | None:
    """:func:`growth_figure` as SVG bytes (``None`` when there is no period)."""
    fig = growth_figure(result, title=title)
    return None if fig is None else to_svg(fig)
