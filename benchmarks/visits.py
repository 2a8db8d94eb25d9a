"""Visit lists for every member on the 1,000,000-customer demo vs a plain pandas baseline.

Target (issue 19): under 5 s on the 1M-customer demo, measured beside the baseline in the same run.

    python benchmarks/visits.py [--customers 1000000] [--repeat 3] [--baseline-key 2000]

Ours is :func:`gridservice.metrics.visits.visit_list` for every member and the
coming week: the two norms' due dates over all key customers, the complaint
callbacks, the responsible member, the days and the nearest-neighbour routes
(all routes stepping together). :func:`~gridservice.metrics.visits.next_due`
over all customers is timed beside it.

The baseline is what one writes without vectorising: ``groupby`` over the key
customers' visits with a Python function per customer for the due dates, a
loop over the closed complaints for the callbacks, then per member a
nearest-neighbour walk in plain Python over each day's stops (the same
straight-line metres). It is written independently, so the run also checks
that both give the same due dates and the same route order. With
``--baseline-key`` below the number of key customers the per-customer part
runs on the first ones and its time is scaled up linearly (the work is per
customer); the complaint loop and the route walks run in full.
"""

from __future__ import annotations

import argparse
import math
import time

import pandas as pd
from common import best_of, demo_area, with_cpu

from gridservice.config import Rules
from gridservice.metrics.visits import next_due, visit_list, working_days
from gridservice.model import ServiceArea


def baseline_due(area: ServiceArea, rules: Rules, at: pd.Timestamp, key: pd.Index
                 ) -> dict[tuple[str, str], pd.Timestamp]:
    """(customer, reason) → due date (NaT: never met), one key customer of ``key`` at a time."""
    v = area.visits
    v = v[v["at"] < at]
    out: dict[tuple[str, str], pd.Timestamp] = {}

    def norm(times: list[pd.Timestamp], count: int, months: int) -> pd.Timestamp:
        times = sorted(times, reverse=True)
        return times[count - 1] + pd.DateOffset(months=months) if len(times) >= count else pd.NaT

    by_customer = dict(tuple(v[v["customer_id"].isin(key)].groupby("customer_id")))
    for cid in key:
        g = by_customer.get(cid)
        home = [] if g is None else list(g.loc[g["kind"] == "home", "at"])
        phone = [] if g is None else list(g.loc[g["kind"] == "phone", "at"])
        out[(cid, "home_norm")] = norm(home, rules.home_visits_per_year, 12)
        out[(cid, "phone_norm")] = norm(phone, rules.phone_visits_per_quarter, 3)
    calls = v[v["kind"] == "phone"].groupby("customer_id")["at"].apply(list).to_dict()
    wo = area.work_orders
    since = at - pd.Timedelta(days=rules.complaint_callback_window_days)
    for _, row in wo[wo["kind"] == "complaint"].sort_values("closed_at").iterrows():
        closed = row["closed_at"]
        if pd.isna(row["customer_id"]) or pd.isna(closed) or not since <= closed < at:
            continue
        if any(t >= closed for t in calls.get(row["customer_id"], [])):
            continue
        out.setdefault((row["customer_id"], "complaint_callback"),
                       closed + pd.Timedelta(days=rules.complaint_callback_days))
    return out


def baseline_routes(area: ServiceArea, stops: pd.DataFrame) -> dict[tuple[str, str], list[str]]:
    """(member, day) → customers in nearest-neighbour order from the base, walked in plain Python."""
    crs = area.metric_crs
    xy = area.customers.geometry.to_crs(crs)
    base = area.staff.geometry.to_crs(crs)
    out = {}
    for (sid, day), g in stops.groupby(["staff_id", "day"]):
        left = [(cid, xy[cid].x, xy[cid].y) for cid in g["customer_id"]]
        b = base.get(sid)
        x, y = (b.x, b.y) if b is not None and not b.is_empty else (left[0][1], left[0][2])
        order = []
        while left:
            j = min(range(len(left)), key=lambda i: math.hypot(left[i][1] - x, left[i][2] - y))
            cid, x, y = left.pop(j)
            order.append(cid)
        out[(sid, day)] = order
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-key", type=int, default=2_000,
                        help="key customers the per-customer baseline runs on, its time scaled up (0: all)")
    args = parser.parse_args()

    area, _, built = demo_area(args.customers)
    at = area.as_of
    print(f"demo area: {len(area.customers):,} customers, {int(area.customers['key_customer'].sum()):,} key, "
          f"{len(area.visits):,} visits, {len(area.staff):,} staff "
          f"({built:.1f} s to build and derive)")
    rules = Rules()
    area.metric_crs  # noqa: B018 - built once, as the server keeps it

    t_ours, (cpu_ours, table) = best_of(lambda: with_cpu(lambda: visit_list(area, horizon="week", rules=rules)),
                                        args.repeat)
    t_next, nxt = best_of(lambda: next_due(area, rules=rules), args.repeat)

    c = area.customers
    key = c.index[c["key_customer"].fillna(False).astype(bool).to_numpy()]
    some = key[: args.baseline_key] if args.baseline_key else key
    t = time.perf_counter()
    due = baseline_due(area, rules, at, some)
    t_due = (time.perf_counter() - t) * len(key) / max(len(some), 1)
    # the baseline walks the same day assignment (urgency order, max stops a day): only the walk is compared
    stops = table[table["stop"].notna()]
    t = time.perf_counter()
    walks = baseline_routes(area, stops.sort_values(["staff_id", "day", "due_at"], na_position="first"))
    t_routes = time.perf_counter() - t

    ours_due = {(r.customer_id, r.reason): r.due_at for r in nxt.reset_index().itertuples()}
    for k, d in ours_due.items():
        if k not in due and k[0] not in some and k[1] != "complaint_callback":
            continue  # a key customer the baseline did not run on
        assert (pd.isna(d) and pd.isna(due[k])) or d == due[k], (k, d, due[k])
    ours_walk = {k: g.sort_values("stop")["customer_id"].tolist() for k, g in stops.groupby(["staff_id", "day"])}
    assert ours_walk == walks, "ours and the baseline walk the routes differently"

    days = working_days(area, rules=rules)
    t_base = t_due + t_routes
    print(f"\nvisit lists for the week {days[0]:%Y-%m-%d}..{days[-1]:%Y-%m-%d}: {len(table):,} visits for "
          f"{table['staff_id'].nunique():,} members, {int(table['overdue'].sum()):,} overdue, "
          f"{len(ours_walk):,} day routes; due dates and route order equal to the baseline's")
    scaled = "" if len(some) == len(key) else f"; per-customer part on {len(some):,} of {len(key):,} key, scaled"
    print(f"  pandas baseline (groupby + loops)   {t_base:8.2f} s   (due dates {t_due:.2f} s, routes {t_routes:.2f} s"
          f"{scaled})")
    print(f"  gridservice visit_list (all)        {t_ours:8.2f} s   ({cpu_ours:.2f} s CPU)   target < 5 s   "
          f"baseline / ours {t_base / t_ours:.0f}x")
    print(f"  gridservice next_due ({len(nxt):,} customers) {t_next:6.2f} s")


if __name__ == "__main__":
    main()
