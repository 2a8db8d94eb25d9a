"""The 6+1 roster on the tiny area (tests/tiny_area.py), worked out by hand.

Station S1, grids G1 (no. 0) and G2 (no. 1). Roster roles, in duty order: grid_member (0), grid_manager (1),
area_manager (2), repair (3). Links (grid, staff, role rank)::

    G1: ST1 (1), ST2 (0), ST3 (2), ST6 (0)        G2: ST4 (0), ST5 (2), ST6 (0)

Home grid = best link (rank, then grid id): ST1, ST2, ST3, ST6 → G1 (group 0); ST4, ST5 → G2 (group 1).
Rest weekday = (group + position in group by staff id) mod 7, Monday = 0::

    ST1 Mon   ST2 Tue   ST3 Wed   ST6 Thu   |   ST4 Tue   ST5 Wed

Week of Monday 2026-03-02 (day 0) .. Sunday 03-08 (day 6). Duty per grid-day: the working staff of the best
role present (grid members here) take turns, index (day + grid no.) mod n in staff-id order::

    day        0 Mon  1 Tue  2 Wed  3 Thu  4 Fri  5 Sat  6 Sun
    G1 members ST2,ST6 ST6   ST2,ST6 ST2   ST2,ST6 ST2,ST6 ST2,ST6     n=2 → idx day%2; n=1 → the one
    G1 duty    ST2    ST6    ST2    ST2    ST2    ST6    ST2
    G2 members ST4,ST6 ST6   ST4,ST6 ST4   ST4,ST6 ST4,ST6 ST4,ST6     idx (day+1)%2
    G2 duty    ST6    ST6    ST6    ST4    ST6    ST4    ST6

So by person (D duty, S standby, R rest)::

    ST1 R S S S S S S    ST2 D R D D D S D    ST3 S S R S S S S
    ST4 S R S D S D S    ST5 S S R S S S S    ST6 D D D R D D D
"""

from __future__ import annotations

import pandas as pd
import pytest

from gridservice.errors import DataError, NotFoundError
from gridservice.events.roster import (
    duty_of_grids,
    make_roster,
    on_duty,
    overworked,
    roster_findings,
    roster_gaps,
)
from gridservice.events.work_orders import create_work_order
from gridservice.io.tables import conform
from tiny_area import build_tiny_area

DAYS = [f"2026-03-0{d}" for d in range(2, 9)]
EXPECTED = {
    "ST1": "RSSSSSS", "ST2": "DRDDDSD", "ST3": "SSRSSSS",
    "ST4": "SRSDSDS", "ST5": "SSRSSSS", "ST6": "DDDRDDD",
}
CODE = {"D": "duty", "S": "standby", "R": "rest"}


@pytest.fixture(scope="module")
def rostered():
    area = build_tiny_area()
    head = area.staff.iloc[:1].copy()  # the station's head (站长) for the fallback
    head.index = pd.Index(["ST7"], name="staff_id")
    head["name"], head["role"], head["phone"] = "周站长", "supervisor", "07943220000"
    area = area.replace(staff=pd.concat([area.staff, head]))
    return area.replace(shifts=make_roster(area, "S1", start="2026-03-02", weeks=1))


def test_the_week_worked_out_by_hand(rostered) -> None:
    sh = rostered.shifts
    assert len(sh) == 42  # six rostered staff (not the head) x seven days
    table = sh.pivot(index="staff_id", columns="date", values="kind")
    assert list(table.columns) == DAYS
    for sid, row in EXPECTED.items():
        assert table.loc[sid].tolist() == [CODE[c] for c in row], sid
    assert sh.loc["SH-ST2-20260303", "kind"] == "rest"  # ids name the staff and the day
    # 6+1: every member works six days and rests one
    assert (sh[sh["kind"] != "rest"].groupby("staff_id").size() == 6).all()


def test_the_roster_is_deterministic_and_two_weeks_repeat_the_rest_days(rostered) -> None:
    two = make_roster(rostered, "S1", start="2026-03-02", weeks=2)
    assert len(two) == 84
    first = two[two["date"] <= "2026-03-08"]
    pd.testing.assert_frame_equal(first.sort_index(), rostered.shifts.sort_index())
    rest = two[two["kind"] == "rest"]
    assert rest.groupby("staff_id")["date"].apply(list).to_dict()["ST6"] == ["2026-03-05", "2026-03-12"]


def test_a_full_roster_has_no_gaps_and_nobody_over_six(rostered) -> None:
    assert roster_gaps(rostered).empty and overworked(rostered).empty and roster_findings(rostered).empty


def test_gaps_and_a_seven_day_week_are_found(rostered) -> None:
    sh = rostered.shifts.copy()
    sh.loc["SH-ST2-20260305", "kind"] = "leave"  # Thursday: ST6 rests, ST2 on leave → G1 has no duty
    sh.loc["SH-ST4-20260303", "kind"] = "duty"  # ST4 works his rest day: seven days
    area = rostered.replace(shifts=sh)
    gaps = roster_gaps(area)
    assert gaps.to_dict("records") == [{"grid_id": "G1", "station_id": "S1", "date": "2026-03-05", "standby": 2}]
    assert overworked(area).to_dict("records") == [{"staff_id": "ST4", "week": "2026-03-02", "working_days": 7}]
    found = roster_findings(area)
    assert list(zip(found["check"], found["feature_id"], strict=True)) == [("ROSTER_NO_COVER", "G1"),
                                                                         ("ROSTER_OVER_SIX", "ST4")]
    # who to call in G1 that Thursday: the standbys by role order (manager ST1, area manager ST3), the station
    calls = on_duty(area, "G1", "2026-03-05 21:30")
    assert calls["kind"].tolist() == ["standby", "standby", "station"]
    assert calls["staff_id"].tolist() == ["ST1", "ST3", "ST7"]
    assert calls.iloc[-1]["name"] == "琴城供电所" and calls.iloc[-1]["phone"] == "07943220000"
    # a window that leaves Thursday out has no gap
    assert roster_gaps(area, start="2026-03-06").empty


def test_who_to_call_now(rostered) -> None:
    # Sunday 03-08: ST2 on duty in G1, ST6 on duty (from G2) and linked to G1; then the standbys, the station
    calls = on_duty(rostered, "G1", "2026-03-08 23:59")
    assert calls["staff_id"].tolist() == ["ST2", "ST6", "ST1", "ST3", "ST7"]
    assert calls["kind"].tolist() == ["duty", "duty", "standby", "standby", "station"]
    assert (calls["date"] == "2026-03-08").all()
    # the local day decides: 2026-03-05 23:30 in Shanghai is 15:30 UTC, still Thursday (G2: ST4)
    first = duty_of_grids(rostered, ["G1", "G2"], pd.Timestamp("2026-03-05 15:30", tz="UTC"))
    assert first["staff_id"].to_dict() == {"G1": "ST2", "G2": "ST4"}
    # outside the roster only the station is left
    assert on_duty(rostered, "G2", "2026-04-01 10:00")["kind"].tolist() == ["station"]
    with pytest.raises(NotFoundError, match="G9"):
        on_duty(rostered, "G9")


def test_repair_orders_go_to_the_person_on_duty(rostered) -> None:
    # Wednesday 03-04 in G1: ST2 on duty; without a roster the grid's area manager ST3 would get it
    order = create_work_order(rostered, kind="repair", customer_id="C1", received_at="2026-03-04 20:00")
    assert order["assignee_id"].iloc[0] == "ST2"
    plain = rostered.replace(shifts=rostered.shifts.iloc[:0])
    assert create_work_order(plain, kind="repair", customer_id="C1",
                             received_at="2026-03-04 20:00")["assignee_id"].iloc[0] == "ST3"
    # a complaint still goes to the grid manager
    assert create_work_order(rostered, kind="complaint", customer_id="C1",
                             received_at="2026-03-04 20:00")["assignee_id"].iloc[0] == "ST1"


def test_bad_input_is_refused_clearly(rostered) -> None:
    with pytest.raises(NotFoundError, match="no station 'S9'"):
        make_roster(rostered, "S9", start="2026-03-02")
    with pytest.raises(DataError, match="not a date"):
        make_roster(rostered, "S1", start="2026-02-30")
    with pytest.raises(DataError, match="weeks"):
        make_roster(rostered, "S1", start="2026-03-02", weeks=0)
    rows = pd.DataFrame({"shift_id": ["a", "b"], "staff_id": ["ST1", "ST1"], "date": ["2026-03-02", "2026-03-02"],
                         "kind": ["duty", "rest"]})
    with pytest.raises(DataError, match=r"repeats \(staff_id, date\)"):
        conform("shifts", rows, source="shifts.csv")
    with pytest.raises(DataError, match=r"kind.*must be one of duty/standby/rest/leave"):
        conform("shifts", rows.assign(kind="nap", date=["2026-03-02", "2026-03-03"]), source="shifts.csv")
    with pytest.raises(DataError, match="must be a date"):
        conform("shifts", rows.assign(date=["2026-03-02", "03/03/2026"]), source="shifts.csv")


def test_the_card_and_the_outage_impact_say_who_to_call_now(rostered) -> None:
    """The tiny area has no as_of: it is judged at the pinned clock, Monday 2026-12-07 10:00. A roster from that
    Monday repeats the hand-worked week: G1 has ST2 and ST6 on duty (ST1 rests), G2 has ST6."""
    from gridservice.auth import User
    from gridservice.events.card import customer_card
    from gridservice.events.roster import impact_on_duty
    from gridservice.topology.outages import outage_impact
    from gridservice.workspace import derive

    area = derive(rostered.replace(shifts=make_roster(rostered, "S1", start="2026-12-07", weeks=1)))
    card = customer_card(area, "C1", viewer=User("d", "dispatcher")).to_dict()
    assert [(c["kind"], c["staff_id"]) for c in card["on_duty"]] == [
        ("duty", "ST2"), ("duty", "ST6"), ("standby", "ST3"), ("station", "ST7")]
    impact = impact_on_duty(area, outage_impact(area, "T2")).to_dict()
    assert [(r["grid_id"], r["kind"], r["staff_id"]) for r in impact["on_duty"]] == [("G2", "duty", "ST6")]
    assert "on_duty" not in outage_impact(area, "T2").to_dict()  # the topology alone knows no roster
