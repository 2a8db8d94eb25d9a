"""The visit routes on the street of tests/metrics/test_visits.py (three stops a day, judged at its AS_OF):
who may read and record, what they list and mask, and a recorded visit taking a customer off the list."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import SETTINGS, USERS, headers
from fastapi.testclient import TestClient

from gridservice.api import create_app
from gridservice.io import GeoPackageStore
from tiny_area import VISIT_BASE, visit_snapshot

THREE = SETTINGS.model_copy(update={"rules": SETTINGS.rules.model_copy(update={"visit_max_stops_per_day": 3})})
LIST = "/api/v1/visits/list?staff_id=ST2&horizon=week"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    path = tmp_path / "street.gpkg"
    GeoPackageStore(path).write({**visit_snapshot(), "users": USERS}, create=True)
    with TestClient(create_app(str(path), settings=THREE, web=False)) as c:
        c.path = path  # type: ignore[attr-defined]
        yield c


def test_visits_are_for_supervisors_and_dispatchers(client: TestClient) -> None:
    for url in ("/api/v1/visits/due", LIST):
        assert client.get(url).status_code == 401
        assert client.get(url, headers=headers("planner")).status_code == 403
        for role in ("supervisor", "dispatcher", "admin"):
            assert client.get(url, headers=headers(role)).status_code == 200


def test_due_overdue_first_names_masked_for_a_supervisor(client: TestClient) -> None:
    body = client.get("/api/v1/visits/due", headers=headers("supervisor")).json()
    assert (body["total"], body["overdue"]) == (5, 3)
    assert [(i["customer_id"], i["reason"]) for i in body["items"]] == [
        ("K2", "home_norm"), ("K1", "home_norm"), ("K5", "phone_norm"), ("K4", "home_norm"), ("K3", "phone_norm")]
    first = body["items"][0]
    assert first["due_at"] is None and first["overdue"] is True and first["reason_zh"] == "重要客户年度走访"
    assert first["name"] == "乙*" and first["phone"] == "139****0102" and first["address"] == "琴城镇东门路…"
    full = client.get("/api/v1/visits/due?overdue=true", headers=headers("dispatcher")).json()
    assert [i["customer_id"] for i in full["items"]] == ["K2", "K1", "K5"] and full["items"][0]["name"] == "乙二"


def test_member_list_with_its_day_routes(client: TestClient) -> None:
    body = client.get(LIST, headers=headers("dispatcher")).json()
    assert body["days"] == ["2026-04-16", "2026-04-17", "2026-04-20", "2026-04-21", "2026-04-22"]
    assert [(i["day"], i["stop"], i["customer_id"]) for i in body["items"]] == [
        ("2026-04-16", 1, "K2"), ("2026-04-16", 2, "K1"), ("2026-04-16", 3, "K4"), ("2026-04-16", None, "K5"),
        ("2026-04-16", None, "K5"), ("2026-04-17", 1, "K3"), ("2026-04-20", None, "K3")]
    assert body["base"] == list(VISIT_BASE)
    assert [(r["day"], r["stops"], len(r["coords"])) for r in body["routes"]] == [("2026-04-16", 3, 4),
                                                                               ("2026-04-17", 1, 2)]
    assert body["members"] == [{"staff_id": "ST2", "staff_name": "李娜", "visits": 7, "overdue": 3,
                                "home_visits": 4, "days": 3}]
    assert client.get("/api/v1/visits/list?horizon=fortnight", headers=headers("dispatcher")).status_code == 422
    assert client.get("/api/v1/visits/list?staff_id=NOBODY", headers=headers("dispatcher")).status_code == 404


def test_a_recorded_visit_leaves_the_list_with_an_audit_entry(client: TestClient) -> None:
    visit = {"customer_id": "K2", "staff_id": "ST2", "kind": "home", "at": "2026-04-15T09:00:00+08:00"}
    assert client.post("/api/v1/visits", json=visit, headers=headers("supervisor")).status_code == 403
    made = client.post("/api/v1/visits", json=visit, headers=headers("dispatcher"))
    assert made.status_code == 201, made.text
    vid = made.json()["visit_id"]
    # K2 now has two home visits (2025-12-01 and 2026-04-15): due 2026-12-01, off the week's list
    body = client.get(LIST, headers=headers("dispatcher")).json()
    assert "K2" not in {i["customer_id"] for i in body["items"] if i["kind"] == "home"}
    due = client.get("/api/v1/visits/due?overdue=true", headers=headers("dispatcher")).json()
    assert [i["customer_id"] for i in due["items"]] == ["K1", "K5"]
    store = GeoPackageStore(client.path)  # type: ignore[attr-defined]
    assert vid in store.read_layer("visits").index
    log = store.read_layer("audit_log")
    assert ((log["layer"] == "visits") & (log["feature_id"] == vid) & (log["user"] == "dispatcher")).any()
    bad = {**visit, "customer_id": "NOPE"}
    assert client.post("/api/v1/visits", json=bad, headers=headers("dispatcher")).status_code == 404
    late = {**visit, "at": "2027-06-01T09:00:00+08:00"}
    assert client.post("/api/v1/visits", json=late, headers=headers("dispatcher")).status_code == 422
