"""Customer search, masking by role and the customer card."""

from __future__ import annotations

import pytest
from api_helpers import headers
from fastapi.testclient import TestClient


def ids(client: TestClient, q: str, role: str = "dispatcher") -> list[str]:
    r = client.get("/api/v1/customers/search", params={"q": q}, headers=headers(role))
    assert r.status_code == 200
    return [h["customer_id"] for h in r.json()["items"]]


@pytest.mark.parametrize(("query", "first", "match"), [
    ("C3", "C3", "customer_id"),
    ("M4", "C4", "meter_id"),
    ("13812345678", "C1", "phone"),
    ("138 1234 5678", "C1", "phone"),
    ("4321", "C2", "phone"),           # the last digits of 13987654321
    ("张三", "C1", "name"),
    ("zhangsan", "C1", "pinyin"),
    ("oynn", "C4", "initials"),        # 欧阳娜娜 → ou yang na na
    ("ouyang", "C4", "pinyin"),
    ("娜娜", "C4", "name"),            # part of a name
    ("西街9", "C4", "address"),        # part of an address
    ("zhangshan", "C1", "fuzzy"),      # a typo in the pinyin
])
def test_search_finds_each_kind_of_key(client: TestClient, query: str, first: str, match: str) -> None:
    r = client.get("/api/v1/customers/search", params={"q": query}, headers=headers("dispatcher"))
    hit = r.json()["items"][0]
    assert (hit["customer_id"], hit["match"]) == (first, match)


def test_search_ranks_exact_before_partial(client: TestClient) -> None:
    # "琴城镇" is in the addresses of C1 and C2 only
    assert sorted(ids(client, "琴城镇")) == ["C1", "C2"]
    assert ids(client, "nobody-like-this") == []


def test_planner_sees_masked_phones_and_names(client: TestClient) -> None:
    planner = client.get("/api/v1/customers/search?q=C1", headers=headers("planner")).json()["items"][0]
    assert (planner["name"], planner["phone"]) == ("张*", "138****5678")
    dispatcher = client.get("/api/v1/customers/search?q=C1", headers=headers("dispatcher")).json()["items"][0]
    assert (dispatcher["name"], dispatcher["phone"]) == ("张三", "13812345678")
    card = client.get("/api/v1/customers/C4", headers=headers("supervisor")).json()
    assert (card["customer"]["name"], card["customer"]["phone"]) == ("欧***", "136****2222")
    listing = client.get("/api/v1/customers?grid_id=G1", headers=headers("planner")).json()
    assert {f["properties"]["phone"] for f in listing["features"]} == {"138****5678", "139****4321"}


def test_customer_card(client: TestClient) -> None:
    card = client.get("/api/v1/customers/C3", headers=headers("dispatcher")).json()
    assert card["customer"]["name"] == "王五"
    assert card["location"] == {"lon": 116.54, "lat": 27.19}
    assert card["grid"]["grid_id"] == "G2" and [s["staff_id"] for s in card["staff"]] == ["P3", "P4"]
    assert [p["device_id"] for p in card["supply_path"]] == ["M3", "T2", "F1", "B1"]
    assert [o["outage_id"] for o in card["active_outages"]] == ["O1"]  # the outage on T2 cuts C3 off
    assert card["open_work_orders"] == []
    c1 = client.get("/api/v1/customers/C1", headers=headers("dispatcher")).json()
    assert [w["work_order_id"] for w in c1["open_work_orders"]] == ["WO1"]
    assert c1["active_outages"] == []
    assert client.get("/api/v1/customers/C9", headers=headers("dispatcher")).status_code == 404


def test_customer_listing_pages(client: TestClient) -> None:
    fc = client.get("/api/v1/customers?limit=3&offset=2", headers=headers("dispatcher")).json()
    assert [f["id"] for f in fc["features"]] == ["C3", "C4"]
    assert fc["numberMatched"] == 4


def test_network_traces(client: TestClient) -> None:
    up = client.get("/api/v1/network/C4/upstream", headers=headers("dispatcher")).json()
    assert [p["device_id"] for p in up["path"]] == ["C4", "M4", "T2", "F1", "B1"]
    down = client.get("/api/v1/network/F1/downstream", headers=headers("dispatcher")).json()
    assert down["customers"] == 4 and down["grids"] == {"G1": 2, "G2": 2}
    assert sorted(down["devices"]) == ["T1", "T2"]
    assert client.get("/api/v1/network/X9/downstream", headers=headers("dispatcher")).status_code == 404
