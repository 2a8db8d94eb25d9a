"""``gridservice serve --workers 2``: two processes over one GeoPackage, one login, one set of data.

Which worker answers is the kernel's choice; each answer names its process
(``X-Gridservice-Worker``), and reads are repeated, each on a new
connection, until both workers have answered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from serving import serving

#: Reads on new connections until both workers have answered (the kernel hands them out unevenly).
MAX_TRIES = 400


@pytest.fixture
def two_workers(small_copy: Path, tmp_path: Path) -> Iterator[str]:
    log = tmp_path / "server.log"
    with serving(small_copy, log, env={"XDG_CACHE_HOME": str(tmp_path), "GRIDSERVICE_SECRET_KEY": ""},
                 args=["--workers", "2"]) as url:
        yield url
    text = log.read_text()
    assert "dispatcher / dispatcher-demo" in text  # the parent printed the demo logins, once
    assert text.count("dispatcher / dispatcher-demo") == 1


def until_both(read: Callable[[], httpx.Response]) -> dict[str, list[httpx.Response]]:
    """Answers of ``read()`` by worker, until two workers have answered."""
    seen: dict[str, list[httpx.Response]] = {}
    for _ in range(MAX_TRIES):
        r = read()
        seen.setdefault(r.headers["x-gridservice-worker"], []).append(r)
        if len(seen) == 2:
            return seen
    pytest.fail(f"only worker(s) {sorted(seen)} answered {MAX_TRIES} requests")


def test_two_workers_share_logins_and_writes(two_workers: str) -> None:
    login = httpx.post(f"{two_workers}/api/v1/auth/login",
                       json={"username": "dispatcher", "password": "dispatcher-demo"}, timeout=30)
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}

    # the token one worker signed is accepted by both (one key, made by the parent)
    answers = until_both(lambda: httpx.get(f"{two_workers}/api/v1/work-orders", headers=auth, timeout=30))
    assert all(r.status_code == 200 and r.json()["numberMatched"] == 1 for rs in answers.values() for r in rs)

    made = httpx.post(f"{two_workers}/api/v1/work-orders", headers=auth, timeout=30,
                      json={"kind": "repair", "customer_id": "C3", "description": "no power"})
    assert made.status_code == 201, made.text
    order, writer = made.json()["id"], made.headers["x-gridservice-worker"]

    # every read after the write sees it, whichever worker answers
    answers = until_both(lambda: httpx.get(f"{two_workers}/api/v1/work-orders/{order}", headers=auth, timeout=30))
    assert set(answers) - {writer}  # the other worker answered too
    for rs in answers.values():
        for r in rs:
            assert r.status_code == 200, r.text
            assert r.json()["properties"]["grid_id"] == "G2" and r.json()["properties"]["status"] == "received"

    # a status change through one worker is what the other reads next
    moved = httpx.post(f"{two_workers}/api/v1/work-orders/{order}/status", headers=auth, timeout=30,
                       json={"status": "dispatched"})
    assert moved.status_code == 200, moved.text
    answers = until_both(lambda: httpx.get(f"{two_workers}/api/v1/work-orders/{order}", headers=auth, timeout=30))
    assert {r.json()["properties"]["status"] for rs in answers.values() for r in rs} == {"dispatched"}

    # a retry with the same idempotency key gets the first order, whichever worker it reaches
    key = {**auth, "Idempotency-Key": "call-7"}
    first = httpx.post(f"{two_workers}/api/v1/work-orders", headers=key, timeout=30,
                       json={"kind": "consultation", "customer_id": "C1"})
    assert first.status_code == 201
    retries = until_both(lambda: httpx.post(f"{two_workers}/api/v1/work-orders", headers=key, timeout=30,
                                            json={"kind": "consultation", "customer_id": "C1"}))
    assert {r.json()["id"] for rs in retries.values() for r in rs} == {first.json()["id"]}

    # logging out on one worker ends the login on both
    assert httpx.post(f"{two_workers}/api/v1/auth/logout", headers=auth, timeout=30).status_code == 204
    answers = until_both(lambda: httpx.get(f"{two_workers}/api/v1/work-orders", headers=auth, timeout=30))
    assert {r.status_code for rs in answers.values() for r in rs} == {401}
