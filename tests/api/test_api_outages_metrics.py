"""Outages, call grouping, KPIs, line loss, audit findings and maps through the API."""

from __future__ import annotations

import pandas as pd
from api_helpers import NOW, SETTINGS, headers, small_frames
from fastapi.testclient import TestClient

from gridservice.api import create_app
from gridservice.io import GeoPackageStore
from gridservice.model import ServiceArea


def test_active_outages_and_impact(client: TestClient) -> None:
    h = headers("dispatcher")
    active = client.get("/api/v1/outages?active=true", headers=h).json()
    assert [o["outage_id"] for o in active["items"]] == ["O1"]
    impact = client.get("/api/v1/outages/O1/impact", headers=h).json()
    # T2 supplies C3 and C4, both in G2, whose managers P3 (grid) and P4 (area) must be told
    assert impact["customers_affected"] == 2 and sorted(impact["customer_ids"]) == ["C3", "C4"]
    assert impact["grids"] == {"G2": 2} and {s["staff_id"] for s in impact["staff"]} == {"P3", "P4"}
    feeder = client.get("/api/v1/outages/impact?device_id=F1", headers=h).json()
    assert feeder["customers_affected"] == 4 and feeder["grids"] == {"G1": 2, "G2": 2}
    assert client.get("/api/v1/outages/impact?device_id=NOPE", headers=h).status_code == 404


def test_create_and_close_an_outage(write_client: TestClient, small_copy) -> None:
    assert write_client.post("/api/v1/outages", json={"device_id": "T1", "kind": "planned"},
                             headers=headers("planner")).status_code == 403
    started = (NOW - pd.Timedelta(hours=2)).isoformat()  # the clock is frozen: closing "now" must come later
    r = write_client.post("/api/v1/outages", json={"device_id": "T1", "kind": "planned", "cause": "检修",
                                                   "start_at": started}, headers=headers("dispatcher"))
    assert r.status_code == 201
    made = r.json()
    assert made["customers_affected"] == 2 and made["end_at"] is None
    oid = made["outage_id"]
    active = write_client.get("/api/v1/outages?active=true", headers=headers("supervisor")).json()
    assert sorted(o["outage_id"] for o in active["items"]) == sorted(["O1", oid])
    closed = write_client.post(f"/api/v1/outages/{oid}/close", json={}, headers=headers("dispatcher"))
    assert closed.status_code == 200 and closed.json()["end_at"] is not None
    again = write_client.post(f"/api/v1/outages/{oid}/close", json={}, headers=headers("dispatcher"))
    assert again.status_code == 409
    stored = GeoPackageStore(small_copy).read_layer("outages")
    assert stored.loc[oid, "end_at"] is not None and len(stored) == 2
    log = GeoPackageStore(small_copy).read_layer("audit_log")
    assert sorted(log.loc[log["feature_id"] == oid, "action"]) == ["close", "create"]
    bad = write_client.post("/api/v1/outages", json={"device_id": "T1", "kind": "sometimes"},
                            headers=headers("dispatcher"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.kind"


def test_calls_group_to_the_shared_transformer(client: TestClient) -> None:
    r = client.post("/api/v1/calls/group", headers=headers("dispatcher"),
                    json={"calls": [{"customer_id": "C1"}, {"customer_id": "C2"}], "min_calls": 2})
    groups = r.json()["groups"]
    # C1 and C2 are all of T1's customers: T1 is the probable faulted device
    assert (groups[0]["device_id"], groups[0]["calls"]) == ("T1", 2)
    # calls from C3 are explained by the running outage O1 on T2
    linked = client.post("/api/v1/calls/group", headers=headers("dispatcher"),
                         json={"calls": [{"customer_id": "C3"}]}).json()["groups"]
    assert linked[0]["outage_id"] == "O1"
    assert client.post("/api/v1/calls/group", json={"calls": []}, headers=headers("dispatcher")).status_code == 422


def test_kpis_line_loss_and_audit(client: TestClient) -> None:
    h = headers("supervisor")
    kpi = client.get("/api/v1/kpis?period=2026-01&by=grid", headers=h).json()
    assert {row["grid_id"]: row["customers"] for row in kpi["items"]} == {"G1": 2, "G2": 2}
    area = client.get("/api/v1/kpis?period=2026-01&by=area", headers=h).json()
    assert len(area["items"]) == 1
    loss = client.get("/api/v1/line-loss?period=2026-01", headers=h).json()
    # no readings at all: both transformer areas are out of service
    assert loss["total"] == 2 and {row["class"] for row in loss["items"]} == {"out_of_service"}
    assert client.get("/api/v1/kpis?period=last-month", headers=h).status_code == 422
    found = client.get("/api/v1/audit", headers=h).json()
    assert found["findings"]["type"] == "FeatureCollection" and found["total"] == len(found["findings"]["features"])
    assert sum(row["total"] for row in found["by_grid"]) == found["total"]
    rules = client.get("/api/v1/audit/rules", headers=h).json()["rules"]
    assert len(rules) > 5 and all({"rule_id", "severity", "zh", "en"} <= set(r) for r in rules)


def test_maps_are_html_with_local_assets(client: TestClient) -> None:
    r = client.get("/maps/coverage?lang=en&basemap=none", headers=headers("supervisor"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "/maps/assets/" in r.text and "cdn.jsdelivr" not in r.text
    asset = r.text.split('src="/maps/assets/')[1].split('"')[0]
    assert client.get(f"/maps/assets/{asset}").status_code == 200
    assert client.get("/maps/nowhere", headers=headers("supervisor")).status_code == 422
    assert client.get("/maps/coverage").status_code == 401


def test_line_loss_rows_carry_their_transformer_location(client: TestClient, small_gpkg) -> None:
    rows = client.get("/api/v1/line-loss?period=2026-01", headers=headers("supervisor")).json()["items"]
    assert rows
    where = GeoPackageStore(small_gpkg).read_layer("transformers").geometry
    for row in rows:
        point = where.loc[row["transformer_id"]]
        assert (row["lon"], row["lat"]) == (point.x, point.y)


def test_weekly_report_downloads_as_excel_and_html(client: TestClient) -> None:
    import io

    import openpyxl

    h = headers("supervisor")
    xlsx = client.get("/api/v1/reports?period=2026-W10", headers=h)
    assert xlsx.status_code == 200 and "2026-W10" in xlsx.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert len(book.sheetnames) > 1
    html = client.get("/api/v1/reports?period=2026-03&format=html", headers=h)
    assert html.status_code == 200 and html.text.lstrip().lower().startswith("<!doctype html")
    assert client.get("/api/v1/reports?period=someday", headers=h).status_code == 422
    assert client.get("/api/v1/reports?period=2026-03").status_code == 401


def test_line_loss_wants_a_month_and_known_classes(client: TestClient) -> None:
    h = headers("supervisor")
    for query in ("period=2026-W03", "period=2026-01-05", "period=2026-01&class=huge"):
        r = client.get(f"/api/v1/line-loss?{query}", headers=h)
        assert r.status_code == 422, (query, r.text)
    assert "per month" in client.get("/api/v1/line-loss?period=2026-W03", headers=h).json()["detail"]
    assert client.get("/api/v1/line-loss?period=2026-01&class=high", headers=h).status_code == 200


def test_active_outages_of_a_snapshot_are_those_at_its_as_of(tmp_path) -> None:
    """A snapshot taken at NOW − 1 h: O1 (from NOW − 2 h) ended at NOW − 30 min, after the snapshot's
    moment, so it was going on then — the domain's rule (``area.as_of``), not the wall clock's."""
    frames = small_frames()
    frames["service_area"] = frames["service_area"].assign(as_of=NOW - pd.Timedelta(hours=1))
    frames["outages"] = frames["outages"].assign(end_at=NOW - pd.Timedelta(minutes=30))
    path = tmp_path / "snapshot.gpkg"
    GeoPackageStore(path).write(ServiceArea(frames).layers, create=True)
    with TestClient(create_app(str(path), settings=SETTINGS, web=False)) as c:
        active = c.get("/api/v1/outages?active=true", headers=headers("dispatcher")).json()
    assert [o["outage_id"] for o in active["items"]] == ["O1"]
