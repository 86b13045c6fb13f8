"""API access control: tokens, roles (viewer < editor < admin), writes denied by default.

Use in the app factory::

    from survatlas.web.auth import install_access, require_role

    app = FastAPI()
    install_access(app, db_path, private=private)      # before the app starts

    @app.post("/api/claims", dependencies=[Depends(require_role("editor"))])
    def add_claim(...): ...

:func:`install_access` adds a middleware that, for every request: answers 401 to a bad or
revoked token (on any route); in ``private`` mode answers 401 to a request without a token;
answers 401/403 to any write method (POST, PUT, PATCH, DELETE …) without an editor or admin
token — so a new write route is protected even if it forgets :func:`require_role`; and records
the token's name as the actor of every custody-log entry made while handling the request.
:func:`require_role` adds finer, per-route requirements (e.g. ``admin``).

Tokens travel as ``Authorization: Bearer <token>``, or — in a browser — as the HttpOnly
session cookie set by ``/signin`` (:mod:`survatlas.web._session`); a write authenticated by
cookie also needs the ``X-CSRF-Token`` header. This module imports only FastAPI and
survatlas library modules.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from survatlas.errors import SecurityError
from survatlas.provenance.access import Principal, role_at_least, verify_token
from survatlas.store import Store
from survatlas.store.custody import acting_as
from survatlas.web import _session

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ANONYMOUS = "anonymous"
_STATE_KEY = "survatlas_principal"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class AccessConfig:
    """How the app checks access."""

    db_path: Path
    private: bool = False
    write_role: str = "editor"
    #: paths where a write without a write-role token is let through to the route, which
    #: then decides (e.g. anonymous contributions, rate-limited); empty by default.
    open_writes: frozenset[str] = frozenset()


def install_access(
    app: FastAPI,
    db_path: str | Path,
    *,
    private: bool = False,
    write_role: str = "editor",
    open_writes: frozenset[str] = frozenset(),
) -> None:
    """Protect ``app``: token checks, private mode, writes denied by default, custody actor.

    ``open_writes`` lists paths whose routes check writes themselves (see
    :class:`AccessConfig`)."""
    role_at_least(write_role, "viewer")
    config = AccessConfig(Path(db_path), private, write_role, frozenset(open_writes))
    app.state.survatlas_access = config
    app.add_middleware(AccessMiddleware, config=config)


def bearer_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The token of an ``Authorization: Bearer`` header (``""`` when malformed, None when absent)."""
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return None


def check_token(config: AccessConfig, token: str) -> Principal:
    """Verify ``token`` against the store (:class:`SecurityError` when invalid)."""
    with Store(config.db_path, create=False) as store:
        return verify_token(store, token)


class AccessMiddleware:
    """Pure ASGI middleware enforcing :class:`AccessConfig` on every HTTP request."""

    def __init__(self, app: ASGIApp, config: AccessConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        if scope["path"] in (_session.SIGNIN_PATH, _session.SIGNOUT_PATH):
            await self.session(scope, receive, send)
            return
        if scope["path"] == _session.SIGNIN_CSS_PATH and scope["method"].upper() in READ_METHODS:
            await _page(send, 200, _session.SIGNIN_CSS, content_type=b"text/css; charset=utf-8")
            return
        token, by_cookie = bearer_token(headers), False
        if token is None:
            token = _session.cookies(headers).get(_session.SESSION_COOKIE) or None
            by_cookie = token is not None
        principal = None
        if token is not None:
            try:
                principal = await run_in_threadpool(check_token, self.config, token)
            except SecurityError as exc:
                if by_cookie and _wants_page(scope):
                    await _page(send, 303, b"", [(b"location", _session.SIGNIN_PATH.encode())])
                    return
                await _deny(send, 401, str(exc))
                return
        if by_cookie and scope["method"].upper() not in READ_METHODS and not _csrf_ok(headers):
            await _deny(send, 403, "a signed-in write needs the X-CSRF-Token header")
            return
        refusal = self.refusal(scope["method"], principal, scope.get("path", ""))
        if refusal is not None:
            if principal is None and self.config.private and _wants_page(scope):
                await _page(send, 303, b"", [(b"location", _session.SIGNIN_PATH.encode())])
                return
            await _deny(send, *refusal)
            return
        scope.setdefault("state", {})[_STATE_KEY] = principal
        with acting_as(principal.name if principal else ANONYMOUS):
            await self.app(scope, receive, send)

    async def session(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``/signin`` (GET: the form; POST: token -> cookies) and ``/signout``."""
        method = scope["method"].upper()
        if scope["path"] == _session.SIGNOUT_PATH:
            if method != "POST":
                await _deny(send, 405, "sign out with POST")
                return
            await _page(send, 303, b"", [(b"location", _session.SIGNIN_PATH.encode()),
                                         *_session.cleared_cookies()])
            return
        if method in READ_METHODS:
            await _page(send, 200, _session.signin_page())
            return
        if method != "POST" or not _same_origin(scope):
            await _deny(send, 403, "sign in from this server's own page")
            return
        token = _session.form_token(await _read_body(receive, _session.MAX_FORM))
        try:
            await run_in_threadpool(check_token, self.config, token)
        except SecurityError:
            await _page(send, 401, _session.signin_page("That token is not valid (or revoked)."))
            return
        secure = scope.get("scheme") == "https"
        await _page(send, 303, b"", [(b"location", b"/"),
                                     *_session.session_cookies(token, secure)])

    def refusal(
        self, method: str, principal: Principal | None, path: str = ""
    ) -> tuple[int, str] | None:
        """``(status, reason)`` when the request must be refused, else None."""
        if principal is None and self.config.private:
            return 401, "this survatlas server is private: give a token"
        if method.upper() not in READ_METHODS and path not in self.config.open_writes:
            if principal is None:
                return 401, "writing needs an editor token"
            if not principal.allows(self.config.write_role):
                return 403, f"writing needs the {self.config.write_role} role"
        return None


def _wants_page(scope: Scope) -> bool:
    """A browser navigating to a page (not the API, not an asset)."""
    accept = _session.header(scope.get("headers", []), b"accept") or ""
    return scope["method"].upper() == "GET" and not scope["path"].startswith("/api/") and (
        "text/html" in accept
    )


def _csrf_ok(headers: list[tuple[bytes, bytes]]) -> bool:
    sent = _session.header(headers, _session.CSRF_HEADER)
    expected = _session.cookies(headers).get(_session.CSRF_COOKIE)
    return bool(sent and expected and secrets.compare_digest(sent, expected))


def _same_origin(scope: Scope) -> bool:
    """A sign-in posted by this server's page (no Origin header: not a browser's cross-site post)."""
    headers = scope.get("headers", [])
    origin = _session.header(headers, b"origin")
    host = _session.header(headers, b"host")
    return origin is None or origin in (f"http://{host}", f"https://{host}")


async def _read_body(receive: Receive, limit: int) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > limit or not message.get("more_body"):
            return body[:limit]


async def _page(send: Send, status: int, body: bytes,
                extra: list[tuple[bytes, bytes]] | None = None, *,
                content_type: bytes = b"text/html; charset=utf-8") -> None:
    headers = [(b"content-type", content_type),
               (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _deny(send: Send, status: int, reason: str) -> None:
    body = json.dumps({"detail": reason}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def current_principal(request: Request) -> Principal | None:
    """The principal of the request (None for an anonymous one)."""
    config = getattr(request.app.state, "survatlas_access", None)
    if config is None:
        raise RuntimeError("call survatlas.web.auth.install_access(app, db_path) in create_app")
    state = request.scope.get("state", {})
    if _STATE_KEY in state:
        return state[_STATE_KEY]
    token = bearer_token(request.scope.get("headers", []))
    if token is None:
        return None
    try:
        return check_token(config, token)
    except SecurityError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc


def require_role(role: str) -> Callable[[Request], Principal | None]:
    """FastAPI dependency: the request needs ``role`` or higher.

    ``viewer`` is granted to anonymous requests unless the server is private.
    """
    role_at_least(role, "viewer")

    def dependency(request: Request) -> Principal | None:
        principal = current_principal(request)
        private = request.app.state.survatlas_access.private
        if principal is None:
            if role == "viewer" and not private:
                return None
            raise HTTPException(
                401, f"this needs a {role} token", headers={"WWW-Authenticate": "Bearer"}
            )
        if not principal.allows(role):
            raise HTTPException(403, f"this needs the {role} role")
        return principal

    dependency.required_role = role  # type: ignore[attr-defined]  # for route-enumerating tests
    return dependency
