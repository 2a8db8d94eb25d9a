"""The FastAPI application: ``/api/v1``, the OGC API at ``/ogc``, maps and the browser app.

One router per resource lives in :mod:`gridservice.api.routes`; a router whose
domain package is not installed is left out rather than stubbed.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import threading

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline

from gridservice import __version__
from gridservice.api import errors
from gridservice.api.headers import SecurityHeaders, WorkerHeader
from gridservice.api.limits import BodyLimit
from gridservice.api.security import AuditTrail, BasicCache, LoginGuard, RateLimit, Tokens, audit
from gridservice.api.state import AreaHolder
from gridservice.auth import new_secret
from gridservice.config import Settings, get_settings
from gridservice.io import Store

log = logging.getLogger("gridservice.api")

API = "/api/v1"

#: Routers of /api/v1, in the order the docs list them.
ROUTERS = ("auth", "users", "grids", "customers", "network", "outages", "work_orders", "metrics", "plans")


def create_app(data: str | Store, *, settings: Settings | None = None, web: bool = True) -> FastAPI:
    """Build the app for the service area behind ``data``.

    The area is loaded and the customer search index built before the app is
    returned, so the first request is as fast as the others.
    """
    settings = settings or get_settings()
    # /docs with Swagger UI from the fastapi-offline wheel, not a CDN; no /redoc (its page shows a
    # logo from cdn.redoc.ly)
    app = FastAPIOffline(
        title="gridservice",
        version=__version__,
        summary="Grid-based service-area GIS for distribution utilities (供电服务网格化管理)",
        docs_url="/docs",
        redoc_url=None,
        openapi_url=f"{API}/openapi.json",
    )
    tokens = Tokens(settings.secret_key or new_secret(), minutes=settings.token_minutes,
                    refresh_minutes=settings.refresh_minutes)  # a bad key fails before the area loads
    holder = AreaHolder(data)
    area = holder.get()
    app.state.holder = holder
    app.state.settings = settings
    # Limits are counted per process: with N workers each takes 1/N of them, so that N workers do not
    # multiply a limit (rounded up: at most N-1 more in all).
    share = 1 / settings.workers
    app.state.heavy = threading.BoundedSemaphore(math.ceil(settings.heavy_requests * share))
    app.state.tokens = tokens
    app.state.guard = LoginGuard(on_failure=lambda **entry: audit(holder, **entry), share=share)
    app.state.basic_cache = BasicCache(app.state.guard)
    app.state.lookups = RateLimit(math.ceil(settings.search_per_minute * share))
    app.state.trail = AuditTrail(holder)
    app.state.skipped = []
    errors.install(app)
    if settings.workers > 1:
        app.add_middleware(WorkerHeader)
    app.add_middleware(BodyLimit, max_bytes=int(settings.max_body_mb * 2**20))
    app.add_middleware(SecurityHeaders, basemap=settings.basemap)

    @app.get(f"{API}/health", tags=["service"])
    def health() -> dict[str, str]:
        """Liveness, without login: nothing about the data (the area's name and size need a login)."""
        return {"status": "ok", "version": __version__}

    for name in ROUTERS:
        router = _router(f"gridservice.api.routes.{name}")
        if router is None:
            app.state.skipped.append(name)
            continue
        app.include_router(router, prefix=API)
    ogc = _router("gridservice.api.ogc")
    if ogc is not None:
        app.include_router(ogc, prefix="/ogc")
    maps = _router("gridservice.api.routes.maps")
    if maps is not None:
        _mount_map_assets(app)
        app.include_router(maps)
    else:
        app.state.skipped.append("maps")

    from gridservice.api.routes.customers import customer_index

    customer_index(holder, area)  # build now, not on the first search
    if web:
        from gridservice.api.web import mount_web

        mount_web(app)
    return app


def from_environment() -> FastAPI:
    """The app of one ``serve --workers N`` process: everything it needs comes from the environment
    (``GRIDSERVICE_DATA``, ``GRIDSERVICE_SECRET_KEY``, ``GRIDSERVICE_WORKERS``, the other settings)."""
    settings = get_settings()
    app = create_app(settings.data, settings=settings)
    log.info("worker %d serving %s", os.getpid(), settings.data)
    return app


def _router(module: str) -> APIRouter | None:
    """A module's ``router``, or ``None`` when the domain package it needs is missing."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        if exc.name and exc.name.startswith("gridservice.") and exc.name != module:
            log.info("%s left out: %s is not available", module, exc.name)
            return None
        if exc.name == module:
            return None
        raise
    return getattr(mod, "router", None)


def _mount_map_assets(app: FastAPI) -> None:
    """Serve the maps' scripts and styles from this server (utility intranets have no internet)."""
    from fastapi.staticfiles import StaticFiles

    from gridservice.errors import GridserviceError
    from gridservice.maps import ASSET_URL_PREFIX, asset_dir

    try:
        directory = asset_dir()
    except GridserviceError as exc:  # an asset package missing: the maps say so when asked for
        log.warning("map assets not served: %s", exc)
        return
    app.mount(ASSET_URL_PREFIX, StaticFiles(directory=directory), name="map-assets")
