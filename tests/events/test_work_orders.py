"""Work orders on the hand-built area: due times, routing, transitions, repeats, persistence.

The area (tests/tiny_area.py): G1 urban with manager ST1, members ST2
and ST6, area manager ST3 (T1); G2 rural without a manager, members ST4 and
ST6, area manager ST5 (T2). C3 is located in G2 but fed from T1. Open orders
at the start: W6 (assigned ST4).
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from shapely.geometry import Point

from gridservice.config import Rules
from gridservice.errors import DataError, NotFoundError, TransitionError
from gridservice.events.records import save_new_work_order, save_transition
from gridservice.events.work_orders import (
    advance,
    create_work_order,
    due_times,
    first_contact_resolved,
    repeat_complaints,
    sla_status,
    steps,
)
from gridservice.io import GeoPackageStore

TZ = "Asia/Shanghai"
NOW = pd.Timestamp("2026-04-15 12:00", tz=TZ)


def t(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ)


# -- due times -------------------------------------------------------------------


def test_due_times_of_the_hand_built_orders(tiny) -> None:
    due = due_times(tiny, rules=Rules())
    # Repair: W1 in urban G1 → 45 min; W2 in rural G2 → 90 min. No contact/close clock.
    assert due.at["W1", "arrival_due_at"] == t("2026-03-02 10:45")
    assert due.at["W2", "arrival_due_at"] == t("2026-03-05 09:30")
    assert pd.isna(due.at["W1", "close_due_at"]) and pd.isna(due.at["W1", "contact_due_at"])
    # W3 complaint Friday 03-06 09:00: contact by Saturday 09:00, close by end of Thursday 03-12.
    assert due.at["W3", "contact_due_at"] == t("2026-03-07 09:00")
    assert due.at["W3", "close_due_at"] == t("2026-03-12 23:59:59")
    assert pd.isna(due.at["W3", "arrival_due_at"])
    # W8 opinion received Sunday 03-15: 5 working days Mon 16 … Fri 20.
    assert due.at["W8", "close_due_at"] == t("2026-03-20 23:59:59")
    # W6 service request Monday 03-30: Tue 31, Wed 04-01, Thu 02, Fri 03, Qingming 04-04…06, Tue 04-07.
    assert due.at["W6", "close_due_at"] == t("2026-04-07 23:59:59")


def test_due_times_follow_the_rules_in_force(tiny) -> None:
    rules = Rules(repair_arrival_min={"urban": 30, "rural": 60, "remote": 90},
                  close_within_working_days={"complaint": 2, "report": 9, "opinion": 5, "consultation": 5,
                                             "service_request": 5},
                  contact_within_hours=12)
    due = due_times(tiny, rules=rules)
    assert due.at["W1", "arrival_due_at"] == t("2026-03-02 10:30")
    assert due.at["W3", "contact_due_at"] == t("2026-03-06 21:00")
    assert due.at["W3", "close_due_at"] == t("2026-03-10 23:59:59")  # Mon 09, Tue 10


def test_order_without_a_grid_gets_the_strictest_arrival_limit(tiny) -> None:
    wo = tiny.work_orders.loc[["W8"]].copy()
    wo["kind"] = "repair"
    wo["geometry"] = [Point(117.5, 28.5)]  # outside both grids
    due = due_times(tiny, wo, rules=Rules())
    assert due.at["W8", "arrival_due_at"] == t("2026-03-15 10:45")


def test_sla_status_judges_open_orders_at_as_of(tiny) -> None:
    sla = sla_status(tiny, rules=Rules(), as_of=NOW)
    assert sla.at["W1", "arrival_on_time"] == True  # noqa: E712 — nullable booleans
    assert sla.at["W2", "arrival_on_time"] == False  # noqa: E712 — 105 min > 90
    assert sla.at["W3", "close_on_time"] == True  # noqa: E712
    assert sla.at["W4", "close_on_time"] == False  # noqa: E712 — closed Fri 03-27, due Thu 03-26
    assert sla.at["W6", "close_on_time"] == False  # noqa: E712 — open, past 04-07
    assert sla.at["W6", "contact_on_time"] == False  # noqa: E712 — nobody contacted by 03-31 10:00
    assert pd.isna(sla.at["W1", "close_on_time"])
    early = sla_status(tiny, rules=Rules(), as_of=t("2026-04-01 12:00"))
    assert pd.isna(early.at["W6", "close_on_time"])  # still within its 5 working days


# -- repeats and first-contact resolution ---------------------------------------


def test_repeat_complaints_within_30_days(tiny) -> None:
    flags = repeat_complaints(tiny.work_orders, days=30)
    assert flags[flags].index.tolist() == ["W4"]  # C2 complained 03-06 and again 03-20


def _complaints(times: list[str], customers: list[str]) -> pd.DataFrame:
    return pd.DataFrame({
        "kind": "complaint", "customer_id": customers, "received_at": [t(x) for x in times],
        "closed_at": [t(x) for x in times],
    }, index=[f"X{i}" for i in range(len(times))])


def test_repeat_window_bounds_and_customers() -> None:
    wo = _complaints(["2026-01-01 10:00", "2026-01-31 10:00", "2026-03-03 10:00", "2026-01-05 09:00"],
                     ["A", "A", "A", "B"])
    flags = repeat_complaints(wo, days=30)
    # 01-31 is exactly 30 days after 01-01 (repeat); 03-03 is 31 days after 01-31 (not); B is alone.
    assert flags.tolist() == [False, True, False, False]


def test_first_contact_resolution(tiny) -> None:
    fcr = first_contact_resolved(tiny.work_orders, days=30)
    # W3 followed by W4 (same customer, same kind, 14 days); W2 by W9 (repair C4, 28 days later).
    assert fcr["W3"] == False and fcr["W2"] == False  # noqa: E712
    assert fcr["W1"] == True and fcr["W4"] == True and fcr["W8"] == True  # noqa: E712
    assert pd.isna(fcr["W6"])  # not closed


# -- creating and routing --------------------------------------------------------


def test_complaint_goes_to_the_grid_manager_with_its_clocks(tiny) -> None:
    order = create_work_order(tiny, kind="complaint", customer_id="C2", received_at="2025-09-26 10:00",
                              channel="95598", rules=Rules(), now=NOW)
    row = order.iloc[0]
    assert row["grid_id"] == "G1" and row["assignee_id"] == "ST1" and row["status"] == "received"
    assert row["contact_due_at"] == t("2025-09-27 10:00")
    assert row["close_due_at"] == t("2025-10-09 23:59:59")
    assert pd.isna(row["arrival_due_at"])
    assert row.geometry.equals(tiny.customers.geometry["C2"])


def test_repair_goes_to_the_area_manager_of_the_customers_transformer(tiny) -> None:
    order = create_work_order(tiny, kind="repair", customer_id="C4", received_at="2026-03-05 08:00",
                              rules=Rules(), now=NOW).iloc[0]
    assert order["assignee_id"] == "ST5" and order["arrival_due_at"] == t("2026-03-05 09:30")
    # C3 lies in rural G2 but hangs on T1 of G1: T1's area manager goes, on G2's (rural) clock.
    c3 = create_work_order(tiny, kind="repair", customer_id="C3", received_at="2026-03-05 08:00",
                           rules=Rules(), now=NOW).iloc[0]
    assert c3["grid_id"] == "G2" and c3["assignee_id"] == "ST3"
    assert c3["arrival_due_at"] == t("2026-03-05 09:30")


def test_repair_from_a_point_goes_to_the_grid_manager(tiny) -> None:
    order = create_work_order(tiny, kind="repair", point=(116.03, 27.03), received_at="2026-03-05 08:00",
                              rules=Rules(), now=NOW).iloc[0]
    assert order["grid_id"] == "G1" and order["assignee_id"] == "ST1"
    assert order["arrival_due_at"] == t("2026-03-05 08:45")
    assert pd.isna(order["customer_id"])


def test_transformer_named_area_manager_wins(tiny) -> None:
    tx = tiny.transformers.copy()
    tx["area_manager_id"] = ["ST2", None]
    area = tiny.replace(transformers=tx)
    order = create_work_order(area, kind="repair", customer_id="C1", received_at="2026-03-05 08:00",
                              now=NOW).iloc[0]
    assert order["assignee_id"] == "ST2"


def test_other_kinds_go_to_the_least_loaded_member(tiny) -> None:
    # G2 members: ST4 holds open W6, ST6 holds nothing.
    g2 = create_work_order(tiny, kind="consultation", customer_id="C5", received_at="2026-03-05 08:00", now=NOW)
    assert g2["assignee_id"].iloc[0] == "ST6"
    # G1 members ST2 and ST6 both hold no open order: the lower id.
    g1 = create_work_order(tiny, kind="service_request", customer_id="C1", received_at="2026-03-05 08:00", now=NOW)
    assert g1["assignee_id"].iloc[0] == "ST2"
    # A complaint in G2, which has no manager, falls to a member.
    c = create_work_order(tiny, kind="complaint", customer_id="C4", received_at="2026-03-05 08:00", now=NOW)
    assert c["assignee_id"].iloc[0] == "ST6"


def test_point_outside_every_grid_is_created_unassigned(tiny) -> None:
    order = create_work_order(tiny, kind="opinion", point=Point(117.5, 28.5), received_at="2026-03-05 08:00",
                              now=NOW).iloc[0]
    assert pd.isna(order["grid_id"]) and pd.isna(order["assignee_id"])


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"kind": "complaint", "customer_id": "C99"}, NotFoundError, "C99"),
        ({"kind": "complaint"}, DataError, "customer_id or a point"),
        ({"kind": "gossip", "customer_id": "C1"}, DataError, "gossip"),
        ({"kind": "repair", "point": (27.03, 516.03)}, DataError, "lon/lat"),
        ({"kind": "repair", "customer_id": "C1", "received_at": "2026-05-01 08:00"}, TransitionError,
         "WO-X.*in the future"),
        ({"kind": "repair", "customer_id": "C1", "received_at": "not a time"}, DataError, "not a timestamp"),
    ],
)
def test_bad_new_orders_are_refused(tiny, kw, error, match) -> None:
    kw = {"received_at": "2026-03-05 08:00", **kw}
    with pytest.raises(error, match=match):
        create_work_order(tiny, work_order_id="WO-X", now=NOW, **kw)


# -- transitions -----------------------------------------------------------------


def test_steps_per_kind() -> None:
    assert steps("repair") == ("received", "dispatched", "arrived", "resolved", "replied", "closed")
    assert steps("complaint") == ("received", "dispatched", "resolved", "replied", "closed")


def test_a_repair_walks_every_step(tiny) -> None:
    order = create_work_order(tiny, kind="repair", customer_id="C1", received_at="2026-03-05 08:00",
                              work_order_id="WO-R", now=NOW)
    for status, at in (("dispatched", "08:05"), ("arrived", "08:40"), ("resolved", "09:30"), ("replied", "10:00"),
                       ("closed", "10:00")):
        order = advance(order, status, f"2026-03-05 {at}", now=NOW)
    assert order["status"].iloc[0] == "closed"
    assert order["arrived_at"].iloc[0] == t("2026-03-05 08:40")
    assert order["closed_at"].iloc[0] == t("2026-03-05 10:00")
    with pytest.raises(TransitionError, match="WO-R is already closed"):
        advance(order, "closed", "2026-03-05 11:00", now=NOW)


def test_out_of_order_steps_are_refused(tiny) -> None:
    order = create_work_order(tiny, kind="complaint", customer_id="C1", received_at="2026-03-05 08:00",
                              work_order_id="WO-C", now=NOW)
    with pytest.raises(TransitionError, match="WO-C: a complaint order has no 'arrived' step"):
        advance(order, "arrived", "2026-03-05 09:00", now=NOW)
    with pytest.raises(TransitionError, match="WO-C: cannot go from received to resolved; the next step is dispatched"):
        advance(order, "resolved", "2026-03-05 09:00", now=NOW)
    with pytest.raises(TransitionError, match="WO-C: unknown status 'done'"):
        advance(order, "done", "2026-03-05 09:00", now=NOW)


def test_impossible_timestamps_are_refused(tiny) -> None:
    order = create_work_order(tiny, kind="repair", customer_id="C1", received_at="2026-03-05 08:00",
                              work_order_id="WO-T", now=NOW)
    with pytest.raises(TransitionError, match=r"WO-T: dispatched_at 2026-03-05T07:59:00\+08:00 is earlier than "
                                              r"received_at 2026-03-05T08:00:00\+08:00"):
        advance(order, "dispatched", "2026-03-05 07:59", now=NOW)
    with pytest.raises(TransitionError, match=r"WO-T: dispatched_at .* is in the future"):
        advance(order, "dispatched", "2026-04-15 12:01", now=NOW)
    same = advance(order, "dispatched", "2026-03-05 08:00", now=NOW)  # the same minute is possible
    assert same["status"].iloc[0] == "dispatched"


# -- persistence -----------------------------------------------------------------


@pytest.fixture
def tiny_store(tiny_gpkg, tmp_path) -> GeoPackageStore:
    dst = tmp_path / "tiny.gpkg"
    shutil.copyfile(tiny_gpkg, dst)
    return GeoPackageStore(dst)


def test_new_order_and_transitions_are_stored_with_audit_records(tiny, tiny_store) -> None:
    order = create_work_order(tiny, kind="repair", customer_id="C4", received_at="2026-03-05 08:00",
                              work_order_id="WO-S", now=NOW)
    save_new_work_order(tiny_store, order, user="dispatcher1")
    save_transition(tiny_store, "WO-S", "dispatched", "2026-03-05 08:10", user="dispatcher1", now=NOW)
    stored = tiny_store.read_layer("work_orders")
    assert len(stored) == len(tiny.work_orders) + 1
    row = stored.loc["WO-S"]
    assert row["status"] == "dispatched" and row["assignee_id"] == "ST5" and row["grid_id"] == "G2"
    assert row["dispatched_at"] == t("2026-03-05 08:10")
    assert stored.loc["W1", "status"] == "closed"  # other rows untouched
    log = tiny_store.read_layer("audit_log")
    assert log["feature_id"].tolist() == ["WO-S", "WO-S"]
    assert log["action"].tolist() == ["create", "status:dispatched"]
    assert set(log["user"]) == {"dispatcher1"}


def test_refused_transition_leaves_the_store_unchanged(tiny_store) -> None:
    before = tiny_store.read_layer("work_orders")
    with pytest.raises(TransitionError, match="W6: cannot go from dispatched to closed"):
        save_transition(tiny_store, "W6", "closed", "2026-04-10 10:00", user="u", now=NOW)
    with pytest.raises(NotFoundError, match="W404"):
        save_transition(tiny_store, "W404", "dispatched", "2026-04-10 10:00", user="u", now=NOW)
    pd.testing.assert_frame_equal(tiny_store.read_layer("work_orders"), before)
    assert len(tiny_store.read_layer("audit_log")) == 0


def test_two_dispatchers_advancing_one_order_cannot_both_win(tiny_store) -> None:
    def attempt(i: int) -> str:
        try:
            save_transition(tiny_store, "W6", "resolved", f"2026-04-0{i + 1} 10:00", user=f"u{i}", now=NOW)
        except TransitionError:
            return "refused"
        return "done"

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(attempt, range(4)))
    assert sorted(outcomes) == ["done", "refused", "refused", "refused"]
    assert tiny_store.read_layer("work_orders").loc["W6", "status"] == "resolved"
    assert len(tiny_store.read_layer("audit_log")) == 1
