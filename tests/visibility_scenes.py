"""Builders shared by the visibility tests: scenes, IoU, a small private OSM reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely


def iou(a: shapely.Geometry, b: shapely.Geometry) -> float:
    """Intersection over union of two areas (1.0 when both are empty)."""
    a, b = shapely.make_valid(a), shapely.make_valid(b)
    union = shapely.union(a, b).area
    return 1.0 if union == 0 else shapely.intersection(a, b).area / union


def ious(kernel_polys, oracle_polys) -> np.ndarray:
    """IoU of each pair."""
    return np.array([iou(a, b) for a, b in zip(kernel_polys, oracle_polys, strict=True)])


def read_osm_buildings(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Buildings (shapely, metres) and surveillance nodes (x, y metres) of an OSM extract.

    Projected to a local azimuthal-equidistant CRS centred on the buildings: fine at city scale.
    """
    import osmium
    from pyproj import Transformer

    fab = osmium.geom.WKBFactory()
    polys, cams = [], []
    proc = osmium.FileProcessor(str(path)).with_areas().with_filter(
        osmium.filter.KeyFilter("building", "man_made"))
    for obj in proc:
        if obj.is_area() and "building" in obj.tags:
            polys.append(shapely.from_wkb(fab.create_multipolygon(obj)))
        elif obj.is_node() and obj.tags.get("man_made") == "surveillance":
            cams.append((obj.location.lon, obj.location.lat))
    polys = np.array(polys, dtype=object)
    lon, lat = shapely.centroid(shapely.union_all(shapely.envelope(polys))).coords[0]
    tr = Transformer.from_crs("EPSG:4326", f"+proj=aeqd +lat_0={lat} +lon_0={lon} +units=m",
                              always_xy=True)
    polys = shapely.transform(polys, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    cams = np.array(cams, float).reshape(-1, 2)
    cx, cy = tr.transform(cams[:, 0], cams[:, 1])
    return polys, np.column_stack([cx, cy])


def street_points(polys: np.ndarray, n: int, rng: np.random.Generator,
                  clearance: float = 0.5) -> np.ndarray:
    """``n`` random points in the buildings' extent, at least ``clearance`` m from any building."""
    x0, y0, x1, y1 = shapely.total_bounds(polys)
    tree = shapely.STRtree(polys)
    out = []
    while len(out) < n:
        p = rng.uniform([x0, y0], [x1, y1], size=(4 * n, 2))
        pts = shapely.points(p)
        near = tree.query(pts, predicate="dwithin", distance=clearance)[0]
        free = np.setdiff1d(np.arange(p.shape[0]), near)
        out.extend(p[free].tolist())
    return np.array(out[:n])
