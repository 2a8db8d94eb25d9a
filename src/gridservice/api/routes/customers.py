"""Customer search and the customer card; names, phones and addresses masked by role.

A role that sees masked data searches only by what it may read (account and
meter numbers, the masked address). Every lookup is written to the audit log
with who asked, and searches and cards are limited per user and minute
(429 with ``Retry-After``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.responses import JSONResponse

from gridservice.api.deps import AreaDep, CurrentUser, LookupsDep, PageDep, SettingsDep, TrailDep
from gridservice.api.errors import responses
from gridservice.api.geojson import feature_collection, records
from gridservice.api.ogc import parse_bbox
from gridservice.auth import mask_personal
from gridservice.events.card import customer_card
from gridservice.maps.customers import customer_density
from gridservice.model import ServiceArea
from gridservice.search import CustomerIndex, fingerprint

router = APIRouter(prefix="/customers", tags=["customers"])

GEOJSON = "application/geo+json"
_HISTORY = 10


def customer_index(area: ServiceArea, cache_dir: str = "") -> CustomerIndex:
    """The area's search index, kept while the columns it reads are unchanged.

    A reload (a plan commit re-derives every ``grid_id``) brings a new
    frame; when the searched columns are unchanged the old index is kept,
    since rebuilding takes seconds on a million customers and hashing them
    a fraction of that. In ``cache_dir`` (the ``cache_dir`` setting) it is
    also kept between starts, under the same digest.
    """
    root = Path(cache_dir) if cache_dir else None
    return area.cached("customer_index", ("customers",),
                       lambda: CustomerIndex.saved(area.customers, _search_token(area), root), token=_search_token)


def _search_token(area: ServiceArea) -> str:
    """:func:`~gridservice.search.fingerprint` of the area's customers, once per customers frame."""
    return area.cached("customer_fingerprint", ("customers",), lambda: fingerprint(area.customers))


@router.get("/search")
def search(
    area: AreaDep,
    user: CurrentUser,
    settings: SettingsDep,
    lookups: LookupsDep,
    trail: TrailDep,
    background: BackgroundTasks,
    q: Annotated[str, Query(min_length=1, max_length=100, description="Account or meter number, phone (or its "
                            "last digits), name in characters, pinyin or initials, part of a name or address; "
                            "roles that see masked data: account or meter number, part of the masked address")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1000)] = 0,
) -> dict[str, Any]:
    """Customers matching ``q``, best first, with the score and what matched."""
    lookups.take(user.username, what="customer lookups")
    index = customer_index(area, settings.cache_dir)
    hits = index.search(q, limit=limit, offset=offset, personal=user.sees_personal_data)
    grids = area.cached("customer_grid_ids", ("customers",), lambda: _grid_ids(area.customers))
    hits["grid_id"] = grids.iloc[hits["row"].to_numpy()].to_numpy()
    trail.note(background, user=user.username, action="customer.search", layer="customers",
               detail=f"q={q!r} offset={offset}: {', '.join(hits.index) or 'no hits'}")
    items = records(mask_personal(hits.drop(columns="row"), user))
    return {"query": q, "items": items, "limit": limit, "offset": offset}


def _grid_ids(customers: pd.DataFrame) -> pd.Series:
    """Each customer's grid, positionally, in one contiguous array (cheap to gather a page from)."""
    if "grid_id" not in customers.columns:
        return pd.Series(pd.NA, index=range(len(customers)), dtype="str")
    return pd.Series(customers["grid_id"].to_numpy(dtype=object), dtype="str")


@router.get("", response_class=JSONResponse, responses={200: {"content": {GEOJSON: {}}}})
def list_customers(
    area: AreaDep,
    user: CurrentUser,
    page: PageDep,
    trail: TrailDep,
    background: BackgroundTasks,
    grid_id: Annotated[str | None, Query()] = None,
) -> JSONResponse:
    """Customers as GeoJSON, optionally of one grid, a page at a time."""
    customers = area.customers
    if grid_id is not None:
        customers = customers[customers["grid_id"] == grid_id]
    chunk = mask_personal(customers.iloc[page.offset : page.offset + page.limit], user)
    trail.note(background, user=user.username, action="customer.list", layer="customers",
               detail=f"grid_id={grid_id} offset={page.offset}: {len(chunk)} customers")
    body = feature_collection(chunk, numberMatched=len(customers), numberReturned=len(chunk),
                              limit=page.limit, offset=page.offset)
    return JSONResponse(body, media_type=GEOJSON)


@router.get("/density", response_class=JSONResponse,
            responses={200: {"content": {GEOJSON: {}}}, **responses(400)})
def density(
    area: AreaDep,
    user: CurrentUser,
    bbox: Annotated[str, Query(description="The map's view: minx,miny,maxx,maxy in CRS84")],
    zoom: Annotated[float, Query(ge=0, le=24, description="The map's zoom (the cell is about 24 pixels wide)")],
) -> JSONResponse:
    """Customers counted per square cell over the map's view: density at zooms where dots would be
    too many. Counts only, no one's data; ``cell_m`` is the cell side in metres and ``total`` the
    customers of the cells returned."""
    cells = customer_density(area, parse_bbox(bbox), zoom)
    body = feature_collection(cells, cell_m=cells.attrs["cell_m"], total=int(cells["count"].sum()))
    return JSONResponse(body, media_type=GEOJSON)


@router.get("/{customer_id}")
def card(customer_id: str, area: AreaDep, user: CurrentUser, lookups: LookupsDep, trail: TrailDep,
         background: BackgroundTasks) -> dict[str, Any]:
    """The customer card: who, where, which grid and staff, the supply path,
    active outages on that path, open work orders and recent history."""
    lookups.take(user.username, what="customer lookups")
    found = customer_card(area, customer_id, viewer=user)
    trail.note(background, user=user.username, action="customer.view", layer="customers", feature_id=customer_id)
    return found.to_dict()
