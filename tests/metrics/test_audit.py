"""Audit rules on the five-customer area, judged on 2026-04-15 12:00; line loss of 2026-03.

What the area holds (tests/tiny_area.py): C3 has no phone, C4's phone
is "12345" (C5's landline 0794-3221234 is valid), C3 lies in G2 ~6 km from
its transformer T1 of G1 (so T1's customers fall in two grids), G2 has no
grid manager, staff ST4's phone has 10 digits, W2 arrived late, W6 is open
past both clocks, W4 closed late and repeats W3, W9 was dispatched before it
was received, W10 was closed without a reply, W2 and W3 were followed by a
same-kind order within 30 days, T1 is high for the third month, T2 negative,
key customer C4 lacks a home visit.
"""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from gridservice.config import Rules
from gridservice.errors import DataError, NotFoundError
from gridservice.metrics.audit import RULES, audit, findings_by_grid, population, rules_table, sample
from gridservice.workspace import derive

EXPECTED = {
    "CUST_PHONE_MISSING": {"C3"},
    "CUST_PHONE_INVALID": {"C4"},
    "CUST_GRID_MISMATCH": {"C3"},
    "CUST_FAR_FROM_TRANSFORMER": {"C3"},
    "TX_SPLIT_GRIDS": {"T1"},
    "GRID_NO_MANAGER": {"G2"},
    "STAFF_PHONE_INVALID": {"ST4"},
    "WO_ARRIVAL_LATE": {"W2"},
    "WO_CONTACT_LATE": {"W6"},
    "WO_CLOSE_OVERDUE": {"W4", "W6"},
    "WO_TIME_ORDER": {"W9"},
    "WO_CLOSED_NO_REPLY": {"W10"},
    "WO_REPEAT_COMPLAINT": {"W4"},
    "WO_NOT_FIRST_CONTACT": {"W2", "W3"},
    "LOSS_HIGH": {"T1"},
    "LOSS_NEGATIVE": {"T2"},
    "LOSS_STREAK": {"T1"},
    "KEY_CUSTOMER_NOT_VISITED": {"C4"},
}


def _fired(found: pd.DataFrame) -> dict[str, set[str]]:
    return {k: set(v) for k, v in found.groupby("check")["feature_id"]}


def test_catalogue_has_at_least_twenty_described_rules() -> None:
    table = rules_table()
    assert len(RULES) >= 20 and table.index.is_unique
    assert set(table["severity"]) <= {"error", "warning"}
    assert table["zh"].str.len().min() > 0 and table["en"].str.len().min() > 0


def test_every_expected_finding_and_nothing_else(tiny, as_of) -> None:
    found = audit(tiny, rules=Rules(), as_of=as_of)
    assert _fired(found) == EXPECTED
    by_id = found.set_index(["check", "feature_id"])
    assert by_id.loc[("WO_ARRIVAL_LATE", "W2"), "grid_id"] == "G2"
    assert by_id.loc[("LOSS_HIGH", "T1"), "grid_id"] == "G1"
    assert by_id.loc[("GRID_NO_MANAGER", "G2"), "severity"] == "error"
    assert "dispatched_at 2026-04-02 09:00 is earlier than received_at 2026-04-02 10:00" in by_id.loc[
        ("WO_TIME_ORDER", "W9"), "message"]
    assert "3 consecutive months" in by_id.loc[("LOSS_STREAK", "T1"), "message"]
    assert found.crs == "EPSG:4326"
    assert by_id.loc[("CUST_PHONE_MISSING", "C3"), "geometry"].equals(tiny.customers.geometry["C3"])


def _move(df: gpd.GeoDataFrame, fid: str, point: Point) -> gpd.GeoDataFrame:
    df = df.copy()
    df.loc[fid, "geometry"] = point
    return df


OUTSIDE = Point(117.5, 28.5)


def _case(tiny, name):
    c, wo, o = tiny.customers.copy(), tiny.work_orders.copy(), tiny.outages.copy()
    if name == "CUST_OUTSIDE_GRID":
        return tiny.replace(customers=_move(c, "C5", OUTSIDE)), Rules(), "C5"
    if name == "CUST_NO_TRANSFORMER":
        c.loc["C1", "meter_id"] = None
        return tiny.replace(customers=c), Rules(), "C1"
    if name == "CUST_PHONE_SHARED":
        c.loc["C2", "phone"] = c.loc["C1", "phone"]
        return tiny.replace(customers=c), Rules(phone_shared_max=1), "C1"
    if name == "TX_OUTSIDE_GRID":
        return tiny.replace(transformers=_move(tiny.transformers, "T2", OUTSIDE)), Rules(), "T2"
    if name == "TX_NO_CUSTOMERS":
        t3 = gpd.GeoDataFrame({"transformer_id": ["T3"], "name": ["t3"], "feeder_id": ["F1"], "rated_kva": [100.0],
                               "kind": ["public"]}, geometry=[Point(116.17, 27.08)], crs="EPSG:4326")
        return tiny.replace(transformers=pd.concat([tiny.transformers.reset_index(), t3])), Rules(), "T3"
    if name == "METER_NO_CUSTOMER":
        m = pd.concat([tiny.meters.reset_index(), pd.DataFrame({"meter_id": ["M6"], "transformer_id": ["T2"]})])
        return tiny.replace(meters=m), Rules(), "M6"
    if name == "GRID_NO_MEMBER":
        gs = tiny.grid_staff
        return tiny.replace(grid_staff=gs[~((gs["grid_id"] == "G2") & (gs["role"] == "grid_member"))]), Rules(), "G2"
    if name == "GRID_UNDERSTAFFED":
        # G2: 3 households for 2 members = 1.5 per member > 1 × 1.2; G1 has 1.0.
        return tiny, Rules(households_per_member=1, households_per_member_overload=1.2), "G2"
    if name == "STAFF_OVERLOADED":
        return tiny, Rules(staff_open_orders_max=0), "ST4"
    if name == "WO_STATUS_MISMATCH":
        wo.loc["W6", "status"] = "received"  # but it has a dispatched_at
        return tiny.replace(work_orders=wo), Rules(), "W6"
    if name == "WO_UNASSIGNED":
        wo.loc["W6", "assignee_id"] = None
        return tiny.replace(work_orders=wo), Rules(), "W6"
    if name == "WO_ASSIGNEE_OUTSIDE_GRID":
        wo.loc["W6", "assignee_id"] = "ST1"  # G1's manager on a G2 order
        return tiny.replace(work_orders=wo), Rules(), "W6"
    if name == "WO_OUTSIDE_GRID":
        return tiny.replace(work_orders=_move(wo, "W8", OUTSIDE)), Rules(), "W8"
    if name == "OUTAGE_BAD_TIMES":
        o.loc["O1", "end_at"] = o.loc["O1", "start_at"] - pd.Timedelta(hours=1)
        return tiny.replace(outages=o), Rules(), "O1"
    if name == "OUTAGE_OPEN_LONG":
        o.loc["O2", "end_at"] = pd.NaT
        return tiny.replace(outages=o), Rules(), "O2"
    raise AssertionError(name)


@pytest.mark.parametrize("rule", [
    "CUST_OUTSIDE_GRID", "CUST_NO_TRANSFORMER", "CUST_PHONE_SHARED", "TX_OUTSIDE_GRID", "TX_NO_CUSTOMERS",
    "METER_NO_CUSTOMER", "GRID_NO_MEMBER", "GRID_UNDERSTAFFED", "STAFF_OVERLOADED", "WO_STATUS_MISMATCH",
    "WO_UNASSIGNED", "WO_ASSIGNEE_OUTSIDE_GRID", "WO_OUTSIDE_GRID", "OUTAGE_BAD_TIMES", "OUTAGE_OPEN_LONG",
])
def test_each_other_rule_fires_on_its_problem(tiny, as_of, rule) -> None:
    assert rule not in EXPECTED
    area, rules, feature = _case(tiny, rule)
    found = audit(derive(area), rule_ids=[rule], rules=rules, as_of=as_of)
    assert feature in set(found["feature_id"]), found["message"].tolist()
    assert set(found["check"]) == {rule}
    if rule == "METER_NO_CUSTOMER":  # placed in the grid of its transformer T2
        assert found.set_index("feature_id").loc["M6", "grid_id"] == "G2"


def test_blank_phones_are_missing_not_shared(tiny) -> None:
    c = tiny.customers.copy()
    c.loc[["C1", "C2", "C3"], "phone"] = ["", " ", "138-0013-8000"]
    c.loc["C4", "phone"] = "13800138000"
    area = tiny.replace(customers=c)
    shared = audit(area, rule_ids=["CUST_PHONE_SHARED"], rules=Rules(phone_shared_max=1))
    assert set(shared["feature_id"]) == {"C3", "C4"}  # the same number once dashes are dropped
    missing = audit(area, rule_ids=["CUST_PHONE_MISSING"])
    assert {"C1", "C2"} <= set(missing["feature_id"])


def test_future_timestamps_and_not_computable_loss(tiny) -> None:
    # On 2026-04-02 10:30, W9's later steps (11:00 …) and W10 (04-03) lie in the future.
    found = audit(tiny, rule_ids=["WO_FUTURE_TIME"], as_of="2026-04-02 10:30")
    assert set(found["feature_id"]) == {"W9", "W10"}
    assert "resolved_at 2026-04-02 11:00 is after now" in found.set_index("feature_id").loc["W9", "message"]
    dec = audit(tiny, rule_ids=["LOSS_NOT_COMPUTABLE"], period="2025-12", as_of="2026-04-15")
    assert set(dec["feature_id"]) == {"T1"} and "1 of 3 meters" in dec["message"].iloc[0]


def test_findings_per_grid(tiny, as_of) -> None:
    found = audit(tiny, rules=Rules(), as_of=as_of)
    table = findings_by_grid(found)
    # From EXPECTED: G1 holds T1 (split), W4 ×2 (overdue, repeat), W3, W10, T1 ×2 (high, streak) = 7;
    # G2 holds C3 ×3 (no phone, mismatch, far), C4 ×2 (phone, visits), G2, ST4, W2 ×2 (late, follow-up),
    # W6 ×2 (contact, overdue), W9, T2 = 13.
    assert table.loc["G1", "total"] == 7 and table.loc["G2", "total"] == 13
    assert table.loc["G2", "WO_CLOSE_OVERDUE"] == 1 and table.loc["G1", "WO_CLOSE_OVERDUE"] == 1


def test_unknown_rule_is_a_clear_error(tiny) -> None:
    with pytest.raises(NotFoundError, match="NO_SUCH_RULE"):
        audit(tiny, rule_ids=["NO_SUCH_RULE"])


# -- samples ---------------------------------------------------------------------


def test_sample_is_reproducible_and_order_independent() -> None:
    frame = pd.DataFrame({"v": range(200)}, index=[f"X{i:03d}" for i in range(200)])
    a = sample(frame, pct=10, seed=42)
    b = sample(frame.sample(frac=1, random_state=3), pct=10, seed=42)
    assert len(a) == 20 and a.index.tolist() == b.index.tolist()
    assert a.index.is_unique and set(a.index) <= set(frame.index)
    assert sample(frame, pct=10, seed=43).index.tolist() != a.index.tolist()
    assert len(sample(frame, pct=2.5, seed=1)) == math.ceil(200 * 0.025)
    assert len(sample(frame.head(3), pct=1, seed=1)) == 1  # at least one
    with pytest.raises(DataError, match="percentage"):
        sample(frame, pct=0, seed=1)


def test_high_voltage_new_connections_population(tiny, as_of) -> None:
    hv = population(tiny, "hv_new_connections", as_of=as_of)
    assert hv.index.tolist() == ["C5"] and hv.loc["C5", "grid_id"] == "G2"
    assert population(tiny, "hv_new_connections", as_of="2027-06-01").empty  # more than 12 months on
    with pytest.raises(NotFoundError, match="nobody"):
        population(tiny, "nobody")


def test_validate_reports_impossible_event_times(tiny, as_of) -> None:
    from gridservice.checks import validate

    found = validate(tiny)
    timing = found[found["check"].isin(["WO_TIME_ORDER", "WO_FUTURE_TIME", "OUTAGE_BAD_TIMES"])]
    assert set(zip(timing["check"], timing["feature_id"], strict=True)) == {("WO_TIME_ORDER", "W9")}
    assert (timing["severity"] == "error").all()
