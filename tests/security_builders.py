"""Builders for the security tests: small stores with public records and a confidential canary.

The canary is a unique string and a unique place; it is seeded into confidential and restricted
records of every kind (devices, buildings, streets, sites, sources, claims, evidence). Public
records lie more than 1 km away from the canary place.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import re
import sqlite3
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import shapely

from survatlas.coverage.analysis import Settings
from survatlas.coverage.scale import compute_coverage
from survatlas.ingest import import_cameras, import_layer
from survatlas.provenance.evidence import add_evidence
from survatlas.provenance.sources import add_claim, add_source
from survatlas.store import Store

CANARY = "CANARYq7Zx"
CANARY_LON, CANARY_LAT = 7.4212345, 43.7356789
#: distinctive digit runs of the canary coordinates (their text form in any output)
CANARY_DIGITS = ("4212345", "7356789")
#: no public output may hold a coordinate closer than this (degrees) to the canary place
CANARY_RADIUS_DEG = 0.003


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` and return it."""
    path.write_text(text, encoding="utf-8")
    return path


def _fc(features: list[dict]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features})


def _square(lon: float, lat: float, d: float = 0.0001) -> dict:
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def seed_public(
    store: Store, folder: Path, between: Callable[[], object] | None = None
) -> dict[str, int]:
    """Public records: 3 cameras, 2 buildings, 2 streets, 2 sites, a source, a claim, a file.

    With ``between``, it is called between the public writes (cameras then come in two files),
    so that other records land in the middle of the public ones.
    """
    folder.mkdir(parents=True, exist_ok=True)
    header = "id,latitude,longitude,surveillance:type,camera:direction,operator\n"
    rows = ["p1,43.7200,7.4000,camera,90,City\n", "p2,43.7210,7.4010,ALPR,180,Police\n",
            "p3,43.7220,7.4020,camera,,\n"]
    if between is None:
        import_cameras(store, write(folder / "public-cams.csv", header + "".join(rows)))
    else:
        import_cameras(store, write(folder / "public-cams-a.csv", header + rows[0]))
        between()
        import_cameras(store, write(folder / "public-cams-b.csv", header + "".join(rows[1:])))
        between()
    layers = {
        "buildings": [_square(7.401, 43.722), _square(7.403, 43.724)],
        "streets": [
            {"type": "LineString", "coordinates": [[7.400, 43.720], [7.402, 43.721]]},
            {"type": "LineString", "coordinates": [[7.402, 43.721], [7.404, 43.722]]},
        ],
        "sites": [
            {"type": "Point", "coordinates": [7.405, 43.725]},
            {"type": "Point", "coordinates": [7.406, 43.726]},
        ],
    }
    for kind, geoms in layers.items():
        feats = [
            {
                "type": "Feature",
                "geometry": g,
                "properties": {
                    "id": f"pub-{kind}-{i}",
                    "name": f"public {kind} {i}",
                    "category": "education",
                }
                if kind == "sites"
                else {"id": f"pub-{kind}-{i}", "name": f"public {kind} {i}"},
            }
            for i, g in enumerate(geoms)
        ]
        batches = [[f] for f in feats] if between else [feats]  # one by one with between
        for i, batch in enumerate(batches):
            name = f"public-{kind}-{i}.geojson" if between else f"public-{kind}.geojson"
            import_layer(store, write(folder / name, _fc(batch)), kind)
            if between:
                between()
    news = add_source(
        store, kind="news", title="Wire story", publisher="Agency", url="https://news.example/a"
    )
    if between:
        between()
        add_source(store, kind="report", title="Second public report", publisher="NGO")
    first = int(store.scalar("SELECT min(id) FROM devices WHERE sensitivity = 'public'"))
    add_claim(
        store, source_id=news, subject_type="device", subject_id=first, statement="camera seen"
    )
    photo = write(folder / "public-photo.txt", "a public document")
    add_evidence(store, photo, news)
    return {"news": news, "device": first}


def seed_canary(store: Store, folder: Path) -> dict[str, object]:
    """Confidential and restricted records of every kind carrying :data:`CANARY`."""
    folder.mkdir(parents=True, exist_ok=True)
    cams = write(
        folder / f"{CANARY}-cams.csv",
        "id,latitude,longitude,name,operator,description,camera:direction,sensitivity\n"
        f"{CANARY}-1,{CANARY_LAT},{CANARY_LON},{CANARY} cam,{CANARY} operator,{CANARY} secret,"
        f"{CANARY} dir,confidential\n"
        f"{CANARY}-2,{CANARY_LAT + 0.0002},{CANARY_LON + 0.0002},{CANARY} r,{CANARY} op,"
        f"{CANARY} note,{CANARY} rdir,restricted\n",
    )
    import_cameras(store, cams)
    geoms = {
        "buildings": _square(CANARY_LON, CANARY_LAT),
        "streets": {
            "type": "LineString",
            "coordinates": [[CANARY_LON, CANARY_LAT], [CANARY_LON + 0.0003, CANARY_LAT + 0.0001]],
        },
        "sites": {"type": "Point", "coordinates": [CANARY_LON, CANARY_LAT]},
    }
    for sens in ("confidential", "restricted"):
        for kind, geom in geoms.items():
            props = {"id": f"{CANARY}-{kind}-{sens}", "name": f"{CANARY} {kind}"}
            if kind == "sites":
                props["category"] = "government"
            path = write(
                folder / f"{CANARY}-{kind}-{sens}.geojson",
                _fc([{"type": "Feature", "geometry": geom, "properties": props}]),
            )
            import_layer(store, path, kind, sensitivity=sens)
    _seed_per_row_levels(store, folder, geoms)
    secret = add_source(
        store,
        kind="testimony",
        title=f"{CANARY} witness",
        author=f"{CANARY} author",
        url=f"https://{CANARY}.example/x",
        note=f"{CANARY} lives near the camera",
        sensitivity="confidential",
    )
    restricted = add_source(
        store, kind="document", title=f"{CANARY} restricted doc", sensitivity="restricted"
    )
    # the confidential camera of the file above (its origin is sealed: found by level)
    hidden_device = int(
        store.scalar("SELECT max(id) FROM devices WHERE sensitivity = 'confidential'")
    )
    add_claim(
        store,
        source_id=secret,
        subject_type="device",
        subject_id=1,
        statement=f"{CANARY} saw it",
        quote=f"{CANARY} quote",
    )
    add_claim(
        store,
        source_id=restricted,
        subject_type="device",
        subject_id=1,
        statement=f"{CANARY} restricted",
    )
    add_claim(
        store,
        source_id=1,
        subject_type="device",
        subject_id=hidden_device,
        statement=f"{CANARY} about a hidden camera",
    )
    testimony = add_evidence(
        store, write(folder / f"{CANARY}.txt", f"{CANARY} testimony text"), secret
    )
    return {
        "source": secret,
        "device": hidden_device,
        "evidence": testimony.sha256,
        "contribution": seed_canary_contributions(store),
    }


def seed_canary_contributions(store: Store) -> int:
    """Contributions at the canary place: pending (with a photo), rejected, and accepted as a
    restricted device. Returns the pending one's id."""
    import io

    import numpy as np
    from PIL import Image

    from survatlas.contribute.moderation import (
        accept_contribution,
        reject_contribution,
        submit_contribution,
    )

    photo = io.BytesIO()
    Image.fromarray(np.full((48, 64, 3), 90, np.uint8)).save(photo, "PNG")
    fields = {
        "lat": str(CANARY_LAT),
        "lon": str(CANARY_LON),
        "direction": "45",
        "operator": f"{CANARY} contributed operator",
        "note": f"{CANARY} contributor note",
    }
    pending = submit_contribution(store, fields, [photo.getvalue()])
    rejected = submit_contribution(store, {**fields, "name": f"{CANARY} rejected"})
    reject_contribution(store, rejected, f"{CANARY} reason")
    accepted = submit_contribution(store, {**fields, "name": f"{CANARY} accepted restricted"})
    accept_contribution(store, accepted, sensitivity="restricted")
    return pending


def _seed_per_row_levels(store: Store, folder: Path, geoms: dict[str, dict]) -> None:
    """Canary rows whose level is only in their own ``sensitivity`` column, in files imported
    as public (GeoJSON sites, GeoPackage buildings), then re-imports without the flag: every
    row must stay hidden (issue 15, findings 1 and 2)."""
    import geopandas as gpd

    feats = [
        {"type": "Feature", "geometry": geoms["sites"],
         "properties": {"id": f"{CANARY}-row-{sens}", "name": f"{CANARY} shelter",
                        "category": "public_space", "sensitivity": sens}}
        for sens in ("confidential", "restricted")
    ]
    sites = write(folder / f"{CANARY}-per-row-sites.geojson", _fc(feats))
    import_layer(store, sites, "sites")
    frame = gpd.GeoDataFrame(
        {"id": [f"{CANARY}-gpkg-c", f"{CANARY}-gpkg-r"], "name": [f"{CANARY} b"] * 2,
         "sensitivity": ["confidential", "restricted"]},
        geometry=[shapely.geometry.shape(geoms["buildings"])] * 2, crs="EPSG:4326",
    )
    gpkg = folder / f"{CANARY}-per-row-buildings.gpkg"
    frame.to_file(gpkg, driver="GPKG")
    import_layer(store, gpkg, "buildings")
    for kind in ("sites", "streets"):  # the same files again, without --sensitivity
        import_layer(store, folder / f"{CANARY}-{kind}-restricted.geojson", kind)


# --- decoding outputs ------------------------------------------------------------------------


@dataclass
class Decoded:
    """What an output file says: all its text, and every coordinate found in it."""

    text: list[str] = field(default_factory=list)
    coords: list[tuple[float, float]] = field(default_factory=list)

    def add_geometry(self, geom: object) -> None:
        if geom is None:
            return
        arr = shapely.get_coordinates(geom)
        self.coords.extend((float(x), float(y)) for x, y in arr)

    def canonical(self) -> tuple[list[str], list[tuple[float, float]]]:
        """A comparable form (sorted, rounded) for differential checks."""
        return sorted(self.text), sorted((round(x, 7), round(y, 7)) for x, y in self.coords)


def decode_file(path: Path) -> Decoded:
    """Decode an output file of any format written by an exporter."""
    data = path.read_bytes()
    out = Decoded()
    if data.startswith(b"SQLite format 3"):
        _decode_sqlite(path, out)
    elif data.startswith(b"PAR1"):
        _decode_parquet(path, out)
    elif data.startswith(b"PMTiles"):
        _decode_pmtiles(data, out)
        _decode_blobs(data, out)
    else:
        text = data.decode("utf-8", errors="replace")
        out.text.append(text)
        _decode_text_geometry(path, text, out)
        _decode_blobs(data, out)
    return out


def _decode_text_geometry(path: Path, text: str, out: Decoded) -> None:
    stripped = text.lstrip()
    if stripped.startswith("{") or stripped.startswith("["):
        with contextlib.suppress(ValueError):
            _walk_json(json.loads(text), out)
    if "<osmChange" in text:
        for lat, lon in re.findall(r'lat="([^"]+)" lon="([^"]+)"', text):
            out.coords.append((float(lon), float(lat)))
    if "<kml" in text:
        for block in re.findall(r"<coordinates>(.*?)</coordinates>", text, re.S):
            for pair in block.split():
                x, y = pair.split(",")[:2]
                out.coords.append((float(x), float(y)))
    if path.suffix == ".csv":
        import pandas as pd

        frame = pd.read_csv(path)
        if {"latitude", "longitude"} <= set(frame.columns):
            out.coords.extend(zip(frame["longitude"], frame["latitude"], strict=True))
        if "wkt" in frame.columns:
            for wkt in frame["wkt"].dropna():
                out.add_geometry(shapely.from_wkt(wkt))


def _walk_json(obj: object, out: Decoded) -> None:
    if isinstance(obj, dict):
        if isinstance(obj.get("type"), str) and obj["type"] in {
            "Point",
            "LineString",
            "Polygon",
            "MultiPoint",
            "MultiLineString",
            "MultiPolygon",
        }:
            with contextlib.suppress(Exception):  # malformed geometries are not coordinates
                out.add_geometry(shapely.geometry.shape(obj))
        for key in ("lon", "longitude"):
            if isinstance(obj.get(key), (int, float)) and isinstance(
                obj.get(key.replace("lon", "lat")), (int, float)
            ):
                out.coords.append((float(obj[key]), float(obj[key.replace("lon", "lat")])))
        for v in obj.values():
            _walk_json(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _walk_json(v, out)


def _decode_sqlite(path: Path, out: Decoded) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cur = conn.execute(f'SELECT * FROM "{table}"')
            names = [d[0] for d in cur.description]
            for row in cur:
                for name, value in zip(names, row, strict=True):
                    if "last_change" in name or "timestamp" in name:
                        continue
                    if isinstance(value, bytes):
                        _decode_blob(value, out)
                    elif value is not None:
                        out.text.append(f"{table}.{name}={value}")
    finally:
        conn.close()


def _decode_blob(blob: bytes, out: Decoded) -> None:
    if blob.startswith(b"GP"):  # GeoPackage geometry: header, envelope, then WKB
        flags = blob[3]
        envelope = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get((flags >> 1) & 0x07, 0)
        try:
            out.add_geometry(shapely.from_wkb(blob[8 + envelope :]))
            return
        except shapely.errors.GEOSException:
            pass
    _decode_blobs(blob, out)


def _decode_parquet(path: Path, out: Decoded) -> None:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    for k, v in (table.schema.metadata or {}).items():
        out.text.append(f"{k.decode(errors='replace')}={v.decode(errors='replace')}")
    for name in table.column_names:
        for value in table.column(name).to_pylist():
            if isinstance(value, bytes):
                out.add_geometry(shapely.from_wkb(value))
            elif value is not None:
                out.text.append(f"{name}={value}")


def _decode_blobs(data: bytes, out: Decoded) -> None:
    """Compressed members (gzip/zlib) and vector tiles hidden in binary data."""
    for match in re.finditer(rb"\x1f\x8b\x08", data):
        try:
            chunk = gzip.GzipFile(fileobj=io.BytesIO(data[match.start() :])).read()
        except (OSError, EOFError, zlib.error):
            continue
        out.text.append(chunk.decode("utf-8", errors="replace"))
        _decode_mvt(chunk, out)
    _decode_mvt(data, out)


def _decode_pmtiles(data: bytes, out: Decoded) -> None:
    """Every tile of a PMTiles archive (decompressed, decoded as MVT) and its metadata."""
    from pmtiles.reader import MemorySource, Reader, all_tiles

    source = MemorySource(data)
    out.text.append(json.dumps(Reader(source).metadata(), sort_keys=True))
    for (z, x, y), tile in all_tiles(source):
        if tile[:2] == b"\x1f\x8b":
            tile = gzip.decompress(tile)
        decoded = Decoded()
        _decode_mvt(tile, decoded)
        out.text.extend(f"{z}/{x}/{y} {t}" for t in decoded.text)


def _decode_mvt(data: bytes, out: Decoded) -> None:
    try:
        import mapbox_vector_tile

        tile = mapbox_vector_tile.decode(data)
    except Exception:  # not a vector tile
        return
    if isinstance(tile, dict):
        out.text.append(json.dumps(tile, default=str, sort_keys=True))


_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?")


def without_times(obj: object) -> object:
    """``obj`` without time stamps (``…_at`` keys dropped; any other instant, such as an
    import's snapshot time or a history's end, replaced by ``"<instant>"``), which differ
    between two stores built a second apart, for differential comparisons. Dates stay."""
    if isinstance(obj, dict):
        return {
            k: without_times(v) for k, v in obj.items() if not (k == "at" or str(k).endswith("_at"))
        }
    if isinstance(obj, list):
        return [without_times(v) for v in obj]
    if isinstance(obj, str) and _INSTANT.fullmatch(obj):
        return "<instant>"
    return obj


def leaks(decoded: Decoded) -> list[str]:
    """Canary leaks in a decoded output (empty when it is clean)."""
    found = []
    blob = "\n".join(decoded.text)
    if CANARY.lower() in blob.lower():
        found.append("canary string")
    found.extend(f"canary digits {d}" for d in CANARY_DIGITS if d in blob)
    near = [
        (x, y)
        for x, y in decoded.coords
        if abs(x - CANARY_LON) < CANARY_RADIUS_DEG and abs(y - CANARY_LAT) < CANARY_RADIUS_DEG
    ]
    if near:
        found.append(f"{len(near)} coordinate(s) at the canary place")
    return found


def raw_leaks(data: bytes) -> list[str]:
    """Canary leaks in raw bytes: the string, its digits, or the coordinates as doubles."""
    found = []
    if CANARY.encode() in data:
        found.append("canary string")
    found.extend(f"canary digits {d}" for d in CANARY_DIGITS if d.encode() in data)
    for value in (CANARY_LON, CANARY_LAT):
        if struct.pack("<d", value) in data or struct.pack(">d", value) in data:
            found.append(f"coordinate {value} as a double")
    return found


def set_key(monkeypatch: object) -> object:
    """Put a fresh data key in force for a test (``SURVATLAS_KEY``); return it."""
    import base64

    from survatlas.store.encryption import KEY_ENV, KEY_FILE_ENV, generate_key

    key = generate_key()
    monkeypatch.setenv(KEY_ENV, base64.urlsafe_b64encode(key.secret).decode())  # type: ignore[attr-defined]
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)  # type: ignore[attr-defined]
    return key


def seed_hidden_batch(store: Store, folder: Path, tag: str) -> None:
    """One batch of hidden records carrying :data:`CANARY`: a confidential and a restricted
    camera, a restricted building, street and site, a restricted source and its claim."""
    folder.mkdir(parents=True, exist_ok=True)
    step = 0.0006 * int(re.sub(r"\D", "", tag) or 0)  # each batch a place of its own (sites 30 m apart merge)
    lon, lat = CANARY_LON + 0.0004 + step, CANARY_LAT + 0.0004
    cams = write(
        folder / f"{CANARY}-{tag}-cams.csv",
        "id,latitude,longitude,name,sensitivity\n"
        f"{tag}-c,{lat},{lon},{CANARY} {tag},confidential\n"
        f"{tag}-r,{lat + 0.0001},{lon},{CANARY} {tag},restricted\n",
    )
    import_cameras(store, cams)
    geoms = {
        "buildings": _square(lon, lat),
        "streets": {"type": "LineString", "coordinates": [[lon, lat], [lon + 0.0002, lat]]},
        "sites": {"type": "Point", "coordinates": [lon, lat]},
    }
    for kind, geom in geoms.items():
        props = {"id": f"{CANARY}-{tag}-{kind}", "name": f"{CANARY} {tag}"}
        if kind == "sites":
            props["category"] = "education"
        path = write(folder / f"{CANARY}-{tag}-{kind}.geojson",
                     _fc([{"type": "Feature", "geometry": geom, "properties": props}]))
        import_layer(store, path, kind, sensitivity="restricted")
    source = add_source(store, kind="document", title=f"{CANARY} {tag}", sensitivity="restricted")
    hidden = int(store.scalar("SELECT max(id) FROM devices WHERE sensitivity != 'public'"))
    add_claim(store, source_id=source, subject_type="device", subject_id=hidden,
              statement=f"{CANARY} {tag}")


def build_pair(folder: Path, order: str = "last") -> tuple[Path, Path, dict[str, object]]:
    """Two stores with the same public records; the second also holds the canary.

    ``order="last"`` adds the hidden records after the public ones; ``"interleaved"`` adds a
    batch of them first, one between every two public writes, and the canary last — so that
    row ids of public records differ between the stores while their public ids must not.
    """
    plain, canary = folder / "plain.db", folder / "canary.db"
    batches = iter(range(1, 100))

    def hide() -> None:
        with Store(canary) as inner:
            seed_hidden_batch(inner, folder / "in", f"b{next(batches)}")

    between = hide if order == "interleaved" else None
    with Store(plain) as store:
        seed_public(store, folder / "in", between=(lambda: None) if between else None)
    if between:
        hide()
    with Store(canary) as store:
        seed_public(store, folder / "in", between=between)
    with Store(canary) as store:
        ids = seed_canary(store, folder / "in")
    for db in (plain, canary):  # result layers (coverage) are exported and checked too
        with Store(db) as store:
            compute_coverage(store, settings=Settings(levels=("detection", "identification"), cell_m=4.0))
    return plain, canary, ids
