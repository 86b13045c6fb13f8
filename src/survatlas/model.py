"""Vocabularies shared by every capability: device types, site categories, sensitivities.

The site-category table maps OSM tags to the categories of places where surveillance is reported
(schools, workplaces, airports, stations, markets, government buildings, borders, public space).
It is data, not code: edit the table to change the mapping. ``docs/data-model.md`` shows it.
"""

from __future__ import annotations

from collections.abc import Mapping

DEVICE_TYPES = ("camera", "alpr", "guard", "speed_camera", "gunshot_detector", "other")
SENSITIVITIES = ("public", "restricted", "confidential")
LAYERS = ("devices", "buildings", "streets", "sites")

#: category -> list of (key, values) rules; ``None`` as values means "any value but no".
SITE_RULES: dict[str, list[tuple[str, frozenset[str] | None]]] = {
    "education": [("amenity", frozenset({"school", "kindergarten", "college", "university"}))],
    "workplace": [
        ("office", None),
        ("landuse", frozenset({"industrial", "commercial"})),
        ("building", frozenset({"office", "industrial", "commercial"})),
        ("man_made", frozenset({"works"})),
    ],
    "airport": [("aeroway", frozenset({"aerodrome", "terminal"}))],
    "transport": [
        ("railway", frozenset({"station"})),
        ("public_transport", frozenset({"station"})),
        ("amenity", frozenset({"bus_station"})),
    ],
    "market": [("amenity", frozenset({"marketplace"})), ("shop", frozenset({"mall"}))],
    "government": [
        ("amenity", frozenset({"townhall", "police"})),
        ("office", frozenset({"government"})),
    ],
    "border": [("barrier", frozenset({"border_control"}))],
    "public_space": [("place", frozenset({"square"})), ("leisure", frozenset({"park"}))],
}
SITE_CATEGORIES = tuple(SITE_RULES)
_RULES_BY_KEY: dict[str, list[tuple[str, frozenset[str] | None]]] = {}
for _category, _rules in SITE_RULES.items():
    for _key, _values in _rules:
        _RULES_BY_KEY.setdefault(_key, []).append((_category, _values))
#: every key that site categories, buildings and the importer look at
SITE_KEYS = (*_RULES_BY_KEY, "area", "name")

#: highway values never imported as streets (not walkable or not built).
NON_STREET_HIGHWAYS = frozenset(
    {
        "motorway",
        "motorway_link",
        "construction",
        "proposed",
        "abandoned",
        "raceway",
        "bus_guideway",
        "razed",
        "planned",
        "disused",
        "no",
    }
)
#: highway values that are walkable unless tagged otherwise.
WALKABLE_HIGHWAYS = frozenset(
    {
        "footway",
        "path",
        "pedestrian",
        "steps",
        "living_street",
        "residential",
        "service",
        "unclassified",
        "tertiary",
        "tertiary_link",
        "secondary",
        "secondary_link",
        "primary",
        "primary_link",
        "track",
        "corridor",
        "crossing",
        "road",
        "bridleway",
        "cycleway",
        "trunk",
        "trunk_link",
        "elevator",
        "platform",
    }
)


def site_categories(tags: Mapping[str, str]) -> list[str]:
    """Categories of a site from its OSM tags (several are possible; none for most features).

    ``highway=pedestrian`` counts as public space only when it is an area (``area=yes``).
    """
    found = set()
    for key, rules in _RULES_BY_KEY.items():
        value = tags.get(key)
        if value is None:
            continue
        for category, values in rules:
            if (value != "no") if values is None else (value in values):
                found.add(category)
    if tags.get("highway") == "pedestrian" and tags.get("area") == "yes":
        found.add("public_space")
    return sorted(found, key=SITE_CATEGORIES.index)


def is_walkable(tags: Mapping[str, str]) -> bool:
    """Whether a highway way may be walked (``foot=no`` and private access exclude it)."""
    if tags.get("highway") not in WALKABLE_HIGHWAYS:
        return False
    foot = tags.get("foot")
    if foot in {"no", "private", "use_sidepath"}:
        return False
    if foot in {"yes", "designated", "permissive"}:
        return True
    return tags.get("access") not in {"no", "private"}


def is_obstacle(tags: Mapping[str, str]) -> bool:
    """Whether a building blocks the view at ground level (``building=roof`` does not)."""
    return tags.get("building", "no") not in {"no", "roof", "carport", "canopy"}
