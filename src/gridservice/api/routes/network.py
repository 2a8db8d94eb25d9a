"""Upstream and downstream traces of any device."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gridservice.api.deps import AreaDep, CurrentUser, PageDep
from gridservice.topology import network_of

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
