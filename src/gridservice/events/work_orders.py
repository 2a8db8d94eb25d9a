"""Work orders (工单): creation, routing, SLA clocks and status transitions.

A new order gets its grid (the customer's, or the grid containing its
point), an assignee and its due times:

* repair (故障报修): arrive on site within ``Rules.repair_arrival_min`` of the
  grid's ``area_class`` (urban 45, rural 90, remote 120 minutes);
* every other kind: contact the customer within ``Rules.contact_within_hours``
  (24 h) and close within ``Rules.close_within_working_days`` of its kind
  (complaint 4, report 9, others 5) counted on China's official working-day
  calendar (:mod:`gridservice.events.calendar`).

Due times are not stored: they are computed from the rules whenever they are
needed (:func:`due_times`), so they always agree with the rules in force
and the work_orders layer keeps its declared columns.

Routing (:func:`route`):

* repair → whoever is on duty for the grid at ``received_at`` by the duty
  roster (``shifts``, :func:`gridservice.events.roster.on_duty`: on duty,
  else on standby); without a roster that day, the area manager (台区经理) of the customer's transformer (the
  transformer's ``area_manager_id`` when the data has that column, else an
  area manager of the transformer's grid), else the grid's repair staff,
  else its grid manager;
* complaint and report → the grid manager;
* opinion, consultation, service_request → the grid member with the fewest
  open orders (ties by staff id: a load-balancing round robin), else the
  grid manager.

When a grid has none of these the order is still created, unassigned; the
audit rule ``WO_UNASSIGNED`` reports it.

Status runs received → dispatched → arrived → resolved → replied → closed;
kinds other than repair have no ``arrived`` step. :func:`advance` refuses a
step out of order, a timestamp earlier than the previous step's and a
timestamp in the future, with a :class:`~gridservice.errors.TransitionError`
naming the order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridservice import clock
from gridservice.clock import timestamp
from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import DataError, NotFoundError, TransitionError
from gridservice.events.calendar import work_calendar
from gridservice.events.links import transformer_of_customer
from gridservice.events.roster import on_call_staff
from gridservice.io.tables import conform
from gridservice.model import ServiceArea
from gridservice.schema import CRS, TIMEZONE, WORK_ORDER_KINDS, WORK_ORDER_STATUSES
from gridservice.spatial.locate import work_order_grids

#: The steps of each kind, in order.
REPAIR_STEPS: tuple[str, ...] = WORK_ORDER_STATUSES
OTHER_STEPS: tuple[str, ...] = tuple(s for s in WORK_ORDER_STATUSES if s != "arrived")
STEP_COLUMNS: dict[str, str] = {s: f"{s}_at" for s in WORK_ORDER_STATUSES}
TIME_COLUMNS: tuple[str, ...] = tuple(STEP_COLUMNS.values())
DUE_COLUMNS: tuple[str, ...] = ("arrival_due_at", "contact_due_at", "close_due_at")
#: Timestamps that count as the first contact with the customer of a non-repair order.
CONTACT_COLUMNS: tuple[str, ...] = ("arrived_at", "resolved_at", "replied_at", "closed_at")

_DTYPE = f"datetime64[ms, {TIMEZONE}]"


def steps(kind: str) -> tuple[str, ...]:
    """The statuses an order of ``kind`` goes through, in order."""
    if kind not in WORK_ORDER_KINDS:
        msg = f"unknown work-order kind {kind!r}; kinds are {', '.join(WORK_ORDER_KINDS)}"
        raise DataError(msg)
    return REPAIR_STEPS if kind == "repair" else OTHER_STEPS


def vocabulary() -> dict[str, object]:
    """What a client needs to offer work orders: the kinds, each kind's steps in order, and the
    timestamps that count as the first contact (:data:`CONTACT_COLUMNS`)."""
    return {"kinds": list(WORK_ORDER_KINDS), "steps": {kind: list(steps(kind)) for kind in WORK_ORDER_KINDS},
            "contact_columns": list(CONTACT_COLUMNS)}


def _now(now: object | None) -> pd.Timestamp:
    return timestamp(now if now is not None else clock.now(), what="now")


# -- SLA clocks --------------------------------------------------------------


def due_times(area: ServiceArea, orders: pd.DataFrame | None = None, *, rules: Rules = DEFAULT_RULES) -> pd.DataFrame:
    """Due times of every order, from the rules in force.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``orders``: ``arrival_due_at`` (repair only),
        ``contact_due_at`` and ``close_due_at`` (other kinds only). An order
        whose grid is unknown gets the strictest (shortest) arrival limit.
    """
    orders = area.work_orders if orders is None else orders
    received = orders["received_at"]
    kind = orders["kind"].astype("str")
    repair = (kind == "repair").to_numpy()
    area_class = orders["grid_id"].map(area.grids["area_class"])
    strictest = min(rules.repair_arrival_min.values()) if rules.repair_arrival_min else 0
    minutes = area_class.map(rules.repair_arrival_min).astype("float64").fillna(strictest)
    out = pd.DataFrame(index=orders.index)
    arrival = received + pd.to_timedelta(minutes.to_numpy(), unit="min")
    out["arrival_due_at"] = arrival.where(repair).astype(_DTYPE)
    contact = received + pd.Timedelta(hours=rules.contact_within_hours)
    out["contact_due_at"] = contact.where(~repair).astype(_DTYPE)
    days = kind.map(rules.close_within_working_days)
    if (~repair & days.isna().to_numpy()).any():
        unknown = sorted(set(kind[~repair & days.isna().to_numpy()]))
        msg = f"no closing limit in rules.close_within_working_days for kind(s) {', '.join(unknown)}"
        raise DataError(msg)
    close = work_calendar(rules.extra_holidays).add_working_days(received, days.fillna(1).astype("int64").to_numpy())
    out["close_due_at"] = pd.Series(close, index=orders.index).where(~repair).astype(_DTYPE)
    return out


def contacted_at(orders: pd.DataFrame) -> pd.Series:
    """When each order's customer was first contacted: arrival for repair, else the first later step."""
    cols = [c for c in CONTACT_COLUMNS if c in orders.columns]
    if not cols:
        return pd.Series(pd.NaT, index=orders.index, dtype=_DTYPE)
    first = orders[cols].min(axis=1)
    return first.astype(_DTYPE).rename("contacted_at")


def sla_status(
    area: ServiceArea,
    orders: pd.DataFrame | None = None,
    *,
    rules: Rules = DEFAULT_RULES,
    as_of: object | None = None,
) -> pd.DataFrame:
    """Due times and whether each order met them.

    ``arrival_on_time`` (repair), ``contact_on_time`` and ``close_on_time``
    (other kinds) are True when the step happened by its due time, False
    when it happened late or had not happened by ``as_of`` although due, and
    missing when the clock does not apply or is still running.
    """
    orders = area.work_orders if orders is None else orders
    as_of_ts = _now(as_of if as_of is not None else area.as_of)
    due = due_times(area, orders, rules=rules)

    def judge(done: pd.Series, limit: pd.Series) -> pd.Series:
        on_time = pd.Series(pd.NA, index=orders.index, dtype="boolean")
        has_limit = limit.notna()
        finished = done.notna() & has_limit
        on_time[finished] = (done[finished] <= limit[finished]).to_numpy()
        overdue = done.isna() & has_limit & (limit < as_of_ts)
        on_time[overdue] = False
        return on_time

    due["contacted_at"] = contacted_at(orders)
    due["arrival_on_time"] = judge(orders["arrived_at"], due["arrival_due_at"])
    due["contact_on_time"] = judge(due["contacted_at"], due["contact_due_at"])
    due["close_on_time"] = judge(orders["closed_at"], due["close_due_at"])
    return due


def repeat_complaints(orders: pd.DataFrame, *, days: float | None = None, rules: Rules = DEFAULT_RULES) -> pd.Series:
    """Complaints whose customer complained before within ``days`` (default ``Rules.repeat_complaint_days``).

    Returns a boolean Series aligned to ``orders``: True on the second and
    later complaints of a run.
    """
    days = rules.repeat_complaint_days if days is None else days
    out = pd.Series(False, index=orders.index, name="repeat_complaint")
    c = orders[(orders["kind"] == "complaint") & orders["customer_id"].notna() & orders["received_at"].notna()]
    if not len(c):
        return out
    c = c[["customer_id", "received_at"]].sort_values(["customer_id", "received_at"], kind="stable")
    same = c["customer_id"].eq(c["customer_id"].shift())
    gap = c["received_at"] - c["received_at"].shift()
    flag = same & (gap <= pd.Timedelta(days=days))
    out[c.index[flag.to_numpy()]] = True
    return out


def first_contact_resolved(orders: pd.DataFrame, *, days: float | None = None,
                           rules: Rules = DEFAULT_RULES) -> pd.Series:
    """Closed orders that needed no follow-up: the customer opened no order of the same kind within ``days``.

    Missing for orders not closed; True for closed orders without a customer.
    """
    days = rules.repeat_complaint_days if days is None else days
    out = pd.Series(pd.NA, index=orders.index, dtype="boolean", name="first_contact_resolved")
    closed = orders["closed_at"].notna()
    out[closed] = True
    o = orders[orders["customer_id"].notna()][["customer_id", "kind", "received_at"]]
    o = o.sort_values(["customer_id", "kind", "received_at"], kind="stable")
    same = o["customer_id"].eq(o["customer_id"].shift(-1)) & o["kind"].eq(o["kind"].shift(-1))
    gap = o["received_at"].shift(-1) - o["received_at"]
    followed = o.index[(same & (gap <= pd.Timedelta(days=days))).to_numpy()]
    followed = followed[closed[followed].to_numpy()]
    out[followed] = False
    return out


# -- routing -----------------------------------------------------------------


def _open_load(area: ServiceArea) -> pd.Series:
    wo = area.work_orders
    if not len(wo):
        return pd.Series(dtype="int64")
    return wo.loc[wo["status"] != "closed", "assignee_id"].value_counts()


def _least_loaded(candidates: Iterable[str], load: pd.Series) -> str | None:
    cand = sorted(set(candidates))
    if not cand:
        return None
    counts = load.reindex(cand).fillna(0).to_numpy()
    return cand[int(np.argmin(counts))]  # argmin takes the first, i.e. the lowest id, on ties


def route(area: ServiceArea, *, grid_id: str | None, kind: str, transformer_id: str | None = None) -> str | None:
    """The staff member a new order of ``kind`` in ``grid_id`` goes to (see the module doc)."""
    steps(kind)
    gs = area.grid_staff
    load = _open_load(area)

    def staff(grid: str | None, role: str) -> list[str]:
        if grid is None or pd.isna(grid) or not len(gs):
            return []
        return gs.loc[(gs["grid_id"] == grid) & (gs["role"] == role), "staff_id"].astype("str").tolist()

    choice: str | None = None
    if kind == "repair":
        if transformer_id is not None and not pd.isna(transformer_id) and transformer_id in area.transformers.index:
            tx = area.transformers.loc[transformer_id]
            named = tx.get("area_manager_id")
            if named is not None and not pd.isna(named) and named in area.staff.index:
                return str(named)
            tx_grid = tx["grid_id"]
            choice = _least_loaded(staff(grid_id if pd.isna(tx_grid) else tx_grid, "area_manager"), load)
        choice = choice or _least_loaded(staff(grid_id, "repair"), load)
        choice = choice or _least_loaded(staff(grid_id, "grid_manager"), load)
    elif kind in ("complaint", "report"):
        choice = _least_loaded(staff(grid_id, "grid_manager"), load)
        choice = choice or _least_loaded(staff(grid_id, "grid_member"), load)
    else:
        choice = _least_loaded(staff(grid_id, "grid_member"), load)
        choice = choice or _least_loaded(staff(grid_id, "grid_manager"), load)
    return choice


# -- creating ----------------------------------------------------------------


def new_work_order_id(received_at: pd.Timestamp) -> str:
    """A fresh id, unique without asking the store (concurrent writers cannot collide)."""
    return f"WO{received_at:%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"


def create_work_order(
    area: ServiceArea,
    *,
    kind: str,
    received_at: object,
    customer_id: str | None = None,
    point: shapely.Point | tuple[float, float] | None = None,
    channel: str | None = None,
    description: str | None = None,
    rules: Rules = DEFAULT_RULES,
    work_order_id: str | None = None,
    now: object | None = None,
) -> gpd.GeoDataFrame:
    """A new work order, routed and with its due times.

    Parameters
    ----------
    area
        The service area (its grids, staff and customers).
    kind
        One of :data:`gridservice.schema.WORK_ORDER_KINDS`.
    received_at
        When the call came in; not in the future.
    customer_id, point
        Who or where: a known customer (its location is the order's), or a
        lon/lat point (``shapely.Point`` or ``(lon, lat)``). At least one.
    channel, description
        Free text (95598, app, walk-in …).
    rules
        SLA rules (default: :data:`~gridservice.config.DEFAULT_RULES`).
    work_order_id
        Use this id instead of a generated one.
    now
        The current time, for the future-timestamp check (default: ``area.now``).

    Returns
    -------
    geopandas.GeoDataFrame
        One row indexed by ``work_order_id``: the declared columns (status
        ``received``) plus ``arrival_due_at``, ``contact_due_at`` and
        ``close_due_at``.

    Examples
    --------
    >>> order = create_work_order(area, kind="complaint", customer_id="C0000001",
    ...                           received_at="2026-03-02 09:15")  # doctest: +SKIP
    """
    steps(kind)
    received = timestamp(received_at, what="received_at")
    work_order_id = work_order_id or new_work_order_id(received)
    if received > _now(now if now is not None else area.now):
        msg = f"work order {work_order_id}: received_at {received.isoformat()} is in the future"
        raise TransitionError(msg)
    if customer_id is None and point is None:
        msg = "a work order needs a customer_id or a point"
        raise DataError(msg)
    transformer_id = None
    geom: shapely.Geometry | None = None
    if point is not None:
        geom = point if isinstance(point, shapely.Geometry) else shapely.Point(*point)
        if geom.geom_type != "Point" or geom.is_empty:
            msg = f"work order {work_order_id}: point must be a lon/lat Point, got {geom.wkt[:60]}"
            raise DataError(msg)
        if not (-180 <= geom.x <= 180 and -90 <= geom.y <= 90):
            msg = f"work order {work_order_id}: point ({geom.x}, {geom.y}) is not a lon/lat position"
            raise DataError(msg)
    if customer_id is not None:
        if customer_id not in area.customers.index:
            msg = f"work order {work_order_id}: unknown customer {customer_id!r}"
            raise NotFoundError(msg)
        customer = area.customers.loc[customer_id]
        geom = geom if geom is not None else customer.geometry
        transformer_id = transformer_of_customer(area, customer_id)
    located = work_order_grids(area, gpd.GeoDataFrame({"customer_id": [customer_id]}, geometry=[geom], crs=CRS)).iloc[0]
    grid_id = None if pd.isna(located) else str(located)
    assignee = route(area, grid_id=grid_id, kind=kind, transformer_id=transformer_id)
    if kind == "repair":  # the roster's person on duty at the call's time comes first
        assignee = on_call_staff(area, grid_id, received, rules=rules) or assignee
    row = {
        "work_order_id": work_order_id, "kind": kind, "channel": channel, "description": description,
        "customer_id": customer_id, "status": "received", "assignee_id": assignee,
        "received_at": received, "grid_id": grid_id, "geometry": geom,
    }
    order = conform("work_orders", gpd.GeoDataFrame([row], geometry="geometry", crs=CRS), source="work order")
    due = due_times(area, order, rules=rules)
    for c in DUE_COLUMNS:
        order[c] = due[c]
    return order


# -- transitions -------------------------------------------------------------


def advance(order: pd.DataFrame | pd.Series, status: str, at: object, *, now: object | None = None) -> pd.DataFrame:
    """The order moved to ``status`` at time ``at``.

    Parameters
    ----------
    order
        One work order (a one-row frame indexed by ``work_order_id``, or a row).
    status
        The next status of the order's kind (:func:`steps`).
    at
        When it happened: not before the previous step and not in the future.

    Returns
    -------
    pandas.DataFrame
        The updated one-row frame.

    Raises
    ------
    TransitionError
        A step out of order, a timestamp earlier than the previous step's, or
        one in the future; the message names the order.
    """
    frame = order.to_frame().T if isinstance(order, pd.Series) else order.copy()
    if len(frame) != 1:
        msg = f"advance takes one work order, got {len(frame)}"
        raise DataError(msg)
    oid = str(frame.index[0])
    row = frame.iloc[0]
    kind = str(row["kind"])
    current = str(row["status"])
    path = steps(kind)
    if status not in WORK_ORDER_STATUSES:
        msg = f"work order {oid}: unknown status {status!r}; statuses are {', '.join(WORK_ORDER_STATUSES)}"
        raise TransitionError(msg)
    if status not in path:
        msg = f"work order {oid}: a {kind} order has no {status!r} step ({' → '.join(path)})"
        raise TransitionError(msg)
    if current not in path:
        msg = f"work order {oid}: status {current!r} is not a step of a {kind} order"
        raise TransitionError(msg)
    i = path.index(current)
    if i + 1 >= len(path):
        msg = f"work order {oid} is already {current}"
        raise TransitionError(msg)
    if path[i + 1] != status:
        msg = f"work order {oid}: cannot go from {current} to {status}; the next step is {path[i + 1]}"
        raise TransitionError(msg)
    when = timestamp(at, what=f"work order {oid}: {status}_at")
    if when > _now(now):
        msg = f"work order {oid}: {status}_at {when.isoformat()} is in the future"
        raise TransitionError(msg)
    earlier = [(s, row.get(STEP_COLUMNS[s])) for s in path[: i + 1]]
    earlier = [(s, t) for s, t in earlier if t is not None and not pd.isna(t)]
    if earlier:
        prev_step, prev = max(earlier, key=lambda p: pd.Timestamp(p[1]))
        if when < pd.Timestamp(prev):
            msg = (f"work order {oid}: {status}_at {when.isoformat()} is earlier than "
                   f"{prev_step}_at {pd.Timestamp(prev).isoformat()}")
            raise TransitionError(msg)
    col = STEP_COLUMNS[status]
    frame[col] = pd.Series([when], index=frame.index, dtype=_DTYPE)
    frame["status"] = status
    return frame


def advance_in_area(area: ServiceArea, work_order_id: str, status: str, at: object, *,
                    now: object | None = None) -> pd.DataFrame:
    """:func:`advance` for the order ``work_order_id`` of ``area`` (NotFoundError if absent), at ``area.now``."""
    wo = area.work_orders
    if work_order_id not in wo.index:
        msg = f"unknown work order {work_order_id!r}"
        raise NotFoundError(msg)
    return advance(wo.loc[[work_order_id]], status, at, now=now if now is not None else area.now)


def audit_record(*, user: str, action: str, layer: str, feature_id: str, detail: str = "",
                 at: object | None = None) -> pd.DataFrame:
    """One audit_log row."""
    when = _now(at)
    return pd.DataFrame([{
        "log_id": f"L{when:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}", "at": when, "user": user, "action": action,
        "layer": layer, "feature_id": feature_id, "detail": detail,
    }]).astype({"at": _DTYPE})


def declared(order: pd.DataFrame) -> pd.DataFrame:
    """The order without the computed due-time columns (what the store keeps)."""
    return order.drop(columns=[c for c in (*DUE_COLUMNS, "contacted_at") if c in order.columns])


def orders_summary(area: ServiceArea, *, rules: Rules = DEFAULT_RULES, as_of: object | None = None) -> pd.DataFrame:
    """Every order with its grid, due times, on-time flags and repeat-complaint flag."""
    wo = area.work_orders
    out = pd.DataFrame(wo.drop(columns="geometry", errors="ignore"))
    sla = sla_status(area, rules=rules, as_of=as_of)
    for c in sla.columns:
        out[c] = sla[c]
    out["repeat_complaint"] = repeat_complaints(wo, rules=rules)
    return out


__all__ = [
    "DUE_COLUMNS",
    "OTHER_STEPS",
    "REPAIR_STEPS",
    "advance",
    "advance_in_area",
    "audit_record",
    "contacted_at",
    "create_work_order",
    "declared",
    "due_times",
    "first_contact_resolved",
    "orders_summary",
    "repeat_complaints",
    "route",
    "sla_status",
    "steps",
    "timestamp",
    "vocabulary",
]
