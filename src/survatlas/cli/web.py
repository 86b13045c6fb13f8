"""``survatlas serve``: the local web map and JSON API (uvicorn, 127.0.0.1 by default)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import click

from survatlas.cli import db_path
from survatlas.errors import SecurityError

#: the most server processes ``serve`` starts without ``--workers``
MAX_DEFAULT_WORKERS = 8


@click.command("serve")
@click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The store file (default: the global --db).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--tile-url",
    envvar="SURVATLAS_TILE_URL",
    help="Optional online raster tiles https://…/{z}/{x}/{y}.png under the map (off: offline).",
)
@click.option("--private", is_flag=True,
              help="Every route needs a token (survatlas token create); still public records only.")
@click.option("--contributions", "who", type=click.Choice(["editors", "anonymous"]),
              default="editors", show_default=True,
              help="Who may report cameras: editor tokens only, or anyone (rate-limited).")
@click.option("--contribution-rate", type=click.IntRange(1, 10_000), default=20,
              show_default=True, help="Anonymous reports per hour per client address.")
@click.option("--max-photo-mb", type=click.IntRange(1, 100), default=12, show_default=True,
              help="Largest photo accepted, in MB.")
@click.option("--keep-originals", is_flag=True,
              help="Keep original photos encrypted for admins (needs a key); default: discard.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Server processes (default: the CPU count, at most "
              f"{MAX_DEFAULT_WORKERS}); each loads its own routing network.")
@click.pass_context
def serve_cmd(
    ctx: click.Context, db: Path | None, host: str, port: int, tile_url: str | None, private: bool,
    who: str, contribution_rate: int, max_photo_mb: int, keep_originals: bool,
    workers: int | None,
) -> None:
    """Serve the web map and the JSON API over the store (public records only; the only
    writes are camera reports, held for moderation, and editors' decisions on them).

    The page makes no request outside this server unless --tile-url is given. API description:
    /api/openapi.json (interactive: /api/docs).
    """
    from survatlas.web.app import SERVE_ENV, ServeSettings, create_app

    if not _is_loopback(host):
        click.echo(
            f"warning: listening on {host}: anyone who can reach it sees the public map",
            err=True,
        )
    from survatlas.store.encryption import require_key

    if keep_originals:
        require_key(None, why="keeping original photos (--keep-originals)")
    workers = workers or default_workers()
    settings = ServeSettings(
        db_path=str(db or db_path(ctx)), tile_url=tile_url, private=private,
        anonymous=who == "anonymous", keep_originals=keep_originals,
        rate_per_hour=contribution_rate, max_photo_bytes=max_photo_mb * 1_000_000,
        workers=workers,
    )
    # checked here, once, so that a bad store or tile URL is one clear error, not one per worker
    create_app(settings.db_path, tile_url=tile_url, private=private,
               contributions=settings.policy())
    os.environ[SERVE_ENV] = settings.to_env()
    click.echo(f"survatlas map on http://{_url_host(host)}:{port}/  ({workers} worker "
               f"process{'es' if workers > 1 else ''}; Ctrl+C stops)", err=True)
    from survatlas.web import workers as worker_processes

    worker_processes.run(host, port, workers)


def default_workers() -> int:
    """Server processes by default: the CPUs this process may use, at most
    :data:`MAX_DEFAULT_WORKERS` (each worker holds its own routing network in memory)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_DEFAULT_WORKERS))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError as exc:
        raise SecurityError(f"--host {host!r} must be an IP address or localhost") from exc


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
