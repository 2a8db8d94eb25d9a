"""Browser-test fixtures: `gridservice serve` on a demo copy, and headless Chromium.

The server runs in a subprocess on 127.0.0.1 (a free port) with the basemap
set to ``none``; the browser is Debian's chromium driven by Playwright, and
every request that does not go to 127.0.0.1 is blocked and remembered, so a
test can assert that the app fetched nothing from the internet.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from headless import ARTIFACTS, browser_page
from serving import serving

ROOT = Path(__file__).resolve().parents[2]
#: Demo users (gridservice.auth.DEMO_USERS): the password is "<username>-demo".
ROLES = ("planner", "dispatcher", "supervisor")


def _ensure_demo_users(path: Path) -> None:
    from gridservice.auth import demo_users
    from gridservice.io import GeoPackageStore

    store = GeoPackageStore(path)
    if "users" not in store.layers() or len(store.read_layer("users")) == 0:
        store.write({"users": demo_users()[0]})


@dataclass
class Server:
    """A running gridservice server."""

    url: str
    data: Path

    def api(self, path: str, *, role: str = "supervisor") -> object:
        """GET ``/api/v1{path}`` as a demo user; the parsed JSON."""
        import httpx

        with httpx.Client(base_url=self.url, timeout=30) as client:
            login = client.post("/api/v1/auth/login", json={"username": role, "password": f"{role}-demo"})
            login.raise_for_status()
            token = login.json()["access_token"]
            response = client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"})
            response.raise_for_status()
            return response.json()


def _serve(demo_gpkg: Path, tmp_path: Path, **options: object) -> Iterator[Server]:
    if not (ROOT / "web" / "node_modules" / "leaflet").is_dir():
        pytest.fail("web assets missing: run `npm install --prefix web` (scripts/install-test-deps does)")
    demo_copy = tmp_path / "nanfeng.gpkg"
    shutil.copyfile(demo_gpkg, demo_copy)
    _ensure_demo_users(demo_copy)
    with serving(demo_copy, tmp_path / "server.log", **options) as url:  # type: ignore[arg-type]
        yield Server(url, demo_copy)


@pytest.fixture(scope="module")
def server(demo_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``gridservice`` served by uvicorn on 127.0.0.1 from a private demo copy, no basemap.

    One server per test module (starting one takes seconds): its copy is
    made like ``demo_copy``'s, and the tests that write (a plan commit, a
    work order) check only what they wrote.
    """
    yield from _serve(demo_gpkg, tmp_path_factory.mktemp("web"), env={"GRIDSERVICE_BASEMAP": "none"})


@pytest.fixture(scope="module")
def default_server(demo_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Like ``server`` but with the settings a new user has (``GRIDSERVICE_BASEMAP`` removed: ``local``),
    on 127.0.0.2: a loopback address no code can have special-cased as "localhost"."""
    yield from _serve(demo_gpkg, tmp_path_factory.mktemp("offline"), env={"GRIDSERVICE_BASEMAP": ""},
                      host="127.0.0.2")


@dataclass
class Page:
    """A browser tab on the server, with what it tried to fetch outside and its script errors."""

    page: object
    server: Server
    blocked: list[str]
    errors: list[str]
    console: list[str]

    def login(self, role: str) -> None:
        """Log in through the login form as the demo user of ``role``."""
        page = self.page
        page.goto(f"{self.server.url}/#/login")
        page.fill("#login-username", role)
        page.fill("#login-password", f"{role}-demo")
        page.click("#login-submit")
        page.wait_for_selector(f"#nav a.active[data-view='{role}']")

    def shot(self, name: str) -> Path:
        """Save a screenshot under artifacts/ and return its path."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"web-{name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def tab(browser: object, server: Server) -> Iterator[Page]:
    """A fresh browser context on ``server`` that blocks every request not to the loopback."""
    with browser_page(browser, width=1400, height=900, accept_downloads=True) as run:
        run.page.set_default_timeout(20_000)
        yield Page(run.page, server, run.blocked, run.page_errors, run.console_errors)
