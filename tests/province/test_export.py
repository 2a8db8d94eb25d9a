"""``province export``: GeoParquet partitioned by county, read back by geopandas and dask.dataframe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dask.dataframe as dd
import geopandas as gpd
import pandas as pd
import pytest

from gridservice.errors import DataError
from gridservice.province import cluster, county_stores
from gridservice.province.export import LAYERS, export
from gridservice.workspace import open_area


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    with cluster(workers=2) as c:
        yield c


def test_reading_the_lake_back_gives_the_same_rows(client, province_dir: Path, tmp_path: Path) -> None:
    stores = county_stores(province_dir)
    lake = tmp_path / "province.parquet"
    outcomes = export(client, stores, lake)
    assert [o.error for o in outcomes] == [None] * len(stores)
    assert sorted(p.name for p in (lake / "customers").iterdir()) == [f"county={c}" for c in sorted(stores)]
    for layer in LAYERS:
        back = pd.read_parquet(lake / layer) if layer == "energy_readings" else gpd.read_parquet(lake / layer)
        for county, path in stores.items():
            frame = open_area(path).layers[layer]
            expected = frame.reset_index(drop=frame.index.name is None)
            got = back[back["county"] == county].drop(columns="county").reset_index(drop=True)
            if isinstance(expected, gpd.GeoDataFrame):
                assert got.crs.equals(expected.crs)
            pd.testing.assert_frame_equal(pd.DataFrame(got), pd.DataFrame(expected))
    # dask reads the hive layout as it is: monthly supply per county without loading the others
    readings = dd.read_parquet(lake / "energy_readings")
    kwh = readings[readings["period"] == "2026-10"].groupby("county", observed=True)["kwh"].sum().compute()
    for county, path in stores.items():
        r = open_area(path).energy_readings
        assert kwh[county] == pytest.approx(r.loc[r["period"] == "2026-10", "kwh"].sum())


def test_nothing_is_written_when_a_county_fails(client, province_dir: Path, tmp_path: Path) -> None:
    areas = tmp_path / "areas"
    areas.mkdir()
    for f in province_dir.glob("*.gpkg"):
        (areas / f.name).symlink_to(f)
    (areas / "broken.gpkg").write_text("not a database")
    outcomes = export(client, county_stores(areas), tmp_path / "lake.parquet")
    assert {o.county: bool(o.error) for o in outcomes}["broken"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["areas"]  # no lake, no temporary folder left
    (tmp_path / "taken.parquet").mkdir()
    with pytest.raises(DataError, match="already exists"):
        export(client, county_stores(province_dir), tmp_path / "taken.parquet")
