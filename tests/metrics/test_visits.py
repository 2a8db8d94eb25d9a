"""Due visits and members' day routes worked out by hand (tests/tiny_area.py ``visit_layers``).

Judged at AS_OF = Wed 2026-04-15 12:00; norms 2 home visits in any 12 months, 1 phone call in any 3 months;
complaint callbacks within 3 days of closing, looked for over 365 days. Five key customers of G1 on the
street lat 27.05, all last visited by ST2 (a member of G1), whose base is at lon 116.050:

===  =======  ==================================  ===========================  ==============================
cust lon      home visits → home due              phone → phone due            complaints
===  =======  ==================================  ===========================  ==============================
K1   116.060  2025-04-01, 10-01 → 2026-04-01 10:00  03-01, 04-09 → 07-09        W2 closed 04-08, called 04-09
                (14 days overdue)
K2   116.044  only 2025-12-01 → never met (NaT)   04-10 → 07-10
K3   116.030  2025-04-20, 2026-01-10 → 04-20 09:00  01-18 → 04-18 10:00 (Sat)  W3 closed 2025-12-01, called 01-18
K4   116.090  2025-04-17, 11-01 → 04-17 08:00     02-01 → 05-01
K5   116.070  2025-05-30, 12-30 → 05-30           01-10 09:00 → 04-10 (5 days  W1 closed 04-13 10:00, no call
                                                  overdue)                     → callback due 04-16 10:00
===  =======  ==================================  ===========================  ==============================

The coming week's working days: Thu 04-16, Fri 04-17, Mon 04-20, Tue 04-21, Wed 04-22. Home visits due by
then, most urgent first: K2 (never), K1 (04-01), K4 (04-17), K3 (04-20); K5's (05-30) is a month away.

With 3 stops a day, 04-16 takes K2, K1, K4 and 04-17 K3. Nearest neighbour from the base 116.050:
K2 (0.006° away) before K1 (0.010°); from K2 K1 (0.016°) before K4 (0.046°); then K4 (0.030°).
With 4 stops a day all four go on 04-16: K2, then from 116.044 K3 (0.014°) before K1 (0.016°), then
K1 (0.030°) before K4 (0.060°), then K4 (0.030°).

Calls: K5's overdue quarter call and its complaint callback (due 04-16) on 04-16; K3's call due Saturday
04-18 on Monday 04-20.
"""

from __future__ import annotations

import pandas as pd
import pytest
from pyproj import Geod

from gridservice.config import Rules
from gridservice.errors import DataError, NotFoundError
from gridservice.metrics.kpi import kpis, visit_covered
from gridservice.metrics.period import Period
from gridservice.metrics.visits import due_visits, next_due, route_lines, visit_list
from gridservice.workspace import derive
from tiny_area import AS_OF, TZ, VISIT_BASE, VISIT_CUSTOMERS, visit_layers

THREE = Rules(visit_max_stops_per_day=3)
GEOD = Geod(ellps="WGS84")


def _t(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ)


def _metres(lon_a: float, lon_b: float) -> float:
    return GEOD.inv(lon_a, 27.05, lon_b, 27.05)[2]


@pytest.fixture(scope="module")
def street(tiny_shared):
    return derive(tiny_shared.replace(**visit_layers(tiny_shared)))


def test_due_dates_per_customer_and_reason(street) -> None:
    due = due_visits(street, as_of=AS_OF)
    got = {(r.customer_id, r.reason): r.due_at for r in due.itertuples()}
    assert got == {
        ("K1", "home_norm"): _t("2026-04-01 10:00"), ("K1", "phone_norm"): _t("2026-07-09 10:00"),
        ("K2", "home_norm"): pd.NaT, ("K2", "phone_norm"): _t("2026-07-10 10:00"),
        ("K3", "home_norm"): _t("2026-04-20 09:00"), ("K3", "phone_norm"): _t("2026-04-18 10:00"),
        ("K4", "home_norm"): _t("2026-04-17 08:00"), ("K4", "phone_norm"): _t("2026-05-01 10:00"),
        ("K5", "home_norm"): _t("2026-05-30 10:00"), ("K5", "phone_norm"): _t("2026-04-10 09:00"),
        ("K5", "complaint_callback"): _t("2026-04-16 10:00"),
    }
    late = due[due["overdue"]]
    assert list(zip(late["customer_id"], late["reason"], late["overdue_days"].fillna(-1), strict=True)) == [
        ("K2", "home_norm", -1), ("K1", "home_norm", 14.0), ("K5", "phone_norm", 5.0)]
    assert set(due["staff_id"]) == {"ST2"} and set(due["grid_id"]) == {"G1"}
    assert "W1" in due.loc[due["reason"] == "complaint_callback", "detail"].iloc[0]


def test_complaints_closed_before_the_window_ask_for_nothing(street) -> None:
    # W1 (K5) closed 04-13 10:00, two days before AS_OF: inside a 3-day window, outside a 2-day one
    def callbacks(days: int) -> list[str]:
        due = due_visits(street, rules=Rules(complaint_callback_window_days=days), as_of=AS_OF)
        return due.loc[due["reason"] == "complaint_callback", "customer_id"].tolist()

    assert callbacks(3) == ["K5"]
    assert callbacks(2) == []


def test_next_due_is_the_most_urgent_per_customer(street) -> None:
    nxt = next_due(street, as_of=AS_OF)
    assert nxt["reason"].to_dict() == {"K2": "home_norm", "K1": "home_norm", "K5": "phone_norm",
                                       "K4": "home_norm", "K3": "phone_norm"}
    assert nxt.index.tolist() == ["K2", "K1", "K5", "K4", "K3"]  # overdue first, then by due date


def test_week_list_three_stops_a_day(street) -> None:
    table = visit_list(street, "ST2", horizon="week", rules=THREE, as_of=AS_OF)
    got = list(zip(table["day"], table["stop"].astype("object").where(table["stop"].notna(), None),
                   table["customer_id"], table["reason"], strict=True))
    assert got == [
        ("2026-04-16", 1, "K2", "home_norm"), ("2026-04-16", 2, "K1", "home_norm"),
        ("2026-04-16", 3, "K4", "home_norm"),
        ("2026-04-16", None, "K5", "phone_norm"), ("2026-04-16", None, "K5", "complaint_callback"),
        ("2026-04-17", 1, "K3", "home_norm"),
        ("2026-04-20", None, "K3", "phone_norm"),
    ]
    lon = VISIT_CUSTOMERS
    legs = table["leg_m"].dropna().tolist()
    expected = [_metres(VISIT_BASE[0], lon["K2"]), _metres(lon["K2"], lon["K1"]), _metres(lon["K1"], lon["K4"]),
                _metres(VISIT_BASE[0], lon["K3"])]
    assert legs == pytest.approx(expected, rel=1e-3)
    assert table["overdue"].tolist() == [True, True, False, True, False, False, False]
    assert table["name"].iloc[0] == "乙二" and table["staff_name"].iloc[0] == "李娜"


def test_four_stops_a_day_go_west_then_east(street) -> None:
    table = visit_list(street, "ST2", horizon="week", rules=Rules(visit_max_stops_per_day=4), as_of=AS_OF)
    home = table[table["kind"] == "home"]
    assert home["customer_id"].tolist() == ["K2", "K3", "K1", "K4"]
    assert set(home["day"]) == {"2026-04-16"}
    routes = route_lines(street, table)
    assert routes[["staff_id", "day", "stops"]].values.tolist() == [["ST2", "2026-04-16", 4]]
    assert routes["coords"].iloc[0][0] == list(VISIT_BASE)
    lon = VISIT_CUSTOMERS
    walk = (_metres(VISIT_BASE[0], lon["K2"]) + _metres(lon["K2"], lon["K3"]) + _metres(lon["K3"], lon["K1"])
            + _metres(lon["K1"], lon["K4"]))
    assert routes["length_m"].iloc[0] == pytest.approx(walk, rel=1e-3)


def test_month_list_adds_what_falls_due_within_the_month(street) -> None:
    table = visit_list(street, "ST2", horizon="month", rules=THREE, as_of=AS_OF)
    # a month to 05-15: K5's home visit (05-30) and the July calls stay out; K4's call (05-01) comes in
    assert ("K4", "phone_norm") in set(zip(table["customer_id"], table["reason"], strict=True))
    assert ("K5", "home_norm") not in set(zip(table["customer_id"], table["reason"], strict=True))
    # 05-01 … 05-05 are the Labour Day holidays: K4's call waits for the working day 05-06
    assert table.loc[table["customer_id"].eq("K4") & table["kind"].eq("phone"), "day"].tolist() == ["2026-05-06"]


def test_days_full_leave_visits_unscheduled(street) -> None:
    table = visit_list(street, "ST2", horizon="week", rules=Rules(visit_max_stops_per_day=1),
                       as_of=pd.Timestamp("2026-04-17 12:00", tz=TZ))
    # from Fri 04-17 noon: working days 04-20 … 04-24, one stop each; the four home visits fit
    home = table[table["kind"] == "home"]
    assert home["day"].tolist() == ["2026-04-20", "2026-04-21", "2026-04-22", "2026-04-23"]
    assert (home["stop"] == 1).all()


def test_bad_member_and_horizon(street) -> None:
    with pytest.raises(NotFoundError, match="NOBODY"):
        visit_list(street, "NOBODY", as_of=AS_OF)
    with pytest.raises(DataError, match="fortnight"):
        visit_list(street, horizon="fortnight", as_of=AS_OF)


def test_overdue_visits_per_grid_in_the_kpis(tiny_shared, as_of) -> None:
    """March judged at its end (04-01): G1's C2 had complaints W3 (closed 03-12) and W4 (03-27) and no call:
    one callback overdue since 03-15; G2's C4 had home visits 2025-03-15 and 2025-10-01: due 2026-03-15."""
    march = kpis(tiny_shared, "2026-03", rules=Rules(), as_of=as_of)
    assert march["overdue_visits"].to_dict() == {"G1": 1, "G2": 1}


def test_coverage_does_not_come_back_without_a_visit(tiny_shared) -> None:
    """The old window count read a call on 02-28 10:00 as within 3 months of 05-29 00:00 (05-29 minus
    3 months clips to 02-28 00:00) though not of 05-28 12:00: coverage came back without a visit.
    The norm's due date (02-28 10:00 + 3 months = 05-28 10:00) has passed at both."""
    visits = pd.DataFrame({"visit_id": ["V1", "V2", "V3"], "staff_id": ["ST2"] * 3, "customer_id": ["C1"] * 3,
                           "at": [_t("2025-12-01 10:00"), _t("2026-01-10 10:00"), _t("2026-02-28 10:00")],
                           "kind": ["home", "home", "phone"]})
    area = tiny_shared.replace(visits=visits)
    for start, end in (("2026-05-01", "2026-05-28 12:00"), ("2026-05-01", "2026-05-29 00:00")):
        period = Period(_t(start), _t(end), "custom")
        assert not visit_covered(area, period, customers=pd.Index(["C1"])).item()
    early = Period(_t("2026-05-01"), _t("2026-05-28 10:00"), "custom")
    assert visit_covered(area, early, customers=pd.Index(["C1"])).item()
