"""The planner's automatic proposal and outline editing in headless Chromium, against a real server.

The proposal tests ask the API for the same proposal directly (same options,
same seed: the same plan) and hold the page's table to that answer and to the
grids in force; the editing test works out with shapely which handles a grid
should show and where a snapped vertex must land. Screenshots go to ``artifacts/``.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import httpx
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, shape
from test_web_app import TO_PIXELS, redrawn

pytestmark = pytest.mark.browser

FIT = """([view, w, s, e, n]) => {
  const v = window.gridservice[view];
  v.map.fitBounds([v.view.toLatLng(w, s), v.view.toLatLng(e, n)], {animate: false, padding: [60, 60]});
}"""
LATLNGS = """(id) => window.gridservice.planner.state.layers.get(id).getLatLngs().flat(3).map((l) => [l.lng, l.lat])"""


def _post(server: Any, path: str, body: dict[str, Any], *, role: str = "planner") -> httpx.Response:
    """POST ``/api/v1{path}`` as a demo user."""
    with httpx.Client(base_url=server.url, timeout=120) as client:
        login = client.post("/api/v1/auth/login", json={"username": role, "password": f"{role}-demo"})
        token = login.json()["access_token"]
        return client.post(f"/api/v1{path}", json=body, headers={"Authorization": f"Bearer {token}"})


def _clean(tab: Any) -> None:
    assert tab.blocked == [], f"the app tried to reach the internet: {tab.blocked[:5]}"
    assert tab.errors == [], f"script errors: {tab.errors[:5]}"


def _table(page: Any) -> dict[str, dict[str, str]]:
    """The proposal table: grid id → column → cell text."""
    out = {}
    for row in page.locator("#propose-table tbody tr").all():
        cells = {td.get_attribute("data-col"): td.inner_text().strip() for td in row.locator("td[data-col]").all()}
        out[row.get_attribute("data-grid")] = {**cells, "locked": row.get_attribute("data-locked")}
    return out


def _int(text: str) -> int:
    return int(text.replace(",", "").replace("+", ""))


def _open_panel(tab: Any) -> None:
    page = tab.page
    tab.login("planner")
    page.wait_for_selector("#plan-history li[data-version]")
    page.wait_for_selector("#propose-locks li[data-grid]", state="attached")
    page.click("#propose-panel summary")


def _snap_target(grids: gpd.GeoSeries, outlines: gpd.GeoSeries) -> dict[str, Any]:
    """A grid X, one of its outline vertices v and a neighbour N's outline vertex w (not X's) 100–400 m away,
    such that X with v dragged to w is still a valid polygon that overlaps N."""
    metric = grids.estimate_utm_crs()
    for x in sorted(outlines.index):
        mine = set(outlines[x].exterior.coords)
        for v in outlines[x].exterior.coords[:-1]:
            for n in sorted(outlines.index):
                if n == x or outlines[n].distance(Point(v)) > 5e-3:
                    continue
                for w in outlines[n].exterior.coords[:-1]:
                    if w in mine:
                        continue
                    pair = gpd.GeoSeries([Point(v), Point(w)], crs="EPSG:4326").to_crs(metric)
                    if not 100 < pair.iloc[0].distance(pair.iloc[1]) < 400:
                        continue
                    after = redrawn(grids[x], outlines[x], v, w)
                    if after.is_valid and after.intersection(grids[n]).area > 1e-8:
                        return {"x": x, "v": v, "n": n, "w": w, "after": after}
    pytest.fail("no outline vertex near a neighbour's vertex")


def test_editing_shows_few_handles_and_a_vertex_snaps_onto_the_neighbour(tab: Any) -> None:
    server, page = tab.server, tab.page
    tab.login("planner")
    page.wait_for_selector("#plan-history li[data-version]")
    fc = server.api("/plans/outlines", role="planner")
    outlines = gpd.GeoDataFrame.from_features(fc["features"], crs="EPSG:4326").set_index("grid_id")
    served = server.api("/grids?limit=10000")
    grids = gpd.GeoDataFrame.from_features(served["features"], crs="EPSG:4326").set_index("grid_id").geometry
    with page.expect_response(lambda r: "/api/v1/plans/outlines" in r.url):
        page.click("#plan-edit")

    # every grid has a fraction of its vertices as handles; an inner grid (whose border is all shared with
    # neighbours) with the most vertices has a handful, not its whole border
    full = pd.Series(shapely.get_num_coordinates(grids.to_numpy()) - 1, index=grids.index)
    assert (outlines["vertices"] == full).all() and (3 * outlines["handles"] <= full).all()
    territory = shapely.union_all(grids.to_numpy()).boundary
    inner = [g for g in grids.index if grids[g].boundary.intersection(territory).length < 1e-9]
    big = full[inner].idxmax()
    assert full[big] >= 150
    outline = outlines.geometry[big]
    page.evaluate(FIT, ["planner", *outline.bounds])
    spot = outline.buffer(-1e-3).representative_point()
    assert grids[big].contains(spot)
    page.mouse.click(*page.evaluate(TO_PIXELS, ["planner", spot.x, spot.y]))
    page.wait_for_selector("#planner-map .marker-icon")
    handles = page.locator("#planner-map .marker-icon:not(.marker-icon-middle)").count()
    assert handles == len(outline.exterior.coords) - 1 == outlines.loc[big, "handles"]
    assert handles < 40
    tab.shot("planner-outline")

    # a vertex dropped a few pixels from a neighbour's vertex lands exactly on it
    target = _snap_target(grids, outlines.geometry)
    x, v, w = target["x"], target["v"], target["w"]
    page.uncheck("#plan-shared")  # only X moves: the neighbour is the snap target
    lon = [v[0], w[0]]
    lat = [v[1], w[1]]
    page.evaluate(FIT, ["planner", min(lon), min(lat), max(lon), max(lat)])
    page.wait_for_timeout(300)
    # select X by clicking inside it near v, where no other grid is
    rest = shapely.union_all([g for gid, g in outlines.geometry.items() if gid != x])
    near = outlines.geometry[x].intersection(Point(v).buffer(8e-4)).difference(rest.buffer(1e-4))
    spot = near.representative_point()
    page.mouse.click(*page.evaluate(TO_PIXELS, ["planner", spot.x, spot.y]))
    page.wait_for_selector("#planner-map .marker-icon")
    vx, vy = page.evaluate(TO_PIXELS, ["planner", *v])
    wx, wy = page.evaluate(TO_PIXELS, ["planner", *w])
    with page.expect_request(lambda r: r.url.endswith("/api/v1/plans/check")) as checked:
        page.mouse.move(round(vx), round(vy))
        page.mouse.down()
        page.mouse.move(round(wx) + 5, round(wy) + 4, steps=15)
        page.mouse.up()
    assert list(w) in page.evaluate(LATLNGS, x)
    sent = {f["properties"]["grid_id"]: shape(f["geometry"]) for f in checked.value.post_data_json["grids"]["features"]}
    assert set(sent) == {x}
    assert tuple(w) in set(sent[x].exterior.coords)
    # the sent border: straight beside the moved vertex, every vertex of the drawn border elsewhere
    assert sent[x].normalize().equals_exact(target["after"].normalize(), 0)
    # the server's checks report the overlap the edit made before anything can be committed
    page.wait_for_selector("#plan-problems li.new.error", timeout=60_000)
    assert page.is_disabled("#plan-commit")
    tab.shot("planner-snapped")
    _clean(tab)


def test_planner_proposes_k_grids_previews_and_commits(tab: Any) -> None:
    server, page = tab.server, tab.page
    version = server.api("/plans")["current_version"]
    current = {f["id"]: f["properties"] for f in server.api("/grids?limit=10000")["features"]}
    k = 8
    _open_panel(tab)
    page.fill("#propose-k", str(k))
    page.click("#propose-run")
    page.wait_for_selector("#propose-table tbody tr", timeout=120_000)

    # the API's own answer to the same question, asked here
    want = _post(server, "/plans/propose", {"grids": k}).json()
    scores = {s["grid_id"]: s for s in want["grid_scores"]}
    shown = _table(page)
    assert len(shown) == k and set(shown) == set(scores)
    for gid, s in scores.items():
        row = shown[gid]
        assert _int(row["households"]) == s["households"] and _int(row["members"]) == s["members"]
        if gid in current:  # the change against the grid of that id in force
            assert _int(row["change"]) == s["households"] - current[gid]["customers"]
        else:
            assert row["change"] == "新增"
    assert sum(_int(r["households"]) for r in shown.values()) == sum(p["customers"] for p in current.values())
    # the draft is drawn over the plan in force, one dashed purple shape per proposed grid
    assert page.locator("#planner-map path[stroke='#6a1b9a']").count() == k
    assert page.locator("#planner-map path[stroke='#0b5cad']").count() == len(current)
    assert page.inner_text("#propose-grids") == f"{len(current)} → {k}"
    tab.shot("planner-proposal")

    page.fill("#propose-note", "按8个网格自动均衡划分")
    if page.is_visible("#propose-force-line"):
        page.check("#propose-force")
    page.click("#propose-commit")
    page.wait_for_selector(f"#plan-history li[data-version='{version + 1}']", timeout=60_000)
    history = server.api("/plans")
    assert history["current_version"] == version + 1
    assert history["versions"][-1]["note"] == "按8个网格自动均衡划分"
    now = {f["id"]: shape(f["geometry"]) for f in server.api("/grids?limit=10000")["features"]}
    drafted = {f["properties"]["grid_id"]: shape(f["geometry"]) for f in want["grids"]["features"]}
    assert set(now) == set(drafted)
    assert all(now[g].equals(drafted[g]) for g in now)
    # the draft is gone and the map shows the new plan
    page.wait_for_selector("#propose-table", state="detached")
    assert page.locator("#planner-map path[stroke='#0b5cad']").count() == k
    _clean(tab)


def test_a_locked_grid_is_kept_by_households_per_member_and_a_stale_draft_is_refused(tab: Any) -> None:
    server, page = tab.server, tab.page
    version = server.api("/plans")["current_version"]
    served = server.api("/grids?limit=10000")
    grids = gpd.GeoDataFrame.from_features(served["features"], crs="EPSG:4326")
    grids.index = [f["id"] for f in served["features"]]
    lock = grids.index[int(np.argmax(shapely.area(grids.geometry.to_numpy())))]  # the biggest: easy to click
    _open_panel(tab)
    page.check("#propose-pick")
    spot = grids.geometry[lock].representative_point()
    others = shapely.union_all(list(grids.geometry.drop(lock)))
    assert not others.contains(spot)
    page.mouse.click(*page.evaluate(TO_PIXELS, ["planner", spot.x, spot.y]))
    page.wait_for_selector(f"#propose-locks li[data-grid='{lock}'] input:checked")
    assert page.locator("#propose-locks input:checked").count() == 1
    # this time by households per grid member
    assert page.input_value("#propose-hpm") == "1000"  # the rule's norm
    page.check("#propose-by-hpm")
    page.fill("#propose-hpm", "400")
    with page.expect_request(lambda r: r.url.endswith("/api/v1/plans/propose")) as asked:
        page.click("#propose-run")
    assert asked.value.post_data_json == {"lock": [lock], "within_stations": False, "households_per_member": 400}
    page.wait_for_selector("#propose-table tbody tr", timeout=120_000)

    shown = _table(page)
    assert shown[lock]["locked"] == "1" and _int(shown[lock]["change"]) == 0
    want = _post(server, "/plans/propose", {"households_per_member": 400, "lock": [lock]}).json()
    kept = next(f for f in want["grids"]["features"] if f["properties"]["grid_id"] == lock)
    assert shape(kept["geometry"]).equals(grids.geometry[lock])
    assert set(shown) == {s["grid_id"] for s in want["grid_scores"]}
    assert {g: _int(r["households"]) for g, r in shown.items()} == {
        s["grid_id"]: s["households"] for s in want["grid_scores"]}

    # someone commits meanwhile: the draft's base version is stale
    other = _post(server, "/plans/commit", {"grids": served, "base_version": version, "forced_reason": "unchanged",
                                           "note": "同时提交"})
    assert other.status_code == 201, other.text
    page.fill("#propose-note", "锁定最大网格后重新划分")
    if page.is_visible("#propose-force-line"):
        page.check("#propose-force")
    page.click("#propose-commit")
    page.wait_for_selector(f"#propose-status.invalid:has-text('v{version} 之后已被他人更新')")
    assert server.api("/plans")["current_version"] == version + 1
    tab.shot("planner-proposal-stale")
    _clean(tab)
