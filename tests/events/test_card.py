"""The customer card on the hand-built area (tests/tiny_area.py), judged at the area's clock."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from gridservice.auth import User
from gridservice.errors import NotFoundError
from gridservice.events.card import customer_card
from gridservice.workspace import derive

DISPATCHER = User("d", "dispatcher")
SUPERVISOR = User("s", "supervisor")


def at(area, when: str):
    """``area`` as a snapshot taken at ``when`` (its ``as_of``)."""
    as_of = pd.Timestamp(when, tz="Asia/Shanghai")
    sa = gpd.GeoDataFrame({"service_area_id": ["T"], "name": ["tiny"], "as_of": [as_of]},
                          geometry=[box(116.0, 27.0, 116.2, 27.1)], crs="EPSG:4326")
    return area.replace(service_area=sa)


def test_card_of_a_customer_during_a_planned_outage(tiny) -> None:
    # On 2026-03-10 10:00 the planned outage O2 on feeder F1 (08:00–12:00) is on: C3 hangs on M3 → T1 → F1.
    card = customer_card(at(tiny, "2026-03-10 10:00"), "C3", viewer=DISPATCHER)
    assert card.customer.loc["C3", "name"] == "孙三"
    assert card.grid["grid_id"] == "G2" and card.station["name"] == "琴城供电所"
    assert [s["staff_id"] for s in card.staff] == ["ST4", "ST6", "ST5"]  # members, then the area manager
    assert [p["device_id"] for p in card.supply_path] == ["M3", "T1", "F1", "SUB1"]
    assert card.active_outages.index.tolist() == ["O2"]
    assert card.outages.index.tolist() == ["O1"]  # T1, 03-03: over; O3, O5 are on T2, O4 on M5
    assert card.open_work_orders.index.tolist() == ["W6"]
    assert card.work_orders.index.tolist() == ["W6", "W7"]  # most recent first


def test_the_card_judges_outages_at_the_areas_as_of_not_the_wall_clock(tiny) -> None:
    # At 12:30 the same outage is over: it moves to the history.
    card = customer_card(at(tiny, "2026-03-10 12:30"), "C3", viewer=DISPATCHER)
    assert card.active_outages.empty and card.outages.index.tolist() == ["O2", "O1"]


def test_roles_without_personal_data_see_the_card_masked(tiny) -> None:
    card = customer_card(tiny, "C5", viewer=SUPERVISOR).to_dict()
    assert (card["customer"]["name"], card["customer"]["phone"]) == ("周*", "079****1234")
    assert [v["visit_id"] for v in card["history"]["visits"]] == []
    json.dumps(card)  # JSON-ready as it is


def test_a_customer_outside_every_grid_still_has_a_card(tiny) -> None:
    c = tiny.customers.copy()
    c.loc["C5", "geometry"] = Point(117.5, 28.5)
    card = customer_card(derive(tiny.replace(customers=c)), "C5", viewer=DISPATCHER)
    assert card.grid is None and card.staff == [] and card.location == {"lon": 117.5, "lat": 28.5}
    assert [p["device_id"] for p in card.supply_path] == ["M5", "T2", "F1", "SUB1"]


def test_an_unknown_customer_is_not_found(tiny) -> None:
    with pytest.raises(NotFoundError, match="C9"):
        customer_card(tiny, "C9", viewer=DISPATCHER)
