"""The roster routes on the tiny area (tests/events/test_roster.py works its week out by hand): who may make a
roster, what the station's week and who-to-call return, the store holding the shifts and the audit entry, and
a repair order routed to the person on duty."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import SETTINGS, USERS, headers
from fastapi.testclient import TestClient

from gridservice.api import create_app
from gridservice.io import GeoPackageStore
from gridservice.model import ServiceArea
from tiny_area import build_tiny_area

BODY = {"station_id": "S1", "from": "2026-03-02", "weeks": 1}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    path = tmp_path / "tiny.gpkg"
    layers = dict(build_tiny_area().layers)
    del layers["shifts"]  # a store from before the layer: the first roster adds it
    GeoPackageStore(path).write({**layers, "users": USERS}, create=True)
    with TestClient(create_app(str(path), settings=SETTINGS, web=False)) as c:
        c.path = path  # type: ignore[attr-defined]
        yield c


def test_only_planners_and_admins_make_a_roster(client: TestClient) -> None:
    assert client.post("/api/v1/roster", json=BODY).status_code == 401
    for role in ("supervisor", "dispatcher"):
        assert client.post("/api/v1/roster", json=BODY, headers=headers(role)).status_code == 403
    made = client.post("/api/v1/roster", json=BODY, headers=headers("planner"))
    assert made.status_code == 201, made.text
    assert made.json() | {"gaps": None} == {"station_id": "S1", "from": "2026-03-02", "to": "2026-03-08",
                                            "shifts": 42, "replaced": 0, "gaps": None}
    assert made.json()["gaps"] == []
    again = client.post("/api/v1/roster", json=BODY, headers=headers("admin"))
    assert again.status_code == 201 and again.json()["replaced"] == 42
    stored = ServiceArea.load(str(client.path))  # type: ignore[attr-defined]
    assert len(stored.shifts) == 42
    log = stored.audit_log[stored.audit_log["layer"] == "shifts"]
    assert log["action"].tolist() == ["roster", "roster"] and log["user"].tolist() == ["planner", "admin"]


def test_the_week_the_gaps_and_who_to_call(client: TestClient) -> None:
    client.post("/api/v1/roster", json=BODY, headers=headers("planner"))
    week = client.get("/api/v1/roster?station_id=S1&from=2026-03-02", headers=headers("supervisor")).json()
    assert week["dates"][0] == "2026-03-02" and week["dates"][-1] == "2026-03-08" and week["grids"] == ["G1", "G2"]
    st6 = next(s for s in week["staff"] if s["staff_id"] == "ST6")
    assert st6["grids"] == "G1,G2" and st6["days"]["2026-03-05"] == "rest" and st6["days"]["2026-03-02"] == "duty"
    assert week["gaps"] == [] and week["overworked"] == []
    now = client.get("/api/v1/on-duty?grid_id=G2&at=2026-03-05T21:00:00%2B08:00", headers=headers("dispatcher"))
    assert now.status_code == 200
    assert [(i["kind"], i["staff_id"]) for i in now.json()["items"]][:2] == [("duty", "ST4"), ("standby", "ST5")]
    assert client.get("/api/v1/on-duty?grid_id=G9", headers=headers("dispatcher")).status_code == 404
    assert client.get("/api/v1/roster/check", headers=headers("supervisor")).json()["total"] == 0
    # a repair call on Wednesday evening goes to ST2, on duty in G1
    order = client.post("/api/v1/work-orders", json={"kind": "repair", "customer_id": "C1",
                                                      "received_at": "2026-03-04T20:00:00+08:00"},
                        headers=headers("dispatcher"))
    assert order.status_code == 201, order.text
    assert order.json()["properties"]["assignee_id"] == "ST2"


def test_bad_roster_requests_are_refused(client: TestClient) -> None:
    bad = client.post("/api/v1/roster", json={**BODY, "station_id": "S9"}, headers=headers("planner"))
    assert bad.status_code == 404 and "S9" in bad.text
    assert client.post("/api/v1/roster", json={**BODY, "weeks": 0}, headers=headers("planner")).status_code == 422
    assert client.post("/api/v1/roster", json={**BODY, "from": "2026-02-30"},
                       headers=headers("planner")).status_code == 422
    assert client.get("/api/v1/roster?station_id=S1&from=yesterday", headers=headers("planner")).status_code == 422


def test_the_outage_impact_and_the_card_name_who_is_on_duty_now(client: TestClient) -> None:
    """The tiny area has no as_of: it is judged at the pinned clock, Monday 2026-12-07. A roster from that Monday
    repeats the hand-worked week: G2's duty is ST6; G1's are ST2 and ST6."""
    client.post("/api/v1/roster", json={**BODY, "from": "2026-12-07"}, headers=headers("planner"))
    impact = client.get("/api/v1/outages/impact?device_id=T2", headers=headers("dispatcher")).json()
    assert [(r["grid_id"], r["kind"], r["staff_id"]) for r in impact["on_duty"]] == [("G2", "duty", "ST6")]
    card = client.get("/api/v1/customers/C1", headers=headers("dispatcher")).json()
    assert [(r["kind"], r["staff_id"]) for r in card["on_duty"]][:2] == [("duty", "ST2"), ("duty", "ST6")]
