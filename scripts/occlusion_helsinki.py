"""2-D and 2.5-D coverage of the bundled Helsinki extract, side by side (docs/coverage.md).

    python scripts/occlusion_helsinki.py [--pbf data/helsinki-center.osm.pbf]
                                         [--png docs/img/occlusion-helsinki.png]

Imports the extract into a temporary store, runs the coverage pipeline with
``occlusion="2d"`` and ``"2.5d"`` (all three optics scenarios), prints a Markdown table of the
shares in view (low · typical · high) and the height sources, and draws the visible regions of
both models around the camera whose view changes most (typical optics, detection).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import shapely
from PIL import Image, ImageDraw

from survatlas import ODBL_ATTRIBUTION
from survatlas.coverage.analysis import Settings, analyse, load_inputs
from survatlas.coverage.heights import building_heights
from survatlas.coverage.scale import compute_coverage
from survatlas.ingest import import_osm
from survatlas.store import Store

ROOT = Path(__file__).resolve().parents[1]
LEVELS = ("detection", "observation", "recognition")
METRICS = (("street_in_view_share", "street"), ("land_in_view_share", "land"),
           ("public_space_in_view_share", "public space"))
WINDOW_M = 260.0
SIZE_PX = 620


def _fmt(values: dict) -> str:
    return " · ".join("–" if values.get(k) is None else f"{values[k]:.1%}"
                      for k in ("low", "typical", "high"))


def table(summaries: dict[str, dict]) -> str:
    """Markdown: one row per level and model, shares as low · typical · high."""
    head = "| level | model | " + " | ".join(name for _, name in METRICS) + " |"
    rows = [head, "|" + "---|" * (len(METRICS) + 2)]
    for level in LEVELS:
        for model, summary in summaries.items():
            figs = summary["intervals"][level]
            rows.append(f"| {level} | {model} | "
                        + " | ".join(_fmt(figs[m]) for m, _ in METRICS) + " |")
    return "\n".join(rows)


def _focus(regions2, regions25) -> int:
    """The view whose visible area grows most from 2-D to 2.5-D."""
    return int(np.argmax(regions25.area() - regions2.area()))


def draw(inputs, tops, polys2, polys25, focus: int, focus_xy, path: Path) -> None:
    """Two panels (2-D left, 2.5-D right): buildings grey by height, the ground seen by the
    other views and by view ``focus`` (ringed) over them."""
    cx, cy = focus_xy
    x0, y0 = cx - WINDOW_M / 2, cy - WINDOW_M / 2
    scale = SIZE_PX / WINDOW_M
    img = Image.new("RGB", (2 * SIZE_PX + 30, SIZE_PX + 70), "white")
    pen = ImageDraw.Draw(img, "RGBA")
    box = shapely.box(x0, y0, x0 + WINDOW_M, y0 + WINDOW_M)

    def px(xy, dx):
        return [(dx + (x - x0) * scale, SIZE_PX + 30 - (y - y0) * scale) for x, y in xy]

    def fill(geom, dx, colour, outline=None):
        for part in shapely.get_parts(shapely.intersection(shapely.make_valid(geom), box)):
            if part.geom_type != "Polygon" or part.is_empty:
                continue
            pen.polygon(px(part.exterior.coords, dx), fill=colour, outline=outline)
            for hole in part.interiors:
                pen.polygon(px(hole.coords, dx), fill="white")

    near = shapely.STRtree(inputs.buildings).query(box)
    for dx, polys, title in ((10, polys2, "2-D: every footprint hides what is behind it"),
                             (SIZE_PX + 20, polys25, "2.5-D: buildings hide by their height")):
        for b in near:
            shade = int(215 - min(tops[b], 30.0) * 5)
            fill(inputs.buildings[b], dx, (shade, shade, shade, 255), (90, 90, 90, 255))
        fill(shapely.union_all(np.delete(polys, focus)), dx, (240, 150, 130, 110))
        fill(polys[focus], dx, (200, 30, 20, 170), (140, 10, 0, 255))
        for x, y in zip(inputs.cam_x, inputs.cam_y, strict=True):
            if box.contains(shapely.Point(x, y)):
                (u, v), = px([(x, y)], dx)
                pen.ellipse((u - 3, v - 3, u + 3, v + 3), fill=(20, 20, 140))
        (u, v), = px([focus_xy], dx)
        pen.ellipse((u - 6, v - 6, u + 6, v + 6), outline=(0, 160, 0), width=3)
        pen.text((dx, 8), title, fill="black")
    pen.text((10, SIZE_PX + 40), "dark red: ground seen by the ringed camera; light red: by "
             "the others (typical optics, detection); grey: buildings, darker = taller; blue: "
             "cameras", fill="black")
    pen.text((10, SIZE_PX + 54), f"{WINDOW_M:.0f} m x {WINDOW_M:.0f} m window, made by "
             "scripts/occlusion_helsinki.py. " + ODBL_ATTRIBUTION, fill="black")
    img.save(path)


def main() -> None:
    """Run both models on the extract; print the table; draw the figure."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pbf", type=Path, default=ROOT / "data" / "helsinki-center.osm.pbf")
    ap.add_argument("--png", type=Path, default=ROOT / "docs" / "img" / "occlusion-helsinki.png")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "h.db") as store:
        import_osm(store, args.pbf)
        summaries = {model: compute_coverage(store, settings=Settings(
            levels=LEVELS, cell_m=2.0, occlusion=model)) for model in ("2d", "2.5d")}
        inputs = load_inputs(store)
    print(table(summaries))
    print()
    print("heights:", summaries["2.5d"]["heights"])
    one = Settings(scenarios=("typical",), levels=("detection",), cell_m=2.0)
    reg = {m: analyse(inputs, Settings(**{**one.__dict__, "occlusion": m})).levels[
        "typical", "detection"].regions for m in ("2d", "2.5d")}
    v = _focus(reg["2d"], reg["2.5d"])
    a = inputs.building_attrs
    tops, _, _ = building_heights(list(a["building"]), np.asarray(a["height_m"]),
                                  np.asarray(a["levels"]), np.asarray(a["min_height_m"]))
    draw(inputs, tops, reg["2d"].to_polygons(), reg["2.5d"].to_polygons(), v,
         (reg["2.5d"].x[v], reg["2.5d"].y[v]), args.png)
    print(f"figure: {args.png.relative_to(ROOT) if args.png.is_relative_to(ROOT) else args.png}")


if __name__ == "__main__":
    main()
