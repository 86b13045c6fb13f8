"""survatlas fetch against local Overpass / Nominatim / extract servers (pytest-httpserver).

The servers answer from the bundled central-Helsinki extract; nothing touches the internet.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug import Request, Response

from osm_services import MiniOverpass, read_elements
from survatlas.cli import main
from survatlas.errors import FetchError, InputError
from survatlas.ingest import import_osm
from survatlas.ingest._http import Client, retry_after
from survatlas.ingest.fetch import fetch_area, fetch_region, load_settings
from survatlas.ingest.osm import header_box
from survatlas.store import Store

OSM_BASE = "2019-04-21T09:50:14Z"
LAYER_KEYS = {
    "devices": "origin, osm_version, osm_timestamp, geom, tags, device_type, operator, lon, lat",
    "buildings": "origin, osm_version, osm_timestamp, geom, tags, building, height_m",
    "streets": "origin, osm_version, osm_timestamp, geom, tags, highway, walkable",
    "sites": "origin, category, osm_version, geom, tags, name",
}


@pytest.fixture(scope="module")
def elements(helsinki_pbf: Path):
    return read_elements(helsinki_pbf)


@pytest.fixture
def overpass(httpserver, elements):
    mini = MiniOverpass(elements, OSM_BASE)

    def handle(request: Request) -> Response:
        return Response(mini.answer(request.form["data"]), content_type="application/json")

    httpserver.expect_request("/api/interpreter", method="POST").respond_with_handler(handle)
    return mini


def _settings(httpserver, tmp_path: Path, **kw):
    sleeps: list[float] = []
    client = Client(tries=3, backoff_s=0.01, sleep=sleeps.append, timeout_s=20)
    settings = load_settings(overpass_url=httpserver.url_for("/api/interpreter"),
                             nominatim_url=httpserver.url_for("/nominatim"),
                             geofabrik_url=httpserver.url_for("/extracts"),
                             cache_dir=tmp_path / "cache", client=client, **kw)
    return settings, sleeps


def _layers(store: Store) -> dict[str, set[tuple]]:
    return {layer: {tuple(r) for r in store.query(f"SELECT {cols} FROM {layer}")}
            for layer, cols in LAYER_KEYS.items()}


def test_fetched_store_equals_imported_file(tmp_path, httpserver, overpass, helsinki_pbf):
    box = header_box(helsinki_pbf)
    settings, _ = _settings(httpserver, tmp_path, tile_km2=0.5)
    with Store(tmp_path / "file.db") as store:
        import_osm(store, helsinki_pbf)
        expected = _layers(store)
    with Store(tmp_path / "fetched.db") as store:
        summary = fetch_area(store, bbox=box, settings=settings)
        got = _layers(store)
        source = store.query("SELECT * FROM sources WHERE id = ?", (summary.source_id,))[0]
        snapshot = store.query("SELECT as_of, min_x, max_y FROM snapshots")[0]
    assert len(overpass.queries) >= 4  # the area was split into tiles
    assert all(q.startswith("[out:json]") for q in overpass.queries)
    assert len(expected["devices"]) == 221 + 2 and len(expected["buildings"]) > 400
    for layer in LAYER_KEYS:
        assert got[layer] == expected[layer], layer
    assert source["uri"] == settings.overpass_url
    assert source["data_timestamp"] == OSM_BASE and source["retrieved_at"]
    assert source["attribution"].startswith("©") and "OpenStreetMap" in source["attribution"]
    assert snapshot[0] == "2019-04-21T09:50:14+00:00"
    assert snapshot[1] == pytest.approx(box[0]) and snapshot[2] == pytest.approx(box[3])


def test_cache_and_refresh(tmp_path, httpserver, overpass, helsinki_pbf):
    settings, _ = _settings(httpserver, tmp_path)
    box = (24.945, 60.168, 24.950, 60.171)
    with Store(tmp_path / "s.db") as store:
        first = fetch_area(store, bbox=box, what=("cameras",), settings=settings)
        asked = len(overpass.queries)
        again = fetch_area(store, bbox=box, what=("cameras",), settings=settings)
        assert len(overpass.queries) == asked  # answered from the cache
        assert again.changed == 0 and again.source_id == first.source_id
        fetch_area(store, bbox=box, what=("cameras",), settings=settings, refresh=True)
        assert len(overpass.queries) == asked + 1
        counts = {t: store.query(f"SELECT count(*) FROM {t}")[0][0]
                  for t in ("devices", "buildings", "streets", "sites")}
    assert counts["devices"] == first.layers["devices"].added > 0
    assert counts["buildings"] == counts["streets"] == 0  # --what cameras only


def test_429_then_success_honours_retry_after(tmp_path, httpserver, overpass):
    httpserver.expect_oneshot_request("/api/interpreter").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7"})
    settings, sleeps = _settings(httpserver, tmp_path)
    with Store(tmp_path / "s.db") as store:
        summary = fetch_area(store, bbox=(24.945, 60.168, 24.950, 60.171), what=("cameras",),
                             settings=settings)
    assert sleeps == [7.0]
    assert summary.layers["devices"].added > 0
    seen = httpserver.log
    assert all(req.headers["User-Agent"].startswith("survatlas/") for req, _ in seen)


def test_server_error_after_retries_writes_nothing(tmp_path, httpserver):
    httpserver.expect_request("/api/interpreter").respond_with_data("busy", status=504)
    settings, sleeps = _settings(httpserver, tmp_path)
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(FetchError, match=r"failed 3 times .*HTTP 504"):
            fetch_area(store, bbox=(24.945, 60.168, 24.950, 60.171), settings=settings)
        assert store.query("SELECT count(*) FROM sources")[0][0] == 0
    assert sleeps == [0.01, 0.02]  # exponential back-off without Retry-After


@pytest.mark.parametrize("body, message", [
    (b"<html>gateway</html>", "malformed JSON"),
    (b'{"elements": "no"}', "without an 'elements' list"),
    (b'{"elements": [{"type": "node", "id": 1}]}', "malformed element"),
    (b'{"elements": [], "remark": "runtime error: Query timed out"}', "timed out"),
])
def test_bad_answers_write_nothing(tmp_path, httpserver, body, message):
    httpserver.expect_request("/api/interpreter").respond_with_data(body)
    settings, _ = _settings(httpserver, tmp_path)
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(FetchError, match=message):
            fetch_area(store, bbox=(24.945, 60.168, 24.950, 60.171), settings=settings)
        assert store.query("SELECT count(*) FROM sources")[0][0] == 0
    assert not list((tmp_path / "cache").rglob("*.json"))  # a bad answer is never cached


def test_place_is_geocoded_and_unknown_place_is_one_line(tmp_path, httpserver, overpass):
    hit = [{"display_name": "Kluuvi, Helsinki", "osm_type": "relation", "osm_id": 1,
            "boundingbox": ["60.168", "60.171", "24.945", "24.950"]}]
    httpserver.expect_request("/nominatim/search", query_string={
        "q": "Kluuvi", "format": "jsonv2", "limit": "1"}).respond_with_json(hit)
    httpserver.expect_request("/nominatim/search").respond_with_json([])
    settings, _ = _settings(httpserver, tmp_path)
    with Store(tmp_path / "s.db") as store:
        summary = fetch_area(store, place="Kluuvi", what=("cameras",), settings=settings)
        assert "(24.9450000" not in overpass.queries[-1]  # Overpass boxes are S,W,N,E
        assert "(60.1680000,24.9450000,60.1710000,24.9500000)" in overpass.queries[-1]
        assert "Kluuvi (relation/1)" in summary.file
        with pytest.raises(InputError, match="unknown place 'Atlantis'"):
            fetch_area(store, place="Atlantis", settings=settings)


def test_area_too_large(tmp_path, httpserver):
    settings, _ = _settings(httpserver, tmp_path)
    with Store(tmp_path / "s.db") as store, pytest.raises(InputError, match="area too large"):
        fetch_area(store, bbox=(20.0, 59.0, 26.0, 62.0), settings=settings)
    assert not httpserver.log


def test_retry_after_date():
    assert retry_after("120") == 120.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert retry_after("soon") is None


def _serve_extract(httpserver, data: bytes, md5: str, ranges: list[str]) -> None:
    def handle(request: Request) -> Response:
        ranges.append(request.headers.get("Range", ""))
        start = int(request.headers["Range"][6:-1]) if request.headers.get("Range") else 0
        status = 206 if start else 200
        return Response(data[start:], status=status, content_type="application/octet-stream")

    base = "/extracts/europe/helsinki-latest.osm.pbf"
    httpserver.expect_request(base + ".md5").respond_with_data(f"{md5}  helsinki-latest.osm.pbf\n")
    httpserver.expect_request(base).respond_with_handler(handle)
    httpserver.expect_request(re.compile("/extracts/.*")).respond_with_data("no", status=404)


def test_region_download_resumes_and_checks_md5(tmp_path, httpserver, helsinki_pbf):
    data = helsinki_pbf.read_bytes()
    ranges: list[str] = []
    _serve_extract(httpserver, data, hashlib.md5(data).hexdigest(), ranges)
    settings, _ = _settings(httpserver, tmp_path)
    part = tmp_path / "cache" / "regions" / "europe_helsinki-latest.osm.pbf.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:100_000])  # an interrupted download
    with Store(tmp_path / "s.db") as store:
        summary = fetch_region(store, "europe/helsinki", settings=settings)
        source = store.query("SELECT uri FROM sources")[0][0]
        assert summary.layers["devices"].added == 223
        again = fetch_region(store, "europe/helsinki", settings=settings)
        assert again.changed == 0
    assert ranges == ["bytes=100000-"]  # resumed once, then served from the cache
    assert source.endswith("/extracts/europe/helsinki-latest.osm.pbf")


def test_region_md5_mismatch_and_unknown_region(tmp_path, httpserver, helsinki_pbf):
    _serve_extract(httpserver, helsinki_pbf.read_bytes(), "0" * 32, [])
    settings, _ = _settings(httpserver, tmp_path)
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(FetchError, match="does not match its MD5"):
            fetch_region(store, "europe/helsinki", settings=settings)
        with pytest.raises(InputError, match="unknown region 'asia/atlantis'"):
            fetch_region(store, "asia/atlantis", settings=settings)
        assert store.query("SELECT count(*) FROM sources")[0][0] == 0


def test_cli_fetch_and_one_line_errors(tmp_path, httpserver, overpass, monkeypatch):
    monkeypatch.setenv("SURVATLAS_CACHE_DIR", str(tmp_path / "cache"))
    url = httpserver.url_for("/api/interpreter")
    db = str(tmp_path / "cli.db")
    run = CliRunner().invoke(main, ["--db", db, "fetch", "--bbox", "24.945,60.168,24.950,60.171",
                                    "--what", "cameras", "--overpass-url", url, "--json"])
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert data["layers"]["devices"]["added"] > 0 and data["history"]["added"] > 0
    config = tmp_path / "config.toml"
    config.write_text(f'[fetch]\noverpass_url = "{url}"\nmax_km2 = 1.0\n')
    monkeypatch.setenv("SURVATLAS_CONFIG", str(config))
    run = CliRunner().invoke(main, ["--db", db, "fetch", "--bbox", "24.9,60.1,25.0,60.2"])
    assert run.exit_code == 2
    assert run.stderr.strip().count("\n") == 0 and "area too large" in run.stderr
    assert "the limit is 1 km²" in run.stderr  # read from the config file


def test_cli_bad_server_url_and_failed_first_fetch_leave_nothing(tmp_path, httpserver,
                                                                 monkeypatch):
    monkeypatch.setenv("SURVATLAS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SURVATLAS_CONFIG", str(tmp_path / "none.toml"))
    db = tmp_path / "new.db"
    run = CliRunner().invoke(main, ["--db", str(db), "fetch", "--place", "Kallio",
                                    "--nominatim-url", "ftp://example.org"])
    assert run.exit_code == 2
    assert run.stderr.strip().count("\n") == 0
    assert "--nominatim-url 'ftp://example.org' is not an http(s) URL" in run.stderr
    (tmp_path / "bad.toml").write_text('[fetch]\nmax_km2 = "lots"\n')
    monkeypatch.setenv("SURVATLAS_CONFIG", str(tmp_path / "bad.toml"))
    run = CliRunner().invoke(main, ["--db", str(db), "fetch", "--bbox", "24.9,60.1,25.0,60.2"])
    assert run.exit_code == 2 and "max_km2 = 'lots'" in run.stderr
    monkeypatch.setenv("SURVATLAS_CONFIG", str(tmp_path / "none.toml"))
    httpserver.expect_request("/api/interpreter").respond_with_data("busy", status=400)
    run = CliRunner().invoke(main, ["--db", str(db), "fetch", "--bbox",
                                    "24.945,60.168,24.950,60.171", "--overpass-url",
                                    httpserver.url_for("/api/interpreter")])
    assert run.exit_code != 0 and run.stderr.strip().count("\n") == 0, run.stderr
    assert not db.exists() and not list(tmp_path.glob("new.db*"))  # no empty store left
