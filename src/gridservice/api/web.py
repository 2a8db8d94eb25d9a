"""Serve the browser app (``web/``) and its npm assets from the API process.

The app is plain static files (ES modules, no build step). Its third-party
assets come from ``web/node_modules``, installed at set-up by
``npm install --prefix web`` (``scripts/install-test-deps`` runs it), and are
served under ``/vendor/<package>/`` so the app works on an isolated intranet:
nothing is fetched from a CDN.

Routes added by :func:`mount_web`:

``/``                       the app shell (``web/index.html``)
``/app/...``                the app's own modules and styles (``web/app/``)
``/vendor/<package>/...``   the ``dist`` folder of each npm package the app uses
``/web-config.json``        what the app needs before login: basemap tiles, language, time zone
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from gridservice.config import get_settings
from gridservice.metrics.period import latest_period

__all__ = ["VENDOR", "basemap_config", "mount_web", "web_root"]

#: npm package -> the folder inside it that is served at ``/vendor/<package>/``.
VENDOR: dict[str, str] = {
    "leaflet": "leaflet/dist",
    "leaflet-geoman": "@geoman-io/leaflet-geoman-free/dist",
    "leaflet.markercluster": "leaflet.markercluster/dist",
}

_OSM = {
    "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "attribution": "© OpenStreetMap contributors",
    "crs": "wgs84",
    "max_zoom": 19,
}
# Amap (高德) road tiles: drawn in GCJ-02, so the app shifts WGS-84 layers onto them.
_GCJ02 = {
    "url": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
    "subdomains": "1234",
    "attribution": "© 高德地图 AutoNavi",
    "crs": "gcj02",
    "max_zoom": 18,
}

_NOT_INSTALLED = """<!doctype html><meta charset="utf-8"><title>gridservice</title>
<h1>gridservice</h1><p>The browser app's assets are not installed. Run
<code>npm install --prefix web</code> (or <code>scripts/install-test-deps</code>) in the
gridservice checkout, then restart <code>gridservice serve</code>. The API is at <a href="/docs">/docs</a>.</p>"""


def web_root() -> Path:
    """The ``web/`` folder: ``GRIDSERVICE_WEB_DIR`` if set, else the one in this checkout."""
    override = os.environ.get("GRIDSERVICE_WEB_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "web"


def basemap_config(basemap: str) -> dict[str, Any] | None:
    """The tile layer for a ``basemap`` setting, or ``None`` for no tiles.

    ``osm`` and ``gcj02`` are built in; anything containing ``{z}`` is taken as
    an XYZ URL template (an intranet tile server, WGS-84 / Web Mercator).

    Examples
    --------
    >>> basemap_config("none") is None
    True
    >>> basemap_config("http://tiles.local/{z}/{x}/{y}.png")["crs"]
    'wgs84'
    """
    key = basemap.strip()
    if key.lower() in {"", "none", "off"}:
        return None
    if key.lower() == "osm":
        return dict(_OSM)
    if key.lower() in {"gcj02", "amap", "gaode"}:
        return dict(_GCJ02)
    return {"url": key, "attribution": "", "crs": "wgs84", "max_zoom": 19}


def _default_periods(app: FastAPI) -> dict[str, str | None]:
    """The month and the week the supervisor view opens on: the latest with data (None if unknown)."""
    holder = getattr(app.state, "holder", None)
    if holder is None:
        return {"default_month": None, "default_week": None}
    area = holder.get()
    return {"default_month": latest_period(area).label, "default_week": latest_period(area, unit="week").label}


def mount_web(app: FastAPI) -> None:
    """Serve the browser app at ``/``; call it after every API route is added."""
    root = web_root()
    modules = root / "node_modules"

    @app.get("/web-config.json", include_in_schema=False)
    def web_config() -> JSONResponse:
        settings = get_settings()
        body = {"basemap": basemap_config(settings.basemap), "language": settings.language,
                "timezone": settings.timezone, **_default_periods(app)}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    missing = [pkg for pkg, sub in VENDOR.items() if not (modules / sub).is_dir()]
    if missing or not (root / "index.html").is_file():

        @app.get("/", include_in_schema=False)
        def not_installed() -> HTMLResponse:
            return HTMLResponse(_NOT_INSTALLED, status_code=503)

        return

    for name, sub in VENDOR.items():
        app.mount(f"/vendor/{name}", StaticFiles(directory=modules / sub), name=f"vendor-{name}")
    app.mount("/app", StaticFiles(directory=root / "app"), name="web-app")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        # no-store: a new release must not be hidden behind a cached shell
        return FileResponse(root / "index.html", headers={"Cache-Control": "no-store"})
