"""The province map's data (counties, stations, grids with KPIs) and the map drawn from it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from gridservice.errors import DataError
from gridservice.maps import map_html
from gridservice.maps.province import build_province_map
from gridservice.metrics.kpi import kpis
from gridservice.province import cluster, county_stores
from gridservice.province.layers import province_levels
from gridservice.workspace import open_area

PERIOD = "2026-10"


def test_counties_stations_and_grids_with_their_kpis(province_dir: Path) -> None:
    stores = county_stores(province_dir)
    with cluster(workers=2) as client:
        levels, ranking, outcomes = province_levels(client, stores, period=PERIOD)
    assert [o.error for o in outcomes] == [None] * len(stores)
    grids = sum(pyogrio.read_info(p, layer="grids")["features"] for p in stores.values())
    stations = sum(pyogrio.read_info(p, layer="stations")["features"] for p in stores.values())
    assert len(levels["grid"].shapes) == len(levels["grid"].kpis) == grids
    assert len(levels["station"].shapes) == len(levels["station"].kpis) == stations
    assert list(levels["county"].shapes.index) == list(stores)
    for county, path in stores.items():
        area = open_area(path)
        assert levels["county"].kpis.loc[county, "saidi_min"] == kpis(area, PERIOD, by="area")["saidi_min"].iloc[0]
        by_station = kpis(area, PERIOD, by="station")["customers"]
        got = levels["station"].kpis.loc[[f"{county}/{s}" for s in by_station.index], "customers"]
        assert got.tolist() == by_station.tolist()
    assert sorted(ranking.index) == sorted(stores)

    html = map_html(build_province_map(levels, metric="saidi_min", period=PERIOD, basemap="none"))
    for name in levels["county"].shapes["name"]:  # in the popups, JSON-escaped
        assert json.dumps(name)[1:-1] in html
    assert all(json.dumps(key) in html for key in ("县公司", "供电所", "网格"))  # the layer control
    with pytest.raises(DataError, match="unknown metric"):
        build_province_map(levels, metric="nonsense", basemap="none")
    assert pd.api.types.is_float_dtype(levels["county"].kpis["saidi_min"])
