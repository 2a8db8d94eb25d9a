"""The OGC API – Features endpoints as QGIS reads them."""

from __future__ import annotations

import base64

import geopandas as gpd
import pytest
import shapely
from api_helpers import headers
from fastapi.testclient import TestClient

from gridservice.io import GeoPackageStore

QGIS = {"Authorization": "Basic " + base64.b64encode(b"supervisor:supervisor-demo").decode()}


def test_landing_page_links_to_everything(client: TestClient) -> None:
    r = client.get("/ogc/", headers=QGIS)
    assert r.status_code == 200
    rels = {link["rel"]: link["href"] for link in r.json()["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    assert rels["data"].endswith("/ogc/collections")
    assert client.get(rels["service-desc"]).json()["openapi"].startswith("3.")
    assert client.get("/ogc", headers=QGIS).status_code == 200  # QGIS asks without the slash


def test_conformance_declares_core_and_geojson(client: TestClient) -> None:
    conforms = client.get("/ogc/conformance", headers=QGIS).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conforms
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conforms


def test_collections_with_extents(client: TestClient) -> None:
    body = client.get("/ogc/collections", headers=QGIS).json()
    ids = [c["id"] for c in body["collections"]]
    assert ids == ["grids", "customers", "transformers", "feeders", "outages"]
    grids = client.get("/ogc/collections/grids", headers=QGIS).json()
    assert grids["extent"]["spatial"]["bbox"] == [[116.40, 27.10, 116.60, 27.30]]
    assert any(link["rel"] == "items" for link in grids["links"])
    assert client.get("/ogc/collections/secrets", headers=QGIS).status_code == 404


@pytest.mark.parametrize("bbox", [(116.40, 27.10, 116.50, 27.30), (116.45, 27.18, 116.55, 27.20),
                                  (116.30, 27.00, 116.35, 27.05)])
def test_items_in_a_bbox_match_geopandas(client: TestClient, small_gpkg, bbox: tuple[float, ...]) -> None:
    customers = GeoPackageStore(small_gpkg).read_layer("customers")
    expected = sorted(customers.index[customers.intersects(shapely.box(*bbox))])  # computed by geopandas
    r = client.get("/ogc/collections/customers/items", params={"bbox": ",".join(map(str, bbox))}, headers=QGIS)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert sorted(f["id"] for f in fc["features"]) == expected
    assert fc["numberMatched"] == fc["numberReturned"] == len(expected)
    # the response reads back as a GeoDataFrame, as a GIS client would
    if expected:
        assert len(gpd.GeoDataFrame.from_features(fc["features"])) == len(expected)


def test_items_page_with_next_links(client: TestClient) -> None:
    first = client.get("/ogc/collections/customers/items?limit=3", headers=QGIS).json()
    assert [f["id"] for f in first["features"]] == ["C1", "C2", "C3"]
    assert first["numberMatched"] == 4 and first["numberReturned"] == 3
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = client.get(nxt, headers=QGIS).json()
    assert [f["id"] for f in second["features"]] == ["C4"]
    assert not any(link["rel"] == "next" for link in second["links"])


def test_one_item_and_masking(client: TestClient) -> None:
    planner = client.get("/ogc/collections/customers/items/C1", headers=headers("planner")).json()
    assert planner["properties"]["phone"] == "138****5678" and planner["geometry"]["type"] == "Point"
    dispatcher = client.get("/ogc/collections/customers/items/C1", headers=headers("dispatcher")).json()
    assert dispatcher["properties"]["phone"] == "13812345678"
    assert client.get("/ogc/collections/customers/items/C9", headers=QGIS).status_code == 404


def test_outages_are_drawn_at_their_device(client: TestClient) -> None:
    fc = client.get("/ogc/collections/outages/items", headers=QGIS).json()
    assert fc["features"][0]["geometry"] == {"type": "Point", "coordinates": [116.55, 27.18]}  # T2


def test_bad_bbox_and_no_login(client: TestClient) -> None:
    assert client.get("/ogc/collections/grids/items?bbox=1,2,3", headers=QGIS).status_code == 400
    assert client.get("/ogc/collections/grids/items?bbox=3,2,1,0", headers=QGIS).status_code == 400
    r = client.get("/ogc/collections")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
