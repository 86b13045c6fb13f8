"""Direction, height, angle and tilt parsing, and the warnings normalise_tags records."""

from __future__ import annotations

import pytest

from survatlas.errors import InputError
from survatlas.ingest.tags import (
    View,
    normalise_tags,
    parse_angle,
    parse_direction,
    parse_height,
    parse_tilt,
)


def kinds(tags: dict[str, str], key: str | None = None) -> set[str]:
    """Warning kinds of a normalised record (optionally only those about ``key``)."""
    return {w.kind for w in normalise_tags(tags).warnings if key is None or w.key == key}


# --- directions: single values ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("180", 180.0), ("0", 0.0), ("020", 20.0), ("337.5", 337.5), ("180°", 180.0),
        ("45 °", 45.0), ("360", 0.0), (" 90 ", 90.0),
        ("N", 0.0), ("n", 0.0), ("NNE", 22.5), ("NE", 45.0), ("ene", 67.5), ("E", 90.0),
        ("SSE", 157.5), ("S", 180.0), ("SW", 225.0), ("wnw", 292.5), ("NNW", 337.5),
        ("north", 0.0), ("south", 180.0), ("North-East", 45.0), ("south west", 225.0),
    ],
)
def test_single_direction(value: str, expected: float) -> None:
    assert parse_direction(value) == (View(expected, None),)


@pytest.mark.parametrize(
    ("value", "centre", "fov"),
    [
        ("90-270", 180.0, 180.0),
        ("300-60", 0.0, 120.0),
        ("0-360", 180.0, 360.0),
        ("0 - 360", 180.0, 360.0),
        ("265-72", 348.5, 167.0),
        ("190-100", 325.0, 270.0),
        ("15-200", 107.5, 185.0),
        ("90°-180°", 135.0, 90.0),
        ("90–180", 135.0, 90.0),  # en dash
    ],
)
def test_direction_range_is_a_clockwise_sweep(value: str, centre: float, fov: float) -> None:
    assert parse_direction(value) == (View(centre, fov),)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("90;180", (View(90.0), View(180.0))),
        ("150;60;240", (View(150.0), View(60.0), View(240.0))),
        ("135, 225, 270", (View(135.0), View(225.0), View(270.0))),
        ("90;0-90", (View(90.0), View(45.0, 90.0))),
        ("N;SE", (View(0.0), View(135.0))),
        ("255;245;255", (View(255.0), View(245.0))),  # duplicates collapse
        ("360;0", (View(0.0),)),
        ("90;", (View(90.0),)),
    ],
)
def test_direction_lists(value: str, expected: tuple[View, ...]) -> None:
    assert parse_direction(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("-20", 340.0), ("-90", 270.0), ("-140", 220.0), ("390", 30.0), ("O", 90.0),
     ("SO", 135.0), ("22,5", 22.5)],
)
def test_repaired_directions_parse(value: str, expected: float) -> None:
    assert parse_direction(value) == (View(expected),)


@pytest.mark.parametrize(
    "value",
    ["", "   ", "yes", "unknown", "street", "Entrance", "1701", "-400", "forward", "nan",
     "inf", "1e5", "9" * 400, ";", "90-", "--", "°"],
)
def test_garbage_direction_raises_input_error(value: str) -> None:
    with pytest.raises(InputError):
        parse_direction(value)


# --- directions inside normalise_tags --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("-20", "negative_direction"), ("390", "direction_wrapped"), ("O", "german_cardinal"),
        ("180, 270", "comma_list"), ("22,5", "decimal_comma"), ("90-90", "degenerate_range"),
        ("90;street", "partly_unparsed_direction"),
    ],
)
def test_repaired_direction_is_used_and_warned(value: str, kind: str) -> None:
    rec = normalise_tags({"camera:direction": value})
    assert rec.views == parse_direction(value)
    assert kind in {w.kind for w in rec.warnings if w.key == "camera:direction"}


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("yes", "placeholder_value"), ("unknown", "placeholder_value"), ("", "empty_value"),
        ("street", "unparsed_direction"), ("1701", "out_of_range_direction"),
        ("forward", "relative_direction"),
    ],
)
def test_unusable_direction_stays_missing_with_warning(value: str, kind: str) -> None:
    rec = normalise_tags({"camera:direction": value})
    assert rec.views == ()
    assert kind in {w.kind for w in rec.warnings if w.key == "camera:direction"}


def test_missing_direction_stays_missing_even_for_domes() -> None:
    rec = normalise_tags({"surveillance:type": "camera", "camera:type": "dome"})
    assert rec.views == ()
    assert rec.warnings == ()


def test_direction_key_precedence_and_conflict() -> None:
    rec = normalise_tags({"camera:direction": "150;240", "direction": "60"})
    assert rec.views == (View(150.0), View(240.0))
    assert kinds({"camera:direction": "150;240", "direction": "60"}, "direction") == {
        "conflicting_direction"
    }


def test_agreeing_direction_keys_give_no_warning() -> None:
    assert kinds({"camera:direction": "360", "direction": "0", "surveillance:type": "camera"}) \
        == set()


def test_unreadable_first_key_falls_back_to_next() -> None:
    rec = normalise_tags({"camera:direction": "street", "direction": "NE"})
    assert rec.views == (View(45.0),)
    assert {(w.key, w.kind) for w in rec.warnings} >= {("camera:direction", "unparsed_direction")}


def test_surveillance_direction_is_last_fallback() -> None:
    assert normalise_tags({"surveillance:direction": "W"}).views == (View(270.0),)


# --- heights ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "metres"),
    [
        ("5", 5.0), ("5 m", 5.0), ("5m", 5.0), ("3.00", 3.0), ("5,5", 5.5), ("2 m", 2.0),
        ("300 cm", 3.0), ("16 ft", 16 * 0.3048), ("16ft", 16 * 0.3048), ("16'", 16 * 0.3048),
        ("16 feet", 16 * 0.3048), ("5'6\"", 5 * 0.3048 + 6 * 0.0254), ("4 metres", 4.0),
        ("~5", 5.0), ("ca. 5 m", 5.0), ("3-5", 4.0), ("3 m - 5 m", 4.0),
    ],
)
def test_parse_height(value: str, metres: float) -> None:
    assert parse_height(value) == pytest.approx(metres)


@pytest.mark.parametrize("value", ["tall", "", "m", "5 km", "five", "3-4-5", "1e3", "5;6"])
def test_garbage_height_raises(value: str) -> None:
    with pytest.raises(InputError):
        parse_height(value)


@pytest.mark.parametrize(
    ("value", "kind"),
    [("0.2", "out_of_range_height"), ("400", "out_of_range_height"),
     ("-3", "out_of_range_height"), ("tall", "unparsed_height"), ("yes", "placeholder_value")],
)
def test_implausible_height_is_dropped_with_warning(value: str, kind: str) -> None:
    rec = normalise_tags({"height": value})
    assert rec.height_m is None
    assert kind in {w.kind for w in rec.warnings if w.key == "height"}


def test_high_height_is_kept_but_flagged() -> None:
    rec = normalise_tags({"height": "90"})
    assert rec.height_m == 90.0
    assert "suspicious_height" in {w.kind for w in rec.warnings}


def test_height_range_and_approximation_are_flagged() -> None:
    assert kinds({"height": "3-5"}, "height") == {"height_range_midpoint"}
    assert kinds({"height": "~5"}, "height") == {"approximate_height"}


def test_height_fallbacks_and_conflict() -> None:
    assert normalise_tags({"camera:height": "3.5"}).height_m == 3.5
    assert normalise_tags({"est_height": "8"}).height_m == 8.0
    rec = normalise_tags({"height": "4", "camera:height": "6"})
    assert rec.height_m == 4.0
    assert {(w.key, w.kind) for w in rec.warnings} >= {("camera:height", "conflicting_height")}


def test_ele_is_not_a_mounting_height() -> None:
    assert normalise_tags({"ele": "2317"}).height_m is None


def test_implausible_first_height_falls_back() -> None:
    rec = normalise_tags({"height": "0.1", "camera:height": "3"})
    assert rec.height_m == 3.0


# --- camera:angle and camera:tilt --------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "down"),
    [
        ({"camera:angle": "30"}, 30.0), ({"camera:angle": "15°"}, 15.0),
        ({"camera:angle": "0"}, 0.0), ({"camera:angle": "90"}, 90.0),
        ({"camera:tilt": "-30"}, 30.0), ({"camera:tilt": "10"}, -10.0),
        ({"camera:tilt": "0"}, 0.0), ({"camera:tilt": "−45"}, 45.0),  # unicode minus
        ({"camera:tilt": "-90-20"}, 35.0), ({"camera:tilt": "-90--20"}, 55.0),
        ({"camera:angle": "30-60"}, 45.0),
    ],
)
def test_tilt_down_from_angle_or_tilt(tags: dict[str, str], down: float) -> None:
    assert normalise_tags(tags).tilt_down_deg == pytest.approx(down)


def test_tilt_ranges_are_midpoints_with_warning() -> None:
    assert kinds({"camera:tilt": "-90-20"}) == {"tilt_range_midpoint", "default_type_camera"}
    assert "angle_range_midpoint" in kinds({"camera:angle": "30-60"})


def test_parse_angle_and_tilt_helpers() -> None:
    assert parse_angle("45°") == 45.0
    assert parse_tilt("-90-20") == -35.0
    with pytest.raises(InputError):
        parse_tilt("down")


@pytest.mark.parametrize(
    ("tags", "kind"),
    [
        ({"camera:angle": "360"}, "out_of_range_angle"),
        ({"camera:angle": "95"}, "out_of_range_angle"),
        ({"camera:angle": "down"}, "unparsed_angle"),
        ({"camera:angle": ""}, "empty_value"),
        ({"camera:tilt": "100"}, "out_of_range_tilt"),
        ({"camera:tilt": "up"}, "unparsed_tilt"),
    ],
)
def test_unusable_angle_or_tilt(tags: dict[str, str], kind: str) -> None:
    rec = normalise_tags(tags)
    assert rec.tilt_down_deg is None
    assert kind in {w.kind for w in rec.warnings}


def test_negative_angle_is_read_in_tilt_convention() -> None:
    rec = normalise_tags({"camera:angle": "-80"})
    assert rec.tilt_down_deg == 80.0
    assert "angle_sign_assumed" in {w.kind for w in rec.warnings}


def test_angle_wins_over_tilt_and_conflict_is_warned() -> None:
    assert kinds({"camera:angle": "30", "camera:tilt": "-30"}, "camera:tilt") == set()
    rec = normalise_tags({"camera:angle": "30", "camera:tilt": "-40"})
    assert rec.tilt_down_deg == 30.0
    assert {(w.key, w.kind) for w in rec.warnings} >= {("camera:tilt", "conflicting_tilt")}
