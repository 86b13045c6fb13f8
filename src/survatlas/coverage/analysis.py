"""Coverage of a city: from stored cameras, buildings, streets and sites to honest figures.

Pipeline: load (public records, metric CRS chosen once) → camera views per optics scenario and
DORI level (:func:`survatlas.optics.camera_geometry`) → exact visible regions
(:func:`survatlas.coverage.visibility`) → streets (1-D intervals), sites (area and outline),
land and public space (count grid), H3 cells, per-camera figures → one result, saved to the
store. Every figure is given for the three optics scenarios — ``best`` (short range: the low
end for the public), ``typical`` and ``worst`` (long range: the high end) — with the number of
cameras whose direction or optics were assumed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from survatlas import ODBL_ATTRIBUTION, geo, optics
from survatlas.coverage import _tiles
from survatlas.coverage._raster import Raster
from survatlas.coverage.aggregate import H3_BLOCK, SeenIntervals, h3_assignment
from survatlas.coverage.camera_views import ALL_LEVELS, CameraViews, camera_views
from survatlas.coverage.heights import height_sources
from survatlas.coverage.obstacles import prepare_obstacles
from survatlas.coverage.reading import (  # noqa: F401  (re-exported: their former home)
    FILMING,
    OPTICS_COLUMNS,
    OPTICS_NUMBERS,
    OPTICS_TEXTS,
    Table,
    building_table,
    device_columns,
    device_rows,
    read_cameras,
    read_sites,
    read_streets,
)
from survatlas.coverage.regions import Regions
from survatlas.coverage.runs import DEFAULT_OCCLUSION, input_state
from survatlas.errors import InputError
from survatlas.store import Store
from survatlas.store.gate import audience_clause, bbox_clause, read_layer

if TYPE_CHECKING:
    import pandas as pd
    from pyproj import CRS

SCENARIOS = ("best", "typical", "worst")
#: how a scenario reads as an interval end for coverage figures
BOUND = {"best": "low", "typical": "typical", "worst": "high"}
LEVELS = optics.LEVELS
POINT_SITE_RADIUS_M = 30.0
#: what a run can compute: street figures, site figures, land/public-space areas, the H3 summary
OUTPUTS = ("streets", "sites", "areas", "h3")
#: Occlusion models: footprints opaque to any height, or buildings hiding by their height.
OCCLUSION_MODELS = ("2d", "2.5d")


@dataclass(frozen=True)
class Settings:
    """Options of a coverage run (all documented in ``docs/coverage.md``)."""

    scenarios: tuple[str, ...] = SCENARIOS
    levels: tuple[str, ...] = LEVELS
    standard: str = optics.DEFAULT_STANDARD
    no_direction: str = "360"
    cell_m: float = 2.0
    h3_resolution: int = 10
    walkable_only: bool = True
    #: outputs to compute (a subset of :data:`OUTPUTS`); street figures are always computed
    outputs: tuple[str, ...] = OUTPUTS
    #: "2.5d" (default): buildings hide by their height, unknown heights joining the scenarios
    #: (docs/visibility.md); "2d": every footprint is opaque whatever its height
    occlusion: str = DEFAULT_OCCLUSION

    def check(self) -> None:
        """Raise :class:`InputError` for impossible settings."""
        bad = [o for o in self.outputs if o not in OUTPUTS]
        if bad or not self.outputs:
            raise InputError(f"unknown output {bad[0] if bad else ''!r}; use one or more of "
                             f"{', '.join(OUTPUTS)}")
        bad = [s for s in self.scenarios if s not in SCENARIOS]
        if bad:
            raise InputError(f"unknown scenario {bad[0]!r}; use best, typical, worst or all")
        bad = [lv for lv in self.levels if lv not in (*LEVELS, optics.PLATE_LEVEL)]
        if bad:
            raise InputError(f"unknown level {bad[0]!r}; use one of {', '.join(LEVELS)} or plate")
        if not 0.25 <= self.cell_m <= 50:
            raise InputError("cell size must be between 0.25 and 50 metres")
        if not 0 <= self.h3_resolution <= 15:
            raise InputError("H3 resolution must be between 0 and 15")
        if self.occlusion not in OCCLUSION_MODELS:
            raise InputError(f"unknown occlusion model {self.occlusion!r}; use 2d or 2.5d")


@dataclass
class Inputs:
    """Everything a coverage run reads, in one metric CRS."""

    crs: CRS
    #: public filming devices: a :class:`~survatlas.coverage.reading.Table` read from the store
    #: (or a frame with the same columns: the device history, synthetic inputs, tile files)
    devices: Table | pd.DataFrame
    cam_x: np.ndarray
    cam_y: np.ndarray
    buildings: np.ndarray
    street_ids: np.ndarray
    streets: np.ndarray
    site_ids: np.ndarray
    site_category: np.ndarray
    site_footprints: np.ndarray
    site_assumed: np.ndarray
    bounds: tuple[float, float, float, float]
    #: lon/lat box the buildings were read from (None: all); buildings left in the store when
    #: ``load_inputs(..., buildings=False)`` — read them with :func:`iter_buildings`
    building_bbox: tuple[float, float, float, float] | None = None
    buildings_in_store: bool = False
    #: ``building``, ``height_m``, ``levels``, ``min_height_m`` of each of ``buildings``
    #: (a :class:`Table` without geometry, or a frame)
    building_attrs: Table | pd.DataFrame | None = None
    #: the store's input state (:func:`survatlas.coverage.runs.input_state`) read before the
    #: inputs were: saving the run checks, inside its write lock, that it has not moved
    #: (None: inputs not read from a store, saved with every reference checked)
    input_state: str | None = None


@dataclass
class LevelResult:
    """Results of one scenario and level.

    ``areas`` holds integer cell counts (``land_cells``, ``land_seen``, ``public_cells``,
    ``public_seen``); ``counts`` is the whole count grid, kept by the local engine only.
    """

    regions: Regions
    seen: SeenIntervals
    street_in_view_m: np.ndarray
    street_cameras: np.ndarray
    counts: np.ndarray | None
    sites: list[dict]
    outline: SeenIntervals
    h3: dict[str, dict[str, float]]
    areas: dict[str, int] = field(default_factory=dict)


@dataclass
class Result:
    """A coverage run: inputs, per-scenario-and-level results, and the summary.

    ``land`` and ``public_space`` are the whole-raster masks, kept by the local engine only
    (a tiled run never holds a whole raster).
    """

    inputs: Inputs
    settings: Settings
    raster: Raster
    land: np.ndarray | None
    public_space: np.ndarray | None
    #: per scenario, the views and ranges of the cameras, one :class:`CameraViews` per part
    #: of the run (each camera in one part)
    cameras: dict[str, list[CameraViews]]
    levels: dict[tuple[str, str], LevelResult] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def load_inputs(
    store: Store, bbox: tuple[float, float, float, float] | None = None, *,
    walkable_only: bool = True, buildings: bool = True, as_of: str | None = None,
) -> Inputs:
    """Read public cameras, buildings, streets and sites (of ``bbox``) into a metric CRS.

    Buildings are read with a halo of the longest camera range any scenario can give, so
    cameras near the edge of ``bbox`` see all their occluders. With ``buildings=False`` they
    stay in the store (``Inputs.buildings`` is empty; a tiled run streams them with
    :func:`iter_buildings`), so memory does not grow with the number of buildings.
    With ``as_of`` (a date) the cameras are those in place then (the device history); streets,
    buildings and sites are today's, so that years compare with the same method.
    """
    state = input_state(store)  # before the reads: a write during them moves it
    if as_of is None:
        devices = read_cameras(store, bbox)
    else:  # the device history: through the gate's versioned read
        devices = read_layer(store, "devices", bbox, as_of=as_of, row_ids=True)
        devices = devices[devices["device_type"].isin(FILMING)].reset_index(drop=True)
    streets = read_streets(store, bbox, walkable_only=walkable_only)
    sites = read_sites(store, bbox)
    anchor = _anchor(devices, streets, bbox)
    if anchor is None:
        raise InputError("nothing to compute: the store (or bbox) holds no cameras and no streets; "
                         "import data first")
    crs = geo.local_crs(*anchor)
    fwd = geo.to_metric(crs)
    halo_bbox = _halo(bbox, devices, fwd, crs)
    cam_xy = shapely.get_coordinates(np.asarray(devices.geometry, dtype=object))
    cam_x, cam_y = fwd.transform(cam_xy[:, 0], cam_xy[:, 1]) if len(devices) else \
        (np.empty(0), np.empty(0))
    s_metric = _to_metric(np.asarray(streets.geometry, dtype=object), fwd)
    site_metric = _to_metric(np.asarray(sites.geometry, dtype=object), fwd)
    if buildings:
        b_metric = np.concatenate([np.empty(0, object), *iter_buildings(store, halo_bbox, crs)])
        footprints, assumed = _site_footprints(site_metric, b_metric)
    else:
        b_metric = np.empty(0, object)
        footprints, assumed = _site_footprints(
            site_metric, b_metric, lookup=lambda x, y: _buildings_at(store, halo_bbox, crs, x, y))
    everything = np.concatenate([s_metric, footprints, shapely.points(cam_x, cam_y)])
    bounds = tuple(float(v) for v in shapely.total_bounds(everything)) if everything.size else \
        (0.0, 0.0, 1.0, 1.0)
    return Inputs(crs, devices, np.asarray(cam_x), np.asarray(cam_y), b_metric,
                  np.asarray(streets["id"], np.int64), s_metric,
                  np.asarray(sites["id"], np.int64),
                  np.asarray(sites["category"], dtype=object), footprints, assumed, bounds, halo_bbox,
                  not buildings, building_attributes(store, halo_bbox) if buildings else None,
                  state)


def _building_filter(store: Store, bbox) -> tuple[str, tuple]:
    where, params = bbox_clause(store, "buildings", bbox)
    return f"{audience_clause('public')} AND obstacle = 1 AND {where}", params


def iter_buildings(
    store: Store, bbox: tuple[float, float, float, float] | None, crs: CRS, *,
    chunk: int = 100_000,
) -> Iterator[np.ndarray]:
    """Public obstacle footprints meeting ``bbox`` (lon/lat), in id order, in metres of ``crs``,
    ``chunk`` at a time (the rows :func:`load_inputs` reads)."""
    fwd = geo.to_metric(crs)
    where, params = _building_filter(store, bbox)
    last = None
    while True:
        after = "" if last is None else " AND id > ?"
        rows = store.query(f"SELECT id, geom FROM buildings WHERE {where}{after} ORDER BY id "
                           "LIMIT ?", (*params, *(() if last is None else (last,)), chunk))
        if not rows:
            return
        last = rows[-1][0]
        yield _to_metric(shapely.from_wkb([r[1] for r in rows]), fwd)


def building_attributes(store: Store, bbox: tuple[float, float, float, float] | None
                        ) -> Table:
    """Type and height tags of the buildings :func:`iter_buildings` yields, in the same order:
    ``building`` (text) and ``height_m``, ``levels``, ``min_height_m`` (float64, NaN unknown)."""
    where, params = _building_filter(store, bbox)
    rows = store.query(f"SELECT building, height_m, levels, min_height_m FROM buildings "
                       f"WHERE {where} ORDER BY id", params)
    return building_table(rows)


def _buildings_at(store: Store, bbox, crs: CRS, x: float, y: float) -> np.ndarray:
    """Public obstacle footprints (metric) whose box holds the metric point, in id order."""
    lon, lat = geo.to_lonlat(crs).transform(x, y)
    where, params = _building_filter(store, bbox)
    rows = store.query(
        f"SELECT geom FROM buildings WHERE {where} AND id IN (SELECT id FROM buildings_rtree "
        "WHERE max_x >= ? AND min_x <= ? AND max_y >= ? AND min_y <= ?) ORDER BY id",
        (*params, lon, lon, lat, lat))
    return _to_metric(shapely.from_wkb([r[0] for r in rows]), geo.to_metric(crs)) if rows else \
        np.empty(0, object)


def _anchor(devices, streets, bbox) -> tuple[float, float] | None:
    if bbox is not None:
        return (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    frame = devices if len(devices) else streets
    if not len(frame):
        return None
    w, s, e, n = frame.total_bounds
    return (w + e) / 2, (s + n) / 2


def _halo(bbox, devices, fwd, crs):
    if bbox is None:
        return None
    views = camera_views(device_columns(devices), "worst")
    reach = float(np.nanmax([views.ranges(level) for level in ALL_LEVELS])) \
        if len(devices) else 0.0
    inv = geo.to_lonlat(crs)
    x0, y0 = fwd.transform(bbox[0], bbox[1])
    x1, y1 = fwd.transform(bbox[2], bbox[3])
    w, s = inv.transform(x0 - reach, y0 - reach)
    e, n = inv.transform(x1 + reach, y1 + reach)
    return (max(-180.0, w), max(-90.0, s), min(180.0, e), min(90.0, n))


def _to_metric(geoms: np.ndarray, fwd) -> np.ndarray:
    geoms = np.asarray(geoms, dtype=object)
    if geoms.size == 0:
        return geoms
    return shapely.transform(geoms, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))


def _site_footprints(
    sites: np.ndarray, buildings: np.ndarray, lookup=None
) -> tuple[np.ndarray, np.ndarray]:
    """Polygons stay; a point site takes the building it stands in (the first in id order),
    else a 30 m disc (assumed). ``lookup(x, y)`` gives the candidate buildings of a point when
    ``buildings`` are left in the store."""
    out = sites.copy()
    assumed = np.zeros(sites.size, bool)
    points = np.flatnonzero(shapely.get_type_id(sites) == 0) if sites.size else np.empty(0, int)
    if points.size:
        inside = _containing(sites[points], buildings, lookup)
        for k, s in enumerate(points):
            if inside[k] is not None:
                out[s] = inside[k]
            else:
                out[s] = shapely.buffer(sites[s], POINT_SITE_RADIUS_M)
                assumed[s] = True
    lines = np.flatnonzero(np.isin(shapely.get_type_id(out), [1, 5])) if out.size else []
    for s in lines:  # a mapped line (e.g. a border) gets a narrow corridor
        out[s] = shapely.buffer(out[s], 5.0)
        assumed[s] = True
    return out, assumed


def _containing(points: np.ndarray, buildings: np.ndarray, lookup) -> list:
    """For each point, the first building (in order) it lies within, or None."""
    if lookup is None:
        site_idx, building_idx = shapely.STRtree(buildings).query(points, predicate="within")
        first: dict[int, int] = {}
        for si, bi in zip(site_idx.tolist(), building_idx.tolist(), strict=True):
            first[si] = min(bi, first.get(si, bi))
        return [buildings[first[k]] if k in first else None for k in range(points.size)]
    out = []
    for p in points:
        cands = lookup(*shapely.get_coordinates(p)[0])
        hit = np.flatnonzero(shapely.within(p, cands)) if cands.size else []
        out.append(cands[hit[0]] if len(hit) else None)
    return out


def analyse(inputs: Inputs, settings: Settings = Settings(), *, obstacles=None) -> Result:
    """Compute every coverage figure for ``inputs`` (pure: no store access).

    This is the tiled computation of :mod:`survatlas.coverage.scale` with a single tile that owns every
    camera and the whole raster, so both engines run the same code. ``obstacles`` are
    ``inputs.buildings`` already prepared (e.g. from the cache), else they are prepared here.
    """
    settings.check()
    raster = Raster.covering(inputs.bounds, settings.cell_m)
    if obstacles is None:
        obstacles = prepare_obstacles(inputs.buildings)
    views = _tiles.tile_views(all_cameras(inputs), settings, obstacles=obstacles)
    edges = (obstacles.ax, obstacles.ay, obstacles.bx, obstacles.by)
    windows = band_windows(raster)
    hexes = h3_assignment(raster, inputs.crs, settings.h3_resolution) \
        if "h3" in settings.outputs and len(windows) > 1 else None
    areas = [_band_areas(inputs, settings, raster, views, window, edges, len(windows) == 1,
                         band_assignment(hexes, raster, window))
             for window in windows]
    return combine(inputs, settings, raster, [views], areas)


#: Raster cells of one band of a local run's area figures (≈ 8 MB a grid): the grids of a
#: band stay small and are made again band after band, where one city-sized grid (100 MB for
#: 10 × 10 km at 2 m) spends more time on fresh memory than on its cells. Any banding gives
#: the same figures (:func:`combine`).
BAND_CELLS = 2_000_000


def band_windows(raster: Raster) -> list[tuple[int, int, int, int]]:
    """Full-width row bands ``(j0, j1, 0, nx)`` of about :data:`BAND_CELLS` cells, each
    starting on an H3 group of cells (:data:`~survatlas.coverage.aggregate.H3_BLOCK` rows)."""
    rows = max(H3_BLOCK, BAND_CELLS // max(raster.nx, 1) // H3_BLOCK * H3_BLOCK)
    return [(j0, min(j0 + rows, raster.ny), 0, raster.nx) for j0 in range(0, raster.ny, rows)]


def band_assignment(assignment: tuple[np.ndarray, np.ndarray] | None, raster: Raster,
                    window: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """The part of ``raster``'s H3 assignment (:func:`~survatlas.coverage.aggregate.h3_assignment`)
    that a band of :func:`band_windows` holds: the rows of its H3 groups, every name (a name
    no group of the band holds counts zero cells).

    One assignment of the whole raster, sliced, instead of one per band: the H3 outlines along
    a band's edges are projected and filled once, not once per band they reach.
    """
    if assignment is None:
        return None
    j0, j1, i0, i1 = window
    if j0 % H3_BLOCK or (i0, i1) != (0, raster.nx):
        raise ValueError(f"window {window} is not a band of whole H3 groups")
    names, group_hex = assignment
    columns = -(-raster.nx // H3_BLOCK)
    return names, group_hex[j0 // H3_BLOCK * columns:-(-j1 // H3_BLOCK) * columns]


def _band_areas(inputs: Inputs, settings: Settings, raster: Raster, views: _tiles.ViewsPart,
                window: tuple[int, int, int, int], edges: tuple[np.ndarray, ...],
                keep_grids: bool,
                hexes: tuple[np.ndarray, np.ndarray] | None = None) -> _tiles.BlockPart:
    """:func:`_tiles.block_areas` of one band: the walls, sites and views that reach it
    (``hexes``: the band's part of the raster's H3 assignment, else made for the band)."""
    box = _tiles.window_box(raster, window)
    near = (np.maximum(edges[1], edges[3]) >= box[1]) & (np.minimum(edges[1], edges[3]) <= box[3])
    sites = _tiles.box_hits(shapely.bounds(inputs.site_footprints), box) \
        if inputs.site_footprints.size else np.arange(0)
    block = _tiles.BlockInput(window, inputs.buildings, sites, inputs.site_footprints[sites],
                              inputs.site_category[sites], tuple(e[near] for e in edges))
    meeting: dict[int, Regions] = {}  # one per Regions object (scenario-levels may share one)
    for lv in views.levels.values():
        if id(lv.regions) not in meeting:
            meeting[id(lv.regions)] = _tiles.regions_meeting([lv.regions], box)
    regions = {key: meeting[id(lv.regions)] for key, lv in views.levels.items()}
    return _tiles.block_areas(raster, block, regions, inputs.crs, settings.h3_resolution,
                              keep_grids=keep_grids, outputs=settings.outputs, hexes=hexes)


def all_cameras(inputs: Inputs) -> _tiles.CameraSet:
    """Every camera of ``inputs`` with every building, street segment and site outline."""
    return _tiles.CameraSet(np.arange(len(inputs.devices)), device_columns(inputs.devices),
                            inputs.cam_x, inputs.cam_y, inputs.buildings,
                            _tiles.segments_of(inputs.streets), site_outlines(inputs),
                            inputs.building_attrs)


def site_outlines(inputs: Inputs):
    """Segments of every site outline (line id = site index), or None without sites."""
    return _tiles.segments_of(outline_lines(inputs)) if inputs.site_footprints.size else None


def outline_lines(inputs: Inputs) -> np.ndarray:
    """The outline of every site footprint (a line per site)."""
    return shapely.boundary(inputs.site_footprints) if inputs.site_footprints.size else \
        np.empty(0, object)


def combine(
    inputs: Inputs, settings: Settings, raster: Raster, views: list[_tiles.ViewsPart],
    blocks: list[_tiles.BlockPart],
) -> Result:
    """One result from the parts of a tiling (any tiling gives the same figures)."""
    cameras = {scenario: [part.cameras[scenario] for part in views]
               for scenario in settings.scenarios}
    one = len(blocks) == 1 and blocks[0].land is not None
    result = Result(inputs, settings, raster, blocks[0].land if one else None,
                    blocks[0].public if one else None, cameras)
    n_streets, n_sites = len(inputs.streets), inputs.site_ids.size
    cell_area = raster.cell_area
    # scenario-levels whose parts are the same objects (shared views, see _tiles.views_key)
    # have the same results: combined once
    done: dict[tuple, LevelResult] = {}
    for scenario in settings.scenarios:
        for level in settings.levels:
            key = (scenario, level)
            same = (tuple(id(p.levels[key]) for p in views),
                    tuple(id(b.levels[key]) for b in blocks))
            if same in done:
                result.levels[key] = dataclasses.replace(done[same])
                continue
            regions, seen, outline = _tiles.combine_views(views, key)
            sums = _tiles.combine_blocks(blocks, key, n_sites)
            sites = [{"area_m2": float(c) * cell_area, "in_view_m2": float(v) * cell_area,
                      "share": (float(v) * cell_area) / (float(c) * cell_area) if c else None,
                      "cameras": cams}
                     for c, v, cams in zip(sums["site_cells"].tolist(), sums["site_seen"].tolist(),
                                           sums["site_cameras"], strict=True)]
            h3 = {name: {"land_m2": float(lc * cell_area), "in_view_m2": float(sc * cell_area)}
                  for name, (lc, sc) in sums["h3"].items() if lc > 0}
            areas = {k: int(sums[k]) for k in ("land_cells", "land_seen", "public_cells",
                                                "public_seen")}
            result.levels[key] = LevelResult(
                regions, seen, seen.union_length(n_streets), seen.cameras_per_line(n_streets),
                blocks[0].levels[key].counts if one else None, sites, outline, h3, areas)
            done[same] = result.levels[key]
    result.summary = summarise(result)
    return result


def summarise(result: Result) -> dict[str, Any]:
    """The published summary: every figure per scenario and level, with its assumptions."""
    inputs, settings = result.inputs, result.settings
    street_length = float(shapely.length(inputs.streets).sum()) if inputs.streets.size else 0.0
    first = result.cameras[settings.scenarios[0]]
    cell_area = result.raster.cell_area
    by: dict[str, dict[str, Any]] = {}
    areas = "areas" in settings.outputs
    for (scenario, level), lr in result.levels.items():
        seen_m = float(lr.street_in_view_m.sum())
        by.setdefault(scenario, {})[level] = {
            "street_in_view_m": round(seen_m, 2),
            "street_in_view_share": round(seen_m / street_length, 6) if street_length else None,
            "land_in_view_share": _share(lr.areas["land_seen"], lr.areas["land_cells"], cell_area)
            if areas else None,
            "public_space_in_view_share": _share(lr.areas["public_seen"], lr.areas["public_cells"],
                                                 cell_area) if areas else None,
            "views": len(lr.regions),
            "views_nudged_out_of_a_wall": int((lr.regions.status == 1).sum()),
            "views_inside_a_building": int((lr.regions.status == 2).sum()),
            "sites": _site_categories(inputs, lr) if "sites" in settings.outputs else {},
        }
    intervals = {
        level: {metric: {BOUND[s]: by[s][level][metric] for s in settings.scenarios}
                for metric in ("street_in_view_m", "street_in_view_share", "land_in_view_share",
                               "public_space_in_view_share")}
        for level in settings.levels
    }
    return {
        "method": (f"{_METHOD[settings.occlusion]}; streets by 1-D interval merge per "
                   f"street; areas on a {settings.cell_m:g} m grid of cell centres; no polygon union"),
        "occlusion": settings.occlusion,
        "assumptions": _assumptions(settings, first, inputs),
        **({"heights": height_sources(inputs.building_attrs, device_rows(inputs.devices))}
           if settings.occlusion == "2.5d" and inputs.building_attrs is not None else {}),
        "attribution": ODBL_ATTRIBUTION,
        "crs": inputs.crs.to_string(),
        "standard": settings.standard,
        "outputs": list(settings.outputs),
        "cameras": len(inputs.devices),
        "cameras_assumed_direction": sum(int(v.direction_assumed.sum()) for v in first),
        "cameras_assumed_optics": sum(int(v.optics_assumed.sum()) for v in first),
        "street_length_m": round(street_length, 2),
        "streets": int(inputs.streets.size),
        "sites": int(inputs.site_ids.size),
        "sites_with_assumed_footprint": int(inputs.site_assumed.sum()),
        "scenarios": {s: BOUND[s] for s in settings.scenarios},
        "by_scenario": by,
        "intervals": intervals,
    }


_METHOD = {
    "2d": "exact 2-D visibility of each camera view among building footprints (numba ray "
          "casting, star-shaped regions)",
    "2.5d": "2.5-D visibility of each camera view among buildings with heights (numba ray "
            "casting: the ground behind a building lower than the camera reappears at "
            "d·h/(h−H); layered star-shaped regions)",
}
_OCCLUSION_NOTE = {
    "2d": "2-D occlusion by building footprints; building heights and camera tilt are not used "
          "unless both camera height and tilt are known (then ranges are capped at the far "
          "ground edge)",
    "2.5d": "2.5-D occlusion on flat ground: building heights from height, else "
            "building:levels × 3 m + 1 m, else a default per building type; camera eye heights "
            "from height, else a default per mount — unknown heights take tall buildings and "
            "low cameras for the low end (best), low buildings and high cameras for the high "
            "end (worst); DORI distances along the line of sight; a tilted camera's blind "
            "zone below the frame when tilt and optics are known; terrain and trees are not "
            "modelled",
}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _share(seen_cells: int, cells: int, cell_area: float) -> float | None:
    """``seen / total`` of two cell counts, as :func:`aggregate.area_share` gives it."""
    total = float(cells) * cell_area
    return _round((float(seen_cells) * cell_area) / total) if total else None


def _site_categories(inputs: Inputs, lr: LevelResult) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for cat in sorted(set(inputs.site_category.tolist())):
        idx = np.flatnonzero(inputs.site_category == cat)
        shares = [lr.sites[i]["share"] for i in idx if lr.sites[i]["share"] is not None]
        area = sum(lr.sites[i]["area_m2"] for i in idx)
        seen = sum(lr.sites[i]["in_view_m2"] for i in idx)
        out[cat] = {
            "sites": int(idx.size),
            "sites_seen": int(sum(1 for i in idx if lr.sites[i]["cameras"])),
            "mean_share": round(float(np.mean(shares)), 6) if shares else None,
            "area_share": round(seen / area, 6) if area else None,
        }
    return out


def _assumptions(settings: Settings, geoms: list, inputs: Inputs) -> list[str]:
    notes = [
        "only public records are used (restricted and confidential cameras are left out)",
        "optics unknown for a camera are taken from the scenario table (best = short range, "
        "worst = long range) of PanoptiCity's catalogue deciles",
        f"cameras with no direction are treated as {'360° views' if settings.no_direction == '360' else 'absent'} "
        "at the scenario's range",
        _OCCLUSION_NOTE[settings.occlusion],
        f"point sites take the footprint of the building they stand in, else a {POINT_SITE_RADIUS_M:g} m disc",
        "a camera mapped on or up to 3 m inside a wall is moved just outside it along its view "
        "direction; deeper inside a footprint (an indoor camera, or a mapping error) it sees "
        "nothing — both are counted per level (views_nudged_out_of_a_wall, views_inside_a_building)",
        "streets: walkable ways only" if settings.walkable_only else "streets: every imported way",
    ]
    return notes

