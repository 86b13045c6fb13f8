"""Vocabularies shared by every capability: device types, site categories, sensitivities.

The site-category table maps OSM tags to the categories of places where surveillance is reported
(schools, workplaces, airports, stations, markets, government buildings, borders, public space).
It is data, not code: edit the table to change the mapping. ``docs/data-model.md`` shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEVICE_TYPES = ("camera", "alpr", "guard", "speed_camera", "gunshot_detector", "other")
SENSITIVITIES = ("public", "restricted", "confidential")
LAYERS = ("devices", "buildings", "streets", "sites")
#: the map layers a GIS layer file can fill (``survatlas import layer --kind``)
LAYER_KINDS = LAYERS[1:]

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
#: ordinary roads, open to walking and cycling unless tagged otherwise.
_ROADS = frozenset(
    {
        "residential",
        "living_street",
        "service",
        "unclassified",
        "road",
        "track",
        "tertiary",
        "tertiary_link",
        "secondary",
        "secondary_link",
        "primary",
        "primary_link",
    }
)
#: highway values that are walkable unless tagged otherwise.
WALKABLE_HIGHWAYS = _ROADS | {
    "footway",
    "path",
    "pedestrian",
    "steps",
    "corridor",
    "crossing",
    "bridleway",
    "cycleway",
    "trunk",
    "trunk_link",
    "elevator",
    "platform",
}
#: highway values a bicycle may use unless tagged otherwise.
CYCLABLE_HIGHWAYS = _ROADS | {"cycleway", "path"}


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


#: ``access`` values that close a way unless the travel mode's own tag opens it.
CLOSED_ACCESS = frozenset({"no", "private"})
_OPEN = frozenset({"yes", "designated", "permissive"})
_CLOSED = frozenset({"no", "private", "use_sidepath"})


@dataclass(frozen=True)
class TravelRule:
    """Who may use a highway way on one travel mode.

    Parameters
    ----------
    tag
        The mode's access tag (``foot``, ``bicycle``).
    highways
        Highway values open to the mode unless tagged otherwise.
    allow, deny
        Values of ``tag`` that open / close a way.
    highway_first
        When true, a way whose highway is not in ``highways`` stays closed even if ``tag``
        allows it (walking); when false, ``tag`` overrides the highway (cycling).
    """

    tag: str
    highways: frozenset[str]
    allow: frozenset[str]
    deny: frozenset[str]
    highway_first: bool


#: The travel rules, one table for the importer (``walkable``) and the routing profiles.
TRAVEL_RULES = {
    "walk": TravelRule("foot", WALKABLE_HIGHWAYS, _OPEN, _CLOSED, highway_first=True),
    "bike": TravelRule(
        "bicycle", CYCLABLE_HIGHWAYS, _OPEN, _CLOSED | {"dismount"}, highway_first=False
    ),
}


def may_use(mode: str, tags: Mapping[str, str]) -> bool:
    """Whether a highway way may be used on ``mode`` (a key of :data:`TRAVEL_RULES`)."""
    rule = TRAVEL_RULES[mode]
    highway_open = tags.get("highway") in rule.highways
    if rule.highway_first and not highway_open:
        return False
    value = tags.get(rule.tag)
    if value in rule.deny:
        return False
    if value in rule.allow:
        return True
    return highway_open and tags.get("access") not in CLOSED_ACCESS


def is_walkable(tags: Mapping[str, str]) -> bool:
    """Whether a highway way may be walked (``foot=no`` and private access exclude it)."""
    return may_use("walk", tags)


def is_obstacle(tags: Mapping[str, str]) -> bool:
    """Whether a building blocks the view at ground level (``building=roof`` does not)."""
    return tags.get("building", "no") not in {"no", "roof", "carport", "canopy"}


# ---------------------------------------------------------------- provenance and supply chain
# (the schema's CHECK constraints are built from these tuples: add values, never remove them)

#: Kinds of source.
SOURCE_KINDS = (
    "osm",
    "field_observation",
    "photo",
    "document",
    "testimony",
    "dataset",
    "state_media",
    "news",
    "satellite_analysis",
    "trade_record",
    "procurement",
    "report",
)
#: Claim statuses, confidences.
CLAIM_STATUSES = ("verified", "unverified", "disputed", "superseded")
CONFIDENCES = ("high", "medium", "low")
#: Roles of API tokens.
ROLES = ("viewer", "editor", "admin")
#: Programme modalities, equipment origins, constraint kinds, trade-flow directions.
MODALITIES = (
    "video",
    "biometric",
    "device_software",
    "network",
    "physical_barrier",
    "human_informant_network",
    "other",
)
ORIGINS = ("imported", "domestic", "mixed", "unknown")
CONSTRAINT_KINDS = ("electricity", "connectivity", "compute", "other")
FLOWS = ("import", "export", "re-export", "re-import")
