"""A hand-built service area small enough to work every figure out by hand.

One station S1, two grids side by side: G1 (urban, lon 116.00–116.10) and
G2 (rural, lon 116.10–116.20), lat 27.00–27.10. One substation SUB1, one
feeder F1, two transformers: T1 in G1 and T2 in G2.

Five customers::

    C1  G1  meter M1 → T1            key customer
    C2  G1  meter M2 → AP1 → T1      (through an access point)
    C3  G2  meter M3 → T1            located in G2 but fed from T1 (营配不一致), ~6 km away;
                                     the others are within 500 m of their transformer
    C4  G2  meter M4 → T2            key customer
    C5  G2  meter M5 → T2            high voltage, connected 2026-02-10

Staff: ST1 grid manager of G1; ST2 member of G1; ST6 member of G1 and G2;
ST4 member of G2; ST3 area manager of G1; ST5 area manager of G2. G2 has
no grid manager.

The expected figures are worked out in the tests that use this area.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, box

from gridservice.model import ServiceArea

TZ = "Asia/Shanghai"
AS_OF = pd.Timestamp("2026-04-15 12:00", tz=TZ)


def _t(text: str | None) -> pd.Timestamp:
    return pd.NaT if text is None else pd.Timestamp(text, tz=TZ)


def _orders() -> gpd.GeoDataFrame:
    cols = ["work_order_id", "kind", "customer_id", "status", "assignee_id", "received_at", "dispatched_at",
            "arrived_at", "resolved_at", "replied_at", "closed_at", "geometry"]
    rows = [
        # W1 repair C1 (G1 urban, 45 min): arrived after 40 min — on time.
        ("W1", "repair", "C1", "closed", "ST3", "2026-03-02 10:00", "2026-03-02 10:05", "2026-03-02 10:40",
         "2026-03-02 11:30", "2026-03-02 12:00", "2026-03-02 12:10", None),
        # W2 repair C4 (G2 rural, 90 min): arrived after 105 min — late.
        ("W2", "repair", "C4", "closed", "ST5", "2026-03-05 08:00", "2026-03-05 08:10", "2026-03-05 09:45",
         "2026-03-05 11:00", "2026-03-05 11:30", "2026-03-05 12:00", None),
        # W3 complaint C2, Friday 03-06: due end of Thu 03-12 (4 working days); closed 03-12 18:00 — on time.
        ("W3", "complaint", "C2", "closed", "ST1", "2026-03-06 09:00", "2026-03-06 09:30", None,
         "2026-03-06 15:00", "2026-03-12 17:00", "2026-03-12 18:00", None),
        # W4 complaint C2 again 14 days later (repeat): due end of Thu 03-26; closed 03-27 — late.
        ("W4", "complaint", "C2", "closed", "ST1", "2026-03-20 09:00", "2026-03-20 09:20", None,
         "2026-03-20 16:00", "2026-03-27 09:00", "2026-03-27 10:00", None),
        # W5 consultation C5, closed the same afternoon.
        ("W5", "consultation", "C5", "closed", "ST4", "2026-03-10 14:00", "2026-03-10 14:05", None,
         "2026-03-10 14:30", "2026-03-10 14:50", "2026-03-10 15:00", None),
        # W6 service request C3 (located in G2), Monday 03-30, still only dispatched on 04-15.
        ("W6", "service_request", "C3", "dispatched", "ST4", "2026-03-30 10:00", "2026-03-30 11:00", None,
         None, None, None, None),
        # W7 repair C3 in February: outside the March period.
        ("W7", "repair", "C3", "closed", "ST5", "2026-02-27 10:00", "2026-02-27 10:10", "2026-02-27 11:00",
         "2026-02-27 12:00", "2026-02-27 13:00", "2026-02-27 14:00", None),
        # W8 opinion with no customer, a point in G1, received Sunday 03-15.
        ("W8", "opinion", None, "closed", "ST2", "2026-03-15 10:00", "2026-03-15 10:30", None,
         "2026-03-16 09:00", "2026-03-16 10:00", "2026-03-16 11:00", Point(116.02, 27.02)),
        # W9 repair in April dispatched an hour before it was received: impossible.
        ("W9", "repair", "C4", "closed", "ST5", "2026-04-02 10:00", "2026-04-02 09:00", "2026-04-02 10:30",
         "2026-04-02 11:00", "2026-04-02 11:30", "2026-04-02 12:00", None),
        # W10 opinion closed without a reply.
        ("W10", "opinion", "C1", "closed", "ST2", "2026-04-03 10:00", "2026-04-03 10:10", None,
         "2026-04-03 11:00", None, "2026-04-03 12:00", None),
    ]
    df = pd.DataFrame(rows, columns=cols)
    for c in cols:
        if c.endswith("_at"):
            df[c] = df[c].map(_t).astype(f"datetime64[ms, {TZ}]")
    return gpd.GeoDataFrame(df, geometry="geometry", crs="EPSG:4326")


def _applications() -> gpd.GeoDataFrame:
    """业扩 applications; the flags the monitor gives for the week 2026-W16 judged at AS_OF are worked out
    in tests/metrics/test_applications.py."""
    cols = ["application_id", "customer_id", "kind", "voltage", "category", "capacity_kva", "dual_supply", "status",
            "accepted_at", "accepted_by", "plan_replied_at", "plan_replied_by", "connected_at", "connected_by",
            "geometry"]
    rows = [
        ("A1", "C1", "increase", "low", "residential", 8.0, None, "connected",
         "2026-04-09 09:00", "ST2", None, None, "2026-04-14 10:00", "ST3", None),
        ("A2", "C4", "increase", "low", "non_residential", 30.0, None, "connected",
         "2026-03-30 10:00", "ST4", None, None, "2026-04-15 09:00", "ST5", None),
        ("A3", None, "new", "low", "small_micro_enterprise", 50.0, None, "in_progress",
         "2026-03-20 10:00", "ST2", None, None, None, None, Point(116.03, 27.03)),
        ("A4", "C2", "increase", "low", "residential", 10.0, None, "in_progress",
         "2026-04-13 09:00", "ST1", None, None, None, None, None),
        ("A5", "C3", "increase", "low", "residential", 10.0, None, "in_progress",
         "2026-04-08 14:00", "ST4", None, None, None, None, None),
        ("A6", "C1", "increase", "low", "residential", 12.0, None, "connected",
         "2026-04-14 09:00", "ST2", None, None, "2026-04-14 09:20", "ST3", None),
        ("A7", "C5", "increase", "high", "non_residential", 630.0, False, "connected",
         "2026-03-23 09:00", "ST4", "2026-03-28 10:00", "ST1", "2026-04-14 10:00", "ST5", None),
        ("A8", None, "new", "high", "small_micro_enterprise", 80.0, None, "connected",
         "2026-04-01 10:00", "ST6", "2026-04-10 10:00", "ST6", "2026-04-14 16:00", "ST6", Point(116.15, 27.08)),
        ("A9", None, "new", "high", "small_micro_enterprise", 120.0, None, "in_progress",
         "2026-04-13 09:00", "ST4", None, None, None, None, Point(116.16, 27.02)),
        ("A10", "C2", "increase", "low", "residential", 6.0, None, "connected",
         "2026-04-14 10:00", "ST1", None, None, "2026-04-13 15:00", "ST2", None),
        ("A11", "C4", "increase", "low", "residential", 6.0, None, "connected",
         "2026-04-15 08:00", "ST4", None, None, "2027-01-05 10:00", "ST5", None),
        ("A12", "C1", "increase", "low", "residential", 6.0, None, "connected",
         "2026-02-02 09:00", "ST2", None, None, "2026-02-04 09:00", "ST2", None),
        ("A13", "C3", "increase", "low", "residential", 6.0, None, "cancelled",
         "2026-03-02 09:00", "ST4", None, None, None, None, None),
        ("A14", "C5", "increase", "high", "non_residential", 2000.0, True, "in_progress",
         "2026-03-02 09:00", "ST1", "2026-04-13 10:00", "ST4", None, None, None),
    ]
    df = pd.DataFrame(rows, columns=cols)
    for c in cols:
        if c.endswith("_at"):
            df[c] = df[c].map(_t).astype(f"datetime64[ms, {TZ}]")
    df["channel"] = "网上国网"
    return gpd.GeoDataFrame(df, geometry="geometry", crs="EPSG:4326")


def build_tiny_area() -> ServiceArea:
    """The five-customer area described in the module docstring."""
    g1, g2 = box(116.00, 27.00, 116.10, 27.10), box(116.10, 27.00, 116.20, 27.10)
    grids = gpd.GeoDataFrame({
        "grid_id": ["G1", "G2"], "code": ["NF-01", "NF-02"], "name": ["城东网格", "白舍网格"],
        "station_id": ["S1", "S1"], "area_class": ["urban", "rural"], "plan_version": [1, 1],
    }, geometry=[g1, g2], crs="EPSG:4326")
    stations = gpd.GeoDataFrame({"station_id": ["S1"], "code": ["S1"], "name": ["琴城供电所"]},
                                geometry=[Point(116.05, 27.05)], crs="EPSG:4326")
    staff = gpd.GeoDataFrame({
        "staff_id": ["ST1", "ST2", "ST3", "ST4", "ST5", "ST6"],
        "name": ["张伟", "李娜", "王强", "刘洋", "陈静", "杨帆"],
        "role": ["grid_manager", "grid_member", "area_manager", "grid_member", "area_manager", "grid_member"],
        "station_id": ["S1"] * 6,
        "phone": ["13800000001", "13800000002", "13800000003", "1380000004", "13800000005", "13800000006"],
    }, geometry=[None] * 6, crs="EPSG:4326")
    grid_staff = pd.DataFrame({
        "grid_id": ["G1", "G1", "G1", "G1", "G2", "G2", "G2"],
        "staff_id": ["ST1", "ST2", "ST6", "ST3", "ST4", "ST6", "ST5"],
        "role": ["grid_manager", "grid_member", "grid_member", "area_manager", "grid_member", "grid_member",
                 "area_manager"],
    })
    substations = gpd.GeoDataFrame({"substation_id": ["SUB1"], "name": ["南丰变"], "voltage_kv": [110.0]},
                                   geometry=[Point(116.10, 27.09)], crs="EPSG:4326")
    feeders = gpd.GeoDataFrame({"feeder_id": ["F1"], "name": ["10kV城东线"], "substation_id": ["SUB1"]},
                               geometry=[None], crs="EPSG:4326")
    transformers = gpd.GeoDataFrame({
        "transformer_id": ["T1", "T2"], "name": ["城东1号变", "白舍1号变"], "feeder_id": ["F1", "F1"],
        "rated_kva": [400.0, 200.0], "kind": ["public", "public"],
    }, geometry=[Point(116.05, 27.05), Point(116.15, 27.05)], crs="EPSG:4326")
    access_points = gpd.GeoDataFrame({"access_point_id": ["AP1"], "transformer_id": ["T1"]},
                                     geometry=[Point(116.06, 27.055)], crs="EPSG:4326")
    meters = pd.DataFrame({
        "meter_id": ["M1", "M2", "M3", "M4", "M5"],
        "access_point_id": [None, "AP1", None, None, None],
        "transformer_id": ["T1", None, "T1", "T2", "T2"],
    })
    customers = gpd.GeoDataFrame({
        "customer_id": ["C1", "C2", "C3", "C4", "C5"],
        "name": ["赵一", "钱二", "孙三", "李四", "周五"],
        "phone": ["13900000001", "13900000002", None, "12345", "0794-3221234"],
        "category": ["residential", "residential", "residential", "commercial", "industrial"],
        "voltage": ["low", "low", "low", "low", "high"],
        "meter_id": ["M1", "M2", "M3", "M4", "M5"],
        "key_customer": [True, False, False, True, False],
        "connected_at": [None, None, None, None, "2026-02-10 09:00"],
    }, geometry=[Point(116.047, 27.047), Point(116.053, 27.052), Point(116.11, 27.05), Point(116.152, 27.047),
                 Point(116.153, 27.053)], crs="EPSG:4326")
    outages = pd.DataFrame({
        "outage_id": ["O1", "O2", "O3", "O4", "O5"],
        "device_id": ["T1", "F1", "T2", "M5", "T2"],
        "kind": ["unplanned", "planned", "unplanned", "unplanned", "unplanned"],
        "start_at": ["2026-03-03 10:00", "2026-03-10 08:00", "2026-03-20 09:00", "2026-03-31 23:00",
                     "2026-02-28 23:30"],
        "end_at": ["2026-03-03 11:30", "2026-03-10 12:00", "2026-03-20 09:04", "2026-04-01 01:00",
                   "2026-03-01 00:30"],
    })
    readings = [
        # 2025-12: M3 has no reading (T1 not computable); T2 and its meters nothing (out of service).
        ("T1", "2025-12", 800.0), ("M1", "2025-12", 300.0), ("M2", "2025-12", 250.0),
        # 2026-01: T1 25 % (high); T2: M4 only daily readings (100 + 100), M5 monthly 250 beside a stray
        # daily 999 that the monthly reading overrides; 500 − 450 = 10 % (normal, at the bound).
        ("T1", "2026-01", 1000.0), ("M1", "2026-01", 300.0), ("M2", "2026-01", 250.0), ("M3", "2026-01", 200.0),
        ("T2", "2026-01", 500.0), ("M4", "2026-01-10", 100.0), ("M4", "2026-01-20", 100.0),
        ("M5", "2026-01", 250.0), ("M5", "2026-01-05", 999.0),
        # 2026-02: T1 150/900 = 16.67 % (high); T2 50/500 = 10 % (normal).
        ("T1", "2026-02", 900.0), ("M1", "2026-02", 300.0), ("M2", "2026-02", 250.0), ("M3", "2026-02", 200.0),
        ("T2", "2026-02", 500.0), ("M4", "2026-02", 200.0), ("M5", "2026-02", 250.0),
        # 2026-03: T1 250/1000 = 25 % (high, third month running); T2 −40/500 = −8 % (negative).
        ("T1", "2026-03", 1000.0), ("M1", "2026-03", 300.0), ("M2", "2026-03", 250.0), ("M3", "2026-03", 200.0),
        ("T2", "2026-03", 500.0), ("M4", "2026-03", 260.0), ("M5", "2026-03", 280.0),
    ]
    energy = pd.DataFrame(readings, columns=["device_id", "period", "kwh"])
    energy.insert(0, "reading_id", [f"R{i}" for i in range(len(energy))])
    visits = pd.DataFrame({
        "visit_id": ["V1", "V2", "V3", "V4", "V5", "V6"],
        "staff_id": ["ST2", "ST2", "ST2", "ST4", "ST4", "ST4"],
        "customer_id": ["C1", "C1", "C1", "C4", "C4", "C4"],
        "at": ["2025-06-10 10:00", "2025-12-01 10:00", "2026-02-15 10:00", "2025-03-15 10:00",
               "2025-10-01 10:00", "2026-03-05 10:00"],
        "kind": ["home", "home", "phone", "home", "home", "phone"],
    })
    return ServiceArea({
        "stations": stations, "grids": grids, "staff": staff, "grid_staff": grid_staff,
        "substations": substations, "feeders": feeders, "transformers": transformers,
        "access_points": access_points, "meters": meters, "customers": customers, "work_orders": _orders(),
        "outages": outages, "energy_readings": energy, "visits": visits, "applications": _applications(),
    })



#: Readings for the theft suspects (tests/metrics/test_theft.py works them out): 2025-11 … 2026-03.
THEFT_MONTHS = ("2025-11", "2025-12", "2026-01", "2026-02", "2026-03")
THEFT_SERIES = {
    "M1": [100, 100, 100, 100, 100],
    "M2": [200, 220, 180, 60, 50],
    "M3": [150, 160, 140, 150, 145],
    "M4": [300, 300, 310, 0, 0.5],
    "M5": [250, 260, 255, -40, 400],
    "T1": [600, 600, 600, 400, 400],
    "T2": [600, 600, 600, 500, 500],
}


def theft_layers(area: ServiceArea) -> dict[str, pd.DataFrame]:
    """The energy readings above and one connected 0.5 kVA application of C5 (M5), to replace the area's."""
    rows = [(d, m, float(v)) for d, vs in THEFT_SERIES.items() for m, v in zip(THEFT_MONTHS, vs, strict=True)]
    energy = pd.DataFrame(rows, columns=["device_id", "period", "kwh"])
    energy.insert(0, "reading_id", [f"R{i}" for i in range(len(energy))])
    apps = area.applications.iloc[:1].copy()
    apps["customer_id"] = "C5"
    apps["capacity_kva"] = 0.5
    apps["connected_at"] = pd.Timestamp("2025-06-01 10:00", tz=TZ)
    apps["status"] = "connected"
    return {"energy_readings": energy, "applications": apps}


#: Key customers on one street (lat 27.05) for the visit lists (tests/metrics/test_visits.py works them out).
VISIT_CUSTOMERS = {"K1": 116.060, "K2": 116.044, "K3": 116.030, "K4": 116.090, "K5": 116.070}
#: ST2's base on the same street.
VISIT_BASE = (116.050, 27.050)


def visit_layers(area: ServiceArea) -> dict[str, pd.DataFrame]:
    """Five key customers in G1 visited by ST2 (based at :data:`VISIT_BASE`), their visits and three closed
    complaints, to replace the area's customers, visits and work orders."""
    ids = list(VISIT_CUSTOMERS)
    customers = gpd.GeoDataFrame({
        "customer_id": ids, "name": ["甲一", "乙二", "丙三", "丁四", "戊五"],
        "address": [f"琴城镇东门路{i}号" for i in range(1, 6)],
        "phone": [f"1390000010{i}" for i in range(1, 6)], "category": ["commercial"] * 5, "voltage": ["low"] * 5,
        "meter_id": [None] * 5, "key_customer": [True] * 5, "connected_at": [None] * 5,
    }, geometry=[Point(x, 27.05) for x in VISIT_CUSTOMERS.values()], crs="EPSG:4326")
    rows = [
        ("K1", "home", "2025-04-01 10:00"), ("K1", "home", "2025-10-01 10:00"), ("K1", "phone", "2026-03-01 10:00"),
        ("K1", "phone", "2026-04-09 10:00"),
        ("K2", "home", "2025-12-01 10:00"), ("K2", "phone", "2026-04-10 10:00"),
        ("K3", "home", "2025-04-20 09:00"), ("K3", "home", "2026-01-10 09:00"), ("K3", "phone", "2026-01-18 10:00"),
        ("K4", "home", "2025-04-17 08:00"), ("K4", "home", "2025-11-01 08:00"), ("K4", "phone", "2026-02-01 10:00"),
        ("K5", "home", "2025-05-30 10:00"), ("K5", "home", "2025-12-30 10:00"), ("K5", "phone", "2026-01-10 09:00"),
    ]
    visits = pd.DataFrame(rows, columns=["customer_id", "kind", "at"])
    visits.insert(0, "visit_id", [f"V{i}" for i in range(1, len(rows) + 1)])
    visits.insert(1, "staff_id", "ST2")
    visits["at"] = visits["at"].map(_t).astype(f"datetime64[ms, {TZ}]")
    orders = area.work_orders.iloc[:3].copy()
    orders.index = pd.Index(["W1", "W2", "W3"], name=orders.index.name)
    orders["kind"] = "complaint"
    orders["customer_id"] = ["K5", "K1", "K3"]
    orders["status"] = "closed"
    orders["received_at"] = [_t("2026-04-10 09:00"), _t("2026-04-07 09:00"), _t("2025-11-28 09:00")]
    orders["closed_at"] = [_t("2026-04-13 10:00"), _t("2026-04-08 10:00"), _t("2025-12-01 10:00")]
    for col in ("dispatched_at", "arrived_at", "resolved_at", "replied_at"):
        orders[col] = orders["received_at"]
    staff = area.staff.copy()
    staff.loc["ST2", "geometry"] = Point(*VISIT_BASE)
    return {"customers": customers, "visits": visits, "work_orders": orders, "staff": staff}


def visit_snapshot() -> dict[str, pd.DataFrame]:
    """The whole area with :func:`visit_layers` and a ``service_area`` row whose ``as_of`` is :data:`AS_OF`,
    to write to a store (the server and the CLI judge at the data's as_of)."""
    base = build_tiny_area()
    snapshot = gpd.GeoDataFrame({"service_area_id": ["tiny"], "name": ["南丰"], "timezone": [TZ], "as_of": [AS_OF]},
                                geometry=[box(116.0, 27.0, 116.2, 27.1)], crs="EPSG:4326")
    return {**base.layers, **visit_layers(base), "service_area": snapshot}
