"""SAIFI, SAIDI, CAIDI and RS-1 worked out by hand on the five-customer area.

March 2026 has 31 × 24 = 744 hours. Customers served: G1 = {C1, C2} (2),
G2 = {C3, C4, C5} (3), station S1 = 5. Outages:

* O1 unplanned on T1, 03-03 10:00–11:30, 90 min: C1, C2 (G1) and C3 (G2).
* O2 planned on F1, 03-10 08:00–12:00, 240 min: all five.
* O3 unplanned on T2, 4 min: momentary (≤ 5 min), excluded.
* O4 unplanned on meter M5, 03-31 23:00 – 04-01 01:00: C5 (G2); starts in
  March, so counted in March, with 60 of its 120 minutes.
* O5 unplanned on T2, 02-28 23:30 – 03-01 00:30: C4, C5 (G2); started in
  February, so not counted in March's SAIFI, but its 30 March minutes count.

G1: CI = 2 (O1) + 2 (O2) = 4 → SAIFI 2; CMI = 2·90 + 2·240 = 660 → SAIDI 330;
    CAIDI 165; RS-1 = 1 − (660/60)/(2·744) = 1 − 11/1488.
    planned: SAIFI 1, SAIDI 240, CAIDI 240; unplanned: SAIFI 1, SAIDI 90, CAIDI 90.
G2: CI = 1 (O1) + 3 (O2) + 1 (O4) = 5 → SAIFI 5/3;
    CMI = 90 + 720 + 60 + 2·30 = 930 → SAIDI 310; CAIDI 310/(5/3) = 186;
    RS-1 = 1 − (930/60)/(3·744) = 1 − 15.5/2232.
    unplanned: SAIFI 2/3, SAIDI (90 + 60 + 60)/3 = 70, CAIDI 105.
S1: CI 9 → SAIFI 1.8; CMI 1590 → SAIDI 318; CAIDI 318/1.8; RS-1 = 1 − 26.5/3720.
    Outages starting in March that cut someone off: O1, O2, O4 = 3 (not 2 + 3).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from gridservice.config import Rules
from gridservice.metrics.period import period_between
from gridservice.metrics.reliability import outage_impacts, reliability
from gridservice.workspace import derive


def test_grid_indices_by_hand(tiny, as_of) -> None:
    r = reliability(tiny, "2026-03", by="grid", rules=Rules(), as_of=as_of)
    assert r.index.name == "grid_id"
    g1, g2 = r.loc["G1"], r.loc["G2"]
    assert g1["customers_served"] == 2 and g2["customers_served"] == 3
    assert g1["saifi"] == pytest.approx(2.0)
    assert g1["saidi_min"] == pytest.approx(330.0)
    assert g1["caidi_min"] == pytest.approx(165.0)
    assert g1["rs1_pct"] == pytest.approx((1 - 11 / 1488) * 100)
    assert g2["saifi"] == pytest.approx(5 / 3)
    assert g2["saidi_min"] == pytest.approx(310.0)
    assert g2["caidi_min"] == pytest.approx(186.0)
    assert g2["rs1_pct"] == pytest.approx((1 - 15.5 / 2232) * 100)


def test_planned_and_unplanned_splits(tiny, as_of) -> None:
    r = reliability(tiny, "2026-03", rules=Rules(), as_of=as_of)
    assert r.loc["G1", ["saifi_planned", "saidi_min_planned", "caidi_min_planned"]].tolist() == pytest.approx(
        [1.0, 240.0, 240.0])
    assert r.loc["G1", ["saifi_unplanned", "saidi_min_unplanned", "caidi_min_unplanned"]].tolist() == pytest.approx(
        [1.0, 90.0, 90.0])
    assert r.loc["G2", ["saifi_unplanned", "saidi_min_unplanned", "caidi_min_unplanned"]].tolist() == pytest.approx(
        [2 / 3, 70.0, 105.0])
    assert r.loc["G2", "rs1_pct_planned"] == pytest.approx((1 - (720 / 60) / (3 * 744)) * 100)
    assert r.loc["G1", ["outages", "outages_planned", "outages_unplanned"]].tolist() == [2, 1, 1]
    assert r.loc["G2", ["outages", "outages_planned", "outages_unplanned"]].tolist() == [3, 1, 2]


def test_station_is_computed_from_sums_not_averages(tiny, as_of) -> None:
    s = reliability(tiny, "2026-03", by="station", rules=Rules(), as_of=as_of).loc["S1"]
    assert s["customers_served"] == 5
    assert s["saifi"] == pytest.approx(1.8)
    assert s["saidi_min"] == pytest.approx(318.0)
    assert s["caidi_min"] == pytest.approx(318 / 1.8)
    assert s["rs1_pct"] == pytest.approx((1 - 26.5 / 3720) * 100)
    assert s["outages"] == 3


def test_momentary_threshold_is_a_setting(tiny, as_of) -> None:
    # With a 3-minute threshold O3 (4 min on T2: C4, C5) becomes sustained.
    r = reliability(tiny, "2026-03", rules=Rules(sustained_outage_min=3), as_of=as_of)
    assert r.loc["G2", "saifi"] == pytest.approx(7 / 3)
    assert r.loc["G2", "saidi_min"] == pytest.approx((930 + 2 * 4) / 3)


def test_february_counts_the_outage_that_started_there(tiny, as_of) -> None:
    # Feb 2026: 28 days = 672 h. Served customers include C5 (connected 02-10). O5: C4, C5, 30 min in February.
    r = reliability(tiny, "2026-02", rules=Rules(), as_of=as_of).loc["G2"]
    assert r["saifi"] == pytest.approx(2 / 3)
    assert r["saidi_min"] == pytest.approx(60 / 3)
    assert r["rs1_pct"] == pytest.approx((1 - 1 / (3 * 672)) * 100)


def test_customers_connected_later_are_not_served(tiny, as_of) -> None:
    # January: C5 (connected 2026-02-10) is not yet a customer; G2 serves C3, C4.
    r = reliability(tiny, "2026-01", rules=Rules(), as_of=as_of)
    assert r.loc["G2", "customers_served"] == 2
    assert r.loc["G2", "saifi"] == 0 and pd.isna(r.loc["G2", "caidi_min"])
    assert r.loc["G2", "rs1_pct"] == pytest.approx(100.0)


def test_date_range_and_open_outage(tiny) -> None:
    # 03-10 … 03-10 (24 h). O2 (planned, F1, 240 min) only. Then leave O2 open: it runs until as_of.
    day = period_between("2026-03-10", "2026-03-10")
    r = reliability(tiny, day, rules=Rules(), as_of="2026-03-10 18:00")
    assert r.loc["G1", "saidi_min"] == pytest.approx(240.0)
    assert r.loc["G1", "rs1_pct"] == pytest.approx((1 - 4 / 24) * 100)
    outages = tiny.outages.copy()
    outages.loc["O2", "end_at"] = pd.NaT
    area = tiny.replace(outages=outages)
    r = reliability(area, day, rules=Rules(), as_of="2026-03-10 18:00")
    assert r.loc["G1", "saidi_min"] == pytest.approx(600.0)  # 08:00–18:00


def test_impacts_are_per_outage_and_grid(tiny, as_of) -> None:
    imp = outage_impacts(tiny, "2026-03", rules=Rules(), as_of=as_of)
    o1 = imp[imp["outage_id"] == "O1"].set_index("grid_id")["customers"].to_dict()
    assert o1 == {"G1": 2, "G2": 1}
    assert "O3" not in set(imp["outage_id"])
    o5 = imp[imp["outage_id"] == "O5"].iloc[0]
    assert not o5["counted"] and o5["minutes"] == pytest.approx(30.0)


def test_outage_customers_follow_the_trace_with_open_switches(tiny, as_of) -> None:
    # An open switch between F1 and T2 cuts T2 off the feeder: the planned outage on F1 (O2)
    # then interrupts only T1's customers C1, C2 (G1) and C3 (G2), not C4, C5.
    switches = gpd.GeoDataFrame({"switch_id": ["SW1"], "from_device_id": ["F1"], "to_device_id": ["T2"],
                                 "normally_open": [False], "is_open": [True]},
                                geometry=[Point(116.12, 27.05)], crs="EPSG:4326")
    area = tiny.replace(switches=switches)
    imp = outage_impacts(area, "2026-03", rules=Rules(), as_of=as_of)
    o2 = imp[imp["outage_id"] == "O2"].set_index("grid_id")["customers"].to_dict()
    assert o2 == {"G1": 2, "G2": 1}
    r = reliability(area, "2026-03", rules=Rules(), as_of=as_of)
    assert r.loc["G2", "saifi_planned"] == pytest.approx(1 / 3)


def test_customers_outside_every_grid_count_for_the_area_only(tiny, as_of) -> None:
    # Move C5 out of every grid: G2 loses it, the area keeps it (O2 and O4 still cut it off).
    c = tiny.customers.copy()
    c.loc["C5", "geometry"] = Point(117.5, 28.5)
    area = derive(tiny.replace(customers=c))
    g2 = reliability(area, "2026-03", rules=Rules(), as_of=as_of).loc["G2"]
    assert g2["customers_served"] == 2
    assert g2["saifi"] == pytest.approx(3 / 2)  # O1 (C3) + O2 (C3, C4) = 3 over 2 customers; O4 hit only C5
    whole = reliability(area, "2026-03", by="area", rules=Rules(), as_of=as_of).loc["all"]
    assert whole["customers_served"] == 5 and whole["saifi"] == pytest.approx(1.8)
