"""The vocabularies of OSM surveillance tags (documented in docs/tags.md): keys, device types, areas, zones, mounts, camera types, warning kinds."""

from __future__ import annotations

import re

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

