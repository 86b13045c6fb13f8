"""Coverage in two additive steps, so a run can be cut into tiles and summed exactly.

1. **Views** (:func:`tile_views`): the visible regions of a set of cameras (a tile's own cameras,
   or every camera) among the buildings around them, and the metre intervals of streets and
   site outlines they see — keyed by *global* camera, street and site indices.
2. **Areas** (:func:`block_areas`): for a window of the *global* raster (a tile's own cells, or
   the whole raster), the count grid of every region reaching it, then integer cell counts of
   land, public space, sites and H3 cells, and the cameras that see each site.

Both steps return integer counts and interval lists, so parts of any tiling add up to the same
figures as one part (:func:`combine`). The local engine is the tiling with one tile.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import shapely
from pyproj import CRS

from survatlas.coverage import _compiled
from survatlas.coverage._raster import Raster, edge_mask, polygon_mask
from survatlas.coverage.aggregate import (
    SeenIntervals,
    Segments,
    _views_seeing_any,
    candidate_pairs,
    count_grid,
    h3_assignment,
    h3_cell_counts,
    line_segments,
    seen_intervals,
)
from survatlas.coverage.camera_views import CameraViews, Devices, camera_views
from survatlas.coverage.heights import building_heights
from survatlas.coverage.obstacles import Obstacles, footprint_edges, prepare_obstacles
from survatlas.coverage.occlusion import camera_views25
from survatlas.coverage.regions import Regions
from survatlas.coverage.visibility import _threads, visibility
from survatlas.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from survatlas.coverage.reading import Table

Key = tuple[str, str]


@dataclass
class CameraSet:
    """Cameras of one tile (or all cameras) and what they need around them.

    ``index`` are global camera indices (ascending); ``rows`` the cameras' optics fields as
    :func:`survatlas.coverage.camera_views.camera_views` reads them (one mapping per camera,
    or columns from :func:`survatlas.coverage.reading.device_columns`); ``segments`` / ``outlines`` carry global street /
    site indices and metre measures along the whole street or outline.
    """

    index: np.ndarray
    rows: Devices
    x: np.ndarray
    y: np.ndarray
    buildings: np.ndarray
    segments: Segments
    outlines: Segments | None
    #: ``building``, ``height_m``, ``levels``, ``min_height_m`` per building (2.5-D occlusion)
    building_attrs: Table | pd.DataFrame | None = None


@dataclass
class ViewsLevel:
    """Regions and seen intervals of one scenario and level (global camera ids)."""

    regions: Regions
    seen: SeenIntervals
    outline: SeenIntervals


@dataclass
class ViewsPart:
    """Output of :func:`tile_views`."""

    index: np.ndarray
    cameras: dict[str, CameraViews]
    levels: dict[Key, ViewsLevel] = field(default_factory=dict)


@dataclass
class BlockInput:
    """A window ``(j0, j1, i0, i1)`` of the global raster and the footprints meeting it.

    ``edges`` may carry the footprints' oriented wall edges when they are already at hand
    (the obstacles of a local run), saving their extraction.
    """

    window: tuple[int, int, int, int]
    buildings: np.ndarray
    site_index: np.ndarray
    site_footprints: np.ndarray
    site_category: np.ndarray
    edges: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None


@dataclass
class BlockLevel:
    """Integer cell counts of one scenario and level in one block."""

    land_seen: int
    public_seen: int
    site_cells: np.ndarray
    site_seen: np.ndarray
    site_cameras: list[list[int]]
    h3_names: np.ndarray
    h3_land: np.ndarray
    h3_seen: np.ndarray
    counts: np.ndarray | None = None


@dataclass
class BlockPart:
    """Output of :func:`block_areas`."""

    window: tuple[int, int, int, int]
    land_cells: int
    public_cells: int
    site_index: np.ndarray
    levels: dict[Key, BlockLevel] = field(default_factory=dict)
    land: np.ndarray | None = None
    public: np.ndarray | None = None


def empty_seen() -> SeenIntervals:
    """Seen intervals with no rows."""
    z = np.empty(0, np.int64)
    return SeenIntervals(z, z, np.empty(0), np.empty(0))


#: Lines turned into segments at a time (so a country's streets never sit whole in memory).
SEGMENT_CHUNK = 20_000
_SEGMENT_FIELDS = ("ax", "ay", "bx", "by", "line", "start_m", "length_m")


def chunked_segments(lines: np.ndarray, chunk: int | None = None):
    """Segments of ``lines`` ``chunk`` lines at a time (default :data:`SEGMENT_CHUNK`), with
    global line ids.

    Every engine builds its segments this way, so metre measures are bit-identical whether a
    run holds all segments (local) or streams them into tiles.
    """
    lines = np.asarray(lines, dtype=object)
    chunk = chunk or SEGMENT_CHUNK
    for a in range(0, lines.size, chunk):
        seg = line_segments(lines[a:a + chunk])
        yield Segments(seg.ax, seg.ay, seg.bx, seg.by, seg.line + a, seg.start_m, seg.length_m,
                       seg.line_length_m)


def segments_of(lines: np.ndarray) -> Segments:
    """All segments of ``lines`` (see :func:`chunked_segments`)."""
    return concat_segments(list(chunked_segments(lines)))


def concat_segments(parts: Sequence[Segments]) -> Segments:
    """Segments of several parts, one after the other (``line_length_m`` left empty)."""
    if not parts:
        z = np.empty(0)
        return Segments(z, z, z, z, np.empty(0, np.int64), z, z, z)
    if len(parts) == 1:
        return parts[0]
    cols = [np.concatenate([getattr(p, f) for p in parts]) for f in _SEGMENT_FIELDS]
    return Segments(*cols, np.empty(0))


def subset_segments(segments: Segments, keep: np.ndarray) -> Segments:
    """The segments selected by ``keep`` (global line ids and measures are kept)."""
    return Segments(segments.ax[keep], segments.ay[keep], segments.bx[keep], segments.by[keep],
                    segments.line[keep], segments.start_m[keep], segments.length_m[keep],
                    np.empty(0))


def _scenario_heights(cams: CameraSet, settings, scenario: str):
    """``(top_m, bottom_m)`` of every building for a 2.5-D run (None for 2-D)."""
    if getattr(settings, "occlusion", "2d") != "2.5d":
        return None
    a = cams.building_attrs
    if a is None:
        raise InputError("2.5-D occlusion needs the buildings' type and height tags, which "
                         "these inputs lack: read them with building_attributes() (as "
                         "compute_coverage does) or use --occlusion 2d")
    top, bottom, _ = building_heights(list(a["building"]), np.asarray(a["height_m"]),
                                      np.asarray(a["levels"]), np.asarray(a["min_height_m"]),
                                      scenario=scenario)
    return top, bottom


def tile_views(
    cams: CameraSet, settings, *, threads: int | None = None, obstacles: Obstacles | None = None
) -> ViewsPart:
    """Step 1: regions of ``cams`` and the street / outline intervals they see, per level.

    ``obstacles`` are ``cams.buildings`` prepared already (else prepared here).
    """
    if obstacles is None:
        obstacles = prepare_obstacles(cams.buildings)
    part = ViewsPart(cams.index, {})
    done: dict[bytes, ViewsLevel] = {}  # views already computed, by their parameters
    with _threads(threads):
        for scenario in settings.scenarios:
            views = camera_views(cams.rows, scenario, standard=settings.standard,
                                 no_direction=settings.no_direction)
            part.cameras[scenario] = views
            tops = _scenario_heights(cams, settings, scenario)
            for level in settings.levels:
                if tops is not None:
                    regions = camera_views25(obstacles, tops, views.rows, cams.x, cams.y,
                                             cams.index, views, level, scenario)
                else:
                    local, direction, fov, radius = views.expand(level)
                    key = views_key(local, direction, fov, radius)
                    if key in done:  # same views as another scenario-level: same results
                        part.levels[scenario, level] = done[key]
                        continue
                    regions = visibility(obstacles, cams.x[local], cams.y[local], direction, fov,
                                         radius, camera=cams.index[local])
                seen = seen_intervals(regions, cams.segments)
                outline = seen_intervals(regions, cams.outlines) \
                    if cams.outlines is not None and "sites" in settings.outputs else empty_seen()
                part.levels[scenario, level] = ViewsLevel(regions, seen, outline)
                if tops is None:
                    done[key] = part.levels[scenario, level]
    return part


def views_key(*arrays: np.ndarray) -> bytes:
    """Digest of a set of 2-D views' parameters (cameras, directions, fields of view, ranges).

    Scenario-levels whose views are identical — cameras with a listed range that caps every
    DORI distance, or optics equal across scenarios — share one computation (and one object,
    which :func:`block_areas` and the saving of results recognise)."""
    h = hashlib.blake2b(digest_size=20)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype, a.shape)).encode())
        h.update(a.tobytes())
    return h.digest()


def block_areas(
    raster: Raster, block: BlockInput, regions: dict[Key, Regions], crs: CRS,
    h3_resolution: int, *, threads: int | None = None, keep_grids: bool = False,
    outputs: Sequence[str] = ("streets", "sites", "areas", "h3"),
    hexes: tuple[np.ndarray, np.ndarray] | None = None,
) -> BlockPart:
    """Step 2: cell counts of land, public space, sites and H3 cells in one raster window.

    ``regions`` holds, per scenario and level, every region that may reach the window (from
    any tile); ``raster`` is the global raster, so cells are the same in every tiling.
    Only what ``outputs`` asks for is computed (``areas``: land and public space; ``sites``;
    ``h3``); the rest is left at zero cells and no H3 cell. ``hexes`` is the window's H3
    assignment when the caller has it (:func:`~survatlas.coverage.analysis.band_assignment`),
    else it is made here.
    """
    sub = raster.sub(*block.window)
    want_sites, want_h3 = "sites" in outputs, "h3" in outputs
    want_land = "areas" in outputs or want_h3
    empty = np.zeros(block.site_index.size, np.int64)
    if want_land:
        edges = block.edges if block.edges is not None else footprint_edges(block.buildings)
        land = ~edge_mask(sub, *edges)  # a cell centre in any footprint is not land
        public = polygon_mask(sub, block.site_footprints[block.site_category == "public_space"]) \
            & land
    else:
        land = public = np.zeros((0, 0), bool)
    masks = _site_masks(sub, block.site_footprints) if want_sites else []
    if hexes is None and want_h3 and sub.nx and sub.ny:
        hexes = h3_assignment(sub, crs, h3_resolution)
    part = BlockPart(block.window, int(land.sum()), int(public.sum()), block.site_index)
    if keep_grids and want_land:
        part.land, part.public = land, public
    no_h3 = (np.empty(0, object), np.empty(0, np.int64), np.empty(0, np.int64))
    done: dict[int, BlockLevel] = {}  # by Regions object: scenario-levels sharing views
    with _threads(threads):
        for key, reg in regions.items():
            if id(reg) in done:
                part.levels[key] = done[id(reg)]
                continue
            if not (want_land or want_sites):
                part.levels[key] = done[id(reg)] = BlockLevel(
                    0, 0, empty, empty, [[] for _ in range(empty.size)], *no_h3)
                continue
            counts = count_grid(reg, sub)
            seen = counts > 0
            if want_sites:
                cells, seen_cells, cams = _sites(reg, sub, seen, block.site_footprints, masks)
            else:
                cells, seen_cells, cams = empty, empty, [[] for _ in range(empty.size)]
            names, h3_land, h3_seen = h3_cell_counts(sub, counts, land, crs, h3_resolution,
                                                     assignment=hexes) if want_h3 else no_h3
            land_seen = int((land & seen).sum()) if want_land else 0
            public_seen = int((public & seen).sum()) if want_land else 0
            part.levels[key] = BlockLevel(land_seen, public_seen, cells, seen_cells, cams, names,
                                          h3_land, h3_seen, counts if keep_grids else None)
            done[id(reg)] = part.levels[key]
    return part


def _site_masks(sub: Raster, footprints: np.ndarray) -> list[tuple[tuple[int, int, int, int], np.ndarray]]:
    out = []
    for geom, box in zip(footprints, shapely.bounds(footprints), strict=True):
        win = sub.window(tuple(box))
        out.append((win, polygon_mask(sub.sub(*win), np.array([geom], dtype=object))))
    return out


def _sites(reg: Regions, sub: Raster, seen: np.ndarray, footprints: np.ndarray, masks):
    """Cells, cells in view and the cameras seeing each site (no polygon union)."""
    n = len(masks)
    cells, seen_cells = np.zeros(n, np.int64), np.zeros(n, np.int64)
    cams: list[list[int]] = [[] for _ in range(n)]
    if n == 0:
        return cells, seen_cells, cams
    view_of, site_of = candidate_pairs(reg.bounds(), shapely.bounds(footprints))
    for s, ((j0, j1, i0, i1), mask) in enumerate(masks):
        inside = mask & seen[j0:j1, i0:i1]
        cells[s], seen_cells[s] = int(mask.sum()), int(inside.sum())
        rows, cols = np.nonzero(inside)
        if rows.size:
            x, y = sub.sub(j0, j1, i0, i1).centres(rows, cols)
            views = view_of[site_of == s]
            seeing = (_compiled.kernel("views_seeing_any", _views_seeing_any)
                      if _compiled.serial(views.size) else _views_seeing_any)
            hits = seeing(views, x, y, reg.bounds(), *reg._nb_args(),
                                     reg.layer_counts())
            cams[s] = sorted({int(c) for c in reg.camera[views[hits]]})
    return cells, seen_cells, cams


# --- Regions plumbing ----------------------------------------------------------------------

def take_regions(reg: Regions, idx: np.ndarray) -> Regions:
    """The regions of views ``idx`` (in that order)."""
    idx = np.asarray(idx, np.int64)
    counts = np.diff(reg.offsets)[idx]
    offsets = np.zeros(idx.size + 1, np.int64)
    offsets[1:] = np.cumsum(counts)
    pts = np.repeat(reg.offsets[:-1][idx] - offsets[:-1], counts) + np.arange(offsets[-1])
    return Regions(offsets, reg.angles[pts], reg.radii[pts], reg.x[idx], reg.y[idx],
                   reg.start[idx], reg.fov[idx], reg.radius[idx], reg.status[idx],
                   reg.camera[idx], edge_tests=reg.edge_tests,
                   layers=None if reg.layers is None else reg.layers[idx])


def concat_regions(parts: Sequence[Regions]) -> Regions:
    """Regions of several parts, one after the other."""
    parts = list(parts)
    if len(parts) == 1:
        return parts[0]
    if not parts:
        z = np.empty(0)
        return Regions(np.zeros(1, np.int64), z, z, z, z, z, z, z, np.empty(0, np.int8),
                       np.empty(0, np.int64))
    shift = np.cumsum([0] + [int(p.offsets[-1]) for p in parts[:-1]])
    offsets = np.concatenate([[0]] + [p.offsets[1:] + s for p, s in zip(parts, shift, strict=True)])

    def cat(name):
        return np.concatenate([getattr(p, name) for p in parts])

    return Regions(offsets.astype(np.int64), cat("angles"), cat("radii"), cat("x"), cat("y"),
                   cat("start"), cat("fov"), cat("radius"), cat("status"), cat("camera"),
                   edge_tests=sum(p.edge_tests for p in parts),
                   layers=None if all(p.layers is None for p in parts) else
                   np.concatenate([p.layer_counts() for p in parts]))


def box_hits(boxes: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Indices of the ``boxes`` (xmin, ymin, xmax, ymax rows) that meet ``box``."""
    return np.flatnonzero((boxes[:, 0] <= box[2]) & (boxes[:, 2] >= box[0])
                          & (boxes[:, 1] <= box[3]) & (boxes[:, 3] >= box[1]))


def regions_meeting(parts: Sequence[Regions], box: tuple[float, float, float, float]) -> Regions:
    """Regions of ``parts`` whose bounding box meets ``box`` (xmin, ymin, xmax, ymax)."""
    picked = []
    for reg in parts:
        if len(reg) == 0:
            continue
        keep = box_hits(reg.bounds(), box)
        if keep.size == len(reg):
            picked.append(reg)
        elif keep.size:
            picked.append(take_regions(reg, keep))
    return concat_regions(picked)


def window_box(raster: Raster, window: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
    """Metric bounding box of a raster window."""
    j0, j1, i0, i1 = window
    c = raster.cell
    return (raster.x0 + i0 * c, raster.y0 + j0 * c, raster.x0 + i1 * c, raster.y0 + j1 * c)


# --- combining parts -----------------------------------------------------------------------

@dataclass
class Combined:
    """Figures of one scenario and level, summed over every part."""

    regions: Regions
    seen: SeenIntervals
    outline: SeenIntervals
    land_cells: int
    land_seen: int
    public_cells: int
    public_seen: int
    site_cells: np.ndarray
    site_seen: np.ndarray
    site_cameras: list[list[int]]
    h3: dict[str, tuple[int, int]]


def combine_views(parts: Sequence[ViewsPart], key: Key) -> tuple[Regions, SeenIntervals, SeenIntervals]:
    """Regions in global view order and intervals in (line, camera, start) order."""
    regions = concat_regions([p.levels[key].regions for p in parts])
    order = np.argsort(regions.camera, kind="stable")
    if len(parts) > 1 and not np.array_equal(order, np.arange(order.size)):
        regions = take_regions(regions, order)
    return (regions, _sorted_seen([p.levels[key].seen for p in parts]),
            _sorted_seen([p.levels[key].outline for p in parts]))


def _sorted_seen(parts: Sequence[SeenIntervals]) -> SeenIntervals:
    if len(parts) == 1:
        return parts[0]
    line, cam, t0, t1 = (np.concatenate([getattr(p, f) for p in parts])
                         for f in ("line", "camera", "start_m", "end_m"))
    order = np.lexsort((t0, cam, line))
    return SeenIntervals(line[order], cam[order], t0[order], t1[order])


def combine_blocks(parts: Sequence[BlockPart], key: Key, n_sites: int) -> dict:
    """Sum the integer counts of every block for one scenario and level."""
    site_cells = np.zeros(n_sites, np.int64)
    site_seen = np.zeros(n_sites, np.int64)
    cams: list[set[int]] = [set() for _ in range(n_sites)]
    h3: dict[str, list[int]] = {}
    out = {"land_cells": 0, "land_seen": 0, "public_cells": 0, "public_seen": 0}
    for p in parts:
        lv = p.levels[key]
        out["land_cells"] += p.land_cells
        out["public_cells"] += p.public_cells
        out["land_seen"] += lv.land_seen
        out["public_seen"] += lv.public_seen
        np.add.at(site_cells, p.site_index, lv.site_cells)
        np.add.at(site_seen, p.site_index, lv.site_seen)
        for s, c in zip(p.site_index.tolist(), lv.site_cameras, strict=True):
            cams[s].update(c)
        for name, lc, sc in zip(lv.h3_names.tolist(), lv.h3_land.tolist(), lv.h3_seen.tolist(),
                                strict=True):
            acc = h3.setdefault(name, [0, 0])
            acc[0] += lc
            acc[1] += sc
    out.update(site_cells=site_cells, site_seen=site_seen,
               site_cameras=[sorted(c) for c in cams], h3={k: h3[k] for k in sorted(h3)})
    return out
