"""Parsers of single OSM tag values (directions, angles, tilts, heights, camera types) and the records they produce."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from survatlas.errors import InputError
from survatlas.ingest._tag_tables import (
    _APPROX_RE,
    _DASHES,
    _DECIMAL_COMMA_RE,
    _DEGREES_RE,
    _FEET_INCHES_RE,
    _LENGTH_RE,
    _MAX_WARNING_VALUE,
    _NUMBER_RE,
    _RANGE_RE,
    CAMERA_TYPES,
    CARDINAL_WORDS,
    CARDINALS,
    DIRECTION_WRAP_LIMIT,
    GERMAN_CARDINALS,
    HEIGHT_UNITS,
    RELATIVE_DIRECTIONS,
    WARNING_KINDS,
    Vocabulary,
)

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


