"""What the redesigned map reads: glyphs from local fonts, search, label languages, clusters."""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest
import shapely
from fastapi.testclient import TestClient

from survatlas.errors import InputError
from survatlas.ingest._records import Record
from survatlas.ingest._writer import write_layer
from survatlas.provenance.sources import file_source
from survatlas.publish import glyphs
from survatlas.publish.search import search
from survatlas.publish.tiles import CLUSTER_ZOOM, render_tile
from survatlas.store import Store
from survatlas.web import create_app
from web_builders import HOSTILE, LAT, LON, build_web_store


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = data[i]
        value |= (byte & 0x7F) << shift
        i += 1
        if byte < 0x80:
            return value, i
        shift += 7


def _message(data: bytes) -> list[tuple[int, int | bytes]]:
    """Fields of a protobuf message as (number, int or bytes)."""
    out, i = [], 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
            out.append((number, value))
        elif wire == 2:
            size, i = _varint(data, i)
            out.append((number, data[i : i + size]))
            i += size
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return out


def _unzigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _glyphs(pbf: bytes) -> tuple[str, str, dict[int, dict]]:
    [(number, stack)] = _message(pbf)
    assert number == 1
    fields = _message(stack)
    name = next(v for n, v in fields if n == 1).decode()
    span = next(v for n, v in fields if n == 2).decode()
    out = {}
    for n, raw in fields:
        if n != 3:
            continue
        g = dict(_message(raw))
        out[g[1]] = {
            "bitmap": g.get(2, b""),
            "width": g[3],
            "height": g[4],
            "left": _unzigzag(g[5]),
            "top": _unzigzag(g[6]),
            "advance": g[7],
        }
    return name, span, out


def test_latin_glyphs_are_signed_distance_fields_of_the_noto_font():
    name, span, found = _glyphs(glyphs.glyph_range("Noto Sans Regular", 0))
    assert (name, span) == ("Noto Sans Regular", "0-255")
    a, dot, space = found[ord("A")], found[ord(".")], found[ord(" ")]
    b = glyphs.BUFFER
    assert len(a["bitmap"]) == (a["width"] + 2 * b) * (a["height"] + 2 * b)
    assert 12 <= a["height"] <= 20 and a["advance"] > 10  # a capital at 24 px
    assert dot["width"] < a["width"] and dot["top"] < a["top"]  # a dot sits low
    assert space["bitmap"] == b"" and space["advance"] > 0
    # inside the glyph the field is high, far outside it is 0
    assert max(a["bitmap"]) > 200 and a["bitmap"][0] < 60
    assert ord("é") in found and 0 not in found  # no control characters


def test_korean_glyphs_come_from_the_cjk_font():
    """fonts-noto-cjk is installed by `make publishing` (Korean place names, e.g. the KP study)."""
    start = ord("한") // 256 * 256
    _, _, found = _glyphs(glyphs.glyph_range("Noto Sans Regular", start))
    han = found[ord("한")]
    assert han["width"] > 15 and len(han["bitmap"]) == (han["width"] + 6) * (han["height"] + 6)
    assert any("CJK" in p.name for p in glyphs.stack_fonts("Noto Sans Bold"))


@pytest.mark.parametrize(("stack", "start"), [("Comic Sans", 0), ("Noto Sans Regular", 100)])
def test_bad_glyph_requests_are_input_errors(stack, start):
    with pytest.raises(InputError):
        glyphs.glyph_range(stack, start)


def test_missing_fonts_say_which_package_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("SURVATLAS_FONT_DIRS", str(tmp_path))
    for cached in (glyphs._find, glyphs._face, glyphs.glyph_range):
        cached.cache_clear()
    try:
        with pytest.raises(glyphs.FontMissingError, match="fonts-noto-core"):
            glyphs.glyph_range("Noto Sans Bold", 256)
    finally:
        monkeypatch.delenv("SURVATLAS_FONT_DIRS")
        for cached in (glyphs._find, glyphs._face, glyphs.glyph_range):
            cached.cache_clear()


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    web = build_web_store(tmp_path_factory.mktemp("map") / "web.db")
    street = Record(
        "test:s2",
        shapely.to_wkb(shapely.LineString([(LON - 0.001, LAT + 0.0005), (LON + 0.001, LAT + 0.0005)])),
        {"highway": "residential", "name": "Mannerheimintie", "walkable": 1},
        {"highway": "residential", "name": "Mannerheimintie", "name:sv": "Mannerheimvägen",
         "name:ko": "만네르헤임 거리"},
    )
    with Store(web.path) as store, store.transaction() as conn:
        source = file_source(conn, kind="osm", title="names", sha256="names")
        write_layer(conn, "streets", source, [street])
    return web


@pytest.fixture(scope="module")
def client(web):
    return TestClient(create_app(web.path))


def test_glyph_route_serves_protobuf(client):
    response = client.get("/fonts/Noto Sans Bold,Arial Unicode MS Regular/0-255.pbf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    assert _glyphs(response.content)[0] == "Noto Sans Bold"
    assert client.get("/fonts/Nope/0-255.pbf").status_code == 422
    assert client.get("/fonts/Noto Sans Bold/70000-70255.pbf").status_code == 422


def test_search_finds_places_streets_and_devices_through_the_gate(client, web):
    hits = client.get("/api/search", params={"q": "test"}).json()["results"]
    places = {h["label"] for h in hits if h["kind"] == "place"}
    assert places == {"Test School", "Test Station"}  # not the restricted "Secret Site"
    # a street by its Swedish name, once, with the extent of its segments
    streets = [h for h in client.get("/api/search?q=heimväg").json()["results"]]
    assert [(h["kind"], h["label"]) for h in streets] == [("street", "Mannerheimintie")]
    assert streets[0]["bbox"][0] == pytest.approx(LON - 0.001)
    # devices by id, by operator, never the restricted one
    by_id = client.get(f"/api/search?q={web.public_ids[0]}").json()["results"]
    assert any(h["kind"] == "device" and h["id"] == web.public_ids[0] for h in by_id)
    by_operator = client.get("/api/search?q=City").json()["results"]
    assert [h["id"] for h in by_operator if h["kind"] == "device"] == [web.public_ids[0]]
    assert client.get("/api/search?q=secret").json()["results"] == []
    hostile = client.get("/api/search", params={"q": HOSTILE[:20]}).json()["results"]
    assert any(h["kind"] == "device" and h["id"] == web.hostile_id for h in hostile)
    # SQL wildcards are text
    assert client.get("/api/search?q=%25%25").json()["results"] == []


def test_restricted_audience_finds_restricted_records(web):
    with Store(web.path, create=False) as store:
        found = search(store, "secret", audience="restricted")["results"]
    assert {h["kind"] for h in found} == {"place", "device"}


@pytest.mark.parametrize("q", ["", "a", "x" * 101])
def test_search_text_must_be_sensible(client, q):
    response = client.get("/api/search", params={"q": q})
    assert response.status_code == 422


def test_config_lists_label_languages_in_use(client):
    labels = client.get("/api/config").json()["labels"]
    assert {lang["code"] for lang in labels["languages"]} == {"sv", "ko"}
    assert "Noto Sans Regular" in labels["fontstacks"]


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def test_street_tiles_carry_the_label_languages(web):
    with Store(web.path, create=False) as store:
        tile = mapbox_vector_tile.decode(render_tile(store, "base", *_tile_of(LON, LAT, 16)))
    props = {f["properties"]["name"]: f["properties"] for f in tile["streets"]["features"]}
    assert props["Mannerheimintie"]["name:sv"] == "Mannerheimvägen"
    assert props["Mannerheimintie"]["name:ko"] == "만네르헤임 거리"
    assert "name:sv" not in props["Testikatu"]


def test_devices_cluster_below_the_cluster_zoom_even_when_sparse(web):
    with Store(web.path, create=False) as store:
        low = mapbox_vector_tile.decode(
            render_tile(store, "devices", *_tile_of(LON, LAT, CLUSTER_ZOOM - 1))
        )
        high = mapbox_vector_tile.decode(
            render_tile(store, "devices", *_tile_of(LON, LAT, CLUSTER_ZOOM))
        )
    assert "devices" not in low
    assert sum(f["properties"]["count"] for f in low["clusters"]["features"]) == 4
    assert len(high["devices"]["features"]) == 4
