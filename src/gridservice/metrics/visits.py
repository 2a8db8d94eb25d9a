"""Visits that get done (走访与回访计划): what is due, by whom, in which order.

Three reasons make a customer due for a visit (docs/visits.md):

* ``home_norm`` — a key customer needs ``Rules.home_visits_per_year`` home
  visits in any 12 months. The norm holds until the N-th most recent home
  visit is 12 months old: that visit + 12 months is the due date. With fewer
  than N home visits on record it has never been met: due now, ``due_at``
  missing.
* ``phone_norm`` — likewise ``Rules.phone_visits_per_quarter`` phone
  callbacks in any 3 months.
* ``complaint_callback`` — a complaint closed within the last
  ``Rules.complaint_callback_window_days`` with no phone visit to its
  customer since it was closed: due ``Rules.complaint_callback_days`` after
  the closing (the earliest such complaint; one call answers them all).

:func:`norm_due` is the one rule for the norms: the coverage KPI and the
audit's ``KEY_CUSTOMER_NOT_VISITED`` (``metrics.kpi.visit_covered``) read
"covered at t" as "both due dates at or after t".

:func:`visit_list` turns the due visits of the coming week or month into
each member's working days: overdue first, then by due date, at most
``Rules.visit_max_stops_per_day`` home visits a day, each day one walkable
route in nearest-neighbour order from the member's base (the ``staff``
Point), by straight-line metres in the area's metric CRS (the data has no
road layer). Phone calls go on the working day they fall due (overdue ones
on the first). The due dates are computed over all customers at once; the
nearest-neighbour step runs over all routes at once, one step per stop.
"""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import DataError, NotFoundError
from gridservice.events.calendar import work_calendar
from gridservice.model import ServiceArea
from gridservice.schema import TIMEZONE, VISIT_KINDS

REASONS: tuple[str, ...] = ("home_norm", "phone_norm", "complaint_callback")
REASONS_ZH = {"home_norm": "重要客户年度走访", "phone_norm": "重要客户季度电话回访",
              "complaint_callback": "投诉办结回访"}
#: How far ahead a visit list looks.
HORIZONS = {"week": pd.DateOffset(weeks=1), "month": pd.DateOffset(months=1)}
#: Columns of :func:`due_visits` and :func:`next_due`.
DUE_COLUMNS = ("customer_id", "kind", "reason", "due_at", "overdue", "overdue_days", "detail", "grid_id",
               "staff_id")
#: Columns of :func:`visit_list`.
LIST_COLUMNS = ("staff_id", "staff_name", "day", "stop", "kind", "reason", "reason_zh", "customer_id", "name",
                "address", "phone", "grid_id", "due_at", "overdue", "overdue_days", "detail", "lon", "lat",
                "leg_m")


def norm_due(visits: pd.DataFrame, customers: pd.Index, *, kind: str, count: int, months: int,
             before: pd.Timestamp) -> pd.Series:
    """When each customer's norm of ``count`` visits of ``kind`` in any ``months`` months falls due.

    The ``count``-th most recent such visit before ``before``, plus ``months``;
    NaT where the customer has fewer (never met: due already). A norm of 0
    visits is never due: all NaT too, so callers test ``count`` first.

    >>> v = pd.DataFrame({"customer_id": ["C1", "C1"], "kind": ["home", "home"],
    ...                   "at": pd.to_datetime(["2025-06-10", "2025-12-01"])})
    >>> norm_due(v, pd.Index(["C1", "C2"]), kind="home", count=2, months=12,
    ...          before=pd.Timestamp("2026-04-01")).tolist()
    [Timestamp('2026-06-10 00:00:00'), NaT]
    """
    when = pd.to_datetime(visits["at"], utc=True).dt.tz_convert(TIMEZONE).dt.as_unit("ms")
    if count <= 0:
        return pd.Series(pd.NaT, index=customers, dtype=when.dtype, name="due_at")
    keep = (visits["kind"] == kind).to_numpy() & (when < before).to_numpy()
    v = pd.DataFrame({"customer_id": visits["customer_id"].to_numpy()[keep], "at": when[keep].array})
    v = v.sort_values("at", ascending=False, kind="stable")
    nth = v[(v.groupby("customer_id", sort=False).cumcount() == count - 1).to_numpy()]
    due = nth.set_index("customer_id")["at"] + pd.DateOffset(months=months)
    return due.reindex(customers).astype(when.dtype).rename("due_at")


def judged_at(area: ServiceArea, as_of: object | None) -> pd.Timestamp:
    """``as_of`` (naive means local) or the data's ``area.as_of``, in the area's timezone."""
    ts = pd.Timestamp(area.as_of if as_of is None else as_of)  # type: ignore[arg-type]
    return ts.tz_localize(TIMEZONE) if ts.tzinfo is None else ts.tz_convert(TIMEZONE)


def responsible_member(area: ServiceArea, customer_ids: pd.Index) -> pd.Series:
    """Who visits each customer: the member who visited last, while still on the customer's grid;
    else the grid's first grid member (by id), else its first grid manager; NaN without either."""
    grid = area.customers["grid_id"].reindex(customer_ids)
    gs = area.grid_staff
    on_grid = pd.MultiIndex.from_frame(gs[["grid_id", "staff_id"]].astype("str")) if len(gs) else pd.MultiIndex(
        levels=[[], []], codes=[[], []])
    v = area.visits
    last = (v.sort_values("at", kind="stable").drop_duplicates("customer_id", keep="last")
            .set_index("customer_id")["staff_id"].reindex(customer_ids))
    pairs = pd.MultiIndex.from_arrays([grid.astype("str").to_numpy(), last.astype("str").to_numpy()])
    keep = last.notna().to_numpy() & pairs.isin(on_grid)
    ordered = gs.sort_values(["grid_id", "staff_id"]) if len(gs) else gs
    first = {role: ordered[ordered["role"] == role].groupby("grid_id")["staff_id"].first()
             for role in ("grid_member", "grid_manager")}
    fallback = grid.map(first["grid_member"])
    fallback = fallback.where(fallback.notna(), grid.map(first["grid_manager"]))
    return pd.Series(np.where(keep, last.to_numpy(dtype=object), fallback.to_numpy(dtype=object)),
                     index=customer_ids, name="staff_id")


def due_visits(area: ServiceArea, *, rules: Rules = DEFAULT_RULES, as_of: object | None = None) -> pd.DataFrame:
    """Every visit due at ``as_of`` (default ``area.as_of``): one row per customer and reason.

    Returns
    -------
    pandas.DataFrame
        :data:`DUE_COLUMNS`: ``kind`` home/phone, ``reason`` one of
        :data:`REASONS`, ``due_at`` (NaT: the norm was never met), ``overdue``
        (due before ``as_of``), ``overdue_days`` (whole days past due; NaN when
        never met or not yet due), ``detail`` (why, in words), ``grid_id``,
        ``staff_id`` (:func:`responsible_member`); ordered overdue first,
        then by due date.
    """
    at = judged_at(area, as_of)
    c, v = area.customers, area.visits
    key = c.index[c["key_customer"].fillna(False).astype(bool).to_numpy()]
    parts = []
    for kind, reason, count, months, unit in (
            ("home", "home_norm", rules.home_visits_per_year, 12, "12 months"),
            ("phone", "phone_norm", rules.phone_visits_per_quarter, 3, "3 months")):
        if count <= 0:
            continue
        due = norm_due(v, key, kind=kind, count=count, months=months, before=at)
        last = (due - pd.DateOffset(months=months)).dt.strftime("%Y-%m-%d")
        detail = (f"{count} {kind} visit(s) in any {unit}; no. {count} back on " + last).where(
            due.notna(), f"fewer than {count} {kind} visit(s) on record")
        parts.append(pd.DataFrame({"customer_id": due.index, "kind": kind, "reason": reason,
                                   "due_at": due.array, "detail": detail.to_numpy()}))
    parts.append(_complaint_callbacks(area, at, rules))
    out = pd.concat(parts, ignore_index=True)
    out["due_at"] = out["due_at"].astype(f"datetime64[ms, {TIMEZONE}]")
    out["overdue"] = (out["due_at"].isna() | (out["due_at"] < at)).to_numpy()
    late = (at - out["due_at"]).dt.total_seconds() / 86400
    out["overdue_days"] = np.floor(late.where(late > 0)).astype("float64")
    out["grid_id"] = c["grid_id"].reindex(out["customer_id"]).to_numpy()
    out["staff_id"] = responsible_member(area, pd.Index(out["customer_id"])).to_numpy()
    return _by_urgency(out)[list(DUE_COLUMNS)].reset_index(drop=True)


def _complaint_callbacks(area: ServiceArea, at: pd.Timestamp, rules: Rules) -> pd.DataFrame:
    wo, v = area.work_orders, area.visits
    closed = wo["closed_at"]
    done = ((wo["kind"] == "complaint") & wo["customer_id"].notna() & closed.notna() & (closed < at)
            & (closed >= at - pd.Timedelta(days=rules.complaint_callback_window_days))).to_numpy()
    c = wo[done]
    phone = v[(v["kind"] == "phone").to_numpy() & (v["at"] < at).to_numpy()]
    last_call = _utc(phone["at"]).groupby(phone["customer_id"].to_numpy()).max()
    last = _utc(last_call.reindex(c["customer_id"].to_numpy()))
    answered = (last.to_numpy() >= _utc(c["closed_at"]).to_numpy())  # NaT: never called
    first = c[~answered].sort_values("closed_at", kind="stable").drop_duplicates("customer_id")
    ids = pd.Series(first.index.astype("str"), index=first.index)
    return pd.DataFrame({
        "customer_id": first["customer_id"].to_numpy(), "kind": "phone", "reason": "complaint_callback",
        "due_at": (first["closed_at"] + pd.Timedelta(days=rules.complaint_callback_days)).array,
        "detail": ("complaint " + ids + " closed " + first["closed_at"].dt.strftime("%Y-%m-%d %H:%M")
                   + ", no callback since").to_numpy()})


def _utc(times: pd.Series) -> pd.Series:
    """Times as UTC instants, whatever the frame's dtype (an empty layer may carry no datetime dtype)."""
    return pd.to_datetime(times, utc=True).dt.tz_localize(None).dt.as_unit("ms")


def _by_urgency(df: pd.DataFrame, *, first: tuple[str, ...] = ()) -> pd.DataFrame:
    """Overdue first (never met before any date), then by due date; ties by customer and reason."""
    never = df["due_at"].isna().map({True: 0, False: 1})
    keys = [*first, "_never", "due_at", "customer_id", "reason"]
    return df.assign(_never=never).sort_values(keys, kind="stable").drop(columns="_never")


def next_due(area: ServiceArea, *, rules: Rules = DEFAULT_RULES, as_of: object | None = None) -> pd.DataFrame:
    """Per customer the next due visit (the most urgent of :func:`due_visits`), indexed by ``customer_id``."""
    due = due_visits(area, rules=rules, as_of=as_of)
    return due.drop_duplicates("customer_id").set_index("customer_id")


def overdue_by_grid(area: ServiceArea, *, rules: Rules = DEFAULT_RULES, as_of: object | None = None) -> pd.Series:
    """Overdue visits (customer × reason) per grid at ``as_of``, 0 for grids with none."""
    due = due_visits(area, rules=rules, as_of=as_of)
    late = due.loc[due["overdue"].to_numpy(), "grid_id"]
    return late.value_counts().reindex(area.grids.index, fill_value=0).astype("int64").rename("overdue_visits")


def working_days(area: ServiceArea, *, horizon: str = "week", rules: Rules = DEFAULT_RULES,
                 as_of: object | None = None) -> pd.DatetimeIndex:
    """The working days after ``as_of``'s day up to the horizon (local midnights)."""
    if horizon not in HORIZONS:
        msg = f"horizon {horizon!r} is not one of {', '.join(HORIZONS)}"
        raise DataError(msg)
    start = judged_at(area, as_of).normalize()
    days = pd.date_range(start + pd.Timedelta(days=1), start + HORIZONS[horizon], freq="D")
    work = days[work_calendar(rules.extra_holidays).is_workday(days)]
    return work if len(work) else days[:1]


def visit_list(area: ServiceArea, staff_id: str | None = None, *, horizon: str = "week",
               rules: Rules = DEFAULT_RULES, as_of: object | None = None) -> pd.DataFrame:
    """Each member's visits for the coming week or month, as day routes.

    Parameters
    ----------
    staff_id
        Only this member's list (default: every member with visits due).
    horizon
        ``week`` (the working days of the next 7 days) or ``month``.

    Returns
    -------
    pandas.DataFrame
        :data:`LIST_COLUMNS`, one row per visit: the ``day`` (``YYYY-MM-DD``;
        missing when the member's days are full), the ``stop`` on that day's
        route (1, 2, …; missing for phone calls), the customer's name, address
        and phone, the ``leg_m`` walked from the previous stop (or the base).
        Ordered by member, day, home stops in route order, then the calls by
        due date; unscheduled visits last.

    Examples
    --------
    >>> visit_list(area, "SF0001", horizon="week")[["day", "stop", "customer_id"]]  # doctest: +SKIP
    """
    days = working_days(area, horizon=horizon, rules=rules, as_of=as_of)
    if staff_id is not None and staff_id not in area.staff.index:
        msg = f"unknown staff member {staff_id!r}"
        raise NotFoundError(msg)
    due = due_visits(area, rules=rules, as_of=as_of)
    until = days[-1] + pd.Timedelta(days=1) if len(days) else judged_at(area, as_of)
    due = due[(due["due_at"].isna() | (due["due_at"] < until)).to_numpy() & due["staff_id"].notna().to_numpy()]
    if staff_id is not None:
        due = due[(due["staff_id"] == staff_id).to_numpy()]
    due = due.reset_index(drop=True)
    n_days = len(days)
    day_pos = np.full(len(due), -1, dtype=np.int64)
    home = (due["kind"] == "home").to_numpy()
    # home visits: the member's most urgent first, max_stops a day
    rank = due[home].groupby("staff_id", sort=False).cumcount().to_numpy()
    pos = rank // rules.visit_max_stops_per_day
    day_pos[home] = np.where(pos < n_days, pos, -1)
    # calls: on the working day they fall due, the overdue ones on the first
    due_day = due.loc[~home, "due_at"].dt.tz_convert(TIMEZONE).dt.normalize()
    call = np.searchsorted(days.as_unit("ms").asi8, due_day.dt.as_unit("ms").astype("int64").to_numpy(), "left")
    day_pos[~home] = np.where(due_day.isna().to_numpy(), 0, np.minimum(call, n_days - 1))
    due["day"] = pd.Series(days.strftime("%Y-%m-%d"), dtype=object).reindex(day_pos).to_numpy()

    xy, base = _metric_points(area, due)
    stop, leg = _routes(due["staff_id"].to_numpy(), day_pos, home, xy, base)
    due["stop"] = pd.array(np.where(stop > 0, stop, 0), dtype="Int64")
    due.loc[stop <= 0, "stop"] = pd.NA
    due["leg_m"] = np.where(stop > 0, np.round(leg, 1), np.nan)
    due = with_contacts(area, due)
    due["staff_name"] = due["staff_id"].map(area.staff["name"])
    due["reason_zh"] = due["reason"].map(REASONS_ZH)
    order = np.lexsort((np.arange(len(due)), due["stop"].fillna(10**9).to_numpy(dtype="int64"), ~home,
                        np.where(day_pos < 0, n_days, day_pos), due["staff_id"].astype("str").to_numpy()))
    return due.iloc[order][list(LIST_COLUMNS)].reset_index(drop=True)


def with_contacts(area: ServiceArea, table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (with ``customer_id``) with each customer's ``name``, ``address``, ``phone``, ``lon``, ``lat``."""
    c = area.customers.reindex(table["customer_id"])
    out = table.copy()
    for col in ("name", "address", "phone"):
        out[col] = c[col].to_numpy() if col in c.columns else None
    geom = c.geometry
    out["lon"] = np.asarray(geom.x, dtype="float64") if len(geom) else np.zeros(0)
    out["lat"] = np.asarray(geom.y, dtype="float64") if len(geom) else np.zeros(0)
    return out


def member_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per member of a :func:`visit_list`: visits, overdue ones, home visits on a route, days used."""
    g = table.assign(routed=table["stop"].notna()).groupby("staff_id", sort=True)
    return pd.DataFrame({"staff_name": g["staff_name"].first(), "visits": g.size(), "overdue": g["overdue"].sum(),
                         "home_visits": g["routed"].sum(), "days": g["day"].nunique()}).reset_index()


def _metric_points(area: ServiceArea, due: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The due customers' and their members' bases' coordinates in the metric CRS (NaN where missing)."""
    crs = area.metric_crs
    cust = area.customers.geometry.reindex(due["customer_id"])
    base = area.staff.geometry.reindex(due["staff_id"])

    def xy(g: object) -> np.ndarray:
        pts = g.to_crs(crs)  # type: ignore[attr-defined]
        empty = pts.isna().to_numpy() | pts.is_empty.to_numpy()
        out = np.full((len(pts), 2), np.nan)
        if (~empty).any():
            out[~empty] = np.column_stack([pts[~empty].x, pts[~empty].y])
        return out

    return xy(cust), xy(base)


def _routes(staff: np.ndarray, day: np.ndarray, home: np.ndarray, xy: np.ndarray, base: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Stop numbers (1-based, 0 off any route) and legs (m) of nearest-neighbour routes, one per
    (member, day), from the member's base (from the first stop where the base is unknown).

    All routes advance together: step k picks, in every route at once, the nearest stop not yet
    visited, so the loop runs as many times as the longest route has stops."""
    n = len(staff)
    stop, leg = np.zeros(n, np.int64), np.zeros(n)
    on = np.flatnonzero(home & (day >= 0) & ~np.isnan(xy).any(axis=1))
    if not len(on):
        return stop, leg
    keys = pd.MultiIndex.from_arrays([staff[on], day[on]])
    route, _ = pd.factorize(keys)
    order = np.argsort(route, kind="stable")  # keeps the due order inside a route
    on, route = on[order], route[order]
    n_routes = int(route.max()) + 1
    starts = np.searchsorted(route, np.arange(n_routes))
    slot = np.arange(len(on)) - starts[route]
    k = int(slot.max()) + 1
    pts = np.full((n_routes, k, 2), np.inf)
    pts[route, slot] = xy[on]
    member = np.full((n_routes, k), -1)
    member[route, slot] = on
    cur = base[on[starts]]
    unknown = np.isnan(cur).any(axis=1)
    cur[unknown] = pts[unknown, 0]
    free = member >= 0
    rows = np.arange(n_routes)
    for step in range(1, k + 1):
        d = np.hypot(pts[..., 0] - cur[:, None, 0], pts[..., 1] - cur[:, None, 1])
        d[~free] = np.inf
        j = np.argmin(d, axis=1)
        live = np.isfinite(d[rows, j])
        r, jj = rows[live], j[live]
        stop[member[r, jj]] = step
        leg[member[r, jj]] = d[r, jj]
        free[r, jj] = False
        cur[r] = pts[r, jj]
    return stop, leg


def route_lines(area: ServiceArea, table: pd.DataFrame) -> pd.DataFrame:
    """One row per (member, day) route of a :func:`visit_list`: the stops in order with the base first,
    as ``[[lon, lat], …]`` in ``coords``, and ``length_m``."""
    routed = table[table["stop"].notna().to_numpy()].sort_values(["staff_id", "day", "stop"], kind="stable")
    base = area.staff.geometry.reindex(routed["staff_id"].unique())
    rows = []
    for (sid, day), g in routed.groupby(["staff_id", "day"], sort=True):  # a few routes per member
        b = base.get(sid)
        start = [] if b is None or b.is_empty else [[float(b.x), float(b.y)]]
        coords = start + g[["lon", "lat"]].to_numpy().tolist()
        rows.append({"staff_id": sid, "day": day, "stops": len(g), "length_m": round(float(g["leg_m"].sum()), 1),
                     "coords": coords})
    return pd.DataFrame(rows, columns=["staff_id", "day", "stops", "length_m", "coords"])


def record_visit(area: ServiceArea, customer_id: str, *, staff_id: str, kind: str, at: pd.Timestamp) -> pd.DataFrame:
    """A visit done: one new ``visits`` row, checked against the area.

    Raises
    ------
    NotFoundError
        No such customer or staff member.
    DataError
        A kind other than home/phone, or a time later than ``area.now``.
    """
    if customer_id not in area.customers.index:
        msg = f"unknown customer {customer_id!r}"
        raise NotFoundError(msg)
    if staff_id not in area.staff.index:
        msg = f"unknown staff member {staff_id!r}"
        raise NotFoundError(msg)
    if kind not in VISIT_KINDS:
        msg = f"visit kind must be one of {', '.join(VISIT_KINDS)}, not {kind!r}"
        raise DataError(msg)
    if at > area.now:
        msg = f"visit time {at.isoformat()} is later than now ({area.now.isoformat()})"
        raise DataError(msg)
    index = pd.Index([f"VI{at:%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"], name="visit_id")
    return pd.DataFrame({"staff_id": staff_id, "customer_id": customer_id,
                         "at": pd.Series([at], index=index).astype(f"datetime64[ms, {TIMEZONE}]"), "kind": kind},
                        index=index)


__all__ = ["DUE_COLUMNS", "HORIZONS", "LIST_COLUMNS", "REASONS", "REASONS_ZH", "due_visits", "judged_at",
           "member_summary", "next_due", "norm_due", "overdue_by_grid", "record_visit", "responsible_member",
           "route_lines", "visit_list", "with_contacts", "working_days"]
