"""Worker processes of ``survatlas serve``, each listening on a socket of its own.

uvicorn's own workers share one listening socket, and whichever worker wakes first takes every
connection waiting: 20 keep-alive clients that connect at once ended up 17 on one worker and 3
on the other (measured on the demo store), so one worker queued most route requests while the
other idled. On Linux each worker here binds its own socket to the same address with
``SO_REUSEPORT``; the kernel then hands every new connection to one of the sockets by a hash of
the connection's addresses and ports, which spreads the connections evenly over the workers.
Elsewhere (no balanced ``SO_REUSEPORT``) and for a single worker, uvicorn runs as usual.

Before the workers start, the address is bound once without ``SO_REUSEPORT``: a port already
in use — also by another ``survatlas serve``, which would otherwise share it silently — is one
clear error. A worker that dies is started again; one that fails before serving stops the
server with its exit status.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import threading
from typing import Any

from survatlas.errors import InputError

#: the application factory every worker runs (settings travel in the environment)
APP = "survatlas.web.app:app_from_environment"
#: uvicorn's exit status for a worker that could not start (bad app, socket)
STARTUP_FAILURE = 3


def balanced_sockets() -> bool:
    """Whether this system spreads connections over sockets sharing a port (Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def run(host: str, port: int, workers: int) -> None:
    """Serve :data:`APP` on ``host:port`` with ``workers`` processes until stopped.

    Raises
    ------
    InputError
        The address is already in use or cannot be bound, or a worker could not start.
    """
    import uvicorn

    if workers == 1 or not balanced_sockets():
        uvicorn.run(APP, factory=True, host=host, port=port, workers=workers,
                    log_level="warning")
        return
    listening_socket(host, port, reuse_port=False).close()
    _supervise(host, port, workers)


def listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A TCP socket bound to ``host:port`` (IPv6 when ``host`` has a colon), not yet listening.

    Raises
    ------
    InputError
        The address is in use or cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another --port or "
            "stop the server using it"
        ) from None
    return sock


def _serve_one(host: str, port: int) -> None:
    """One worker process: its own ``SO_REUSEPORT`` socket, one uvicorn server."""
    import uvicorn

    try:
        sock = listening_socket(host, port, reuse_port=True)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)
    config = uvicorn.Config(APP, factory=True, log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


def _supervise(host: str, port: int, workers: int) -> None:
    """Start the workers, start again any that dies, stop them all on SIGINT or SIGTERM."""
    spawn = multiprocessing.get_context("spawn")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}

    def start() -> Any:
        process = spawn.Process(target=_serve_one, args=(host, port), name="survatlas-worker")
        process.start()
        return process

    processes = [start() for _ in range(workers)]
    failed: int | None = None
    try:
        while not stop.wait(0.5):
            for i, process in enumerate(processes):
                if process.is_alive():
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    failed = process.exitcode
                    stop.set()
                    break
                processes[i] = start()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed is not None:
        raise InputError(f"a server worker could not start on {host}:{port} (see its error "
                         "above); fix that and start again")
