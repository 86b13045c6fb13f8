"""Coverage: which public space each camera sees, and at what detail.

The visibility kernel computes, for every camera *view* (position, direction, field of view,
range), the exact 2-D region it sees among building footprints, stored as star-shaped r(θ)
arrays (:class:`Regions`). Aggregations work on those arrays without any polygon union:
:meth:`Regions.clip_segments` + :func:`merge_intervals` (or :func:`segment_coverage`) for
streets, :meth:`Regions.raster_count` for areas. Shapely polygons are built only for export
(:meth:`Regions.to_polygons`).

Strategies with one public method ``visibility(x, y, direction_deg, fov_deg, radius_m)``:
:class:`ExactKernel` (numba, the one to use), :class:`NaiveOracle` (shapely, the test reference)
and :class:`HullShortcut` (the common convex-hull shortcut, a benchmark baseline).
"""

from importlib import import_module
from typing import Any

# first, before any kernel module: numba's first dispatch without scipy.linalg or cffi
from survatlas.coverage import _jit  # noqa: F401
from survatlas.coverage.obstacles import Obstacles, prepare_obstacles
from survatlas.coverage.regions import STATUS, Regions, merge_intervals, segment_coverage
from survatlas.coverage.visibility import ExactKernel, visibility

#: the shapely references, imported on first use (a coverage run does not need them)
_ORACLE = ("HullShortcut", "NaiveOracle", "hull_shadow_visibility", "oracle_visibility",
           "sector_polygon")


def __getattr__(name: str) -> Any:
    if name not in _ORACLE:
        raise AttributeError(f"module 'survatlas.coverage' has no attribute {name!r}")
    value = getattr(import_module("survatlas.coverage.oracle"), name)
    globals()[name] = value
    return value


__all__ = [
    "STATUS",
    "ExactKernel",
    "HullShortcut",
    "NaiveOracle",
    "Obstacles",
    "Regions",
    "hull_shadow_visibility",
    "merge_intervals",
    "oracle_visibility",
    "prepare_obstacles",
    "sector_polygon",
    "segment_coverage",
    "visibility",
]
