"""gridservice.api.web: the app shell, its npm assets and its config, served without a browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gridservice.api.web import VENDOR, basemap_config, mount_web, web_root
from gridservice.config import Settings

WEB = Path(__file__).resolve().parents[2] / "web"


@pytest.fixture
def client() -> TestClient:
    if not (WEB / "node_modules" / "leaflet").is_dir():
        pytest.fail("web assets missing: run `npm install --prefix web` (scripts/install-test-deps does)")
    app = FastAPI()
    app.state.settings = Settings()  # what create_app sets
    mount_web(app)
    return TestClient(app)


def test_the_shell_and_every_asset_it_names_are_served_locally(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert not [u for u in urls if re.match(r"(https?:)?//", u)], "the shell must not load from a CDN"
    local = [u for u in urls if u.startswith("/")]
    assert {u.split("/")[2] for u in local if u.startswith("/vendor/")} == set(VENDOR)
    for url in local:
        assert client.get(url).status_code == 200, url


def test_app_modules_import_only_local_files() -> None:
    for module in (WEB / "app").glob("*.js"):
        text = module.read_text(encoding="utf-8")
        static = re.findall(r'^(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"', text, flags=re.MULTILINE | re.DOTALL)
        dynamic = re.findall(r'\bimport\(\s*"([^"]+)"\s*\)', text)
        for target in static + dynamic:
            assert target.startswith("./"), f"{module.name} imports {target}"
            assert (WEB / "app" / target[2:]).is_file(), f"{module.name} imports a missing {target}"


def test_config_tells_the_basemap_and_the_month(client: TestClient) -> None:
    body = client.get("/web-config.json").json()
    assert set(body) == {"basemap", "language", "timezone", "default_month", "default_week", "work_orders",
                         "households_per_member"}
    assert body["households_per_member"] == 1000  # SPEC §4's norm: the planner's proposal starts from it
    # The work-order words the dispatcher offers come from the domain: a repair has an "arrived" step, others not.
    orders = body["work_orders"]
    assert orders["kinds"] == ["repair", "complaint", "report", "opinion", "consultation", "service_request"]
    assert orders["steps"]["repair"] == ["received", "dispatched", "arrived", "resolved", "replied", "closed"]
    assert orders["steps"]["complaint"] == ["received", "dispatched", "resolved", "replied", "closed"]
    assert orders["contact_columns"] == ["arrived_at", "resolved_at", "replied_at", "closed_at"]
    assert body["timezone"] == "Asia/Shanghai"  # the server's own (schema.TIMEZONE): one zone for both
    assert body["default_month"] is None and body["default_week"] is None  # no service area behind this bare app


@pytest.mark.parametrize(
    ("setting", "url", "crs"),
    [
        ("osm", "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "wgs84"),
        ("gcj02", "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
         "gcj02"),
        ("http://tiles.intranet/{z}/{x}/{y}.png", "http://tiles.intranet/{z}/{x}/{y}.png", "wgs84"),
    ],
)
def test_basemap_settings(setting: str, url: str, crs: str) -> None:
    config = basemap_config(setting)
    assert config is not None
    assert (config["url"], config["crs"]) == (url, crs)


@pytest.mark.parametrize("setting", ["local", " LOCAL "])
def test_local_basemap_has_no_tiles(setting: str) -> None:
    assert basemap_config(setting) == {"local": True, "crs": "wgs84", "max_zoom": 19}


def test_the_default_basemap_is_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRIDSERVICE_BASEMAP", raising=False)
    assert Settings().basemap == "local"


def test_the_web_font_and_its_files_are_served(client: TestClient) -> None:
    css = client.get("/vendor/noto-sans-sc/index.css")
    assert css.status_code == 200
    files = re.findall(r"url\(\./(files/[^)]+\.woff2)\)", css.text)
    assert len(files) > 50  # cut by Unicode range: the browser fetches only what it draws
    font = client.get(f"/vendor/noto-sans-sc/{files[-1]}")
    assert font.status_code == 200 and font.content[:4] == b"wOF2"


@pytest.mark.parametrize("setting", ["none", "NONE", "", " off "])
def test_no_basemap(setting: str) -> None:
    assert basemap_config(setting) is None


def test_missing_assets_give_a_page_that_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDSERVICE_WEB_DIR", str(tmp_path))
    assert web_root() == tmp_path
    app = FastAPI()
    mount_web(app)
    page = TestClient(app).get("/")
    assert page.status_code == 503
    assert "npm install --prefix web" in page.text
