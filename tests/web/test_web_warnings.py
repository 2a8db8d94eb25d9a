"""The supervisor's warnings panel in headless Chromium: the demo's seeded open warnings with their yellow and
red badges, the planted escalated one marked 约谈, and the warned grids outlined on the map.

The planted warnings come from the demo's manifest and the open ones from its ``warnings`` layer, both read here
with geopandas, not from the API.
"""

from __future__ import annotations

import itertools
from typing import Any

import geopandas as gpd
import pytest

pytestmark = pytest.mark.browser


def test_supervisor_sees_open_warnings_and_warned_grids(tab: Any) -> None:
    server, page = tab.server, tab.page
    manifest = gpd.read_file(server.data, layer="demo_manifest")
    escalated = set(manifest.loc[manifest["problem"] == "WARNING_ESCALATED", "feature_id"])
    stored = gpd.read_file(server.data, layer="warnings")
    open_ = stored[stored["cleared_at"].isna()]
    assert escalated

    tab.login("supervisor")
    page.wait_for_selector("#warnings-rows tbody tr")
    rows = page.evaluate("""() => [...document.querySelectorAll('#warnings-rows tbody tr')].map((tr) => ({
        id: tr.dataset.id, severity: tr.dataset.severity, level: tr.dataset.level, unit: tr.dataset.unit,
        escalated: tr.dataset.escalated === 'true', badge: tr.querySelector('.pill').textContent,
        talk: tr.querySelector('.escalated') ? tr.querySelector('.escalated').textContent : ''}))""")
    assert {r["id"] for r in rows} == set(open_["warning_id"])
    for r in rows:
        assert r["badge"] == {"red": "红色", "yellow": "黄色"}[r["severity"]]
        assert r["escalated"] == (r["talk"] == "约谈")
    assert escalated <= {r["id"] for r in rows if r["escalated"]}
    assert "约谈" in page.text_content("#warnings-count")

    # every grid with an open grid-level warning is outlined in its worst colour
    warned = page.evaluate("() => window.gridservice.supervisor.state.warned")
    grid_rows = open_[open_["level"] == "grid"]
    expected = {g: ("red" if (s == "red").any() else "yellow") for g, s in grid_rows.groupby("unit_id")["severity"]}
    assert warned == expected
    # the grid polygons only (class "grid"): an audit marker on the map carries its finding's grid_id too
    outlined = page.evaluate("""() => { const out = {}; window.gridservice.supervisor.map.eachLayer((l) => {
        if ((l.options.className || '').split(' ').includes('grid')) out[l.feature.properties.grid_id] =
          l.options.color; }); return out; }""")
    colours = {"red": "#c62828", "yellow": "#f9a825"}
    assert {g: outlined[g] for g in expected} == {g: colours[s] for g, s in expected.items()}
    page.locator("#warnings-panel").scroll_into_view_if_needed()
    tab.shot("supervisor-warnings")
    assert tab.blocked == [] and tab.errors == []


def test_supervisor_sees_the_week_s_service_stars(tab: Any) -> None:
    """One row per grid member of the demo (its grid_staff read with geopandas), ranked with non-increasing
    scores, the first three starred, the formula above the table; another week reloads it."""
    server, page = tab.server, tab.page
    gs = gpd.read_file(server.data, layer="grid_staff")
    members = set(gs.loc[gs["role"] == "grid_member", "staff_id"])

    tab.login("supervisor")
    page.wait_for_selector("#stars-rows tbody tr")
    week = page.input_value("#stars-week")
    assert week.startswith("2026-W")
    rows = page.evaluate("""() => [...document.querySelectorAll('#stars-rows tbody tr')].map((tr) => ({
        staff: tr.dataset.staff, rank: Number(tr.dataset.rank), score: Number(tr.dataset.score),
        star: tr.dataset.star === 'true'}))""")
    assert {r["staff"] for r in rows} == members
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert all(a["score"] >= b["score"] for a, b in itertools.pairwise(rows))
    assert [r["star"] for r in rows[:4]] == [True, True, True, False]
    assert "score = 2 × orders_handled" in page.text_content("#stars-method")
    page.fill("#stars-week", "2026-W40")
    page.dispatch_event("#stars-week", "change")
    page.wait_for_selector("#stars-method:has-text('score')")
    page.locator("#stars-panel").scroll_into_view_if_needed()
    tab.shot("supervisor-stars")
    assert tab.blocked == [] and tab.errors == []
