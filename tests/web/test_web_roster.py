"""The duty roster in headless Chromium: the supervisor's station week with the demo's planted grid-day
without duty highlighted, and the dispatcher's customer card saying who is on duty now.

The planted gap comes from the demo's manifest and the expected duty from its ``shifts`` and ``grid_staff``
layers, read here with geopandas, not from the API.
"""

from __future__ import annotations

import re
from typing import Any

import geopandas as gpd
import pytest

pytestmark = pytest.mark.browser


def test_supervisor_sees_the_planted_grid_day_without_duty(tab: Any) -> None:
    server, page = tab.server, tab.page
    manifest = gpd.read_file(server.data, layer="demo_manifest")
    gap = manifest[manifest["problem"] == "ROSTER_NO_COVER"].iloc[0]
    grid, day = gap["feature_id"], re.search(r"on (\d{4}-\d\d-\d\d)", gap["detail"]).group(1)
    grids = gpd.read_file(server.data, layer="grids").set_index("grid_id")
    station = grids.loc[grid, "station_id"]

    tab.login("supervisor")
    page.wait_for_selector("#roster-table tbody tr")
    assert page.input_value("#roster-from") == "2026-11-30"  # the Monday of the demo's as_of week
    page.select_option("#roster-station", station)
    page.fill("#roster-from", "2026-11-23")
    page.dispatch_event("#roster-from", "change")
    cell = page.wait_for_selector(f"#roster-table tr.cover[data-grid='{grid}'] td.gap[data-date='{day}']")
    assert cell.text_content() == "无人值班"
    gaps = page.locator("#roster-table td.gap")
    assert gaps.count() == 1  # the only grid-day of that week and station without duty
    staff_rows = page.locator("#roster-table tr[data-staff]")
    assert staff_rows.count() >= 3
    assert "1 个网格日无人值班" in page.text_content("#roster-count")
    page.locator("#roster").scroll_into_view_if_needed()
    tab.shot("supervisor-roster")
    assert tab.blocked == [] and tab.errors == []


def test_the_customer_card_says_who_is_on_duty_now(tab: Any) -> None:
    server, page = tab.server, tab.page
    customers = gpd.read_file(server.data, layer="customers").set_index("customer_id")
    shifts = gpd.read_file(server.data, layer="shifts")
    links = gpd.read_file(server.data, layer="grid_staff")
    cid = customers.index[0]
    grid = customers.loc[cid, "grid_id"]
    # the demo's as_of is 2026-11-30: the grid's linked staff on duty that day
    today = shifts[(shifts["date"] == "2026-11-30") & (shifts["kind"] == "duty")]
    on_duty = set(today["staff_id"]) & set(links.loc[links["grid_id"] == grid, "staff_id"])
    assert on_duty

    tab.login("dispatcher")
    page.fill("#customer-search", cid)
    page.wait_for_selector(f"#search-results li[data-customer='{cid}']").click()
    page.wait_for_selector(f"#card[data-customer='{cid}'] #card-on-duty li")
    first = page.locator("#card-on-duty li").first
    assert first.get_attribute("data-kind") == "duty"
    assert first.get_attribute("data-staff") in on_duty
    assert page.locator("#card-on-duty li[data-kind='station']").count() == 1
    assert re.fullmatch(r"tel:\+?\d+", first.locator("a.call").get_attribute("href"))
    tab.shot("dispatcher-on-duty")
    assert tab.blocked == [] and tab.errors == []
