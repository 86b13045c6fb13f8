"""Promise 8: hostile input files — a clear error, never a crash or a half-written store.

Hypothesis generates CSV text, GeoJSON documents, OSM XML, GIS layers, JPEG bytes and evidence
metadata; every importer must either succeed or raise a :class:`SurvatlasError`, and after an
error the store must be exactly as before and still verify.
"""

from __future__ import annotations

import io
import json
import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from security_builders import set_key
from survatlas.errors import SurvatlasError
from survatlas.ingest import import_cameras, import_layer, import_osm
from survatlas.provenance.evidence import add_evidence, derive_stripped, strip_jpeg_metadata
from survatlas.provenance.integrity import verify_store
from survatlas.provenance.sources import add_source
from survatlas.store import Store

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TABLES = (
    "sources",
    "devices",
    "buildings",
    "streets",
    "sites",
    "claims",
    "imports",
    "evidence_files",
    "device_warnings",
    "custody_log",
)


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


@pytest.fixture(scope="module")
def key():
    mp = pytest.MonkeyPatch()
    yield set_key(mp)
    mp.undo()


def _snapshot(store: Store) -> dict[str, int]:
    return {t: int(store.scalar(f"SELECT count(*) FROM {t}")) for t in TABLES}


def _attempt(store: Store, action) -> None:
    """Run an import; on error, check the error is ours and nothing was written."""
    before = _snapshot(store)
    try:
        action()
    except SurvatlasError as exc:
        assert str(exc), "an error must say what went wrong"
        assert _snapshot(store) == before
    assert verify_store(store).ok


_cell = st.text(alphabet=string.printable + "éß北\u00a0", max_size=12)
_coord = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["43.7", "7.4", "-91", "181", "0", "1e308", "", "NaN", "43,7", "abc"]),
)


@SETTINGS
@given(
    header=st.lists(
        st.sampled_from(
            [
                "latitude",
                "longitude",
                "lat",
                "lon",
                "name",
                "sensitivity",
                "camera:direction",
                "height",
                "fov_deg",
                "range_m",
                "id",
                "surveillance:type",
                "x",
                "y",
                "survatlas:origin",
            ]
        )
        | _cell,
        min_size=1,
        max_size=8,
    ),
    rows=st.lists(st.lists(_coord | _cell, min_size=0, max_size=9), max_size=6),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)
def test_csv_camera_lists(folder, header, rows, delimiter):
    path = folder / "fuzz.csv"
    path.write_text("\n".join(delimiter.join(r) for r in [header, *rows]), encoding="utf-8")
    with Store(folder / "csv.db") as store:
        _attempt(store, lambda: import_cameras(store, path))


@SETTINGS
@given(st.binary(max_size=400))
def test_csv_bytes(folder, data):
    path = folder / "bytes.csv"
    path.write_bytes(data)
    with Store(folder / "csvb.db") as store:
        _attempt(store, lambda: import_cameras(store, path))


_json = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=15,
)
_point = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["Point", "LineString", "Polygon", "point", None]),
        "coordinates": st.lists(st.floats() | st.integers() | st.text(max_size=3), max_size=4)
        | _json,
    }
)
_feature = st.fixed_dictionaries(
    {
        "type": st.just("Feature"),
        "geometry": _point | _json,
        "properties": st.dictionaries(
            st.sampled_from(["name", "sensitivity", "height", "id", "camera:direction", "fov_deg"])
            | st.text(max_size=6),
            _json,
            max_size=4,
        )
        | _json,
    }
)


@SETTINGS
@given(
    st.one_of(
        _json,
        st.fixed_dictionaries(
            {
                "type": st.just("FeatureCollection"),
                "features": st.lists(_feature | _json, max_size=5),
            }
        ),
    )
)
def test_geojson_camera_lists(folder, doc):
    path = folder / "fuzz.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with Store(folder / "geojson.db") as store:
        _attempt(store, lambda: import_cameras(store, path))


@SETTINGS
@given(
    kind=st.sampled_from(["buildings", "streets", "sites"]),
    features=st.lists(_feature, min_size=1, max_size=4),
)
@example(kind="buildings", features=[{"type": "Feature", "properties": {},
                                      "geometry": {"type": "Polygon", "coordinates": [[[0.0, 0.0]]]}}])
def test_gis_layers(folder, kind, features):
    path = folder / "layer.geojson"
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8"
    )
    with Store(folder / "layer.db") as store:
        _attempt(store, lambda: import_layer(store, path, kind))


OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="test">
  <node id="1" version="1" timestamp="2024-01-01T00:00:00Z" lat="43.73" lon="7.42">
    <tag k="man_made" v="surveillance"/><tag k="camera:direction" v="90"/></node>
  <node id="2" version="1" lat="43.731" lon="7.421"/>
  <node id="3" version="1" lat="43.732" lon="7.421"/>
  <node id="4" version="1" lat="43.732" lon="7.422"/>
  <way id="10" version="1"><nd ref="2"/><nd ref="3"/><tag k="highway" v="footway"/></way>
  <way id="11" version="1"><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="2"/>
    <tag k="building" v="yes"/></way>
</osm>
"""


@SETTINGS
@given(cuts=st.lists(st.tuples(st.integers(0, len(OSM) - 1), st.text(max_size=6)), max_size=4))
def test_osm_files(folder, cuts):
    text = OSM
    for pos, insert in cuts:
        text = text[:pos] + insert + text[pos + len(insert) :]
    path = folder / "fuzz.osm"
    path.write_text(text, encoding="utf-8")
    with Store(folder / "osm.db") as store:
        _attempt(store, lambda: import_osm(store, path))


@SETTINGS
@given(st.binary(max_size=300))
def test_osm_pbf_bytes(folder, data):
    path = folder / "fuzz.osm.pbf"
    path.write_bytes(data)
    with Store(folder / "pbf.db") as store:
        _attempt(store, lambda: import_osm(store, path))


def _jpeg() -> bytes:
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (43.0, 44.0, 8.4)}
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buf, "JPEG", exif=exif)
    return buf.getvalue()


JPEG = _jpeg()


@SETTINGS
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(JPEG) - 1), st.binary(min_size=1, max_size=4)), max_size=5
    ),
    cut=st.integers(2, len(JPEG)),
)
def test_jpeg_metadata_stripping(edits, cut):
    data = bytearray(JPEG[:cut])
    for pos, patch in edits:
        data[pos : pos + len(patch)] = patch
    try:
        out = strip_jpeg_metadata(bytes(data))
    except SurvatlasError:
        return
    assert out.startswith(b"\xff\xd8")
    assert b"Exif\x00\x00" not in out[: out.find(b"\xff\xda") if b"\xff\xda" in out else len(out)]


@SETTINGS
@given(
    data=st.binary(max_size=200) | st.just(JPEG),
    sensitivity=st.sampled_from([None, "public", "restricted", "confidential", "secret", ""]),
    media=st.one_of(st.none(), st.text(max_size=10)),
)
def test_evidence_files_and_metadata(folder, key, data, sensitivity, media):
    path = folder / "ev.bin"
    path.write_bytes(data)
    with Store(folder / "ev.db") as store:
        sid = store.scalar("SELECT id FROM sources LIMIT 1") or add_source(
            store, kind="photo", title="p"
        )

        _attempt(
            store,
            lambda: add_evidence(
                store, path, sid, sensitivity=sensitivity or None, media_type=media
            ),
        )
        shas = [
            r[0]
            for r in store.query("SELECT sha256 FROM evidence_files WHERE parent_sha256 IS NULL")
        ]
        for sha in shas[-1:]:
            _attempt(store, lambda sha=sha: derive_stripped(store, sha))
