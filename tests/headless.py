"""Headless Chromium for tests: Debian's ``/usr/bin/chromium`` driven by Playwright, no network.

Shared by the map tests and the web-app tests. :func:`open_page` loads a page
with every request that is not ``file:``, ``data:`` or the loopback
(127.0.0.1 / localhost) aborted and recorded, and collects console errors,
page errors and failed requests. Screenshots go to ``artifacts/`` (gitignored).

Install: ``scripts/install-test-deps`` (apt ``chromium``, pip ``playwright``).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

CHROMIUM = os.environ.get("GRIDSERVICE_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


def require_chromium() -> None:
    """Skip the calling test when Chromium or Playwright is truly absent."""
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.skip(f"headless browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("headless browser tests need the playwright package (pip install playwright)")


@dataclass
class PageRun:
    """A loaded page and what happened while loading it."""

    page: Any
    blocked: list[str] = field(default_factory=list)
    blocked_types: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        """Save a PNG of the page under ``artifacts/`` and return its path."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


def _is_local(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in ("file", "data", "blob", "about"):
        return True
    if parsed.hostname in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(parsed.hostname or "").is_loopback  # all of 127.0.0.0/8
    except ValueError:
        return False


def loaded_fonts(page: Any) -> dict[str, int]:
    """Font family → how many of its web-font faces the page has loaded (after ``document.fonts.ready``).

    (``document.fonts.check`` cannot tell: it answers true for a family with no web font at all.)
    """
    return page.evaluate("""async () => {
        await document.fonts.ready;
        const out = {};
        document.fonts.forEach((f) => {
            const family = f.family.replace(/"/g, "");
            if (f.status === "loaded") out[family] = (out[family] || 0) + 1;
        });
        return out;
    }""")


def wait_until(page: Any, expression: str, arg: Any = None, *, timeout_ms: int = 20_000) -> Any:
    """Evaluate ``expression`` (a JS function of ``arg``) until it is truthy; its value.

    Instead of ``page.wait_for_function``: older Playwright releases poll that inside the page with
    ``eval``, which the app's Content-Security-Policy (``script-src 'self'``) refuses.
    """
    for _ in range(max(timeout_ms // 100, 1)):
        value = page.evaluate(expression, arg)
        if value:
            return value
        page.wait_for_timeout(100)
    msg = f"not true after {timeout_ms} ms: {expression}"
    raise AssertionError(msg)


@contextmanager
def chromium() -> Iterator[Any]:
    """A running headless Chromium (a Playwright ``Browser``); skips when it is absent."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def browser_page(browser: Any = None, *, width: int = 1280, height: int = 860, **options: Any) -> Iterator[PageRun]:
    """A fresh page (own context) with the network blocked; launches Chromium unless ``browser`` is given.

    ``options`` go to Playwright's ``new_context`` (``accept_downloads=True`` …).
    """
    if browser is None:
        with chromium() as own, browser_page(own, width=width, height=height, **options) as run:
            yield run
        return
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", **options)
    try:
        page = context.new_page()
        run = PageRun(page)

        def route(r: Any) -> None:
            url = r.request.url
            if _is_local(url):
                r.continue_()
            else:
                run.blocked.append(url)
                run.blocked_types.append(r.request.resource_type)
                r.abort()

        context.route("**/*", route)
        page.on("console", lambda msg: run.console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: run.page_errors.append(str(exc)))
        page.on("requestfailed", lambda req: run.failed.append(req.url))
        yield run
    finally:
        context.close()


@contextmanager
def open_page(target: str | Path, *, browser: Any = None, wait_for: str | None = None, timeout_ms: int = 30_000,
              **kwargs: Any) -> Iterator[PageRun]:
    """Load ``target`` (a file path or a loopback URL) with the network blocked.

    ``browser`` is a running Chromium to reuse (see :func:`chromium`); ``wait_for``
    is a CSS selector to wait for (e.g. the legend) before yielding.
    """
    text = str(target)
    url = text if text.startswith(("http://", "https://", "file:")) else Path(target).resolve().as_uri()
    with browser_page(browser, **kwargs) as run:
        run.page.goto(url, wait_until="load", timeout=timeout_ms)
        if wait_for:
            run.page.wait_for_selector(wait_for, timeout=timeout_ms)
        yield run
