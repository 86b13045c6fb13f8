"""Normalise messy OpenStreetMap surveillance tags into one honest record.

Every vocabulary is a table at the top of this module, documented in ``docs/tags.md``. The rule
throughout: a value is either *understood* (possibly after a documented repair, which is recorded
as a :class:`TagWarning`) or *dropped with a warning*. Nothing is silently defaulted, and a missing
value stays missing (no direction never becomes "360°").

The parsers (:func:`parse_direction`, :func:`parse_height`, :func:`parse_angle`,
:func:`parse_tilt`, :func:`parse_camera_type`) raise :class:`survatlas.errors.InputError` on a
value they cannot read; :func:`normalise_tags` never raises on string input and turns every such
failure into a warning instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from survatlas.errors import InputError

# --------------------------------------------------------------------------------------------
# Tables (documented in docs/tags.md)
# --------------------------------------------------------------------------------------------

#: Keys read for each field, in precedence order. The first key that yields a usable value wins;
#: every other present key is still parsed, and a disagreeing one gets a ``conflicting_*`` warning.
DIRECTION_KEYS = ("camera:direction", "direction", "surveillance:direction")
ANGLE_KEYS = ("camera:angle",)
TILT_KEYS = ("camera:tilt",)
HEIGHT_KEYS = ("height", "camera:height", "est_height")
MOUNT_KEYS = ("camera:mount", "surveillance:mount")
OPERATOR_KEYS = ("operator", "surveillance:operator")
MANUFACTURER_KEYS = (
    "manufacturer",
    "surveillance:manufacturer",
    "camera:manufacturer",
    "brand",
    "surveillance:brand",
)
MODEL_KEYS = ("model", "surveillance:model", "camera:model")

#: The 16-wind compass rose (English letters, any case).
_WINDS = ("n", "nne", "ne", "ene", "e", "ese", "se", "sse",
          "s", "ssw", "sw", "wsw", "w", "wnw", "nw", "nnw")
CARDINALS: dict[str, float] = {name: i * 22.5 for i, name in enumerate(_WINDS)}
#: English words (spaces, hyphens and underscores are removed before the look-up).
CARDINAL_WORDS: dict[str, float] = {
    "north": 0.0, "northeast": 45.0, "east": 90.0, "southeast": 135.0,
    "south": 180.0, "southwest": 225.0, "west": 270.0, "northwest": 315.0,
}
#: German letters (O = Ost = east). Read with a ``german_cardinal`` warning, because in French
#: ``O`` is *ouest* (west) and ``SO`` is *sud-ouest*; the only real occurrences are in Berlin.
GERMAN_CARDINALS: dict[str, float] = {
    "o": 90.0, "no": 45.0, "so": 135.0, "nno": 22.5, "ono": 67.5, "oso": 112.5, "sso": 157.5,
    "nord": 0.0, "ost": 90.0, "süd": 180.0, "sued": 180.0,
}
#: Directions relative to a way (speed cameras): unusable without the way's geometry.
RELATIVE_DIRECTIONS = frozenset({"forward", "backward", "both"})
#: Values that only say "something is here": treated as missing, with a warning.
PLACEHOLDERS = frozenset({"yes", "no", "unknown", "none", "n/a", "na", "?", "-", "fixme"})

#: Plausible ranges. Outside them a value is dropped (heights) or repaired (directions).
HEIGHT_MIN_M = 0.3
HEIGHT_MAX_M = 300.0
HEIGHT_SUSPECT_ABOVE_M = 50.0  # kept, but flagged: often a roof or terrain elevation
DIRECTION_WRAP_LIMIT = 720.0  # 360 < v < 720 is wrapped (warned); >= 720 is dropped

#: Length units for ``height`` (factor to metres).
HEIGHT_UNITS: dict[str, float] = {
    "": 1.0, "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0,
    "cm": 0.01, "ft": 0.3048, "feet": 0.3048, "foot": 0.3048, "'": 0.3048, "′": 0.3048,
}

# Vocabulary tables: raw value (lower case, spaces -> "_") -> (canonical or None, note or None).
# note None: standard or commonly used, read silently. note given: read with a
# ``nonstandard_<field>`` warning (canonical set) or dropped with ``unusable_<field>`` (None).
Vocabulary = dict[str, tuple[str | None, str | None]]

DEVICE_TYPES: Vocabulary = {
    "camera": ("camera", None),
    "alpr": ("alpr", None),
    "anpr": ("alpr", None),
    "lpr": ("alpr", "licence-plate reader read as ALPR"),
    "guard": ("guard", None),
    "gunshot_detector": ("gunshot_detector", None),
    "speed_camera": ("speed_camera", None),
    "red_light_camera": ("speed_camera", "red-light camera counted as traffic enforcement"),
    "redlight_camera": ("speed_camera", "red-light camera counted as traffic enforcement"),
    "webcam": ("camera", "a webcam is a camera"),
    "weather": ("camera", "a weather webcam is a camera"),
    "traffic": ("camera", "a traffic camera"),
    "parking": (None, "names a place, not a device"),
}

#: ``surveillance=*`` values that mark traffic enforcement (device type ``speed_camera``) when
#: ``surveillance:type`` is absent or ``camera``.
ENFORCEMENT_AREAS = frozenset({"speed_camera", "red_light", "maxspeed"})

AREAS: Vocabulary = {
    "public": ("public", None),
    "outdoor": ("outdoor", None),
    "indoor": ("indoor", None),
    "traffic": ("traffic", None),
    "red_light": ("red_light", None),
    "speed_camera": ("speed_camera", None),
    "level_crossing": ("level_crossing", None),
    "transportation": ("transportation", None),
    "webcam": ("webcam", None),
    "private": ("private", None),
    "checkpoint": ("checkpoint", None),
    "privat": ("private", "German spelling"),
    "traffic_signals": ("traffic", "traffic signals watched"),
    "public_traffic": ("traffic", "public traffic watched"),
    "maxspeed": ("speed_camera", "speed enforcement"),
    "parking_garage": ("indoor", "a parking garage is indoors"),
    "outdoor_meteo": ("outdoor", "outdoor weather camera"),
    "yes": (None, "says only that this is surveillance"),
    "no": (None, "contradicts man_made=surveillance"),
    "camera": (None, "a device type, belongs in surveillance:type"),
    "cctv": (None, "a device type, belongs in surveillance:type"),
    "guard": (None, "a device type, belongs in surveillance:type"),
    "fake": (None, "a dummy device"),
}

ZONES: Vocabulary = {
    **{z: (z, None) for z in (
        "town", "parking", "traffic", "shop", "bank", "building", "entrance", "atm", "street",
        "area", "public_transport_platform", "public_transport", "station", "public", "park",
        "parking_entrance", "parking_exit", "hallway", "tunnel", "commercial", "gate", "police",
        "corridor", "loading_area", "courtyard", "assembly_room", "construction", "room",
        "stairwell", "staircase", "stairs", "elevator", "harbour", "embassy", "door", "square",
        "residential", "mall", "pathway", "bridge", "river", "lake", "recycling", "outdoor",
        "garage_entrance", "check-in", "school", "pedestrian_crossing", "field",
    )},
    "construction_site": ("construction", "construction site"),
    "trains": ("public_transport", "trains"),
    "parking_lot": ("parking", "parking lot"),
    "underpass": ("tunnel", "underpass"),
    "weather": (None, "weather is not a zone"),
    "view": (None, "a view is not a zone"),
}

MOUNTS: Vocabulary = {
    **{m: (m, None) for m in (
        "wall", "pole", "ceiling", "street_lamp", "traffic_signals", "building", "doorbell",
        "roof", "atm", "gantry", "bridge", "mast", "emergency_phone", "fence", "overhead",
        "parcel_locker", "info_point", "trailer", "clock", "pillar", "tree", "speaker",
        "window", "sign", "vending_machine", "tunnel",
    )},
    "street_light": ("street_lamp", None),
    "lamp": ("street_lamp", "lamp read as street lamp"),
    "lantern": ("street_lamp", "lantern read as street lamp"),
    "lighting_pole": ("street_lamp", "lighting pole read as street lamp"),
    "traffic_signal": ("traffic_signals", None),
    "traffic_light": ("traffic_signals", None),
    "post": ("pole", "post read as pole"),
    "ceilling": ("ceiling", "misspelt"),
    "wall_mounted": ("wall", "read as wall"),
    "trailor": ("trailer", "misspelt"),
    "amazon_locker": ("parcel_locker", "a parcel locker"),
    "dome": (None, "a camera type, belongs in camera:type"),
}

CAMERA_TYPES: Vocabulary = {
    "fixed": ("fixed", None),
    "dome": ("dome", None),
    "panning": ("panning", None),
    "panorama": ("panorama", None),
    "ptz": ("panning", None),
    "pan_tilt_zoom": ("panning", None),
    "pan": ("panning", "read as panning"),
    "dom": ("dome", "misspelt"),
    "static": ("fixed", "read as fixed"),
    "360": ("panorama", "a 360° camera read as panorama"),
    "panoramic": ("panorama", "read as panorama"),
    "fisheye": ("panorama", "a fisheye camera read as panorama"),
    "alpr": (None, "a device type, belongs in surveillance:type"),
    "webcam": (None, "not a camera type"),
    "doorbell": (None, "a mount, belongs in camera:mount"),
    "public": (None, "an area, belongs in surveillance"),
}

#: Every warning kind: (effect on the value, what it means). Effects: ``dropped`` (the value was
#: not used), ``used`` (used after a repair or with a doubt), ``ignored`` (readable but overruled
#: by a key of higher precedence), ``assumed`` (the value is missing and a documented default
#: was applied).
WARNING_KINDS: dict[str, tuple[str, str]] = {
    "empty_value": ("dropped", "the key is present with an empty value"),
    "placeholder_value": ("dropped", "yes / no / unknown: says nothing usable"),
    "unparsed_direction": ("dropped", "not a degree, cardinal, range or list"),
    "relative_direction": ("dropped", "forward/backward: relative to a way, not a bearing"),
    "out_of_range_direction": ("dropped", "magnitude 720° or more: a typo, not a bearing"),
    "negative_direction": ("used", "negative degrees read counter-clockwise (-20 -> 340)"),
    "direction_wrapped": ("used", "between 360° and 720°: taken modulo 360"),
    "german_cardinal": ("used", "German letters (O = Ost = east); French would read O as west"),
    "comma_list": ("used", "a list separated by commas instead of semicolons"),
    "decimal_comma": ("used", "one digit after a single comma read as a decimal (22,5 -> 22.5)"),
    "degenerate_range": ("used", "a range whose ends are equal, read as one direction"),
    "partly_unparsed_direction": ("used", "some items of a list were unreadable and dropped"),
    "conflicting_direction": ("ignored", "disagrees with a direction key of higher precedence"),
    "unparsed_angle": ("dropped", "camera:angle is not a number of degrees"),
    "out_of_range_angle": ("dropped", "camera:angle outside -90..90 (often a field of view)"),
    "angle_sign_assumed": ("used", "negative camera:angle read in the camera:tilt convention"),
    "angle_range_midpoint": ("used", "a range of angles: its midpoint is used"),
    "unparsed_tilt": ("dropped", "camera:tilt is not a number of degrees"),
    "out_of_range_tilt": ("dropped", "camera:tilt outside -90..90"),
    "tilt_range_midpoint": ("used", "a range of tilts: its midpoint is used"),
    "conflicting_tilt": ("ignored", "camera:tilt disagrees with camera:angle"),
    "unparsed_height": ("dropped", "not a length (number with an optional m/cm/ft unit)"),
    "out_of_range_height": ("dropped", "mounting height below 0.3 m or above 300 m"),
    "suspicious_height": ("used", "above 50 m: kept, but often a roof or terrain elevation"),
    "height_range_midpoint": ("used", "a range of heights: its midpoint is used"),
    "approximate_height": ("used", "marked approximate (~, ca.)"),
    "conflicting_height": ("ignored", "disagrees with a height key of higher precedence"),
    "default_type_camera": ("assumed", "no surveillance:type: camera assumed (OSM default)"),
    "fake_device": ("used", "surveillance=fake: a dummy device, typed as other"),
    "multiple_values": ("used", "several values where one is expected: the first usable one"),
}
for _field in ("device_type", "area", "zone", "mount", "camera_type"):
    WARNING_KINDS[f"nonstandard_{_field}"] = ("used", f"a non-standard {_field} value, mapped")
    WARNING_KINDS[f"unusable_{_field}"] = ("dropped", f"a known value that is no {_field}")
    WARNING_KINDS[f"unknown_{_field}"] = ("dropped", f"not in the {_field} vocabulary")

#: Value families reported by :func:`coverage_report`.
COVERAGE_FAMILIES: dict[str, tuple[str, ...]] = {
    "direction": DIRECTION_KEYS,
    "angle": ANGLE_KEYS,
    "tilt": TILT_KEYS,
    "height": HEIGHT_KEYS,
}

_MAX_WARNING_VALUE = 200
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_NUMBER_RE = re.compile(rf"^{_NUMBER}$")
_DEGREES_RE = re.compile(rf"^({_NUMBER})\s*(?:°|º|deg|degrees?)?$")
_RANGE_RE = re.compile(rf"^({_NUMBER})\s*(?:°|º)?\s*-\s*({_NUMBER})\s*(?:°|º)?$")
_DECIMAL_COMMA_RE = re.compile(r"^\s*[+-]?\d{1,3},\d\s*$")
_LENGTH_RE = re.compile(rf"^({_NUMBER})\s*([a-z'′]*)\.?$")
_FEET_INCHES_RE = re.compile(r"^(\d+)\s*(?:'|′|ft)\s*(\d+(?:\.\d+)?)\s*(?:\"|″|in)$")
_APPROX_RE = re.compile(r"^(?:~|≈|ca\.?|approx\.?|circa)\s*")
_DASHES = str.maketrans({"−": "-", "–": "-", "—": "-", "‐": "-", "‑": "-"})


# --------------------------------------------------------------------------------------------
# Public records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """One viewing direction of a device.

    Attributes
    ----------
    direction_deg
        Centre of the view, degrees clockwise from north, in ``[0, 360)``.
    fov_deg
        Sweep width in ``(0, 360]`` when the tag gave a range (``90-270`` -> centre 180,
        fov 180); ``None`` when the tag gave a single direction (the optics decide the width).
    """

    direction_deg: float
    fov_deg: float | None = None


@dataclass(frozen=True)
class TagWarning:
    """A data-quality note about one tag value (see ``WARNING_KINDS`` for every kind)."""

    key: str
    value: str
    kind: str
    message: str

    @property
    def effect(self) -> str:
        """What happened to the value: ``dropped``, ``used``, ``ignored`` or ``assumed``."""
        return WARNING_KINDS.get(self.kind, ("dropped", ""))[0]


@dataclass(frozen=True)
class DeviceTags:
    """The normalised tags of one device (see :func:`normalise_tags`)."""

    device_type: str
    area: str | None
    zone: str | None
    mount: str | None
    camera_type: str | None
    views: tuple[View, ...]
    tilt_down_deg: float | None
    height_m: float | None
    operator: str | None
    manufacturer: str | None
    model: str | None
    warnings: tuple[TagWarning, ...]


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


class _Notes:
    """Collects warnings while one record is normalised."""

    def __init__(self) -> None:
        self.items: list[TagWarning] = []

    def add(self, key: str, value: str, kind: str, message: str) -> None:
        self.items.append(TagWarning(key, value[:_MAX_WARNING_VALUE], kind, message))


def _wrap(deg: float) -> float:
    """Reduce degrees into ``[0, 360)`` (guarding the float case ``-1e-20 % 360 == 360``)."""
    out = deg % 360.0
    return 0.0 if out >= 360.0 else out


def _number(text: str) -> float:
    """A finite float from a strict decimal literal, or ``InputError``."""
    if not _NUMBER_RE.match(text):
        raise InputError(f"{text!r} is not a number")
    value = float(text)
    if not math.isfinite(value):
        raise InputError(f"{text!r} is too large to be a number of degrees or metres")
    return value


def _clean(value: str) -> str:
    """Strip, unify dashes and minus signs."""
    return value.strip().translate(_DASHES)


# --------------------------------------------------------------------------------------------
# Directions
# --------------------------------------------------------------------------------------------


class _DirectionError(InputError):
    """A direction item that cannot be read, with the warning kind to record."""

    def __init__(self, message: str, kind: str = "unparsed_direction") -> None:
        super().__init__(message)
        self.kind = kind


def _bearing(value: float, notes: list[tuple[str, str]]) -> float:
    """Bring a number of degrees into ``[0, 360)``, noting repairs, or raise."""
    if -360.0 < value < 0.0:
        notes.append(("negative_direction", f"{value:g}° read counter-clockwise"))
    elif 360.0 < value < DIRECTION_WRAP_LIMIT:
        notes.append(("direction_wrapped", f"{value:g}° taken modulo 360"))
    elif abs(value) >= DIRECTION_WRAP_LIMIT or value <= -360.0:
        raise _DirectionError(
            f"{value:g}° is far outside 0–360; check the value for a typo",
            "out_of_range_direction",
        )
    return _wrap(value)


def _single_direction(item: str, notes: list[tuple[str, str]]) -> View:
    """One list item: degrees, a cardinal, or a clockwise range."""
    low = item.lower()
    compact = re.sub(r"[\s_-]", "", low)
    if low in CARDINALS:
        return View(CARDINALS[low])
    if compact in CARDINAL_WORDS:
        return View(CARDINAL_WORDS[compact])
    if low in GERMAN_CARDINALS:
        notes.append(("german_cardinal", f"{item!r} read as German (O = Ost = east)"))
        return View(GERMAN_CARDINALS[low])
    if low in RELATIVE_DIRECTIONS:
        raise _DirectionError(
            f"{item!r} is relative to a way; give a compass bearing instead",
            "relative_direction",
        )
    if m := _DEGREES_RE.match(item):
        return View(_bearing(_number(m.group(1)), notes))
    if m := _RANGE_RE.match(item):
        return _range_view(_number(m.group(1)), _number(m.group(2)), notes)
    raise _DirectionError(
        f"cannot read {item!r} as a direction; use degrees (0–359), a cardinal (N, NE, …), "
        "a clockwise range (90-270) or a list (90;180)"
    )


def _range_view(start: float, end: float, notes: list[tuple[str, str]]) -> View:
    """A clockwise sweep from ``start`` to ``end`` as centre + width."""
    if start == end:
        notes.append(("degenerate_range", f"range {start:g}-{end:g} read as one direction"))
        return View(_bearing(start, notes))
    span = end - start
    full = span != 0 and span % 360.0 == 0.0
    a = _bearing(start, notes)
    b = _bearing(end, notes)
    sweep = 360.0 if full else (b - a) % 360.0
    if sweep <= 0.0:  # ends equal modulo 360 but not a whole turn: degenerate
        notes.append(("degenerate_range", f"range {start:g}-{end:g} read as one direction"))
        return View(a)
    return View(_wrap(a + sweep / 2.0), sweep)


def _split_list(value: str, notes: list[tuple[str, str]]) -> list[str]:
    """Split a direction list on ``;`` (standard) or ``,`` (noted)."""
    if ";" in value:
        return value.split(";")
    if "," in value:
        if _DECIMAL_COMMA_RE.match(value):
            notes.append(("decimal_comma", f"{value!r} read as {value.replace(',', '.')}"))
            return [value.replace(",", ".")]
        notes.append(("comma_list", "items separated by commas read as a list"))
        return value.split(",")
    return [value]


def _parse_direction(value: str) -> tuple[tuple[View, ...], list[tuple[str, str]]]:
    """Parse a direction value into views plus (kind, message) repair notes; raise if nothing."""
    notes: list[tuple[str, str]] = []
    text = _clean(value)
    if not text:
        raise _DirectionError("empty direction; leave the key out if unknown", "empty_value")
    views: list[View] = []
    errors: list[_DirectionError] = []
    bad: list[str] = []
    for raw_item in _split_list(text, notes):
        item = raw_item.strip()
        if not item:
            continue
        try:
            view = _single_direction(item, notes)
        except InputError as err:
            errors.append(err if isinstance(err, _DirectionError) else _DirectionError(str(err)))
            bad.append(item)
            continue
        if view not in views:
            views.append(view)
    if not views:
        raise errors[0] if errors else _DirectionError("a list with no items")
    if bad:
        notes.append(("partly_unparsed_direction", f"unreadable items dropped: {bad[:5]}"))
    return tuple(views), notes


def parse_direction(value: str) -> tuple[View, ...]:
    """Parse an OSM direction value into one or more views.

    Parameters
    ----------
    value
        A ``camera:direction`` / ``direction`` value: degrees (``180``, ``180°``, ``337.5``),
        16-wind cardinals (``NE``, any case), English words (``north``), clockwise ranges
        (``90-270``, ``300-60``, ``0-360``) or lists of these separated by ``;`` (or ``,``).

    Returns
    -------
    tuple of View
        Directions in ``[0, 360)``; a range gives its centre and ``fov_deg`` in ``(0, 360]``.
        Repairs that :func:`normalise_tags` would warn about (negative degrees, values above 360,
        German letters, …) are applied silently here.

    Raises
    ------
    InputError
        If no part of the value can be read as a direction.
    """
    return _parse_direction(value)[0]


# --------------------------------------------------------------------------------------------
# Angles and tilts
# --------------------------------------------------------------------------------------------


def _parse_degrees_or_range(value: str, what: str) -> tuple[float, bool]:
    """A number of degrees, or the midpoint of ``a-b`` (flag True); raise otherwise."""
    text = _clean(value)
    if m := _DEGREES_RE.match(text):
        return _number(m.group(1)), False
    if m := _RANGE_RE.match(text):
        return (_number(m.group(1)) + _number(m.group(2))) / 2.0, True
    raise InputError(f"cannot read {value[:80]!r} as {what}; give degrees such as 30 or -30")


def parse_angle(value: str) -> float:
    """Parse ``camera:angle`` (degrees below horizontal, 0–90) as written, without range checks.

    A range ``a-b`` gives its midpoint. Raises :class:`InputError` when it is not a number.
    """
    return _parse_degrees_or_range(value, "camera:angle")[0]


def parse_tilt(value: str) -> float:
    """Parse ``camera:tilt`` (−90 down … +90 up) as written, without range checks.

    A range such as ``-90-20`` (from −90 to 20) gives its midpoint (−35). Raises
    :class:`InputError` when it is not a number.
    """
    return _parse_degrees_or_range(value, "camera:tilt")[0]


def _angle_to_down(key: str, raw: str, notes: _Notes) -> float | None:
    """``camera:angle`` -> degrees below horizontal, with warnings."""
    try:
        angle, is_range = _parse_degrees_or_range(raw, "camera:angle")
    except InputError as err:
        notes.add(key, raw, "unparsed_angle", str(err))
        return None
    if is_range:
        notes.add(key, raw, "angle_range_midpoint", f"range read as its midpoint {angle:g}°")
    if -90.0 <= angle < 0.0:
        notes.add(key, raw, "angle_sign_assumed",
                  f"negative camera:angle read as {-angle:g}° below horizontal (tilt sign)")
        return -angle
    if 0.0 <= angle <= 90.0:
        return angle
    notes.add(key, raw, "out_of_range_angle",
              f"camera:angle {angle:g}° is outside 0–90 (a field of view?); dropped")
    return None


def _tilt_to_down(key: str, raw: str, notes: _Notes) -> float | None:
    """``camera:tilt`` (negative = down) -> degrees below horizontal, with warnings."""
    try:
        tilt, is_range = _parse_degrees_or_range(raw, "camera:tilt")
    except InputError as err:
        notes.add(key, raw, "unparsed_tilt", str(err))
        return None
    if not -90.0 <= tilt <= 90.0:
        notes.add(key, raw, "out_of_range_tilt", f"camera:tilt {tilt:g}° is outside -90..90")
        return None
    if is_range:
        notes.add(key, raw, "tilt_range_midpoint", f"range read as its midpoint {tilt:g}°")
    return -tilt + 0.0  # + 0.0 turns -0.0 into 0.0


# --------------------------------------------------------------------------------------------
# Heights
# --------------------------------------------------------------------------------------------


def _length(text: str) -> float:
    """One length with an optional unit, in metres."""
    if m := _FEET_INCHES_RE.match(text):
        return int(m.group(1)) * 0.3048 + float(m.group(2)) * 0.0254
    m = _LENGTH_RE.match(text)
    if not m or m.group(2) not in HEIGHT_UNITS:
        raise InputError(f"cannot read {text[:80]!r} as a height; give metres such as 5 or 5 m")
    return _number(m.group(1)) * HEIGHT_UNITS[m.group(2)]


def _parse_height(value: str) -> tuple[float, list[tuple[str, str]]]:
    """Metres plus repair notes (approximate marks, ranges)."""
    notes: list[tuple[str, str]] = []
    text = _clean(value).lower()
    if (m := _APPROX_RE.match(text)) and m.end() > 0:
        notes.append(("approximate_height", "marked approximate"))
        text = text[m.end():]
    text = re.sub(r"(?<=\d),(?=\d)", ".", text)  # 5,5 -> 5.5 (a decimal comma in lengths)
    parts = re.split(r"\s*-\s*(?=\d)", text) if not text.startswith("-") else [text]
    if len(parts) == 2:
        low, high = _length(parts[0]), _length(parts[1])
        notes.append(("height_range_midpoint", f"range read as {(low + high) / 2:g} m"))
        return (low + high) / 2.0, notes
    return _length(text), notes


def parse_height(value: str) -> float:
    """Parse a mounting height into metres.

    Parameters
    ----------
    value
        ``5``, ``5 m``, ``5m``, ``5,5``, ``300 cm``, ``16 ft``, ``16'``, ``5'6"``, ``~5``,
        ``3-5`` (midpoint).

    Returns
    -------
    float
        Metres, as written (no plausibility check; :func:`normalise_tags` drops values outside
        0.3–300 m with a warning).

    Raises
    ------
    InputError
        If the value is not a length.
    """
    return _parse_height(value)[0]


# --------------------------------------------------------------------------------------------
# Vocabularies
# --------------------------------------------------------------------------------------------


def _vocab_key(part: str) -> str:
    return re.sub(r"[\s_]+", "_", part.strip().lower()).strip("_")


def _lookup(key: str, raw: str, table: Vocabulary, field: str, notes: _Notes) -> list[str]:
    """Map every ``;``-separated part of ``raw`` through ``table``; warn on the rest."""
    parts = [_vocab_key(p) for p in re.split(r"[;,/]", raw)]
    found: list[str] = []
    for part in (p for p in parts if p):
        canonical, note = table.get(part, (None, "not in the vocabulary"))
        if canonical is None:
            kind = f"unusable_{field}" if part in table else f"unknown_{field}"
            notes.add(key, raw, kind, f"{key}={part!r} dropped: {note}")
        else:
            if note:
                notes.add(key, raw, f"nonstandard_{field}",
                          f"{key}={part!r} read as {canonical!r} ({note})")
            if canonical not in found:
                found.append(canonical)
    if not any(parts):
        notes.add(key, raw, "empty_value", f"{key} is empty")
    return found


def _single(key: str, raw: str, table: Vocabulary, field: str, notes: _Notes) -> str | None:
    """Like :func:`_lookup` but for a single-valued field: the first usable value."""
    found = _lookup(key, raw, table, field, notes)
    if len(found) > 1:
        notes.add(key, raw, "multiple_values", f"{key} has several values; {found[0]!r} used")
    return found[0] if found else None


def parse_camera_type(value: str) -> str:
    """Map a ``camera:type`` spelling to ``fixed``, ``dome``, ``panning`` or ``panorama``.

    Case and known typos are forgiven (``Dome``, ``dom``, ``ptz``, ``360``); a list gives its
    first usable value.

    Raises
    ------
    InputError
        If the value is not a known camera type.
    """
    notes = _Notes()
    found = _lookup("camera:type", value, CAMERA_TYPES, "camera_type", notes)
    if not found:
        raise InputError(
            f"unknown camera:type {value[:80]!r}; expected one of fixed, dome, panning, panorama"
        )
    return found[0]


# --------------------------------------------------------------------------------------------
# Field by field
# --------------------------------------------------------------------------------------------


def _present(tags: Mapping[str, object], keys: Iterable[str]) -> list[tuple[str, str]]:
    """(key, value as text) for the keys present, in precedence order."""
    return [(k, str(tags[k])) for k in keys if tags.get(k) is not None]


def _placeholder(key: str, raw: str, notes: _Notes) -> bool:
    """Warn and return True when ``raw`` is empty or a placeholder such as ``yes``."""
    text = raw.strip().lower()
    if not text:
        notes.add(key, raw, "empty_value", f"{key} is empty")
        return True
    if text in PLACEHOLDERS:
        notes.add(key, raw, "placeholder_value", f"{key}={raw!r} says nothing usable; dropped")
        return True
    return False


def _views(tags: Mapping[str, object], notes: _Notes) -> tuple[View, ...]:
    """Directions from the first readable key; the others are checked for conflicts."""
    chosen: tuple[View, ...] = ()
    chosen_key = ""
    for key, raw in _present(tags, DIRECTION_KEYS):
        if _placeholder(key, raw, notes):
            continue
        try:
            views, repairs = _parse_direction(raw)
        except _DirectionError as err:
            notes.add(key, raw, err.kind, str(err))
            continue
        for kind, message in repairs:
            notes.add(key, raw, kind, message)
        if not chosen:
            chosen, chosen_key = views, key
        elif views != chosen:
            notes.add(key, raw, "conflicting_direction",
                      f"{key}={raw!r} disagrees with {chosen_key}; {chosen_key} used")
    return chosen


def _tilt_down(tags: Mapping[str, object], notes: _Notes) -> float | None:
    """Degrees below horizontal from camera:angle, else camera:tilt (negated)."""
    found: list[tuple[str, float]] = []
    for keys, convert in ((ANGLE_KEYS, _angle_to_down), (TILT_KEYS, _tilt_to_down)):
        for key, raw in _present(tags, keys):
            if _placeholder(key, raw, notes):
                continue
            value = convert(key, raw, notes)
            if value is not None:
                found.append((key, value))
    for key, value in found[1:]:
        if abs(value - found[0][1]) > 1e-9:
            notes.add(key, str(tags[key]), "conflicting_tilt",
                      f"{key} gives {value:g}° down, {found[0][0]} gives {found[0][1]:g}°; "
                      f"{found[0][0]} used")
    return found[0][1] if found else None


def _height(tags: Mapping[str, object], notes: _Notes) -> float | None:
    """Mounting height in metres from the first plausible height key."""
    chosen: tuple[str, float] | None = None
    for key, raw in _present(tags, HEIGHT_KEYS):
        if _placeholder(key, raw, notes):
            continue
        try:
            metres, repairs = _parse_height(raw)
        except InputError as err:
            notes.add(key, raw, "unparsed_height", str(err))
            continue
        if not HEIGHT_MIN_M <= metres <= HEIGHT_MAX_M:
            notes.add(key, raw, "out_of_range_height",
                      f"{metres:g} m is outside {HEIGHT_MIN_M:g}–{HEIGHT_MAX_M:g} m; dropped")
            continue
        for kind, message in repairs:
            notes.add(key, raw, kind, message)
        if metres > HEIGHT_SUSPECT_ABOVE_M:
            notes.add(key, raw, "suspicious_height",
                      f"{metres:g} m kept, but may be a roof or terrain elevation")
        if chosen is None:
            chosen = (key, metres)
        elif abs(metres - chosen[1]) > 1e-9:
            notes.add(key, raw, "conflicting_height",
                      f"{key} gives {metres:g} m, {chosen[0]} gives {chosen[1]:g} m; "
                      f"{chosen[0]} used")
    return chosen[1] if chosen else None


def _text(tags: Mapping[str, object], keys: Iterable[str], notes: _Notes) -> str | None:
    """First non-placeholder free-text value among ``keys``."""
    for key, raw in _present(tags, keys):
        if not _placeholder(key, raw, notes):
            return raw.strip()
    return None


def _device_type(tags: Mapping[str, object], area_raw: str, notes: _Notes) -> str:
    """Device type from highway / surveillance:type / surveillance hints."""
    if str(tags.get("highway", "")).strip().lower() == "speed_camera":
        return "speed_camera"
    area_parts = {_vocab_key(p) for p in re.split(r"[;,/]", area_raw)}
    if "fake" in area_parts:
        notes.add("surveillance", area_raw, "fake_device", "surveillance=fake: typed as other")
        return "other"
    raw = tags.get("surveillance:type")
    if raw is None or not str(raw).strip():
        if raw is not None:
            notes.add("surveillance:type", "", "empty_value", "surveillance:type is empty")
        base = None
    else:
        base = _single("surveillance:type", str(raw), DEVICE_TYPES, "device_type", notes)
        if base is None:
            return "other"
    if base in (None, "camera") and area_parts & ENFORCEMENT_AREAS:
        return "speed_camera"
    if base is None:
        notes.add("surveillance:type", "", "default_type_camera",
                  "no surveillance:type: camera assumed (the OSM default)")
        return "camera"
    return base


def _vocab_field(
    tags: Mapping[str, object], keys: Iterable[str], table: Vocabulary, field: str, notes: _Notes
) -> str | None:
    """A single-valued vocabulary field from the first key that yields a value."""
    for key, raw in _present(tags, keys):
        value = _single(key, raw, table, field, notes)
        if value is not None:
            return value
    return None


def _mount(tags: Mapping[str, object], notes: _Notes) -> str | None:
    """camera:mount, else surveillance:mount, else highway=street_lamp on the same node."""
    mount = _vocab_field(tags, MOUNT_KEYS, MOUNTS, "mount", notes)
    if mount is None and str(tags.get("highway", "")).strip().lower() == "street_lamp":
        return "street_lamp"
    return mount


def _zone(tags: Mapping[str, object], notes: _Notes) -> str | None:
    """surveillance:zone: every known part, ``;``-joined in the order given."""
    raw = tags.get("surveillance:zone")
    if raw is None:
        return None
    found = _lookup("surveillance:zone", str(raw), ZONES, "zone", notes)
    return ";".join(found) if found else None


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def normalise_tags(tags: Mapping[str, str]) -> DeviceTags:
    """Normalise the OSM tags of one surveillance device.

    Parameters
    ----------
    tags
        OSM key -> value. Non-string values (an ``id`` integer in a GeoJSON export) are read
        through ``str``; ``None`` counts as absent.

    Returns
    -------
    DeviceTags
        Every field normalised through the tables of this module, with one
        :class:`TagWarning` per repair, assumption, conflict or dropped value. Never raises on
        string input.
    """
    notes = _Notes()
    area_raw = str(tags.get("surveillance", "") or "")
    area = (_single("surveillance", area_raw, AREAS, "area", notes)
            if tags.get("surveillance") is not None else None)
    return DeviceTags(
        device_type=_device_type(tags, area_raw, notes),
        area=area,
        zone=_zone(tags, notes),
        mount=_mount(tags, notes),
        camera_type=_vocab_field(tags, ("camera:type",), CAMERA_TYPES, "camera_type", notes),
        views=_views(tags, notes),
        tilt_down_deg=_tilt_down(tags, notes),
        height_m=_height(tags, notes),
        operator=_text(tags, OPERATOR_KEYS, notes),
        manufacturer=_text(tags, MANUFACTURER_KEYS, notes),
        model=_text(tags, MODEL_KEYS, notes),
        warnings=tuple(notes.items),
    )


def _classify(key: str, warnings: Iterable[TagWarning]) -> str:
    """``clean``, ``warned`` (understood with a warning) or ``dropped`` for one present key."""
    effects = {w.effect for w in warnings if w.key == key}
    if "dropped" in effects:
        return "dropped"
    return "warned" if effects else "clean"


def coverage_report(records: Iterable[Mapping[str, str]]) -> dict[str, dict[str, float]]:
    """How many direction / angle / tilt / height values are understood.

    Parameters
    ----------
    records
        Tag mappings (one per device).

    Returns
    -------
    dict
        Per family (``direction``, ``angle``, ``tilt``, ``height``): ``present`` (key
        occurrences), ``clean`` (understood as written), ``warned`` (understood after a repair,
        or readable but overruled by a key of higher precedence), ``dropped`` (unusable, always
        with a warning), ``share_understood`` = (clean + warned) / present and ``share_clean``
        (``nan`` when nothing is present).
    """
    counts = {fam: {"present": 0, "clean": 0, "warned": 0, "dropped": 0}
              for fam in COVERAGE_FAMILIES}
    for tags in records:
        warnings = normalise_tags(tags).warnings
        for family, keys in COVERAGE_FAMILIES.items():
            for key, _raw in _present(tags, keys):
                counts[family]["present"] += 1
                counts[family][_classify(key, warnings)] += 1
    report: dict[str, dict[str, float]] = {}
    for family, c in counts.items():
        n = c["present"]
        report[family] = {
            **c,
            "share_understood": (c["clean"] + c["warned"]) / n if n else math.nan,
            "share_clean": c["clean"] / n if n else math.nan,
        }
    return report
