"""Device types, areas, zones, mounts, camera types and free-text fields."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from survatlas.errors import InputError
from survatlas.ingest.tags import WARNING_KINDS, coverage_report, normalise_tags, parse_camera_type


def warned(tags: dict[str, str]) -> set[tuple[str, str]]:
    return {(w.key, w.kind) for w in normalise_tags(tags).warnings}


# --- device type -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "device"),
    [
        ({"highway": "speed_camera"}, "speed_camera"),
        ({"surveillance:type": "camera"}, "camera"),
        ({"surveillance:type": "ALPR"}, "alpr"),
        ({"surveillance:type": "alpr"}, "alpr"),
        ({"surveillance:type": "ANPR"}, "alpr"),
        ({"surveillance:type": "guard"}, "guard"),
        ({"surveillance:type": "gunshot_detector"}, "gunshot_detector"),
        ({"surveillance:type": "camera", "surveillance": "red_light"}, "speed_camera"),
        ({"surveillance": "speed_camera"}, "speed_camera"),
        ({"surveillance:type": "ALPR", "surveillance": "red_light"}, "alpr"),
        ({"surveillance:type": "webcam"}, "camera"),
        ({"surveillance:type": "ALPR;speed_camera;red_light_camera"}, "alpr"),
        ({"surveillance:type": "parking"}, "other"),
        ({"surveillance:type": "banana"}, "other"),
        ({"surveillance": "fake", "surveillance:type": "camera"}, "other"),
    ],
)
def test_device_type(tags: dict[str, str], device: str) -> None:
    assert normalise_tags(tags).device_type == device


def test_missing_type_defaults_to_camera_with_a_recorded_assumption() -> None:
    rec = normalise_tags({"man_made": "surveillance"})
    assert rec.device_type == "camera"
    assert [w.kind for w in rec.warnings] == ["default_type_camera"]
    assert rec.warnings[0].effect == "assumed"


def test_unknown_type_is_warned() -> None:
    assert ("surveillance:type", "unknown_device_type") in warned({"surveillance:type": "banana"})
    assert ("surveillance:type", "multiple_values") in warned(
        {"surveillance:type": "ALPR;speed_camera"}
    )


# --- area, zone, mount, camera type ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "area", "kind"),
    [
        ("public", "public", None), ("Outdoor", "outdoor", None), ("indoor", "indoor", None),
        ("traffic", "traffic", None), ("red_light", "red_light", None),
        ("privat", "private", "nonstandard_area"), ("outdoor,_public", "outdoor",
                                                    "multiple_values"),
        ("indoor/outdoor", "indoor", "multiple_values"), ("yes", None, "unusable_area"),
        ("camera", None, "unusable_area"), ("moon_base", None, "unknown_area"),
    ],
)
def test_area(value: str, area: str | None, kind: str | None) -> None:
    tags = {"surveillance": value, "surveillance:type": "camera"}
    assert normalise_tags(tags).area == area
    assert {k for _, k in warned(tags)} == ({kind} if kind else set())


@pytest.mark.parametrize(
    ("value", "zone"),
    [("town", "town"), ("Station", "station"), ("ATM", "atm"), ("area;traffic", "area;traffic"),
     ("area,street", "area;street"), ("town;park;", "town;park"), ("Underpass", "tunnel"),
     ("Embassy of Syria", None), ("weather", None)],
)
def test_zone(value: str, zone: str | None) -> None:
    assert normalise_tags({"surveillance:zone": value}).zone == zone


def test_free_text_zone_is_warned_not_kept() -> None:
    assert ("surveillance:zone", "unknown_zone") in warned({"surveillance:zone": "LC.0.000_Forum"})


@pytest.mark.parametrize(
    ("tags", "mount"),
    [
        ({"camera:mount": "wall"}, "wall"), ({"camera:mount": "street_light"}, "street_lamp"),
        ({"camera:mount": "street_lamp"}, "street_lamp"), ({"camera:mount": "Bridge"}, "bridge"),
        ({"camera:mount": "ceilling"}, "ceiling"), ({"camera:mount": "wall/ceiling"}, "wall"),
        ({"camera:mount": "traffic_signal"}, "traffic_signals"),
        ({"surveillance:mount": "street_lamp"}, "street_lamp"),
        ({"highway": "street_lamp"}, "street_lamp"),
        ({"camera:mount": "dome"}, None), ({"camera:mount": "spaceship"}, None),
    ],
)
def test_mount(tags: dict[str, str], mount: str | None) -> None:
    assert normalise_tags(tags).mount == mount


@pytest.mark.parametrize(
    ("value", "expected"),
    [("fixed", "fixed"), ("Dome", "dome"), ("DOME", "dome"), ("dom", "dome"),
     ("panning", "panning"), ("ptz", "panning"), ("PTZ", "panning"), ("panorama", "panorama"),
     ("360", "panorama"), ("dome;fixed", "dome")],
)
def test_parse_camera_type(value: str, expected: str) -> None:
    assert parse_camera_type(value) == expected


@pytest.mark.parametrize("value", ["ALPR", "webcam", "doorbell", "banana", "", ";"])
def test_unknown_camera_type_raises_and_warns(value: str) -> None:
    with pytest.raises(InputError):
        parse_camera_type(value)
    rec = normalise_tags({"camera:type": value})
    assert rec.camera_type is None
    assert any(w.key == "camera:type" for w in rec.warnings)


def test_typo_in_camera_type_is_repaired_with_warning() -> None:
    assert ("camera:type", "nonstandard_camera_type") in warned({"camera:type": "dom"})
    assert not any(k == "camera:type" for k, _ in warned({"camera:type": "Dome"}))


# --- free text ------------------------------------------------------------------------------


def test_operator_manufacturer_model_fallbacks() -> None:
    rec = normalise_tags({"surveillance:operator": "NYPD", "surveillance:brand": "ShotSpotter",
                          "camera:model": "X1"})
    assert (rec.operator, rec.manufacturer, rec.model) == ("NYPD", "ShotSpotter", "X1")
    rec = normalise_tags({"operator": "MA 33", "manufacturer": "Flock Safety", "brand": "Aral"})
    assert (rec.operator, rec.manufacturer) == ("MA 33", "Flock Safety")


def test_placeholder_manufacturer_is_missing_with_warning() -> None:
    rec = normalise_tags({"manufacturer": "unknown", "brand": "Axis Communications"})
    assert rec.manufacturer == "Axis Communications"
    assert ("manufacturer", "placeholder_value") in {(w.key, w.kind) for w in rec.warnings}


# --- warnings and the coverage report --------------------------------------------------------


def test_warning_value_is_truncated() -> None:
    rec = normalise_tags({"camera:direction": "x" * 1000})
    assert rec.warnings and all(len(w.value) <= 200 for w in rec.warnings)


def test_non_string_values_are_read_as_text() -> None:
    rec = normalise_tags({"id": 123, "height": 4, "camera:direction": 90})  # type: ignore[dict-item]
    assert (rec.height_m, rec.views[0].direction_deg) == (4.0, 90.0)


def test_every_kind_has_a_known_effect() -> None:
    assert {effect for effect, _ in WARNING_KINDS.values()} == {
        "dropped", "used", "ignored", "assumed"
    }


def test_coverage_report_counts() -> None:
    records = [
        {"camera:direction": "90", "height": "5"},
        {"camera:direction": "-20", "direction": "340", "height": "tall"},
        {"camera:direction": "street", "camera:angle": "30"},
        {"direction": "0", "camera:direction": "180"},
    ]
    rep = coverage_report(records)
    d = rep["direction"]
    # 90 clean; -20 repaired; 340 agrees (clean); street dropped; 180 clean; 0 conflicts
    assert (d["present"], d["clean"], d["warned"], d["dropped"]) == (6, 3, 2, 1)
    assert d["share_understood"] == pytest.approx(5 / 6)
    assert (rep["height"]["clean"], rep["height"]["dropped"]) == (1, 1)
    assert rep["angle"]["share_clean"] == 1.0
    assert math.isnan(rep["tilt"]["share_understood"])


def test_docs_list_every_warning_kind() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "tags.md").read_text(encoding="utf-8")
    for kind in WARNING_KINDS:
        generic = kind.split("_", 1)[0] + "_<field>"
        assert f"`{kind}`" in doc or f"`{generic}`" in doc, kind
