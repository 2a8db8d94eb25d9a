"""With default settings nothing leaves the machine: the app's three views, a map, the report and /docs.

The server runs with the settings a new user has (no ``GRIDSERVICE_BASEMAP``:
the ``local`` basemap) on 127.0.0.2. Every request the browser makes is
recorded; any that is not to the loopback (or ``file:``/``data:``/``blob:``)
fails the test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gridservice.cli import app as cli
from gridservice.webfont import FONT_FAMILY
from headless import _is_local, browser_page, loaded_fonts

pytestmark = pytest.mark.browser

ROLES = ("planner", "dispatcher", "supervisor")
#: The demo's report month (the demo spans the twelve months before its as-of date).
PERIOD = "2026-03"


@pytest.fixture(scope="module")
def exported(default_server: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A ``gridservice map`` file and the HTML report, written by the CLI with default settings."""
    out = tmp_path_factory.mktemp("exported")
    env = {"GRIDSERVICE_BASEMAP": None}
    runner = CliRunner()
    for args in (["map", "coverage", "--out", str(out / "coverage.html")],
                 ["report", "--period", PERIOD, "--out", str(out)]):
        result = runner.invoke(cli, [*args, "--data", str(default_server.data)], env=env)
        assert result.exit_code == 0, result.output
    return {"map": out / "coverage.html", "report": out / f"{PERIOD}-report.html"}


def _record(page: Any) -> list[str]:
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls


def _login(page: Any, url: str, role: str) -> None:
    page.goto(f"{url}/#/login")
    page.fill("#login-username", role)
    page.fill("#login-password", f"{role}-demo")
    page.click("#login-submit")
    page.wait_for_selector(f"#nav a.active[data-view='{role}']")


def _token(server: Any) -> str:
    import httpx

    r = httpx.post(f"{server.url}/api/v1/auth/login", json={"username": "supervisor", "password": "supervisor-demo"})
    r.raise_for_status()
    return str(r.json()["access_token"])


def test_the_app_walks_its_three_views_on_the_local_basemap_and_asks_for_nothing_outside(
        browser: Any, default_server: Any) -> None:
    with browser_page(browser, width=1400, height=900) as run:
        page = run.page
        page.set_default_timeout(30_000)
        urls = _record(page)
        for role in ROLES:
            _login(page, default_server.url, role)
            mapdiv = f"#{role}-map"
            page.wait_for_selector(f"{mapdiv}.local-basemap .leaflet-land-pane path")
            page.wait_for_selector(f"{mapdiv} .leaflet-overlay-pane path")
            page.wait_for_selector(f"{mapdiv} .place-label.town")
            towns = page.locator(f"{mapdiv} .place-label.town span").all_inner_texts()
            assert "琴城镇" in towns, towns
            assert page.locator(f"{mapdiv} .place-label.village").count() > 0
            assert page.locator(f"{mapdiv} .place-label.village:visible").count() == 0  # county zoom
            page.wait_for_timeout(500)
            run.screenshot(f"offline-{role}")
            if role == "supervisor":  # English: place names in pinyin (琴城镇 qín chéng zhèn, worked out by hand)
                page.click("#lang-switch")
                page.wait_for_selector(f"{mapdiv} .place-label.town span:text-is('Qincheng Town')")
                page.click("#lang-switch")
                page.wait_for_selector(f"{mapdiv} .place-label.town span:text-is('琴城镇')")
            page.click("#logout")
            page.wait_for_selector("#login-form")
        assert loaded_fonts(page).get(FONT_FAMILY, 0) >= 1  # Chinese drawn with the served web font
        outside = [u for u in urls if not _is_local(u)]
        assert outside == [] and run.blocked == []
        assert any("/vendor/noto-sans-sc/files/" in u for u in urls)
        assert not any("tile" in u for u in urls)
        assert run.page_errors == []


def test_a_served_map_and_the_docs_ask_for_nothing_outside(browser: Any, default_server: Any) -> None:
    with browser_page(browser, width=1280, height=860) as run:
        page = run.page
        page.set_default_timeout(30_000)
        urls = _record(page)
        page.set_extra_http_headers({"Authorization": f"Bearer {_token(default_server)}"})
        page.goto(f"{default_server.url}/maps/coverage")
        page.wait_for_selector(".gs-legend")
        assert page.locator("path.gs-land").count() == 1
        assert loaded_fonts(page).get(FONT_FAMILY, 0) >= 1
        run.screenshot("offline-served-map")

        page.goto(f"{default_server.url}/docs")
        page.wait_for_selector(".swagger-ui .info .title")
        page.wait_for_selector(".swagger-ui .opblock")
        assert page.locator(".swagger-ui .info .title").inner_text().startswith("gridservice")
        run.screenshot("offline-docs")
        assert page.goto(f"{default_server.url}/redoc").status == 404  # ReDoc would fetch its logo from a CDN

        assert [u for u in urls if not _is_local(u)] == [] and run.blocked == []
        assert any("/static-offline-docs/swagger-ui-bundle.js" in u for u in urls)
        assert run.page_errors == []


@pytest.mark.parametrize("name", ["map", "report"])
def test_exported_files_open_with_nothing_outside_and_carry_their_font(
        browser: Any, exported: dict[str, Path], name: str) -> None:
    with browser_page(browser, width=1280, height=860) as run:
        urls = _record(run.page)
        run.page.goto(exported[name].resolve().as_uri(), wait_until="load")
        if name == "map":
            run.page.wait_for_selector(".gs-legend")
            assert run.page.locator("path.gs-land").count() == 1
        assert loaded_fonts(run.page).get(FONT_FAMILY, 0) >= 1  # embedded slices, no system font needed
        run.screenshot(f"offline-exported-{name}")
        schemes = {u.split(":", 1)[0] for u in urls}
        assert schemes <= {"file", "data", "blob"}, [u for u in urls if not u.startswith(("file:", "data:", "blob:"))]
        assert run.blocked == [] and run.page_errors == []
