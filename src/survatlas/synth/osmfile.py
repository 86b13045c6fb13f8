"""Write OSM files (.osm.pbf / .osm) from plain coordinate arrays — for synthetic cities.

Real OSM extracts come from OSM; this writer exists so tests and benchmarks can make extracts of
any size (a synthetic city of a million buildings) and import them through the same code path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import osmium
from osmium.osm.mutable import Node, Way

_TS = "2024-01-01T00:00:00Z"


def write_osm(
    path: str | Path,
    *,
    buildings: Sequence[np.ndarray] | np.ndarray = (),
    streets: Sequence[np.ndarray] = (),
    street_tags: Sequence[Mapping[str, str]] | None = None,
    cameras: np.ndarray | None = None,
    camera_tags: Sequence[Mapping[str, str]] | None = None,
    building_tags: Mapping[str, str] | None = None,
) -> Path:
    """Write an OSM file with buildings (closed ways), streets (ways) and camera nodes.

    Parameters
    ----------
    path
        Output file; the extension chooses the format (``.osm.pbf``, ``.osm``).
    buildings
        Outer rings in lon/lat, each an ``(k, 2)`` array (open: the writer closes it), or one
        ``(n, k, 2)`` array of equal-size rings.
    streets
        Polylines in lon/lat, each ``(k, 2)``. Vertices with identical coordinates share one node,
        so streets meet at intersections as in OSM.
    street_tags
        Tags per street (default ``highway=residential``).
    cameras
        ``(m, 2)`` lon/lat of ``man_made=surveillance`` nodes.
    camera_tags
        Extra tags per camera.
    building_tags
        Tags of every building (default ``building=yes``).
    """
    path = Path(path)
    if path.exists():
        path.unlink()
    next_id = 1
    with osmium.SimpleWriter(str(path)) as writer:
        street_nodes: dict[tuple[float, float], int] = {}
        street_refs = []
        for line in streets:
            refs = []
            for lon, lat in np.asarray(line, dtype=float):
                key = (round(lon, 7), round(lat, 7))
                if key not in street_nodes:
                    street_nodes[key] = next_id
                    writer.add_node(Node(id=next_id, version=1, timestamp=_TS, location=key))
                    next_id += 1
                refs.append(street_nodes[key])
            street_refs.append(refs)
        building_refs = []
        for ring in buildings:
            ring = np.asarray(ring, dtype=float)
            first = next_id
            for lon, lat in ring:
                writer.add_node(Node(id=next_id, version=1, timestamp=_TS, location=(lon, lat)))
                next_id += 1
            building_refs.append([*range(first, next_id), first])
        cams = np.empty((0, 2)) if cameras is None else np.asarray(cameras, dtype=float)
        for i, (lon, lat) in enumerate(cams):
            tags = {"man_made": "surveillance", "surveillance:type": "camera",
                    **(camera_tags[i] if camera_tags else {})}
            writer.add_node(Node(id=next_id, version=1, timestamp=_TS, location=(lon, lat), tags=tags))
            next_id += 1
        way_id = 1
        btags = dict(building_tags or {"building": "yes"})
        for refs in building_refs:
            writer.add_way(Way(id=way_id, version=1, timestamp=_TS, nodes=refs, tags=btags))
            way_id += 1
        for i, refs in enumerate(street_refs):
            tags = dict(street_tags[i]) if street_tags else {"highway": "residential"}
            writer.add_way(Way(id=way_id, version=1, timestamp=_TS, nodes=refs, tags=tags))
            way_id += 1
    return path


def grid_city_arrays(
    n_blocks: int, *, lon0: float = 24.9, lat0: float = 60.15, block_m: float = 60.0,
    cameras_per_block: float = 0.1, seed: int = 0,
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """A quick grid city in lon/lat: ``n_blocks``² blocks of 4 buildings, streets between blocks.

    Meant for the import benchmark and tests of the writer; :mod:`survatlas.synth` makes the
    realistic cities used for coverage.
    """
    rng = np.random.default_rng(seed)
    m_lat = 1 / 111_320.0
    m_lon = 1 / (111_320.0 * np.cos(np.radians(lat0)))
    street_w, half = 12.0, (block_m - 12.0) / 2
    ix, iy = np.meshgrid(np.arange(n_blocks), np.arange(n_blocks), indexing="ij")
    ox, oy = (ix.ravel() * block_m + street_w / 2), (iy.ravel() * block_m + street_w / 2)
    rings = []
    for dx, dy in ((0, 0), (half, 0), (0, half), (half, half)):
        x0 = ox + dx + rng.uniform(0.5, 2, ox.size)
        y0 = oy + dy + rng.uniform(0.5, 2, oy.size)
        x1 = ox + dx + half - rng.uniform(0.5, 2, ox.size)
        y1 = oy + dy + half - rng.uniform(0.5, 2, oy.size)
        rings.append(np.stack([np.stack([x0, y0], 1), np.stack([x1, y0], 1),
                               np.stack([x1, y1], 1), np.stack([x0, y1], 1)], 1))
    xy = np.concatenate(rings)
    lonlat = np.stack([lon0 + xy[..., 0] * m_lon, lat0 + xy[..., 1] * m_lat], -1)
    span = n_blocks * block_m
    streets = []
    for k in range(n_blocks + 1):
        pts = np.arange(n_blocks + 1) * block_m
        streets.append(np.stack([lon0 + pts * m_lon, np.full_like(pts, lat0 + k * block_m * m_lat)], 1))
        streets.append(np.stack([np.full_like(pts, lon0 + k * block_m * m_lon), lat0 + pts * m_lat], 1))
    n_cams = int(cameras_per_block * n_blocks * n_blocks)
    cams = np.stack([lon0 + rng.uniform(0, span, n_cams) * m_lon, lat0 + rng.uniform(0, span, n_cams) * m_lat], 1)
    return lonlat, streets, cams


def grid_extract(folder: str | Path, blocks: int) -> Path:
    """The ``grid-{blocks}.osm.pbf`` extract of :func:`grid_city_arrays` in ``folder``
    (written on first use, then reused): ``4 × blocks²`` buildings, 0.1 camera per block."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"grid-{blocks}.osm.pbf"
    if not path.exists():
        buildings, streets, cameras = grid_city_arrays(blocks, cameras_per_block=0.1)
        write_osm(path, buildings=buildings, streets=streets, cameras=cameras)
    return path


def write_history(path: str | Path, nodes: Sequence[Mapping], ways: Sequence[Mapping] = ()) -> Path:
    """Write an OSM full-history file (``.osh.pbf``) of node and way versions — for tests.

    Each node is a mapping with ``id``, ``version``, ``timestamp`` (ISO text), and, unless
    ``visible`` is False (a deletion), ``lon``, ``lat`` and ``tags``; each way ``id``,
    ``version``, ``timestamp``, ``nodes`` and ``tags``. Objects are sorted as OSM history files
    are (type, id, version).
    """
    path = Path(path)
    if path.exists():
        path.unlink()
    header = osmium.io.Header()
    header.has_multiple_object_versions = True
    with osmium.SimpleWriter(str(path), header=header) as writer:
        for n in sorted(nodes, key=lambda n: (n["id"], n["version"])):
            visible = n.get("visible", True)
            location = (n["lon"], n["lat"]) if visible else None
            writer.add_node(Node(id=n["id"], version=n["version"], timestamp=n["timestamp"],
                                 visible=visible, location=location, tags=n.get("tags", {})))
        for w in sorted(ways, key=lambda w: (w["id"], w["version"])):
            writer.add_way(Way(id=w["id"], version=w["version"], timestamp=w["timestamp"],
                               visible=w.get("visible", True), nodes=w.get("nodes", []),
                               tags=w.get("tags", {})))
    return path
