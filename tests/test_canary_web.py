"""Promises 4 and 6 for the web API: every registered route, enumerated from ``app.routes``.

(1) The canary: on a store holding confidential and restricted canary records, every route is
called with parameters aimed at the canary (its ids, a bbox and tiles around its place, every
layer and tileset, ``audience=confidential`` smuggled in the query); each response is decoded
(JSON, vector tiles, text) and must hold no trace of the canary and equal the response of the
same store without the canary records. (2) Access: every route is called anonymously, as each
role and with a bad token, on a public and a private server.

This file needs the web app (``survatlas.web.app.create_app``). It imports it directly — no
skip — so it fails loudly until the web API is merged.
"""

from __future__ import annotations

import inspect
import json
import math
import re

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

from security_builders import (
    CANARY,
    CANARY_LAT,
    CANARY_LON,
    Decoded,
    build_pair,
    leaks,
    raw_leaks,
    set_key,
    without_times,
)
from survatlas.provenance.access import create_token
from survatlas.store import Store
from survatlas.vocab import LAYERS
from survatlas.web.app import create_app
from survatlas.web.auth import install_access, require_role

ROLES = ("viewer", "editor", "admin")
BBOXES = (
    f"{CANARY_LON - 0.01},{CANARY_LAT - 0.01},{CANARY_LON + 0.01},{CANARY_LAT + 0.01}",
    "7.3,43.6,7.5,43.8",
)
ZOOMS = (0, 6, 10, 13, 15, 17)


def make_app(db, *, private: bool):
    """The real app, protected by :mod:`survatlas.web.auth` (the factory may already do it)."""
    kwargs = {}
    params = inspect.signature(create_app).parameters
    if "private" in params:
        kwargs["private"] = private
    if "dependencies" in params:
        kwargs["dependencies"] = [Depends(require_role("viewer"))]
    app = create_app(db, **kwargs)
    if getattr(app.state, "survatlas_access", None) is None:
        install_access(app, db, private=private)
    return app


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    set_key(mp)
    plain, canary, ids = build_pair(tmp_path_factory.mktemp("web-canary"))
    tokens = {}
    for db in (plain, canary):
        with Store(db) as store:
            tokens[db] = {role: create_token(store, f"{role}-user", role) for role in ROLES}
    yield plain, canary, ids, tokens
    mp.undo()


def _tile(z: int) -> tuple[int, int]:
    n = 2**z
    x = int((CANARY_LON + 180) / 360 * n)
    lat = math.radians(CANARY_LAT)
    y = int((1 - math.asinh(math.tan(lat)) / math.pi) / 2 * n)
    return x, y


def _path_values(name: str, ids: dict) -> list[str]:
    if name in {"z", "x", "y"}:
        return []  # handled together
    if "tileset" in name:
        return ["base", "devices", *LAYERS]
    if "layer" in name:
        return list(LAYERS)
    if name == "contribution_id":  # an absent one: access is checked before anything changes
        return ["999"]
    if name.endswith("id"):
        return [str(i) for i in (1, 2, ids["device"], ids["source"], 9)]
    if "sha" in name:
        return [str(ids["evidence"])]
    return ["1"]


def _query_values(name: str) -> list[str]:
    lowered = name.lower()
    if "bbox" in lowered:
        return list(BBOXES)
    if lowered in {"from", "to", "start", "end", "origin", "destination", "a", "b"}:
        return [f"{CANARY_LAT},{CANARY_LON}"]
    if lowered in {"lat", "latitude"}:
        return [str(CANARY_LAT)]
    if lowered in {"lon", "lng", "longitude"}:
        return [str(CANARY_LON)]
    if "layer" in lowered:
        return list(LAYERS)
    if "audience" in lowered:
        return ["confidential"]
    return ["1"]


def endpoints(app) -> list[tuple[str, str, list[str]]]:
    """Every (method, path, query parameter names) the app serves: its OpenAPI description
    plus the routes left out of it (pages, docs), however routers are nested."""
    found: dict[tuple[str, str], list[str]] = {}
    for path, ops in app.openapi()["paths"].items():
        for method, op in ops.items():
            names = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
            found[(method.upper(), path)] = names
    for path, route in _walk(app.routes):
        dependant = getattr(route, "dependant", None)
        names = [q.alias for q in dependant.query_params] if dependant else []
        for method in getattr(route, "methods", None) or ():
            found.setdefault((method, path), names)
    return [(m, p, q) for (m, p), q in sorted(found.items()) if m != "HEAD"]


def moderation_paths(app) -> set[str]:
    """Paths of the editors' moderation views (tag ``moderation``): they show restricted
    contributions to editors and are checked for access, not as public outputs."""
    return {
        path
        for path, ops in app.openapi()["paths"].items()
        if any("moderation" in op.get("tags", []) for op in ops.values())
    }


def _walk(routes, prefix: str = ""):
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:  # FastAPI's included-router wrapper
            context = getattr(route, "include_context", None)
            yield from _walk(inner.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif hasattr(route, "routes") and not hasattr(route, "methods"):  # a Mount
            yield from _walk(route.routes, prefix + getattr(route, "path", ""))
        elif hasattr(route, "path"):
            yield prefix + route.path, route


def _requests(path: str, query_names: list[str], ids: dict) -> list[tuple[str, dict]]:
    """Concrete (path, query) pairs aimed at the canary for one endpoint."""
    names = re.findall(r"{(\w+)(?::\w+)?}", path)
    paths = [path]
    if {"z", "x", "y"} <= set(names):
        paths = [
            path.replace("{z}", str(z))
            .replace("{x}", str(_tile(z)[0]))
            .replace("{y}", str(_tile(z)[1]))
            for z in ZOOMS
        ]
    for name in names:
        if name in {"z", "x", "y"}:
            continue
        paths = [
            re.sub(r"{" + name + r"(?::\w+)?}", v, p)
            for p in paths
            for v in _path_values(name, ids)
        ]
    queries: list[dict] = [{"audience": "confidential"}]
    for name in query_names:
        if name in {"limit", "offset", "page"}:
            continue
        queries = [{**q, name: v} for q in queries for v in _query_values(name)]
    return [(p, q) for p in paths for q in queries[:12]]


def _decode(response) -> Decoded:
    out = Decoded()
    body = response.content
    kind = response.headers.get("content-type", "")
    if "json" in kind:
        data = without_times(response.json())
        out.text.append(json.dumps(data, sort_keys=True))
        from security_builders import _walk_json

        _walk_json(data, out)
    elif "vector-tile" in kind or "protobuf" in kind:
        import mapbox_vector_tile

        out.text.append(json.dumps(mapbox_vector_tile.decode(body), sort_keys=True, default=str))
    else:
        out.text.append(body.decode("utf-8", errors="replace"))
    return out


@pytest.mark.parametrize("private", [False, True])
def test_no_route_leaks_the_canary(stores, private):
    plain, canary, ids, tokens = stores
    apps = {db: TestClient(make_app(db, private=private)) for db in (plain, canary)}
    headers = {db: {"Authorization": f"Bearer {tokens[db]['admin']}"} for db in (plain, canary)}
    moderation = moderation_paths(apps[canary].app)
    assert "/api/contributions" in moderation
    routes = [e for e in endpoints(apps[canary].app) if e[0] == "GET" and e[1] not in moderation]
    assert len(routes) >= 5, "the app registers its routes"
    checked = 0
    for _, route_path, query_names in routes:
        for path, query in _requests(route_path, query_names, ids):
            got = apps[canary].get(path, params=query, headers=headers[canary])
            ref = apps[plain].get(path, params=query, headers=headers[plain])
            decoded = _decode(got)
            assert not raw_leaks(got.content), (path, query)
            assert leaks(decoded) == [], (path, query)
            assert CANARY not in got.text
            assert got.status_code == ref.status_code, (path, query)
            assert decoded.canonical() == _decode(ref).canonical(), (path, query)
            checked += 1
    assert checked >= len(routes)


@pytest.mark.parametrize("private", [False, True])
def test_every_route_for_every_caller(stores, private):
    _, canary, ids, tokens = stores
    client = TestClient(make_app(canary, private=private))
    moderation = moderation_paths(client.app)
    for method, route_path, query_names in endpoints(client.app):
        path, query = _requests(route_path, query_names, ids)[0]
        write = method not in {"GET", "HEAD", "OPTIONS"} or route_path in moderation
        anon = client.request(method, path, params=query)
        if private or write:
            assert anon.status_code == 401, (method, path)
        else:
            assert anon.status_code not in (401, 403), (method, path)
        bad = client.request(
            method, path, params=query, headers={"Authorization": "Bearer sva_forged"}
        )
        assert bad.status_code == 401, (method, path)
        for role, token in tokens[canary].items():
            res = client.request(
                method, path, params=query, headers={"Authorization": f"Bearer {token}"}
            )
            if write and role == "viewer":
                assert res.status_code == 403, (method, path, role)
            elif not write:
                assert res.status_code not in (401, 403), (method, path, role)


def test_the_moderation_queue_is_for_editors_only(stores):
    """The queue does hold the canary (so its protection matters): editors see it, nobody else."""
    _, canary, ids, tokens = stores
    client = TestClient(make_app(canary, private=False))
    queue = "/api/contributions"
    assert client.get(queue).status_code == 401
    viewer = {"Authorization": f"Bearer {tokens[canary]['viewer']}"}
    assert client.get(queue, headers=viewer).status_code == 403
    photo = f"{queue}/{ids['contribution']}/photos/1"
    assert client.get(photo).status_code == 401
    assert client.get(photo, headers=viewer).status_code == 403
    editor = {"Authorization": f"Bearer {tokens[canary]['editor']}"}
    seen = client.get(queue, params={"status": "pending"}, headers=editor)
    assert seen.status_code == 200 and CANARY in seen.text
    assert client.get(photo, headers=editor).headers["content-type"] == "image/jpeg"
    form = client.get(f"{queue}/form")
    assert form.status_code == 200 and CANARY not in form.text
