"""Upstream and downstream traces of any device, and switching operations (倒闸操作)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from gridservice.api.deps import AreaDep, CurrentUser, HolderDep, PageDep, SwitchOperator
from gridservice.api.models import SwitchOperation
from gridservice.topology import network_of, operate_switch, supply_changes, supply_summary

router = APIRouter(prefix="/network", tags=["network"])


@router.get("/{device_id}/upstream")
def upstream(device_id: str, area: AreaDep, user: CurrentUser) -> dict[str, Any]:
    """The supply path from the device up to its substation, device first."""
    net = network_of(area)
    ids = net.upstream(device_id)
    return {"device_id": device_id, "path": [{"device_id": i, "layer": area.device_layer(i)} for i in ids]}


@router.get("/{device_id}/downstream")
def downstream(device_id: str, area: AreaDep, user: CurrentUser, page: PageDep) -> dict[str, Any]:
    """Everything the device supplies: devices, meters, customers (a page of ids) and customers per grid."""
    down = network_of(area).downstream(device_id)
    customers = down.customers
    return {
        "device_id": down.device_id,
        "energised": down.energised,
        "devices": down.devices.tolist(),
        "meters": down.count("meters"),
        "customers": len(customers),
        "customer_ids": customers[page.offset : page.offset + page.limit].tolist(),
        "limit": page.limit,
        "offset": page.offset,
        "grids": {str(k): int(v) for k, v in down.grids.items()},
    }


@router.post("/switches/{switch_id}")
async def switch(switch_id: str, body: SwitchOperation, holder: HolderDep, user: SwitchOperator) -> dict[str, Any]:
    """Open or close a switch (倒闸操作), with its audit entry; answers which customers it cut off or
    supplied again, per grid. 409 when the switch is already in that state."""

    def work() -> tuple[pd.DataFrame, pd.DataFrame]:
        with holder.writing() as changes:
            before = holder.get()
            row = operate_switch(holder.store, switch_id, is_open=body.is_open, user=user.username, note=body.note)
            changes.upsert("switches", row)
        return row, supply_changes(before, holder.get())  # the new network derives from the old one

    row, changed = await run_in_threadpool(work)
    return {"switch_id": switch_id, "is_open": bool(row["is_open"].iloc[0]), **supply_summary(changed)}
