"""Static map figures of a report, drawn from the coverage run's own inputs (no network, no tiles).

Buildings grey, streets coloured by the share of their length in view (viridis, with a numeric
colour bar), cameras as dots, the biggest street names, a scale bar, a north arrow and the ODbL
attribution. Maps are drawn in the run's local metric CRS, so a metre is a metre both ways.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from survatlas import ODBL_ATTRIBUTION
from survatlas.publish.charts import pyplot, to_svg

ROUTE_COLOURS = {"shortest": "#D55E00", "least-exposed": "#CC79A7", "least_exposed": "#CC79A7"}
#: route colours are vermilion and purple: no hue of the viridis ramp
STREET_CMAP = "viridis"


def _frame(ax: Any, bounds: tuple[float, float, float, float], title: str) -> None:
    x0, y0, x1, y1 = bounds
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color("#888")
    ax.set_title(title, loc="left")
    _scale_bar(ax, bounds)
    ax.annotate("N", xy=(0.965, 0.93), xytext=(0.965, 0.83), xycoords="axes fraction",
                ha="center", fontsize=9, fontweight="bold",
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.2})
    ax.text(0.995, 0.005, ODBL_ATTRIBUTION, transform=ax.transAxes, ha="right", va="bottom",
            fontsize=5.5, color="#333", bbox={"facecolor": "white", "alpha": 0.8, "lw": 0, "pad": 1})


def _scale_bar(ax: Any, bounds: tuple[float, float, float, float]) -> None:
    width = bounds[2] - bounds[0]
    nice = [10, 20, 50, 100, 200, 250, 500, 1000, 2000, 5000]
    length = max([n for n in nice if n <= width / 4] or [nice[0]])
    x = bounds[0] + width * 0.03
    y = bounds[1] + (bounds[3] - bounds[1]) * 0.05
    ax.plot([x, x + length], [y, y], color="black", lw=3, solid_capstyle="butt")
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length} m"
    ax.text(x + length / 2, y + (bounds[3] - bounds[1]) * 0.015, label, ha="center",
            va="bottom", fontsize=7, bbox={"facecolor": "white", "alpha": 0.7, "lw": 0, "pad": 0.5})


def _lines(geoms: np.ndarray) -> list[np.ndarray]:
    out = []
    for g in geoms:
        parts = shapely.get_parts(g)
        out += [np.asarray(shapely.get_coordinates(p)) for p in parts]
    return out


def _buildings(ax: Any, buildings: np.ndarray, bounds: tuple[float, float, float, float]) -> None:
    from matplotlib.collections import PolyCollection

    box = shapely.box(*bounds)
    polys = []
    for b in buildings[shapely.intersects(buildings, box)] if buildings.size else []:
        for part in shapely.get_parts(b):
            if part.geom_type == "Polygon":
                polys.append(np.asarray(part.exterior.coords))
    ax.add_collection(PolyCollection(polys, facecolor="#d9d9d9", edgecolor="#bdbdbd", lw=0.3,
                                     zorder=1))


def coverage_map(result: Any, names: dict[int, str], level: str, scenario: str) -> bytes:
    """Streets by share in view at ``level`` (``scenario`` optics), cameras, buildings."""
    from matplotlib.collections import LineCollection

    plt = pyplot()
    inputs = result.inputs
    lr = result.levels[(scenario, level)]
    bounds = _view_bounds(inputs)
    fig, ax = plt.subplots(figsize=(7.2, 6.0))
    _buildings(ax, inputs.buildings, bounds)
    lengths = shapely.length(inputs.streets) if inputs.streets.size else np.empty(0)
    share = np.divide(lr.street_in_view_m, lengths, out=np.zeros_like(lengths), where=lengths > 0)
    segs, values = [], []
    for geom, s in zip(inputs.streets, share, strict=True):
        for line in _lines(np.array([geom])):
            segs.append(line)
            values.append(min(max(s, 0.0), 1.0))
    lc = LineCollection(segs, cmap=STREET_CMAP, lw=1.6, zorder=2)
    lc.set_array(np.asarray(values))
    lc.set_clim(0, 1)
    ax.add_collection(lc)
    ax.scatter(inputs.cam_x, inputs.cam_y, s=9, c="#111", edgecolors="white", linewidths=0.5,
               zorder=4, label=f"camera ({len(inputs.cam_x)})")
    _street_labels(ax, inputs, names, bounds)
    bar = fig.colorbar(lc, ax=ax, fraction=0.035, pad=0.02)
    bar.set_label(f"share of street length in view ({level}, {scenario} optics)")
    bar.ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.legend(loc="upper left", fontsize=7, frameon=True)
    _frame(ax, bounds, f"Streets in view of cameras — {level} level")
    return to_svg(fig)


def _view_bounds(inputs: Any) -> tuple[float, float, float, float]:
    geoms = np.concatenate([inputs.streets, shapely.points(inputs.cam_x, inputs.cam_y)])
    x0, y0, x1, y1 = (float(v) for v in shapely.total_bounds(geoms))
    pad = max(x1 - x0, y1 - y0) * 0.03 + 10
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def _street_labels(ax: Any, inputs: Any, names: dict[int, str], bounds: tuple) -> None:
    """Name the longest named streets (one label per name) along their middle."""
    import matplotlib.patheffects as pe

    by_name: dict[str, shapely.Geometry] = {}
    for sid, geom in zip(inputs.street_ids, inputs.streets, strict=True):
        name = names.get(int(sid))
        if name and (name not in by_name or geom.length > by_name[name].length):
            by_name[name] = geom
    longest = sorted(by_name.items(), key=lambda kv: -kv[1].length)[:10]
    for name, geom in longest:
        mid = geom.interpolate(0.5, normalized=True)
        a = geom.interpolate(0.45, normalized=True)
        b = geom.interpolate(0.55, normalized=True)
        angle = float(np.degrees(np.arctan2(b.y - a.y, b.x - a.x)))
        if angle > 90:
            angle -= 180
        elif angle < -90:
            angle += 180
        ax.text(mid.x, mid.y, name, fontsize=6.5, rotation=angle, ha="center", va="center",
                rotation_mode="anchor", color="#222", zorder=5, clip_on=True,
                path_effects=[pe.withStroke(linewidth=2.2, foreground="white")])


def route_map(plan: Any, level: str, streets: Any = ()) -> bytes:
    """The shortest and the least-exposed routes, their stretches in view, on lon/lat axes,
    over the ``streets`` (lon/lat geometries) of the window for context."""
    from shapely.geometry import shape

    plt = pyplot()
    gj = plan.to_geojson()
    fig, ax = plt.subplots(figsize=(7.2, 5.5))
    xs, ys = [], []
    for line in _lines(np.asarray(list(streets), dtype=object)):
        ax.plot(line[:, 0], line[:, 1], color="#c8c8c8", lw=0.6, zorder=1)
    for feat in gj["features"]:
        props, geom = feat["properties"], shape(feat["geometry"])
        kind = props.get("kind") or props.get("route")
        in_view = props.get("feature") == "in_view"
        if in_view and props.get("level") != level:
            continue
        for line in _lines(np.array([geom])):
            xs += list(line[:, 0])
            ys += list(line[:, 1])
            if in_view:
                ax.plot(line[:, 0], line[:, 1], color="#111", lw=5, alpha=0.35, zorder=2)
            else:
                ax.plot(line[:, 0], line[:, 1], color=ROUTE_COLOURS.get(kind, "#0072B2"), lw=2.2,
                        zorder=3, label=str(kind).replace("_", " "))
    handles, labels = ax.get_legend_handles_labels()
    seen = dict(zip(labels, handles, strict=True))
    ax.legend(seen.values(), seen.keys(), fontsize=7, loc="upper left")
    if xs:
        pad_x, pad_y = (max(xs) - min(xs)) * 0.08 + 1e-4, (max(ys) - min(ys)) * 0.08 + 1e-4
        ax.set_xlim(min(xs) - pad_x, max(xs) + pad_x)
        ax.set_ylim(min(ys) - pad_y, max(ys) + pad_y)
    lat = float(np.mean(ys)) if ys else 0.0
    ax.set_aspect(1 / np.cos(np.radians(lat)))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"Routes and their stretches in view (grey halo, {level} level)", loc="left")
    ax.text(0.995, 0.005, ODBL_ATTRIBUTION, transform=ax.transAxes, ha="right", va="bottom",
            fontsize=5.5, color="#333")
    return to_svg(fig)


#: Okabe–Ito colours for the vendors of a devices map (the last one is "other vendors").
VENDOR_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#999999")


def local_metres(lon: np.ndarray, lat: np.ndarray, lat0: float) -> np.ndarray:
    """Lon/lat to metres east and north of (0, ``lat0``) (equirectangular: a metre is a metre
    both ways at city and region scale); shape (n, 2)."""
    k = 111_320.0
    return np.column_stack([np.asarray(lon) * k * np.cos(np.radians(lat0)), np.asarray(lat) * k])


def devices_map(
    lon: np.ndarray,
    lat: np.ndarray,
    groups: list[str],
    bbox: tuple[float, float, float, float],
    streets: Any = (),
    title: str = "Devices mapped",
    size: tuple[float, float] = (7.2, 5.6),
) -> bytes:
    """Devices as dots coloured by ``groups`` (e.g. vendor; the largest six, then "other"),
    over the ``streets`` (lon/lat geometries); scale bar, north arrow, attribution. The view
    is the devices' extent (at least 500 m across); ``bbox`` sets the projection's latitude."""
    from collections import Counter

    plt = pyplot()
    lat0 = (bbox[1] + bbox[3]) / 2
    xy = local_metres(lon, lat, lat0)
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)  # the devices' extent, ≥ 500 m
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0, 500.0) / 2
    aspect = size[0] / size[1]
    hx, hy = max(half, half * aspect * 0.8), half
    x0, x1, y0, y1 = cx - hx, cx + hx, cy - hy, cy + hy
    fig, ax = plt.subplots(figsize=size)
    for line in _lines(np.asarray(list(streets), dtype=object)):
        line_xy = local_metres(line[:, 0], line[:, 1], lat0)
        ax.plot(line_xy[:, 0], line_xy[:, 1], color="#cfcfcf", lw=0.5, zorder=1)
    order = [g for g, _ in Counter(groups).most_common()]
    shown = order[: len(VENDOR_COLOURS) - 1]
    for i, group in enumerate([*shown, "other"]):
        pick = np.array([(g == group) if group != "other" else (g not in shown) for g in groups],
                        dtype=bool)
        if not pick.any():
            continue
        ax.scatter(xy[pick, 0], xy[pick, 1], s=16, c=VENDOR_COLOURS[i], edgecolors="white",
                   linewidths=0.5, zorder=3, label=f"{group} ({int(pick.sum())})")
    ax.legend(loc="upper left", fontsize=6.5, frameon=True, title="vendor (devices)",
              title_fontsize=6.5, framealpha=0.85)
    pad = max(x1 - x0, y1 - y0) * 0.03
    _frame(ax, (x0 - pad, y0 - pad, x1 + pad, y1 + pad), title)
    return to_svg(fig)
