"""Work orders through the API: create, route, list, transitions, roles, audit log."""

from __future__ import annotations

import pandas as pd
from api_helpers import NOW, SETTINGS, headers
from fastapi.testclient import TestClient

from gridservice.api import create_app
from gridservice.config import Rules
from gridservice.io import GeoPackageStore


def test_dispatcher_creates_a_routed_order_with_its_sla(write_client: TestClient, small_copy) -> None:
    received = (NOW - pd.Timedelta(minutes=10)).isoformat()
    r = write_client.post("/api/v1/work-orders", headers=headers("dispatcher"),
                          json={"kind": "repair", "customer_id": "C3", "channel": "95598", "received_at": received})
    assert r.status_code == 201
    f = r.json()
    props = f["properties"]
    # C3 is in G2 (rural) on T2: a repair goes to G2's area manager P4, due 90 minutes after the call
    assert (props["grid_id"], props["assignee_id"], props["status"]) == ("G2", "P4", "received")
    due = pd.Timestamp(props["arrival_due_at"]) - pd.Timestamp(props["received_at"])
    assert due == pd.Timedelta(minutes=90)
    assert f["geometry"] == {"type": "Point", "coordinates": [116.54, 27.19]}
    store = GeoPackageStore(small_copy)
    stored = store.read_layer("work_orders")
    assert f["id"] in stored.index and stored.loc[f["id"], "assignee_id"] == "P4"
    log = store.read_layer("audit_log")
    entry = log[log["feature_id"] == f["id"]]
    assert list(entry["user"]) == ["dispatcher"] and list(entry["action"]) == ["create"]
    # the server sees its own write at once
    listed = write_client.get("/api/v1/work-orders?grid_id=G2", headers=headers("supervisor")).json()
    assert [x["id"] for x in listed["features"]] == [f["id"]]


def test_an_order_at_a_point_takes_the_point_grid(write_client: TestClient) -> None:
    r = write_client.post("/api/v1/work-orders", headers=headers("admin"),
                          json={"kind": "consultation", "location": {"lon": 116.42, "lat": 27.15}})
    assert r.status_code == 201
    props = r.json()["properties"]
    assert props["grid_id"] == "G1" and props["assignee_id"] == "P2"  # G1's only grid member
    assert props["contact_due_at"] is not None and props["arrival_due_at"] is None


def test_roles_that_may_not_create_orders(client: TestClient) -> None:
    for role in ("planner", "supervisor"):
        r = client.post("/api/v1/work-orders", json={"kind": "repair", "customer_id": "C1"}, headers=headers(role))
        assert r.status_code == 403 and role in r.json()["detail"]


def test_bad_orders_are_422_with_the_field(client: TestClient) -> None:
    r = client.post("/api/v1/work-orders", json={"kind": "party", "customer_id": "C1"}, headers=headers("dispatcher"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.kind"
    r = client.post("/api/v1/work-orders", json={"kind": "repair"}, headers=headers("dispatcher"))
    assert r.status_code == 422 and "customer_id or location" in r.json()["detail"]
    r = client.post("/api/v1/work-orders", json={"kind": "repair", "location": {"lon": 500, "lat": 27}},
                    headers=headers("dispatcher"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.location.lon"
    r = client.post("/api/v1/work-orders", json={"kind": "repair", "customer_id": "C99"}, headers=headers("dispatcher"))
    assert r.status_code == 404
    future = (NOW + pd.Timedelta(days=1)).isoformat()
    r = client.post("/api/v1/work-orders", json={"kind": "repair", "customer_id": "C1", "received_at": future},
                    headers=headers("dispatcher"))
    assert r.status_code == 422 and r.json()["error"] == "TransitionError"


def test_status_transitions(write_client: TestClient, small_copy) -> None:
    bad = write_client.post("/api/v1/work-orders/WO1/status", json={"status": "closed"}, headers=headers("dispatcher"))
    assert bad.status_code == 422 and "dispatched" in bad.json()["detail"]
    assert write_client.post("/api/v1/work-orders/WO1/status", json={"status": "dispatched"},
                             headers=headers("supervisor")).status_code == 403
    ok = write_client.post("/api/v1/work-orders/WO1/status", json={"status": "dispatched"},
                           headers=headers("dispatcher"))
    assert ok.status_code == 200 and ok.json()["properties"]["status"] == "dispatched"
    assert GeoPackageStore(small_copy).read_layer("work_orders").loc["WO1", "status"] == "dispatched"
    got = write_client.get("/api/v1/work-orders/WO1", headers=headers("planner")).json()
    assert got["properties"]["status"] == "dispatched" and got["properties"]["dispatched_at"] is not None
    assert write_client.post("/api/v1/work-orders/WO9/status", json={"status": "dispatched"},
                             headers=headers("dispatcher")).status_code == 404


def test_listing_filters(write_client: TestClient) -> None:
    late = (NOW - pd.Timedelta(days=2)).isoformat()
    made = write_client.post("/api/v1/work-orders", headers=headers("dispatcher"),
                             json={"kind": "repair", "customer_id": "C2", "received_at": late}).json()
    h = headers("supervisor")
    overdue = write_client.get("/api/v1/work-orders?overdue=true", headers=h).json()
    # the repair received two days ago has had no arrival: its 45-minute clock ran out; WO1 is still in time
    assert [f["id"] for f in overdue["features"]] == [made["id"]]
    repair = write_client.get("/api/v1/work-orders?kind=repair&open=true", headers=h).json()
    assert repair["numberMatched"] == 1
    complaints = write_client.get("/api/v1/work-orders?status=received&grid_id=G1", headers=h).json()
    assert sorted(f["id"] for f in complaints["features"]) == sorted(["WO1", made["id"]])
    assert write_client.get("/api/v1/work-orders?status=lost", headers=h).status_code == 422
    assert write_client.get("/api/v1/work-orders/WO404", headers=h).status_code == 404


def test_a_write_by_another_process_is_seen(write_client: TestClient, small_copy) -> None:
    from gridservice.events.records import save_new_work_order
    from gridservice.events.work_orders import create_work_order
    from gridservice.workspace import open_area

    before = write_client.get("/api/v1/work-orders", headers=headers("supervisor")).json()["numberMatched"]
    store = GeoPackageStore(small_copy)  # as the CLI or a second server would
    order = create_work_order(open_area(store), kind="opinion", customer_id="C4", received_at=NOW)
    save_new_work_order(store, order, user="cli")
    after = write_client.get("/api/v1/work-orders", headers=headers("supervisor")).json()
    assert after["numberMatched"] == before + 1 and order.index[0] in {f["id"] for f in after["features"]}


def test_a_retry_with_the_same_idempotency_key_returns_the_first_order(write_client: TestClient, small_copy) -> None:
    from api_helpers import SETTINGS

    from gridservice.api import create_app

    order = {"kind": "repair", "customer_id": "C3", "channel": "95598"}
    key = {"Idempotency-Key": "95598-call-20261207-0042"}
    first = write_client.post("/api/v1/work-orders", headers={**headers("dispatcher"), **key}, json=order)
    retry = write_client.post("/api/v1/work-orders", headers={**headers("dispatcher"), **key}, json=order)
    assert first.status_code == retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    assert {k: retry.json()["properties"][k] for k in first.json()["properties"]} == first.json()["properties"]
    assert len(GeoPackageStore(small_copy).read_layer("work_orders")) == 2  # WO1 and this one, not a third
    # Durable: a restarted server still knows the key.
    with TestClient(create_app(str(small_copy), settings=SETTINGS, web=False)) as restarted:
        again = restarted.post("/api/v1/work-orders", headers={**headers("dispatcher"), **key}, json=order)
        assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
        # Keys are per user: an admin's key of the same text opens its own order; no key, a new order.
        other = restarted.post("/api/v1/work-orders", headers={**headers("admin"), **key}, json=order)
        plain = restarted.post("/api/v1/work-orders", headers=headers("dispatcher"), json=order)
        assert len({first.json()["id"], other.json()["id"], plain.json()["id"]}) == 3
    assert len(GeoPackageStore(small_copy).read_layer("work_orders")) == 4
    bad = write_client.post("/api/v1/work-orders", headers={**headers("dispatcher"), "Idempotency-Key": "a b"},
                            json=order)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "header.idempotency-key"


def test_the_rules_of_the_app_settings_reach_the_analyses(small_gpkg) -> None:
    """The rules come from the settings ``create_app`` was given (not from the process's environment):
    with contact due 2 h after the call, WO1 (received NOW − 3 h) was due at NOW − 1 h, not NOW + 21 h."""
    settings = SETTINGS.model_copy(update={"rules": Rules(contact_within_hours=2)})
    with TestClient(create_app(str(small_gpkg), settings=settings, web=False)) as c:
        props = c.get("/api/v1/work-orders/WO1", headers=headers("planner")).json()["properties"]
    assert pd.Timestamp(props["contact_due_at"]) == NOW - pd.Timedelta(hours=1)
