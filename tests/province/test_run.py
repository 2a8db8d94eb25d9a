"""The province on a real dask.distributed cluster (two worker processes on 127.0.0.1).

Three small counties of Jiangxi are built once; every province table is held
to the county functions run one county at a time in this process, the
ranking to percentile ranks recomputed with scipy, and the tolerance of
failures to a corrupt file, a missing one and a worker process killed while
it works.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
from scipy.stats import rankdata

from gridservice.errors import DataError
from gridservice.metrics.kpi import kpis
from gridservice.metrics.lineloss import line_loss
from gridservice.metrics.reliability import reliability
from gridservice.province import cluster, county_stores, run
from gridservice.workspace import open_area

PERIOD = "2026-10"


def _customers(stores: dict[str, str]) -> int:
    """Customers in the files, counted by GDAL."""
    return sum(pyogrio.read_info(p, layer="customers")["features"] for p in stores.values())


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    with cluster(workers=2) as c:
        yield c


def _county(table: pd.DataFrame, county: str) -> pd.DataFrame:
    return table[table["county"] == county].drop(columns="county").reset_index(drop=True)


def test_county_stores(province_dir: Path, tmp_path: Path) -> None:
    names = ["guangchang", "nanfeng", "yihuang"]
    assert list(county_stores(province_dir)) == names
    assert list(county_stores(f"{province_dir}/n*.gpkg")) == ["nanfeng"]
    assert county_stores(province_dir / "nanfeng.gpkg") == {"nanfeng": str(province_dir / "nanfeng.gpkg")}
    (tmp_path / ".x.gpkg.123.tmp.gpkg").write_bytes(b"")  # a write in progress is no county
    with pytest.raises(DataError, match="no GeoPackage"):
        county_stores(tmp_path)


@pytest.mark.parametrize(("by", "unit"), [("area", "area"), ("station", "station_id"), ("grid", "grid_id")])
def test_kpi_of_each_county_equals_the_county_function(client, province_dir: Path, by: str, unit: str) -> None:
    stores = county_stores(province_dir)
    result = run(client, "kpi", stores, period=PERIOD, by=by)
    assert result.errors.empty
    assert list(result.table.columns[:2]) == ["county", unit]
    assert set(result.table["county"]) == set(stores)
    for county, path in stores.items():
        expected = kpis(open_area(path), PERIOD, by=by).reset_index()
        pd.testing.assert_frame_equal(_county(result.table, county), expected)


def test_reliability_and_lineloss_of_each_county(client, province_dir: Path) -> None:
    stores = county_stores(province_dir)
    rel = run(client, "reliability", stores, period=PERIOD, by="station")
    loss = run(client, "lineloss", stores, period=PERIOD)
    for county, path in stores.items():
        area = open_area(path)
        pd.testing.assert_frame_equal(_county(rel.table, county), reliability(area, PERIOD, by="station").reset_index())
        pd.testing.assert_frame_equal(_county(loss.table, county), line_loss(area, PERIOD).reset_index())
    # the province totals are the sums of the counties'
    assert rel.table["customers_served"].sum() == _customers(stores) == 3 * 1500


def test_counties_ranked_like_grids(client, province_dir: Path) -> None:
    """Percentile ranks per measure (scipy, average ties; a missing value counts 0.5), mean × 100."""
    stores = county_stores(province_dir)
    result = run(client, "kpi", stores, period=PERIOD, by="area")
    rows = pd.concat([kpis(open_area(p), PERIOD, by="area").set_axis([c]) for c, p in stores.items()])
    tx = rows[[c for c in rows.columns if c.startswith("loss_")]].sum(axis=1)
    rows["anomalous_loss_pct"] = (rows["loss_high"] + rows["loss_negative"]) / tx * 100
    measures = {"repair_on_time_pct": 1, "non_repair_on_time_pct": 1, "complaints_per_10k": -1, "saidi_min": -1,
                "anomalous_loss_pct": -1, "visit_coverage_pct": 1}
    pct = []
    for col, sign in measures.items():
        values = rows[col].to_numpy(dtype=float)
        r = np.full(len(values), 0.5)
        ok = ~np.isnan(values)
        r[ok] = rankdata(sign * values[ok], method="average") / ok.sum()
        pct.append(r)
    score = pd.Series(np.round(np.mean(pct, axis=0) * 100, 1), index=rows.index)
    ranking = result.ranking
    assert ranking["score"].to_dict() == pytest.approx(score.to_dict())
    assert list(ranking["rank"]) == [1, 2, 3]
    assert ranking["score"].is_monotonic_decreasing


def test_a_broken_county_is_reported_and_the_rest_complete(client, province_dir: Path, tmp_path: Path) -> None:
    for f in province_dir.glob("*.gpkg"):
        shutil.copyfile(f, tmp_path / f.name)
    (tmp_path / "broken.gpkg").write_text("not a database")
    (tmp_path / "gone.gpkg").symlink_to(tmp_path / "nowhere.gpkg")  # listed, but its file is missing
    seen: list[str] = []
    result = run(client, "kpi", county_stores(tmp_path), period=PERIOD, on_done=lambda o: seen.append(o.county))
    assert sorted(seen) == ["broken", "gone", "guangchang", "nanfeng", "yihuang"]
    errors = result.errors.set_index("county")["error"]
    assert sorted(errors.index) == ["broken", "gone"]
    assert str(tmp_path / "broken.gpkg") in errors["broken"] and "not a GeoPackage" in errors["broken"]
    assert str(tmp_path / "gone.gpkg") in errors["gone"]
    assert sorted(result.table["county"]) == ["guangchang", "nanfeng", "yihuang"]
    assert sorted(result.ranking.index) == ["guangchang", "nanfeng", "yihuang"]
    good = run(client, "kpi", county_stores(province_dir), period=PERIOD)
    pd.testing.assert_frame_equal(result.table, good.table)


def test_a_killed_worker_is_replaced_and_the_totals_hold(province_dir: Path) -> None:
    """A side thread kills the first worker process seen working on a county (SIGKILL); Dask reruns that
    county elsewhere and the result equals the county functions'."""
    stores = county_stores(province_dir)
    killed: dict[str, object] = {}
    with cluster(workers=2) as c:
        pids = c.run(os.getpid)

        def killer() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                busy = {w: keys for w, keys in c.processing().items() if keys}
                if busy:
                    worker, keys = next(iter(busy.items()))
                    killed.update(pid=pids[worker], key=keys[0])
                    os.kill(pids[worker], signal.SIGKILL)
                    return
                time.sleep(0.02)

        thread = threading.Thread(target=killer)
        thread.start()
        result = run(c, "reliability", stores, period=PERIOD, by="area")
        thread.join()
    assert killed, "no worker was seen working"
    assert result.errors.empty
    assert killed["pid"] not in set(result.timings["pid"])  # every county's result came from a live worker
    county = str(killed["key"]).removeprefix("reliability-")
    assert county in set(result.timings["county"])
    expected = pd.concat([reliability(open_area(p), PERIOD, by="area").reset_index().assign(county=c)
                          for c, p in stores.items()], ignore_index=True)
    pd.testing.assert_frame_equal(result.table, expected[result.table.columns])
    assert result.table["customers_served"].sum() == _customers(stores)


def test_province_report(client, province_dir: Path, tmp_path: Path) -> None:
    """The workbook's sheets: each county's own KPIs, the ranking and every station, Chinese headers."""
    from gridservice.province.report import write_province_report

    stores = county_stores(province_dir)
    result = run(client, "kpi", stores, period=PERIOD, by="station")
    xlsx, page = write_province_report(result, tmp_path)
    assert (xlsx.name, page.name) == ("province-2026-10-report.xlsx", "province-2026-10-report.html")
    sheets = pd.read_excel(xlsx, sheet_name=None)
    assert list(sheets) == ["县公司指标", "县公司排名", "供电所指标"]
    counties = sheets["县公司指标"].set_index("county")
    for county, path in stores.items():
        area = open_area(path)
        assert counties.loc[county, "客户数"] == kpis(area, PERIOD, by="area")["customers"].iloc[0]
        assert (sheets["供电所指标"]["county"] == county).sum() == len(area.stations)
    assert sorted(sheets["县公司排名"]["排名"]) == [1, 2, 3]
    assert "县公司综合得分排名" in page.read_text(encoding="utf-8")
