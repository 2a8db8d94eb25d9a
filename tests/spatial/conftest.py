"""A hand-built three-grid service area whose every answer can be worked out on paper.

Territory: the box 116.40–116.43 °E × 27.10–27.12 °N, cut into

* ``G1`` west column 116.40–116.41 (station S1, urban),
* ``G2`` south-east 116.41–116.43 × 27.10–27.11 (S1, rural),
* ``G3`` north-east 116.41–116.43 × 27.11–27.12 (S2, rural).

Customers (lon, lat → grid): C1 (116.405, 27.105) G1, C2 (116.405, 27.115) G1,
C7 (116.409, 27.105) G1, C3 (116.415, 27.105) G2, C4 (116.425, 27.105) G2,
C5 (116.415, 27.115) G3, C6 (116.425, 27.115) G3, and C8 (116.45, 27.11)
outside the territory and every grid.

Transformers: T1 (G1) feeds C1, C2, C7 through meters; T2 (G2) feeds C3, C4;
T3 (G3) feeds C5, C6 through access point AP1; T4 feeds C8.
Staff: one grid manager per grid; members E1 (G1), E2 (G2), E3 and E4 (G3).
Work orders: W1 (C3, open), W2 (point in G3, no customer, open),
W3 (C5, closed), W4 (C5, open).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from gridservice.io import GeoPackageStore
from gridservice.model import ServiceArea

TERRITORY = box(116.40, 27.10, 116.43, 27.12)
G1 = box(116.40, 27.10, 116.41, 27.12)
G2 = box(116.41, 27.10, 116.43, 27.11)
G3 = box(116.41, 27.11, 116.43, 27.12)

CUSTOMERS = {
    "C1": (116.405, 27.105, "M1"),
    "C2": (116.405, 27.115, "M2"),
    "C7": (116.409, 27.105, "M7"),
    "C3": (116.415, 27.105, "M3"),
    "C4": (116.425, 27.105, "M4"),
    "C5": (116.415, 27.115, "M5"),
    "C6": (116.425, 27.115, "M6"),
    "C8": (116.450, 27.110, "M8"),
}


def three_grid_frames() -> dict[str, pd.DataFrame]:
    """The frames of the three-grid area (see the module docstring)."""
    ts = pd.Timestamp("2026-03-01 09:00", tz="Asia/Shanghai")
    return {
        "service_area": gpd.GeoDataFrame({"service_area_id": ["t3"], "name": ["三网格测试区"]},
                                         geometry=[TERRITORY], crs=4326),
        "stations": gpd.GeoDataFrame({"station_id": ["S1", "S2"], "code": ["S1", "S2"], "name": ["琴城所", "白舍所"]},
                                     geometry=[Point(116.405, 27.11), Point(116.42, 27.115)], crs=4326),
        "grids": gpd.GeoDataFrame(
            {"grid_id": ["G1", "G2", "G3"], "code": ["NF-01", "NF-02", "NF-03"], "name": ["一网格", "二网格", "三网格"],
             "station_id": ["S1", "S1", "S2"], "area_class": ["urban", "rural", "rural"], "plan_version": [1, 1, 1]},
            geometry=[G1, G2, G3], crs=4326),
        "staff": gpd.GeoDataFrame(
            {"staff_id": ["M1", "M2", "M3", "E1", "E2", "E3", "E4"],
             "name": ["王芳", "李强", "张伟", "刘洋", "陈静", "杨磊", "赵敏"],
             "role": ["grid_manager"] * 3 + ["grid_member"] * 4,
             "station_id": ["S1", "S1", "S2", "S1", "S1", "S2", "S2"],
             "phone": ["13800000001", "13800000002", "13800000003", "13900000001", "13900000002", "13900000003",
                       "13900000004"]},
            geometry=[None] * 7, crs=4326),
        "grid_staff": pd.DataFrame({
            "grid_id": ["G1", "G2", "G3", "G1", "G2", "G3", "G3"],
            "staff_id": ["M1", "M2", "M3", "E1", "E2", "E3", "E4"],
            "role": ["grid_manager"] * 3 + ["grid_member"] * 4}),
        "substations": gpd.GeoDataFrame({"substation_id": ["B1"], "name": ["琴城变"]},
                                        geometry=[Point(116.401, 27.101)], crs=4326),
        "feeders": gpd.GeoDataFrame({"feeder_id": ["F1"], "name": ["琴城线"], "substation_id": ["B1"]},
                                    geometry=[LineString([(116.401, 27.101), (116.429, 27.119)])], crs=4326),
        "transformers": gpd.GeoDataFrame(
            {"transformer_id": ["T1", "T2", "T3", "T4"], "name": ["一台区", "二台区", "三台区", "四台区"],
             "feeder_id": ["F1"] * 4, "rated_kva": [200.0, 315.0, 400.0, 100.0], "kind": ["public"] * 4},
            geometry=[Point(116.405, 27.11), Point(116.42, 27.105), Point(116.42, 27.115), Point(116.45, 27.111)],
            crs=4326),
        "access_points": gpd.GeoDataFrame({"access_point_id": ["AP1"], "transformer_id": ["T3"]},
                                          geometry=[Point(116.42, 27.116)], crs=4326),
        "meters": pd.DataFrame({
            "meter_id": [m for *_, m in CUSTOMERS.values()],
            "transformer_id": ["T1", "T1", "T1", "T2", "T2", None, None, "T4"],
            "access_point_id": [None, None, None, None, None, "AP1", "AP1", None]}),
        "customers": gpd.GeoDataFrame(
            {"customer_id": list(CUSTOMERS), "name": [f"客户{k}" for k in CUSTOMERS],
             "category": ["residential"] * 8, "voltage": ["low"] * 8, "meter_id": [m for *_, m in CUSTOMERS.values()]},
            geometry=[Point(x, y) for x, y, _ in CUSTOMERS.values()], crs=4326),
        "work_orders": gpd.GeoDataFrame(
            {"work_order_id": ["W1", "W2", "W3", "W4"], "kind": ["repair", "complaint", "repair", "consultation"],
             "customer_id": ["C3", None, "C5", "C5"], "status": ["received", "dispatched", "closed", "received"],
             "received_at": [ts] * 4},
            geometry=[None, Point(116.425, 27.118), None, None], crs=4326),
    }


@pytest.fixture
def three_area() -> ServiceArea:
    """The three-grid area in memory (not derived)."""
    return ServiceArea(three_grid_frames())


@pytest.fixture(scope="session")
def three_gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three-grid area written once to a GeoPackage (copy it before writing)."""
    path = tmp_path_factory.mktemp("three") / "three.gpkg"
    GeoPackageStore(path).write(ServiceArea(three_grid_frames()).layers, create=True)
    return path


@pytest.fixture
def three_store(three_gpkg: Path, tmp_path: Path) -> GeoPackageStore:
    """A private copy of the three-grid GeoPackage a test may write to."""
    dst = tmp_path / "three.gpkg"
    shutil.copyfile(three_gpkg, dst)
    return GeoPackageStore(dst)


@pytest.fixture
def write_plan(tmp_path: Path):
    """A writer of plan FeatureCollections: ``write_plan(name, {grid_id: polygon}, {grid_id: {prop: value}})``."""

    def write(name: str, grids: dict[str, object], props: dict[str, dict[str, object]] | None = None) -> Path:
        gdf = gpd.GeoDataFrame({"grid_id": list(grids)}, geometry=list(grids.values()), crs=4326)
        for gid, extra in (props or {}).items():
            for k, v in extra.items():
                if k not in gdf.columns:
                    gdf[k] = pd.Series([None] * len(gdf), dtype="object")
                gdf.loc[gdf["grid_id"] == gid, k] = v
        path = tmp_path / name
        gdf.to_file(path, driver="GeoJSON")
        return path

    return write
