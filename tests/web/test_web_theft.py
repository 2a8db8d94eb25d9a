"""The supervisor's theft panel in headless Chromium: the demo's planted thieves and faulty meters first on
their high-loss transformer, each with its sparkline; names masked for a supervisor.

The planted meters come from the demo's manifest read here with geopandas, not from the API.
"""

from __future__ import annotations

import re
from typing import Any

import geopandas as gpd
import pytest

pytestmark = pytest.mark.browser


def test_supervisor_sees_the_suspects_of_the_high_loss_areas(tab: Any) -> None:
    server, page = tab.server, tab.page
    manifest = gpd.read_file(server.data, layer="demo_manifest")
    planted = manifest[manifest["problem"].str.startswith("THEFT_")]
    meters = set(planted["feature_id"])
    tx = re.match(r"on (\S+):", planted["detail"].iloc[0]).group(1)

    tab.login("supervisor")
    page.wait_for_selector("#theft-rows tbody tr")
    assert page.input_value("#theft-month") == "2026-10"  # the month before the demo's as_of (2026-11-30)
    rows = page.evaluate("""(tx) => [...document.querySelectorAll('#theft-rows tbody tr')]
        .filter((tr) => tr.dataset.transformer === tx)
        .map((tr) => ({meter: tr.dataset.meter, rank: Number(tr.dataset.rank), rules: tr.dataset.rules,
                       name: tr.querySelectorAll('td')[3].textContent,
                       lines: tr.querySelectorAll('svg.sparkline polyline').length,
                       title: tr.querySelector('svg.sparkline title').textContent}))""", tx)
    top = {r["meter"]: r for r in rows if r["rank"] <= len(meters)}
    assert set(top) == meters
    for problem, meter in zip(planted["problem"], planted["feature_id"], strict=True):
        assert problem.removeprefix("THEFT_").lower() in top[meter]["rules"].split(",")
        assert top[meter]["lines"] >= 1 and "2026-10: " in top[meter]["title"]
        assert "*" in top[meter]["name"]  # masked for a supervisor
    assert "零电量" in page.text_content("#theft-rows") and "准确率" in page.text_content("#theft-precision")
    page.locator("#theft-suspects").scroll_into_view_if_needed()
    tab.shot("supervisor-theft")
    assert tab.blocked == [] and tab.errors == []
