"""The supervisor's 业扩 panel in headless Chromium: the week's flags per grid and per handler.

Expected counts come from the demo's manifest and the applications layer read here
with pandas (which planted application is live in the week), not from the API.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd
import pytest

pytestmark = pytest.mark.browser

#: The panel's columns after the unit, as the supervisor view lists them.
COLUMNS = ["applications_flagged", "over_time", "due_soon", "short_time", "time_order", "future_time",
           "non_working_day", "one_person", "small_micro_high_voltage", "total"]
STEPS = ("accepted_at", "plan_replied_at", "connected_at")


def _expected(server: Any, week: str, unit: str) -> dict[str, dict[str, int]]:
    """Planted flags of the applications live in ``week`` (a step in it, or open at its end), per unit."""
    apps = gpd.read_file(server.data, layer="applications").set_index("application_id")
    manifest = gpd.read_file(server.data, layer="demo_manifest")
    planted = manifest[manifest["layer"] == "applications"]
    start = pd.Timestamp.fromisocalendar(int(week[:4]), int(week[-2:]), 1).tz_localize("Asia/Shanghai")
    end = start + pd.Timedelta(days=7)
    times = apps[list(STEPS)].apply(lambda c: pd.to_datetime(c, utc=True).dt.tz_convert("Asia/Shanghai"))
    inside = ((times >= start) & (times < end)).any(axis=1)
    still_open = (times["connected_at"].isna() | (times["connected_at"] >= end)) & (apps["status"] != "cancelled")
    live = inside | (still_open & (times["accepted_at"] < end))
    rows = planted[live.reindex(planted["feature_id"]).to_numpy()]
    flags = rows["problem"].str.removeprefix("APP_").str.lower()
    if unit == "grid":
        keys = apps.loc[rows["feature_id"], "grid_id"].to_numpy()
    else:  # the handler a flag is charged to: the step's; a whole-application flag the acceptor's
        step = flags.map({"over_time": "connected_by", "short_time": "connected_by", "time_order": "connected_by",
                          "future_time": "connected_by", "non_working_day": "plan_replied_by"}).fillna("accepted_by")
        keys = [apps.loc[a, s] for a, s in zip(rows["feature_id"], step, strict=True)]
    table = pd.crosstab(pd.Series(keys, name="unit"), flags.rename("flag").to_numpy())
    return {k: {f: int(v) for f, v in row.items()} for k, row in table.iterrows()}


def test_supervisor_sees_the_weeks_applications_monitor(tab: Any) -> None:
    server, page = tab.server, tab.page
    apps = gpd.read_file(server.data, layer="applications").set_index("application_id")
    manifest = gpd.read_file(server.data, layer="demo_manifest")
    late = manifest.loc[manifest["problem"] == "APP_OVER_TIME", "feature_id"].iloc[0]
    when = pd.to_datetime(apps.loc[late, "connected_at"], utc=True).tz_convert("Asia/Shanghai")
    iso = when.isocalendar()
    week = f"{iso.year}-W{iso.week:02d}"

    tab.login("supervisor")
    page.wait_for_selector("#applications-rows")
    assert page.input_value("#applications-week") == "2026-W49"  # the week of the demo's as_of
    page.fill("#applications-week", week)
    page.dispatch_event("#applications-week", "change")
    page.wait_for_selector(f"#applications-count:has-text('{week}')")  # a selector, not eval: the page's CSP forbids it

    def table() -> dict[str, dict[str, int]]:
        rows = page.evaluate("""() => [...document.querySelectorAll('#applications-rows tbody tr')].map((tr) =>
            [tr.dataset.id, [...tr.querySelectorAll('td')].slice(1).map((td) => td.textContent)])""")
        return {k: {c: int(v.replace(",", "")) for c, v in zip(COLUMNS, cells, strict=True)} for k, cells in rows}

    for unit in ("grid", "handler"):
        page.select_option("#applications-by", unit)
        page.wait_for_selector(f"#applications-rows th:has-text('{'网格' if unit == 'grid' else '办理人'}')")
        shown = table()
        expected = _expected(server, week, unit)
        assert expected, f"no planted flag live in {week}"
        planted_cols = [c for c in COLUMNS if c not in ("applications_flagged", "due_soon", "total")]
        got = {k: {c: v[c] for c in planted_cols if v[c]} for k, v in shown.items()}
        assert {k: v for k, v in got.items() if v} == expected
    # a click on the late application's grid lists that grid's flags, the late connection among them
    page.select_option("#applications-by", "grid")
    page.click(f"#applications-rows tbody tr[data-id='{apps.loc[late, 'grid_id']}']")
    page.wait_for_selector(f"#applications-flag-rows tr[data-id='{late}'][data-flag='over_time']")
    listed = page.evaluate("() => [...document.querySelectorAll('#applications-flag-rows tbody tr')].map((tr) => "
                           "[tr.dataset.id, tr.dataset.flag])")
    grid_rows = _expected(server, week, "grid")[apps.loc[late, "grid_id"]]
    assert sorted(f for _, f in listed if f != "due_soon") == sorted(f for f, k in grid_rows.items() for _ in range(k))
    page.locator("#applications-monitor").scroll_into_view_if_needed()
    tab.shot("supervisor-applications")
    assert tab.blocked == [] and tab.errors == []
