"""The store out of reach: 503 with Retry-After as problem details, and back by itself when the store is."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import httpx
import pytest
from api_helpers import headers
from fastapi.testclient import TestClient

from gridservice.io import GeoPackageStore


def assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["retry-after"]) > 0
    body = r.json()
    assert body["status"] == 503 and body["title"] == "Service Unavailable" and body["instance"] == r.request.url.path
    assert body["error"] in {"StoreUnavailable", "StoreError"}


def order(client: TestClient, customer: str) -> httpx.Response:
    return client.post("/api/v1/work-orders", headers=headers("dispatcher"),
                       json={"kind": "repair", "customer_id": customer})


def test_the_file_moved_away_and_back(write_client: TestClient, small_copy: Path) -> None:
    listed = write_client.get("/api/v1/work-orders", headers=headers("dispatcher"))
    assert listed.status_code == 200
    aside = small_copy.with_name("aside.gpkg")
    os.replace(small_copy, aside)
    assert_unavailable(write_client.get("/api/v1/work-orders", headers=headers("dispatcher")))
    assert_unavailable(order(write_client, "C1"))
    assert write_client.get("/api/v1/health").status_code == 200  # liveness needs no store

    os.replace(aside, small_copy)
    again = write_client.get("/api/v1/work-orders", headers=headers("dispatcher"))
    assert again.status_code == 200 and again.json() == listed.json()
    made = order(write_client, "C1")
    assert made.status_code == 201
    assert made.json()["id"] in GeoPackageStore(small_copy).read_layer("work_orders").index


def test_a_file_that_is_not_yet_a_geopackage(write_client: TestClient, small_copy: Path) -> None:
    aside = small_copy.with_name("aside.gpkg")
    os.replace(small_copy, aside)
    small_copy.write_bytes(b"")  # a restore that has not finished copying
    assert_unavailable(write_client.get("/api/v1/grids", headers=headers("planner")))
    os.replace(aside, small_copy)
    assert write_client.get("/api/v1/grids", headers=headers("planner")).status_code == 200


def test_locked_by_another_program(write_client: TestClient, small_copy: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gridservice.io.store.BUSY_S", 0.2)
    con = sqlite3.connect(small_copy, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")  # QGIS in the middle of saving edits
    try:
        assert_unavailable(order(write_client, "C2"))
    finally:
        con.execute("ROLLBACK")
        con.close()
    made = order(write_client, "C2")
    assert made.status_code == 201
    stored = GeoPackageStore(small_copy).read_layer("work_orders")
    assert list(stored.loc[stored["customer_id"] == "C2"].index) == [made.json()["id"]]  # the refused one left nothing
