"""The real server: uvicorn on 127.0.0.1 and 50 concurrent clients creating work orders."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from gridservice.io import GeoPackageStore
from serving import serving

CLIENTS = 50
ORDERS_EACH = 1


@pytest.fixture
def server(small_copy: Path, tmp_path: Path) -> Iterator[str]:
    """``gridservice serve`` in a subprocess; yields its base URL and stops it afterwards."""
    log = tmp_path / "server.log"
    with serving(small_copy, log, env={"XDG_CACHE_HOME": str(tmp_path), "GRIDSERVICE_SECRET_KEY": ""}) as url:
        yield url
    assert "dispatcher / dispatcher-demo" in log.read_text()  # serve printed the demo logins


def test_concurrent_clients_lose_no_work_order(server: str, small_copy: Path) -> None:
    login = httpx.post(f"{server}/api/v1/auth/login", json={"username": "dispatcher", "password": "dispatcher-demo"},
                       timeout=30)
    assert login.status_code == 200
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    start = threading.Barrier(CLIENTS)
    customers = ["C1", "C2", "C3", "C4"]

    def client(i: int) -> list[str]:
        made = []
        with httpx.Client(base_url=server, headers=auth, timeout=120) as c:
            start.wait()
            for j in range(ORDERS_EACH):
                r = c.post("/api/v1/work-orders", json={
                    "kind": "repair" if (i + j) % 2 else "consultation",
                    "customer_id": customers[(i + j) % 4], "description": f"client {i} order {j}"})
                assert r.status_code == 201, r.text
                made.append(r.json()["id"])
        return made

    with ThreadPoolExecutor(CLIENTS) as pool:
        created = [oid for ids in pool.map(client, range(CLIENTS)) for oid in ids]

    assert len(created) == CLIENTS * ORDERS_EACH == len(set(created))
    stored = GeoPackageStore(small_copy).read_layer("work_orders")
    assert stored.index.is_unique
    assert len(stored) == 1 + len(created)  # WO1 of the fixture plus every new order
    assert set(created) <= set(stored.index)
    descriptions = stored.loc[created, "description"]
    assert sorted(descriptions) == sorted(f"client {i} order {j}" for i in range(CLIENTS) for j in range(ORDERS_EACH))
    log = GeoPackageStore(small_copy).read_layer("audit_log")
    logged = log[log["layer"] == "work_orders"]
    assert sorted(logged["feature_id"]) == sorted(created) and set(logged["user"]) == {"dispatcher"}
    # and the server itself lists every one of them
    listed = httpx.get(f"{server}/api/v1/work-orders?limit=1000", headers=auth, timeout=60).json()
    assert listed["numberMatched"] == 1 + len(created)
