"""Outages (create, close, list, impact) and repair-call grouping."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from gridservice.api.deps import AreaDep, CurrentUser, HolderDep, OutageWriter, PageDep
from gridservice.api.geojson import records
from gridservice.api.models import CallGroupRequest, OutageClose, OutageCreate, local_time
from gridservice.auth import mask_personal, require
from gridservice.errors import NotFoundError
from gridservice.events.roster import impact_on_duty
from gridservice.topology.calls import group_calls
from gridservice.topology.outages import active_outages, close_outage, create_outage, outage_impact

router = APIRouter(tags=["outages"])


def _impact_dict(area: Any, device_id: str, user: CurrentUser, page: Any) -> dict[str, Any]:
    impact = impact_on_duty(area, outage_impact(area, device_id))  # who to call now in each grid
    out = impact.to_dict(customer_ids=False)
    out["important_customers"] = records(mask_personal(impact.important, user))
    out["customer_ids"] = impact.customers[page.offset : page.offset + page.limit].tolist()
    out["limit"], out["offset"] = page.limit, page.offset
    return out


@router.get("/outages")
def list_outages(
    area: AreaDep,
    user: CurrentUser,
    page: PageDep,
    active: Annotated[bool, Query(description="Only outages going on at the data's as-of time (live data: now)")]
    = False,
    device_id: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """Outages, newest first (``active=true``: only those going on at ``area.as_of``, now for live data)."""
    out = active_outages(area, area.as_of) if active else area.outages
    if device_id is not None:
        out = out[out["device_id"] == device_id]
    out = out.sort_values("start_at", ascending=False, kind="stable")
    return {"items": records(out.iloc[page.offset : page.offset + page.limit]), "total": len(out),
            "limit": page.limit, "offset": page.offset}


@router.post("/outages", status_code=201)
async def new_outage(body: OutageCreate, holder: HolderDep, user: OutageWriter) -> dict[str, Any]:
    """Record an outage on a device (a planned one stores how many customers it cuts off)."""

    def work() -> pd.DataFrame:
        with holder.writing() as changes:
            end = None if body.end_at is None else local_time(body.end_at)
            row = create_outage(holder.store, holder.get(), device_id=body.device_id, kind=body.kind,
                                start_at=local_time(body.start_at), end_at=end, cause=body.cause, user=user.username)
            changes.upsert("outages", row)
        return row

    return records(await run_in_threadpool(work))[0]


@router.get("/outages/impact")
def impact_of_device(area: AreaDep, user: CurrentUser, page: PageDep,
                     device_id: Annotated[str, Query(min_length=1)]) -> dict[str, Any]:
    """What an outage on ``device_id`` would cut off: customers, grids, staff to notify, important customers."""
    return _impact_dict(area, device_id, user, page)


@router.get("/outages/{outage_id}")
def get_outage(outage_id: str, area: AreaDep, user: CurrentUser) -> dict[str, Any]:
    """One outage."""
    if outage_id not in area.outages.index:
        msg = f"no outage {outage_id!r}"
        raise NotFoundError(msg)
    return records(area.outages.loc[[outage_id]])[0]


@router.get("/outages/{outage_id}/impact")
def impact_of_outage(outage_id: str, area: AreaDep, user: CurrentUser, page: PageDep) -> dict[str, Any]:
    """The impact of a recorded outage (traced on the network as it is now)."""
    if outage_id not in area.outages.index:
        msg = f"no outage {outage_id!r}"
        raise NotFoundError(msg)
    out = _impact_dict(area, str(area.outages.loc[outage_id, "device_id"]), user, page)
    out["outage_id"] = outage_id
    return out


@router.post("/outages/{outage_id}/close")
async def close(outage_id: str, body: OutageClose, holder: HolderDep, user: CurrentUser) -> dict[str, Any]:
    """End an outage that is still going on."""
    require(user, "outage.close")
    end = local_time(body.end_at)

    def work() -> pd.DataFrame:
        with holder.writing() as changes:
            row = close_outage(holder.store, outage_id, end_at=end, user=user.username)
            changes.upsert("outages", row)
        return row

    return records(await run_in_threadpool(work))[0]


@router.post("/calls/group")
def group(body: CallGroupRequest, area: AreaDep, user: CurrentUser) -> dict[str, Any]:
    """Group incoming repair calls to the probable faulted devices (trouble-call analysis)."""
    now = area.now
    calls = pd.DataFrame({
        "call_id": [c.call_id or f"call-{i + 1}" for i, c in enumerate(body.calls)],
        "customer_id": [c.customer_id for c in body.calls],
        "received_at": [local_time(c.received_at) if c.received_at else now for c in body.calls],
    })
    window = None if body.window_min is None else pd.Timedelta(minutes=body.window_min)
    groups = group_calls(area, calls, min_calls=body.min_calls, window=window)
    return {"groups": records(groups, index=False)}
