"""The supervisor's visit lists in headless Chromium: the member with the most overdue visits comes first,
with the demo's planted key customers short of a home visit highlighted as overdue, on day routes drawn on
the map from the member's base; names masked for a supervisor.

The planted customers come from the demo's manifest read here with geopandas, not from the API.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pytest

pytestmark = pytest.mark.browser


def test_supervisor_sees_a_members_visit_routes(tab: Any) -> None:
    server, page = tab.server, tab.page
    manifest = gpd.read_file(server.data, layer="demo_manifest")
    short = set(manifest.loc[manifest["problem"] == "KEY_CUSTOMER_NOT_VISITED", "feature_id"])

    tab.login("supervisor")
    page.wait_for_selector("#visits-rows tbody tr")
    rows = page.evaluate("""() => [...document.querySelectorAll('#visits-rows tbody tr')]
        .map((tr) => ({customer: tr.dataset.customer, reason: tr.dataset.reason, day: tr.dataset.day,
                       stop: tr.dataset.stop, overdue: tr.classList.contains('overdue'),
                       name: tr.querySelectorAll('td')[4].textContent}))""")
    late = {r["customer"] for r in rows if r["overdue"]}
    assert late == short  # the planted shortfall: one grid, one member, chosen first for having most overdue
    assert all(r["reason"] == "home_norm" and r["day"] for r in rows if r["overdue"])
    assert all("*" in r["name"] for r in rows)  # masked for a supervisor
    # each day's home visits are numbered 1, 2, … along its route
    days: dict[str, list[int]] = {}
    for r in rows:
        if r["stop"]:
            days.setdefault(r["day"], []).append(int(r["stop"]))
    assert days and all(stops == list(range(1, len(stops) + 1)) for stops in days.values())
    assert page.locator(".visit-icon").count() == len(rows)
    assert page.locator(".visit-icon.overdue").count() == len(late)
    assert page.locator("#supervisor-map path.leaflet-interactive").count() >= len(days)  # one line per day
    assert "逾期" in page.text_content("#visits-count")
    page.select_option("#visits-horizon", "month")
    page.wait_for_selector("#visits-count[data-horizon='month']")
    assert int(page.text_content("#visits-count").split("；")[1].split(" ")[0]) >= 18  # a month's working days
    page.locator("#visits").scroll_into_view_if_needed()
    tab.shot("supervisor-visits")
    assert tab.blocked == [] and tab.errors == []
