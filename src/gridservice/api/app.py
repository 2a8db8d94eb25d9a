"""The FastAPI application: ``/api/v1``, the OGC API at ``/ogc``, maps and the browser app.

One router per resource lives in :mod:`gridservice.api.routes`, named in
:data:`ROUTERS`.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from pathlib import Path

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from gridservice import __version__
from gridservice.api import errors, ogc
from gridservice.api.headers import SecurityHeaders, WorkerHeader
from gridservice.api.limits import BodyLimit
from gridservice.api.routes import (
    applications,
    auth,
    customers,
    grids,
    maps,
    metrics,
    network,
    outages,
    plans,
    roster,
    stars,
    theft,
    users,
    visits,
    warnings,
    work_orders,
)
from gridservice.api.security import AuditTrail, BasicCache, LoginGuard, RateLimit, Tokens, audit
from gridservice.api.state import AreaHolder
from gridservice.auth import new_secret
from gridservice.config import Settings, get_settings
from gridservice.errors import GridserviceError
from gridservice.io import Store
from gridservice.maps.customers import customer_density
from gridservice.model import ServiceArea
from gridservice.topology import network_of

log = logging.getLogger("gridservice.api")

API = "/api/v1"

#: Routers of /api/v1, in the order the docs list them.
ROUTERS = (auth.router, users.router, grids.router, customers.router, network.router, outages.router,
           work_orders.router, applications.router, theft.router, metrics.router, plans.router,
           roster.router, visits.router, warnings.router, stars.router)


def create_app(data: str | Store, *, settings: Settings | None = None, web: bool = True) -> FastAPI:
    """Build the app for the service area behind ``data``.

    The area is loaded before the app is returned; what the first requests
    would wait for is then built in the background (:func:`warm_up`), so the
    server answers at once.
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
    holder = AreaHolder(data, snapshots=Path(settings.cache_dir) if settings.cache_dir else None)
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
    errors.install(app)
    if settings.workers > 1:
        app.add_middleware(WorkerHeader)
    app.add_middleware(BodyLimit, max_bytes=int(settings.max_body_mb * 2**20))
    app.add_middleware(SecurityHeaders, basemap=settings.basemap)

    @app.get(f"{API}/health", tags=["service"])
    def health() -> dict[str, str]:
        """Liveness, without login: nothing about the data (the area's name and size need a login)."""
        return {"status": "ok", "version": __version__}

    for router in ROUTERS:
        app.include_router(router, prefix=API)
    app.include_router(ogc.router, prefix="/ogc")
    _mount_map_assets(app)
    app.include_router(maps.router)

    if settings.warm_up:
        # not a daemon: a process that ends mid-warm-up waits for the step under way (a daemon thread
        # still in native code at exit aborts the process); `serve` sets the stop event when it stops
        app.state.warm_up_stop = threading.Event()
        app.state.warm_up = threading.Thread(target=warm_up, args=(area, settings, app.state.warm_up_stop),
                                             name="gridservice-warm-up")
        app.state.warm_up.start()
    if web:
        from gridservice.api.web import mount_web

        mount_web(app)
    return app


def warm_up(area: ServiceArea, settings: Settings, stop: threading.Event) -> None:
    """Build what the first requests would wait for into ``area``'s cache, most awaited first:
    the customer density at the zooms a county is seen at (the first thing every map shows), the
    customer search (dispatchers), the trace index, the supervisor's first view; ``stop``
    ends it after the step under way.

    A request that needs one of them meanwhile waits for that build only. A
    layer too broken to build from stops the warm-up; the request that needs
    it gets the error.
    """
    steps = [lambda: [customer_density(area, tuple(area.territory.bounds), z) for z in range(9, 15)],
             lambda: customers.customer_index(area, settings.cache_dir), lambda: network_of(area),
             *metrics.supervisor_view(area, settings.rules)]
    try:
        for step in steps:
            if stop.is_set():
                return
            step()
    except GridserviceError as exc:
        log.warning("warm-up stopped: %s", exc)


def from_environment() -> FastAPI:
    """The app of one ``serve --workers N`` process: everything it needs comes from the environment
    (``GRIDSERVICE_DATA``, ``GRIDSERVICE_SECRET_KEY``, ``GRIDSERVICE_WORKERS``, the other settings)."""
    settings = get_settings()
    app = create_app(settings.data, settings=settings)
    log.info("worker %d serving %s", os.getpid(), settings.data)
    return app


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
