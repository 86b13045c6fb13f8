"""Heights for 2.5-D visibility: of buildings (top and bottom) and of camera eyes.

Every height is resolved per optics scenario, so an unknown height widens the published
interval instead of silently hiding (or revealing) the ground behind a building:

- the ``best`` scenario (the *low* end of coverage for the public) takes tall buildings and
  low cameras, ``worst`` (the *high* end) low buildings and high cameras, ``typical`` the
  typical values;
- a building's height comes from its ``height`` tag, else ``building:levels`` ×
  :data:`STOREY_M` (+ :data:`ROOF_M` for the roof), else :data:`BUILDING_DEFAULTS` for its
  ``building=*`` value (``yes`` and unknown values: :data:`DEFAULT_BUILDING`);
- ``min_height`` (a part floating above the ground: a passage, an overhang) is the bottom,
  0 when missing;
- a camera's eye height comes from its ``height_m``, else :data:`MOUNT_DEFAULTS` for its mount
  (unknown mount: :data:`DEFAULT_MOUNT`).

Known heights are used as they are in every scenario.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from survatlas.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

#: Metres per storey for ``building:levels`` (the usual OSM 3-D renderers' value).
STOREY_M = 3.0
#: Metres added to ``levels × STOREY_M`` for the roof / parapet.
ROOF_M = 1.0
#: Scenario → index into a ``(low, typical, high)`` building height triple.
_BUILDING_PICK = {"best": 2, "typical": 1, "worst": 0}
#: Scenario → index into a ``(low, typical, high)`` camera height triple.
_CAMERA_PICK = {"best": 0, "typical": 1, "worst": 2}

#: ``building=*`` value → (low, typical, high) height in metres when no tag gives it.
BUILDING_DEFAULTS: dict[str, tuple[float, float, float]] = {
    **dict.fromkeys(("kiosk", "toilets", "shed", "garage", "garages", "carport", "hut",
                     "cabin", "container", "guardhouse", "service", "transformer_tower",
                     "bunker"), (2.2, 3.0, 4.0)),
    **dict.fromkeys(("house", "detached", "semidetached_house", "bungalow", "farm",
                     "static_caravan", "allotment_house"), (3.0, 6.0, 9.0)),
    **dict.fromkeys(("terrace", "residential", "townhouse"), (6.0, 9.0, 14.0)),
    "apartments": (9.0, 15.0, 30.0),
    **dict.fromkeys(("commercial", "office", "hotel"), (8.0, 15.0, 40.0)),
    **dict.fromkeys(("retail", "supermarket"), (4.0, 6.0, 12.0)),
    **dict.fromkeys(("industrial", "warehouse", "manufacture", "hangar"), (5.0, 8.0, 14.0)),
    **dict.fromkeys(("school", "kindergarten", "university", "college", "hospital", "public",
                     "civic", "government", "train_station", "transportation"),
                    (6.0, 12.0, 20.0)),
    **dict.fromkeys(("church", "cathedral", "mosque", "synagogue", "temple", "chapel"),
                    (8.0, 15.0, 30.0)),
    **dict.fromkeys(("stadium", "sports_hall", "grandstand"), (8.0, 15.0, 25.0)),
}
#: Heights of a building whose type says nothing (``building=yes``): one storey to a block.
DEFAULT_BUILDING = (3.0, 9.0, 20.0)

#: ``mount`` → (low, typical, high) eye height in metres when ``height_m`` is unknown.
MOUNT_DEFAULTS: dict[str, tuple[float, float, float]] = {
    **dict.fromkeys(("pole", "street_lamp", "traffic_signals", "mast", "gantry", "overhead"),
                    (4.0, 6.0, 10.0)),
    **dict.fromkeys(("wall", "building", "window", "pillar", "sign", "clock"), (2.5, 4.0, 8.0)),
    **dict.fromkeys(("ceiling", "tunnel", "bridge"), (2.5, 3.5, 6.0)),
    "roof": (6.0, 12.0, 25.0),
    **dict.fromkeys(("doorbell", "atm", "parcel_locker", "vending_machine", "info_point",
                     "emergency_phone", "speaker", "fence", "trailer"), (1.2, 1.8, 2.5)),
}
#: Eye height of a camera whose mount is unknown.
DEFAULT_MOUNT = (2.5, 4.0, 8.0)


def _scenario(scenario: str) -> None:
    if scenario not in _BUILDING_PICK:
        raise InputError(f"unknown scenario {scenario!r}: use best, typical or worst")


def _numbers(values: Sequence | np.ndarray | None, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return values.astype(np.float64)
    import pandas as pd  # its numeric-text rules

    return pd.to_numeric(pd.Series(list(values) if not isinstance(values, np.ndarray)
                                   else values), errors="coerce").to_numpy(np.float64)


def building_heights(
    building: Sequence | np.ndarray, height_m=None, levels=None, min_height_m=None, *,
    scenario: str = "typical",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top and bottom of each building for one scenario, and where the top came from.

    Parameters
    ----------
    building
        ``building=*`` value of each footprint (None for unknown).
    height_m, levels, min_height_m
        Tag values per footprint (NaN / None when missing); any may be None altogether.
    scenario
        ``best`` (tall buildings), ``typical`` or ``worst`` (low buildings) for unknown tops.

    Returns
    -------
    tuple of numpy.ndarray
        ``(top_m, bottom_m, source)``; ``source`` is ``"height"``, ``"levels"`` or
        ``"default"`` per building.
    """
    _scenario(scenario)
    n = len(building)
    h = _numbers(height_m, n)
    lv = _numbers(levels, n)
    lo = _numbers(min_height_m, n)
    pick = _BUILDING_PICK[scenario]
    default = np.array([BUILDING_DEFAULTS.get(str(b).strip().lower(), DEFAULT_BUILDING)[pick]
                        if b is not None else DEFAULT_BUILDING[pick] for b in building], float)
    from_levels = lv * STOREY_M + ROOF_M
    ok_h = np.isfinite(h) & (h > 0)
    ok_lv = np.isfinite(lv) & (lv > 0)
    top = np.where(ok_h, h, np.where(ok_lv, from_levels, default))
    bottom = np.where(np.isfinite(lo) & (lo > 0) & (lo < top), lo, 0.0)
    source = np.where(ok_h, "height", np.where(ok_lv, "levels", "default"))
    return top, bottom, source


def camera_height(row: Mapping, scenario: str = "typical") -> tuple[float, bool]:
    """Eye height of a camera (its ``height_m``, else by mount) and whether it was assumed."""
    _scenario(scenario)
    h = row.get("height_m")
    if h is not None and not (isinstance(h, float) and math.isnan(h)) and float(h) > 0:
        return float(h), False
    mount = str(row.get("mount") or "").strip().lower()
    return MOUNT_DEFAULTS.get(mount, DEFAULT_MOUNT)[_CAMERA_PICK[scenario]], True


def near_edge(height_m: float, tilt_down_deg: float | None, vfov_deg: float | None) -> float:
    """Ground distance of the near edge of the picture (0 when tilt or vertical FOV is
    unknown): below the lower edge of the frame the camera does not see its own foot."""
    if tilt_down_deg is None or vfov_deg is None or not math.isfinite(tilt_down_deg):
        return 0.0
    lower = math.radians(tilt_down_deg + vfov_deg / 2.0)
    return 0.0 if lower >= math.pi / 2 else height_m / math.tan(lower)


def ground_range(slant_m: float, height_m: float) -> float:
    """Ground distance at which a target at ground level is ``slant_m`` from an eye at
    ``height_m`` (DORI distances are measured along the line of sight)."""
    return math.sqrt(max(slant_m * slant_m - height_m * height_m, 0.0))


def height_sources(buildings: pd.DataFrame, cameras: Sequence[Mapping]) -> dict[str, int]:
    """How many building tops came from ``height``, from ``building:levels`` or a default, and
    how many cameras had an assumed eye height (the counts a 2.5-D summary publishes)."""
    _, _, source = building_heights(list(buildings["building"]),
                                     np.asarray(buildings["height_m"]),
                                     np.asarray(buildings["levels"]),
                                     np.asarray(buildings["min_height_m"]))
    return {
        "buildings_height_tagged": int((source == "height").sum()),
        "buildings_height_from_levels": int((source == "levels").sum()),
        "buildings_height_assumed": int((source == "default").sum()),
        "cameras_height_assumed": int(sum(camera_height(r)[1] for r in cameras)),
    }
