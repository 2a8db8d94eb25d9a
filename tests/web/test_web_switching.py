"""A dispatcher opens and closes a switch in headless Chromium (倒闸操作): the page says how many customers
it cut off and supplied again, counted here with networkx on the closed links of the stored layers."""

from __future__ import annotations

from typing import Any

import pytest

from gridservice.io import GeoPackageStore
from gridservice.model import ServiceArea
from gridservice.workspace import open_area
from topology_oracle import supplied_customers

pytestmark = pytest.mark.browser


def test_dispatcher_opens_and_closes_a_switch(tab: Any) -> None:
    server, page = tab.server, tab.page
    area = open_area(str(server.data))
    closed = area.switches[~area.switches["is_open"].astype(bool)]
    before = supplied_customers(area)
    cut: set[str] = set()
    for sw in closed.index:  # the first closed switch that carries customers
        switches = area.switches.copy()
        switches.loc[sw, "is_open"] = True
        cut = before - supplied_customers(ServiceArea({**area.layers, "switches": switches}))
        if cut:
            break
    assert cut

    tab.login("dispatcher")
    page.fill("#switch-id", sw)
    page.fill("#switch-note", "检修")
    page.click("#switch-open")
    page.wait_for_selector(f"#switch-result:has-text('已拉开 {sw}')")
    assert f"{len(cut):,} 户停电" in page.text_content("#switch-result")
    tab.shot("dispatcher-switching")
    assert bool(GeoPackageStore(server.data).read_layer("switches").loc[sw, "is_open"])

    page.click("#switch-close")
    page.wait_for_selector(f"#switch-result:has-text('已合上 {sw}')")
    assert f"{len(cut):,} 户恢复供电" in page.text_content("#switch-result")
    assert not bool(GeoPackageStore(server.data).read_layer("switches").loc[sw, "is_open"])
    assert not tab.errors
