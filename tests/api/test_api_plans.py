"""Plan check, preview, commit with optimistic locking, history and revert."""

from __future__ import annotations

from api_helpers import headers
from fastapi.testclient import TestClient

from gridservice.api.routes.customers import customer_index
from gridservice.io import GeoPackageStore


def split_at(lon: float) -> dict:
    """The two grids with their shared edge moved to ``lon``."""
    def poly(x0: float, x1: float) -> dict:
        return {"type": "Polygon", "coordinates": [[[x0, 27.10], [x1, 27.10], [x1, 27.30], [x0, 27.30], [x0, 27.10]]]}
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"grid_id": "G1"}, "geometry": poly(116.40, lon)},
        {"type": "Feature", "id": "G2", "properties": {}, "geometry": poly(lon, 116.60)},
    ]}


def test_check_and_preview_say_what_moves(client: TestClient) -> None:
    h = headers("planner")
    check = client.post("/api/v1/plans/check", json={"grids": split_at(116.43)}, headers=h).json()
    assert check["errors"] == 0
    preview = client.post("/api/v1/plans/preview", json={"grids": split_at(116.43)}, headers=h).json()
    # moving the edge west of lon 116.44 hands C1, C2, T1 and C1's open complaint WO1 to G2
    assert preview["move_counts"] == {"customers": 2, "transformers": 1, "work_orders": 1}
    assert {(m["feature_id"], m["to_grid_id"]) for m in preview["moves"]} == {
        ("C1", "G2"), ("C2", "G2"), ("T1", "G2"), ("WO1", "G2")}
    after = {s["grid_id"]: s["customers_after"] for s in preview["summary"]}
    assert after == {"G1": 0, "G2": 4}


def test_commit_then_a_stale_commit_is_409(write_client: TestClient, small_copy) -> None:
    h = headers("planner")
    write_client.get("/api/v1/customers/search?q=C1", headers=h)
    holder = write_client.app.state.holder  # type: ignore[attr-defined]
    index = customer_index(holder.get())
    r = write_client.post("/api/v1/plans/commit", json={"grids": split_at(116.43), "base_version": 1,
                                                         "note": "move the edge"}, headers=h)
    assert r.status_code == 201 and r.json()["plan_version"] == 2
    # names, phones and addresses did not change: the reload keeps the search index
    hit = write_client.get("/api/v1/customers/search?q=C1", headers=h).json()["items"][0]
    assert hit["grid_id"] == "G2" and customer_index(holder.get()) is index
    # the server reloads: G2 now holds all four customers
    g2 = write_client.get("/api/v1/grids/G2", headers=h).json()["properties"]
    assert g2["customers"] == 4
    stale = write_client.post("/api/v1/plans/commit", json={"grids": split_at(116.47), "base_version": 1,
                                                             "note": "also based on 1"}, headers=h)
    assert stale.status_code == 409 and stale.json()["error"] == "ConflictError"
    history = write_client.get("/api/v1/plans", headers=headers("supervisor")).json()
    assert history["current_version"] == 2 and [v["plan_version"] for v in history["versions"]] == [1, 2]
    v1 = write_client.get("/api/v1/plans/1", headers=h).json()
    assert {f["id"] for f in v1["features"]} == {"G1", "G2"}
    back = write_client.post("/api/v1/plans/1/revert?base_version=2", headers=h)
    assert back.status_code == 201 and back.json()["plan_version"] == 3
    assert write_client.get("/api/v1/grids/G2", headers=h).json()["properties"]["customers"] == 2
    log = GeoPackageStore(small_copy).read_layer("audit_log")
    assert "planner" in set(log["user"])


def test_a_supervisor_cannot_commit_a_plan(client: TestClient) -> None:
    r = client.post("/api/v1/plans/commit", json={"grids": split_at(116.43), "base_version": 1},
                    headers=headers("supervisor"))
    assert r.status_code == 403
    assert client.post("/api/v1/plans/1/revert?base_version=1", headers=headers("dispatcher")).status_code == 403


def test_an_invalid_plan_is_422_with_geojson_problems(client: TestClient) -> None:
    plan = split_at(116.50)
    plan["features"][0]["geometry"]["coordinates"] = [[[116.40, 27.10], [116.50, 27.30], [116.50, 27.10],
                                                        [116.40, 27.30], [116.40, 27.10]]]  # a bow tie
    r = client.post("/api/v1/plans/commit", json={"grids": plan, "base_version": 1}, headers=headers("planner"))
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "InvalidPlanError" and body["problems"]["type"] == "FeatureCollection"
    checks = {f["properties"]["check"] for f in body["problems"]["features"]}
    assert "invalid_polygon" in checks
    assert all(f["properties"]["severity"] == "error" for f in body["problems"]["features"])


def test_malformed_plans_are_422(client: TestClient) -> None:
    h = headers("planner")
    r = client.post("/api/v1/plans/check", json={"grids": {"type": "Feature"}}, headers=h)
    assert r.status_code == 422 and "FeatureCollection" in r.json()["detail"]
    triangle = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 1], [0, 0]]]}
    no_id = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": triangle}]}
    r = client.post("/api/v1/plans/check", json={"grids": no_id}, headers=h)
    assert r.status_code == 422 and "grid_id" in r.json()["detail"]
    assert client.post("/api/v1/plans/commit", json={"grids": split_at(116.43)}, headers=h).status_code == 422


def test_unusable_geometries_are_422_naming_the_feature(client: TestClient) -> None:
    h = headers("planner")
    for geometry, problem in (
        ({"type": "Hexagon", "coordinates": []}, "unreadable geometry"),
        ({"type": "Polygon", "coordinates": [[[116.4, 27.1], ["NaN", 27.3], [116.5, 27.3], [116.4, 27.1]]]},
         "not a finite number"),
        ({"type": "Polygon", "coordinates": [[[116.4, 27.1]] * 4]}, "a single point"),
    ):
        plan = split_at(116.43)
        plan["features"][1]["geometry"] = geometry
        for step in ("check", "preview"):
            r = client.post(f"/api/v1/plans/{step}", json={"grids": plan}, headers=h)
            assert r.status_code == 422, r.text
            assert "feature 2 (G2)" in r.json()["detail"] and problem in r.json()["detail"]


def test_the_grids_as_served_commit_as_a_plan(write_client: TestClient) -> None:
    h = headers("planner")
    served = write_client.get("/api/v1/grids", headers=h).json()
    assert "customers" in served["features"][0]["properties"]  # the live counts ride along
    r = write_client.post("/api/v1/plans/commit", json={"grids": served, "base_version": 1,
                                                         "forced_reason": "unchanged"}, headers=h)
    assert r.status_code == 201, r.text
    again = write_client.get("/api/v1/grids", headers=h)
    assert again.status_code == 200
    counts = {f["id"]: f["properties"]["customers"] for f in again.json()["features"]}
    assert counts == {f["id"]: f["properties"]["customers"] for f in served["features"]}
    assert "customers" not in GeoPackageStore(write_client.app.state.holder.store.url).read_layer("grids").columns


def test_a_version_that_never_was_and_a_slash_in_an_id_are_422(client: TestClient) -> None:
    h = headers("planner")
    for base in (99, -5):
        r = client.post("/api/v1/plans/commit", json={"grids": split_at(116.43), "base_version": base}, headers=h)
        assert r.status_code == 422 and "no plan version" in r.json()["detail"], r.text
    plan = split_at(116.43)
    plan["features"][0]["properties"]["grid_id"] = "G/1"
    r = client.post("/api/v1/plans/check", json={"grids": plan}, headers=h)
    assert r.status_code == 422 and "'/'" in r.json()["detail"]


def test_propose_then_commit_the_draft(write_client: TestClient, small_copy) -> None:
    import shapely.geometry

    from gridservice.spatial.propose import propose_plan
    from gridservice.workspace import open_area

    h = headers("planner")
    options = {"grids": 2, "weights": {"households": 1}, "seed": 3}
    r = write_client.post("/api/v1/plans/propose", json=options, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    # the same options give the same plan as the domain function (and so as `gridservice plan propose`)
    direct = propose_plan(open_area(str(small_copy)), grids=2, weights={"households": 1}, seed=3)
    got = {f["properties"]["grid_id"]: shapely.geometry.shape(f["geometry"]) for f in body["grids"]["features"]}
    assert set(got) == set(direct.grids.index)
    assert all(got[g].equals_exact(direct.grids.geometry[g], 1e-9) for g in got)
    assert body["proposal"]["grids"] == 2 and body["proposal"]["households"] == 4
    assert {s["grid_id"] for s in body["grid_scores"]} == set(got)
    assert body["current"]["grids"] == 2 and body["removed_grids"] == []
    # locked grids stay exactly as they are
    locked = write_client.post("/api/v1/plans/propose", json={**options, "lock": ["G1"]}, headers=h).json()
    g1 = next(f for f in locked["grids"]["features"] if f["properties"]["grid_id"] == "G1")
    served = write_client.get("/api/v1/grids/G1", headers=h).json()
    assert shapely.geometry.shape(g1["geometry"]).equals(shapely.geometry.shape(served["geometry"]))
    # the draft goes through commit like a drawn plan
    r = write_client.post("/api/v1/plans/commit", json={"grids": body["grids"], "base_version": 1, "complete": True,
                                                         "note": "proposal"}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["plan_version"] == 2


def test_propose_refuses_bad_options_and_other_roles(client: TestClient) -> None:
    h = headers("planner")
    for bad in ({}, {"grids": 2, "households_per_member": 100}, {"grids": 2, "weights": {"kwh": 1}},
                {"grids": 0}, {"grids": 2, "lock": ["NOPE"]}):
        r = client.post("/api/v1/plans/propose", json=bad, headers=h)
        assert r.status_code in (404, 422), (bad, r.status_code, r.text)
    assert client.post("/api/v1/plans/propose", json={"grids": 2}, headers=headers("dispatcher")).status_code == 403


def test_outlines_to_edit_are_the_planners(client: TestClient) -> None:
    import shapely.geometry

    h = headers("planner")
    r = client.get("/api/v1/plans/outlines", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["tolerance_m"] == 20.0  # the rule's default
    served = {f["id"]: f for f in client.get("/api/v1/grids", headers=h).json()["features"]}
    # the two grids are rectangles: nothing to simplify, each keeps its four corners at the served coordinates
    for f in body["features"]:
        full = served[f["id"]]["geometry"]["coordinates"][0]
        assert f["properties"]["handles"] == 4 and f["properties"]["vertices"] == len(full) - 1
        (positions,) = f["properties"]["vertex_index"][0]
        assert [full[i] for i in positions] == f["geometry"]["coordinates"][0]
        assert shapely.geometry.shape(f["geometry"]).equals(shapely.geometry.shape(served[f["id"]]["geometry"]))
    assert client.get("/api/v1/plans/outlines?tolerance_m=5", headers=h).json()["tolerance_m"] == 5.0
    assert client.get("/api/v1/plans/outlines?tolerance_m=-1", headers=h).status_code == 422
    assert client.get("/api/v1/plans/outlines", headers=headers("supervisor")).status_code == 403
