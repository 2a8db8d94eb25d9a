"""Helpers of the API tests: the small hand-built service area and tokens per role.

Two grids side by side (G1 west, G2 east of lon 116.50), one substation and
feeder, two transformers (T1 in G1, T2 in G2), four customers, one open
complaint, one running outage on T2 and one demo user per role. Every
expected value in the tests follows from these few rows.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point, box

from gridservice import clock
from gridservice.api.security import Tokens
from gridservice.auth import demo_users, users_by_name
from gridservice.config import Settings
from gridservice.io.tables import conform

SECRET = "test-secret-key-for-api-tests-0123456789"
#: The demo users of every test area (hashed once): tokens carry their token versions.
USERS = demo_users()[0]
NOW = clock.now().floor("s")  # the suite's pinned clock


def small_frames() -> dict[str, pd.DataFrame]:
    """The layers of the test area (conformed, keyed)."""
    c = 4326
    raw: dict[str, pd.DataFrame] = {
        "service_area": gpd.GeoDataFrame({"service_area_id": ["t"], "name": ["测试县"], "timezone": ["Asia/Shanghai"]},
                                         geometry=[box(116.40, 27.10, 116.60, 27.30)], crs=c),
        "stations": gpd.GeoDataFrame({"station_id": ["S1"], "code": ["S1"], "name": ["琴城供电所"]},
                                     geometry=[Point(116.5, 27.2)], crs=c),
        "grids": gpd.GeoDataFrame(
            {"grid_id": ["G1", "G2"], "code": ["NF-01", "NF-02"], "name": ["一网格", "二网格"],
             "station_id": ["S1", "S1"], "area_class": ["urban", "rural"], "plan_version": [1, 1]},
            geometry=[box(116.40, 27.10, 116.50, 27.30), box(116.50, 27.10, 116.60, 27.30)], crs=c),
        "staff": gpd.GeoDataFrame(
            {"staff_id": ["P1", "P2", "P3", "P4"], "name": ["赵经理", "钱网格员", "孙经理", "李台区"],
             "role": ["grid_manager", "grid_member", "grid_manager", "area_manager"],
             "station_id": ["S1"] * 4, "phone": ["13900000001", "13900000002", "13900000003", "13900000004"]},
            geometry=[Point(116.45, 27.2)] * 4, crs=c),
        "grid_staff": pd.DataFrame({"grid_id": ["G1", "G1", "G2", "G2"], "staff_id": ["P1", "P2", "P3", "P4"],
                                    "role": ["grid_manager", "grid_member", "grid_manager", "area_manager"]}),
        "substations": gpd.GeoDataFrame({"substation_id": ["B1"], "name": ["琴城变"], "voltage_kv": [110.0]},
                                        geometry=[Point(116.45, 27.15)], crs=c),
        "feeders": gpd.GeoDataFrame({"feeder_id": ["F1"], "name": ["琴城线"], "substation_id": ["B1"]},
                                    geometry=[LineString([(116.45, 27.15), (116.55, 27.25)])], crs=c),
        "transformers": gpd.GeoDataFrame(
            {"transformer_id": ["T1", "T2"], "name": ["一号台区", "二号台区"], "feeder_id": ["F1", "F1"],
             "rated_kva": [200.0, 315.0], "kind": ["public", "public"], "grid_id": ["G1", "G2"]},
            geometry=[Point(116.45, 27.18), Point(116.55, 27.18)], crs=c),
        "meters": pd.DataFrame({"meter_id": ["M1", "M2", "M3", "M4"], "transformer_id": ["T1", "T1", "T2", "T2"]}),
        "customers": gpd.GeoDataFrame(
            {"customer_id": ["C1", "C2", "C3", "C4"], "name": ["张三", "李四", "王五", "欧阳娜娜"],
             "address": ["琴城镇东门路1号", "琴城镇东门路2号", "太和镇西街8号", "太和镇西街9号"],
             "phone": ["13812345678", "13987654321", "13700001111", "13600002222"],
             "category": ["residential"] * 4, "voltage": ["low"] * 4, "meter_id": ["M1", "M2", "M3", "M4"],
             "grid_id": ["G1", "G1", "G2", "G2"]},
            geometry=[Point(116.44, 27.19), Point(116.46, 27.21), Point(116.54, 27.19), Point(116.56, 27.21)], crs=c),
        "work_orders": gpd.GeoDataFrame(
            {"work_order_id": ["WO1"], "kind": ["complaint"], "channel": ["95598"], "description": ["电压低"],
             "customer_id": ["C1"], "status": ["received"], "assignee_id": ["P1"],
             "received_at": [NOW - pd.Timedelta(hours=3)], "grid_id": ["G1"]},
            geometry=[Point(116.44, 27.19)], crs=c),
        "outages": pd.DataFrame({"outage_id": ["O1"], "device_id": ["T2"], "kind": ["unplanned"],
                                 "start_at": [NOW - pd.Timedelta(hours=2)], "end_at": [pd.NaT], "cause": ["跳闸"]}),
    }
    frames = {name: conform(name, df, source=f"fixture:{name}") for name, df in raw.items()}
    frames["users"] = USERS
    return frames


SETTINGS = Settings.model_validate({"secret_key": SECRET, "token_minutes": 60})


def token(role: str) -> str:
    """A valid token of the demo user of ``role`` (no login round trip)."""
    return Tokens(SECRET, minutes=60).issue(users_by_name(USERS)[role])[0]


def headers(role: str) -> dict[str, str]:
    """Authorization header for the demo user of ``role``."""
    return {"Authorization": f"Bearer {token(role)}"}


