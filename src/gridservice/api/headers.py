"""Security headers on every response: a Content-Security-Policy, no framing, no sniffing, no referrer off-site.

The browser app runs no inline script, so its pages get ``script-src 'self'``;
Folium maps (``/maps``) and the API docs (``/docs``) start with an inline
script, so those pages allow inline scripts and nothing else more. Images may
come from the basemap tile servers (the named ones and the configured one);
the local basemap, MBTiles tiles and the web font come from the server itself.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridservice.maps.base import BASEMAPS, resolve_basemap

#: Paths whose pages start with an inline script of a library (Folium, Swagger UI).
INLINE_SCRIPT_PATHS = ("/maps/", "/docs")


def tile_sources(basemap: str) -> list[str]:
    """CSP sources of the tile servers: every named basemap and the configured ``basemap``.

    >>> tile_sources("http://tiles.local:8080/{z}/{x}/{y}.png")[-1]
    'http://tiles.local:8080'
    """
    templates = [b["tiles"] for b in BASEMAPS.values()]
    configured = resolve_basemap(basemap)
    if configured is not None and configured["tiles"]:
        templates.append(configured["tiles"])
    sources = []
    for template in templates:
        parts = urlsplit(template)
        if parts.scheme not in ("http", "https"):  # MBTiles tiles come from this server ('self')
            continue
        host = parts.netloc
        if "{" in host:  # a subdomain placeholder: webrd0{s}.is.autonavi.com
            host = "*." + host.split(".", 1)[1]
        source = f"{parts.scheme}://{host}"
        if source not in sources:
            sources.append(source)
    return sources


def policy(*, inline_scripts: bool, tiles: list[str]) -> str:
    """The Content-Security-Policy of a page."""
    script = "'self' 'unsafe-inline'" if inline_scripts else "'self'"
    return "; ".join([
        "default-src 'self'", f"script-src {script}", "style-src 'self' 'unsafe-inline'",
        "img-src " + " ".join(["'self'", "data:", "blob:", *tiles]), "font-src 'self' data:", "connect-src 'self'",
        "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
    ])


class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response (a route's own win)."""

    def __init__(self, app: ASGIApp, *, basemap: str) -> None:
        self.app = app
        tiles = tile_sources(basemap)
        common = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                  "Referrer-Policy": "same-origin"}
        self.strict = {**common, "Content-Security-Policy": policy(inline_scripts=False, tiles=tiles)}
        self.inline = {**common, "Content-Security-Policy": policy(inline_scripts=True, tiles=tiles)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chosen = self.inline if scope["path"].startswith(INLINE_SCRIPT_PATHS) else self.strict

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in chosen.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class WorkerHeader:
    """ASGI middleware naming the server process that answered (``X-Gridservice-Worker: PID``), with
    ``serve --workers N``: which one was slow or failed (its pid, as ``ps`` shows it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.pid = str(os.getpid())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Gridservice-Worker"] = self.pid
            await send(message)

        await self.app(scope, receive, send_with_header)
