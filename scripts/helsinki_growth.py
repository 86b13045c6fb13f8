"""Growth of mapped cameras in central Helsinki, 2019 → 2025, written into the README.

Two snapshots of the same area: the bundled central-Helsinki extract (OSM data to 2019-04-21)
and the Helsinki-region export of OSM cameras of November 2025 (``../shared/data/cameras/``,
OSM node ids). Both are imported into a temporary store; ``survatlas.publish.growth.diff``
counts the cameras added, kept and removed inside the 2019 extract's bounds, and the timeline
chart is written to ``docs/img/helsinki-growth.png``.

Run: ``python scripts/helsinki_growth.py [--shared ../shared]`` (rewrites the README section
between the ``growth:start`` / ``growth:end`` markers).
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from survatlas.ingest import import_cameras, import_osm
from survatlas.ingest.osm import header_box
from survatlas.publish.growth import diff, timeline, timeline_chart
from survatlas.store import Store

ROOT = Path(__file__).resolve().parents[1]
EXTRACT = ROOT / "data" / "helsinki-center.osm.pbf"
EXPORT = "data/cameras/helsinki-region-osm-cameras-2025.geojson"
#: the export's date: the data README gives November 2025 (the day is not known)
EXPORT_AS_OF = "2025-11-01"


def helsinki_growth(shared: Path, chart: Path | None = None) -> dict:
    """Import both snapshots into a temporary store; the diff inside the 2019 bounds."""
    box = header_box(EXTRACT)
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "growth.db") as store:
        first = import_osm(store, EXTRACT)
        import_cameras(store, shared / EXPORT, osm_ids=True, as_of=EXPORT_AS_OF)
        as_of_2019 = store.query("SELECT as_of FROM snapshots WHERE source_id = ?",
                                 (first.source_id,))[0][0]
        result = diff(store, as_of_2019, EXPORT_AS_OF, bbox=box)
        line = timeline(store, bbox=box, by="year")
        if chart is not None:
            timeline_chart(line, chart, title="Cameras mapped in central Helsinki (OSM)")
    devices = result["devices"]
    result["without_osm_id"] = sum(1 for d in devices if not d["origin"].startswith("osm:"))
    result["osm_appeared"] = sum(1 for d in devices
                                 if d["change"] == "appeared" and d["origin"].startswith("osm:"))
    result["speed_cameras"] = sum(1 for d in devices if d["device_type"] == "speed_camera")
    result["bounds"] = box
    return result


def readme_text(r: dict) -> str:
    """The README paragraph of a :func:`helsinki_growth` result."""
    c = r["counts"]
    w, s, e, n = r["bounds"]
    return (
        f"Inside the 2019 extract's bounds ({w:.4f},{s:.4f} – {e:.4f},{n:.4f}), OSM held "
        f"**{r['in_place_from']}** surveillance devices on {r['from'][:10]} and "
        f"**{r['in_place_to']}** after the export of {r['to'][:7]} was imported: "
        f"**{c['kept']}** kept "
        f"({c['moved']} of them moved by more than 0.5 m, {c['retagged']} retagged), "
        f"**{c['disappeared']}** removed and **{c['appeared']}** added "
        f"({r['osm_appeared']} OSM nodes, {r['without_osm_id']} rows of the export without an OSM "
        f"id). The export lists `man_made=surveillance` only: the {r['speed_cameras']} speed "
        "cameras stay as they were, counted as kept. Dates are OSM mapping dates: this is growth in the map, not a census of "
        "installations. Computed by `scripts/helsinki_growth.py` (`survatlas diff`), checked "
        "against the raw files by `tests/test_growth_helsinki.py`.\n\n"
        "![Cameras mapped in central Helsinki per year](docs/img/helsinki-growth.png)\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    chart = ROOT / "docs" / "img" / "helsinki-growth.png"
    chart.parent.mkdir(parents=True, exist_ok=True)
    result = helsinki_growth(args.shared, chart)
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    block = f"<!-- growth:start -->\n{readme_text(result)}<!-- growth:end -->"
    new = re.sub(r"<!-- growth:start -->.*?<!-- growth:end -->", lambda _: block, text,
                 flags=re.S)
    readme.write_text(new, encoding="utf-8")
    print(readme_text(result))


if __name__ == "__main__":
    main()
