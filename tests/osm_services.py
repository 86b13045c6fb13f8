"""Local stand-ins for Overpass and Nominatim, answering from an OSM file (for fetch tests).

:class:`MiniOverpass` evaluates the queries survatlas writes (``node|way|relation|nwr`` with
one tag filter ``["k"]``, ``["k"="v"]`` or ``["k"~"^(a|b)$"]`` and a box, then ``(._;>;)``)
over the objects of an OSM file read with pyosmium, and answers Overpass JSON with metadata.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import osmium

_STATEMENT = re.compile(
    r'(node|way|relation|nwr)\["([^"]+)"(?:(=|~)"([^"]+)")?\]'
    r"\(([-\d.]+),([-\d.]+),([-\d.]+),([-\d.]+)\);"
)


def read_elements(path: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """Every object of an OSM file as an Overpass JSON element (with metadata)."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for obj in osmium.FileProcessor(str(path)):
        meta = {"id": obj.id, "version": obj.version,
                "timestamp": obj.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "changeset": obj.changeset, "uid": obj.uid, "user": obj.user}
        tags = {t.k: t.v for t in obj.tags}
        if tags:
            meta["tags"] = tags
        if obj.is_node():
            out[("node", obj.id)] = {"type": "node", **meta, "lat": obj.location.lat,
                                     "lon": obj.location.lon}
        elif obj.is_way():
            out[("way", obj.id)] = {"type": "way", **meta, "nodes": [n.ref for n in obj.nodes]}
        else:
            members = [{"type": {"n": "node", "w": "way", "r": "relation"}[m.type], "ref": m.ref,
                        "role": m.role} for m in obj.members]
            out[("relation", obj.id)] = {"type": "relation", **meta, "members": members}
    return out


class MiniOverpass:
    """Answer survatlas's Overpass queries from the elements of one file."""

    def __init__(self, elements: dict[tuple[str, int], dict[str, Any]], osm_base: str) -> None:
        self.elements, self.osm_base = elements, osm_base
        self.queries: list[str] = []

    def answer(self, query: str) -> bytes:
        """The Overpass JSON answer to ``query``."""
        self.queries.append(query)
        found: set[tuple[str, int]] = set()
        for kind, key, op, value, s, w, n, e in _STATEMENT.findall(query):
            box = (float(w), float(s), float(e), float(n))
            types = ("node", "way", "relation") if kind == "nwr" else (kind,)
            for (t, i), el in self.elements.items():
                if t in types and _matches(el, key, op, value) and self._inside(el, box):
                    found.add((t, i))
        if "(._;>;)" in query:
            found |= self._down(found)
        els = [self.elements[k] for k in sorted(found, key=_order)]
        return json.dumps({"version": 0.6, "generator": "mini-overpass",
                           "osm3s": {"timestamp_osm_base": self.osm_base},
                           "elements": els}).encode()

    def _inside(self, el: dict[str, Any], box: tuple[float, ...], depth: int = 0) -> bool:
        if el["type"] == "node":
            return box[0] <= el["lon"] <= box[2] and box[1] <= el["lat"] <= box[3]
        if el["type"] == "way":
            return any(("node", r) in self.elements
                       and self._inside(self.elements[("node", r)], box) for r in el["nodes"])
        if depth > 2:
            return False
        return any((m["type"], m["ref"]) in self.elements
                   and self._inside(self.elements[(m["type"], m["ref"])], box, depth + 1)
                   for m in el["members"])

    def _down(self, keys: set[tuple[str, int]]) -> set[tuple[str, int]]:
        out: set[tuple[str, int]] = set()
        todo = list(keys)
        while todo:
            t, i = todo.pop()
            el = self.elements[(t, i)]
            refs = ([("node", r) for r in el["nodes"]] if t == "way" else
                    [(m["type"], m["ref"]) for m in el["members"]] if t == "relation" else [])
            for ref in refs:
                if ref in self.elements and ref not in out and ref not in keys:
                    out.add(ref)
                    todo.append(ref)
        return out


def _matches(el: dict[str, Any], key: str, op: str, value: str) -> bool:
    tags = el.get("tags") or {}
    if key not in tags:
        return False
    if op == "=":
        return tags[key] == value
    if op == "~":
        return re.search(value, tags[key]) is not None
    return True


def _order(key: tuple[str, int]) -> tuple[int, int]:
    return ({"node": 0, "way": 1, "relation": 2}[key[0]], key[1])
