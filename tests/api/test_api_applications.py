"""The 业扩 routes on the tiny area: who may read them, what they count, what they mask.

The tiny area has no ``as_of``, so open steps of week 2026-W16 are judged at its end
(Sun 04-19 23:59:59.999; the clock is later). Compared with the hand-worked table in
tests/metrics/test_applications.py (judged Wed 04-15 noon): A5, due 04-15, is now late;
A4, due Mon 04-20, is one working day away (due soon); the other flags are the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import SETTINGS, USERS, headers
from fastapi.testclient import TestClient

from gridservice.api import create_app
from gridservice.io import GeoPackageStore
from tiny_area import build_tiny_area


@pytest.fixture(scope="module")
def tiny_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path: Path = tmp_path_factory.mktemp("api-applications") / "tiny.gpkg"
    GeoPackageStore(path).write({**build_tiny_area().layers, "users": USERS}, create=True)
    with TestClient(create_app(str(path), settings=SETTINGS, web=False)) as c:
        yield c


def test_monitor_is_for_supervisors_and_dispatchers(tiny_client: TestClient) -> None:
    url = "/api/v1/applications/monitor?period=2026-W16"
    assert tiny_client.get(url).status_code == 401
    assert tiny_client.get(url, headers=headers("planner")).status_code == 403
    assert tiny_client.get("/api/v1/applications/sample", headers=headers("planner")).status_code == 403
    for role in ("supervisor", "dispatcher", "admin"):
        assert tiny_client.get(url, headers=headers(role)).status_code == 200


def test_monitor_flags_and_counts(tiny_client: TestClient) -> None:
    body = tiny_client.get("/api/v1/applications/monitor?period=2026-W16", headers=headers("supervisor")).json()
    got = sorted((f["application_id"], f["flag"]) for f in body["flags"])
    assert got == sorted([
        ("A2", "over_time"), ("A3", "over_time"), ("A5", "over_time"), ("A4", "due_soon"), ("A6", "short_time"),
        ("A7", "non_working_day"), ("A8", "one_person"), ("A8", "small_micro_high_voltage"),
        ("A10", "time_order"), ("A11", "future_time"),
    ])
    assert body["period"] == "2026-W16" and body["total"] == 10
    grids = {row["grid_id"]: row for row in body["by"]["grid"]}
    assert (grids["G1"]["total"], grids["G1"]["due_soon"]) == (4, 1)  # A3, A4, A6, A10
    assert (grids["G2"]["total"], grids["G2"]["over_time"]) == (6, 2)  # A2, A5 late; A7, A8 ×2, A11
    handlers = {row["staff_id"]: row for row in body["by"]["handler"]}
    assert handlers["ST4"]["over_time"] == 1 and handlers["ST1"]["due_soon"] == 1
    assert body["by"]["county"][0]["total"] == 10
    only = tiny_client.get("/api/v1/applications/monitor?period=2026-W16&grid_id=G1",
                           headers=headers("supervisor")).json()
    assert only["total"] == 4 and {f["grid_id"] for f in only["flags"]} == {"G1"}
    mine = tiny_client.get("/api/v1/applications/monitor?period=2026-W16&staff_id=ST6",
                           headers=headers("supervisor")).json()
    assert sorted(f["flag"] for f in mine["flags"]) == ["one_person", "small_micro_high_voltage"]
    bad = tiny_client.get("/api/v1/applications/monitor?period=W16", headers=headers("supervisor"))
    assert bad.status_code == 422


def test_callback_list_masks_customers_for_supervisors(tiny_client: TestClient) -> None:
    # April, judged at its end: in progress A3, A4 (C2), A5 (C3), A9, A11 (C4, dated 2027), A14 (C5) → 3 drawn;
    # high voltage accepted in April A8, A9 → 1 drawn.
    url = "/api/v1/applications/sample?period=2026-04"
    full = tiny_client.get(url, headers=headers("dispatcher")).json()["items"]
    masked = tiny_client.get(url, headers=headers("supervisor")).json()["items"]
    assert sorted(r["purpose"] for r in full) == ["audit", "callback", "callback", "callback"]
    names = {"C2": "钱二", "C3": "孙三", "C4": "李四", "C5": "周五"}
    phones = {"C2": "13900000002", "C3": None, "C4": "12345", "C5": "0794-3221234"}
    for plain, hidden in zip(full, masked, strict=True):
        assert plain["application_id"] == hidden["application_id"]
        c = plain["customer_id"]
        assert plain["name"] == names.get(c) and plain["phone"] == phones.get(c)
        if plain["name"] is not None:
            assert hidden["name"] == plain["name"][0] + "*"
        if plain["phone"] is not None:
            assert hidden["phone"] != plain["phone"] and "*" in hidden["phone"]
