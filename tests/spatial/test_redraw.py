"""Redraw preview, versioned commits, stale and invalid plans, history and revert on the three-grid area.

The moves are worked out by hand from the fixture (see ``conftest.py``):
moving the G1 | G2,G3 border from 116.41 to 116.416 °E takes C3 (116.415,
27.105) from G2 and C5 (116.415, 27.115) from G3 into G1. The open orders
W1 (customer C3) and W4 (customer C5) follow them; W3 (customer C5) is
closed and is not listed; no transformer moves (T2 and T3 sit at 116.42).
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import Polygon, box

from gridservice.errors import ConflictError, DataError, InvalidPlanError, NotFoundError
from gridservice.io import GeoPackageStore
from gridservice.io.postgis import PostGISStore
from gridservice.model import ServiceArea
from gridservice.spatial.plan import read_plan
from gridservice.spatial.redraw import commit_plan, plan_history, preview_plan, revert_plan
from gridservice.workspace import open_area

UTM50 = "EPSG:32650"
EAST = {"G1": box(116.40, 27.10, 116.416, 27.12), "G2": box(116.416, 27.10, 116.43, 27.11),
        "G3": box(116.416, 27.11, 116.43, 27.12)}
G4 = box(116.43, 27.10, 116.46, 27.12)
G4_PROPS = {"G4": {"code": "NF-04", "name": "四网格", "station_id": "S2", "area_class": "remote"}}


def km2(geom: shapely.Geometry) -> float:
    return round(float(gpd.GeoSeries([geom], crs=4326).to_crs(UTM50).area.iloc[0]) / 1e6, 3)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def moves_of(preview) -> set[tuple[str, str, str, str]]:
    m = preview.moves.fillna("-")
    return set(zip(m["layer"], m["feature_id"], m["from_grid_id"], m["to_grid_id"], strict=True))


def test_preview_lists_the_moves_and_grid_loads(three_area: ServiceArea, write_plan) -> None:
    preview = preview_plan(three_area, read_plan(write_plan("east.geojson", EAST), three_area))
    assert moves_of(preview) == {("customers", "C3", "G2", "G1"), ("customers", "C5", "G3", "G1"),
                                 ("work_orders", "W1", "G2", "G1"), ("work_orders", "W4", "G3", "G1")}
    assert preview.move_counts() == {"customers": 2, "transformers": 0, "work_orders": 2}
    s = preview.summary
    assert s["status"].tolist() == ["changed"] * 3
    assert s["customers_before"].tolist() == [3, 2, 2]
    assert s["customers_after"].tolist() == [5, 1, 1]
    assert s["grid_members"].tolist() == [1, 1, 2]
    assert s["households_per_member_before"].tolist() == [3.0, 2.0, 1.0]
    assert s["households_per_member_after"].tolist() == [5.0, 1.0, 0.5]
    assert s["area_km2_before"].tolist() == [km2(box(116.40, 27.10, 116.41, 27.12)),
                                             km2(box(116.41, 27.10, 116.43, 27.11)),
                                             km2(box(116.41, 27.11, 116.43, 27.12))]
    assert s["area_km2_after"].tolist() == [km2(g) for g in EAST.values()]
    assert set(preview.findings["check"]) == {"split_transformer_area"}


def test_preview_of_a_partial_plan_with_a_new_grid(three_area: ServiceArea, write_plan) -> None:
    preview = preview_plan(three_area, read_plan(write_plan("g4.geojson", {"G4": G4}, G4_PROPS), three_area))
    assert moves_of(preview) == {("customers", "C8", "-", "G4"), ("transformers", "T4", "-", "G4")}
    s = preview.summary
    assert s.index.tolist() == ["G1", "G2", "G3", "G4"]
    assert s["status"].tolist() == ["unchanged", "unchanged", "unchanged", "added"]
    assert s.loc["G4", ["customers_before", "customers_after", "grid_members"]].tolist() == [0, 1, 0]
    assert pd.isna(s.loc["G4", "households_per_member_after"]) and pd.isna(s.loc["G4", "area_km2_before"])
    assert s.loc["G4", "area_km2_after"] == km2(G4)


def test_commit_saves_a_version_atomically(three_store: GeoPackageStore, write_plan) -> None:
    area = open_area(three_store)
    when = pd.Timestamp("2026-04-01 10:00", tz="Asia/Shanghai")
    result = commit_plan(area, read_plan(write_plan("east.geojson", EAST), area), author="张工", note="东移边界",
                         base_version=1, now=when)
    assert (result.version, result.base_version, result.changed) == (2, 1, ["G1", "G2", "G3"])
    after = open_area(three_store)
    assert after.grids["plan_version"].tolist() == [2, 2, 2]
    assert after.grids["code"].tolist() == ["NF-01", "NF-02", "NF-03"]
    assert after.grids.geometry["G1"].equals(EAST["G1"])
    assert after.customers.loc[["C3", "C5"], "grid_id"].tolist() == ["G1", "G1"]
    # the plan it replaced was snapshotted first, so version 1 can be restored
    history = after.grid_history
    assert sorted(history.groupby("plan_version").size().items()) == [(1, 3), (2, 3)]
    v = after.plan_versions
    assert v.index.tolist() == [1, 2]
    assert v.loc[2, ["base_version", "author", "note"]].tolist() == [1, "张工", "东移边界"]
    assert v.loc[2, "committed_at"] == when and pd.isna(v.loc[2, "forced_reason"])
    log = after.audit_log
    assert sorted(zip(log["action"], log["feature_id"], strict=True)) == [
        ("grid_changed", "G1"), ("grid_changed", "G2"), ("grid_changed", "G3"), ("plan_commit", "2")]
    assert set(log["user"]) == {"张工"}
    assert log.index.str.fullmatch(r"[0-9a-f]{32}").all()
    head = json.loads(log.loc[log["action"] == "plan_commit", "detail"].iloc[0])
    assert head["moves"] == {"customers": 2, "transformers": 0, "work_orders": 2}
    g1 = json.loads(log.loc[log["feature_id"] == "G1", "detail"].iloc[0])
    assert (g1["customers_before"], g1["customers_after"]) == (3, 5)


def test_stale_base_version_is_refused_and_nothing_written(three_store: GeoPackageStore, write_plan) -> None:
    area = open_area(three_store)
    commit_plan(area, read_plan(write_plan("east.geojson", EAST), area), author="张工", note="first")
    before = digest(three_store.path)
    # a second planner still drawing on version 1
    with pytest.raises(ConflictError, match="version 1 is stale: version 2 was committed by 张工"):
        commit_plan(area, read_plan(write_plan("g4.geojson", {"G4": G4}, G4_PROPS), area), author="李工",
                    note="second")
    fresh = open_area(three_store)
    with pytest.raises(ConflictError, match="stale"):
        commit_plan(fresh, read_plan(write_plan("g4.geojson", {"G4": G4}, G4_PROPS), fresh), author="李工",
                    note="second", base_version=1, force_reason="new grid beyond the county")
    assert digest(three_store.path) == before


def _race(stores: list, write_plan) -> list[object]:
    """Two planners commit on version 1 at once, each through its own store object; their outcomes."""
    plans = [write_plan("east.geojson", EAST), write_plan("shrink.geojson", {"G2": box(116.41, 27.10, 116.43, 27.11)})]
    areas = [open_area(store) for store in stores]
    outcomes: list[object] = [None, None]
    start = threading.Barrier(2)

    def run(k: int) -> None:
        plan = read_plan(plans[k], areas[k])
        start.wait()
        try:
            outcomes[k] = commit_plan(areas[k], plan, author=f"planner{k}", note="race", base_version=1).version
        except ConflictError as exc:
            outcomes[k] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_two_concurrent_commits_on_one_base_only_one_wins(three_store: GeoPackageStore, write_plan) -> None:
    outcomes = _race([three_store, three_store], write_plan)
    assert sorted(type(o).__name__ for o in outcomes) == ["ConflictError", "int"]
    assert 2 in outcomes
    assert plan_history(three_store)["plan_version"].tolist() == [1, 2]


def test_two_commits_through_postgis_connections_only_one_wins(three_store: GeoPackageStore, pg_cluster,
                                                               write_plan) -> None:
    # two store objects: two lock sessions, as two server processes or machines would hold
    url = pg_cluster.url(area="plan_race")
    PostGISStore(url).write(three_store.read(), create=True)
    outcomes = _race([PostGISStore(url), PostGISStore(url)], write_plan)
    assert sorted(type(o).__name__ for o in outcomes) == ["ConflictError", "int"]
    assert plan_history(PostGISStore(url))["plan_version"].tolist() == [1, 2]


def test_invalid_plan_is_refused_unless_forced_with_a_reason(three_store: GeoPackageStore, write_plan) -> None:
    area = open_area(three_store)
    bowtie = Polygon([(116.40, 27.10), (116.41, 27.12), (116.41, 27.10), (116.40, 27.12)])
    plan = read_plan(write_plan("bowtie.geojson", {"G1": bowtie}), area)
    before = digest(three_store.path)
    with pytest.raises(InvalidPlanError, match="nothing was saved") as err:
        commit_plan(area, plan, author="张工", note="oops")
    assert {"invalid_polygon", "gap"} <= set(err.value.problems["check"])
    assert (err.value.problems["severity"] == "error").all()
    assert digest(three_store.path) == before
    with pytest.raises(DataError, match="needs a reason"):
        commit_plan(area, plan, author="张工", note="oops", force_reason="  ")
    # a reason keeps a gap for now, never a self-intersecting polygon
    with pytest.raises(InvalidPlanError, match="a forced commit cannot save them"):
        commit_plan(area, plan, author="张工", note="survey pending", force_reason="field survey next week")
    assert digest(three_store.path) == before
    narrow = read_plan(write_plan("narrow.geojson", {"G1": box(116.40, 27.10, 116.405, 27.12)}), area)
    with pytest.raises(InvalidPlanError, match="nothing was saved") as err:
        commit_plan(area, narrow, author="张工", note="oops")
    assert set(err.value.problems["check"]) == {"gap"}  # 116.405–116.41 is in no grid
    result = commit_plan(area, narrow, author="张工", note="survey pending", force_reason="field survey next week")
    assert result.forced_reason == "field survey next week"
    after = open_area(three_store)
    assert after.plan_versions.loc[2, "forced_reason"] == "field survey next week"
    assert after.grids.geometry["G1"].equals(box(116.40, 27.10, 116.405, 27.12))  # saved as drawn
    head = json.loads(after.audit_log.loc[after.audit_log["action"] == "plan_commit", "detail"].iloc[0])
    assert head["errors_overridden"] == 1 and head["forced_reason"] == "field survey next week"


def test_a_changed_code_is_refused(three_store: GeoPackageStore, write_plan) -> None:
    area = open_area(three_store)
    plan = read_plan(write_plan("code.geojson", {"G1": box(116.40, 27.10, 116.41, 27.12)}, {"G1": {"code": "X-1"}}),
                     area)
    with pytest.raises(InvalidPlanError, match="code changed from NF-01 to X-1"):
        commit_plan(area, plan, author="张工", note="rename")


def test_commit_needs_an_author(three_store: GeoPackageStore, write_plan) -> None:
    area = open_area(three_store)
    with pytest.raises(DataError, match="author"):
        commit_plan(area, read_plan(write_plan("east.geojson", EAST), area), author=" ", note="x")


def test_revert_restores_a_version_as_a_new_one(three_store: GeoPackageStore, write_plan) -> None:
    area = open_area(three_store)
    original = area.grids.geometry.copy()
    commit_plan(area, read_plan(write_plan("east.geojson", EAST), area), author="张工", note="east")
    result = revert_plan(open_area(three_store), 1, author="王工")
    assert (result.version, result.base_version) == (3, 2)
    after = open_area(three_store)
    for gid in ("G1", "G2", "G3"):
        assert after.grids.geometry[gid].equals(original[gid])
    assert after.grids["code"].tolist() == ["NF-01", "NF-02", "NF-03"]
    assert after.customers.loc[["C3", "C5"], "grid_id"].tolist() == ["G2", "G3"]
    h = plan_history(three_store)
    assert h["plan_version"].tolist() == [1, 2, 3]
    assert h["note"].iloc[-1] == "revert to plan version 1"
    assert h["grids"].tolist() == [3, 3, 3]
    assert "plan_revert" in set(after.audit_log["action"])
    with pytest.raises(NotFoundError, match="plan version 7 has no saved grids"):
        revert_plan(after, 7, author="王工")


def test_revert_removes_later_grids_and_their_staff_links(three_store: GeoPackageStore, write_plan) -> None:
    area = open_area(three_store)
    commit_plan(area, read_plan(write_plan("g4.geojson", {"G4": G4}, G4_PROPS), area), author="张工", note="G4",
                force_reason="outside the county on purpose")
    staff = open_area(three_store).grid_staff
    three_store.write({"grid_staff": pd.concat([staff, pd.DataFrame(
        {"grid_id": ["G4"], "staff_id": ["M3"], "role": ["grid_manager"]})], ignore_index=True)})
    revert_plan(open_area(three_store), 1, author="王工")
    after = open_area(three_store)
    assert after.grids.index.tolist() == ["G1", "G2", "G3"]
    assert "G4" not in set(after.grid_staff["grid_id"]) and len(after.grid_staff) == 7
    log = after.audit_log
    assert ("grid_removed", "G4") in set(zip(log["action"], log["feature_id"], strict=True))
    removed = log[log["action"] == "grid_staff_removed"]
    assert json.loads(removed["detail"].iloc[0])["staff_id"] == "M3"
    assert pd.isna(after.customers.at["C8", "grid_id"])


@pytest.mark.parametrize("kind", ["gpkg", "postgis"])
def test_the_store_checks_the_plan_version_inside_the_write(three_store: GeoPackageStore, pg_cluster, kind: str,
                                                            tmp_path) -> None:
    # a writer that skipped the lock and re-read nothing: the store's own check refuses it
    if kind == "gpkg":
        store = three_store
    else:
        store = PostGISStore(pg_cluster.url(area="plan_check"))
        store.write(three_store.read(), create=True)
    before = store.read()
    latest = int(before["plan_versions"].index.max()) if len(before["plan_versions"]) else None
    stale = -1 if latest is None else latest - 1
    grids = before["grids"].assign(name="stale write")
    with store.lock(), pytest.raises(ConflictError, match="another writer committed first"):
        store.write_locked({"grids": grids}, unchanged=("plan_versions", "plan_version", stale))
    assert store.read_layer("grids")["name"].tolist() == before["grids"]["name"].tolist()
    with store.lock():
        store.write_locked({"grids": grids}, unchanged=("plan_versions", "plan_version", latest))
    assert set(store.read_layer("grids")["name"]) == {"stale write"}
