"""Work orders: create (routed, with due times), list, move through their statuses."""

from __future__ import annotations

from typing import Annotated

import geopandas as gpd
import pandas as pd
from fastapi import APIRouter, Header, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from gridservice.api.deps import AreaDep, CurrentUser, Dispatcher, HolderDep, PageDep, RulesDep
from gridservice.api.geojson import feature, feature_collection
from gridservice.api.models import StatusChange, WorkOrderCreate, WorkOrderKind, WorkOrderStatus, local_time
from gridservice.auth import require
from gridservice.config import Rules
from gridservice.errors import NotFoundError
from gridservice.events.records import created_with_key, save_new_work_order, save_transition
from gridservice.events.work_orders import create_work_order, declared, orders_summary
from gridservice.model import ServiceArea

router = APIRouter(prefix="/work-orders", tags=["work orders"])

GEOJSON = "application/geo+json"


def summary(area: ServiceArea, rules: Rules) -> pd.DataFrame:
    """Every order with grid, due times and on-time flags (cached per work_orders frame)."""
    return area.cached("orders_summary", ("work_orders", "grids", "customers"),
                       lambda: orders_summary(area, rules=rules))


@router.post("", status_code=201, response_class=JSONResponse, responses={201: {"content": {GEOJSON: {}}}})
async def create(
    body: WorkOrderCreate,
    holder: HolderDep,
    user: Dispatcher,
    rules: RulesDep,
    idempotency_key: Annotated[str | None, Header(
        min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
        description="Names this creation: a retry with the same key (by the same user) returns the order "
                    "the first request made instead of opening a second one")] = None,
) -> JSONResponse:
    """Open a work order: routed to the grid's staff, with its due times (SLA clock)."""

    def work() -> pd.DataFrame:
        with holder.writing() as changes:  # serialised: a retry sees the first request's order
            if idempotency_key is not None:
                made = created_with_key(holder.store, user=user.username, key=idempotency_key)
                if made is not None:
                    return _with_due_times(holder.get(), made, rules)
            point = (body.location.lon, body.location.lat) if body.location else None
            order = create_work_order(holder.get(), kind=body.kind, customer_id=body.customer_id, point=point,
                                      channel=body.channel, description=body.description,
                                      received_at=local_time(body.received_at), rules=rules)
            save_new_work_order(holder.store, order, user=user.username, idempotency_key=idempotency_key)
            changes.upsert("work_orders", declared(order))
        return order

    order = await run_in_threadpool(work)
    return JSONResponse(feature(order), status_code=201, media_type=GEOJSON)


@router.get("", response_class=JSONResponse, responses={200: {"content": {GEOJSON: {}}}})
def list_orders(
    area: AreaDep,
    user: CurrentUser,
    rules: RulesDep,
    page: PageDep,
    grid_id: Annotated[str | None, Query()] = None,
    status: Annotated[WorkOrderStatus | None, Query()] = None,
    kind: Annotated[WorkOrderKind | None, Query()] = None,
    customer_id: Annotated[str | None, Query()] = None,
    open_only: Annotated[bool, Query(alias="open", description="Only orders not closed")] = False,
    overdue: Annotated[bool, Query(description="Only orders past a due time they have not met")] = False,
) -> JSONResponse:
    """Work orders, newest first, filtered by grid, status, kind, customer, open or overdue."""
    info = summary(area, rules)
    keep = pd.Series(True, index=info.index)
    if grid_id is not None:
        keep &= info["grid_id"] == grid_id
    if status is not None:
        keep &= info["status"] == status
    if kind is not None:
        keep &= info["kind"] == kind
    if customer_id is not None:
        keep &= info["customer_id"] == customer_id
    if open_only:
        keep &= info["status"] != "closed"
    if overdue:
        late = [c for c in ("arrival_on_time", "contact_on_time", "close_on_time") if c in info.columns]
        keep &= (info[late] == False).any(axis=1)  # noqa: E712 — nullable booleans: missing is not late
    chosen = info[keep.to_numpy()].sort_values("received_at", ascending=False, kind="stable")
    page_rows = chosen.iloc[page.offset : page.offset + page.limit]
    geo = area.work_orders.loc[page_rows.index, ["geometry"]]
    frame = gpd.GeoDataFrame(page_rows, geometry=geo.geometry, crs=area.work_orders.crs)
    body = feature_collection(frame, numberMatched=len(chosen), numberReturned=len(frame),
                              limit=page.limit, offset=page.offset)
    return JSONResponse(body, media_type=GEOJSON)


@router.get("/{work_order_id}", response_class=JSONResponse, responses={200: {"content": {GEOJSON: {}}}})
def get_order(work_order_id: str, area: AreaDep, user: CurrentUser, rules: RulesDep) -> JSONResponse:
    """One work order with its due times and on-time flags."""
    if work_order_id not in area.work_orders.index:
        msg = f"no work order {work_order_id!r}"
        raise NotFoundError(msg)
    return JSONResponse(feature(_with_due_times(area, work_order_id, rules)), media_type=GEOJSON)


def _with_due_times(area: ServiceArea, work_order_id: str, rules: Rules) -> gpd.GeoDataFrame:
    info = summary(area, rules).loc[[work_order_id]]
    return gpd.GeoDataFrame(info, geometry=area.work_orders.loc[[work_order_id]].geometry, crs=area.work_orders.crs)


@router.post("/{work_order_id}/status", response_class=JSONResponse, responses={200: {"content": {GEOJSON: {}}}})
async def change_status(work_order_id: str, body: StatusChange, holder: HolderDep,
                        user: CurrentUser) -> JSONResponse:
    """Move an order to its next status (received → dispatched → arrived → resolved → replied → closed)."""
    require(user, "work_order.update")

    def work() -> pd.DataFrame:
        with holder.writing() as changes:
            updated = save_transition(holder.store, work_order_id, body.status, local_time(body.at),
                                      user=user.username)
            changes.upsert("work_orders", updated)
        return updated

    updated = await run_in_threadpool(work)
    return JSONResponse(feature(updated), media_type=GEOJSON)
