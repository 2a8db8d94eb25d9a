"""The warnings routes on the tiny area with SAIDI per grid at yellow 10, red 20 min (tests/metrics/test_warnings.py
works the months out: February G2 20 red; March G1 330 red, G2 310 red → G2 escalated after two red months).
Everyone logged in reads; supervisors and admins update and clear."""

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

RULES = SETTINGS.model_copy(update={"rules": SETTINGS.rules.model_copy(
    update={"warning_thresholds": {"saidi_min": {"grid": (10.0, 20.0)}}})})
G1, G2 = "W2026-03-grid-G1-saidi_min", "W2026-02-grid-G2-saidi_min"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    path = tmp_path / "tiny.gpkg"
    GeoPackageStore(path).write({**build_tiny_area().layers, "users": USERS}, create=True)
    with TestClient(create_app(str(path), settings=RULES, web=False)) as c:
        c.path = path  # type: ignore[attr-defined]
        yield c


def test_reading_needs_a_login_writing_a_supervisor(client: TestClient) -> None:
    assert client.get("/api/v1/warnings").status_code == 401
    for role in ("planner", "dispatcher", "supervisor", "admin"):
        assert client.get("/api/v1/warnings", headers=headers(role)).status_code == 200
    for role in ("planner", "dispatcher"):
        r = client.post("/api/v1/warnings/update", json={"period": "2026-02"}, headers=headers(role))
        assert r.status_code == 403
    assert client.post("/api/v1/warnings/update", json={"period": "2026-02"}).status_code == 401
    assert client.post("/api/v1/warnings/update", json={"period": "2026-W07"},
                       headers=headers("supervisor")).status_code == 422


def test_two_red_months_escalate_and_a_supervisor_clears(client: TestClient) -> None:
    feb = client.post("/api/v1/warnings/update", json={"period": "2026-02"}, headers=headers("supervisor"))
    assert feb.status_code == 200, feb.text
    assert feb.json()["opened"] == [G2]
    mar = client.post("/api/v1/warnings/update", json={"period": "2026-03"}, headers=headers("admin")).json()
    assert (mar["opened"], mar["kept"], mar["escalated"]) == ([G1], [G2], [G2])
    body = client.get("/api/v1/warnings?open=true&level=grid", headers=headers("planner")).json()
    assert (body["open"], body["red"], body["escalated"]) == (2, 2, 1)
    items = {i["warning_id"]: i for i in body["items"]}
    assert items[G2]["red_months"] == 2 and items[G2]["escalated"] and items[G2]["title_zh"] == "户均停电时间"
    assert items[G1]["value"] == pytest.approx(330) and not items[G1]["escalated"]
    assert body["indicators"] == [{"indicator": "saidi_min", "level": "grid", "yellow": 10.0, "red": 20.0,
                                   "unit": "min", "worse": "higher", "title_zh": "户均停电时间"}]

    url = f"/api/v1/warnings/{G1}/clear"
    assert client.post(url, json={"note": "已整改"}, headers=headers("dispatcher")).status_code == 403
    assert client.post(url, json={"note": ""}, headers=headers("supervisor")).status_code == 422
    done = client.post(url, json={"note": "已整改"}, headers=headers("supervisor"))
    assert done.status_code == 200, done.text
    assert (done.json()["cleared_by"], done.json()["note"]) == ("supervisor", "已整改")
    assert client.post(url, json={"note": "again"}, headers=headers("supervisor")).status_code == 409
    assert client.post("/api/v1/warnings/W-nope/clear", json={"note": "x"},
                       headers=headers("supervisor")).status_code == 404
    still = client.get("/api/v1/warnings?open=true", headers=headers("supervisor")).json()
    assert [i["warning_id"] for i in still["items"]] == [G2]
    back = client.post("/api/v1/warnings/update", json={"period": "2026-02"}, headers=headers("supervisor"))
    assert back.status_code == 422 and "months go forward" in back.text

    stored = ServiceArea.load(str(client.path))  # type: ignore[attr-defined]
    assert stored.warnings.loc[G1, "note"] == "已整改"
    assert stored.warnings.loc[G2, "red_since"] == "2026-02"
    log = stored.audit_log[stored.audit_log["layer"] == "warnings"]
    assert sorted(log["action"]) == ["warnings.clear", "warnings.update", "warnings.update"]
    assert "2026-03: opened 1, kept 1, cleared 0, escalated 1" in set(log["detail"])


def test_the_service_stars_of_a_week(client: TestClient) -> None:
    """2026-W12 on the tiny area as stored (no added visits or warnings; tests/metrics/test_stars.py): ST2 closed
    W8 on time and has W4's complaint on G1 → 2 + 10 − 5 = 7; ST6 has the same complaint → −5; ST4 nothing → 0."""
    assert client.get("/api/v1/stars?week=2026-W12").status_code == 401
    body = client.get("/api/v1/stars?week=2026-W12", headers=headers("planner")).json()
    assert body["method"].startswith("score = 2 × orders_handled + 0.1 × on_time_pct")
    assert [(i["staff_id"], i["score"], i["rank"]) for i in body["items"]] == [
        ("ST2", 7.0, 1), ("ST4", 0.0, 2), ("ST6", -5.0, 3)]
    assert client.get("/api/v1/stars?week=2026-12", headers=headers("planner")).status_code == 422
