"""OGC API – Features (Part 1: Core, GeoJSON, OpenAPI 3.0) over the in-memory area.

QGIS ("OGC API – Features" / WFS 3 connection with base URL
``http://host:8000/ogc``) and other GIS clients read the layers without an
export. Authentication is the API's: QGIS sends HTTP basic credentials (an
authentication configuration on the connection), or add ``?token=…``.
Customers' names and phones are masked for roles that do not need them.

Why not mount pygeoapi: its GeoPackage provider loads SpatiaLite
(``mod_spatialite``) and its OGR provider needs the GDAL Python bindings,
neither of which gridservice installs; it would also re-read the file on
every request and could not apply our roles and masking. This router serves
the frames already in memory, with an R-tree (geopandas ``sindex``) for bbox.

Routes: ``/`` (landing page), ``/conformance``, ``/collections``,
``/collections/{id}``, ``/collections/{id}/items`` (``bbox``, ``limit``,
``offset``; ``next``/``prev`` links, ``numberMatched``/``numberReturned``)
and ``/collections/{id}/items/{featureId}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from gridservice import clock
from gridservice.api.deps import AreaDep, CurrentUser
from gridservice.api.geojson import feature_collection
from gridservice.auth import User, mask_personal
from gridservice.errors import NotFoundError
from gridservice.model import ServiceArea
from gridservice.schema import DEVICE_LAYERS

router = APIRouter(tags=["OGC API – Features"])

GEOJSON = "application/geo+json"
JSON = "application/json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class Collection:
    """A layer served as a collection."""

    id: str
    title: str
    description: str
    personal: bool = False


COLLECTIONS: dict[str, Collection] = {c.id: c for c in (
    Collection("grids", "网格 Service grids", "Service grid polygons with their station and area class"),
    Collection("customers", "客户 Customers", "Customer accounts (names and phones masked by role)", personal=True),
    Collection("transformers", "台区 Transformers", "Distribution transformers (transformer areas)"),
    Collection("feeders", "10kV线路 Feeders", "Medium-voltage feeders"),
    Collection("outages", "停电事件 Outages", "Outages, drawn at the location of their device"),
)}


def _inputs(cid: str) -> tuple[str, ...]:
    """The layers a collection's features are read from."""
    return ("outages", *DEVICE_LAYERS) if cid == "outages" else (cid,)


def _frame(area: ServiceArea, cid: str) -> gpd.GeoDataFrame:
    if cid == "outages":
        return area.cached("ogc_outages", _inputs(cid), lambda: outages_located(area))
    return area.layers[cid]


def outages_located(area: ServiceArea) -> gpd.GeoDataFrame:
    """The outages with the geometry of their device (missing for devices without one)."""
    out = area.outages
    geom = pd.Series([None] * len(out), index=out.index, dtype=object)
    for name in DEVICE_LAYERS:
        df = area.layers[name]
        if not isinstance(df, gpd.GeoDataFrame) or not len(out):
            continue
        found = out["device_id"].map(df.geometry)
        geom = geom.where(geom.notna(), found)
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geom.to_numpy(), index=out.index, crs="EPSG:4326"),
                            crs="EPSG:4326")


def _base(request: Request) -> str:
    return str(request.url_for("ogc_landing")).rstrip("/")


def _extent(frame: gpd.GeoDataFrame) -> list[float]:
    geoms = frame.geometry.to_numpy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(np.where(shapely.is_missing(geoms), shapely.Point(), geoms)))
    if not ok.any():
        return [-180.0, -90.0, 180.0, 90.0]
    return [float(v) for v in shapely.total_bounds(geoms[ok])]


def _describe(request: Request, area: ServiceArea, c: Collection) -> dict[str, Any]:
    base = _base(request)
    frame = _frame(area, c.id)
    bbox = area.cached(f"ogc_extent_{c.id}", _inputs(c.id), lambda: _extent(frame))
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": {"spatial": {"bbox": [bbox], "crs": CRS84}},
        "links": [
            {"href": f"{base}/collections/{c.id}", "rel": "self", "type": JSON, "title": c.title},
            {"href": f"{base}/collections/{c.id}/items", "rel": "items", "type": GEOJSON, "title": c.title},
        ],
    }


def _collection(cid: str) -> Collection:
    if cid not in COLLECTIONS:
        msg = f"no collection {cid!r}; collections are: {', '.join(COLLECTIONS)}"
        raise NotFoundError(msg)
    return COLLECTIONS[cid]


@router.get("", include_in_schema=False)
@router.get("/", name="ogc_landing")
def landing(request: Request, user: CurrentUser, area: AreaDep) -> JSONResponse:
    """The landing page: links to the API definition, conformance and collections."""
    base = _base(request)
    api = str(request.url_for("openapi")) if _has_route(request, "openapi") else f"{base}/../api/v1/openapi.json"
    body = {
        "title": f"gridservice — {area.name}",
        "description": "Service grids, customers and the distribution network as OGC API – Features",
        "links": [
            {"href": f"{base}/", "rel": "self", "type": JSON, "title": "this document"},
            {"href": api, "rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0",
             "title": "the API definition"},
            {"href": str(request.base_url).rstrip("/") + "/docs", "rel": "service-doc", "type": "text/html",
             "title": "the API documentation"},
            {"href": f"{base}/conformance", "rel": "conformance", "type": JSON, "title": "conformance classes"},
            {"href": f"{base}/collections", "rel": "data", "type": JSON, "title": "the collections"},
        ],
    }
    return JSONResponse(body)


def _has_route(request: Request, name: str) -> bool:
    try:
        request.url_for(name)
    except Exception:
        return False
    return True


@router.get("/conformance")
def conformance(user: CurrentUser) -> dict[str, Any]:
    """The conformance classes this API implements."""
    return {"conformsTo": CONFORMANCE}


@router.get("/collections")
def collections(request: Request, user: CurrentUser, area: AreaDep) -> dict[str, Any]:
    """Every collection with its extent and links."""
    base = _base(request)
    return {
        "links": [{"href": f"{base}/collections", "rel": "self", "type": JSON, "title": "the collections"}],
        "collections": [_describe(request, area, c) for c in COLLECTIONS.values()],
    }


@router.get("/collections/{collection_id}")
def collection(collection_id: str, request: Request, user: CurrentUser, area: AreaDep) -> dict[str, Any]:
    """One collection."""
    return _describe(request, area, _collection(collection_id))


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``minx,miny,maxx,maxy`` (or six numbers with heights) in CRS84."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or not all(np.isfinite(values)):
        raise HTTPException(400, detail=f"bbox must be minx,miny,maxx,maxy (got {text!r})")
    minx, miny, maxx, maxy = values
    if minx > maxx or miny > maxy:
        raise HTTPException(400, detail=f"bbox {text!r}: min must not exceed max (antimeridian boxes unsupported)")
    return minx, miny, maxx, maxy


def _masked(frame: pd.DataFrame, c: Collection, user: User) -> pd.DataFrame:
    return mask_personal(frame, user) if c.personal else frame


@router.get("/collections/{collection_id}/items")
def items(
    collection_id: str,
    request: Request,
    user: CurrentUser,
    area: AreaDep,
    limit: Annotated[int, Query(ge=1, description=f"Page size (at most {MAX_LIMIT})")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0)] = 0,
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy in CRS84")] = None,
) -> JSONResponse:
    """Features of a collection, optionally inside a bbox, a page at a time."""
    c = _collection(collection_id)
    frame = _frame(area, c.id)
    limit = min(limit, MAX_LIMIT)
    if bbox is not None:
        box = shapely.box(*parse_bbox(bbox))
        hits = np.sort(frame.sindex.query(box, predicate="intersects"))
        matched = len(hits)
        chunk = frame.iloc[hits[offset : offset + limit]]
    else:
        matched = len(frame)
        chunk = frame.iloc[offset : offset + limit]
    chunk = _masked(chunk, c, user)
    base = f"{_base(request)}/collections/{c.id}/items"
    params = {k: v for k, v in request.query_params.items() if k not in ("offset", "limit")}

    def link(rel: str, at: int) -> dict[str, str]:
        query = urlencode({**params, "limit": limit, "offset": at})
        return {"href": f"{base}?{query}", "rel": rel, "type": GEOJSON}

    links = [link("self", offset)]
    if offset + limit < matched:
        links.append(link("next", offset + limit))
    if offset > 0:
        links.append(link("prev", max(offset - limit, 0)))
    links.append({"href": f"{_base(request)}/collections/{c.id}", "rel": "collection", "type": JSON})
    stamp = clock.now().tz_convert("UTC").isoformat(timespec="seconds").replace("+00:00", "Z")
    body = feature_collection(chunk, numberMatched=int(matched), numberReturned=len(chunk), timeStamp=stamp,
                              links=links)
    return JSONResponse(body, media_type=GEOJSON)


@router.get("/collections/{collection_id}/items/{feature_id}")
def item(collection_id: str, feature_id: str, request: Request, user: CurrentUser, area: AreaDep) -> JSONResponse:
    """One feature."""
    c = _collection(collection_id)
    frame = _frame(area, c.id)
    if feature_id not in frame.index:
        msg = f"no feature {feature_id!r} in {c.id}"
        raise NotFoundError(msg)
    one = _masked(frame.loc[[feature_id]], c, user)
    body = feature_collection(one)["features"][0]
    base = _base(request)
    body["links"] = [
        {"href": f"{base}/collections/{c.id}/items/{feature_id}", "rel": "self", "type": GEOJSON},
        {"href": f"{base}/collections/{c.id}", "rel": "collection", "type": JSON},
    ]
    return JSONResponse(body, media_type=GEOJSON)


__all__ = ["COLLECTIONS", "CONFORMANCE", "outages_located", "parse_bbox", "router"]
