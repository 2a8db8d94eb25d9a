"""``province export``: GeoParquet partitioned by county, read back by geopandas and dask.dataframe."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import dask.dataframe as dd
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gridservice.cli import app
from gridservice.errors import DataError
from gridservice.metrics.lineloss import line_loss
from gridservice.province import cluster, county_stores
from gridservice.province.export import LAYERS, export
from gridservice.province.readings import line_loss as readings_line_loss
from gridservice.province.readings import write_readings
from gridservice.workspace import open_area


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    with cluster(workers=2) as c:
        yield c


@pytest.fixture(scope="module")
def lake(client, province_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test counties exported once (read-only)."""
    out = tmp_path_factory.mktemp("lake") / "province.parquet"
    outcomes = export(client, county_stores(province_dir), out)
    assert [o.error for o in outcomes] == [None] * len(outcomes)
    return out


def test_reading_the_lake_back_gives_the_same_rows(province_dir: Path, lake: Path) -> None:
    stores = county_stores(province_dir)
    assert sorted(p.name for p in (lake / "energy_readings" / "county=nanfeng").iterdir()) == [
        f"month={m}" for m in ["2025-12", *(f"2026-{i:02d}" for i in range(1, 12))]]
    assert sorted(p.name for p in (lake / "customers").iterdir()) == [f"county={c}" for c in sorted(stores)]
    for layer in LAYERS:
        back = pd.read_parquet(lake / layer) if layer == "energy_readings" else gpd.read_parquet(lake / layer)
        for county, path in stores.items():
            frame = open_area(path).layers[layer]
            expected = frame.reset_index(drop=frame.index.name is None)
            got = back[back["county"] == county].drop(columns=["county", "month"], errors="ignore")
            if layer == "energy_readings":  # partitioned by month as well: the rows come back month by month
                got = got.set_index("reading_id").loc[expected["reading_id"]].reset_index()
            got = got.reset_index(drop=True)
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


LOSS_COLUMNS = ["supply_kwh", "sales_kwh", "loss_kwh", "loss_pct", "class", "meters", "meters_read"]


def _by_county(loss: pd.DataFrame, county: str) -> pd.DataFrame:
    """One county's rows as the county verb indexes them (dask hands text back as its own string dtype)."""
    out = loss[loss["county"] == county].astype({"transformer_id": "str", "class": "str"})
    return out.set_index("transformer_id")[LOSS_COLUMNS]


@pytest.mark.parametrize("month", ["2025-12", "2026-11", "2026-12"])  # the first, the last, none read
def test_line_loss_over_the_readings_equals_the_county_verb(client, province_dir: Path, lake: Path,
                                                            month: str) -> None:
    loss = readings_line_loss(lake, month)
    assert loss.npartitions == len(county_stores(province_dir))  # one per county
    got = loss.compute()
    assert (got["period"] == month).all()
    for county, path in county_stores(province_dir).items():
        expected = line_loss(open_area(path), month)[LOSS_COLUMNS]
        assert len(expected) > 0
        pd.testing.assert_frame_equal(_by_county(got, county), expected)
    if month == "2026-12":
        assert set(got["class"]) == {"out_of_service"}
    else:
        assert "normal" in set(got["class"])


def test_daily_readings_are_summed_unless_the_month_has_its_own(client, province_dir: Path, lake: Path,
                                                                tmp_path: Path) -> None:
    """A county whose meters were read daily (one also monthly) in the lake and in memory: same loss."""
    area = open_area(county_stores(province_dir)["nanfeng"])
    r = area.energy_readings.reset_index()
    month = r[r["period"] == "2026-10"]
    meters = month[month["device_id"].isin(area.meters.index)]
    daily = meters.loc[meters.index.repeat(31)].copy()
    day = np.tile(np.arange(1, 32), len(meters))
    daily["period"] = [f"2026-10-{d:02d}" for d in day]
    daily["kwh"] = np.round(daily["kwh"].to_numpy() / 31 * (1 + (day % 3 - 1) * 0.05), 3)
    daily["reading_id"] = daily["device_id"] + "@" + daily["period"]
    kept_monthly = meters["device_id"].iloc[:1]  # this meter's monthly reading wins over its days
    rest = r[(r["period"] != "2026-10") | ~r["device_id"].isin(meters["device_id"])
             | r["device_id"].isin(kept_monthly)]
    readings = pd.concat([rest, daily], ignore_index=True)
    copy = tmp_path / "daily.parquet"
    shutil.copytree(lake, copy)
    for county in ("yihuang", "guangchang"):
        shutil.rmtree(copy / "energy_readings" / f"county={county}")
    shutil.rmtree(copy / "energy_readings" / "county=nanfeng")
    write_readings(copy, "nanfeng", readings)
    got = readings_line_loss(copy, "2026-10").compute()
    expected = line_loss(area.replace(energy_readings=readings.set_index("reading_id")), "2026-10")
    pd.testing.assert_frame_equal(_by_county(got, "nanfeng"), expected[LOSS_COLUMNS])
    before = line_loss(area, "2026-10")
    assert (expected["meters_read"] == before["meters_read"]).all()  # a month of days reads the meter
    assert (expected["sales_kwh"] != before["sales_kwh"]).sum() > len(before) // 2  # and sums them
    assert (_by_county(got, "yihuang")["class"] == "out_of_service").all()  # no readings at all that month


def test_readings_loss_verb(client, province_dir: Path, lake: Path, tmp_path: Path) -> None:
    """``province readings-loss`` on an existing scheduler: every area as csv (the county verb's figures), class
    counts per county as a table; a DataError (one line from ``gridservice``) for a folder that is not a lake or a
    period that is not a month."""
    args = ["province", "readings-loss", "--lake", str(lake), "--period", "2026-10",
            "--scheduler", client.scheduler.address]
    result = CliRunner().invoke(app, [*args, "--format", "csv"])
    assert result.exit_code == 0, result.output
    csv = pd.read_csv(io.StringIO(result.stdout), dtype={"county": str, "transformer_id": str})
    assert list(csv.columns[:3]) == ["county", "transformer_id", "period"]
    expected = line_loss(open_area(county_stores(province_dir)["yihuang"]), "2026-10")
    got = csv[csv["county"] == "yihuang"].set_index("transformer_id")
    assert list(got.index) == list(expected.index)
    assert list(got["class"]) == list(expected["class"])
    assert got["loss_kwh"].sum() == pytest.approx(expected["loss_kwh"].sum())
    table = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "yihuang" in table.stdout and "not_computable" in table.stdout
    for bad, message in (([*args[:3], str(tmp_path), *args[4:]], "not a province lake"),
                         ([*args[:5], "2026-W40", *args[6:]], "one month")):
        result = CliRunner().invoke(app, bad)
        assert isinstance(result.exception, DataError)
        assert message in str(result.exception)
