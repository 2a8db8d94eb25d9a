"""Line loss by hand on the five-customer area, and against a pandas groupby on random data.

T1 has meters M1, M2 (through access point AP1) and M3; T2 has M4 and M5.

========  ===========================  ===================================
month     T1                           T2
========  ===========================  ===================================
2025-12   800 supply, M3 unread:       nothing at all: out_of_service
          not_computable (2 of 3 read)
2026-01   1000 − 750 = 250, 25 % high  500 − (100 + 100 daily M4 + 250 M5,
                                       the stray daily 999 of M5 ignored)
                                       = 50, 10 % normal (on the bound)
2026-02   900 − 750 = 150, 16.7 % high 500 − 450 = 50, 10 % normal
2026-03   1000 − 750 = 250, 25 % high  500 − 540 = −40, −8 % negative
========  ===========================  ===================================

Streaks at 2026-03: T1 3 (Jan–Mar; December was not computable), T2 1.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from gridservice.config import Rules
from gridservice.metrics.lineloss import line_loss, loss_trend
from gridservice.metrics.period import period_between
from gridservice.model import ServiceArea


def test_march_by_hand(tiny) -> None:
    loss = line_loss(tiny, "2026-03", rules=Rules())
    assert loss.index.name == "transformer_id"
    t1, t2 = loss.loc["T1"], loss.loc["T2"]
    assert (t1["supply_kwh"], t1["sales_kwh"], t1["loss_kwh"]) == (1000.0, 750.0, 250.0)
    assert t1["loss_pct"] == pytest.approx(25.0)
    assert t1["class"] == "high" and t1["streak_months"] == 3
    assert "theft" in t1["likely_cause"] and t1["likely_cause_zh"] == "窃电、无表用电或客户未建档"
    assert (t2["supply_kwh"], t2["sales_kwh"], t2["loss_kwh"]) == (500.0, 540.0, -40.0)
    assert t2["loss_pct"] == pytest.approx(-8.0)
    assert t2["class"] == "negative" and t2["streak_months"] == 1
    assert "customer–transformer links" in t2["likely_cause"]
    assert (t1["grid_id"], t1["staff_id"], t1["staff_name"]) == ("G1", "ST3", "王强")
    assert (t2["grid_id"], t2["staff_id"]) == ("G2", "ST5")
    assert t1["meters"] == 3 and t1["meters_read"] == 3


def test_earlier_months_by_hand(tiny) -> None:
    feb = line_loss(tiny, "2026-02", rules=Rules())
    assert feb.loc["T1", "loss_pct"] == pytest.approx(150 / 900 * 100)
    assert feb.loc["T1", "streak_months"] == 2
    assert feb.loc["T2", "loss_pct"] == pytest.approx(10.0) and feb.loc["T2", "class"] == "normal"
    jan = line_loss(tiny, "2026-01", rules=Rules())
    assert jan.loc["T2", "sales_kwh"] == 450.0  # daily M4 readings summed; M5's monthly reading wins
    assert jan.loc["T2", "class"] == "normal" and jan.loc["T1", "streak_months"] == 1
    dec = line_loss(tiny, "2025-12", rules=Rules())
    assert dec.loc["T1", "class"] == "not_computable"
    assert (dec.loc["T1", "meters"], dec.loc["T1", "meters_read"]) == (3, 2)
    assert dec.loc["T1", "likely_cause"] == "1 of 3 meters without a reading"
    assert np.isnan(dec.loc["T1", "loss_pct"])
    assert dec.loc["T2", "class"] == "out_of_service"
    assert np.isnan(dec.loc["T2", "supply_kwh"])


def test_thresholds_are_settings(tiny) -> None:
    feb = line_loss(tiny, "2026-02", rules=Rules(loss_high_pct=8.0))
    assert feb.loc["T2", "class"] == "high"
    mar = line_loss(tiny, "2026-03", rules=Rules(loss_normal_min_pct=-10.0))
    assert mar.loc["T2", "class"] == "normal" and mar.loc["T2", "streak_months"] == 0


def test_a_quarter_sums_its_months(tiny) -> None:
    q1 = line_loss(tiny, period_between("2026-01-01", "2026-03-31"), rules=Rules())
    # T1: 2900 − 2250 = 650; T2: 1500 − 1440 = 60 (4 %).
    assert q1.loc["T1", ["supply_kwh", "sales_kwh", "loss_kwh"]].tolist() == [2900.0, 2250.0, 650.0]
    assert q1.loc["T1", "loss_pct"] == pytest.approx(650 / 2900 * 100)
    assert q1.loc["T2", "loss_pct"] == pytest.approx(4.0) and q1.loc["T2", "class"] == "normal"


def test_month_without_readings_is_out_of_service(tiny) -> None:
    may = line_loss(tiny, "2026-05", rules=Rules())
    assert set(may["class"]) == {"out_of_service"}
    assert may["streak_months"].tolist() == [0, 0]


def test_zero_supply_with_sales_is_not_computable(tiny) -> None:
    r = tiny.energy_readings.copy()
    r.loc[(r["device_id"] == "T2") & (r["period"] == "2026-03"), "kwh"] = 0.0
    loss = line_loss(tiny.replace(energy_readings=r), "2026-03", rules=Rules())
    assert loss.loc["T2", "class"] == "not_computable"
    assert loss.loc["T2", "likely_cause"] == "no usable supply reading for the transformer"


def test_trend_counts_classes_per_month(tiny) -> None:
    trend = loss_trend(tiny, until="2026-03", months=4, rules=Rules())
    assert trend.index.tolist() == ["2025-12", "2026-01", "2026-02", "2026-03"]
    assert trend.loc["2025-12", ["not_computable", "out_of_service"]].tolist() == [1, 1]
    assert trend.loc["2026-03", ["high", "negative", "normal"]].tolist() == [1, 1, 0]


def _random_area(seed: int) -> ServiceArea:
    rng = np.random.default_rng(seed)
    n_tx, n_m = 60, 900
    tx = gpd.GeoDataFrame({
        "transformer_id": [f"T{i:03d}" for i in range(n_tx)], "name": "t", "feeder_id": "F1",
        "rated_kva": 200.0, "kind": "public"},
        geometry=[Point(116 + i * 0.001, 27) for i in range(n_tx)], crs="EPSG:4326")
    meter_tx = rng.integers(0, n_tx, n_m)
    meters = pd.DataFrame({"meter_id": [f"M{i:04d}" for i in range(n_m)],
                           "transformer_id": [f"T{i:03d}" for i in meter_tx]})
    months = ["2025-10", "2025-11", "2025-12"]
    rows = []
    for m in months:
        read = rng.random(n_m) > 0.02  # a few meters unread
        rows.append(pd.DataFrame({"device_id": meters["meter_id"][read], "period": m,
                                  "kwh": rng.gamma(2.0, 80.0, int(read.sum()))}))
        has_supply = rng.random(n_tx) > 0.05
        rows.append(pd.DataFrame({"device_id": tx["transformer_id"][has_supply], "period": m,
                                  "kwh": rng.gamma(2.0, 1400.0, int(has_supply.sum()))}))
    energy = pd.concat(rows, ignore_index=True)
    energy.insert(0, "reading_id", [f"R{i}" for i in range(len(energy))])
    grids = gpd.GeoDataFrame({"grid_id": ["G1"], "code": ["G1"], "name": ["g"], "station_id": ["S1"],
                              "area_class": ["urban"], "plan_version": [1]},
                             geometry=[box(115.9, 26.9, 116.2, 27.1)], crs="EPSG:4326")
    return ServiceArea({"grids": grids, "transformers": tx, "meters": meters, "energy_readings": energy})


def test_sums_and_classes_match_an_independent_pandas_computation() -> None:
    area = _random_area(7)
    got = line_loss(area, "2025-12", rules=Rules())
    r = area.energy_readings
    r = r[r["period"] == "2025-12"]
    supply = r.set_index("device_id")["kwh"].reindex(area.transformers.index)
    sales_rows = r.merge(area.meters, left_on="device_id", right_index=True)
    sales = sales_rows.groupby("transformer_id")["kwh"].sum().reindex(area.transformers.index, fill_value=0.0)
    n_meters = area.meters.groupby("transformer_id").size().reindex(area.transformers.index, fill_value=0)
    n_read = sales_rows.groupby("transformer_id").size().reindex(area.transformers.index, fill_value=0)
    np.testing.assert_allclose(got["supply_kwh"].to_numpy(), supply.to_numpy())
    np.testing.assert_allclose(got["sales_kwh"].to_numpy(), sales.to_numpy())
    pct = (supply - sales) / supply * 100
    computable = supply.notna() & (n_read == n_meters)
    expected = np.where(~computable, "not_computable",
                        np.where(pct > 10, "high", np.where(pct < 0, "negative", "normal")))
    assert got["class"].tolist() == expected.tolist()
    np.testing.assert_allclose(got["loss_pct"][computable].to_numpy(), pct[computable].to_numpy())
