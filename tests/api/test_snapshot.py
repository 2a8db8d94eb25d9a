"""The area kept between server starts (gridservice.io.snapshot): a start loads it instead of reading the store.

A loaded snapshot must hold exactly the frames that were saved; a start must take it only while the store is
as it was saved, merge the records written since by gridservice (from the change journal), and read the store
again after anything else: a write by another program, an area made afresh, a damaged snapshot.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import pg
from gridservice.api.state import AreaHolder
from gridservice.auth import record
from gridservice.events.records import save_new_work_order
from gridservice.events.work_orders import create_work_order
from gridservice.io import GeoPackageStore, open_store, snapshot
from gridservice.io.store import _connect
from gridservice.model import ServiceArea
from gridservice.spatial.plan import read_plan
from gridservice.spatial.redraw import commit_plan
from gridservice.topology.network import network_of
from gridservice.topology.switching import operate_switch
from gridservice.workspace import derive, open_area


def assert_same_frames(got: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    assert got.keys() == expected.keys()
    for name, df in expected.items():
        pd.testing.assert_frame_equal(got[name].sort_index(), df.sort_index(), obj=name)
        if isinstance(df, gpd.GeoDataFrame):
            assert isinstance(got[name], gpd.GeoDataFrame) and got[name].crs == df.crs, name
            assert got[name].geometry.name == df.geometry.name, name


def started(data: str, root: Path) -> ServiceArea:
    """The area a new server over ``data`` starts with, its snapshot saved before this returns."""
    holder = AreaHolder(data, snapshots=root)
    area = holder.get()
    if holder.saving is not None:
        holder.saving.join()
    return area


def read_afresh(data: str) -> dict[str, pd.DataFrame]:
    return dict(derive(ServiceArea.load(open_store(data))).layers)


def mark(root: Path, data: str) -> None:
    """Rename customer C1 in the saved snapshot only: a start that shows the mark took the snapshot."""
    saved = snapshot.load(root, open_store(data).url)
    assert saved is not None
    frames = {**saved.frames, "customers": saved.frames["customers"].copy()}
    frames["customers"].loc["C1", "name"] = "快照里的名字"
    snapshot.save(root, open_store(data).url, snapshot.Snapshot(frames, saved.version, saved.position))


def test_a_snapshot_holds_every_layer_as_saved(demo_gpkg: Path, tmp_path: Path) -> None:
    frames = dict(derive(ServiceArea.load(GeoPackageStore(demo_gpkg))).layers)
    # besides the demo's points, lines and polygons: a missing geometry, a 3D point, an empty layer
    odd = frames["customers"].iloc[:3].copy()
    odd.loc[odd.index[0], "geometry"] = None
    odd.loc[odd.index[1], "geometry"] = shapely.Point(116.5, 27.2, 80.0)
    frames = {**frames, "customers_odd": odd, "empty": frames["outages"].iloc[:0]}
    snapshot.save(tmp_path, "somewhere", snapshot.Snapshot(frames, "(1, 2)", 42))
    loaded = snapshot.load(tmp_path, "somewhere")
    assert loaded is not None and (loaded.version, loaded.position) == ("(1, 2)", 42)
    assert_same_frames(loaded.frames, frames)
    assert loaded.frames["customers_odd"].geometry.iloc[0] is None
    assert loaded.frames["customers_odd"].geometry.iloc[1].has_z
    assert snapshot.load(tmp_path, "elsewhere") is None  # one store's snapshot is not another's


def test_a_start_takes_the_snapshot_while_the_store_is_unchanged(small_data: str, tmp_path: Path) -> None:
    first = started(small_data, tmp_path)
    assert_same_frames(dict(first.layers), read_afresh(small_data))
    mark(tmp_path, small_data)
    assert started(small_data, tmp_path).customers.loc["C1", "name"] == "快照里的名字"


def test_records_written_since_are_merged_into_the_snapshot(small_data: str, tmp_path: Path) -> None:
    started(small_data, tmp_path)
    mark(tmp_path, small_data)
    store = open_store(small_data)  # what another gridservice process writes while no server runs
    order = create_work_order(ServiceArea.load(store), kind="repair", customer_id="C3", point=None,
                              channel="phone", description="no power",
                              received_at=pd.Timestamp("2026-11-30 09:00+08:00"))
    save_new_work_order(store, order, user="dispatcher")
    record(store, user="dispatcher", action="customer.view", layer="customers", feature_id="C2")

    area = started(small_data, tmp_path)
    assert area.customers.loc["C1", "name"] == "快照里的名字"  # merged into the snapshot, not read again
    expected = read_afresh(small_data)
    expected["customers"].loc["C1", "name"] = "快照里的名字"
    assert area.work_orders.loc[order.index[0], "grid_id"] == "G2"  # C3's grid, derived as a load derives it
    assert_same_frames(dict(area.layers), expected)  # the audit log too, though a server does not follow it
    # and the next start, from the snapshot saved after that one, is current again
    assert_same_frames(dict(started(small_data, tmp_path).layers), expected)


def test_a_write_by_another_program_reads_the_store(small_data: str, tmp_path: Path,
                                                    request: pytest.FixtureRequest) -> None:
    started(small_data, tmp_path)
    mark(tmp_path, small_data)
    if small_data.startswith("postgresql:"):
        cluster: pg.Cluster = request.getfixturevalue("pg_cluster")
        schema = small_data.split("area=")[1]
        cluster.sql(f"UPDATE {schema}.customers SET name = '李四四' WHERE customer_id = 'C2'", db="gridservice")
    else:  # QGIS editing the file: nothing in the change journal
        con = _connect(Path(small_data))
        with con:
            con.execute("UPDATE customers SET name = '李四四' WHERE customer_id = 'C2'")
        con.close()
    area = started(small_data, tmp_path)
    assert area.customers.loc["C2", "name"] == "李四四" and area.customers.loc["C1", "name"] != "快照里的名字"
    assert_same_frames(dict(area.layers), read_afresh(small_data))


def test_an_area_made_afresh_or_a_damaged_snapshot_reads_the_store(small_copy: Path, tmp_path: Path) -> None:
    data = str(small_copy)
    started(data, tmp_path)
    mark(tmp_path, data)
    frames = GeoPackageStore(small_copy).read()
    small_copy.unlink()
    GeoPackageStore(small_copy).write(frames, create=True)  # the same layers, a new file
    assert started(data, tmp_path).customers.loc["C1", "name"] != "快照里的名字"

    [entry] = [p for p in tmp_path.iterdir() if p.name.startswith("area-")]
    for file in entry.glob("*.arrow"):
        file.write_bytes(file.read_bytes()[:100])
    assert_same_frames(dict(started(data, tmp_path).layers), read_afresh(data))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no half-written entry left


def test_a_switch_operation_or_a_plan_commit_since_is_never_answered_stale(demo_gpkg: Path, tmp_path: Path) -> None:
    data = tmp_path / "nanfeng.gpkg"
    data.write_bytes(demo_gpkg.read_bytes())
    started(str(data), tmp_path)
    store = GeoPackageStore(data)
    switch = str(store.read_layer("switches").query("~is_open").index[0])
    operate_switch(store, switch, is_open=True, user="dispatcher", note="检修")
    area = started(str(data), tmp_path)
    assert bool(area.switches.loc[switch, "is_open"])
    fresh = derive(ServiceArea.load(store))
    assert_same_frames(dict(area.layers), dict(fresh.layers))
    cut = network_of(area).energised(list(area.customers.index))
    assert (cut == network_of(fresh).energised(list(fresh.customers.index))).all() and not cut.all()

    grids = open_area(str(data)).grids
    shrunk = shapely.buffer(grids.geometry.iloc[0], -0.0005)  # one grid gives up a thin band along its edge
    plan = tmp_path / "plan.geojson"
    gpd.GeoDataFrame({"grid_id": grids.index[:1]}, geometry=[shrunk], crs=grids.crs).to_file(plan, driver="GeoJSON")
    commit_plan(open_area(str(data)), read_plan(plan, open_area(str(data))), author="planner", note="收缩",
                force_reason="the demo plants gaps and overlaps")
    area = started(str(data), tmp_path)
    assert area.grids.geometry.iloc[0].equals(read_afresh(str(data))["grids"].geometry.iloc[0])
    assert not area.grids.geometry.iloc[0].equals(grids.geometry.iloc[0])
    assert_same_frames(dict(area.layers), read_afresh(str(data)))  # customers' grids derived anew too
