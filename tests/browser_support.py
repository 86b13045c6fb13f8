"""What the browser tests share: Debian's chromium, a free port and the app served in a thread."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
#: screenshots the browser tests keep (git-ignored)
ARTIFACTS = REPO / "artifacts"
CHROMIUM = os.environ.get("SURVATLAS_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_front_end(file_name: str = "index.html") -> None:
    """Fail (not skip) when the built front end is missing: the set-up builds it."""
    from survatlas.web.app import BUILD_COMMAND, DIST

    if not (DIST / file_name).is_file():
        pytest.fail(f"the front end is not built: {BUILD_COMMAND}")


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve an ASGI ``app`` with uvicorn in a thread; yield its base URL, stop it after."""
    import uvicorn

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
