"""Everything the demo generator built, in one place, before it becomes frames."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from gridservice.demo.applications import Applications
from gridservice.demo.customers import Customers
from gridservice.demo.events import Outages, Readings, Visits, WorkOrders, Year
from gridservice.demo.geography import Grids, Territory
from gridservice.demo.network import Network
from gridservice.demo.people import Staff


@dataclass
class World:
    """The generated territory as index arrays, plus what was planted where."""

    seed: int
    customers: int
    year: Year
    station_towns: list[int]
    terr: Territory
    grids: Grids
    net: Network
    cust: Customers
    staff: Staff
    outages: Outages
    work_orders: WorkOrders
    readings: Readings
    visits: Visits
    applications: Applications
    empty_tx: int
    split: int | None
    wrong: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Ids:
    """String ids of the rows the manifest names."""

    grid: pa.Array
    tx: pa.Array
    cu: pa.Array
    mt: pa.Array
    wo: pa.Array
    app: pa.Array
