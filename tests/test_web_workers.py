"""``survatlas serve --workers N``: worker processes built by one app factory (issue 16).

Each worker is its own process with its own routing network, so everything a request relies on
must live in the store or be split honestly between the workers: tokens are checked against
the store (a token created after the start works in every worker), the anonymous report limit
is each worker's share of the hourly limit, and each worker loads its routing network at
start-up.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from click.testing import CliRunner

from browser_support import free_port
from routing_builders import X0, Y0, grid_streets, latlon, make_store, write_discs
from survatlas import routing
from survatlas.cli import main
from survatlas.cli.web import MAX_DEFAULT_WORKERS, default_workers
from survatlas.errors import InputError
from survatlas.web import _analyses
from survatlas.web import workers as worker_processes
from survatlas.web.app import SERVE_ENV, ServeSettings, app_from_environment, worker_rate

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture()
def route_store(tmp_path):  # type: ignore[no-untyped-def]
    store = make_store(tmp_path, grid_streets(5), [(200, 0, "public"), (400, 200, "public")])
    write_discs(store, {("typical", "detection"): 40.0})
    store.close()
    return Path(store.path)


def test_settings_travel_to_the_workers_as_json(route_store, monkeypatch) -> None:
    settings = ServeSettings(db_path=str(route_store), anonymous=True, rate_per_hour=21,
                             max_photo_bytes=3_000_000, workers=2)
    assert ServeSettings.from_env(settings.to_env()) == settings
    monkeypatch.setenv(SERVE_ENV, settings.to_env())
    app = app_from_environment()
    policy = app.state.contribution_policy
    assert policy.anonymous and policy.limits.max_bytes == 3_000_000
    assert policy.rate_per_hour == 10  # each of 2 workers: 21 // 2, never 21 in all above 20
    assert app.state.contribution_rate.per_hour == 10
    assert app.state.preload_routes


def test_the_factory_needs_the_settings(monkeypatch) -> None:
    monkeypatch.delenv(SERVE_ENV, raising=False)
    with pytest.raises(InputError, match="survatlas serve"):
        app_from_environment()


@pytest.mark.parametrize(("rate", "workers", "share"), [(20, 1, 20), (20, 2, 10), (21, 4, 5),
                                                         (3, 8, 1)])
def test_worker_rate_is_a_share(rate: int, workers: int, share: int) -> None:
    assert worker_rate(rate, workers) == share
    assert share * workers <= max(rate, workers)


def test_default_workers_is_the_cpu_count_capped() -> None:
    n = default_workers()
    assert 1 <= n <= MAX_DEFAULT_WORKERS
    assert n == min(len(os.sched_getaffinity(0)), MAX_DEFAULT_WORKERS)


def test_serve_help_shows_workers() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0 and "--workers" in result.output


def test_preload_loads_the_network_once(route_store, monkeypatch) -> None:
    monkeypatch.setattr(_analyses, "_networks", {})
    calls: list = []
    real = routing.load_network
    monkeypatch.setattr(routing, "load_network",
                        lambda *a, **k: calls.append(k.get("bbox")) or real(*a, **k))
    assert _analyses.preload_network(route_store, "public") is True
    assert calls == [None]
    a, b = latlon(X0, Y0), latlon(X0 + 400, Y0 + 400)
    from survatlas.store import Store

    with Store(route_store, create=False) as store:
        _analyses.compare_routes(store, a, b, 1.25, "public")
    assert calls == [None]  # the request used the preloaded network


def test_preload_of_a_store_without_coverage_loads_nothing(tmp_path) -> None:
    store = make_store(tmp_path, grid_streets(3), [(100, 0, "public")])
    path = store.path
    store.close()
    assert _analyses.preload_network(path, "public") is False


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "survatlas", *args], env=env, check=True,
                          capture_output=True, text=True)


@contextlib.contextmanager
def _server(store: Path, *args: str, status: int = 200):  # type: ignore[no-untyped-def]
    """``survatlas serve --workers 2`` on a free port: (base URL, server, its worker processes);
    stopped with SIGTERM at the end, and then none of its processes may be left."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "survatlas", "--db", str(store), "serve", "--port",
         str(port), "--workers", "2", *args],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    workers: list[psutil.Process] = []
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/api/config", timeout=1).status_code == status:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail(server.stderr.read().decode()[-2000:])
        workers = [c for c in psutil.Process(server.pid).children(recursive=True)
                   if "spawn_main" in " ".join(c.cmdline())]
        yield base, server, workers, env
    finally:
        server.terminate()
        assert server.wait(timeout=30) == 0
    _gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, "worker processes outlived the server"


def _listening_inodes(process: psutil.Process, port: int) -> set[str]:
    """The socket inodes on which ``process`` listens on ``port``."""
    inodes = set()
    listening = {c.fd for c in process.net_connections(kind="tcp")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == port}
    for fd in listening:
        inodes.add(os.readlink(f"/proc/{process.pid}/fd/{fd}"))
    return inodes


def test_two_worker_processes_serve_routes_and_check_tokens(route_store) -> None:
    with _server(route_store, "--private", status=401) as (base, _, workers, env):
        assert len(workers) == 2
        # a token made after the workers started: checked against the store by each of them
        made = _cli("--db", str(route_store), "token", "create", "--role", "viewer", "--name",
                    "t", env=env)
        token = made.stdout.strip().splitlines()[-1]
        headers = {"Authorization": f"Bearer {token}"}
        a, b = latlon(X0, Y0), latlon(X0 + 400, Y0 + 400)
        params = {"from": f"{a[0]},{a[1]}", "to": f"{b[0]},{b[1]}"}
        bodies = []
        for _ in range(12):  # fresh connections: the kernel spreads them over the workers
            with httpx.Client(base_url=base, timeout=60) as client:
                r = client.get("/api/route", params=params, headers=headers)
                assert r.status_code == 200, r.text
                bodies.append(r.json())
                assert client.get("/api/route", params=params).status_code == 401
        assert all(body == bodies[0] for body in bodies)
        assert bodies[0]["shortest"]["in_view_m"] > 0


@pytest.mark.skipif(not worker_processes.balanced_sockets(), reason="needs Linux SO_REUSEPORT")
def test_each_worker_listens_on_its_own_socket_and_connections_are_spread(route_store) -> None:
    with _server(route_store) as (base, _, workers, _env):
        port = int(base.rsplit(":", 1)[1])
        end = time.monotonic() + 60  # the first worker may answer before the other listens
        while time.monotonic() < end:
            inodes = [_listening_inodes(w, port) for w in workers]
            if all(inodes):
                break
            time.sleep(0.2)
        assert all(len(i) == 1 for i in inodes) and inodes[0] != inodes[1]
        # 40 keep-alive connections opened at once (as a page's or a load test's clients):
        # uvicorn's shared socket gave one worker nearly all; the kernel's hash spreads them
        clients = [httpx.Client(base_url=base, timeout=30) for _ in range(40)]
        try:
            for client in clients:
                assert client.get("/api/config").status_code == 200
            held = [sum(1 for c in w.net_connections(kind="tcp")
                        if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port)
                    for w in workers]
        finally:
            for client in clients:
                client.close()
        assert sum(held) == 40
        assert min(held) >= 8, held  # Binomial(40, ½) falls below 8 with odds under 1 in 10⁴


def test_a_port_in_use_is_one_clear_error(route_store) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            main, ["--db", str(route_store), "serve", "--port", str(port), "--workers", "2"])
    assert result.exit_code != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "--port" in result.output.strip().splitlines()[-1]


def test_listening_socket_refuses_a_taken_reuse_port_address() -> None:
    """Another server's SO_REUSEPORT sockets on the port are found by the plain bind first."""
    if not worker_processes.balanced_sockets():
        pytest.skip("needs Linux SO_REUSEPORT")
    other = worker_processes.listening_socket("127.0.0.1", 0, reuse_port=True)
    try:
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(InputError, match="pick another --port"):
            worker_processes.listening_socket("127.0.0.1", port, reuse_port=False)
        worker_processes.listening_socket("127.0.0.1", port, reuse_port=True).close()
    finally:
        other.close()
