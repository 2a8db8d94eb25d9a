"""The supervisor's visit lists in headless Chromium: the member with the most overdue visits comes first,
with the demo's planted key customers short of a home visit highlighted as overdue, on day routes drawn on
the map from the member's base; names masked for a supervisor.

The planted customers come from the demo's manifest read here with geopandas, not from the API.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pytest

from headless import wait_until

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


def test_dispatcher_records_a_due_visit_done(tab: Any) -> None:
    """The dispatcher's list of visits due, overdue only by default (the demo's planted key customers short
    of a home visit among them, names unmasked); "done" on one writes a ``visits`` row and its audit entry,
    read back here with geopandas."""
    server, page = tab.server, tab.page
    manifest = gpd.read_file(server.data, layer="demo_manifest")
    short = set(manifest.loc[manifest["problem"] == "KEY_CUSTOMER_NOT_VISITED", "feature_id"])
    names = gpd.read_file(server.data, layer="customers").set_index("customer_id")["name"]
    before = gpd.read_file(server.data, layer="visits")

    tab.login("dispatcher")
    page.wait_for_selector("#visits-due tbody tr")
    rows = page.evaluate("""() => [...document.querySelectorAll('#visits-due tbody tr')].map((tr) => ({
        customer: tr.dataset.customer, kind: tr.dataset.kind, staff: tr.dataset.staff,
        overdue: tr.classList.contains('overdue'), who: tr.querySelector('td').innerText}))""")
    assert rows and all(r["overdue"] for r in rows)
    assert all(r["who"].split("\n") == [names[r["customer"]], r["customer"]] for r in rows)  # a dispatcher calls them
    overdue = server.api("/visits/due?overdue=true&limit=1000", role="dispatcher")
    assert short <= {i["customer_id"] for i in overdue["items"]}
    assert [r["customer"] for r in rows] == [i["customer_id"] for i in overdue["items"][: len(rows)]]

    done = next(r for r in rows if r["customer"] in short)
    page.click(f"#visits-due tr[data-customer='{done['customer']}'] button.visit-done")
    page.wait_for_selector(".toast")
    after = gpd.read_file(server.data, layer="visits")
    new = after[~after["visit_id"].isin(before["visit_id"])]
    assert new[["customer_id", "staff_id", "kind"]].values.tolist() == [[done["customer"], done["staff"], done["kind"]]]
    audit = gpd.read_file(server.data, layer="audit_log")
    assert ((audit["layer"] == "visits") & (audit["feature_id"] == new["visit_id"].iloc[0])
            & (audit["user"] == "dispatcher")).sum() == 1
    # the list is asked again and shows the server's new count
    now = server.api("/visits/due?overdue=true&limit=1", role="dispatcher")
    wait_until(page, "(n) => document.querySelector('#visits-count').textContent.includes(n)", f"{now['overdue']:,}")
    tab.shot("dispatcher-visits")
    assert tab.blocked == [] and tab.errors == []
