"""The ``local`` basemap: land and place names drawn from the service area itself."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from gridservice.maps import build_coverage_map, map_html
from gridservice.maps.backdrop import places
from gridservice.maps.layers import Labels
from headless import open_page


def _customers(rows: list[tuple[str, float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"address": [a for a, _, _ in rows]},
                            geometry=[shapely.Point(x, y) for _, x, y in rows], crs=4326)


def test_places_are_named_by_addresses_at_the_median_of_their_customers():
    customers = _customers([
        # 白舍镇 proper: three street addresses; its point is their median, not pulled to the village
        ("南丰县白舍镇新街1号", 116.40, 27.30),
        ("南丰县白舍镇新街2号", 116.42, 27.30),
        ("南丰县白舍镇新街3号", 116.44, 27.32),
        # 罗坊村 of 白舍镇: three households
        ("南丰县白舍镇罗坊村1组2号", 116.50, 27.40),
        ("南丰县白舍镇罗坊村1组3号", 116.52, 27.41),
        ("南丰县白舍镇罗坊村2组1号", 116.60, 27.42),
        # 市山镇 (a town whose name starts with 市) after a province and city; all in 洋源村
        ("江西省抚州市南丰县市山镇洋源村3组1号", 116.30, 27.20),
        ("江西省抚州市南丰县市山镇洋源村3组2号", 116.31, 27.22),
        ("江西省抚州市南丰县市山镇洋源村3组3号", 116.35, 27.21),
        # 新村路 is a road, not a village; one customer is too few to name 琴城镇
        ("南丰县琴城镇新村路5号", 116.53, 27.22),
        ("no town here", 116.0, 27.0),
    ])
    got = places(customers)
    # by hand: towns first, largest first, ties by name (洋 U+6D0B < 罗 U+7F57); medians of x and y separately
    assert got[["name", "kind", "customers"]].values.tolist() == [
        ["白舍镇", "town", 6], ["市山镇", "town", 3], ["洋源村", "village", 3], ["罗坊村", "village", 3]]
    xy = shapely.get_coordinates(got.geometry.to_numpy()).round(6).tolist()
    assert xy == [[116.42, 27.30], [116.31, 27.21], [116.31, 27.21], [116.52, 27.41]]


def test_no_addresses_no_places():
    assert places(_customers([])).empty
    assert places(_customers([("南丰县白舍镇新街1号", 116.4, 27.3)])).empty  # fewer than 3 customers
    assert places(gpd.GeoDataFrame(geometry=shapely.points([[116.0, 27.0]]), crs=4326)).empty


def test_demo_towns_are_the_generators_towns(demo_area):
    from gridservice.demo.geography import TOWNS

    got = places(demo_area.customers)
    assert set(got.loc[got["kind"] == "town", "name"]) == {name for name, *_ in TOWNS}
    towns = got[got["kind"] == "town"].set_index("name").geometry
    assert shapely.contains(demo_area.territory, towns.to_numpy()).all()


def test_default_map_draws_land_and_town_names_and_asks_for_nothing(demo_area, browser, tmp_path, monkeypatch):
    from gridservice.config import get_settings

    monkeypatch.delenv("GRIDSERVICE_BASEMAP", raising=False)
    get_settings.cache_clear()
    try:
        m = build_coverage_map(demo_area)  # the default basemap: local
    finally:
        get_settings.cache_clear()
    assert [c for c in m._children.values() if isinstance(c, Labels) and "gs-place" in c.options]
    out = tmp_path / "default.html"
    out.write_text(map_html(m), encoding="utf-8")
    with open_page(out, browser=browser, wait_for=".gs-legend") as run:
        run.page.wait_for_timeout(300)  # the place names declutter after the grid names
        assert run.page.locator("path.gs-land").count() == 1
        shown = [t for t in run.page.locator(".gs-place.gs-town span").all_inner_texts() if t]
        visible = run.page.locator(".gs-place.gs-town span").evaluate_all(
            "els => els.filter(e => e.style.visibility !== 'hidden').map(e => e.textContent)")
        assert "琴城镇" in shown and len(visible) >= 6
        assert run.page.locator(".gs-place.gs-village span").evaluate_all(
            "els => els.every(e => e.style.visibility === 'hidden')")  # villages wait for zoom 13
        assert run.blocked == [] and run.page_errors == []
        run.screenshot("map-default-local-basemap")


@pytest.mark.parametrize("basemap", ["none", "osm"])
def test_other_basemaps_draw_no_land(map_area, basemap):
    html = map_html(build_coverage_map(map_area, basemap=basemap, period="2026-03"))
    assert '"className": "gs-land"' not in html and '"className":"gs-place"' not in html


def test_english_maps_name_places_in_pinyin(demo_area):
    m = build_coverage_map(demo_area, basemap="local", lang="en", heat=False, problems=False)
    (labels,) = [c for c in m._children.values() if isinstance(c, Labels) and "gs-place" in c.options]
    # 琴城镇 qín chéng zhèn, 三溪乡 sān xī xiāng: worked out by hand
    assert '"Qincheng Town"' in labels.rows and '"Sanxi Township"' in labels.rows
    assert "琴城镇" not in labels.rows
