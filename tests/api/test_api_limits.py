"""Limits on what one request may cost: body size (413), plan features and vertices (422), heavy work at once (503)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from api_helpers import SETTINGS, headers
from fastapi.testclient import TestClient
from test_api_plans import split_at

from gridservice.api import create_app

HEADERS = {**headers("planner"), "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def tight(small_gpkg) -> Iterator[TestClient]:
    """A server with tiny limits: 4 KiB bodies, 2 grids and 10 vertices a plan, one heavy request at a time."""
    settings = SETTINGS.model_copy(update={"max_body_mb": 4 / 1024, "max_plan_features": 2,
                                           "max_plan_vertices": 10, "heavy_requests": 1})
    with TestClient(create_app(str(small_gpkg), settings=settings, web=False)) as c:
        yield c


def test_a_body_over_the_cap_is_413_before_it_is_read(tight: TestClient) -> None:
    plan = split_at(116.5)
    plan["features"][0]["properties"]["note"] = "x" * 5000  # 5 KB of padding: over 4 KiB
    r = tight.post("/api/v1/plans/check", json={"grids": plan}, headers=HEADERS)
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == "the request body is larger than 4,096 bytes (setting max_body_mb)"
    chunked = tight.post("/api/v1/plans/check", content=iter([json.dumps({"grids": plan}).encode()]), headers=HEADERS)
    assert "content-length" not in chunked.request.headers  # streamed: counted as it comes
    assert chunked.status_code == 413 and chunked.json()["status"] == 413
    assert tight.post("/api/v1/plans/check", json={"grids": split_at(116.5)},
                      headers=HEADERS).status_code == 200  # 2 grids, 10 vertices: at the caps


def test_too_many_features_are_422_naming_the_cap(tight: TestClient) -> None:
    plan = split_at(116.5)
    plan["features"].append({**plan["features"][0], "properties": {"grid_id": "G3"}})
    r = tight.post("/api/v1/plans/preview", json={"grids": plan}, headers=HEADERS)
    assert r.status_code == 422
    assert r.json()["detail"] == ("grids: 3 features; a plan request may carry at most 2 (setting max_plan_features)")


def test_too_many_vertices_are_422_naming_the_feature_and_the_cap(tight: TestClient) -> None:
    plan = split_at(116.5)
    ring = plan["features"][1]["geometry"]["coordinates"][0]
    ring.insert(1, [116.55, 27.10])  # a sixth vertex on G2's south edge: 11 in all
    r = tight.post("/api/v1/plans/check", json={"grids": plan}, headers=HEADERS)
    assert r.status_code == 422
    assert r.json()["detail"] == ("grids: more than 10 vertices by feature 2; a plan request may carry at most 10 "
                                  "(setting max_plan_vertices)")


def test_heavy_work_beyond_the_slots_is_503_with_retry_after(tight: TestClient) -> None:
    body = json.dumps({"grids": split_at(116.5)})
    slots = tight.app.state.heavy
    assert slots.acquire(blocking=False)  # another plan check is running
    try:
        r = tight.post("/api/v1/plans/check", content=body, headers=HEADERS)
        assert r.status_code == 503 and r.headers["retry-after"] == "10"
        assert r.json()["detail"] == "the server is busy with other plans; retry in 10 s"
        assert tight.get("/api/v1/plans", headers=HEADERS).status_code == 200  # light work is not held
    finally:
        slots.release()
    assert tight.post("/api/v1/plans/check", content=body, headers=HEADERS).status_code == 200
    assert slots.acquire(blocking=False)  # the slot came back after the request
    slots.release()
