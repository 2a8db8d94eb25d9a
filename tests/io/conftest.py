"""A tiny hand-built service area for io tests: one of each network layer."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from gridservice.io import GeoPackageStore
from gridservice.model import ServiceArea

TERRITORY = box(116.40, 27.10, 116.60, 27.30)


def tiny_frames() -> dict[str, pd.DataFrame]:
    """Frames for a one-feeder area; enough parents for imports to resolve."""
    return {
        "service_area": gpd.GeoDataFrame(
            {"service_area_id": ["t"], "name": ["测试区"], "timezone": ["Asia/Shanghai"]},
            geometry=[TERRITORY], crs=4326),
        "stations": gpd.GeoDataFrame({"station_id": ["S1"], "code": ["S1"], "name": ["琴城供电所"]},
                                     geometry=[Point(116.5, 27.2)], crs=4326),
        "grids": gpd.GeoDataFrame(
            {"grid_id": ["G1", "G2"], "code": ["NF-01", "NF-02"], "name": ["一网格", "二网格"],
             "station_id": ["S1", "S1"], "area_class": ["urban", "rural"], "plan_version": [1, 1]},
            geometry=[box(116.40, 27.10, 116.50, 27.30), box(116.50, 27.10, 116.60, 27.30)], crs=4326),
        "substations": gpd.GeoDataFrame({"substation_id": ["B1"], "name": ["琴城变"], "voltage_kv": [110.0]},
                                        geometry=[Point(116.45, 27.15)], crs=4326),
        "feeders": gpd.GeoDataFrame({"feeder_id": ["F1"], "name": ["琴城线"], "substation_id": ["B1"]},
                                    geometry=[LineString([(116.45, 27.15), (116.55, 27.25)])], crs=4326),
        "transformers": gpd.GeoDataFrame(
            {"transformer_id": ["T1"], "name": ["一号台区"], "feeder_id": ["F1"], "rated_kva": [200.0],
             "kind": ["public"]}, geometry=[Point(116.48, 27.18)], crs=4326),
        "meters": pd.DataFrame({"meter_id": ["M1"], "transformer_id": ["T1"]}),
    }


@pytest.fixture
def tiny_store(tmp_path: Path) -> GeoPackageStore:
    """A GeoPackage holding :func:`tiny_frames` and every other layer empty."""
    store = GeoPackageStore(tmp_path / "tiny.gpkg")
    area = ServiceArea(tiny_frames())
    store.write(area.layers, create=True)
    return store
