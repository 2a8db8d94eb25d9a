"""Outage impact: who is cut off by a device, where they are, who must be told.

:func:`outage_impact` answers the dispatcher's question for any device;
:func:`create_outage` records an outage and, for a planned one, stores the
number of customers it cuts off so later changes to the network do not
rewrite history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from gridservice import clock
from gridservice.auth import audit_entry
from gridservice.errors import ConflictError, DataError, NotFoundError
from gridservice.io.tables import conform, to_datetime
from gridservice.schema import OUTAGE_KINDS
from gridservice.topology.network import CUSTOMER, TRANSFORMER, network_of

if TYPE_CHECKING:
    from gridservice.io import Store
    from gridservice.model import ServiceArea

#: Staff roles told about an outage in the grids it touches.
NOTIFY_ROLES = ("grid_manager", "area_manager")

#: Columns of :attr:`OutageImpact.important`.
IMPORTANT_COLUMNS = ["name", "phone", "address", "category", "voltage", "key_customer", "grid_id"]


@dataclass(frozen=True)
class OutageImpact:
    """What an outage on one device means.

    Attributes
    ----------
    device_id, layer
        The device and its network layer.
    customers
        Customers cut off (a customer device cuts off itself).
    grids
        Customers cut off per ``grid_id``, most first.
    transformers
        Transformer areas (台区) whose customers are cut off.
    staff
        Staff to notify: ``staff_id``, ``name``, ``role``, ``phone`` and
        ``reason`` (the grids or transformers they answer for).
    important
        Important customers cut off (high voltage or ``key_customer``),
        indexed by ``customer_id``.
    energised
        Whether the device is supplied now (an outage on a dead section
        cuts off nobody who still has power).
    on_duty
        Who to call now in each grid cut off, by the duty roster: filled by
        :func:`gridservice.events.roster.impact_on_duty` (the roster lives
        above topology), ``None`` until then.
    """

    device_id: str
    layer: str
    customers: pd.Index
    grids: pd.Series
    transformers: pd.Index
    staff: pd.DataFrame
    important: pd.DataFrame
    energised: bool = True
    on_duty: pd.DataFrame | None = None

    def to_dict(self, *, customer_ids: bool = True) -> dict[str, object]:
        """A JSON-ready summary."""
        out: dict[str, object] = {
            "device_id": self.device_id,
            "layer": self.layer,
            "energised": self.energised,
            "customers_affected": len(self.customers),
            "grids": {str(k): int(v) for k, v in self.grids.items()},
            "transformers": self.transformers.tolist(),
            "staff": _records(self.staff.reset_index(drop=True)),
            "important_customers": _records(self.important.reset_index()),
        }
        if self.on_duty is not None:
            out["on_duty"] = _records(self.on_duty.reset_index())
        if customer_ids:
            out["customers"] = self.customers.tolist()
        return out


def _records(df: pd.DataFrame) -> list[dict[str, object]]:
    return [{k: (None if _isna(v) else v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in df.to_dict(orient="records")]


def _isna(v: object) -> bool:
    return not isinstance(v, (list, tuple, np.ndarray)) and bool(pd.isna(v))


def outage_impact(area: ServiceArea, device_id: str) -> OutageImpact:
    """Customers, grids, staff to notify and important customers of an outage on ``device_id``.

    Parameters
    ----------
    area
        The service area.
    device_id
        Any network device, or a switch (what opening it cuts off: the
        network is rebuilt with the switch open and compared).

    Raises
    ------
    NotFoundError
        Unknown device.
    TopologyError
        A loop of closed links also feeds what lies below the device.

    Examples
    --------
    >>> impact = outage_impact(area, "F03")  # doctest: +SKIP
    >>> impact.grids.head()  # doctest: +SKIP
    """
    net = network_of(area)
    if device_id in area.switches.index and net.nodes([device_id])[0] < 0:
        return _switch_impact(area, device_id)
    node = net.node(device_id)
    cust_nodes = net.customer_nodes_downstream([device_id])
    customers = net.ids(cust_nodes).rename("customer_id")
    grids = net.grid_counts_of(cust_nodes)
    tr_nodes = net.ancestor_of_kind(cust_nodes, TRANSFORMER)
    tr_nodes = np.unique(tr_nodes[tr_nodes >= 0])
    transformers = net.ids(tr_nodes).rename("transformer_id")
    return OutageImpact(
        device_id=device_id,
        layer=str(net.layer_of(np.array([node]))[0]),
        customers=customers,
        grids=grids,
        transformers=transformers,
        staff=staff_to_notify(area, grids.index, transformers),
        important=important_customers(area, customers),
        energised=bool(net.energised([device_id]).iloc[0]),
    )


def _switch_impact(area: ServiceArea, switch_id: str) -> OutageImpact:
    """Opening a switch: the customers supplied now and not once it is open."""
    net = network_of(area)
    after = net.with_switch(switch_id, is_open=True)
    lo, hi = net.offsets[CUSTOMER], net.offsets[CUSTOMER + 1]
    every = np.arange(lo, hi)
    cut = net.energised_nodes(every) & ~after.energised_nodes(every)
    cust_nodes = every[cut]
    customers = net.ids(cust_nodes).rename("customer_id")
    grids = net.grid_counts_of(cust_nodes)
    tr_nodes = net.ancestor_of_kind(cust_nodes, TRANSFORMER)
    transformers = net.ids(np.unique(tr_nodes[tr_nodes >= 0])).rename("transformer_id")
    return OutageImpact(
        device_id=switch_id, layer="switches", customers=customers, grids=grids, transformers=transformers,
        staff=staff_to_notify(area, grids.index, transformers), important=important_customers(area, customers),
        energised=not bool(area.switches.loc[switch_id, "is_open"]),
    )


def staff_to_notify(area: ServiceArea, grid_ids: pd.Index, transformer_ids: pd.Index) -> pd.DataFrame:
    """Each touched grid's managers and the area managers of the touched transformers.

    Grid links come from ``grid_staff`` (roles :data:`NOTIFY_ROLES`); a
    transformer's area manager from its ``area_manager_id`` column when the
    data has one.
    """
    gs = area.grid_staff
    parts = []
    if len(gs):
        hit = gs[gs["grid_id"].isin(grid_ids) & gs["role"].isin(NOTIFY_ROLES)]
        parts.append(pd.DataFrame({"staff_id": hit["staff_id"].astype("str"), "role": hit["role"].astype("str"),
                                   "reason": "grid " + hit["grid_id"].astype("str")}))
    tr = area.transformers
    if "area_manager_id" in tr.columns and len(transformer_ids):
        managers = tr["area_manager_id"].reindex(transformer_ids).dropna()
        parts.append(pd.DataFrame({"staff_id": managers.astype("str").to_numpy(), "role": "area_manager",
                                   "reason": ("transformer " + managers.index.astype("str")).to_numpy()}))
    columns = ["staff_id", "name", "role", "phone", "reason"]
    if not parts or not sum(len(p) for p in parts):
        return pd.DataFrame({c: pd.Series(dtype="str") for c in columns})
    links = pd.concat(parts, ignore_index=True)
    # One row per person: every role they hold here, every grid/transformer they answer for.
    links = links.drop_duplicates()
    grouped = links.groupby("staff_id", sort=True).agg(
        role=("role", lambda s: ",".join(sorted(set(s)))), reason=("reason", lambda s: ", ".join(sorted(s))))
    staff = area.staff
    out = grouped.reset_index()
    out["name"] = out["staff_id"].map(staff["name"]) if len(staff) else np.nan
    out["phone"] = out["staff_id"].map(staff["phone"]) if len(staff) and "phone" in staff.columns else np.nan
    return out[columns]


def important_customers(area: ServiceArea, customer_ids: pd.Index) -> pd.DataFrame:
    """The high-voltage or key customers among ``customer_ids``."""
    c = area.customers
    sub = c.loc[c.index.intersection(customer_ids, sort=False)] if len(customer_ids) else c.iloc[:0]
    key = sub["key_customer"].fillna(False).astype(bool) if "key_customer" in sub.columns else False
    mask = (sub["voltage"] == "high") | key
    cols = [col for col in IMPORTANT_COLUMNS if col in sub.columns]
    return pd.DataFrame(sub.loc[mask.to_numpy(), cols])


def _timestamp(value: object, name: str) -> pd.Timestamp:
    s = to_datetime(pd.Series([value]), column=name, source="outage")
    return s.iloc[0]


#: Outage times before this year are taken for typing errors.
EARLIEST_YEAR = 1990


def check_outage_times(start: pd.Timestamp, end: pd.Timestamp | None, *, kind: str) -> None:
    """Refuse impossible outage times: before :data:`EARLIEST_YEAR`, or a fault (unplanned) that
    starts or ends in the future. A planned outage may be recorded ahead of time."""
    now = clock.now()
    for name, t in (("start_at", start), ("end_at", end)):
        if t is None or pd.isna(t):
            continue
        if t.year < EARLIEST_YEAR:
            msg = f"outage {name} {t:%Y-%m-%d %H:%M} is before {EARLIEST_YEAR}"
            raise DataError(msg)
        if kind != "planned" and t > now:
            msg = f"unplanned outage {name} {t:%Y-%m-%d %H:%M} is in the future"
            raise DataError(msg)


def create_outage(
    store: Store,
    area: ServiceArea,
    *,
    device_id: str,
    kind: str,
    start_at: object,
    end_at: object = None,
    cause: str | None = None,
    user: str,
    outage_id: str | None = None,
) -> pd.DataFrame:
    """Record an outage (and its audit entry); a planned one stores its impact.

    Parameters
    ----------
    store
        Where to append the outage (:meth:`~gridservice.io.GeoPackageStore.append`).
    area
        The service area as it is now: a planned outage's
        ``customers_affected`` is traced on it.
    device_id
        The device (or switch) switched off or faulted.
    kind
        ``planned`` or ``unplanned``.
    start_at, end_at
        Timestamps (naive ones are Asia/Shanghai); ``end_at`` may be empty
        for an outage still going on.
    cause
        Free text.
    user
        Who records it (for the audit log).
    outage_id
        Chosen id; one is made up from the start time otherwise.

    Returns
    -------
    pandas.DataFrame
        The stored row, indexed by ``outage_id``.

    Raises
    ------
    NotFoundError
        Unknown device.
    DataError
        Bad kind or timestamps.
    """
    if kind not in OUTAGE_KINDS:
        msg = f"outage kind {kind!r} must be one of {'/'.join(OUTAGE_KINDS)}"
        raise DataError(msg)
    area.device_layer(device_id)  # a network device or a switch, else NotFoundError
    start = _timestamp(start_at, "start_at")
    if pd.isna(start):
        msg = "outage start_at is required"
        raise DataError(msg)
    end = _timestamp(end_at, "end_at") if end_at is not None and not _isna(end_at) else pd.NaT
    if not pd.isna(end) and end <= start:
        msg = f"outage end_at {end} is not after start_at {start}"
        raise DataError(msg)
    check_outage_times(start, end, kind=kind)
    going_on = area.outages[(area.outages["device_id"] == device_id) & area.outages["end_at"].isna()]
    if len(going_on) and pd.isna(end):
        msg = f"{device_id} already has an outage going on ({going_on.index[0]}): close it first"
        raise ConflictError(msg)
    affected = len(outage_impact(area, device_id).customers) if kind == "planned" else pd.NA
    oid = outage_id or f"O{start:%Y%m%d%H%M}-{uuid.uuid4().hex[:6]}"
    row = conform("outages", pd.DataFrame([{
        "outage_id": oid, "device_id": device_id, "kind": kind, "start_at": start, "end_at": end,
        "cause": cause, "customers_affected": affected,
    }]), source="outage")
    store.append("outages", row)
    detail = f"{kind} outage on {device_id}" + (f", {affected} customers" if kind == "planned" else "")
    store.append("audit_log", audit_row(user=user, action="create", layer="outages", feature_id=oid, detail=detail))
    return row


def close_outage(store: Store, outage_id: str, *, end_at: pd.Timestamp, user: str) -> pd.DataFrame:
    """Set an open outage's ``end_at`` (whole-layer write under the store lock) and log it."""
    with store.lock():  # read-check-write: a concurrent append or close cannot be lost
        outages = store.read_layer("outages")
        if outage_id not in outages.index:
            msg = f"no outage {outage_id!r}"
            raise NotFoundError(msg)
        row = outages.loc[outage_id]
        if not pd.isna(row["end_at"]):
            msg = f"outage {outage_id} already ended at {row['end_at']:%Y-%m-%d %H:%M}"
            raise ConflictError(msg)
        check_outage_times(row["start_at"], end_at, kind=row["kind"])
        if end_at <= row["start_at"]:
            msg = (f"outage {outage_id}: end_at {end_at:%Y-%m-%d %H:%M} is not after "
                   f"start_at {row['start_at']:%Y-%m-%d %H:%M}")
            raise DataError(msg)
        outages.loc[outage_id, "end_at"] = end_at
        log = store.read_layer("audit_log") if "audit_log" in store.layers() else None
        entry = audit_entry(user=user, action="close", layer="outages", feature_id=outage_id,
                            detail=f"end_at={end_at.isoformat()}")
        store.write_locked({"outages": outages, "audit_log": entry if log is None else pd.concat([log, entry])})
    return outages.loc[[outage_id]]


def audit_row(*, user: str, action: str, layer: str, feature_id: str, detail: str = "") -> pd.DataFrame:
    """One audit_log row stamped now."""
    now = clock.now()
    return conform("audit_log", pd.DataFrame([{
        "log_id": f"L{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}", "at": now, "user": user, "action": action,
        "layer": layer, "feature_id": feature_id, "detail": detail,
    }]), source="audit_log")


def active_outages(area: ServiceArea, at: object) -> pd.DataFrame:
    """Outages going on at ``at``: started at or before it, not ended by then."""
    o = area.outages
    t = _timestamp(at, "at")
    if not len(o):
        return o
    live = (o["start_at"] <= t) & (o["end_at"].isna() | (o["end_at"] > t))
    return o[live.to_numpy()]


__all__ = [
    "NOTIFY_ROLES",
    "OutageImpact",
    "active_outages",
    "audit_row",
    "close_outage",
    "create_outage",
    "important_customers",
    "outage_impact",
    "staff_to_notify",
]
