"""Grids with staff and counts, locate by point."""

from __future__ import annotations

from api_helpers import headers
from fastapi.testclient import TestClient


def test_grids_are_geojson_with_live_counts(client: TestClient) -> None:
    r = client.get("/api/v1/grids", headers=headers("supervisor"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and fc["numberMatched"] == 2
    props = {f["id"]: f["properties"] for f in fc["features"]}
    # G1 holds C1, C2, T1, staff P1+P2 and the open complaint WO1; G2 holds C3, C4, T2, P3+P4
    assert {k: props["G1"][k] for k in ("customers", "transformers", "staff", "open_work_orders")} == \
        {"customers": 2, "transformers": 1, "staff": 2, "open_work_orders": 1}
    assert {k: props["G2"][k] for k in ("customers", "transformers", "staff", "open_work_orders")} == \
        {"customers": 2, "transformers": 1, "staff": 2, "open_work_orders": 0}
    assert fc["features"][0]["geometry"]["type"] == "Polygon"


def test_grid_paging(client: TestClient) -> None:
    fc = client.get("/api/v1/grids?limit=1&offset=1", headers=headers("planner")).json()
    assert [f["id"] for f in fc["features"]] == ["G2"]
    assert (fc["numberMatched"], fc["numberReturned"], fc["limit"], fc["offset"]) == (2, 1, 1, 1)
    assert client.get("/api/v1/grids?limit=0", headers=headers("planner")).status_code == 422


def test_one_grid_with_staff_and_station(client: TestClient) -> None:
    f = client.get("/api/v1/grids/G2", headers=headers("dispatcher")).json()
    assert f["id"] == "G2" and f["properties"]["station"]["name"] == "琴城供电所"
    assert "territory" not in f["properties"]["station"]  # a station's polygon is not repeated in every grid
    assert {(s["staff_id"], s["role"]) for s in f["properties"]["staff"]} == {("P3", "grid_manager"),
                                                                             ("P4", "area_manager")}
    r = client.get("/api/v1/grids/G9", headers=headers("dispatcher"))
    assert r.status_code == 404 and "G9" in r.json()["detail"]


def test_locate_a_point(client: TestClient) -> None:
    west = client.get("/api/v1/locate?lon=116.45&lat=27.2", headers=headers("dispatcher")).json()
    assert west["grid"]["grid_id"] == "G1" and west["staff"][0]["staff_id"] == "P1"
    east = client.get("/api/v1/locate", params={"lon": 116.57, "lat": 27.12}, headers=headers("dispatcher")).json()
    assert east["grid"]["grid_id"] == "G2"
    again = client.get("/api/v1/locate?lon=116.41&lat=27.29", headers=headers("dispatcher")).json()
    assert again["grid"] == west["grid"] and again["staff"] == west["staff"]
    assert again["location"] == {"lon": 116.41, "lat": 27.29}
    outside = client.get("/api/v1/locate?lon=117.0&lat=27.2", headers=headers("dispatcher"))
    assert outside.status_code == 404
    bad = client.get("/api/v1/locate?lon=200&lat=abc", headers=headers("dispatcher"))
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"query.lon", "query.lat"}


def test_health_needs_no_login_and_tells_only_liveness(client: TestClient) -> None:
    assert set(client.get("/api/v1/health").json()) == {"status", "version"}  # no area name, no customer count
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "gridservice"
