"""A small hand-built service area for the map tests (frames and constants).

Four square grids of 0.05° in a 2×2 block, a fifth grid overlapping G4 (a
planted overlap) and a strip of territory that no grid covers (a planted
gap); 24 customers placed by hand (6 in G1, 3 in G2, 9 in G3, 6 in G4), two
transformers on one feeder, complaints and repair calls in March 2026, one
active and one past outage.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString, Point, box

X0, Y0, D = 116.40, 27.10, 0.05
TERRITORY = box(X0, Y0, X0 + 2 * D + 0.01, Y0 + 2 * D)  # the last 0.01° column is the gap

#: Customers per grid, as placed below.
CUSTOMERS_PER_GRID = {"G1": 6, "G2": 3, "G3": 9, "G4": 6, "G5": 0}


def _grid_box(col: int, row: int) -> object:
    return box(X0 + col * D, Y0 + row * D, X0 + (col + 1) * D, Y0 + (row + 1) * D)


def map_frames() -> dict[str, pd.DataFrame]:
    """The frames of the map-test area (see the module doc)."""
    grids = gpd.GeoDataFrame(
        {"grid_id": ["G1", "G2", "G3", "G4", "G5"], "code": ["NF-01", "NF-02", "NF-03", "NF-04", "NF-05"],
         "name": ["城东网格", "城西网格", "白舍网格", "太和网格", "琴湖网格"],
         "station_id": ["S1", "S1", "S2", "S2", "S2"], "area_class": ["urban", "urban", "rural", "rural", "remote"],
         "plan_version": [1] * 5},
        # G5 sits on the middle of G4 (planted overlap).
        geometry=[_grid_box(0, 0), _grid_box(1, 0), _grid_box(0, 1), _grid_box(1, 1),
                  box(X0 + 1.4 * D, Y0 + 1.4 * D, X0 + 1.6 * D, Y0 + 1.6 * D)],
        crs=4326,
    )
    # Customers: a few per grid, at fixed offsets from each grid's south-west corner.
    rows = []
    cells = {"G1": (0, 0), "G2": (1, 0), "G3": (0, 1), "G4": (1, 1)}
    n = 0
    for gid, (col, row) in cells.items():
        for i in range(CUSTOMERS_PER_GRID[gid]):
            n += 1
            # G4's customers avoid G5 (0.4D..0.6D), so each customer is in exactly one grid.
            x = X0 + col * D + D * (0.1 + 0.12 * (i % 3))
            y = Y0 + row * D + D * (0.1 + 0.25 * (i // 3))
            rows.append({"customer_id": f"C{n:03d}", "name": f"客户{n}", "category": "residential" if i % 2 else
                         "commercial", "voltage": "low", "meter_id": f"M{n:03d}", "geometry": Point(x, y),
                         "_tx": "T1" if col == 0 else "T2"})
    customers = gpd.GeoDataFrame(rows, crs=4326)
    meters = pd.DataFrame({"meter_id": customers["meter_id"], "transformer_id": customers.pop("_tx")})
    staff = gpd.GeoDataFrame(
        {"staff_id": ["P1", "P2", "P3"], "name": ["张伟", "李娜", "王<b>强"], "role": ["grid_manager", "grid_member",
                                                                                   "grid_member"],
         "station_id": ["S1", "S1", "S2"], "phone": ["13800000001", "13800000002", "13800000003"]},
        geometry=[Point(X0 + 0.02, Y0 + 0.02), Point(X0 + 0.07, Y0 + 0.02), Point(X0 + 0.02, Y0 + 0.07)], crs=4326)
    grid_staff = pd.DataFrame({"grid_id": ["G1", "G1", "G2", "G3"], "staff_id": ["P1", "P2", "P2", "P3"],
                               "role": ["grid_manager", "grid_member", "grid_member", "grid_member"]})
    t = pd.Timestamp("2026-03-10 09:00", tz="Asia/Shanghai")
    work_orders = gpd.GeoDataFrame(
        {"work_order_id": ["W1", "W2", "W3", "W4", "W5"],
         "kind": ["complaint", "complaint", "repair", "repair", "complaint"],
         "status": ["received"] * 5, "customer_id": ["C001", "C002", "C010", "C011", "C020"],
         "received_at": [t, t, t, t, pd.Timestamp("2026-02-01 10:00", tz="Asia/Shanghai")]},
        geometry=[None] * 5, crs=4326)
    outages = pd.DataFrame({
        "outage_id": ["O1", "O2"], "device_id": ["T1", "T2"], "kind": ["unplanned", "planned"],
        "start_at": [t, pd.Timestamp("2026-03-02 08:00", tz="Asia/Shanghai")],
        "end_at": [pd.NaT, pd.Timestamp("2026-03-02 12:00", tz="Asia/Shanghai")], "cause": ["fault", "maintenance"]})
    return {
        "service_area": gpd.GeoDataFrame({"service_area_id": ["t"], "name": ["测试县"]}, geometry=[TERRITORY],
                                         crs=4326),
        "stations": gpd.GeoDataFrame({"station_id": ["S1", "S2"], "name": ["琴城供电所", "白舍供电所"]},
                                     geometry=[Point(X0 + 0.01, Y0 + 0.01), Point(X0 + 0.01, Y0 + 0.09)], crs=4326),
        "grids": grids,
        "staff": staff,
        "grid_staff": grid_staff,
        "substations": gpd.GeoDataFrame({"substation_id": ["B1"], "name": ["琴城变"]},
                                        geometry=[Point(X0 + 0.05, Y0 + 0.05)], crs=4326),
        "feeders": gpd.GeoDataFrame({"feeder_id": ["F1"], "name": ["琴城线"], "substation_id": ["B1"]},
                                    geometry=[LineString([(X0 + 0.05, Y0 + 0.05), (X0 + 0.02, Y0 + 0.03),
                                                          (X0 + 0.08, Y0 + 0.08)])], crs=4326),
        "transformers": gpd.GeoDataFrame(
            {"transformer_id": ["T1", "T2"], "name": ["一号台区", "二号台区"], "feeder_id": ["F1", "F1"],
             "rated_kva": [200.0, 400.0], "kind": ["public", "public"]},
            geometry=[Point(X0 + 0.02, Y0 + 0.03), Point(X0 + 0.08, Y0 + 0.08)], crs=4326),
        "meters": meters,
        "customers": customers,
        "work_orders": work_orders,
        "outages": outages,
    }


def random_points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random lon/lat inside the test territory."""
    rng = np.random.default_rng(seed)
    return rng.uniform(X0, X0 + 2 * D, n), rng.uniform(Y0, Y0 + 2 * D, n)
