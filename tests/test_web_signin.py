"""Sign-in for private mode in a browser (issue 15, finding 10): token -> HttpOnly,
SameSite=Strict session cookie, CSRF header for writes; the map works in private mode."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from browser_support import ARTIFACTS, require_front_end, serve_app
from survatlas.provenance.access import create_token, revoke_token
from survatlas.store import Store
from survatlas.web import create_app
from web_builders import build_web_store


@pytest.fixture
def private(tmp_path):
    web = build_web_store(tmp_path / "w.db")
    with Store(web.path) as store:
        token = create_token(store, "alice", "editor")
    return web.path, token


def test_a_browser_without_a_session_is_sent_to_the_sign_in_page(private):
    db, _ = private
    client = TestClient(create_app(db, private=True), follow_redirects=False)
    res = client.get("/", headers={"accept": "text/html"})
    assert res.status_code == 303 and res.headers["location"] == "/signin"
    page = client.get("/signin")
    assert page.status_code == 200 and "<form method='post' action='/signin'>" in page.text
    assert client.get("/api/config").status_code == 401  # the API still answers 401


def test_the_sign_in_page_has_the_apps_stylesheet_without_a_session(private):
    db, _ = private
    client = TestClient(create_app(db, private=True), follow_redirects=False)
    page = client.get("/signin")
    assert "<link rel='stylesheet' href='/signin.css'>" in page.text
    assert "<header id='top'>" in page.text
    css = client.get("/signin.css")  # no session: the page must be styled before signing in
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "#top" in css.text and "background: #222" in css.text
    assert "style=" not in page.text  # no inline style: the CSP forbids it


def test_signing_in_sets_an_httponly_strict_cookie_and_the_api_answers(private):
    db, token = private
    client = TestClient(create_app(db, private=True), follow_redirects=False)
    bad = client.post("/signin", data={"token": "svt_wrong"})
    assert bad.status_code == 401 and "not valid" in bad.text and not bad.cookies
    res = client.post("/signin", data={"token": token})
    assert res.status_code == 303 and res.headers["location"] == "/"
    cookies = res.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("survatlas_session="))
    assert "HttpOnly" in session and "SameSite=Strict" in session
    csrf = next(c for c in cookies if c.startswith("survatlas_csrf="))
    assert "HttpOnly" not in csrf
    assert client.get("/api/config").status_code == 200
    assert client.get("/api/devices", params={"bbox": "24.9,60.1,25.0,60.2"}).status_code == 200


def test_a_cookie_write_needs_the_csrf_header(private):
    db, token = private
    client = TestClient(create_app(db, private=True), follow_redirects=False)
    client.post("/signin", data={"token": token})
    res = client.post("/api/anything")
    assert res.status_code == 403 and "X-CSRF-Token" in res.json()["detail"]
    ok = client.post("/api/anything", headers={"x-csrf-token": client.cookies["survatlas_csrf"]})
    assert ok.status_code != 403


def test_a_cross_site_sign_in_and_a_revoked_session_are_refused(private):
    db, token = private
    client = TestClient(create_app(db, private=True), follow_redirects=False)
    evil = client.post("/signin", data={"token": token}, headers={"origin": "https://evil.example"})
    assert evil.status_code == 403
    client.post("/signin", data={"token": token})
    with Store(db) as store:
        revoke_token(store, "alice")
    assert client.get("/api/config").status_code == 401
    assert client.get("/", headers={"accept": "text/html"}).status_code == 303
    out = client.post("/signout")
    assert out.status_code == 303 and "Max-Age=0" in out.headers["set-cookie"]


@pytest.mark.browser
def test_the_map_works_in_private_mode_after_signing_in(private, browser):
    require_front_end()
    db, token = private
    with serve_app(create_app(db, private=True)) as base:
        page = browser.new_page(viewport={"width": 1100, "height": 700})
        api = []
        page.on("response", lambda r: api.append((r.url, r.status)) if "/api/" in r.url else None)
        page.goto(f"{base}/")
        assert page.url.endswith("/signin")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "private-signin.png"))
        page.fill("#token", token)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.wait_for_function("() => document.querySelector('canvas') !== null", timeout=30000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / "private-map-signed-in.png"))
        session = next(c for c in page.context.cookies() if c["name"] == "survatlas_session")
        assert session["httpOnly"] and session["sameSite"] == "Strict"
        assert not page.evaluate("() => document.cookie.includes('survatlas_session')")
        config = [s for u, s in api if u.endswith("/api/config")]
        assert config and all(s == 200 for s in config), api
        assert not [u for u, s in api if s == 401], api
        # the sign-in page was styled (the app's header bar, a card with a full-width button)
        signout = page.locator("#signout button")
        assert signout.is_visible()
        signout.click()
        page.wait_for_url(f"{base}/signin")
        assert not [c for c in page.context.cookies() if c["name"] == "survatlas_session"]
        bar = page.evaluate(
            "() => getComputedStyle(document.querySelector('#top')).backgroundColor"
        )
        assert bar == "rgb(34, 34, 34)"
        button = page.evaluate(
            "() => getComputedStyle(document.querySelector('button')).width"
        )
        assert float(button.removesuffix("px")) > 300
        page.screenshot(path=str(ARTIFACTS / "private-signed-out.png"))
        page.goto(f"{base}/")  # signed out: the map asks to sign in again
        assert page.url.endswith("/signin")
        page.close()
