"""The API on the Nanfeng demo (3,000 customers): the faces agree with the domain and geopandas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from api_helpers import SETTINGS, USERS, headers
from fastapi.testclient import TestClient

from gridservice.api import create_app
from gridservice.io import GeoPackageStore
from gridservice.maps.customers import CELL_SIZES, customer_density
from gridservice.metrics.kpi import kpis
from gridservice.metrics.period import latest_period
from gridservice.search import pinyin
from gridservice.workspace import open_area


@pytest.fixture(scope="module")
def demo(demo_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = tmp_path_factory.mktemp("api-demo") / "nanfeng.gpkg"
    path.write_bytes(demo_gpkg.read_bytes())
    GeoPackageStore(path).write({"users": USERS})
    with TestClient(create_app(str(path), settings=SETTINGS, web=False)) as c:
        yield c


def test_search_finds_demo_customers_by_each_key(demo: TestClient, demo_area) -> None:
    customers = demo_area.customers
    row = customers.iloc[123]
    cid = str(customers.index[123])
    full, _ = pinyin(customers["name"].iloc[[123]])
    h = headers("dispatcher")
    for q in (cid, row["name"], full.iloc[0], row["phone"]):
        items = demo.get("/api/v1/customers/search", params={"q": q, "limit": 100}, headers=h).json()["items"]
        assert cid in [i["customer_id"] for i in items], q


def test_card_grid_matches_the_derived_grid(demo: TestClient, demo_area) -> None:
    located = demo_area.customers["grid_id"].dropna()
    for cid in located.index[:: max(len(located) // 5, 1)][:5]:
        card = demo.get(f"/api/v1/customers/{cid}", headers=headers("supervisor")).json()
        assert card["grid"]["grid_id"] == located[cid]
        assert card["supply_path"] and card["supply_path"][-1]["layer"] == "substations"
        assert "*" in card["customer"]["phone"]  # a supervisor sees masked phones


def test_ogc_bbox_on_the_demo_matches_geopandas(demo: TestClient, demo_area) -> None:
    customers = demo_area.customers
    minx, miny, maxx, maxy = customers.total_bounds
    bbox = (minx, miny, (minx + maxx) / 2, (miny + maxy) / 2)
    expected = set(customers.index[customers.intersects(shapely.box(*bbox))].astype(str))
    got: set[str] = set()
    url = "/ogc/collections/customers/items?" + f"bbox={','.join(map(str, bbox))}&limit=500"
    while url:  # follow the next links as QGIS does
        page = demo.get(url, headers=headers("planner")).json()
        got |= {f["id"] for f in page["features"]}
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), "")
        assert page["numberMatched"] == len(expected)
    assert got == expected


#: Nanfeng lies at 116.45°E, 27.2°N: UTM zone floor((116.45 + 180) / 6) + 1 = 50, north.
UTM_50N = "EPSG:32650"


@pytest.mark.parametrize(("zoom", "cell_m", "view"), [
    # 24 px at zoom z and 27.2°N: 24 * 156543 * cos(27.2°) / 2**z = 3262 m / 2**(z - 10), rounded up to a size
    (10, 5000.0, (0, 0, 1, 1)),          # the whole county in 5 km squares
    (14, 250.0, (0.4, 0.4, 0.55, 0.5)),  # 204 m: 250 m squares over a part of it
])
def test_density_counts_each_cells_customers_as_geopandas_does(demo: TestClient, demo_gpkg: Path, zoom: int,
                                                               cell_m: float, view: tuple) -> None:
    customers = gpd.read_file(demo_gpkg, layer="customers")
    customers = customers[~(customers.geometry.isna() | customers.geometry.is_empty)]
    minx, miny, maxx, maxy = customers.total_bounds
    w, h = maxx - minx, maxy - miny
    bbox = (minx + view[0] * w, miny + view[1] * h, minx + view[2] * w, miny + view[3] * h)
    r = demo.get("/api/v1/customers/density", params={"bbox": ",".join(map(str, bbox)), "zoom": zoom},
                 headers=headers("planner"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    body = r.json()
    assert body["cell_m"] == cell_m
    cells = gpd.GeoDataFrame.from_features(body["features"], crs="EPSG:4326").to_crs(UTM_50N)
    # each cell a cell_m square, holding exactly the customers geopandas finds in it
    assert np.allclose(cells.area, cell_m**2) and np.allclose(cells.length, 4 * cell_m)
    points = customers.to_crs(UTM_50N)
    joined = gpd.sjoin(points[["geometry"]], cells[["geometry"]], predicate="within")
    assert joined["index_right"].value_counts().sort_index().tolist() == cells["count"].tolist()
    assert body["total"] == cells["count"].sum()
    # every customer in view is in a cell shown, and every cell shown touches the view
    in_view = points[customers.intersects(shapely.box(*bbox)).to_numpy()]
    assert set(in_view.index) <= set(joined.index)
    assert cells.to_crs("EPSG:4326").intersects(shapely.box(*bbox)).all()
    if view == (0, 0, 1, 1):
        assert body["total"] == len(customers)


def test_density_refuses_a_bad_view(demo: TestClient) -> None:
    h = headers("dispatcher")
    bad = demo.get("/api/v1/customers/density", params={"bbox": "116.6,27,116.5,27.1", "zoom": 12}, headers=h)
    assert bad.status_code == 400 and "min must not exceed max" in bad.json()["detail"]
    assert demo.get("/api/v1/customers/density", params={"bbox": "116.5,27,116.6,27.1", "zoom": 40},
                    headers=h).status_code == 422
    assert demo.get("/api/v1/customers/density", params={"bbox": "116.5,27,116.6,27.1", "zoom": 12}).status_code == 401


def test_density_takes_larger_cells_when_a_view_would_hold_too_many(demo_gpkg: Path) -> None:
    area = open_area(str(demo_gpkg))
    bbox = tuple(area.customers.total_bounds)
    fine = customer_density(area, bbox, 18)
    assert fine.attrs["cell_m"] == 25.0 and len(fine) > 100
    capped = customer_density(area, bbox, 18, max_cells=100)
    assert len(capped) <= 100 and capped["count"].sum() == fine["count"].sum()
    # the next smaller size would have needed more than 100 squares
    points = area.customers.geometry.dropna().to_crs(UTM_50N)
    smaller = CELL_SIZES[CELL_SIZES.index(capped.attrs["cell_m"]) - 1]
    squares = set(zip(np.floor(points.x / smaller), np.floor(points.y / smaller), strict=True))
    assert len(squares) > 100
    # zoomed out to the whole world, every customer is counted; a view without customers has no squares
    world = customer_density(area, (-180, -90, 180, 90), 2)
    assert world["count"].sum() == points.size and world.attrs["cell_m"] == 50000.0
    assert len(customer_density(area, (0, 0, 1, 1), 10)) == 0


def test_invalid_phones_in_findings_are_masked_for_a_supervisor(demo: TestClient, demo_area) -> None:
    import io

    import openpyxl

    phones = demo_area.customers["phone"].dropna().astype(str)
    planted = [p for p in phones if p and not p.startswith("*") and len(p) != 11]  # the demo's invalid numbers
    assert planted
    rule = {"rule": "CUST_PHONE_INVALID", "limit": 100}
    sup = demo.get("/api/v1/audit", params=rule, headers=headers("supervisor")).json()
    disp = demo.get("/api/v1/audit", params=rule, headers=headers("dispatcher")).json()
    said = " ".join(f["properties"]["message"] for f in sup["findings"]["features"])
    assert sup["total"] and not any(p in said for p in planted), said
    assert any(p in " ".join(f["properties"]["message"] for f in disp["findings"]["features"]) for p in planted)
    page = demo.get("/maps/coverage", headers=headers("supervisor")).text
    assert not any(p in page for p in planted)
    report = demo.get("/api/v1/reports", params={"period": "2026-11"}, headers=headers("supervisor"))
    cells = [str(c.value) for row in openpyxl.load_workbook(io.BytesIO(report.content))["稽查问题"].iter_rows()
             for c in row]
    assert not any(p in c for c in cells for p in planted)


def test_the_warm_up_leaves_the_supervisors_first_view_built(demo: TestClient, demo_area) -> None:
    """After the start's warm-up, the supervisor's first view (KPIs per grid for the latest month, its line
    loss, the audit, 12 months of area-wide KPIs) and the county's customer density are answered from the
    cache, with the domain's numbers."""
    app = demo.app
    app.state.warm_up.join(300)
    assert not app.state.warm_up.is_alive()
    area = app.state.holder.get()
    built = set(area._cache)  # what the warm-up built (the cache's own entries, read for this test)
    assert {"customer_index", "loss_history"} <= built

    h = headers("supervisor")
    latest = latest_period(demo_area)
    grid = demo.get("/api/v1/kpis", params={"by": "grid"}, headers=h).json()
    assert grid["period"] == latest.label
    expected = kpis(demo_area, latest, by="grid", rules=SETTINGS.rules)
    assert {r["grid_id"]: r["work_orders"] for r in grid["items"]} == expected["work_orders"].to_dict()
    assert demo.get("/api/v1/line-loss", headers=h).status_code == 200
    assert demo.get("/api/v1/audit", headers=h).status_code == 200
    months = [str(m) for m in pd.period_range(end=pd.Period(latest.label, "M"), periods=12, freq="M")]
    for month in months:
        row = demo.get("/api/v1/kpis", params={"by": "area", "period": month}, headers=h).json()["items"][0]
        assert row["customers"] == kpis(demo_area, month, by="area", rules=SETTINGS.rules)["customers"].iloc[0]
    # and the dispatcher's and planner's first view: the county's customer density (2 km squares at zoom 11)
    county = ",".join(map(str, area.territory.bounds))
    density = demo.get("/api/v1/customers/density", params={"bbox": county, "zoom": 11}, headers=h).json()
    assert density["cell_m"] == 2000.0 and density["total"] == area.customers.geometry.notna().sum()
    assert set(area._cache) == built  # nothing above was computed on request
