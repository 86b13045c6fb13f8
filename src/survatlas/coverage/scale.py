"""Scale-out: coverage of a country or the planet, tiled over a Dask cluster, same numbers.

The run is cut into square tiles of ``tile_m`` metres in the run's metric CRS. A camera belongs
to exactly one tile, ``(floor(x / tile_m), floor(y / tile_m))`` (half-open, so a camera on a
border has one tile). Each tile's inputs are written once as partitioned GeoParquet next to
the store (``<db>.tiles/<run hash>/``, see :mod:`survatlas.coverage._scale_files`) and reused while the
inputs and settings do not change; workers read only their tile's files.

Every tile runs the two additive steps of :mod:`survatlas.coverage._tiles`:

1. *views* — regions of the tile's own cameras among the buildings within the halo of their
   longest range (buildings are copied into every tile whose halo they meet), and the street /
   site-outline metre intervals they see, with global ids;
2. *areas* — for the raster cells the tile owns (cells of the global raster, grouped 4 × 4 for
   H3), the count grid of every region that reaches them (the tile's own and its
   neighbours'), and integer counts of land, public space, sites and H3 cells.

Intervals are merged and cell counts summed on the client, then summarised exactly like a
single-machine run (:func:`survatlas.coverage.analysis.analyse`, which is the one-tile case).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from survatlas.coverage._tile_inputs import (
    BuildingSource,
    halo_factor,
    memory_buildings,
    store_buildings,
    tiled_inputs,
)

#: Metres added to every camera's range for its halo (a nudged camera moves ≤ 3 m).
from survatlas.coverage._tile_plan import ENGINES, Progress, Tile, TilePlan, plan_tiles
from survatlas.coverage.analysis import (
    Inputs,
    Result,
    Settings,
    analyse,
    combine,
    load_inputs,
)
from survatlas.errors import InputError
from survatlas.store import Store

if TYPE_CHECKING:
    from survatlas.coverage._scale_tasks import (
        areas_task,
        default_workers,
        views_regions,
        views_task,
    )

__all__ = [
    "ENGINES",
    "BuildingSource",
    "Tile",
    "TilePlan",
    "analyse_tiled",
    "areas_task",
    "compute_coverage",
    "dask_client",
    "default_workers",
    "halo_factor",
    "memory_buildings",
    "plan_tiles",
    "store_buildings",
    "synthetic_inputs",
    "tiled_inputs",
    "tiles_base",
    "views_regions",
    "views_task",
]


#: the tiled engine's tasks (they read tile files with geopandas/pyarrow): imported on first use,
#: so a run on the local engine never imports those libraries
_TASKS = ("areas_task", "default_workers", "views_regions", "views_task")


def __getattr__(name: str) -> Any:
    if name not in _TASKS:
        raise AttributeError(f"module 'survatlas.coverage.scale' has no attribute {name!r}")
    from survatlas.coverage import _scale_tasks

    return getattr(_scale_tasks, name)


def analyse_tiled(
    inputs: Inputs,
    settings: Settings | None = None,
    *,
    base: Path,
    tile_m: float | None = None,
    client: Any = None,
    progress: Progress | None = None,
    retries: int = 2,
    threads: int | None = 1,
    buildings: BuildingSource | None = None,
) -> Result:
    """Compute coverage tile by tile; same figures as :func:`analyse`.

    Parameters
    ----------
    inputs, settings
        As for :func:`survatlas.coverage.analysis.analyse`.
    base
        Folder holding the run folders of tile inputs (created; reused when unchanged).
    tile_m
        Tile size in metres (default :func:`auto_tile_m`).
    client
        A ``dask.distributed.Client``; None runs the tiles one after another in this process.
    progress
        Called with ``(tiles done, tiles total)`` as tiles finish.
    retries
        Extra attempts per tile task on a worker error (lost workers are retried by Dask).
    threads
        numba threads per tile task (1 on workers: parallelism comes from the workers).
    buildings
        Where the buildings come from (default ``inputs.buildings``; see :func:`store_buildings`).

    Raises
    ------
    survatlas.errors.ScaleError
        When some tiles cannot be computed (listed); nothing is returned or stored then.
    """
    from survatlas.coverage import _scale_run

    settings = settings or Settings()
    settings.check()
    folder, plan, _ = tiled_inputs(inputs, settings, Path(base), tile_m, buildings)
    views, blocks = _scale_run.run(folder, plan, settings, inputs.crs.to_wkt(), client=client,
                                   progress=progress, retries=retries, threads=threads)
    return combine(inputs, settings, plan.raster, views, blocks)


def tiles_base(db: Path) -> Path:
    """Where tile inputs of the store ``db`` live: ``<db>.tiles/``."""
    return Path(f"{db}.tiles")


def compute_coverage(
    store: Store,
    bbox: tuple[float, float, float, float] | None = None,
    settings: Settings | None = None,
    *,
    engine: str = "local",
    scheduler: str | None = None,
    tile_m: float | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    as_of: str | None = None,
) -> dict[str, Any]:
    """Load, analyse and save coverage for ``store`` (replacing earlier results); return the summary.

    ``engine="local"`` (the default) is the in-process path; ``"dask"`` tiles the run and computes the
    tiles on the Dask cluster at ``scheduler`` (``tcp://host:port``) or, without one, on a
    local cluster of ``workers`` processes (default: every core). Results are saved only when
    every tile succeeded. With ``as_of`` (a date) the cameras are those in place then and the
    summary is returned without saving (the stored results stay the current network's).

    Parameters
    ----------
    store : Store
        The store with devices, buildings, streets (and sites).
    bbox : tuple of float, optional
        W, S, E, N to compute; None for the whole store. The run records it, and readers refuse
        figures outside it.
    settings : Settings, optional
        Levels, scenarios, cell size, H3 resolution, outputs (default: everything).
    engine : {"local", "dask"}
        In process, or tiled on a Dask cluster.
    scheduler, tile_m, workers : optional
        The Dask cluster's address, the tile size and the local cluster's workers.
    progress : callable, optional
        Called with ``(done, total)`` tiles.
    as_of : str, optional
        A date: the network as it stood then (not saved).

    Returns
    -------
    dict
        The summary: per scenario and level, street, land, public space and site shares with
        their method and assumptions.

    Examples
    --------
    ::

        with Store("helsinki.db") as store:
            summary = compute_coverage(store, settings=Settings(levels=("detection",)))
        print(summary["by_scenario"]["typical"]["detection"]["street_in_view_share"])
    """
    from survatlas.coverage.results import save_result

    settings = settings or Settings()
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; use local or dask")
    settings.check()
    if engine == "local":
        from survatlas.coverage.obstacle_cache import with_obstacles

        inputs = load_inputs(store, bbox, walkable_only=settings.walkable_only, buildings=False,
                             as_of=as_of)
        inputs, obstacles, _ = with_obstacles(store, inputs)
        inputs = _with_heights(store, inputs, settings)
        result = analyse(inputs, settings, obstacles=obstacles)
        _note_as_of(result.summary, as_of)
        if as_of is None:
            save_result(store, result, bbox)
        return result.summary
    inputs = load_inputs(store, bbox, walkable_only=settings.walkable_only, buildings=False,
                         as_of=as_of)
    inputs = _with_heights(store, inputs, settings)
    with dask_client(scheduler, workers) as client:
        result = analyse_tiled(inputs, settings, base=tiles_base(store.path), tile_m=tile_m,
                               client=client, progress=progress,
                               buildings=store_buildings(store, inputs))
    _note_as_of(result.summary, as_of)
    if as_of is None:
        save_result(store, result, bbox)
    return result.summary


def _with_heights(store: Store, inputs: Inputs, settings: Settings) -> Inputs:
    """``inputs`` with the type and height tags of their buildings for a 2.5-D run (in the
    order the obstacles and tile files read the buildings)."""
    if settings.occlusion != "2.5d":
        return inputs
    from dataclasses import replace

    from survatlas.coverage.analysis import building_attributes
    return replace(inputs, building_attrs=building_attributes(store, inputs.building_bbox))


def _note_as_of(summary: dict[str, Any], as_of: str | None) -> None:
    """Record in the summary that the cameras are those in place on ``as_of``."""
    if as_of is None:
        return
    summary["cameras_as_of"] = as_of
    summary.setdefault("assumptions", []).append(
        f"cameras as they stood on {as_of} (device history); streets, buildings and sites as "
        "stored today; these figures are not saved (the stored results stay the current "
        "network's)")


def dask_client(scheduler: str | None = None, workers: int | None = None):
    """A Dask client: connected to ``scheduler``, or on a new local cluster of processes."""
    from survatlas.coverage import _scale_run

    return _scale_run.client(scheduler, workers)



# --- synthetic inputs (tests and benchmarks) -------------------------------------------------

def synthetic_inputs(city, *, sites_every: int = 40, squares: int = 6) -> Inputs:
    """Coverage inputs from a :class:`survatlas.synth.SynthCity`, with some sites.

    Every ``sites_every``-th building is an ``education`` site, ``squares`` street crossings get
    a 25 m ``public_space`` disc, and one point site stands in a building (its footprint is
    then the building's). The buildings carry no type or height tags (``building=yes``), so a
    2.5-D run gives them the default heights with their interval. No store is needed.
    """
    import geopandas as gpd
    import pandas as pd
    from pyproj import CRS

    from survatlas.coverage.analysis import _site_footprints

    crs = CRS.from_proj4(city.crs)
    x, y = city.camera_xy()
    lon, lat = city.to_lonlat(x, y)
    cams = city.cameras
    devices = gpd.GeoDataFrame(pd.DataFrame({
        "id": np.arange(1, len(cams) + 1),
        "device_type": [c["device_type"] for c in cams],
        "camera_type": [c.get("camera_type") for c in cams],
        "views": [[[c["direction"], c.get("fov_deg")]] if "direction" in c else [] for c in cams],
        "height_m": [c["height_m"] for c in cams],
        **{k: [None] * len(cams) for k in ("tilt_down_deg", "fov_deg", "range_m", "focal_mm",
                                          "sensor_width_mm", "width_px")},
    }), geometry=list(shapely.points(lon, lat)), crs="EPSG:4326")
    buildings = np.asarray(city.buildings, dtype=object)
    school = buildings[::sites_every]
    crossings = np.unique(np.round(shapely.get_coordinates(city.streets), 3), axis=0)
    pick = np.linspace(0, len(crossings) - 1, squares).astype(int) if squares else []
    plazas = shapely.buffer(shapely.points(crossings[pick]), 25.0)
    point = shapely.points([shapely.get_coordinates(shapely.point_on_surface(buildings[1]))[0]])
    raw = np.concatenate([school, plazas, point]).astype(object)
    category = np.array(["education"] * len(school) + ["public_space"] * len(plazas) + ["workplace"],
                        dtype=object)
    footprints, assumed = _site_footprints(raw, buildings)
    bounds = tuple(float(v) for v in shapely.total_bounds(np.concatenate(
        [city.streets, footprints, shapely.points(x, y)])))
    return Inputs(crs, devices, np.asarray(x, float), np.asarray(y, float), buildings,
                  np.arange(1, len(city.streets) + 1), np.asarray(city.streets, dtype=object),
                  np.arange(1, raw.size + 1), category, footprints, assumed, bounds,
                  building_attrs=pd.DataFrame({"building": ["yes"] * len(buildings),
                                               **{c: np.full(len(buildings), np.nan) for c in
                                                  ("height_m", "levels", "min_height_m")}}))
