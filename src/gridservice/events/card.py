"""The customer card (客户卡片): everything a dispatcher needs about one customer.

Who and where, the grid with its station and staff, the supply path, the
outages going on along it, open work orders and the recent history. The API
(``GET /api/v1/customers/{id}``), the CLI (``gridservice customer ID``) and,
through the API, the browser show this one card. Time is judged at
``area.as_of``, as every analysis judges it; names, phones and addresses are
masked for a viewer whose role does not see personal data.

Examples
--------
>>> customer_card(area, "C0000001", viewer=User("cli", "supervisor")).to_dict()  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from gridservice.auth import User, mask_personal
from gridservice.errors import GridserviceError, NotFoundError
from gridservice.events.links import transformer_of_customer
from gridservice.events.roster import on_duty
from gridservice.io.jsonable import records
from gridservice.model import ServiceArea
from gridservice.spatial.locate import locate_customer
from gridservice.topology import network_of
from gridservice.topology.outages import active_outages

#: How many past work orders, outages and visits the card lists (most recent first).
HISTORY = 10


@dataclass(frozen=True)
class CustomerCard:
    """One customer's card; :meth:`to_dict` is what the API and ``--format json`` return.

    ``customer`` is the customer's row (masked for the viewer); the frames
    hold at most :data:`HISTORY` rows each, most recent first.
    """

    customer: pd.DataFrame
    location: dict[str, float] | None
    grid: dict[str, Any] | None
    station: dict[str, Any] | None
    staff: list[dict[str, Any]]
    supply_path: list[dict[str, Any]]
    active_outages: pd.DataFrame
    open_work_orders: pd.DataFrame
    work_orders: pd.DataFrame
    outages: pd.DataFrame
    visits: pd.DataFrame
    #: Who to call now (at ``area.as_of``) for the customer's grid, first first
    #: (:func:`~gridservice.events.roster.on_duty`).
    on_duty: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "customer": records(self.customer)[0],
            "location": self.location,
            "grid": self.grid,
            "station": self.station,
            "staff": self.staff,
            "supply_path": self.supply_path,
            "active_outages": records(self.active_outages),
            "open_work_orders": records(self.open_work_orders),
            "on_duty": records(self.on_duty) if len(self.on_duty) else [],
            "history": {
                "work_orders": records(self.work_orders),
                "outages": records(self.outages),
                "visits": records(self.visits),
            },
        }


def customer_card(area: ServiceArea, customer_id: str, *, viewer: User) -> CustomerCard:
    """The card of ``customer_id`` as ``viewer`` may see it.

    A customer outside every grid still gets a card, without grid, station
    and staff. Outages are active when they have started and not ended at
    ``area.as_of``.

    Raises
    ------
    NotFoundError
        No such customer.
    """
    if customer_id not in area.customers.index:
        msg = f"no customer {customer_id!r}"
        raise NotFoundError(msg)
    row = area.customers.loc[[customer_id]]
    geom = row.geometry.iloc[0]
    location = None if geom is None or geom.is_empty else {"lon": float(geom.x), "lat": float(geom.y)}
    try:
        where = locate_customer(area, customer_id)
        grid, station, staff = where.grid, where.station, where.staff
    except NotFoundError:  # outside every grid: the card still shows the rest
        grid, station, staff = None, None, []
    path = supply_path(area, customer_id)
    on_path = area.outages["device_id"].isin([p["device_id"] for p in path])
    running = area.outages.index.isin(active_outages(area, area.as_of).index)
    mine = area.work_orders[area.work_orders["customer_id"] == customer_id]
    return CustomerCard(
        customer=mask_personal(row, viewer),
        location=location,
        grid=grid,
        station=station,
        staff=staff,
        supply_path=path,
        active_outages=_latest(area.outages[on_path & running], "start_at"),
        open_work_orders=_latest(mine[mine["status"] != "closed"], "received_at"),
        work_orders=_latest(mine, "received_at"),
        outages=_latest(area.outages[on_path & ~running], "start_at"),
        visits=_latest(area.visits[area.visits["customer_id"] == customer_id], "at"),
        on_duty=on_duty(area, grid["grid_id"], area.as_of) if grid else pd.DataFrame(),
    )


def supply_path(area: ServiceArea, customer_id: str) -> list[dict[str, Any]]:
    """Meter → access point → transformer → feeder → substation of a customer (the devices present).

    From the topology trace; where a loop of closed links makes the trace
    ambiguous, from the foreign keys.
    """
    try:
        ids = list(network_of(area).upstream(customer_id))
    except GridserviceError:
        ids = _chain(area, customer_id)
    out = []
    for device in ids:
        try:
            layer = area.device_layer(str(device))
        except NotFoundError:
            continue
        if layer == "customers":
            continue
        df = area.layers[layer]
        name = df.at[device, "name"] if "name" in df.columns else None
        out.append({"device_id": str(device), "layer": layer, "name": None if pd.isna(name) else str(name)})
    return out


def _chain(area: ServiceArea, customer_id: str) -> list[str]:
    """The supply path by foreign keys: meter, access point, transformer, feeder, substation."""

    def follow(layer: str, key: Any, column: str) -> Any:
        df = area.layers[layer]
        return None if key is None or pd.isna(key) or key not in df.index else df.at[key, column]

    meter = follow("customers", customer_id, "meter_id")
    access_point = follow("meters", meter, "access_point_id")
    transformer = transformer_of_customer(area, customer_id)
    feeder = follow("transformers", transformer, "feeder_id")
    substation = follow("feeders", feeder, "substation_id")
    return [str(v) for v in (meter, access_point, transformer, feeder, substation) if v is not None and not pd.isna(v)]


def _latest(df: pd.DataFrame, column: str) -> pd.DataFrame:
    return df.sort_values(column, ascending=False).head(HISTORY)


__all__ = ["HISTORY", "CustomerCard", "customer_card", "supply_path"]
