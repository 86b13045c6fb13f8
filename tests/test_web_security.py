"""Safety of the web app: offline CSP, private mode needs auth, one dependency guards every
data route, the tile URL is checked, fuzzed parameters never give a 500, CLI binds loopback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from fastapi import Depends, HTTPException, Request
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survatlas.cli import main
from survatlas.errors import InputError, StoreError
from survatlas.web import create_app
from web_builders import build_web_store


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    return build_web_store(tmp_path_factory.mktemp("security") / "web.db")


@pytest.fixture(scope="module")
def client(web):
    return TestClient(create_app(web.path), raise_server_exceptions=False)


def test_every_response_carries_an_offline_csp(client):
    for path in ("/api/config", "/api/devices?bbox=x", "/"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "connect-src 'self';" in csp
        assert "script-src 'self';" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_online_tiles_widen_the_csp_to_that_origin_only(web):
    app = create_app(web.path, tile_url="https://tiles.example.org/{z}/{x}/{y}.png")
    csp = TestClient(app).get("/api/config").headers["content-security-policy"]
    assert "img-src 'self' data: blob: https://tiles.example.org" in csp
    assert TestClient(app).get("/api/config").json()["tile_url"].startswith("https://tiles.")


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "ftp://x/{z}/{x}/{y}", "https://x/tiles.png", "https:///{z}{x}{y}"],
)
def test_bad_tile_urls_are_refused(web, url):
    with pytest.raises(InputError):
        create_app(web.path, tile_url=url)


def test_private_map_needs_a_token_and_still_hides_restricted_records(web):
    client = TestClient(create_app(web.path, private=True))
    for path in ("/api/stats", "/api/devices?bbox=24,60,25,61", "/tiles/devices/15/18654/9483.mvt"):
        assert client.get(path).status_code in {401, 403}, path
    assert client.get("/api/stats", headers={"Authorization": "Bearer nonsense"}).status_code in {401, 403}


def test_one_dependency_guards_every_data_route(web):
    def require_token(request: Request) -> None:
        if request.headers.get("x-token") != "ok":
            raise HTTPException(status_code=401, detail="token needed")

    app = create_app(web.path, dependencies=[Depends(require_token)])
    client = TestClient(app)
    paths = [
        "/api/devices?bbox=24,60,25,61",
        f"/api/devices/{web.restricted_id}",
        "/api/stats",
        "/api/config",
        "/tiles/devices/15/18654/9483.mvt",
        "/api/route?from=60.17,24.94&to=60.18,24.95",
    ]
    for path in paths:
        assert client.get(path).status_code == 401, path
    detail = client.get(f"/api/devices/{web.restricted_id}", headers={"x-token": "ok"})
    assert detail.status_code == 404  # a token opens the API, never restricted records


def test_missing_store_is_an_error(tmp_path):
    with pytest.raises(StoreError):
        create_app(tmp_path / "nothing.db")


@given(
    bbox=st.text(max_size=60)
    | st.lists(st.floats(), min_size=4, max_size=4).map(lambda v: ",".join(map(str, v))),
    limit=st.integers(-10, 10_000) | st.text(max_size=5),
    offset=st.integers(-10, 10**9),
)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_fuzzed_page_parameters_never_500(client, bbox, limit, offset):
    response = client.get("/api/devices", params={"bbox": bbox, "limit": limit, "offset": offset})
    assert response.status_code in {200, 422}


def test_serve_help_and_loopback_default():
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    assert "127.0.0.1" in result.output


def test_serve_refuses_a_missing_store(tmp_path):
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "none.db"), "serve"])
    assert result.exit_code == 2 and "no store" in result.output
