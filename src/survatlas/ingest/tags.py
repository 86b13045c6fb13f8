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

from survatlas.errors import InputError
from survatlas.ingest._tag_tables import (
    ANGLE_KEYS,
    AREAS,
    CAMERA_TYPES,
    COVERAGE_FAMILIES,
    DEVICE_TYPES,
    DIRECTION_KEYS,
    ENFORCEMENT_AREAS,
    HEIGHT_KEYS,
    HEIGHT_MAX_M,
    HEIGHT_MIN_M,
    HEIGHT_SUSPECT_ABOVE_M,
    MANUFACTURER_KEYS,
    MODEL_KEYS,
    MOUNT_KEYS,
    MOUNTS,
    OPERATOR_KEYS,
    PLACEHOLDERS,
    TILT_KEYS,
    WARNING_KINDS,  # noqa: F401  (re-exported)
    ZONES,
    Vocabulary,
)
from survatlas.ingest._tag_values import (  # noqa: F401  (re-exported)
    DeviceTags,
    TagWarning,
    View,
    _angle_to_down,
    _DirectionError,
    _lookup,
    _Notes,
    _parse_direction,
    _parse_height,
    _single,
    _tilt_to_down,
    _vocab_key,
    parse_angle,
    parse_camera_type,
    parse_direction,
    parse_height,
    parse_tilt,
)

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
