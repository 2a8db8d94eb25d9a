"""The theft routes on the tiny area with the readings of tests/metrics/test_theft.py (same short rules):
who may read and write, what they list and mask, and a field check's outcome reaching the rule precision."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import SETTINGS, USERS, headers
from fastapi.testclient import TestClient

from gridservice.api import create_app
from gridservice.io import GeoPackageStore
from gridservice.model import ServiceArea
from tiny_area import build_tiny_area, theft_layers

SHORT = SETTINGS.model_copy(update={"rules": SETTINGS.rules.model_copy(
    update={"theft_baseline_months": 3, "theft_recent_months": 2})})
URL = "/api/v1/theft/suspects?period=2026-03"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    path = tmp_path / "tiny.gpkg"
    base = build_tiny_area()
    GeoPackageStore(path).write({**base.layers, **theft_layers(base), "users": USERS}, create=True)
    with TestClient(create_app(str(path), settings=SHORT, web=False)) as c:
        c.path = path  # type: ignore[attr-defined]
        yield c


def test_suspects_are_for_supervisors_and_dispatchers(client: TestClient) -> None:
    assert client.get(URL).status_code == 401
    assert client.get(URL, headers=headers("planner")).status_code == 403
    for role in ("supervisor", "dispatcher", "admin"):
        assert client.get(URL, headers=headers(role)).status_code == 200


def test_suspects_ranked_with_their_series_and_masked_names(client: TestClient) -> None:
    body = client.get(URL, headers=headers("supervisor")).json()
    assert body["total"] == 4 and body["transformers"] == 2
    assert [(i["transformer_id"], i["rank"], i["meter_id"]) for i in body["items"]] == [
        ("T1", 1, "M2"), ("T1", 2, "M1"), ("T2", 1, "M4"), ("T2", 2, "M5")]
    assert body["items"][0]["series"] == [200.0, 220.0, 180.0, 60.0, 50.0]
    assert body["months"] == ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    assert body["items"][0]["name"] == "钱*"  # 钱二, masked for a supervisor
    full = client.get(URL, headers=headers("dispatcher")).json()
    assert full["items"][0]["name"] == "钱二"
    mine = client.get(URL + "&staff_id=ST5", headers=headers("supervisor")).json()
    assert [i["meter_id"] for i in mine["items"]] == ["M4", "M5"]
    assert {p["rule"]: p["precision"] for p in body["precision"]}["flat"] == 0.5


def test_a_field_check_and_its_outcome_reweight_the_rule(client: TestClient) -> None:
    order = {"meter_id": "M1", "rules": ["flat"], "staff_id": "ST3", "ordered_at": "2026-04-01T09:00:00+08:00"}
    assert client.post("/api/v1/theft/checks", json=order, headers=headers("supervisor")).status_code == 403
    made = client.post("/api/v1/theft/checks", json=order, headers=headers("dispatcher"))
    assert made.status_code == 201, made.text
    check = made.json()
    assert (check["customer_id"], check["rules"], check["outcome"]) == ("C1", "flat", None)
    url = f"/api/v1/theft/checks/{check['check_id']}/outcome"
    early = client.post(url, json={"outcome": "no_fault", "at": "2026-03-31T09:00:00+08:00"},
                        headers=headers("dispatcher"))
    assert early.status_code == 422 and "before it was ordered" in early.text
    done = client.post(url, json={"outcome": "no_fault", "at": "2026-04-02T10:00:00+08:00"},
                       headers=headers("dispatcher"))
    assert done.status_code == 200, done.text
    again = client.post(url, json={"outcome": "theft"}, headers=headers("dispatcher"))
    assert again.status_code == 409
    body = client.get(URL, headers=headers("supervisor")).json()
    assert {p["rule"]: p["precision"] for p in body["precision"]}["flat"] == pytest.approx(1 / 3)  # (0+1)/(1+2)
    assert {i["meter_id"]: i["score"] for i in body["items"]}["M1"] == pytest.approx(0.333)
    # the store holds the check and its audit records
    stored = ServiceArea.load(str(client.path))  # type: ignore[attr-defined]
    assert stored.meter_checks.loc[check["check_id"], "outcome"] == "no_fault"
    log = stored.audit_log[stored.audit_log["layer"] == "meter_checks"]
    assert sorted(log["action"]) == ["order", "outcome:no_fault"]


def test_unknown_meter_and_rule_are_refused(client: TestClient) -> None:
    bad = client.post("/api/v1/theft/checks", json={"meter_id": "NOPE", "rules": ["flat"]},
                      headers=headers("dispatcher"))
    assert bad.status_code == 404 and "NOPE" in bad.text
    bad = client.post("/api/v1/theft/checks", json={"meter_id": "M1", "rules": ["magic"]},
                      headers=headers("dispatcher"))
    assert bad.status_code == 422
    assert client.post("/api/v1/theft/checks/FC-none/outcome", json={"outcome": "theft"},
                       headers=headers("dispatcher")).status_code == 404
