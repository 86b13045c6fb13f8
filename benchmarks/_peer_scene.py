"""The grid cities of ``benchmarks/peer.py`` and the files each side reads.

A plain grid: square blocks of ``BLOCK_M`` between streets ``STREET_M`` wide; each block holds a
6 × 6 grid of 16 m lots, a lot built with probability ``BUILT_SHARE`` (one rectangle inset
1–3 m from each lot edge, so no building touches a street or a neighbour). Cameras stand at
uniformly random points of the street area (at least 2 m from the kerb), with a uniformly random
direction, a 60° field of view and a 50 m range — the scene of the issue's table.

Coordinates are metres in the UTM zone of the anchor (the CRS survatlas picks for the store, and
what osmnx projects to), written as lon/lat for both sides:

* survatlas: an OSM extract (buildings and streets, via :func:`survatlas.synth.osmfile.write_osm`)
  and a field camera list (CSV with ``camera:direction``, ``fov_deg``, ``range_m``);
* the peer: an osmnx-style projected graph pickle (a networkx ``MultiDiGraph`` with
  ``graph["crs"]``, node ``x``/``y``, edge ``length``/``geometry``; one edge per street segment),
  cameras as GeoJSON with ``camera:direction`` and buildings as GeoJSON polygons.
"""

from __future__ import annotations

import csv
import gzip
import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from pyproj import CRS, Transformer

from survatlas import geo
from survatlas.synth.osmfile import write_osm

BLOCK_M = 100.0
STREET_M = 20.0
LOT_M = 16.0
LOTS_PER_SIDE = 6
BUILT_SHARE = 0.74
RANGE_M = 50.0
FOV_DEG = 60.0
KERB_CLEARANCE_M = 2.0
ANCHOR = (13.40, 52.52)  # lon, lat of the city's south-west corner (Berlin)


@dataclass(frozen=True)
class Scene:
    """A grid city in metres of ``crs``."""

    size_km: float
    crs: CRS
    buildings: np.ndarray  # (n, 5, 2) closed rings
    streets: np.ndarray  # (m, 2, 2) segments between crossings
    cam_xy: np.ndarray  # (k, 2)
    cam_dir: np.ndarray  # (k,) compass degrees

    def to_lonlat(self, xy: np.ndarray) -> np.ndarray:
        tr = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        lon, lat = tr.transform(xy[..., 0], xy[..., 1])
        return np.stack([lon, lat], axis=-1)


def grid_scene(size_km: float, cameras: int, seed: int = 1) -> Scene:
    """The grid city of side ``size_km`` with ``cameras`` cameras (same arguments, same city)."""
    rng = np.random.default_rng(seed)
    crs = geo.local_crs(*ANCHOR)
    x0, y0 = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(*ANCHOR)
    pitch = BLOCK_M + STREET_M
    n = max(1, round(size_km * 1000 / pitch))
    lines = np.arange(n + 1) * pitch  # street centre lines, both axes
    # lots: block origin + lot offset; the 6 lots span 96 m of the 100 m block
    margin = (BLOCK_M - LOTS_PER_SIDE * LOT_M) / 2
    lot = margin + np.arange(LOTS_PER_SIDE) * LOT_M
    bx = (lines[:-1] + STREET_M / 2)[:, None] + lot[None, :]
    lx, ly = np.meshgrid(bx.ravel(), bx.ravel(), indexing="ij")
    lx, ly = lx.ravel(), ly.ravel()
    keep = rng.random(lx.size) < BUILT_SHARE
    lx, ly = lx[keep], ly[keep]
    inset = rng.uniform(1.0, 3.0, (lx.size, 4))
    xa, xb = lx + inset[:, 0], lx + LOT_M - inset[:, 1]
    ya, yb = ly + inset[:, 2], ly + LOT_M - inset[:, 3]
    rings = np.stack([np.column_stack([xa, xb, xb, xa, xa]),
                      np.column_stack([ya, ya, yb, yb, ya])], axis=-1)
    # streets: every block side between two crossings, both axes
    a = np.column_stack([np.repeat(lines, n), np.tile(lines[:-1], n + 1)])
    b = np.column_stack([np.repeat(lines, n), np.tile(lines[1:], n + 1)])
    vertical = np.stack([a, b], axis=1)
    streets = np.concatenate([vertical, vertical[:, :, ::-1]])
    # cameras: a random street, a random point along it, a random offset across it
    seg = rng.integers(0, streets.size // 4, cameras)
    t = rng.random(cameras)
    p, q = streets[seg, 0], streets[seg, 1]
    along = p + (q - p) * t[:, None]
    half = STREET_M / 2 - KERB_CLEARANCE_M
    off = rng.uniform(-half, half, cameras)
    normal = np.column_stack([-(q - p)[:, 1], (q - p)[:, 0]]) / pitch
    cam = along + normal * off[:, None]
    direction = np.round(rng.uniform(0.0, 360.0, cameras), 1)
    shift = np.array([x0, y0])
    return Scene(size_km, crs, rings + shift, streets + shift, cam + shift, direction)


def write_survatlas_inputs(scene: Scene, folder: Path) -> tuple[Path, Path]:
    """The OSM extract (buildings, streets) and the field camera list survatlas imports."""
    osm = write_osm(folder / "city.osm.pbf", buildings=scene.to_lonlat(scene.buildings[:, :-1]),
                    streets=list(scene.to_lonlat(scene.streets)))
    cams = folder / "cameras.csv"
    lonlat = scene.to_lonlat(scene.cam_xy)
    with cams.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["longitude", "latitude", "surveillance:type", "camera:type",
                      "camera:direction", "fov_deg", "range_m"])
        for (lon, lat), d in zip(lonlat.tolist(), scene.cam_dir.tolist(), strict=True):
            out.writerow([f"{lon:.8f}", f"{lat:.8f}", "camera", "fixed", f"{d:g}", f"{FOV_DEG:g}",
                          f"{RANGE_M:g}"])
    return osm, cams


def write_peer_inputs(scene: Scene, folder: Path) -> tuple[Path, Path, Path]:
    """The osmnx-style graph pickle, cameras GeoJSON and buildings GeoJSON the peer reads."""
    import networkx as nx

    graph = nx.MultiDiGraph(crs=scene.crs.to_string())
    keys = np.round(scene.streets.reshape(-1, 2), 3)
    uniq, node_of = np.unique(keys, axis=0, return_inverse=True)
    for i, (x, y) in enumerate(uniq.tolist()):
        graph.add_node(i, x=x, y=y)
    ends = node_of.reshape(-1, 2)
    lines = shapely.linestrings(scene.streets)
    for (u, v), line in zip(ends.tolist(), lines, strict=True):
        graph.add_edge(u, v, length=float(line.length), geometry=line)
    graph_path = folder / "graph_walk.pkl.gz"
    with gzip.open(graph_path, "wb") as fh:
        pickle.dump(graph, fh, protocol=pickle.HIGHEST_PROTOCOL)
    lonlat = scene.to_lonlat(scene.cam_xy)
    cams = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"osm_id": i, "camera:type": "fixed", "camera:direction": f"{d:g}"}}
        for i, ((lon, lat), d) in enumerate(zip(lonlat.tolist(), scene.cam_dir.tolist(),
                                                strict=True))]}
    cams_path = folder / "cameras.geojson"
    cams_path.write_text(json.dumps(cams))
    rings = scene.to_lonlat(scene.buildings)
    buildings = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
         "properties": {}} for ring in rings.tolist()]}
    buildings_path = folder / "buildings.geojson"
    buildings_path.write_text(json.dumps(buildings))
    return graph_path, cams_path, buildings_path
