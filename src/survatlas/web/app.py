"""The application factory: ``create_app(db_path)`` → a FastAPI app over one store."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from survatlas import __version__
from survatlas.contribute.moderation import ContributionPolicy
from survatlas.contribute.photos import PhotoLimits
from survatlas.errors import (
    InputError,
    NotFoundError,
    RoutingError,
    SecurityError,
    StoreError,
    SurvatlasError,
)
from survatlas.store import Store
from survatlas.web import (
    _analyses,
    api_contributions,
    api_coverage,
    api_history,
    api_layers,
    api_map,
    api_routing,
    api_tiles,
)
from survatlas.web._context import WebContext
from survatlas.web._security import SecurityHeaders
from survatlas.web.api_contributions import RateLimit
from survatlas.web.auth import install_access

STATIC = Path(__file__).parent / "static"
DIST = STATIC / "dist"
WORKER_THREADS = 4
BUILD_COMMAND = "cd src/survatlas/web/frontend && npm ci --no-audit --no-fund && npm run build"

#: exception class -> HTTP status (the first match in order wins).
STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (NotFoundError, 404),
    (SecurityError, 403),
    (RoutingError, 422),
    (InputError, 422),
    (StoreError, 503),
    (SurvatlasError, 400),
)


def create_app(
    db_path: str | Path,
    *,
    private: bool = False,
    tile_url: str | None = None,
    dependencies: Sequence[Any] = (),
    contributions: ContributionPolicy | None = None,
    preload_routes: bool = False,
) -> FastAPI:
    """Build the web application over the store at ``db_path``.

    Parameters
    ----------
    db_path
        An existing survatlas store.
    private
        Every route needs a valid token (``survatlas token create``). The API still serves
        public records only: restricted and confidential material never leaves through it.
    tile_url
        Optional online raster tile template ``https://host/{z}/{x}/{y}.png`` drawn under the
        store's layers. Without it the page requests nothing outside its own server.
    dependencies
        FastAPI dependencies (e.g. ``Depends(require_role("viewer"))``) added to every data
        route: the one place where authentication plugs in.
    contributions
        Who may report cameras and with what photos (default: editor tokens only, originals
        discarded; see :class:`survatlas.contribute.moderation.ContributionPolicy`).
    preload_routes
        Load the routing network in a background thread when the app starts (``survatlas
        serve`` does), so that the first route request does not wait for it; route requests
        made meanwhile wait for that one load.

    Raises
    ------
    StoreError
        No store at ``db_path``.
    InputError
        ``tile_url`` is not an http(s) template with ``{z}``, ``{x}`` and ``{y}``.
    """
    _check_tile_url(tile_url)
    Store(db_path, create=False).close()
    context = WebContext(
        Path(db_path),
        audience="public",
        tile_url=tile_url,
        private=private,
    )
    app = FastAPI(
        lifespan=_lifespan,
        title="survatlas",
        version=__version__,
        description="Surveillance infrastructure (never people) from open sources: layers, "
        "vector tiles, coverage and routing. © OpenStreetMap contributors (ODbL).",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.context = context
    app.state.preload_routes = preload_routes
    policy = contributions or ContributionPolicy()
    app.state.contribution_policy = policy
    app.state.contribution_rate = RateLimit(policy.rate_per_hour)
    _analyses.register_coverage_tiles()
    for module in (api_layers, api_tiles, api_map, api_coverage, api_routing,
                   api_contributions, api_history):
        app.include_router(module.router, dependencies=list(dependencies))
    _add_error_handlers(app)
    _add_front_end(app)
    app.add_middleware(SecurityHeaders, extra_origin=_origin(tile_url))
    open_writes = api_contributions.OPEN_WRITE_PATHS if policy.anonymous else frozenset()
    install_access(app, db_path, private=private, open_writes=open_writes)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Few worker threads: the work is CPU-bound under one GIL, so more threads only contend.
    anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
    if getattr(app.state, "preload_routes", False):
        context = app.state.context
        threading.Thread(
            target=_analyses.preload_network, args=(context.db_path, context.audience),
            name="survatlas-route-preload", daemon=True,
        ).start()
    yield


#: the environment variable that carries ``survatlas serve``'s settings to its worker processes
SERVE_ENV = "SURVATLAS_SERVE"


@dataclass(frozen=True)
class ServeSettings:
    """What ``survatlas serve`` passes to each uvicorn worker process (as JSON in
    :data:`SERVE_ENV`): the app of every worker is built by :func:`app_from_environment`."""

    db_path: str
    tile_url: str | None = None
    private: bool = False
    anonymous: bool = False
    keep_originals: bool = False
    rate_per_hour: int = 20
    max_photo_bytes: int = PhotoLimits().max_bytes
    #: server processes sharing the rate limit (each worker allows its share; see docs/web.md)
    workers: int = 1

    def to_env(self) -> str:
        """The settings as the JSON text of :data:`SERVE_ENV`."""
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, text: str) -> ServeSettings:
        """Settings from the JSON text of :data:`SERVE_ENV`."""
        return cls(**json.loads(text))

    def policy(self) -> ContributionPolicy:
        """The contribution policy of these settings (its rate is each worker's share)."""
        return ContributionPolicy(
            anonymous=self.anonymous,
            keep_originals=self.keep_originals,
            rate_per_hour=worker_rate(self.rate_per_hour, self.workers),
            limits=PhotoLimits(max_bytes=self.max_photo_bytes),
        )


def worker_rate(per_hour: int, workers: int) -> int:
    """Each worker's share of a per-client hourly limit, so that ``workers`` processes that
    each count in memory never let one client make more than ``per_hour`` in all (at least 1)."""
    return max(1, per_hour // max(1, workers))


def app_from_environment() -> FastAPI:
    """The app factory of ``survatlas serve`` (``uvicorn --factory``): one app per worker
    process, built from the :class:`ServeSettings` in :data:`SERVE_ENV`; each loads its own
    routing network at start-up.

    Raises
    ------
    InputError
        :data:`SERVE_ENV` is not set (run ``survatlas serve``).
    """
    text = os.environ.get(SERVE_ENV)
    if not text:
        raise InputError(f"{SERVE_ENV} is not set: start the server with `survatlas serve`")
    settings = ServeSettings.from_env(text)
    return create_app(settings.db_path, tile_url=settings.tile_url, private=settings.private,
                      contributions=settings.policy(), preload_routes=True)


def _check_tile_url(tile_url: str | None) -> None:
    if tile_url is None:
        return
    parts = urlsplit(tile_url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise InputError(f"tile URL {tile_url!r} must start with https:// (or http://)")
    if not all(key in tile_url for key in ("{z}", "{x}", "{y}")):
        raise InputError(f"tile URL {tile_url!r} must contain {{z}}, {{x}} and {{y}}")


def _origin(tile_url: str | None) -> str | None:
    if tile_url is None:
        return None
    parts = urlsplit(tile_url)
    return f"{parts.scheme}://{parts.netloc}"


def _add_error_handlers(app: FastAPI) -> None:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        status = next(code for cls, code in STATUS if isinstance(exc, cls))
        return JSONResponse({"detail": str(exc), "error": type(exc).__name__}, status_code=status)

    for cls, _ in STATUS:
        app.add_exception_handler(cls, handle)

    async def too_deep(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"detail": "the request is nested too deeply to be read", "error": "InputError"},
            status_code=422,
        )

    app.add_exception_handler(RecursionError, too_deep)


def _dist_file(name: str, media_type: str) -> FileResponse | HTMLResponse:
    path = DIST / name
    if not path.is_file():
        return HTMLResponse(f"not built: {BUILD_COMMAND}", status_code=404)
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "no-cache"})


def _add_front_end(app: FastAPI) -> None:
    if DIST.is_dir():
        app.mount("/static", StaticFiles(directory=DIST), name="static")

    @app.get("/", include_in_schema=False, response_model=None)
    def index() -> FileResponse | HTMLResponse:
        page = DIST / "index.html"
        if page.is_file():
            return FileResponse(page, headers={"Cache-Control": "no-cache"})
        return HTMLResponse(
            "<!doctype html><title>survatlas</title><h1>The map is not built yet</h1>"
            f"<p>Build the front end once: <code>{BUILD_COMMAND}</code>. "
            "The JSON API is served already: <a href='/api/openapi.json'>/api/openapi.json</a>.</p>",
            status_code=503,
        )

    # the installable web app: its manifest and its service worker (served at the root so that
    # its scope is the whole app)
    @app.get("/manifest.webmanifest", include_in_schema=False, response_model=None)
    def manifest() -> FileResponse | HTMLResponse:
        return _dist_file("manifest.webmanifest", "application/manifest+json")

    @app.get("/sw.js", include_in_schema=False, response_model=None)
    def service_worker() -> FileResponse | HTMLResponse:
        return _dist_file("sw.js", "text/javascript")

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        swagger = DIST / "swagger"
        if not (swagger / "swagger-ui-bundle.js").is_file():
            return HTMLResponse(
                "<!doctype html><title>survatlas API</title><p>Interactive docs need the front-end "
                f"build (<code>{BUILD_COMMAND}</code>); the description is at "
                "<a href='/api/openapi.json'>/api/openapi.json</a>.</p>",
                status_code=503,
            )
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="survatlas API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
            swagger_ui_parameters={"validatorUrl": None},
        )
