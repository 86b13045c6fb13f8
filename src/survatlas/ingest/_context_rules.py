"""What of an OSM object is map context (water, green, rail, motorways, place names): the
rules both readers apply — the pyosmium pass of :func:`survatlas.ingest.context.read_context`
and the compiled reader (:mod:`survatlas.ingest._osmcompiled`), which reads the context in the
same pass as the devices, buildings and streets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: kind -> OSM key -> values kept (the value becomes the feature's class).
CONTEXT_CLASSES: dict[str, dict[str, frozenset[str]]] = {
    "water": {
        "natural": frozenset({"water", "bay", "strait", "wetland"}),
        "waterway": frozenset({"river", "canal", "stream", "riverbank", "dock"}),
        "landuse": frozenset({"reservoir", "basin"}),
    },
    "green": {
        "leisure": frozenset({"park", "garden", "nature_reserve", "golf_course", "pitch",
                              "playground", "recreation_ground", "dog_park"}),
        "landuse": frozenset({"grass", "forest", "meadow", "recreation_ground", "cemetery",
                              "village_green", "allotments", "orchard", "vineyard"}),
        "natural": frozenset({"wood", "scrub", "grassland", "heath", "beach"}),
    },
    "rail": {
        "railway": frozenset({"rail", "light_rail", "subway", "tram", "narrow_gauge",
                              "monorail", "funicular"}),
    },
    "road": {
        "highway": frozenset({"motorway", "motorway_link", "trunk", "trunk_link"}),
    },
    "place": {
        "place": frozenset({"city", "town", "village", "hamlet", "borough", "suburb", "quarter",
                            "neighbourhood", "island", "islet", "locality"}),
    },
}
PAIRS = sorted(
    (key, value)
    for classes in CONTEXT_CLASSES.values()
    for key, values in classes.items()
    for value in values
)
AREA_KEYS = ("natural", "waterway", "landuse", "leisure")
_LINE_KINDS = frozenset({"rail", "road"})
_LINEAR_WATER = frozenset({"river", "canal", "stream"})
#: tags kept with a feature besides its names
_KEPT = ("tunnel", "bridge", "layer", "service", "intermittent", "population")


@dataclass(frozen=True)
class ContextRow:
    """One context feature: origin (``osm:way/1``), kind, class, name, WKB and kept tags."""

    origin: str
    kind: str
    klass: str
    name: str | None
    geom: bytes
    tags: dict[str, str]


def _classify(tags: dict[str, str], *, area: bool) -> tuple[str, str] | None:
    for kind, classes in CONTEXT_CLASSES.items():
        if area and kind in _LINE_KINDS:
            continue
        for key, values in classes.items():
            value = tags.get(key)
            if value in values:
                if not area and kind in ("water", "green") and value not in _LINEAR_WATER:
                    continue  # the outline way of an area: the area carries it
                if kind == "place" and area:
                    continue  # place names are points
                return kind, value
    return None


def _kept(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k.startswith("name") or k in _KEPT}


def context_row(
    kind: str, osm_type: str, osm_id: int, geom: Any, tags: dict[str, str]
) -> ContextRow | None:
    """The context feature of a node (``kind`` ``"n"``), a way (``"w"``: its line of the nodes
    inside the extract) or an area (``"a"``; ``osm_type`` way or relation) with ``tags`` and the
    WKB ``geom`` (None: no valid geometry), or None when it is none."""
    if geom is None or (found := _classify(tags, area=kind == "a")) is None:
        return None
    name = tags.get("name")
    if kind == "n":
        if found[0] != "place" or not name:
            return None
        return ContextRow(f"osm:node/{osm_id}", *found, name, bytes(geom), _kept(tags))
    if kind == "w":
        if found[0] == "place":
            return None
        return ContextRow(f"osm:way/{osm_id}", *found, name, bytes(geom), _kept(tags))
    return ContextRow(f"osm:{osm_type}/{osm_id}:area", *found, name, bytes(geom), _kept(tags))
