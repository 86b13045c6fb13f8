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
    """The sign-in form (no script, no inline style: the site's CSP allows neither)."""
    note = f"<p role='alert'><strong>{html.escape(message)}</strong></p>" if message else ""
    return (
        "<!doctype html><html lang='en'><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>Sign in — survatlas</title><body><main>"
        "<h1>survatlas — sign in</h1>"
        "<p>This server is private. Paste the token an administrator made for you with "
        "<code>survatlas token create</code>.</p>" + note +
        f"<form method='post' action='{SIGNIN_PATH}'>"
        "<label for='token'>Token</label> "
        "<input id='token' name='token' type='password' autocomplete='current-password' "
        "required size='50'> <button type='submit'>Sign in</button></form>"
        "</main></body></html>"
    ).encode()
