"""Overpass queries for what survatlas imports, tiles of an area, and answers as an OSM file.

A fetched answer goes through the same import as a downloaded extract: its elements are
written, with their metadata, to an ``.osm.pbf`` (:func:`write_elements`) that
:func:`survatlas.ingest.osm.import_osm` reads.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from survatlas.errors import FetchError, InputError
from survatlas.vocab import SITE_RULES

#: what ``--what`` may ask for
WHATS = ("cameras", "buildings", "streets", "sites")
_M_PER_DEG = 111_320.0


def selectors(what: Sequence[str]) -> list[str]:
    """Overpass statements (with a ``{bbox}`` placeholder) for the layers in ``what``."""
    unknown = [w for w in what if w not in WHATS]
    if unknown:
        raise InputError(f"--what {','.join(unknown)}: unknown; use some of {','.join(WHATS)}")
    out: list[str] = []
    if "cameras" in what:
        out += ['node["man_made"="surveillance"]', 'node["highway"="speed_camera"]']
    if "buildings" in what:
        out += ['way["building"]', 'relation["building"]']
    if "streets" in what:
        out += ['way["highway"]']
    if "sites" in what:
        for rules in SITE_RULES.values():
            for key, values in rules:
                if values is None:
                    out.append(f'nwr["{key}"]')
                else:
                    out.append(f'nwr["{key}"~"^({"|".join(sorted(values))})$"]')
        out.append('nwr["highway"="pedestrian"]')  # public space when an area (area=yes)
    return list(dict.fromkeys(out))


def query(what: Sequence[str], bbox: Sequence[float], timeout_s: int = 180) -> str:
    """The Overpass QL query of one tile: the objects, then everything they are made of."""
    w, s, e, n = bbox
    box = f"({s:.7f},{w:.7f},{n:.7f},{e:.7f})"
    body = "\n".join(f"  {sel}{box};" for sel in selectors(what))
    return f"[out:json][timeout:{timeout_s}];\n(\n{body}\n);\n(._;>;);\nout meta;"


def area_km2(bbox: Sequence[float]) -> float:
    """Area of a W, S, E, N box in square kilometres (spherical approximation)."""
    w, s, e, n = bbox
    mid = math.radians((s + n) / 2)
    return (e - w) * _M_PER_DEG * math.cos(mid) * (n - s) * _M_PER_DEG / 1e6


def tiles(bbox: Sequence[float], tile_km2: float) -> list[tuple[float, float, float, float]]:
    """Split a box into a grid of equal tiles of at most ``tile_km2`` each (west→east, south→north)."""
    w, s, e, n = bbox
    count = max(1, math.ceil(area_km2(bbox) / tile_km2))
    nx = max(1, round(math.sqrt(count)))
    ny = max(1, math.ceil(count / nx))
    dx, dy = (e - w) / nx, (n - s) / ny
    return [
        (w + i * dx, s + j * dy, e if i == nx - 1 else w + (i + 1) * dx,
         n if j == ny - 1 else s + (j + 1) * dy)
        for j in range(ny) for i in range(nx)
    ]


def parse_answer(body: bytes, where: str) -> dict[str, Any]:
    """An Overpass JSON answer, checked: ``elements`` a list of well-formed OSM objects.

    Raises
    ------
    FetchError
        Not JSON, no ``elements``, an element without type/id/coordinates, or a runtime error
        Overpass reports in ``remark`` (a timeout, out of memory).
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        head = body[:60].decode("utf-8", "replace").replace("\n", " ")
        raise FetchError(f"{where} answered with malformed JSON ({exc.msg} at {exc.pos}; "
                         f"starts {head!r}); nothing was written") from None
    if not isinstance(data, dict) or not isinstance(data.get("elements"), list):
        raise FetchError(f"{where} answered JSON without an 'elements' list; is it an Overpass "
                         "API (…/api/interpreter)? nothing was written")
    remark = data.get("remark")
    if isinstance(remark, str) and "error" in remark.lower():
        raise FetchError(f"{where}: {remark.strip()[:200]}; try a smaller area (--bbox) or later")
    for el in data["elements"]:
        _check_element(el, where)
    return data


def _check_element(el: Any, where: str) -> None:
    ok = isinstance(el, dict) and el.get("type") in ("node", "way", "relation") and isinstance(
        el.get("id"), int)
    if ok and el["type"] == "node":
        ok = isinstance(el.get("lat"), int | float) and isinstance(el.get("lon"), int | float)
    elif ok and el["type"] == "way":
        ok = isinstance(el.get("nodes"), list)
    elif ok:
        ok = isinstance(el.get("members"), list)
    if not ok:
        raise FetchError(f"{where} answered a malformed element {str(el)[:80]}; "
                         "nothing was written")


def merge(answers: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The elements of several tiles' answers, each object once (its newest version)."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for data in answers:
        for el in data["elements"]:
            key = (el["type"], el["id"])
            old = out.get(key)
            if old is None or el.get("version", 0) > old.get("version", 0):
                out[key] = el
    order = {"node": 0, "way": 1, "relation": 2}
    return sorted(out.values(), key=lambda el: (order[el["type"]], el["id"]))


def write_elements(elements: Sequence[dict[str, Any]], path: Path,
                   bbox: Sequence[float] | None = None) -> Path:
    """Write Overpass elements (sorted: nodes, ways, relations) as an OSM file, metadata kept."""
    import osmium
    from osmium.osm.mutable import Node, Relation, Way

    header = osmium.io.Header()
    if bbox is not None:
        header.add_box(osmium.osm.Box(osmium.osm.Location(bbox[0], bbox[1]),
                                      osmium.osm.Location(bbox[2], bbox[3])))
    if path.exists():
        path.unlink()
    with osmium.SimpleWriter(str(path), header=header) as writer:
        for el in elements:
            meta = {"id": el["id"], "version": el.get("version", 1),
                    "timestamp": el.get("timestamp", "1970-01-01T00:00:00Z"),
                    "changeset": el.get("changeset", 0), "uid": el.get("uid", 0),
                    "user": el.get("user", ""), "tags": el.get("tags") or {}}
            if el["type"] == "node":
                writer.add_node(Node(location=(el["lon"], el["lat"]), **meta))
            elif el["type"] == "way":
                writer.add_way(Way(nodes=el["nodes"], **meta))
            else:
                members = [(m["type"][0], m["ref"], m.get("role", "")) for m in el["members"]]
                writer.add_relation(Relation(members=members, **meta))
    return path
