"""A static web site of an area: the map on PMTiles archives, its figures as JSON, its report.

:func:`build_site` writes a folder that any static host serves (or ``python -m http.server``),
with no survatlas server behind it::

    index.html            the map and the key figures (ODbL attribution on the page)
    site/site.js, .css    the site's own script (from the built front end, web/static/dist)
    vendor/               MapLibre GL JS and the pmtiles protocol (from npm, at build time)
    tiles/base.pmtiles    buildings, streets, sites (vector tiles of publish.tiles)
    tiles/devices.pmtiles devices, and clusters where they are dense
    tiles/coverage.pmtiles streets and sites by share in view (publish.coverage_tiles), when the
                          store's coverage run covers the area; otherwise site.json says why
    fonts/{stack}/{a}-{b}.pbf  label glyphs (publish.glyphs) of the code points the names need
    stats.json            ``survatlas stats --bbox … --json``
    report.json/.html     ``survatlas report --bbox …`` as JSON figures and as HTML
    site.json             what the folder holds, the area, the method and the attribution

Every tile is :func:`survatlas.publish.tiles.render_tile` for the ``public`` audience and every
figure comes from :func:`survatlas.publish.stats.store_stats` and
:func:`survatlas.publish.report.build_report`: all read through :mod:`survatlas.store.gate`.
The folder is written beside ``out`` and renamed into place: all or nothing.
"""

from __future__ import annotations

import gzip
import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

from survatlas import ODBL_ATTRIBUTION, __version__
from survatlas.errors import InputError, SurvatlasError
from survatlas.publish import coverage_tiles, tiles
from survatlas.publish.stats import store_stats
from survatlas.store import Store
from survatlas.store.gate import audience_clause, bbox_clause

BBox = tuple[float, float, float, float]
#: the tilesets a site carries, and the lowest zoom written for each.
SITE_TILESETS = {"base": 12, "devices": 6, "coverage": 12}
#: the DORI level the coverage layer is coloured by (the map app's default: the widest)
COVERAGE_LEVEL = "detection"
DEFAULT_MAX_ZOOM = 16
DEFAULT_TITLE = "Surveillance infrastructure map"
#: more tiles than this and the area is too large for one static folder at that zoom.
MAX_TILES = 40_000
#: files of the built front end a site copies (source path under web/static/dist).
ASSETS = (
    "site/site.js",
    "site/site.css",
    "vendor/maplibre-gl-csp.js",
    "vendor/maplibre-gl-csp-worker.js",
    "vendor/maplibre-gl.css",
    "vendor/maplibre-gl.LICENSE.txt",
    "vendor/pmtiles.js",
)
#: the map app's modules the site's script imports (label and context styles, one definition)
SHARED_MODULES = ("labels.js", "context.js", "style.js")
#: copied under site/ from the front end's root
FAVICON = "favicon.svg"
#: tables whose public names the site's labels draw (streets, squares and parks, places)
LABELLED_TABLES = ("streets", "sites", "context")
#: glyph ranges always written: Basic Latin and Latin-1 (digits of the cluster counts)
BASE_GLYPH_RANGES = (0,)
_TEMPLATES = Path(__file__).with_name("templates")


def dist_dir() -> Path:
    """The built web front end (``survatlas/web/static/dist``, shipped in the wheel)."""
    return Path(__file__).resolve().parent.parent / "web" / "static" / "dist"


def public_extent(store: Store) -> BBox:
    """The bounding box of every public device, street and site (the default area of a site)."""
    boxes = [
        store.query(
            f"SELECT min(min_x), min(min_y), max(max_x), max(max_y) FROM {table} "
            f"WHERE {audience_clause('public')}"
        )[0]
        for table in ("devices", "streets", "sites")
    ]
    boxes = [tuple(b) for b in boxes if b[0] is not None]
    if not boxes:
        raise InputError(
            "the store holds no public devices, streets or sites to publish; import some first "
            "(`survatlas import osm FILE`)"
        )
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def tile_range(bbox: BBox, z: int) -> tuple[int, int, int, int]:
    """``x0, y0, x1, y1`` (inclusive) of the zoom ``z`` tiles meeting ``bbox`` (XYZ scheme)."""
    n = 2**z

    def x_of(lon: float) -> int:
        return min(max(int((lon + 180.0) / 360.0 * n), 0), n - 1)

    def y_of(lat: float) -> int:
        lat = min(max(lat, -85.0511287798066), 85.0511287798066)
        r = math.radians(lat)
        return min(max(int((1 - math.asinh(math.tan(r)) / math.pi) / 2 * n), 0), n - 1)

    return x_of(bbox[0]), y_of(bbox[3]), x_of(bbox[2]), y_of(bbox[1])


def count_tiles(bbox: BBox, max_zoom: int) -> int:
    """How many tiles (all tilesets) a site of ``bbox`` up to ``max_zoom`` addresses."""
    total = 0
    for minzoom in SITE_TILESETS.values():
        for z in range(minzoom, max_zoom + 1):
            x0, y0, x1, y1 = tile_range(bbox, z)
            total += (x1 - x0 + 1) * (y1 - y0 + 1)
    return total


def coverage_layer(store: Store, bbox: BBox) -> tuple[dict[str, Any] | None, str | None]:
    """What the site's coverage layer shows (run, level, scenario, layers), or why it has none.

    The stored run must cover ``bbox`` and pass :func:`survatlas.coverage.runs.require_run` for
    the public (a run that used a camera since withdrawn is refused).
    """
    from survatlas.coverage.runs import require_run

    try:
        run = require_run(store, bbox=bbox, levels=(COVERAGE_LEVEL,), audience="public")
    except SurvatlasError as exc:
        return None, f"No coverage layer: {exc}"
    coverage_tiles.register_coverage_tiles()
    return {
        "level": COVERAGE_LEVEL,
        "scenario": run.main_scenario(),
        "stale": run.stale,
        "stale_reasons": list(run.stale_reasons),
        "layers": tiles.tileset_catalog()[coverage_tiles.TILESET],
        "method": f"Share of each street's length (each site's area) in view at the "
        f"{COVERAGE_LEVEL} level, {run.main_scenario()} optics, from the stored coverage run "
        "(survatlas coverage); grey: not in view",
    }, None


def label_text(store: Store, bbox: BBox) -> set[str]:
    """The public names (``name``) of the streets, sites and places meeting ``bbox``: the text
    the site's labels can draw."""
    names: set[str] = set()
    for table in LABELLED_TABLES:
        where, params = bbox_clause(store, table, bbox)
        rows = store.query(
            f"SELECT DISTINCT name FROM {table} WHERE {audience_clause('public')} AND {where} "
            "AND name IS NOT NULL",
            params,
        )
        names.update(r[0] for r in rows)
    return names


def glyph_ranges(texts: set[str]) -> list[int]:
    """Start code points of the 256-glyph ranges ``texts`` need, Basic Latin always included
    (code points past the Basic Multilingual Plane have no glyphs and are left out)."""
    from survatlas.publish.glyphs import MAX_CODE_POINT

    chars = {c for text in texts for c in text + text.upper()}  # place names are upper-cased
    starts = {ord(c) // 256 * 256 for c in chars if ord(c) <= MAX_CODE_POINT}
    return sorted(starts | set(BASE_GLYPH_RANGES))


def write_glyphs(folder: Path, starts: list[int]) -> list[str]:
    """Write ``fonts/{stack}/{start}-{end}.pbf`` of every font stack for ``starts``; returns the
    files written (relative to ``folder``)."""
    from survatlas.publish.glyphs import FONT_STACKS, glyph_range

    written = []
    for stack in FONT_STACKS:
        (folder / "fonts" / stack).mkdir(parents=True, exist_ok=True)
        for start in starts:
            name = f"fonts/{stack}/{start}-{start + 255}.pbf"
            (folder / name).write_bytes(glyph_range(stack, start))
            written.append(name)
    return written


def write_archive(
    store: Store, tileset: str, bbox: BBox, minzoom: int, max_zoom: int, path: Path
) -> int:
    """Render ``tileset`` over ``bbox`` (public audience) into a PMTiles archive at ``path``.

    Empty tiles are left out; tiles are gzip-compressed (deterministically). Returns the number
    of tiles written; nothing is written when every tile is empty.
    """
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    memo: dict = {}
    found: list[tuple[int, bytes]] = []
    for z in range(minzoom, max_zoom + 1):
        x0, y0, x1, y1 = tile_range(bbox, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                data = tiles.render_tile(store, tileset, z, x, y, audience="public", memo=memo)
                if data:
                    found.append((zxy_to_tileid(z, x, y), gzip.compress(data, mtime=0)))
    if not found:
        return 0
    found.sort(key=lambda t: t[0])
    layers = list(tiles.tileset_catalog()[tileset])
    if tileset == "devices":
        layers.append({"name": "clusters", "minzoom": 0, "maxzoom": tiles.POINT_ZOOM - 1,
                       "geometry": "point"})
    metadata = {
        "name": f"survatlas {tileset}",
        "attribution": ODBL_ATTRIBUTION,
        "description": f"survatlas {tileset} layers, public records only",
        "vector_layers": [
            {"id": lay["name"], "fields": {}, "minzoom": max(lay["minzoom"], minzoom),
             "maxzoom": min(lay["maxzoom"], max_zoom)}
            for lay in layers
        ],
    }
    e7 = [round(v * 10_000_000) for v in bbox]
    header = {
        "tile_type": TileType.MVT,
        "tile_compression": Compression.GZIP,
        "min_lon_e7": e7[0],
        "min_lat_e7": e7[1],
        "max_lon_e7": e7[2],
        "max_lat_e7": e7[3],
        "center_zoom": min(max(minzoom, 14), max_zoom),
        "center_lon_e7": round((e7[0] + e7[2]) / 2),
        "center_lat_e7": round((e7[1] + e7[3]) / 2),
    }
    with path.open("wb") as f:
        writer = Writer(f)
        for tile_id, data in found:
            writer.write_tile(tile_id, data)
        writer.finalize(header, metadata)
    return len(found)


def build_site(
    store: Store,
    out: Path,
    bbox: BBox | None = None,
    *,
    max_zoom: int = DEFAULT_MAX_ZOOM,
    report: bool = True,
    overwrite: bool = False,
    title: str = DEFAULT_TITLE,
) -> dict[str, Any]:
    """Write the static site of ``bbox`` (default: every public record) into the folder ``out``.

    Parameters
    ----------
    store : Store
        The store; only public records are read (through the publish gate).
    out : Path
        The folder to create. An existing empty folder is filled; a non-empty one is replaced
        only with ``overwrite``.
    bbox : tuple of float, optional
        West, south, east, north (degrees).
    max_zoom : int
        Highest zoom of the tile archives (the map zooms further by scaling them).
    report : bool
        Also compute the area report (coverage in memory, like ``survatlas report --bbox``).
    overwrite : bool
        Replace a non-empty ``out``.
    title : str
        The page's title (e.g. the place's name).

    Returns
    -------
    dict
        The manifest written as ``site.json`` (files, tiles per archive, area, method).

    Raises
    ------
    InputError
        No public record, an area too large for ``max_zoom``, a non-empty ``out``, or a missing
        front-end build.

    Examples
    --------
    ::

        with Store("helsinki.db", create=False) as store:
            build_site(store, Path("site"), (24.93, 60.16, 24.96, 60.18))
    """
    out = Path(out)
    _check_target(out, overwrite)
    if not 0 <= max_zoom <= 18:
        raise InputError(f"--max-zoom {max_zoom} must be between 0 and 18")
    dist = _check_assets()
    bbox = tuple(bbox) if bbox is not None else public_extent(store)
    n = count_tiles(bbox, max_zoom)
    if n > MAX_TILES:
        raise InputError(
            f"the area needs {n:,} tiles up to zoom {max_zoom} (at most {MAX_TILES:,}); "
            "give a smaller --bbox or a lower --max-zoom"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a web site is read by the web server
    try:
        manifest = _write_site(store, tmp, dist, bbox, max_zoom, report, title.strip() or DEFAULT_TITLE)
        _move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _check_target(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file; give a folder for the site")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise InputError(f"{out} is not empty; choose a new folder or add --overwrite")


def _check_assets() -> Path:
    dist = dist_dir()
    missing = [a for a in (*ASSETS, *SHARED_MODULES, FAVICON) if not (dist / a).is_file()]
    if missing:
        raise InputError(
            f"the built web front end lacks {', '.join(missing)}; build it with `npm ci && "
            "npm run build` in src/survatlas/web/frontend (or install survatlas from a wheel)"
        )
    return dist


def _move_into_place(tmp: Path, out: Path) -> None:
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_site(
    store: Store, folder: Path, dist: Path, bbox: BBox, max_zoom: int, with_report: bool,
    title: str,
) -> dict[str, Any]:
    from datetime import UTC, datetime

    for asset in ASSETS:
        (folder / asset).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dist / asset, folder / asset)
    for module in SHARED_MODULES:
        shutil.copyfile(dist / module, folder / module)
    shutil.copyfile(dist / FAVICON, folder / "site" / FAVICON)
    starts = glyph_ranges(label_text(store, bbox))
    write_glyphs(folder, starts)
    (folder / "tiles").mkdir()
    archives, counts = {}, {}
    coverage, coverage_note = coverage_layer(store, bbox)
    for tileset, minzoom in SITE_TILESETS.items():
        if tileset == coverage_tiles.TILESET and coverage is None:
            continue
        name = f"tiles/{tileset}.pmtiles"
        written = write_archive(store, tileset, bbox, minzoom, max_zoom, folder / name)
        if written:
            archives[tileset], counts[tileset] = name, written
    stats = store_stats(store, bbox)
    _write_json(folder / "stats.json", stats)
    report, report_note = _write_report(store, folder, bbox) if with_report else (None, None)
    manifest = {
        "title": title,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "survatlas": __version__,
        "bbox": list(bbox),
        "max_zoom": max_zoom,
        "archives": archives,
        "tiles": counts,
        "files": sorted(
            [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()]
            + ["index.html", "site.json"]
        ),
        "coverage": coverage,
        "coverage_note": coverage_note,
        "glyph_ranges": [f"{start}-{start + 255}" for start in starts],
        "report": "report.html" if report else None,
        "report_note": report_note,
        "attribution": ODBL_ATTRIBUTION,
        "method": "public records only, read through the publish gate; vector tiles "
        f"(MVT) of the base and devices tilesets for zooms {min(SITE_TILESETS.values())}–"
        f"{max_zoom}, devices clustered below zoom {tiles.POINT_ZOOM} where dense; counts "
        "as `survatlas stats --json`, the report as `survatlas report --bbox`; labels of the "
        "public names (`name`) in Noto Sans glyphs made from installed fonts.",
    }
    _write_json(folder / "site.json", manifest)
    (folder / "index.html").write_text(_index_html(manifest, stats, report), encoding="utf-8")
    return manifest


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_report(store: Store, folder: Path, bbox: BBox) -> tuple[dict | None, str | None]:
    """The area report as report.json and report.html; when the area cannot be reported on
    (no street, no camera), the reason instead."""
    from survatlas.publish import document
    from survatlas.publish._report_doc import report_document
    from survatlas.publish.report import build_report

    try:
        data = build_report(store, bbox=bbox)
    except SurvatlasError as exc:
        return None, f"No area report: {exc}."
    _write_json(folder / "report.json", data.figures)
    (folder / "report.html").write_text(
        document.render_html(report_document(data)), encoding="utf-8"
    )
    return data.figures, None


def _index_html(manifest: dict[str, Any], stats: dict[str, Any], report: dict | None) -> str:
    import jinja2

    from survatlas.publish._report_doc import human, interval, pct

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)), autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    coverage = []
    if report:
        for level, v in report["coverage"].get("intervals", {}).items():
            coverage.append((level, interval(v["street_in_view_share"])))
    w, s, e, n = manifest["bbox"]
    return env.get_template("site_index.html.j2").render(
        title=manifest["title"],
        bbox_text=f"{w:.4f}, {s:.4f} – {e:.4f}, {n:.4f} (W, S – E, N)",
        stats=stats,
        device_types=[(human(k), v) for k, v in stats["devices"]["by_device_type"].items()],
        direction_share=pct(stats["completeness"].get("direction")),
        coverage=coverage,
        report=report,
        report_note=manifest["report_note"],
        coverage_layer=manifest["coverage"],
        coverage_note=manifest["coverage_note"],
        method=manifest["method"],
        attribution=manifest["attribution"],
        generated_at=manifest["generated_at"],
        version=manifest["survatlas"],
    )
