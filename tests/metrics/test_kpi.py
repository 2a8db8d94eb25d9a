"""KPIs of March 2026 worked out by hand on the five-customer area (tests/tiny_area.py).

Orders received in March (W7 is February, W9 and W10 April):

====  ===============  ====  =============================================
W1    repair           G1    arrived 40 min after (limit 45): on time
W2    repair           G2    arrived 105 min after (limit 90): late
W3    complaint C2     G1    closed Thu 03-12 18:00, due end of 03-12: on time
W4    complaint C2     G1    repeat of W3 (14 days); closed 03-27, due 03-26: late
W5    consultation     G2    closed same day: on time
W6    service_request  G2    C3 lies in G2; open on 04-15, due end of 04-07: late
W8    opinion (point)  G1    closed Mon 03-16, due Fri 03-20: on time
====  ===============  ====  =============================================

First-contact resolution (closed orders; a same-kind order by the same customer
within 30 days means it was not resolved at first contact): W3 is followed by
W4, W2 by W9 (repair C4, 04-02, 28 days later). G1: W1 ✓ W3 ✗ W4 ✓ W8 ✓ = 75 %;
G2: W2 ✗ W5 ✓ = 50 % (W6 not closed); S1: 4/6.

Contact within 24 h (non-repair): W3, W4, W8, W5 contacted the same day; W6 never.

Staff: G1 members ST2, ST6; G2 members ST4, ST6 → station S1 has 3 distinct.

Visits (key customers C1 in G1, C4 in G2; window ends 2026-04-01): C1 has home
visits 2025-06-10 and 2025-12-01 and a phone call 2026-02-15 → covered; C4's
2025-03-15 home visit is outside the 12 months → not covered.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from gridservice.config import Rules
from gridservice.errors import DataError
from gridservice.metrics.kpi import kpis, station_kpis
from gridservice.metrics.period import month, parse_period, period_between


@pytest.fixture(scope="module")
def march(tiny_shared, as_of) -> pd.DataFrame:
    """Grid KPIs of March, computed once for the read-only tests of this module."""
    return kpis(tiny_shared, "2026-03", by="grid", rules=Rules(), as_of=as_of)


def test_counts_per_grid(march) -> None:
    assert march.index.name == "grid_id"
    assert march.index.tolist() == ["G1", "G2"]
    g1, g2 = march.loc["G1"], march.loc["G2"]
    assert (g1["customers"], g1["grid_members"], g1["households_per_member"]) == (2, 2, 1.0)
    assert (g2["customers"], g2["grid_members"], g2["households_per_member"]) == (3, 2, 1.5)
    assert g1["work_orders"] == 4 and g2["work_orders"] == 3
    assert (g1["work_orders_repair"], g1["work_orders_complaint"], g1["work_orders_opinion"]) == (1, 2, 1)
    assert (g2["work_orders_repair"], g2["work_orders_consultation"], g2["work_orders_service_request"]) == (1, 1, 1)
    assert g1["work_orders_report"] == 0
    assert g1["complaints_per_10k"] == pytest.approx(10_000.0) and g2["complaints_per_10k"] == 0.0
    assert (g1["repeat_complaints"], g2["repeat_complaints"]) == (1, 0)


def test_service_percentages_per_grid(march) -> None:
    g1, g2 = march.loc["G1"], march.loc["G2"]
    assert (g1["repair_on_time_pct"], g2["repair_on_time_pct"]) == (100.0, 0.0)
    assert g1["non_repair_on_time_pct"] == pytest.approx(200 / 3)
    assert g2["non_repair_on_time_pct"] == pytest.approx(50.0)
    assert (g1["contact_on_time_pct"], g2["contact_on_time_pct"]) == (100.0, 50.0)
    assert (g1["first_contact_resolution_pct"], g2["first_contact_resolution_pct"]) == (75.0, 50.0)


def test_reliability_loss_and_visits_per_grid(march) -> None:
    g1, g2 = march.loc["G1"], march.loc["G2"]
    # Reliability as in test_reliability.py.
    assert g1["saifi"] == pytest.approx(2.0) and g1["saidi_min"] == pytest.approx(330.0)
    assert g2["caidi_min"] == pytest.approx(186.0)
    assert g2["saidi_min_unplanned"] == pytest.approx(70.0)
    assert (g1["outages_planned"], g2["outages_unplanned"]) == (1, 2)
    # Line loss of March: T1 (G1) high, T2 (G2) negative.
    assert (g1["loss_high"], g1["loss_negative"], g1["loss_normal"]) == (1, 0, 0)
    assert (g2["loss_high"], g2["loss_negative"]) == (0, 1)
    assert (g1["key_customers"], g1["visit_coverage_pct"]) == (1, 100.0)
    assert (g2["key_customers"], g2["visit_coverage_pct"]) == (1, 0.0)


def test_station_row_is_built_from_counts(tiny, as_of) -> None:
    s = station_kpis(tiny, "2026-03", rules=Rules(), as_of=as_of)
    assert s.index.name == "station_id" and s.index.tolist() == ["S1"]
    s1 = s.loc["S1"]
    assert (s1["customers"], s1["grid_members"]) == (5, 3)  # ST6 counted once
    assert s1["households_per_member"] == pytest.approx(5 / 3)
    assert s1["work_orders"] == 7 and s1["complaints_per_10k"] == pytest.approx(4000.0)
    assert s1["repair_on_time_pct"] == 50.0
    assert s1["non_repair_on_time_pct"] == pytest.approx(60.0)  # 3 of 5
    assert s1["contact_on_time_pct"] == pytest.approx(80.0)  # 4 of 5
    assert s1["first_contact_resolution_pct"] == pytest.approx(400 / 6)
    assert s1["saifi"] == pytest.approx(1.8) and s1["outages"] == 3
    assert (s1["loss_high"], s1["loss_negative"]) == (1, 1)
    assert s1["visit_coverage_pct"] == pytest.approx(50.0)


def test_area_row(tiny, as_of) -> None:
    a = kpis(tiny, "2026-03", by="area", rules=Rules(), as_of=as_of)
    assert a.index.tolist() == ["all"]
    assert a.loc["all", "customers"] == 5 and a.loc["all", "saidi_min"] == pytest.approx(318.0)


def test_date_range(tiny, as_of) -> None:
    # 03-01 … 03-15: W1, W3, W8 (Sunday 03-15 10:00) in G1; W2, W5 in G2.
    k = kpis(tiny, period_between("2026-03-01", "2026-03-15"), rules=Rules(), as_of=as_of)
    assert (k.loc["G1", "work_orders"], k.loc["G2", "work_orders"]) == (3, 2)
    assert k.loc["G1", "repeat_complaints"] == 0
    # 15 days = 360 h; G1 minutes O1 180 + O2 480 = 660 → RS-1 = 1 − 11/(2·360).
    assert k.loc["G1", "rs1_pct"] == pytest.approx((1 - 11 / 720) * 100)


def test_a_grid_with_nothing_still_has_a_row(tiny, as_of) -> None:
    extra = gpd.GeoDataFrame({"grid_id": ["G3"], "code": ["NF-03"], "name": ["空网格"], "station_id": ["S1"],
                              "area_class": ["remote"], "plan_version": [1]},
                             geometry=[box(116.2, 27.0, 116.3, 27.1)], crs="EPSG:4326")
    area = tiny.replace(grids=pd.concat([tiny.grids.reset_index(), extra]))
    g3 = kpis(area, "2026-03", rules=Rules(), as_of=as_of).loc["G3"]
    assert g3["customers"] == 0 and g3["work_orders"] == 0 and g3["grid_members"] == 0
    # Percentages of nothing are missing, not 0 or 100.
    for col in ("households_per_member", "complaints_per_10k", "repair_on_time_pct", "saifi", "rs1_pct",
                "visit_coverage_pct"):
        assert pd.isna(g3[col]), col


def test_periods() -> None:
    mar = month("2026-03")
    assert mar.hours == 744 and mar.months == ["2026-03"]
    week = parse_period("2026-W10")
    assert week.start == pd.Timestamp("2026-03-02", tz="Asia/Shanghai") and week.hours == 168
    assert period_between("2026-01-01", "2026-03-31").months == ["2026-01", "2026-02", "2026-03"]
    for bad in ("2026-13", "March", "2026-W60", "9999-12", "0001-01", "9999-W52"):
        with pytest.raises(DataError, match=bad):
            parse_period(bad)
    with pytest.raises(DataError, match="before it starts"):
        period_between("2026-03-02", "2026-03-01")


def test_unknown_unit_is_refused(tiny) -> None:
    with pytest.raises(DataError, match="feeder"):
        kpis(tiny, "2026-03", by="feeder")
