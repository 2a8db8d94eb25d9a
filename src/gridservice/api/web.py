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
``/web-config.json``        what the app needs before login: basemap, language, time zone, the
                            work-order kinds and steps
``/web-basemap.json``       the ``local`` basemap (land and place names of the area), after login
``/tiles/{z}/{x}/{y}``      tiles of an MBTiles basemap (``GRIDSERVICE_BASEMAP=/path/county.mbtiles``)
"""

from __future__ import annotations

from typing import Any

import shapely
import shapely.geometry
from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from gridservice.api.deps import AreaDep, CurrentUser, SettingsDep
from gridservice.config import web_root
from gridservice.events.work_orders import vocabulary
from gridservice.maps.backdrop import PLACE_KINDS_EN, VILLAGE_MIN_ZOOM, places
from gridservice.maps.base import resolve_basemap
from gridservice.maps.layers import roman_name
from gridservice.maps.mbtiles import MBTiles
from gridservice.metrics.period import latest_period
from gridservice.model import ServiceArea
from gridservice.schema import TIMEZONE

__all__ = ["VENDOR", "basemap_config", "local_basemap", "mount_web", "web_root"]

#: npm package -> the folder inside it that is served at ``/vendor/<package>/``.
VENDOR: dict[str, str] = {
    "leaflet": "leaflet/dist",
    "leaflet-geoman": "@geoman-io/leaflet-geoman-free/dist",
    "leaflet.markercluster": "leaflet.markercluster/dist",
    "noto-sans-sc": "@fontsource-variable/noto-sans-sc",  # a CJK web font: Chinese reads without system fonts
}

_NOT_INSTALLED = """<!doctype html><meta charset="utf-8"><title>gridservice</title>
<h1>gridservice</h1><p>The browser app's assets are not installed. Run
<code>npm install --prefix web</code> (or <code>scripts/install-test-deps</code>) in the
gridservice checkout, then restart <code>gridservice serve</code>. The API is at <a href="/docs">/docs</a>.</p>"""


def basemap_config(basemap: str) -> dict[str, Any] | None:
    """What the app draws under its layers for a ``basemap`` setting (:func:`~gridservice.maps.resolve_basemap`).

    ``{"local": true, ...}`` for the land and place names of ``/web-basemap.json``,
    a tile layer (``url``, ``attribution``, ``subdomains``, ``crs``, ``max_zoom``)
    for ``osm``, ``gcj02`` or a URL template, ``None`` for no background.

    Examples
    --------
    >>> basemap_config("none") is None
    True
    >>> basemap_config("local")["local"]
    True
    >>> basemap_config("http://tiles.local/{z}/{x}/{y}.png")["crs"]
    'wgs84'
    """
    tiles = resolve_basemap(basemap)
    if tiles is None:
        return None
    body = {"local": tiles["local"], "crs": tiles["coords"], "max_zoom": tiles["max_zoom"]}
    if not tiles["local"]:
        body |= {"url": tiles["tiles"], "attribution": tiles["attr"], "subdomains": tiles["subdomains"]}
    return body


def local_basemap(area: ServiceArea) -> dict[str, Any]:
    """The ``local`` basemap of ``area`` for the app: its land and its place names (:mod:`gridservice.maps.backdrop`).

    ``land`` is a GeoJSON geometry (or ``None``); ``places`` rows are
    ``[lon, lat, name, kind, name in pinyin]``, towns first, each kind largest first.
    """
    territory = area.territory
    named = places(area.customers)
    xy = shapely.get_coordinates(named.geometry.to_numpy())
    rows = [[round(float(x), 6), round(float(y), 6), str(n), str(k), roman_name(str(n), PLACE_KINDS_EN)]
            for (x, y), n, k in zip(xy, named["name"], named["kind"], strict=True)]
    land = None if territory.is_empty else shapely.geometry.mapping(shapely.set_precision(territory, 1e-6))
    return {"land": land, "places": rows, "village_min_zoom": VILLAGE_MIN_ZOOM}


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
    def web_config(settings: SettingsDep) -> JSONResponse:
        body = {"basemap": basemap_config(settings.basemap), "language": settings.language,
                "timezone": TIMEZONE, "work_orders": vocabulary(), **_default_periods(app),
                "households_per_member": settings.rules.households_per_member}  # the proposal's default norm
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @app.get("/tiles/{z}/{x}/{y}", include_in_schema=False)
    def tiles(z: int, x: int, y: int, settings: SettingsDep) -> Response:
        """Tiles of the configured MBTiles basemap (no login: Leaflet's image requests carry no token)."""
        path = (resolve_basemap(settings.basemap) or {}).get("mbtiles")
        source = MBTiles.open(path) if path else None
        tile = source.tile(z, x, y) if source else None
        if source is None or tile is None:
            return Response(status_code=404)
        return Response(tile, media_type=source.media_type, headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/web-basemap.json", include_in_schema=False)
    def web_basemap(area: AreaDep, user: CurrentUser) -> JSONResponse:
        body = area.cached("web-basemap", ("service_area", "grids", "customers"), lambda: local_basemap(area))
        return JSONResponse(body, headers={"Cache-Control": "private, no-cache"})

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
