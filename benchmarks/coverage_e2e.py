"""E1: end-to-end coverage of a synthetic city — survatlas vs the naive pipeline, side by side.

Ours: inputs → exact visibility (numba) → street metres in view (1-D intervals) → land in view
(count grid) → H3 summary, i.e. :func:`survatlas.coverage.analysis.analyse` for one scenario
(typical) and one level (detection). Naive: shapely "sector minus per-edge shadows" for every
camera (the test oracle) → global ``union_all`` of the regions → ``intersection`` with the
streets (street share) → difference with the buildings (land in view) → intersection with
every H3 cell. Both run on the same city in the same process; the naive pipeline is run on a
city small enough for it to finish, our pipeline on that city and on the full-size one.

Usage::

    python benchmarks/coverage_e2e.py                    # naive vs ours on 2.5 km², ours on 742 km²
    python benchmarks/coverage_e2e.py --size-km 10 --cameras 15000
    python benchmarks/coverage_e2e.py --from-store benchmarks/_work   # + load from a store
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import h3
import numpy as np
import shapely

from survatlas.coverage import oracle_visibility, prepare_obstacles
from survatlas.coverage.analysis import Settings, analyse
from survatlas.coverage.scale import compute_coverage, synthetic_inputs
from survatlas.ingest import import_osm
from survatlas.optics import camera_geometry, expand_views
from survatlas.store import Store
from survatlas.synth import synth_city
from survatlas.synth.osmfile import write_osm

#: 2-D like the peers it is compared with (PanoptiCity, kamerafrei), so ratios stay like-for-like
SETTINGS = Settings(scenarios=("typical",), levels=("detection",), cell_m=4.0, h3_resolution=10,
                    occlusion="2d")


def ours(inputs) -> tuple[float, dict]:
    start = time.perf_counter()
    summary = analyse(inputs, SETTINGS).summary
    fig = summary["by_scenario"]["typical"]["detection"]
    return time.perf_counter() - start, {"street_share": fig["street_in_view_share"],
                                         "land_share": fig["land_in_view_share"]}


def naive(inputs) -> tuple[float, dict]:
    start = time.perf_counter()
    rows = [dict(camera_type=r.camera_type, device_type=r.device_type,
                 views=[tuple(v) for v in r.views], height_m=r.height_m)
            for r in inputs.devices.itertuples()]
    cam, direction, fov, radius = expand_views([camera_geometry(r, "typical") for r in rows],
                                               "detection")
    obstacles = prepare_obstacles(inputs.buildings)
    regions = oracle_visibility(obstacles, inputs.cam_x[cam], inputs.cam_y[cam], direction, fov,
                                radius)
    seen = shapely.union_all(regions)
    street_share = float(shapely.length(shapely.intersection(inputs.streets, seen)).sum()
                         / shapely.length(inputs.streets).sum())
    frame = shapely.box(*inputs.bounds)
    buildings = shapely.union_all(inputs.buildings)
    land = shapely.difference(frame, buildings)
    seen_land = shapely.intersection(seen, land)
    inv = inputs.crs  # H3 cells of the frame, each intersected with the union
    from pyproj import Transformer
    to_ll = Transformer.from_crs(inv, "EPSG:4326", always_xy=True)
    to_m = Transformer.from_crs("EPSG:4326", inv, always_xy=True)
    w, s = to_ll.transform(inputs.bounds[0], inputs.bounds[1])
    e, n = to_ll.transform(inputs.bounds[2], inputs.bounds[3])
    cells = h3.geo_to_cells(h3.LatLngPoly([(s, w), (s, e), (n, e), (n, w)]), 10)
    for cell in cells:
        ring = np.array([to_m.transform(lon, lat) for lat, lon in h3.cell_to_boundary(cell)])
        shapely.area(shapely.intersection(shapely.Polygon(ring), seen_land))
    return time.perf_counter() - start, {"street_share": street_share,
                                         "land_share": float(shapely.area(seen_land) / shapely.area(land))}


def write_extract(city, path: Path) -> Path:
    """The city as an OSM extract (outer rings only; camera tags as a mapper would set them)."""
    rings, owner = shapely.get_coordinates(shapely.get_exterior_ring(city.buildings),
                                           return_index=True)
    lon, lat = city.to_lonlat(rings[:, 0], rings[:, 1])
    cuts = np.flatnonzero(np.diff(owner)) + 1
    buildings = [ring[:-1] for ring in np.split(np.column_stack([lon, lat]), cuts)]
    pts, line = shapely.get_coordinates(city.streets, return_index=True)
    slon, slat = city.to_lonlat(pts[:, 0], pts[:, 1])
    streets = np.split(np.column_stack([slon, slat]), np.flatnonzero(np.diff(line)) + 1)
    x, y = city.camera_xy()
    cams = np.column_stack(city.to_lonlat(x, y))
    tags = [{"surveillance:type": "camera", "camera:type": c["camera_type"],
             "height": str(c["height_m"]), "camera:mount": c["camera_mount"],
             **({"camera:direction": str(c["direction"])} if "direction" in c else {})}
            for c in city.cameras]
    return write_osm(path, buildings=buildings, streets=streets, cameras=cams, camera_tags=tags,
                     street_tags=[{"highway": str(h)} for h in city.street_highway])


def from_store(city, work: Path) -> None:
    """E1 from a store: import the city's extract, then `compute_coverage` (load → save)."""
    extract = write_extract(city, work / "e1.osm.pbf")
    store_path = work / "e1.db"
    start = time.perf_counter()
    with Store(store_path) as store:
        import_osm(store, extract)
    t_import = time.perf_counter() - start
    start = time.perf_counter()
    with Store(store_path) as store:
        summary = compute_coverage(store, settings=SETTINGS)
    t_cov = time.perf_counter() - start
    fig = summary["by_scenario"]["typical"]["detection"]
    print(f"from a store: import {t_import:.1f} s (not part of E1); load → compute → save "
          f"{t_cov:.2f} s   street share {fig['street_in_view_share']:.4f}  land share "
          f"{fig['land_in_view_share']:.4f}   ({summary['cameras']:,} cameras)")


def city_inputs(size_km: float, cameras: int, seed: int):
    city = synth_city(size_km * 1000, size_km * 1000, seed=seed, n_cameras=cameras)
    return city, synthetic_inputs(city, sites_every=10**9, squares=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naive-km", type=float, default=1.6, help="side of the side-by-side city")
    parser.add_argument("--naive-cameras", type=int, default=300)
    parser.add_argument("--size-km", type=float, default=27.2, help="side of the large city")
    parser.add_argument("--cameras", type=int, default=100_000)
    parser.add_argument("--from-store", type=Path, metavar="DIR",
                        help="also write the large city as an OSM extract in DIR, import it and "
                             "time coverage from the store (load → compute → save)")
    args = parser.parse_args()
    _, warm = city_inputs(1.5, 30, 9)
    ours(warm)  # compile / load the numba kernels outside the timings
    city, small = city_inputs(args.naive_km, args.naive_cameras, 1)
    t_naive, f_naive = naive(small)
    t_ours, f_ours = ours(small)
    print(f"side by side: {len(city.buildings):,} buildings, {args.naive_cameras:,} cameras, "
          f"{args.naive_km:g} km × {args.naive_km:g} km")
    print(f"  naive  {t_naive:8.2f} s   street share {f_naive['street_share']:.4f}  "
          f"land share {f_naive['land_share']:.4f}")
    print(f"  ours   {t_ours:8.2f} s   street share {f_ours['street_share']:.4f}  "
          f"land share {f_ours['land_share']:.4f}   ratio naive/ours {t_naive / t_ours:.1f}×")
    start = time.perf_counter()
    city, large = city_inputs(args.size_km, args.cameras, 2)
    t_gen = time.perf_counter() - start
    t_large, f_large = ours(large)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"large city: {len(city.buildings):,} buildings, {args.cameras:,} cameras, "
          f"{args.size_km:g} km × {args.size_km:g} km (generated in {t_gen:.1f} s, not counted)")
    print(f"  ours   {t_large:8.2f} s   street share {f_large['street_share']:.4f}  "
          f"land share {f_large['land_share']:.4f}   peak memory {peak:,.0f} MB")
    if args.from_store:
        args.from_store.mkdir(parents=True, exist_ok=True)
        from_store(city, args.from_store)


if __name__ == "__main__":
    main()
