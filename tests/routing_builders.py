"""Builders for routing tests: small street grids, disc cameras, an independent networkx oracle.

The oracle knows nothing of survatlas' graph: every street vertex is a node, every segment an
edge weighted ``length + λ·seen``, with the seen metres of each segment computed by brute force
from the :data:`SeenIntervals`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from survatlas.routing import Exposure, SeenIntervals, seen_from_discs

CRS = "EPSG:32635"
X0, Y0 = 385_000.0, 6_672_000.0


def streets_frame(
    lines: Sequence[shapely.LineString],
    tags: Sequence[dict] | None = None,
    highway: str | Sequence[str] = "residential",
    crs: str = CRS,
) -> gpd.GeoDataFrame:
    """A streets GeoDataFrame (ids 1..n) like the store's, in a metric CRS by default."""
    n = len(lines)
    highways = [highway] * n if isinstance(highway, str) else list(highway)
    return gpd.GeoDataFrame(
        {
            "id": np.arange(1, n + 1),
            "highway": highways,
            "name": [f"street {i}" for i in range(1, n + 1)],
            "tags": list(tags) if tags is not None else [{} for _ in range(n)],
        },
        geometry=list(lines),
        crs=crs,
    )


def grid_streets(
    k: int, spacing: float = 100.0, drop: float = 0.0, seed: int = 0
) -> gpd.GeoDataFrame:
    """A k × k grid: rows and columns cut into ways of 1–3 blocks with a bent midpoint each.

    Junctions are shared vertices; a share ``drop`` of block segments is left out.
    """
    rng = np.random.default_rng(seed)
    lines = []
    for axis in (0, 1):
        for r in range(k):
            c = 0
            while c < k - 1:
                if rng.random() < drop:
                    c += 1
                    continue
                stop = min(c + int(rng.integers(1, 4)), k - 1)
                pts = []
                for j in range(c, stop):
                    bend = float(rng.uniform(-10, 10))
                    pts.append((j * spacing, r * spacing))
                    pts.append(((j + 0.5) * spacing, r * spacing + bend))
                pts.append((stop * spacing, r * spacing))
                if axis:
                    pts = [(y, x) for x, y in pts]
                lines.append(shapely.LineString([(X0 + x, Y0 + y) for x, y in pts]))
                c = stop
    return streets_frame(lines)


def disc_exposure(
    streets: gpd.GeoDataFrame,
    cameras: Sequence[tuple[int, float, float, float]],
    scenario: str = "typical",
    level: str = "detection",
) -> Exposure:
    """Exposure from camera discs ``(id, x, y, r)`` given relative to (X0, Y0)."""
    cams = [(c, X0 + x, Y0 + y, r) for c, x, y, r in cameras]
    seen = seen_from_discs(streets["id"].tolist(), streets.geometry.values, cams)
    return Exposure({(scenario, level): seen}, (scenario,), method="test discs")


def seen_on(seen: SeenIntervals, street: int, a: float, b: float) -> float:
    """Brute force: metres of [a, b] on ``street`` covered by its intervals."""
    lo, hi = min(a, b), max(a, b)
    return sum(max(0.0, min(e, hi) - max(s, lo)) for s, e, _ in seen.get(street, []))


def oracle(
    streets: gpd.GeoDataFrame,
    seen: SeenIntervals,
    lam: float,
    origin: tuple[int, float],
    destination: tuple[int, float],
) -> float | None:
    """Cheapest ``length + λ·seen`` from (street, position) to (street, position), or None."""
    g = nx.Graph()
    for n0, n1, sid, a, b in oracle_segments(streets, origin, destination):
        w = (b - a) + lam * seen_on(seen, sid, a, b)
        if not g.has_edge(n0, n1) or g[n0][n1]["weight"] > w:
            g.add_edge(n0, n1, weight=w)
    if origin == destination:
        return 0.0
    try:
        return float(nx.dijkstra_path_length(g, "o", "d"))
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return None


def oracle_segments(
    streets: gpd.GeoDataFrame, origin: tuple[int, float], destination: tuple[int, float]
) -> list[tuple[Any, Any, int, float, float]]:
    """The street segments as graph edges ``(node, node, street, from_m, to_m)``: nodes are the
    street vertices (by rounded coordinates), ``"o"`` and ``"d"`` (the two stops, which cut
    the segment they lie on)."""
    stops = {origin: "o", destination: "d"}
    out = []
    for sid, line in zip(streets["id"].tolist(), streets.geometry, strict=True):
        coords = list(line.coords)
        pos = 0.0
        for p, q in itertools.pairwise(coords):
            seg = math.dist(p, q)
            cuts = [(0.0, _key(p))]
            for (s, at), name in stops.items():
                if s == sid and pos - 1e-9 <= at <= pos + seg + 1e-9:
                    cuts.append((min(max(at - pos, 0.0), seg), name))
            cuts.append((seg, _key(q)))
            cuts.sort(key=lambda c: c[0])
            out += [(n0, n1, sid, pos + t0, pos + t1)
                    for (t0, n0), (t1, n1) in itertools.pairwise(cuts) if n0 != n1]
            pos += seg
    return out


def _key(p: tuple[float, ...]) -> tuple[int, int]:
    return round(p[0] * 1000), round(p[1] * 1000)


def point_on(
    streets: gpd.GeoDataFrame, street: int, frac: float
) -> tuple[int, float, float, float]:
    """(street, position, x, y) of a point ``frac`` of the way along a street."""
    line = streets.geometry[streets["id"] == street].iloc[0]
    at = frac * line.length
    p = line.interpolate(at)
    return street, at, p.x, p.y


STREET_SEEN = (
    "CREATE TABLE IF NOT EXISTS street_seen (street_id INTEGER NOT NULL, scenario TEXT NOT NULL, "
    "level TEXT NOT NULL, start_m REAL NOT NULL, end_m REAL NOT NULL, camera_id INTEGER NOT NULL)"
)


COVERAGE_RUNS = (
    "CREATE TABLE IF NOT EXISTS coverage_runs (id INTEGER PRIMARY KEY, created_at TEXT NOT NULL, "
    "settings TEXT NOT NULL, summary TEXT NOT NULL, crs TEXT NOT NULL)"
)


def add_run(store, crs_wkt: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Ensure the coverage-run log exists (main-branch schema); log a run when ``crs_wkt``."""
    with store.transaction() as conn:
        conn.execute(COVERAGE_RUNS)
        if crs_wkt:
            conn.execute(
                "INSERT INTO coverage_runs (created_at, settings, summary, crs) VALUES (?,?,?,?)",
                ("2024-01-01T00:00:00", "{}", "{}", crs_wkt),
            )


def make_store(tmp_path, streets: gpd.GeoDataFrame, cameras: Sequence[tuple[float, float, str]]):  # type: ignore[no-untyped-def]
    """A store holding ``streets`` and cameras ``(x, y, sensitivity)`` relative to (X0, Y0)."""
    from survatlas.ingest import import_cameras, import_layer
    from survatlas.store import Store

    layer = tmp_path / "streets.geojson"
    streets.drop(columns=["tags", "id"]).to_crs("EPSG:4326").to_file(layer, driver="GeoJSON")
    pts = gpd.GeoSeries(
        [shapely.Point(X0 + x, Y0 + y) for x, y, _ in cameras], crs=streets.crs
    ).to_crs("EPSG:4326")
    csv = tmp_path / "cameras.csv"
    csv.write_text(
        "latitude,longitude,sensitivity\n"
        + "".join(f"{p.y},{p.x},{c[2]}\n" for p, c in zip(pts, cameras, strict=True))
    )
    store = Store(tmp_path / "test.db")
    import_layer(store, layer, "streets")
    if cameras:
        import_cameras(store, csv)
    return store


def write_discs(store, radii: dict[tuple[str, str], float]) -> None:  # type: ignore[no-untyped-def]
    """Write a ``street_seen`` table from camera discs, one radius per (scenario, level)."""
    from survatlas.routing import store_crs
    from survatlas.store.gate import read_layer

    crs = store_crs(store)
    streets = read_layer(store, "streets", audience="confidential").to_crs(crs)
    devices = read_layer(store, "devices", audience="confidential").to_crs(crs)
    rows = []
    for (scenario, level), r in radii.items():
        cams = [(int(i), p.x, p.y, r) for i, p in zip(devices["id"], devices.geometry, strict=True)]
        seen = seen_from_discs(streets["id"].tolist(), streets.geometry.values, cams)
        rows += [
            (s, scenario, level, a, b, c) for s, ivs in seen.items() for a, b, cs in ivs for c in cs
        ]
    has_runs = store.query("SELECT name FROM sqlite_master WHERE name = 'coverage_runs'")
    with store.transaction() as conn:
        conn.execute(STREET_SEEN)
        conn.executemany("INSERT INTO street_seen VALUES (?, ?, ?, ?, ?, ?)", rows)
        if has_runs:  # the coverage schema of the main branch records each run and its CRS
            conn.execute(
                "INSERT INTO coverage_runs (created_at, settings, summary, crs) VALUES (?,?,?,?)",
                ("2024-01-01T00:00:00", "{}", "{}", crs.to_wkt()),
            )


def latlon(x: float, y: float) -> tuple[float, float]:
    """WGS 84 (lat, lon) of a point in the builders' CRS."""
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x, y)
    return lat, lon
