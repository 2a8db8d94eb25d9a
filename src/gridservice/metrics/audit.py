"""Audit (稽查): data-quality and process rules, findings per grid, field samples.

Each :class:`AuditRule` has an id, a severity (``error`` or ``warning``), a
Chinese and an English description and a vectorised check. :func:`audit`
runs them (all, or the ids asked for) and returns one findings frame
(:mod:`gridservice.findings`) with ``check`` = the rule id and a ``grid_id``
column, so a supervisor can hand each grid its own list.
:func:`findings_by_grid` counts them per grid and rule.

:func:`sample` draws a reproducible random N % of a population (a rule's
findings, or one of :data:`POPULATIONS` such as high-voltage new
connections) for field audits: the same seed on the same data gives the same
sample, whatever the row order.

Time-dependent rules judge at ``as_of`` (default now); line-loss rules look
at ``period`` (default: the latest month with readings).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import DataError, NotFoundError
from gridservice.events.links import customer_transformer
from gridservice.events.roster import NO_COVER, OVER_SIX, roster_findings
from gridservice.events.work_orders import (
    REPAIR_STEPS,
    STEP_COLUMNS,
    first_contact_resolved,
    repeat_complaints,
    sla_status,
    timestamp,
)
from gridservice.findings import concat, findings
from gridservice.lookup import contains, positions
from gridservice.metrics.lineloss import LossHistory, line_loss
from gridservice.metrics.period import month
from gridservice.model import ServiceArea
from gridservice.schema import CRS, TIMEZONE

MOBILE = r"(?:\+?86)?1[3-9]\d{9}"
LANDLINE = r"0\d{2,3}\d{7,8}"


@dataclass(frozen=True)
class AuditRule:
    """One audit rule.

    ``check`` takes an :class:`AuditContext` and returns a frame with
    ``feature_id``, ``message``, ``grid_id`` and optionally ``geometry``.
    """

    id: str
    severity: str
    layer: str
    zh: str
    en: str
    check: Callable[[AuditContext], pd.DataFrame]


class AuditContext:
    """What the rules share: the area, the thresholds, the clock and cached intermediate results."""

    def __init__(self, area: ServiceArea, *, rules: Rules = DEFAULT_RULES, as_of: object | None = None,
                 period: str | None = None, history: LossHistory | None = None) -> None:
        self.area = area
        self.history = history
        self.rules = rules
        self.as_of = timestamp(as_of if as_of is not None else area.as_of, what="as_of")
        # Times after this are impossible; a snapshot's later writes are not.
        self.now = self.as_of if as_of is not None else area.now
        self._period = period

    @cached_property
    def period(self) -> str | None:
        """The month the line-loss rules look at."""
        if self._period is not None:
            month(self._period)
            return self._period
        labels = pd.Series(self.area.energy_readings["period"].unique(), dtype="str")
        months = labels[labels.str.fullmatch(r"\d{4}-\d{2}")]
        now_month = f"{self.as_of:%Y-%m}"
        months = months[months <= now_month]
        return str(months.max()) if len(months) else None

    @cached_property
    def customer_grid(self) -> pd.Series:
        return self.area.customers["grid_id"]

    @cached_property
    def transformer_grid(self) -> pd.Series:
        return self.area.transformers["grid_id"]

    @cached_property
    def customer_tx(self) -> pd.Series:
        return customer_transformer(self.area)

    @cached_property
    def order_grid(self) -> pd.Series:
        return self.area.work_orders["grid_id"]

    @cached_property
    def sla(self) -> pd.DataFrame:
        return sla_status(self.area, rules=self.rules, as_of=self.as_of)

    @cached_property
    def order_geometry(self) -> gpd.GeoSeries:
        wo = self.area.work_orders
        own = wo.geometry if isinstance(wo, gpd.GeoDataFrame) else gpd.GeoSeries([None] * len(wo), index=wo.index)
        by_customer = wo["customer_id"].map(self.area.customers.geometry)
        return gpd.GeoSeries(own.where(~own.isna(), by_customer), index=wo.index, crs=CRS)

    @cached_property
    def loss(self) -> pd.DataFrame | None:
        if self.period is None or not len(self.area.transformers):
            return None
        return line_loss(self.area, self.period, rules=self.rules, history=self.history)


def _rows(ids: pd.Index, message: pd.Series | str, grid: pd.Series | None = None,
          geometry: pd.Series | None = None) -> pd.DataFrame:
    ids = pd.Index(ids)
    out = pd.DataFrame({"feature_id": ids.astype("str")})
    out["message"] = message.reindex(ids).astype("str").to_numpy() if isinstance(message, pd.Series) else message
    out["grid_id"] = grid.reindex(ids).astype("str").to_numpy() if grid is not None else np.nan
    if geometry is not None:
        out["geometry"] = geometry.reindex(ids).to_numpy()
    return out


def _text(s: pd.Series) -> pd.Series:
    return s.astype("str").fillna("")


def _fmt_time(s: pd.Series) -> pd.Series:
    return s.dt.strftime("%Y-%m-%d %H:%M").astype("str")


def _digits_only(phone: pd.Series) -> pd.Series:
    """Phone numbers without spaces, dashes and brackets (missing stays missing), in Arrow."""
    text = pa.array(phone.astype("str").array, type=pa.string())
    return pd.Series(pc.replace_substring_regex(text, r"[\s\-()]", ""), index=phone.index, dtype="str")


def _valid_phone(phone: pd.Series) -> pd.Series:
    digits = _digits_only(phone)
    return digits.str.fullmatch(MOBILE) | digits.str.fullmatch(LANDLINE)


# -- customers -------------------------------------------------------------------


def _cust_phone_missing(ctx: AuditContext) -> pd.DataFrame:
    c = ctx.area.customers
    bad = c["phone"].isna() | (c["phone"].astype("str").str.strip() == "")
    ids = c.index[bad.to_numpy()]
    return _rows(ids, "customer " + pd.Series(ids, index=ids) + " has no phone number", ctx.customer_grid, c.geometry)


def _cust_phone_invalid(ctx: AuditContext) -> pd.DataFrame:
    c = ctx.area.customers
    phone = c["phone"]
    present = phone.notna() & (phone.astype("str").str.strip() != "")
    bad = present & ~_valid_phone(phone).fillna(False)
    ids = c.index[bad.to_numpy()]
    msg = "customer " + pd.Series(ids, index=ids) + ": phone " + _text(phone[ids]).map(repr) + \
        " is neither a mobile (1xxxxxxxxxx) nor a landline (0xxx-xxxxxxx) number"
    return _rows(ids, msg, ctx.customer_grid, c.geometry)


def _cust_phone_shared(ctx: AuditContext) -> pd.DataFrame:
    c = ctx.area.customers
    phone = _digits_only(c["phone"])
    codes, _ = pd.factorize(phone.where(phone.str.len() > 0))  # blank phones are CUST_PHONE_MISSING's
    counts = pd.Series(np.bincount(codes[codes >= 0], minlength=1)[np.maximum(codes, 0)], index=c.index)
    bad = (codes >= 0) & (counts > ctx.rules.phone_shared_max)
    ids = c.index[bad.to_numpy()]
    msg = "customer " + pd.Series(ids, index=ids) + ": phone " + phone[ids] + " is shared by " + \
        counts[ids].astype("int64").astype("str") + " customers"
    return _rows(ids, msg, ctx.customer_grid, c.geometry)


def _cust_outside_grid(ctx: AuditContext) -> pd.DataFrame:
    c = ctx.area.customers
    ids = c.index[ctx.customer_grid.isna().to_numpy()]
    return _rows(ids, "customer " + pd.Series(ids, index=ids) + " lies outside every grid", None, c.geometry)


def _cust_no_transformer(ctx: AuditContext) -> pd.DataFrame:
    c = ctx.area.customers
    ids = c.index[ctx.customer_tx.isna().to_numpy()]
    why = c.loc[ids, "meter_id"].isna().map({True: " has no meter", False: "'s meter leads to no transformer"})
    return _rows(ids, "customer " + pd.Series(ids, index=ids) + why.astype("str"), ctx.customer_grid, c.geometry)


def _cust_grid_mismatch(ctx: AuditContext) -> pd.DataFrame:
    c = ctx.area.customers
    tx_grid = ctx.customer_tx.map(ctx.transformer_grid)
    cg = ctx.customer_grid
    bad = cg.notna() & tx_grid.notna() & (cg != tx_grid)
    ids = c.index[bad.to_numpy()]
    msg = ("customer " + pd.Series(ids, index=ids) + " is in grid " + cg[ids] + " but its transformer "
           + ctx.customer_tx[ids] + " is in grid " + tx_grid[ids])
    return _rows(ids, msg, cg, c.geometry)


def _cust_far_from_transformer(ctx: AuditContext) -> pd.DataFrame:
    area = ctx.area
    c = area.customers
    tx = ctx.customer_tx
    linked = pd.Series(contains(tx, area.transformers.index), index=tx.index)
    if not linked.any():
        return _rows(pd.Index([]), "")
    cx, cy = area.metric_xy(c.geometry[linked.to_numpy()])
    tx_rows = positions(tx[linked], area.transformers.index)
    tx_x, tx_y = area.metric_xy(area.transformers.geometry)
    dist = pd.Series(np.hypot(cx - tx_x[tx_rows], cy - tx_y[tx_rows]), index=c.index[linked.to_numpy()])
    limit = c.loc[linked, "voltage"].map(ctx.rules.customer_distance_limit_m).astype("float64")
    bad = dist > limit
    ids = dist.index[bad.to_numpy()]
    msg = ("customer " + pd.Series(ids, index=ids) + " is " + dist[ids].round(0).astype("int64").astype("str")
           + " m from its transformer " + tx[ids] + " (limit " + limit[ids].astype("int64").astype("str") + " m)")
    return _rows(ids, msg, ctx.customer_grid, c.geometry)


# -- network ---------------------------------------------------------------------


def _tx_outside_grid(ctx: AuditContext) -> pd.DataFrame:
    t = ctx.area.transformers
    ids = t.index[ctx.transformer_grid.isna().to_numpy()]
    return _rows(ids, "transformer " + pd.Series(ids, index=ids) + " lies outside every grid", None, t.geometry)


def _tx_no_customers(ctx: AuditContext) -> pd.DataFrame:
    t = ctx.area.transformers
    bad = ~contains(t.index, ctx.customer_tx) & (t["kind"] == "public").to_numpy()
    ids = t.index[bad]
    return _rows(ids, "public transformer " + pd.Series(ids, index=ids) + " has no customers",
                 ctx.transformer_grid, t.geometry)


def _tx_split_grids(ctx: AuditContext) -> pd.DataFrame:
    t = ctx.area.transformers
    pairs = pd.DataFrame({"tx": ctx.customer_tx, "grid": ctx.customer_grid}).dropna()
    n = pairs.groupby("tx")["grid"].nunique()
    split = n[n > 1]
    ids = pd.Index(split.index).intersection(t.index)
    grids = pairs[pairs["tx"].isin(ids)].groupby("tx")["grid"].agg(lambda g: ", ".join(sorted(set(g))))
    msg = "customers of transformer " + pd.Series(ids, index=ids) + " fall in grids " + grids.reindex(ids)
    return _rows(ids, msg, ctx.transformer_grid, t.geometry)


def _meter_no_customer(ctx: AuditContext) -> pd.DataFrame:
    m = ctx.area.meters
    ids = m.index[~contains(m.index, ctx.area.customers["meter_id"])]
    m = m.loc[ids]
    grid = m["transformer_id"].where(m["transformer_id"].notna(),
                                     m["access_point_id"].map(ctx.area.access_points["transformer_id"]))
    return _rows(ids, "meter " + pd.Series(ids, index=ids) + " has no customer", grid.map(ctx.transformer_grid))


# -- grids and staff -------------------------------------------------------------


def _grid_role_missing(role: str, what: str) -> Callable[[AuditContext], pd.DataFrame]:
    def check(ctx: AuditContext) -> pd.DataFrame:
        g = ctx.area.grids
        gs = ctx.area.grid_staff
        have = gs.loc[gs["role"] == role, "grid_id"].unique() if len(gs) else []
        ids = g.index[~g.index.isin(list(have))]
        msg = "grid " + pd.Series(ids, index=ids) + " (" + _text(g.loc[ids, "name"]) + f") has no {what}"
        return _rows(ids, msg, pd.Series(ids, index=ids), g.geometry)

    return check


def _grid_understaffed(ctx: AuditContext) -> pd.DataFrame:
    g = ctx.area.grids
    customers = ctx.customer_grid.value_counts().reindex(g.index, fill_value=0)
    gs = ctx.area.grid_staff
    members = gs[gs["role"] == "grid_member"].groupby("grid_id")["staff_id"].nunique().reindex(g.index, fill_value=0)
    limit = ctx.rules.households_per_member * ctx.rules.households_per_member_overload
    ratio = customers / members.where(members > 0)
    bad = (ratio > limit) | ((members == 0) & (customers > limit))
    ids = g.index[bad.to_numpy()]
    per = ratio[ids].round(0).astype("Int64").astype("str").fillna("∞")
    msg = ("grid " + pd.Series(ids, index=ids) + ": " + customers[ids].astype("str") + " households for "
           + members[ids].astype("str") + " grid member(s) = " + per + f" per member (norm "
           f"{ctx.rules.households_per_member}, limit {limit:g})")
    return _rows(ids, msg, pd.Series(ids, index=ids), g.geometry)


def _staff_overloaded(ctx: AuditContext) -> pd.DataFrame:
    wo = ctx.area.work_orders
    s = ctx.area.staff
    load = wo.loc[wo["status"] != "closed", "assignee_id"].value_counts()
    load = load[load > ctx.rules.staff_open_orders_max]
    ids = pd.Index(load.index).intersection(s.index)
    gs = ctx.area.grid_staff
    grid = gs.sort_values("grid_id").groupby("staff_id")["grid_id"].first() if len(gs) else pd.Series(dtype="str")
    msg = ("staff " + pd.Series(ids, index=ids) + " (" + _text(s.loc[ids, "name"]) + ") has "
           + load[ids].astype("str") + f" open work orders (limit {ctx.rules.staff_open_orders_max})")
    return _rows(ids, msg, grid, s.geometry)


def _staff_phone_invalid(ctx: AuditContext) -> pd.DataFrame:
    s = ctx.area.staff
    bad = s["phone"].isna() | ~_valid_phone(s["phone"]).fillna(False)
    ids = s.index[bad.to_numpy()]
    gs = ctx.area.grid_staff
    grid = gs.sort_values("grid_id").groupby("staff_id")["grid_id"].first() if len(gs) else pd.Series(dtype="str")
    msg = "staff " + pd.Series(ids, index=ids) + " (" + _text(s.loc[ids, "name"]) + "): phone " + \
        _text(s.loc[ids, "phone"]).map(repr) + " is missing or invalid"
    return _rows(ids, msg, grid, s.geometry)


# -- work orders -----------------------------------------------------------------


def _wo_late(flag: str, due: str, done: str, what: str) -> Callable[[AuditContext], pd.DataFrame]:
    def check(ctx: AuditContext) -> pd.DataFrame:
        sla = ctx.sla
        late = sla[flag].eq(False).fillna(False).to_numpy()
        ids = sla.index[late]
        wo = ctx.area.work_orders
        done_at = sla[done] if done in sla.columns else wo[done]
        happened = done_at[ids]
        text = pd.Series(np.where(happened.notna(), "at " + _fmt_time(happened).fillna(""),
                                  f"not yet (as of {ctx.as_of:%Y-%m-%d %H:%M})"), index=ids, dtype="str")
        msg = ("work order " + pd.Series(ids, index=ids) + " (" + _text(wo.loc[ids, "kind"]) + f"): {what} "
               + text + ", due " + _fmt_time(sla.loc[ids, due]))
        return _rows(ids, msg, ctx.order_grid, ctx.order_geometry)

    return check


def _time_matrix(wo: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    cols = [STEP_COLUMNS[s] for s in REPAIR_STEPS]
    values = np.column_stack([
        wo[c].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[ms]").astype("float64")
        for c in cols
    ]) if len(wo) else np.empty((0, len(cols)))
    nat = np.column_stack([wo[c].isna().to_numpy() for c in cols]) if len(wo) else np.empty((0, len(cols)), bool)
    values[nat] = np.nan
    return cols, values


def _from_ms(values: np.ndarray, index: pd.Index) -> pd.Series:
    """UTC epoch milliseconds (floats) back to local timestamps."""
    return pd.Series(pd.to_datetime(values, unit="ms", utc=True), index=index).dt.tz_convert(TIMEZONE)


def _wo_time_order(ctx: AuditContext) -> pd.DataFrame:
    wo = ctx.area.work_orders
    cols, values = _time_matrix(wo)
    msg = pd.Series(np.nan, index=wo.index, dtype="str")
    running = np.full(len(wo), np.nan)
    running_col = np.full(len(wo), -1)
    for j, col in enumerate(cols):
        v = values[:, j]
        bad = ~np.isnan(v) & ~np.isnan(running) & (v < running) & msg.isna().to_numpy()
        if bad.any():
            ids = wo.index[bad]
            prev = pd.Series(np.array(cols, dtype=object)[running_col[bad]], index=ids).astype("str")
            msg[ids] = ("work order " + pd.Series(ids, index=ids) + f": {col} " + _fmt_time(wo.loc[ids, col])
                        + " is earlier than " + prev + " " + _fmt_time(_from_ms(running[bad], ids)))
        newer = ~np.isnan(v) & (np.isnan(running) | (v >= running))
        running = np.where(newer, v, running)
        running_col = np.where(newer, j, running_col)
    ids = wo.index[msg.notna().to_numpy()]
    return _rows(ids, msg, ctx.order_grid, ctx.order_geometry)


def _wo_future_time(ctx: AuditContext) -> pd.DataFrame:
    wo = ctx.area.work_orders
    cols = [STEP_COLUMNS[s] for s in REPAIR_STEPS]
    future = pd.DataFrame({c: wo[c] > ctx.now for c in cols}).fillna(False)
    bad = future.any(axis=1)
    ids = wo.index[bad.to_numpy()]
    first = future.loc[ids].to_numpy().argmax(axis=1)
    which = pd.Series(np.array(cols, dtype=object)[first], index=ids).astype("str")
    _, values = _time_matrix(wo.loc[ids])
    when = _from_ms(values[np.arange(len(ids)), first], ids)
    msg = ("work order " + pd.Series(ids, index=ids) + ": " + which + " "
           + _fmt_time(when) + f" is after now ({ctx.now:%Y-%m-%d %H:%M})")
    return _rows(ids, msg, ctx.order_grid, ctx.order_geometry)


def _wo_closed_no_reply(ctx: AuditContext) -> pd.DataFrame:
    wo = ctx.area.work_orders
    bad = wo["closed_at"].notna() & wo["replied_at"].isna()
    ids = wo.index[bad.to_numpy()]
    msg = "work order " + pd.Series(ids, index=ids) + " was closed without a reply to the customer"
    return _rows(ids, msg, ctx.order_grid, ctx.order_geometry)


def _wo_status_mismatch(ctx: AuditContext) -> pd.DataFrame:
    wo = ctx.area.work_orders
    status = wo["status"].astype("str")
    pos = status.map({s: i for i, s in enumerate(REPAIR_STEPS)}).fillna(-1).to_numpy()
    msg = pd.Series(np.nan, index=wo.index, dtype="str")
    for i, s in enumerate(REPAIR_STEPS):
        col = STEP_COLUMNS[s]
        own_missing = (pos == i) & wo[col].isna().to_numpy()
        beyond = (pos < i) & wo[col].notna().to_numpy()
        for mask, text in ((own_missing, f"is {s} but has no {col}"), (beyond, f"has {col} but its status is ")):
            mask = mask & msg.isna().to_numpy()
            if mask.any():
                ids = wo.index[mask]
                tail = status[ids] if text.endswith(" ") else ""
                msg[ids] = "work order " + pd.Series(ids, index=ids) + " " + text + tail
    ids = wo.index[msg.notna().to_numpy()]
    return _rows(ids, msg, ctx.order_grid, ctx.order_geometry)


def _wo_unassigned(ctx: AuditContext) -> pd.DataFrame:
    wo = ctx.area.work_orders
    bad = wo["assignee_id"].isna() & (wo["status"] != "closed")
    ids = wo.index[bad.to_numpy()]
    msg = "open work order " + pd.Series(ids, index=ids) + " has no assignee"
    return _rows(ids, msg, ctx.order_grid, ctx.order_geometry)


def _wo_assignee_outside_grid(ctx: AuditContext) -> pd.DataFrame:
    wo = ctx.area.work_orders
    gs = ctx.area.grid_staff
    pairs = set(zip(gs["grid_id"].astype("str"), gs["staff_id"].astype("str"), strict=True)) if len(gs) else set()
    known = pd.MultiIndex.from_tuples(list(pairs), names=["grid_id", "staff_id"]) if pairs else None
    has = wo["assignee_id"].notna() & ctx.order_grid.notna()
    candidates = wo.index[has.to_numpy()]
    probe = pd.MultiIndex.from_arrays([ctx.order_grid[candidates].astype("str"),
                                       wo.loc[candidates, "assignee_id"].astype("str")])
    inside = probe.isin(known) if known is not None else np.zeros(len(probe), dtype=bool)
    ids = candidates[~inside]
    msg = ("work order " + pd.Series(ids, index=ids) + ": assignee " + _text(wo.loc[ids, "assignee_id"])
           + " is not on the staff of grid " + ctx.order_grid[ids])
    return _rows(ids, msg, ctx.order_grid, ctx.order_geometry)


def _wo_repeat_complaint(ctx: AuditContext) -> pd.DataFrame:
    wo = ctx.area.work_orders
    flag = repeat_complaints(wo, rules=ctx.rules)
    ids = wo.index[flag.to_numpy()]
    msg = ("work order " + pd.Series(ids, index=ids) + ": customer " + _text(wo.loc[ids, "customer_id"])
           + f" complained again within {ctx.rules.repeat_complaint_days} days")
    return _rows(ids, msg, ctx.order_grid, ctx.order_geometry)


def _wo_outside_grid(ctx: AuditContext) -> pd.DataFrame:
    wo = ctx.area.work_orders
    ids = wo.index[ctx.order_grid.isna().to_numpy()]
    msg = "work order " + pd.Series(ids, index=ids) + " has no grid (no customer in a grid, no point in a grid)"
    return _rows(ids, msg, None, ctx.order_geometry)


def _wo_not_first_contact(ctx: AuditContext) -> pd.DataFrame:
    wo = ctx.area.work_orders
    fcr = first_contact_resolved(wo, rules=ctx.rules)
    ids = wo.index[fcr.eq(False).fillna(False).to_numpy()]
    msg = ("work order " + pd.Series(ids, index=ids) + " was closed but customer " + _text(wo.loc[ids, "customer_id"])
           + " opened another " + _text(wo.loc[ids, "kind"])
           + f" order within {ctx.rules.repeat_complaint_days} days")
    return _rows(ids, msg, ctx.order_grid, ctx.order_geometry)


# -- outages ---------------------------------------------------------------------


def _outage_grid(ctx: AuditContext, device: pd.Series) -> pd.Series:
    grid = device.map(ctx.transformer_grid)
    grid = grid.where(grid.notna(), device.map(ctx.customer_grid))
    return grid


def _outage_bad_times(ctx: AuditContext) -> pd.DataFrame:
    o = ctx.area.outages
    bad = o["end_at"].notna() & (o["end_at"] < o["start_at"])
    ids = o.index[bad.to_numpy()]
    msg = ("outage " + pd.Series(ids, index=ids) + ": end " + _fmt_time(o.loc[ids, "end_at"]) + " is before start "
           + _fmt_time(o.loc[ids, "start_at"]))
    return _rows(ids, msg, _outage_grid(ctx, o["device_id"]))


def _outage_open_long(ctx: AuditContext) -> pd.DataFrame:
    o = ctx.area.outages
    hours = (ctx.as_of - o["start_at"]) / pd.Timedelta(hours=1)
    bad = o["end_at"].isna() & (hours > ctx.rules.outage_open_max_hours)
    ids = o.index[bad.to_numpy()]
    msg = ("outage " + pd.Series(ids, index=ids) + " on " + _text(o.loc[ids, "device_id"]) + " has been open "
           + hours[ids].round(0).astype("int64").astype("str") + " h without an end time")
    return _rows(ids, msg, _outage_grid(ctx, o["device_id"]))


# -- line loss -------------------------------------------------------------------


def _loss_class(klass: str, text: str) -> Callable[[AuditContext], pd.DataFrame]:
    def check(ctx: AuditContext) -> pd.DataFrame:
        loss = ctx.loss
        if loss is None:
            return _rows(pd.Index([]), "")
        ids = loss.index[(loss["class"] == klass).to_numpy()]
        pct = loss.loc[ids, "loss_pct"].round(1).astype("str")
        msg = ("transformer " + pd.Series(ids, index=ids) + f" {ctx.period}: {text} " + pct + " % ("
               + loss.loc[ids, "likely_cause"] + ")") if klass in ("high", "negative") else (
            "transformer " + pd.Series(ids, index=ids) + f" {ctx.period}: " + loss.loc[ids, "likely_cause"])
        return _rows(ids, msg, loss["grid_id"], ctx.area.transformers.geometry)

    return check


def _loss_streak(ctx: AuditContext) -> pd.DataFrame:
    loss = ctx.loss
    if loss is None:
        return _rows(pd.Index([]), "")
    ids = loss.index[(loss["streak_months"] >= ctx.rules.loss_streak_months).to_numpy()]
    msg = ("transformer " + pd.Series(ids, index=ids) + ": line loss anomalous for "
           + loss.loc[ids, "streak_months"].astype("str") + f" consecutive months up to {ctx.period} (now "
           + loss.loc[ids, "class"] + "), responsible " + _text(loss.loc[ids, "staff_name"]))
    return _rows(ids, msg, loss["grid_id"], ctx.area.transformers.geometry)


# -- visits ----------------------------------------------------------------------


def _key_customer_not_visited(ctx: AuditContext) -> pd.DataFrame:
    from gridservice.metrics.kpi import visit_covered

    c = ctx.area.customers
    key = c["key_customer"].fillna(False).astype(bool)
    as_of_month = month(f"{ctx.as_of:%Y-%m}")
    covered = visit_covered(ctx.area, as_of_month, rules=ctx.rules)
    bad = key & ~covered
    ids = c.index[bad.to_numpy()]
    msg = ("key customer " + pd.Series(ids, index=ids) + f" lacks {ctx.rules.home_visits_per_year} home visits "
           f"in 12 months or {ctx.rules.phone_visits_per_quarter} phone callback(s) in 3 months")
    return _rows(ids, msg, ctx.customer_grid, c.geometry)


RULES: tuple[AuditRule, ...] = (
    AuditRule("CUST_PHONE_MISSING", "warning", "customers", "客户联系电话缺失", "customer has no phone number",
              _cust_phone_missing),
    AuditRule("CUST_PHONE_INVALID", "error", "customers", "客户联系电话格式错误",
              "customer phone is not a valid mobile or landline number", _cust_phone_invalid),
    AuditRule("CUST_PHONE_SHARED", "warning", "customers", "同一电话登记于过多客户",
              "one phone number registered for too many customers", _cust_phone_shared),
    AuditRule("CUST_OUTSIDE_GRID", "error", "customers", "客户不在任何网格内", "customer outside every grid",
              _cust_outside_grid),
    AuditRule("CUST_NO_TRANSFORMER", "error", "customers", "客户未关联计量装置或台区",
              "customer not linked to a meter or transformer", _cust_no_transformer),
    AuditRule("CUST_GRID_MISMATCH", "warning", "customers", "客户所在网格与所属台区网格不一致（营配不一致）",
              "customer's grid differs from its transformer's grid (geo–topology mismatch)", _cust_grid_mismatch),
    AuditRule("CUST_FAR_FROM_TRANSFORMER", "warning", "customers", "客户距所属台区过远",
              "customer too far from its transformer (likely a wrong link)", _cust_far_from_transformer),
    AuditRule("TX_OUTSIDE_GRID", "error", "transformers", "台区不在任何网格内", "transformer outside every grid",
              _tx_outside_grid),
    AuditRule("TX_NO_CUSTOMERS", "warning", "transformers", "公变台区无客户", "public transformer without customers",
              _tx_no_customers),
    AuditRule("TX_SPLIT_GRIDS", "warning", "transformers", "台区客户分属多个网格",
              "transformer area split between grids", _tx_split_grids),
    AuditRule("METER_NO_CUSTOMER", "warning", "meters", "计量装置无对应客户", "meter without a customer",
              _meter_no_customer),
    AuditRule("GRID_NO_MANAGER", "error", "grids", "网格未配置网格经理", "grid without a grid manager",
              _grid_role_missing("grid_manager", "grid manager")),
    AuditRule("GRID_NO_MEMBER", "error", "grids", "网格未配置网格员", "grid without grid members",
              _grid_role_missing("grid_member", "grid member")),
    AuditRule("GRID_UNDERSTAFFED", "warning", "grids", "网格人均服务户数超标",
              "grid's households per grid member far above the norm", _grid_understaffed),
    AuditRule("STAFF_OVERLOADED", "warning", "staff", "人员在办工单过多", "staff member with too many open orders",
              _staff_overloaded),
    AuditRule("STAFF_PHONE_INVALID", "warning", "staff", "人员电话缺失或格式错误", "staff phone missing or invalid",
              _staff_phone_invalid),
    AuditRule("WO_ARRIVAL_LATE", "error", "work_orders", "抢修未在时限内到达现场",
              "repair crew missed the arrival limit",
              _wo_late("arrival_on_time", "arrival_due_at", "arrived_at", "arrived")),
    AuditRule("WO_CONTACT_LATE", "warning", "work_orders", "未在24小时内联系客户",
              "customer not contacted within the contact limit",
              _wo_late("contact_on_time", "contact_due_at", "contacted_at", "first contact")),
    AuditRule("WO_CLOSE_OVERDUE", "error", "work_orders", "工单超期办结或超期未办结",
              "order closed after, or still open past, its working-day limit",
              _wo_late("close_on_time", "close_due_at", "closed_at", "closed")),
    AuditRule("WO_TIME_ORDER", "error", "work_orders", "工单时间顺序错误", "order step earlier than a previous step",
              _wo_time_order),
    AuditRule("WO_FUTURE_TIME", "error", "work_orders", "工单时间晚于当前时间", "order timestamp in the future",
              _wo_future_time),
    AuditRule("WO_CLOSED_NO_REPLY", "error", "work_orders", "工单未回复客户即归档",
              "order closed without a reply to the customer", _wo_closed_no_reply),
    AuditRule("WO_STATUS_MISMATCH", "warning", "work_orders", "工单状态与处理时间不一致",
              "order status disagrees with its timestamps", _wo_status_mismatch),
    AuditRule("WO_UNASSIGNED", "warning", "work_orders", "在途工单无处理人", "open order without an assignee",
              _wo_unassigned),
    AuditRule("WO_ASSIGNEE_OUTSIDE_GRID", "warning", "work_orders", "工单处理人不属于该网格",
              "assignee is not on the staff of the order's grid", _wo_assignee_outside_grid),
    AuditRule("WO_REPEAT_COMPLAINT", "warning", "work_orders", "客户30天内重复投诉",
              "customer complained again within the repeat window", _wo_repeat_complaint),
    AuditRule("WO_NOT_FIRST_CONTACT", "warning", "work_orders", "工单办结后客户再次来电",
              "customer called again about the same kind of issue after closing", _wo_not_first_contact),
    AuditRule("WO_OUTSIDE_GRID", "warning", "work_orders", "工单无法归属网格", "order outside every grid",
              _wo_outside_grid),
    AuditRule("OUTAGE_BAD_TIMES", "error", "outages", "停电结束时间早于开始时间", "outage ends before it starts",
              _outage_bad_times),
    AuditRule("OUTAGE_OPEN_LONG", "warning", "outages", "停电事件长时间未结束",
              "outage open for too long without an end time", _outage_open_long),
    AuditRule("LOSS_HIGH", "warning", "transformers", "台区高损", "transformer area with high line loss",
              _loss_class("high", "loss")),
    AuditRule("LOSS_NEGATIVE", "error", "transformers", "台区负损", "transformer area with negative line loss",
              _loss_class("negative", "loss")),
    AuditRule("LOSS_NOT_COMPUTABLE", "warning", "transformers", "台区线损不可算",
              "transformer area loss not computable (missing readings)", _loss_class("not_computable", "")),
    AuditRule("LOSS_STREAK", "error", "transformers", "台区线损连续异常",
              "transformer area anomalous for months running", _loss_streak),
    AuditRule("KEY_CUSTOMER_NOT_VISITED", "warning", "customers", "重要客户走访不到位",
              "key customer without the required visits", _key_customer_not_visited),
    AuditRule(NO_COVER, "error", "grids", "网格当日无人值班", "grid with nobody on duty on a day of its "
              "station's roster", lambda ctx: _roster(ctx, NO_COVER)),
    AuditRule(OVER_SIX, "warning", "staff", "人员一周工作超过6天", "staff member working more than six days "
              "in a week (6+1)", lambda ctx: _roster(ctx, OVER_SIX)),
)

RULE_IDS: tuple[str, ...] = tuple(r.id for r in RULES)


def _roster(ctx: AuditContext, check: str) -> pd.DataFrame:
    """The roster checks of :func:`gridservice.events.roster.roster_findings` over all stored shifts."""
    found = roster_findings(ctx.area, rules=ctx.rules)
    found = found[found["check"] == check]
    geometry = found["grid_id"].map(ctx.area.grids.geometry) if check == NO_COVER else None
    return pd.DataFrame({"feature_id": found["feature_id"].astype("str").to_numpy(),
                         "message": found["message"].astype("str").to_numpy(),
                         "grid_id": found["grid_id"].to_numpy(),
                         **({"geometry": geometry.to_numpy()} if geometry is not None else {})})


def rules_table() -> pd.DataFrame:
    """The rule catalogue: id, severity, layer, zh and en descriptions."""
    return pd.DataFrame([{"rule_id": r.id, "severity": r.severity, "layer": r.layer, "zh": r.zh, "en": r.en}
                         for r in RULES]).set_index("rule_id")


def _select(ids: Iterable[str] | str | None) -> list[AuditRule]:
    if ids is None:
        return list(RULES)
    wanted = [ids] if isinstance(ids, str) else list(ids)
    by_id = {r.id: r for r in RULES}
    unknown = [i for i in wanted if i.upper() not in by_id]
    if unknown:
        msg = f"unknown audit rule(s) {', '.join(unknown)}; rules are {', '.join(RULE_IDS)}"
        raise NotFoundError(msg)
    return [by_id[i.upper()] for i in wanted]


def audit(
    area: ServiceArea,
    *,
    rule_ids: Iterable[str] | str | None = None,
    rules: Rules = DEFAULT_RULES,
    as_of: object | None = None,
    period: str | None = None,
    history: LossHistory | None = None,
) -> gpd.GeoDataFrame:
    """Run audit rules and return their findings.

    Parameters
    ----------
    rule_ids
        Rule ids to run (default: all of :data:`RULES`).
    rules
        Thresholds (default: :data:`~gridservice.config.DEFAULT_RULES`).
    as_of
        The time process rules judge at (default: now).
    period
        The month (``YYYY-MM``) line-loss rules look at (default: the latest with readings).
    history
        A :func:`~gridservice.metrics.lineloss.loss_history` already computed, to reuse.

    Returns
    -------
    geopandas.GeoDataFrame
        Findings with ``check`` = rule id, ``severity``, ``layer``,
        ``feature_id``, ``message``, ``grid_id`` and a geometry where the
        feature has one.
    """
    ctx = AuditContext(area, rules=rules, as_of=as_of, period=period, history=history)
    frames = []
    for rule in _select(rule_ids):
        rows = rule.check(ctx)
        if not len(rows):
            continue
        rows = rows.assign(check=rule.id, severity=rule.severity, layer=rule.layer)
        frames.append(findings(rows[["check", "severity", "layer", "feature_id", "message", "grid_id",
                                     *(["geometry"] if "geometry" in rows.columns else [])]]))
    out = concat(frames)
    if "grid_id" not in out.columns:
        out["grid_id"] = pd.Series(dtype="str")
    out["grid_id"] = out["grid_id"].astype("str")
    return out


#: The audit rules ``gridservice validate`` runs too: impossible event timestamps (SPEC §8).
EVENT_TIME_RULES: tuple[str, ...] = ("WO_TIME_ORDER", "WO_FUTURE_TIME", "OUTAGE_BAD_TIMES")


def check_event_times(area: ServiceArea, *, rules: Rules = DEFAULT_RULES) -> gpd.GeoDataFrame:
    """Work orders and outages with impossible timestamps, as a validation check."""
    return audit(area, rule_ids=EVENT_TIME_RULES, rules=rules)


def findings_by_grid(found: pd.DataFrame) -> pd.DataFrame:
    """Findings counted per grid (rows) and rule (columns), with a ``total`` column."""
    grid = found["grid_id"].astype("str").fillna("(none)")
    table = pd.crosstab(grid, found["check"]) if len(found) else pd.DataFrame(index=pd.Index([], name="grid_id"))
    table.index.name = "grid_id"
    table.columns.name = None
    table["total"] = table.sum(axis=1) if len(table.columns) else 0
    return table.sort_values("total", ascending=False, kind="stable")


# -- field-audit samples ---------------------------------------------------------


def _hv_new_connections(area: ServiceArea, ctx: AuditContext) -> pd.DataFrame:
    c = area.customers
    since = ctx.as_of - pd.DateOffset(months=ctx.rules.new_connection_months)
    mask = (c["voltage"] == "high") & c["connected_at"].notna() & (c["connected_at"] >= since) & (
        c["connected_at"] <= ctx.as_of)
    out = pd.DataFrame(c.loc[mask.to_numpy(), ["name", "category", "connected_at"]])
    out["grid_id"] = ctx.customer_grid[out.index]
    return out


def _new_connections(area: ServiceArea, ctx: AuditContext) -> pd.DataFrame:
    c = area.customers
    since = ctx.as_of - pd.DateOffset(months=ctx.rules.new_connection_months)
    mask = c["connected_at"].notna() & (c["connected_at"] >= since) & (c["connected_at"] <= ctx.as_of)
    out = pd.DataFrame(c.loc[mask.to_numpy(), ["name", "category", "voltage", "connected_at"]])
    out["grid_id"] = ctx.customer_grid[out.index]
    return out


def _closed_orders(kind: str | None) -> Callable[[ServiceArea, AuditContext], pd.DataFrame]:
    def population(area: ServiceArea, ctx: AuditContext) -> pd.DataFrame:
        wo = area.work_orders
        mask = wo["closed_at"].notna() & (True if kind is None else (wo["kind"] == kind))
        out = pd.DataFrame(wo.loc[mask.to_numpy(), ["kind", "customer_id", "received_at", "closed_at",
                                                     "assignee_id"]])
        out["grid_id"] = ctx.order_grid[out.index]
        return out

    return population


def _key_customers(area: ServiceArea, ctx: AuditContext) -> pd.DataFrame:
    c = area.customers
    out = pd.DataFrame(c.loc[c["key_customer"].fillna(False).astype(bool).to_numpy(), ["name", "category", "voltage"]])
    out["grid_id"] = ctx.customer_grid[out.index]
    return out


#: Populations a field audit can sample: name → (description zh, builder).
POPULATIONS: dict[str, tuple[str, Callable[[ServiceArea, AuditContext], pd.DataFrame]]] = {
    "hv_new_connections": ("高压新装客户", _hv_new_connections),
    "new_connections": ("新装客户", _new_connections),
    "closed_orders": ("已归档工单", _closed_orders(None)),
    "closed_complaints": ("已归档投诉工单", _closed_orders("complaint")),
    "closed_repairs": ("已归档抢修工单", _closed_orders("repair")),
    "key_customers": ("重要客户", _key_customers),
}


def population(area: ServiceArea, name: str, *, rules: Rules = DEFAULT_RULES,
               as_of: object | None = None) -> pd.DataFrame:
    """The members of a named population (:data:`POPULATIONS`), with their ``grid_id``."""
    if name not in POPULATIONS:
        msg = f"unknown population {name!r}; populations are {', '.join(POPULATIONS)}"
        raise NotFoundError(msg)
    ctx = AuditContext(area, rules=rules, as_of=as_of)
    return POPULATIONS[name][1](area, ctx)


def sample(frame: pd.DataFrame, *, pct: float, seed: int, key: str | None = None) -> pd.DataFrame:
    """A reproducible random ``pct`` % of the rows (at least one when there are any).

    Rows are ordered by ``key`` (a column; default the index) before drawing,
    so the same seed on the same population gives the same sample whatever
    the input order. The sample keeps that order.
    """
    if not 0 < pct <= 100:
        msg = f"sample percentage must be in (0, 100], got {pct}"
        raise DataError(msg)
    if not len(frame):
        return frame
    keys = frame[key].astype("str") if key is not None else pd.Series(frame.index.astype("str"), index=frame.index)
    order = np.argsort(keys.to_numpy(dtype=object), kind="stable")
    ordered = frame.iloc[order]
    n = min(len(frame), max(1, math.ceil(len(frame) * pct / 100 - 1e-9)))
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(frame), size=n, replace=False))
    return ordered.iloc[chosen]


__all__ = [
    "EVENT_TIME_RULES",
    "POPULATIONS",
    "RULES",
    "RULE_IDS",
    "AuditContext",
    "AuditRule",
    "audit",
    "check_event_times",
    "findings_by_grid",
    "population",
    "rules_table",
    "sample",
]
