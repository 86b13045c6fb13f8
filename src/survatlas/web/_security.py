"""Security headers on every response: a Content-Security-Policy that keeps the page offline."""

from __future__ import annotations

from typing import Any

Scope = dict[str, Any]


def content_security_policy(
    extra_origin: str | None = None, *, inline_scripts: bool = False
) -> str:
    """The page may load and connect to its own origin only (plus the optional tile server)."""
    extra = f" {extra_origin}" if extra_origin else ""
    script = "'self' 'unsafe-inline'" if inline_scripts else "'self'"
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {script}",
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob:{extra}",
            f"connect-src 'self'{extra}",
            "worker-src 'self' blob:",
            "child-src 'self' blob:",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


class SecurityHeaders:
    """ASGI middleware adding CSP, nosniff, no-referrer and frame denial to every response."""

    def __init__(self, app: Any, extra_origin: str | None = None) -> None:
        self.app = app
        self.headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]
        self.csp = content_security_policy(extra_origin).encode()
        self.docs_csp = content_security_policy(extra_origin, inline_scripts=True).encode()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = self.docs_csp if scope.get("path") == "/api/docs" else self.csp

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *self.headers,
                    (b"content-security-policy", csp),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
