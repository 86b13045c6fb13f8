"""Web map under load: vector tiles and bbox pages of a synthetic 100,000-camera city.

The server (`survatlas serve`, with its default number of worker processes: each keeps its
own tile cache) runs as a child process; this script is the
load generator (a second process on loopback): CLIENTS concurrent asyncio keep-alive
connections (a minimal HTTP/1.1 client, so that the generator leaves the CPU to the server), each
request timed with time.perf_counter. Scenarios:

* ``devices tiles, cold``: distinct random device tiles (zoom 12–17, weighted to 14–16) —
  every tile is made from R*Tree queries on the spot (nothing cached yet);
* ``devices tiles, warm``: the same tiles again (served from the tile cache);
* ``base tiles, cold``: distinct buildings/streets/sites tiles (zoom 14–16);
* ``bbox pages``: ``/api/devices?bbox=…&limit=500`` for random 400 m boxes;
* ``routes``: ``/api/route?from=…&to=…`` between random street points of the demo store (the
  Helsinki extract of ``make demo``, imported and covered once into ``benchmarks/_work/``),
  served by a second server with ``serve``'s default number of worker processes; the first
  request is reported apart, and the load starts once the server is idle (every worker has
  loaded its routing network). The pairs are random and distinct: the kept answers of
  repeated queries never serve them. The script prints how many client connections each
  worker process holds (a worker holding most of them queues most requests).

Baseline (the naive way the issue rules out): one GeoJSON of every device — built with
``read_layer`` + ``json.dumps``, timed in this process — against the device tiles a first map
view needs (a 1280×800 window at zoom 15), fetched concurrently from the server.

Usage::

    python benchmarks/web_load.py                     # 100,000 cameras, 20 clients
    python benchmarks/web_load.py --cameras 20000 --clients 10 --requests 400
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import shapely

from survatlas.ingest._records import Record
from survatlas.ingest._writer import write_layer
from survatlas.provenance.sources import file_source
from survatlas.store import Store
from survatlas.store.gate import read_layer

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "benchmarks" / "_work"
CENTRE = (24.95, 60.20)  # lon, lat of the synthetic city
SIZE_M = 10_000.0
BLOCK_M = 100.0
TYPES = ("camera",) * 18 + ("alpr", "speed_camera")
AREAS = ("public", "outdoor", "indoor", None)


def _deg(dx_m: np.ndarray, dy_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat0 = math.radians(CENTRE[1])
    return (
        CENTRE[0] + dx_m / (111_320.0 * math.cos(lat0)),
        CENTRE[1] + dy_m / 110_574.0,
    )


def build_city(path: Path, cameras: int, seed: int = 7) -> None:
    """Write a grid city: streets every 100 m, a building per block, ``cameras`` devices."""
    rng = np.random.default_rng(seed)
    half = SIZE_M / 2
    ticks = np.arange(-half, half + 1, BLOCK_M)
    streets = []
    for i, t in enumerate(ticks):
        for j in range(len(ticks) - 1):
            for name, (x0, y0, x1, y1) in (
                (f"h{i}_{j}", (ticks[j], t, ticks[j + 1], t)),
                (f"v{i}_{j}", (t, ticks[j], t, ticks[j + 1])),
            ):
                lon, lat = _deg(np.array([x0, x1]), np.array([y0, y1]))
                streets.append(
                    Record(
                        f"synth:street/{name}",
                        shapely.to_wkb(shapely.LineString(np.column_stack([lon, lat]))),
                        {"highway": "residential" if i % 5 else "primary", "walkable": 1},
                        {"highway": "residential"},
                    )
                )
    buildings = []
    for i, x in enumerate(ticks[:-1]):
        for j, y in enumerate(ticks[:-1]):
            lon, lat = _deg(
                np.array([x + 15, x + BLOCK_M - 15]), np.array([y + 15, y + BLOCK_M - 15])
            )
            buildings.append(
                Record(
                    f"synth:building/{i}_{j}",
                    shapely.to_wkb(shapely.box(lon[0], lat[0], lon[1], lat[1])),
                    {"building": "yes", "obstacle": 1, "height_m": 15.0},
                    {"building": "yes"},
                )
            )
    # cameras on building fronts: near a street, random side
    dx = rng.uniform(-half, half, cameras)
    dy = rng.uniform(-half, half, cameras)
    snap = rng.random(cameras) < 0.5
    dx = np.where(snap, np.round(dx / BLOCK_M) * BLOCK_M + rng.choice([-12, 12], cameras), dx)
    dy = np.where(~snap, np.round(dy / BLOCK_M) * BLOCK_M + rng.choice([-12, 12], cameras), dy)
    lon, lat = _deg(dx, dy)
    direction = rng.uniform(0, 360, cameras)
    devices = [
        Record(
            f"synth:camera/{k}",
            shapely.to_wkb(shapely.Point(lon[k], lat[k])),
            {
                "device_type": TYPES[k % len(TYPES)],
                "area": AREAS[k % len(AREAS)],
                "views": json.dumps([[round(float(direction[k]), 1), 90.0]] if k % 2 else []),
                "lon": float(lon[k]),
                "lat": float(lat[k]),
            },
            {"man_made": "surveillance"},
        )
        for k in range(cameras)
    ]
    sites = []
    for k in range(300):
        x, y = rng.uniform(-half, half - 200, 2)
        lo, la = _deg(np.array([x, x + 150]), np.array([y, y + 120]))
        sites.append(
            Record(
                f"synth:site/{k}",
                shapely.to_wkb(shapely.box(lo[0], la[0], lo[1], la[1])),
                {"category": ("education", "transport", "workplace", "public_space")[k % 4]},
                {},
            )
        )
    with Store(path) as store, store.transaction() as conn:
        source = file_source(conn, kind="dataset", title="synthetic city", sha256=f"synth-{seed}")
        for layer, records in (
            ("streets", streets),
            ("buildings", buildings),
            ("devices", devices),
            ("sites", sites),
        ):
            write_layer(conn, layer, source, records)


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return (
        int((lon + 180) / 360 * n),
        int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n),
    )


def random_tiles(rng: random.Random, tileset: str, zooms: list[int], count: int) -> list[str]:
    """``count`` distinct tile URLs inside the city."""
    (w, s), (e, n) = (
        _deg(np.array([-SIZE_M / 2]), np.array([-SIZE_M / 2])),
        _deg(np.array([SIZE_M / 2]), np.array([SIZE_M / 2])),
    )
    seen: set[str] = set()
    while len(seen) < count:
        z = rng.choice(zooms)
        x, y = tile_xy(
            rng.uniform(float(w[0]), float(e[0])), rng.uniform(float(s[0]), float(n[0])), z
        )
        seen.add(f"/tiles/{tileset}/{z}/{x}/{y}.mvt")
    urls = sorted(seen)
    rng.shuffle(urls)
    return urls


def random_bboxes(rng: random.Random, count: int, side_m: float = 400.0) -> list[str]:
    urls = []
    for _ in range(count):
        x, y = (
            rng.uniform(-SIZE_M / 2, SIZE_M / 2 - side_m),
            rng.uniform(-SIZE_M / 2, SIZE_M / 2 - side_m),
        )
        lon, lat = _deg(np.array([x, x + side_m]), np.array([y, y + side_m]))
        urls.append(
            f"/api/devices?bbox={lon[0]:.6f},{lat[0]:.6f},{lon[1]:.6f},{lat[1]:.6f}&limit=500"
        )
    return urls


class _Connection:
    """A minimal HTTP/1.1 keep-alive client (GET only): far lighter than a full client
    library, so the load generator leaves the CPU to the server it measures."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, int]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next(
            int(line.split(":", 1)[1])
            for line in lines
            if line.lower().startswith("content-length:")
        )
        await self.reader.readexactly(length)
        return status, length

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def run_load(base: str, urls: list[str], clients: int) -> dict[str, float]:
    """Fetch ``urls`` with ``clients`` concurrent keep-alive connections; latency and throughput."""
    host, port = base.removeprefix("http://").split(":")
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    latencies: list[float] = []
    sizes: list[int] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        conn = _Connection(host, int(port))
        try:
            while True:
                try:
                    url = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                status, size = await conn.get(url)
                latencies.append(time.perf_counter() - t0)
                sizes.append(size)
                errors += status != 200
        finally:
            conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    wall = time.perf_counter() - t0
    ms = sorted(x * 1000 for x in latencies)
    return {
        "requests": len(ms),
        "errors": errors,
        "p50_ms": statistics.median(ms),
        "p95_ms": ms[int(0.95 * (len(ms) - 1))],
        "max_ms": ms[-1],
        "rps": len(ms) / wall,
        "mean_kb": statistics.fmean(sizes) / 1024,
    }


def first_view_tiles(z: int = 15, width: int = 1280, height: int = 800) -> list[str]:
    cx, cy = tile_xy(CENTRE[0], CENTRE[1], z)
    nx, ny = math.ceil(width / 512) + 1, math.ceil(height / 512) + 1
    return [
        f"/tiles/devices/{z}/{cx + i - nx // 2}/{cy + j - ny // 2}.mvt"
        for i in range(nx)
        for j in range(ny)
    ]


def naive_geojson(path: Path) -> tuple[float, int]:
    """The baseline: every device as one GeoJSON document (seconds, bytes)."""
    with Store(path, create=False) as store:
        t0 = time.perf_counter()
        frame = read_layer(store, "devices")
        body = frame[["id", "device_type", "area", "geometry"]].to_json().encode()
        return time.perf_counter() - t0, len(body)


DEMO_OSM = REPO / "data" / "helsinki-center.osm.pbf"


def demo_store() -> Path:
    """The demo store of ``make demo`` (Helsinki extract, full coverage run), built once."""
    db = WORK / "web-demo.db"
    if not db.exists():
        for args in (["import", "osm", str(DEMO_OSM)], ["coverage"]):
            subprocess.run([sys.executable, "-m", "survatlas", "--db", str(db), *args],
                           check=True, stdout=subprocess.DEVNULL)
    return db


def route_urls(db: Path, rng: random.Random, count: int) -> list[str]:
    """``count`` route requests between random vertices of the store's walkable streets."""
    with Store(db, create=False) as store:
        streets = read_layer(store, "streets")
    pts = shapely.get_coordinates(streets[streets["walkable"] == 1].geometry.values)
    urls = []
    for _ in range(count):
        (lon0, lat0), (lon1, lat1) = pts[rng.randrange(len(pts))], pts[rng.randrange(len(pts))]
        urls.append(f"/api/route?from={lat0:.6f},{lon0:.6f}&to={lat1:.6f},{lon1:.6f}")
    return urls


def route_cpu_in_process(db: Path, urls: list[str]) -> float:
    """Median CPU milliseconds of one route request's work, in this process, one at a time
    (``web._analyses.compare_routes``, what ``/api/route`` calls; network loaded first)."""
    from urllib.parse import parse_qs, urlsplit

    from survatlas.web import _analyses

    cpu = []
    with Store(db, create=False) as store:
        for url in urls:
            query = parse_qs(urlsplit(url).query)
            a, b = (tuple(map(float, query[k][0].split(","))) for k in ("from", "to"))
            t0 = time.process_time()
            _analyses.compare_routes(store, a, b, 1.25, "public")
            cpu.append((time.process_time() - t0) * 1000)
    return statistics.median(cpu[1:])


def route_load(args: argparse.Namespace, rng: random.Random) -> tuple[dict, float]:
    """Route requests at ``args.clients`` against a server of the demo store; the first,
    cold request's milliseconds apart."""
    db = demo_store()
    urls = route_urls(db, rng, max(args.requests // 3, 100) + 1)
    proc = start_server(db, args.port + 1)
    base = f"http://127.0.0.1:{args.port + 1}"
    try:
        t0 = time.perf_counter()
        first = httpx.get(base + urls[0], timeout=120)
        cold_ms = (time.perf_counter() - t0) * 1000
        if first.status_code != 200:
            raise RuntimeError(f"route request failed: {first.text[:500]}")
        wait_idle(proc)  # every worker has loaded its network (in the background at start-up)
        workers = server_workers(proc)
        cpu0 = server_cpu_s(proc)
        split: list[int] = []
        watcher = threading.Thread(target=_connection_split, args=(proc, args.port + 1, split))
        watcher.start()
        result = asyncio.run(run_load(base, urls[1:], args.clients))
        watcher.join()
        result["connections_per_worker"] = split
        result["server_cpu_ms"] = (server_cpu_s(proc) - cpu0) * 1000 / result["requests"]
        result["load_average"] = os.getloadavg()[0]
        result["workers"] = workers
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    result["in_process_cpu_ms"] = route_cpu_in_process(db, urls[:101])
    return result, cold_ms


def _connection_split(proc: subprocess.Popen, port: int, out: list[int]) -> None:
    """After a second of load: how many client connections each worker process holds."""
    import psutil

    time.sleep(1.0)
    for child in psutil.Process(proc.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            held = sum(1 for c in child.net_connections(kind="tcp")
                       if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port)
            if held:
                out.append(held)
    out.sort(reverse=True)


def server_cpu_s(proc: subprocess.Popen) -> float:
    """CPU seconds (user + system) the server has used so far: its process and its worker
    processes (``survatlas serve`` starts one per CPU by default)."""
    import psutil

    parent = psutil.Process(proc.pid)
    total = 0.0
    for p in (parent, *parent.children(recursive=True)):
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def wait_idle(proc: subprocess.Popen, quiet_s: float = 1.0, most_s: float = 180.0) -> None:
    """Wait until the server has used under 2 % of a CPU for ``quiet_s`` (start-up work done)."""
    end = time.monotonic() + most_s
    before = server_cpu_s(proc)
    while time.monotonic() < end:
        time.sleep(quiet_s)
        now = server_cpu_s(proc)
        if now - before < 0.02 * quiet_s:
            return
        before = now


def server_workers(proc: subprocess.Popen) -> int:
    """How many processes serve requests (the worker processes, or the server itself)."""
    import psutil

    spawned = [c for c in psutil.Process(proc.pid).children(recursive=True)
               if "spawn_main" in " ".join(c.cmdline())]
    return max(1, len(spawned))


def start_server(path: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [sys.executable, "-m", "survatlas", "--db", str(path), "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/config", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start: " + proc.stderr.read().decode()[-2000:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cameras", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=1500, help="per scenario")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--routes-only", action="store_true",
                        help="only the route scenario (on the demo store)")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    if args.routes_only:
        r, cold_ms = route_load(args, random.Random(1))
        print(f"routes (demo store), {args.clients} clients, {r['workers']} server "
              f"process(es) holding {r['connections_per_worker']} connections: "
              f"{r['requests']} requests, "
              f"{r['errors']} errors, p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, max "
              f"{r['max_ms']:.1f} ms, {r['rps']:.1f} req/s; server CPU "
              f"{r['server_cpu_ms']:.1f} ms/request; load average {r['load_average']:.1f}; "
              f"in process, one at a time: {r['in_process_cpu_ms']:.1f} ms CPU (median); "
              f"first request {cold_ms:.0f} ms; "
              f"target p95 ≤ 150 ms: {'met' if r['p95_ms'] <= 150 else 'NOT met'}")
        return
    db = WORK / f"web-city-{args.cameras}.db"
    if not db.exists():
        t0 = time.perf_counter()
        build_city(db, args.cameras)
        print(f"built {db.name} in {time.perf_counter() - t0:.1f} s")
    with Store(db, create=False) as store:
        counts = {
            t: store.scalar(f"SELECT count(*) FROM {t}")
            for t in ("devices", "buildings", "streets")
        }
    print(f"synthetic city: {counts}; {args.clients} concurrent clients on loopback")
    rng = random.Random(1)
    device_urls = random_tiles(
        rng, "devices", [12, 13, 14, 14, 15, 15, 15, 16, 16, 16, 17], args.requests
    )
    base_urls = random_tiles(rng, "base", [14, 15, 15, 16, 16], max(args.requests // 3, 50))
    bbox_urls = random_bboxes(rng, args.requests)
    proc = start_server(db, args.port)
    base = f"http://127.0.0.1:{args.port}"
    try:
        view = asyncio.run(run_load(base, first_view_tiles(), args.clients))
        view_bytes = view["mean_kb"] * view["requests"] * 1024
        results = {
            "devices tiles, cold": asyncio.run(run_load(base, device_urls, args.clients)),
            "devices tiles, warm": asyncio.run(run_load(base, device_urls, args.clients)),
            "base tiles, cold": asyncio.run(run_load(base, base_urls, args.clients)),
            "bbox pages (limit 500)": asyncio.run(run_load(base, bbox_urls, args.clients)),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    results["routes (demo store)"], route_cold_ms = route_load(args, rng)
    naive_s, naive_bytes = naive_geojson(db)
    print(
        f"\n{'scenario':26} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'req/s':>7} {'KB/resp':>8}"
    )
    for name, r in results.items():
        print(
            f"{name:26} {r['requests']:8d} {r['errors']:6d} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} "
            f"{r['max_ms']:8.1f} {r['rps']:7.1f} {r['mean_kb']:8.1f}"
        )
    view_ms = view["max_ms"]
    print(
        f"\nfirst map view (zoom 15, {view['requests']} device tiles, cold): {view_ms:.0f} ms, "
        f"{view_bytes / 1e6:.2f} MB\n"
        f"naive baseline (one GeoJSON of all {counts['devices']:,} devices, built in process, "
        f"no transfer): {naive_s * 1000:.0f} ms, {naive_bytes / 1e6:.1f} MB\n"
        f"ratio naive / ours: time {naive_s * 1000 / view_ms:.1f}×, bytes {naive_bytes / view_bytes:.0f}×"
    )
    target = results["devices tiles, cold"]["p95_ms"]
    print(
        f"target p95 ≤ 200 ms at {args.clients} clients (devices tiles, cold): {'met' if target <= 200 else 'NOT met'} ({target:.0f} ms)"
    )
    routes = results["routes (demo store)"]["p95_ms"]
    print(
        f"routes: server CPU {results['routes (demo store)']['server_cpu_ms']:.1f} ms/request "
        f"(in process {results['routes (demo store)']['in_process_cpu_ms']:.1f} ms), "
        f"load average {results['routes (demo store)']['load_average']:.1f}; connections per "
        f"worker {results['routes (demo store)']['connections_per_worker']}; first request (loads the shared network) {route_cold_ms:.0f} ms; target p95 ≤ "
        f"150 ms at {args.clients} clients: {'met' if routes <= 150 else 'NOT met'} ({routes:.0f} ms)"
    )


if __name__ == "__main__":
    main()
