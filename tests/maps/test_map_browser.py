"""Each map opened in headless Chromium with the network blocked: it must draw.

Screenshots are saved under ``artifacts/`` (look at them).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gridservice.maps import (
    MAP_KINDS,
    build_coverage_map,
    build_lineloss_map,
    build_operations_map,
    write_map,
)
from headless import loaded_fonts, open_page

pytestmark = pytest.mark.browser

CDN_HOSTS = ("cdn.jsdelivr.net", "cdnjs.cloudflare.com", "code.jquery.com", "unpkg.com", "bootstrapcdn.com",
             "googleapis.com", "fontawesome")
NOW = pd.Timestamp("2026-03-10 12:00", tz="Asia/Shanghai")

FIND = """() => {
  const objs = Object.values(window);
  window.__map = objs.find(v => v instanceof L.Map);
  window.__pts = objs.find(v => v instanceof L.GsPoints);
  return true;
}"""


@pytest.fixture(scope="module")
def map_files(map_area, lineloss_frame, tmp_path_factory) -> dict[str, Path]:
    from gridservice.maps.data import grid_kpis

    d = tmp_path_factory.mktemp("browser-maps")
    kpis = grid_kpis(map_area, "2026-03")  # computed once for the four coverage maps
    return {
        "coverage": write_map(build_coverage_map(map_area, metric="customers", period="2026-03", basemap="none",
                                                 kpis=kpis), d / "coverage.html"),
        "operations": write_map(build_operations_map(map_area, period="2026-03", basemap="none", now=NOW),
                                d / "operations.html"),
        "lineloss": write_map(build_lineloss_map(map_area, period="2026-03", basemap="none",
                                                 lineloss=lineloss_frame), d / "lineloss.html"),
        "coverage-en": write_map(build_coverage_map(map_area, metric="customers", period="2026-03", basemap="none",
                                                    lang="en", kpis=kpis), d / "coverage-en.html"),
        "coverage-osm": write_map(build_coverage_map(map_area, metric="customers", period="2026-03", basemap="osm",
                                                     kpis=kpis, problems=False), d / "coverage-osm.html"),
    }


def assert_clean(run) -> None:
    assert run.page_errors == []
    assert run.console_errors == []
    assert run.failed == []
    assert run.page.evaluate("L.version") == "1.9.4"  # Leaflet loaded, from the page itself


@pytest.mark.parametrize("kind", MAP_KINDS)
def test_map_draws_every_grid_offline(kind, map_files, map_area, browser):
    with open_page(map_files[kind], browser=browser, wait_for=".gs-legend") as run:
        page = run.page
        assert page.locator("path.gs-grid").count() == len(map_area.grids) == 5
        assert page.locator(".gs-legend").first.is_visible()
        assert page.locator(".gs-label").count() == 5
        assert page.locator(".leaflet-control-layers").count() == 1
        assert run.blocked == []  # nothing tried to leave the machine
        assert_clean(run)
        shot = run.screenshot(f"map-{kind}")
        assert shot.stat().st_size > 10_000


def test_coverage_legend_labels_and_popup(map_files, browser):
    with open_page(map_files["coverage"], browser=browser, wait_for=".gs-legend") as run:
        page = run.page
        legend = page.locator(".gs-legend").all_inner_texts()
        assert any("客户数 (户)" in text and "9" in text for text in legend)
        labels = page.locator(".gs-label span").evaluate_all("els => els.map(e => e.textContent)")
        assert set(labels) == {"城东网格", "城西网格", "白舍网格", "太和网格", "琴湖网格"}
        # Labels that would collide are hidden: 琴湖网格 sits in the middle of 太和网格, so one of them goes.
        boxes = page.locator(".gs-label span").evaluate_all(
            "els => els.filter(e => e.style.visibility !== 'hidden').map(e => {"
            " const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })")
        assert len(boxes) == 4
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1], (a, b)
        # Click the middle of G1 (城东网格): its popup names its staff.
        page.evaluate(FIND)
        page.evaluate("() => { const p = __map.latLngToContainerPoint([27.115, 116.415]);"
                      " window.__xy = [p.x, p.y]; }")
        x, y = page.evaluate("__xy")
        box = page.locator("#" + page.evaluate("__map.getContainer().id")).bounding_box()
        page.mouse.click(box["x"] + x, box["y"] + y)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        page.wait_for_timeout(400)  # let the popup fade in before the screenshot
        text = popup.inner_text()
        assert "城东网格" in text and "张伟" in text and "李娜" in text
        run.screenshot("map-coverage-popup")
        assert_clean(run)


def test_customers_are_drawn_once_zoomed_in(map_files, map_area, browser):
    with open_page(map_files["coverage"], browser=browser, wait_for=".gs-legend") as run:
        page = run.page
        page.evaluate(FIND)
        drawn_far = page.evaluate("async () => { await __pts.ready; return __pts.drawn; }")
        assert drawn_far == 0  # the county view shows grids, not a million dots
        result = page.evaluate("""async () => {
            __map.setView([27.1675, 116.411], 15, {animate: false});
            await new Promise(r => setTimeout(r, 300));
            const b = __map.getBounds();
            return {drawn: __pts.drawn, w: b.getWest(), e: b.getEast(), s: b.getSouth(), n: b.getNorth()};
        }""")
        c = map_area.customers.geometry
        inside = ((c.x >= result["w"]) & (c.x <= result["e"]) & (c.y >= result["s"]) & (c.y <= result["n"])).sum()
        assert inside > 0
        assert result["drawn"] == inside
        run.screenshot("map-coverage-customers")
        assert_clean(run)


def test_operations_shows_active_and_past_outages(map_files, browser):
    with open_page(map_files["operations"], browser=browser, wait_for=".gs-legend") as run:
        assert run.page.locator("path.gs-outage-active").count() == 1
        assert run.page.locator("path.gs-outage-active-marker").count() == 1
        assert run.page.locator("path.gs-outage-past").count() == 1
        assert run.page.locator("canvas.leaflet-heatmap-layer").count() == 1  # repair heat on, complaints off
        assert_clean(run)


def test_lineloss_colours_transformers_by_class(map_files, browser):
    with open_page(map_files["lineloss"], browser=browser, wait_for=".gs-legend") as run:
        page = run.page
        assert page.locator("path.gs-transformer").count() == 2
        assert page.locator("path.gs-loss-high").count() == 1
        assert page.locator("path.gs-loss-negative").count() == 1
        assert page.locator("path.gs-loss-high").get_attribute("fill") == "#d73027"
        assert_clean(run)


def test_english_map(map_files, browser):
    with open_page(map_files["coverage-en"], browser=browser, wait_for=".gs-legend") as run:
        page = run.page
        assert "Customers" in " ".join(page.locator(".gs-legend").all_inner_texts())
        assert "Chengdong grid" in page.locator(".gs-label").all_inner_texts()
        assert "Grids" in page.locator(".leaflet-control-layers").inner_text()
        run.screenshot("map-coverage-en")
        assert_clean(run)


def test_osm_basemap_only_asks_for_tiles(map_files, browser):
    with open_page(map_files["coverage-osm"], browser=browser, wait_for=".gs-legend") as run:
        run.page.wait_for_timeout(300)
        assert run.page.locator("path.gs-grid").count() == 5
        assert run.blocked, "the OSM basemap should have asked for tiles"
        assert set(run.blocked_types) == {"image"}
        assert all("tile.openstreetmap.org" in url for url in run.blocked)
        assert not any(host in url for url in run.blocked for host in CDN_HOSTS)
        assert run.page_errors == []


def test_demo_coverage_map(request, tmp_path, browser):
    pytest.importorskip("gridservice.demo", reason="the demo generator has not landed yet")
    area = request.getfixturevalue("demo_area")
    out = write_map(build_coverage_map(area, basemap="none"), tmp_path / "demo.html")
    with open_page(out, browser=browser, wait_for=".gs-legend") as run:
        assert run.page.locator("path.gs-grid").count() == len(area.grids)
        assert run.blocked == []
        run.screenshot("map-demo-coverage")
        assert_clean(run)


def test_server_mode_links_assets_under_the_prefix(map_area, browser, tmp_path):
    """As the API serves it: the page links /maps/assets/..., a static mount of asset_dir() answers,
    and the web font's stylesheet under /vendor/ (the web app's mount of the npm package)."""
    import functools
    import http.server
    import threading

    from gridservice.maps import ASSET_URL_PREFIX, asset_dir, map_html
    from gridservice.webfont import FONT_CSS_URL, FONT_FAMILY, font_dir

    root = tmp_path / "site"
    (root / ASSET_URL_PREFIX.strip("/")).parent.mkdir(parents=True)
    (root / ASSET_URL_PREFIX.strip("/")).symlink_to(asset_dir(tmp_path / "cache"), target_is_directory=True)
    (root / FONT_CSS_URL.strip("/")).parent.parent.mkdir(parents=True)
    (root / FONT_CSS_URL.strip("/")).parent.symlink_to(font_dir(), target_is_directory=True)
    html = map_html(build_coverage_map(map_area, period="2026-03", basemap="none", problems=False), inline=False)
    assert f'<script src="{ASSET_URL_PREFIX}/leaflet.js">' in html
    (root / "maps" / "coverage.html").write_text(html, encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/maps/coverage.html"
        with open_page(url, browser=browser, wait_for=".gs-legend") as run:
            assert run.page.locator("path.gs-grid").count() == len(map_area.grids)
            assert run.blocked == []
            assert_clean(run)
            assert loaded_fonts(run.page).get(FONT_FAMILY, 0) >= 1  # the served web font draws the names
    finally:
        server.shutdown()
        server.server_close()
