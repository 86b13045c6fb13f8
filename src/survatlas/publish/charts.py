"""Static charts for publications, drawn with matplotlib (Agg, no display, no network) as SVG.

Colours: a colour-blind-safe palette (Okabe–Ito) for categories and viridis for "share in
view"; every chart names its unit. Each function returns ``None`` when there is nothing to draw.
"""

from __future__ import annotations

import io
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
