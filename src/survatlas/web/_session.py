"""Sign-in for private mode in a browser: a token becomes an HttpOnly session cookie.

``GET /signin`` shows a form; ``POST /signin`` with the token sets two cookies and sends the
browser to the map: ``survatlas_session`` (the token; HttpOnly, SameSite=Strict, Secure over
HTTPS — scripts cannot read it, other sites cannot make the browser send it) and
``survatlas_csrf`` (a random value the page's scripts echo in an ``X-CSRF-Token`` header on
every write: a request that authenticates by cookie and writes without it is refused).
``POST /signout`` clears both. The API's ``Authorization: Bearer`` header keeps working.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Iterable
from urllib.parse import parse_qs

SESSION_COOKIE = "survatlas_session"
CSRF_COOKIE = "survatlas_csrf"
CSRF_HEADER = b"x-csrf-token"
SIGNIN_PATH = "/signin"
SIGNOUT_PATH = "/signout"
#: the sign-in page's stylesheet (served without a session, like the page itself)
SIGNIN_CSS_PATH = "/signin.css"
#: the app's look (system fonts, the map's dark header bar); no inline style: the CSP forbids it
SIGNIN_CSS = b"""* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: #222; background: #fafafa; }
#top { display: flex; align-items: baseline; gap: 1em; padding: 6px 14px; background: #222;
  color: #eee; }
#top h1 { font-size: 18px; margin: 0; letter-spacing: 0.02em; }
#top .tagline { margin: 0; color: #bbb; font-size: 13px; }
main { max-width: 440px; margin: 10vh auto 0; padding: 22px 26px; background: #fff;
  border: 1px solid #ddd; border-radius: 6px; box-shadow: 0 2px 10px rgba(0, 0, 0, 0.06); }
h2 { font-size: 20px; margin: 0 0 8px; }
p { margin: 0 0 14px; color: #444; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px;
  background: #f2f2f2; padding: 1px 4px; border-radius: 3px; }
label { display: block; font-weight: 600; margin-bottom: 4px; }
input { width: 100%; font: inherit; padding: 7px 9px; border: 1px solid #bbb;
  border-radius: 4px; }
input:focus { outline: 2px solid #222; outline-offset: 1px; }
button { margin-top: 12px; width: 100%; font: inherit; font-weight: 600; padding: 8px;
  background: #222; color: #fff; border: 1px solid #222; border-radius: 4px; cursor: pointer; }
button:hover { background: #000; }
.alert { color: #b00020; background: #fdecee; border: 1px solid #f3c2c9; padding: 6px 9px;
  border-radius: 4px; }
.muted { color: #777; font-size: 12.5px; margin: 14px 0 0; }
"""
#: how long a sign-in lasts (seconds)
SESSION_MAX_AGE = 12 * 3600
MAX_FORM = 4096


def cookies(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The request's cookies (name -> value)."""
    out: dict[str, str] = {}
    for name, value in headers:
        if name.lower() == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, sep, val = part.strip().partition("=")
                if sep:
                    out.setdefault(key, val)
    return out


def header(headers: Iterable[tuple[bytes, bytes]], wanted: bytes) -> str | None:
    """The value of one request header (None when absent)."""
    for name, value in headers:
        if name.lower() == wanted:
            return value.decode("latin-1")
    return None


def form_token(body: bytes) -> str:
    """The ``token`` field of a urlencoded sign-in form."""
    values = parse_qs(body.decode("utf-8", "replace"), max_num_fields=5).get("token", [""])
    return values[0].strip()


def session_cookies(token: str, secure: bool) -> list[tuple[bytes, bytes]]:
    """``Set-Cookie`` headers of a new session."""
    flags = f"Path=/; SameSite=Strict; Max-Age={SESSION_MAX_AGE}" + ("; Secure" if secure else "")
    csrf = secrets.token_urlsafe(24)
    return [
        (b"set-cookie", f"{SESSION_COOKIE}={token}; HttpOnly; {flags}".encode()),
        (b"set-cookie", f"{CSRF_COOKIE}={csrf}; {flags}".encode()),
    ]


def cleared_cookies() -> list[tuple[bytes, bytes]]:
    """``Set-Cookie`` headers that end a session."""
    return [
        (b"set-cookie", f"{name}=; Path=/; SameSite=Strict; Max-Age=0".encode())
        for name in (SESSION_COOKIE, CSRF_COOKIE)
    ]


def signin_page(message: str = "") -> bytes:
    """The sign-in form, in the app's look (its stylesheet is :data:`SIGNIN_CSS`; no script,
    no inline style: the site's CSP allows neither)."""
    note = f"<p class='alert' role='alert'>{html.escape(message)}</p>" if message else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<link rel='stylesheet' href='{SIGNIN_CSS_PATH}'>"
        "<title>Sign in — survatlas</title></head><body>"
        "<header id='top'><h1>survatlas</h1><p class='tagline'>Surveillance infrastructure "
        "from open sources — never people.</p></header><main>"
        "<h2>Sign in</h2>"
        "<p>This server is private. Paste the token an administrator made for you with "
        "<code>survatlas token create</code>.</p>" + note +
        f"<form method='post' action='{SIGNIN_PATH}'>"
        "<label for='token'>Token</label>"
        "<input id='token' name='token' type='password' autocomplete='current-password' "
        "required> <button type='submit'>Sign in</button></form>"
        "<p class='muted'>Your session lasts 12 hours or until you sign out; the token is "
        "kept in a cookie scripts cannot read.</p>"
        "</main></body></html>"
    ).encode()
