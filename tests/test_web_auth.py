"""Promise 6 (API building blocks): every route of an app protected by
:func:`survatlas.web.auth.install_access` is checked anonymously, as each role and with a bad
token, in public and private mode. (tests/test_canary_web.py does the same for the real app.)"""

from __future__ import annotations

import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from survatlas.provenance.access import create_token
from survatlas.provenance.sources import add_source
from survatlas.store import Store
from survatlas.store.custody import current_actor, read_entries
from survatlas.web.auth import install_access, require_role

ROLES = ("viewer", "editor", "admin")
VIEWER = Depends(require_role("viewer"))


def make_app(db, private):
    app = FastAPI()
    install_access(app, db, private=private)

    @app.get("/api/things")
    def things():
        return {"things": []}

    @app.get("/api/me")
    def me(p=VIEWER):
        return {"name": p.name if p else None}

    @app.post("/api/sources")
    def add(title: str):
        with Store(db) as store:
            return {"id": add_source(store, kind="news", title=title), "actor": current_actor()}

    @app.post("/api/forgot-to-protect")
    def unprotected():
        return {"ok": True}

    @app.delete("/api/tokens/{name}", dependencies=[Depends(require_role("admin"))])
    def admin_only(name: str):
        return {"ok": name}

    return app


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    db = tmp_path_factory.mktemp("web") / "s.db"
    with Store(db) as store:
        tokens = {role: create_token(store, f"{role}-user", role) for role in ROLES}
    return db, tokens


def _needed(route: APIRoute) -> str | None:
    """The role a route needs (None: anyone unless private): writes need editor; require_role
    may ask for more (``viewer`` is what anonymous callers have on a public server)."""
    need = None if route.methods <= {"GET", "HEAD"} else "editor"
    for dep in route.dependant.dependencies:
        role = getattr(dep.call, "required_role", None)
        if role and role != "viewer" and (need is None or ROLES.index(role) > ROLES.index(need)):
            need = role
    return need


def _call(client, route, headers):
    path = route.path.replace("{name}", "x")
    method = sorted(route.methods)[0]
    return client.request(method, path, params={"title": "t"}, headers=headers)


@pytest.mark.parametrize("private", [False, True])
def test_every_route_for_every_caller(setup, private):
    db, tokens = setup
    app = make_app(db, private)
    client = TestClient(app)
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    assert len(routes) == 5
    for route in routes:
        need = _needed(route)
        anon = _call(client, route, {})
        if private or need is not None:
            assert anon.status_code == 401, (route.path, anon.text)
        else:
            assert anon.status_code == 200, route.path
        bad = _call(client, route, {"Authorization": "Bearer sva_forged"})
        assert bad.status_code == 401, route.path
        for role, token in tokens.items():
            res = _call(client, route, {"Authorization": f"Bearer {token}"})
            allowed = need is None or ROLES.index(role) >= ROLES.index(need)
            assert res.status_code == (200 if allowed else 403), (route.path, role, res.text)


def test_writes_are_recorded_with_the_token_name(setup):
    db, tokens = setup
    client = TestClient(make_app(db, False))
    res = client.post(
        "/api/sources",
        params={"title": "x"},
        headers={"Authorization": f"Bearer {tokens['editor']}"},
    )
    assert res.status_code == 200 and res.json()["actor"] == "editor-user"
    with Store(db) as store:
        assert read_entries(store.conn)[-1].actor == "editor-user"
