"""Camera optics: field of view, DORI distances, plate-reading range, scenarios for unknowns.

How far a camera can *detect*, *observe*, *recognise* or *identify* a person follows from its
optics: the pixel density on a target at distance ``d`` is ``PPM(d) = f·W_px / (s_w·d)`` (focal
length ``f``, sensor width ``s_w``, horizontal pixels ``W_px``), and a level is reached while
``PPM ≥`` its threshold (EN 62676-4 by default, US DHS VQiPS as an alternative). When the optics
of a camera are unknown — most OpenStreetMap cameras — survatlas assumes a *scenario* (best,
typical, worst for the public; deciles of a 15,200-model catalogue compiled by PanoptiCity) and
says so: every assumption is recorded on the :class:`CameraGeometry` it produced.

Formulas and check values: ``../shared/reference/optics-dori.md``. Distances are slant distances
from the lens, as in lens calculators.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from survatlas.errors import InputError

#: The four DORI levels, coarse to fine.
LEVELS = ("detection", "observation", "recognition", "identification")
#: Extra level of licence-plate readers (ALPR / ANPR).
PLATE_LEVEL = "plate"

#: Minimum pixels per metre on the target for each level.
#: VQiPS defines bands; its coarsest band (observation, 25–65 px/m) starts at 25 px/m and it has
#: no coarser detection band, so detection and observation share 25 px/m there.
STANDARDS: dict[str, dict[str, float]] = {
    "en62676": {"detection": 25.0, "observation": 62.5, "recognition": 125.0,
                "identification": 250.0},
    "vqips": {"detection": 25.0, "observation": 25.0, "recognition": 65.0,
              "identification": 250.0},
}
DEFAULT_STANDARD = "en62676"

#: Common sensor formats → sensor width in mm.
SENSOR_WIDTHS_MM = {'1/3"': 4.8, '1/2.8"': 5.37, '1/2.5"': 5.76, '1/2.3"': 6.17}
#: Sensor width assumed when a camera's is unknown (1/2.8″, the most common CCTV format).
DEFAULT_SENSOR_WIDTH_MM = 5.37

#: Plate characters must be at least this many pixels high to be read.
PLATE_CHAR_PX = 15.0
#: Assumed plate character height: 75 mm (EU plates, e.g. German DIN 74069; UK 79 mm).
#: Pass ``char_height_m`` for other plates (many US plates have smaller characters).
PLATE_CHAR_HEIGHT_M = 0.075

#: Camera types treated as able to look all around (one 360° view).
ALL_ROUND_TYPES = frozenset({"dome", "panning", "ptz"})
#: Device types that read licence plates.
PLATE_READER_TYPES = frozenset({"alpr", "anpr", "plate_reader", "lpr"})


@dataclass(frozen=True)
class Scenario:
    """Assumed optics of a camera whose optics are unknown.

    Attributes
    ----------
    focal_mm, width_px, height_px
        Lens focal length and image size.
    """

    focal_mm: float
    width_px: int
    height_px: int


#: PanoptiCity's catalogue deciles (15,200 models, 143 brands): best / typical / worst case for
#: the public, for fixed cameras and for domes / PTZ. The sensor is assumed 1/2.8″ (5.37 mm).
SCENARIOS: dict[str, dict[str, Scenario]] = {
    "best": {"fixed": Scenario(2.8, 1920, 1080), "dome": Scenario(2.8, 1280, 1024)},
    "typical": {"fixed": Scenario(6.8, 2556, 1440), "dome": Scenario(6.5, 2556, 1440)},
    "worst": {"fixed": Scenario(26.0, 3840, 2160), "dome": Scenario(68.2, 3840, 2160)},
}
DEFAULT_SCENARIO = "typical"

_CARDINALS = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE",
              "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW")


def hfov_deg(focal_mm: float, sensor_width_mm: float) -> float:
    """Horizontal field of view in degrees: ``2·atan(s_w / 2f)``.

    Parameters
    ----------
    focal_mm
        Focal length, mm.
    sensor_width_mm
        Sensor width, mm.

    Returns
    -------
    float
        Degrees.
    """
    _positive(focal_mm=focal_mm, sensor_width_mm=sensor_width_mm)
    return math.degrees(2.0 * math.atan(sensor_width_mm / (2.0 * focal_mm)))


def pixel_density(focal_mm: float, sensor_width_mm: float, width_px: float,
                  distance_m: float) -> float:
    """Pixels per metre on a target at ``distance_m``: ``f·W_px / (s_w·d)``."""
    _positive(focal_mm=focal_mm, sensor_width_mm=sensor_width_mm, width_px=width_px,
              distance_m=distance_m)
    return focal_mm * width_px / (sensor_width_mm * distance_m)


def dori_distances(focal_mm: float, sensor_width_mm: float, width_px: float,
                   standard: str = DEFAULT_STANDARD) -> dict[str, float]:
    """Farthest distance (m) at which each DORI level is reached.

    Parameters
    ----------
    focal_mm, sensor_width_mm
        Lens focal length and sensor width, mm.
    width_px
        Horizontal resolution, pixels.
    standard
        ``"en62676"`` (EN 62676-4, default) or ``"vqips"`` (US DHS VQiPS).

    Returns
    -------
    dict
        ``{level: metres}`` for every level of :data:`LEVELS`:
        ``d = f·W_px / (s_w·PPM_level)``.
    """
    _positive(focal_mm=focal_mm, sensor_width_mm=sensor_width_mm, width_px=width_px)
    thresholds = _standard(standard)
    return {lv: focal_mm * width_px / (sensor_width_mm * thresholds[lv]) for lv in LEVELS}


def plate_reading_distance(focal_mm: float, sensor_width_mm: float, width_px: float, *,
                           char_height_m: float = PLATE_CHAR_HEIGHT_M,
                           min_char_px: float = PLATE_CHAR_PX) -> float:
    """Farthest distance (m) at which plate characters are ``min_char_px`` pixels high.

    Square pixels are assumed (vertical pixel density equals horizontal), so
    ``d = f·W_px·h_char / (s_w·min_char_px)``.
    """
    _positive(focal_mm=focal_mm, sensor_width_mm=sensor_width_mm, width_px=width_px,
              char_height_m=char_height_m, min_char_px=min_char_px)
    return focal_mm * width_px * char_height_m / (sensor_width_mm * min_char_px)


def ground_reach(height_m: float, tilt_down_deg: float, vfov_deg: float) -> tuple[float, float]:
    """Near and far ground distance seen by a camera tilted down.

    Parameters
    ----------
    height_m
        Mounting height above the ground, m.
    tilt_down_deg
        Angle of the optical axis below the horizontal, degrees.
    vfov_deg
        Vertical field of view, degrees.

    Returns
    -------
    tuple of float
        ``(near, far)`` in metres: ``near = h / tan(t + v/2)`` (0 when the view reaches straight
        down), ``far = h / tan(t − v/2)`` (``inf`` when the top of the view reaches the horizon,
        ``t ≤ v/2``).
    """
    _positive(height_m=height_m, vfov_deg=vfov_deg)
    lower = math.radians(tilt_down_deg + vfov_deg / 2.0)
    upper = math.radians(tilt_down_deg - vfov_deg / 2.0)
    near = 0.0 if lower >= math.pi / 2 else height_m / math.tan(lower)
    far = math.inf if upper <= 0.0 else height_m / math.tan(min(upper, math.pi / 2))
    return max(near, 0.0), far


def parse_direction(value: object) -> float | None:
    """Compass bearing in degrees from a number, a numeric string or a 16-wind name (``"NE"``).

    Returns ``None`` for missing values; raises :class:`InputError` for anything else.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, int | float):
        return float(value) % 360.0
    text = str(value).strip().upper()
    if not text:
        return None
    if text in _CARDINALS:
        return _CARDINALS.index(text) * 22.5
    try:
        return float(text) % 360.0
    except ValueError:
        raise InputError(f"cannot read camera direction {value!r}: use degrees (0 = north) "
                         "or a compass point like 'NE'") from None


@dataclass(frozen=True)
class CameraOptics:
    """Optics of one camera (known, assumed, or partly both).

    Attributes
    ----------
    focal_mm, sensor_width_mm
        Focal length and sensor width, mm.
    width_px, height_px
        Image size, pixels.
    source
        ``"field"`` (all from data), ``"scenario"`` (all assumed) or ``"mixed"``.
    """

    focal_mm: float
    sensor_width_mm: float
    width_px: int
    height_px: int
    source: str

    @property
    def hfov_deg(self) -> float:
        """Horizontal field of view, degrees."""
        return hfov_deg(self.focal_mm, self.sensor_width_mm)

    @property
    def vfov_deg(self) -> float:
        """Vertical field of view, degrees (square pixels)."""
        sensor_h = self.sensor_width_mm * self.height_px / self.width_px
        return hfov_deg(self.focal_mm, sensor_h)

    def distances(self, standard: str = DEFAULT_STANDARD) -> dict[str, float]:
        """DORI distances of these optics (see :func:`dori_distances`)."""
        return dori_distances(self.focal_mm, self.sensor_width_mm, self.width_px, standard)


@dataclass(frozen=True)
class View:
    """One direction a camera looks in: ``direction_deg`` None means all round (360°)."""

    direction_deg: float | None
    fov_deg: float


@dataclass(frozen=True)
class CameraGeometry:
    """What a camera can see, as inputs for the visibility kernel.

    Attributes
    ----------
    views
        Directions and fields of view (none when the camera is skipped).
    ranges_m
        Reach per level (``LEVELS``, plus ``"plate"`` for plate readers), metres.
    height_m
        Mounting height when known.
    optics
        The optics used (reported even when a field ``range_m`` overrides their ranges: the
        field of view and plate range still come from them).
    scenario, standard
        Scenario and DORI standard used.
    assumptions
        Human-readable list of every assumption made for this camera.
    direction_assumed, optics_assumed
        Whether the direction / the optics (at least partly) were assumed.
    """

    views: tuple[View, ...]
    ranges_m: dict[str, float]
    height_m: float | None
    optics: CameraOptics | None
    scenario: str
    standard: str
    assumptions: tuple[str, ...] = field(default=())
    direction_assumed: bool = False
    optics_assumed: bool = False

    @property
    def levels(self) -> tuple[str, ...]:
        """Levels this camera has a range for."""
        return tuple(self.ranges_m)


def camera_geometry(device: Mapping, scenario: str = DEFAULT_SCENARIO, *,
                    standard: str = DEFAULT_STANDARD, no_direction: str = "360") -> CameraGeometry:
    """Views and per-level ranges of one camera, from field data first, scenarios second.

    Parameters
    ----------
    device
        Plain mapping with optional keys: ``camera_type`` (fixed, dome, panning, …),
        ``device_type`` (camera, alpr, …), ``views`` (list of ``(direction, fov or None)``),
        ``direction`` (degrees, ``"90;270"`` or ``"NE"``), ``fov_deg``, ``range_m`` (one reach
        for every level, overriding optics), ``height_m``, ``tilt_down_deg``, ``focal_mm``,
        ``sensor_width_mm``, ``width_px``, ``height_px``. Field values take precedence.
    scenario
        ``"best"``, ``"typical"`` (default) or ``"worst"``: optics assumed where unknown.
    standard
        DORI standard (``"en62676"`` default, or ``"vqips"``).
    no_direction
        What a directional camera with no known direction becomes: ``"360"`` (a full circle at
        the scenario's range, the default) or ``"skip"`` (no view). Always recorded.

    Returns
    -------
    CameraGeometry
    """
    if scenario not in SCENARIOS:
        raise InputError(f"unknown scenario {scenario!r}: use one of {sorted(SCENARIOS)}")
    if no_direction not in ("360", "skip"):
        raise InputError("no_direction must be '360' or 'skip'")
    _standard(standard)
    fields = tuple(device.get(k) for k in _OPTICS_FIELDS)
    try:
        kind, optics, optics_assumed, ranges, notes = _optics_part(fields, scenario, standard)
    except TypeError:  # an unhashable field value: no cache
        kind, optics, optics_assumed, ranges, notes = _optics_part.__wrapped__(
            fields, scenario, standard)
    view_notes: list[str] = []
    views, direction_assumed = _views(device, kind, optics, no_direction, view_notes)
    height = _opt_float(device, "height_m")
    return CameraGeometry(views, dict(ranges), height, optics, scenario, standard,
                          (*notes, *view_notes), direction_assumed, optics_assumed)


#: Device fields that decide a camera's optics and ranges (not its views).
_OPTICS_FIELDS = ("camera_type", "device_type", "focal_mm", "sensor_width_mm", "width_px",
                  "height_px", "range_m", "height_m", "tilt_down_deg")


@functools.lru_cache(maxsize=4096)
def _optics_part(fields: tuple, scenario: str, standard: str) -> tuple:
    """Kind, optics, ranges and their notes of a camera (cameras share few distinct ones)."""
    device = dict(zip(_OPTICS_FIELDS, fields, strict=True))
    notes: list[str] = []
    kind = _camera_kind(device, notes)
    optics, optics_assumed = _optics(device, scenario, kind, notes)
    ranges = _ranges(device, optics, standard, notes)
    return kind, optics, optics_assumed, ranges, tuple(notes)


def expand_views(geometries: Sequence[CameraGeometry], level: str
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flatten cameras into view arrays for :func:`survatlas.coverage.visibility`.

    Parameters
    ----------
    geometries
        One :class:`CameraGeometry` per camera.
    level
        A level of :data:`LEVELS` or ``"plate"``; cameras without that level are left out.

    Returns
    -------
    tuple of numpy.ndarray
        ``(camera_index, direction_deg, fov_deg, radius_m)``, one row per view; direction is
        NaN for a full circle.
    """
    rows = [(i, np.nan if v.direction_deg is None else v.direction_deg, v.fov_deg,
             g.ranges_m[level])
            for i, g in enumerate(geometries) if level in g.ranges_m for v in g.views]
    arr = np.array(rows, float).reshape(-1, 4)
    return arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2], arr[:, 3]


def scenario_interval(devices: Iterable[Mapping], level: str, **kwargs) -> dict[str, list[float]]:
    """Reach of ``level`` for every device under each scenario (best, typical, worst).

    Extra keyword arguments go to :func:`camera_geometry`; NaN where a device lacks the level.
    """
    devices = list(devices)
    return {name: [camera_geometry(d, name, **kwargs).ranges_m.get(level, math.nan)
                   for d in devices] for name in SCENARIOS}


def count_assumptions(geometries: Iterable[CameraGeometry]) -> dict[str, int]:
    """How many cameras rest on each kind of assumption (for the method note of a figure).

    Returns
    -------
    dict
        ``cameras``, ``direction_assumed``, ``optics_assumed``, ``skipped`` (no view) and
        ``all_round`` (one 360° view).
    """
    geoms = list(geometries)
    return {
        "cameras": len(geoms),
        "direction_assumed": sum(g.direction_assumed for g in geoms),
        "optics_assumed": sum(g.optics_assumed for g in geoms),
        "skipped": sum(not g.views for g in geoms),
        "all_round": sum(len(g.views) == 1 and g.views[0].direction_deg is None for g in geoms),
    }


def _camera_kind(device: Mapping, notes: list[str]) -> str:
    ctype = str(device.get("camera_type") or "").strip().lower()
    if ctype in ALL_ROUND_TYPES:
        return "dome"
    if not ctype:
        notes.append("camera type unknown: treated as fixed")
    return "fixed"


def _optics(device: Mapping, scenario: str, kind: str,
            notes: list[str]) -> tuple[CameraOptics, bool]:
    sc = SCENARIOS[scenario][kind]
    known = {k: _opt_float(device, k) for k in ("focal_mm", "sensor_width_mm", "width_px",
                                                 "height_px")}
    defaults = {"focal_mm": sc.focal_mm, "sensor_width_mm": DEFAULT_SENSOR_WIDTH_MM,
                "width_px": sc.width_px, "height_px": None}
    missing = [k for k in ("focal_mm", "sensor_width_mm", "width_px") if known[k] is None]
    vals = {k: (known[k] if known[k] is not None else defaults[k]) for k in known}
    if vals["height_px"] is None:
        vals["height_px"] = (sc.height_px if known["width_px"] is None
                             else round(vals["width_px"] * 9 / 16))
    if missing:
        notes.append(f"optics assumed from scenario '{scenario}' ({kind}): "
                     + ", ".join(f"{k}={defaults[k]}" for k in missing))
    source = "scenario" if len(missing) == 3 else ("mixed" if missing else "field")
    optics = CameraOptics(vals["focal_mm"], vals["sensor_width_mm"], int(vals["width_px"]),
                          int(vals["height_px"]), source)
    return optics, bool(missing)


def _ranges(device: Mapping, optics: CameraOptics, standard: str,
            notes: list[str]) -> dict[str, float]:
    field_range = _opt_float(device, "range_m")
    if field_range is not None:
        ranges = dict.fromkeys(LEVELS, field_range)
        notes.append("range_m from field data used for every level")
    else:
        ranges = optics.distances(standard)
    if str(device.get("device_type") or "").strip().lower() in PLATE_READER_TYPES:
        ranges[PLATE_LEVEL] = field_range if field_range is not None else plate_reading_distance(
            optics.focal_mm, optics.sensor_width_mm, optics.width_px)
    height, tilt = _opt_float(device, "height_m"), _opt_float(device, "tilt_down_deg")
    if height is not None and tilt is not None:
        far = ground_reach(height, tilt, optics.vfov_deg)[1]
        if far < max(ranges.values()):
            notes.append(f"ranges capped at the tilt's far ground edge ({far:.1f} m)")
        ranges = {k: min(v, far) for k, v in ranges.items()}
    return ranges


def _views(device: Mapping, kind: str, optics: CameraOptics, no_direction: str,
           notes: list[str]) -> tuple[tuple[View, ...], bool]:
    fov = _opt_float(device, "fov_deg")
    listed = _listed_views(device)
    if listed:
        return tuple(View(d, f if f is not None else (fov or optics.hfov_deg))
                     for d, f in listed), False
    if kind == "dome":
        notes.append("dome / panning camera: treated as 360°")
        return (View(None, 360.0),), False
    if no_direction == "skip":
        notes.append("direction unknown: camera skipped")
        return (), True
    notes.append("direction unknown: treated as 360° at the scenario's range")
    return (View(None, 360.0),), True


def _listed_views(device: Mapping) -> list[tuple[float | None, float | None]]:
    views = device.get("views")
    if views:
        return [(parse_direction(d), None if f is None else float(f)) for d, f in views]
    raw = device.get("direction")
    if raw is None:
        return []
    parts = raw.split(";") if isinstance(raw, str) else [raw]
    dirs = [parse_direction(p) for p in parts]
    return [(d, None) for d in dirs if d is not None]


def _opt_float(device: Mapping, key: str) -> float | None:
    value = device.get(key)
    if value is None or value == "":
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputError(f"camera field {key}={value!r} is not a number") from None
    if not math.isfinite(out) or (out <= 0 and key != "tilt_down_deg"):
        raise InputError(f"camera field {key}={value!r} must be a positive number")
    return out


def _standard(name: str) -> dict[str, float]:
    try:
        return STANDARDS[name]
    except KeyError:
        raise InputError(
            f"unknown DORI standard {name!r}: use one of {sorted(STANDARDS)}"
        ) from None


def _positive(**values: float) -> None:
    for name, value in values.items():
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise InputError(f"{name} must be a positive number, got {value!r}")
