"""A year of demo 业扩 applications (new connections and capacity increases), with planted problems.

About two applications a year per hundred customers, one in eight at high
voltage. Every step falls on a working day in office hours, within its limit
(``Rules`` defaults) and at least one working day after the step before, and
the steps have different handlers (a grid member accepts, the grid manager
replies with the supply plan, the station's crew connects): left alone, the
weekly monitor finds nothing in them but open steps close to their limit.
Then a few problems are planted on completed applications and listed in
``Applications.planted`` under the monitor flag that reports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gridservice.config import Rules
from gridservice.demo.events import Year
from gridservice.demo.geography import Grids
from gridservice.demo.network import Network
from gridservice.demo.people import Staff
from gridservice.events.calendar import work_calendar
from gridservice.schema import APPLICATION_CATEGORIES

NAT = np.datetime64("NaT", "s")
RESIDENTIAL, NON_RESIDENTIAL, SMALL_MICRO = range(3)
CHANNELS = ("网上国网", "营业厅", "95598")
#: Capacities (kVA) drawn per (voltage, category); high-voltage small/micro firms are above every
#: low-voltage access limit, so only planted ones are flagged.
_LOW_KVA = {RESIDENTIAL: (4, 8, 10, 16, 20), NON_RESIDENTIAL: (20, 30, 50, 80, 100),
            SMALL_MICRO: (30, 50, 80, 100, 120)}
_HIGH_KVA = (200, 315, 400, 500, 630, 800, 1000, 1250, 1600)
_STEPS = ("accepted", "plan_replied", "connected")


@dataclass
class Applications:
    """Applications as arrays (times naive local seconds, NaT when not done), and what was planted."""

    high: np.ndarray
    category: np.ndarray
    new: np.ndarray
    customer: np.ndarray  # -1: a new customer at a meter box
    xy: np.ndarray
    grid: np.ndarray
    kva: np.ndarray
    dual: np.ndarray
    channel: np.ndarray
    status: np.ndarray  # 0 in_progress, 1 connected, 2 cancelled
    times: np.ndarray  # n × 3: accepted, plan_replied, connected
    handlers: np.ndarray  # n × 3 staff indexes of who does (or will do) each step; -1 none
    #: flag → [(application index, detail)]
    planted: dict[str, list[tuple[int, str]]] = field(default_factory=dict)


class _Days:
    """Working days of the demo year, as naive local days, with arithmetic in working days."""

    def __init__(self, year: Year) -> None:
        self.cal = work_calendar(Rules().extra_holidays)
        first = year.t0.astype("datetime64[D]")
        days = first + np.arange(year.n_days + 120)  # room for steps planned after ``now``
        self.work = days[self.cal.is_workday(pd.DatetimeIndex(days))]

    def after(self, day: np.ndarray, n: np.ndarray) -> np.ndarray:
        """The ``n``-th working day after each ``day``."""
        pos = np.searchsorted(self.work, day, side="right") - 1 + n
        return self.work[np.minimum(pos, len(self.work) - 1)]


def _office(rng: np.random.Generator, day: np.ndarray) -> np.ndarray:
    """A time in office hours (09:00–11:30, 14:00–16:30) on each day."""
    minute = np.where(rng.random(len(day)) < 0.5, 540, 840) + rng.integers(0, 150, len(day))
    return day.astype("datetime64[s]") + (minute * 60).astype("timedelta64[s]")


def make_applications(
    net: Network, grids: Grids, staff: Staff, customer_hv: np.ndarray, year: Year, rng: np.random.Generator
) -> Applications:
    """The year's applications, clean, then the planted problems."""
    rules = Rules()
    days = _Days(year)
    n_cu = len(net.cu_xy)
    n = max(40, round(n_cu * 0.02))
    high = rng.random(n) < 0.125
    category = np.where(high, np.where(rng.random(n) < 0.25, SMALL_MICRO, NON_RESIDENTIAL),
                        rng.choice(3, size=n, p=[0.7, 0.2, 0.1]))
    new = rng.random(n) < 0.6
    # Increases come from an existing customer at the same voltage; new customers from a meter box.
    pool = [np.flatnonzero(customer_hv == v) for v in (False, True)]
    customer = np.full(n, -1, np.int64)
    for v in (False, True):
        rows = np.flatnonzero(~new & (high == v))
        if len(pool[v]):
            customer[rows] = pool[v][rng.integers(0, len(pool[v]), len(rows))]
    new = customer < 0
    box = rng.integers(0, len(net.ap_xy), n)
    xy = np.where(new[:, None], net.ap_xy[box], net.cu_xy[np.maximum(customer, 0)])
    grid = np.where(new, net.ap_grid[box], net.cu_grid[np.maximum(customer, 0)])
    kva = np.empty(n)
    for c, choices in _LOW_KVA.items():
        m = ~high & (category == c)
        kva[m] = rng.choice(choices, size=m.sum())
    kva[high] = rng.choice(_HIGH_KVA, size=high.sum())
    dual = high & (rng.random(n) < 0.1)
    channel = rng.choice(len(CHANNELS), size=n, p=[0.6, 0.3, 0.1])

    # Steps: each on a working day, a draw of 1 … limit working days after the one before.
    first_day = year.t0.astype("datetime64[D]")
    in_year = days.work[(days.work >= first_day) & (days.work <= year.now.astype("datetime64[D]"))]
    accepted = _office(rng, in_year[rng.integers(0, len(in_year), n)])
    limits = rules.application_step_working_days
    key = np.where(high, np.where(dual, "high/dual", "high/single"),
                   np.array([f"low/{c}" for c in APPLICATION_CATEGORIES])[category])
    plan_limit = np.array([limits[k].get("plan_replied", 1) for k in key])
    conn_limit = np.array([limits[k]["connected"] for k in key])
    plan_day = days.after(accepted.astype("datetime64[D]"), 1 + rng.integers(0, np.minimum(plan_limit, 10)))
    plan = np.where(high, _office(rng, plan_day), NAT)
    start = np.where(high, plan, accepted)
    conn_day = days.after(start.astype("datetime64[D]"), 1 + rng.integers(0, conn_limit))
    connected = _office(rng, conn_day)
    times = np.column_stack([accepted, plan, connected])
    times[times > year.now] = NAT
    cancelled = rng.random(n) < 0.02  # withdrawn by the customer before connection
    times[cancelled, 2] = NAT
    status = np.where(cancelled, 2, np.where(np.isnat(times[:, 2]), 0, 1))

    member = staff.members[staff.member_start[grid] + (rng.random(n) * staff.member_count[grid]).astype(np.int64)]
    st = grids.station[grid]
    crew = staff.repair_start[st] + (rng.random(n) * staff.repair_count[st]).astype(np.int64)
    manager = np.where(staff.grid_manager[grid] >= 0, staff.grid_manager[grid], crew)
    handlers = np.column_stack([member, np.where(high, manager, -1), crew])

    apps = Applications(high, category, new, customer, xy, grid, kva, dual, channel, status, times, handlers)
    _plant(rng, apps, days, year, rules)
    return apps


def _plant(rng: np.random.Generator, a: Applications, days: _Days, year: Year, rules: Rules) -> None:
    """Problems on distinct applications completed before the last two months."""
    t = a.times
    early = (a.status == 1) & (t[:, 0] < year.t0 + np.timedelta64(int(year.month_start[10]), "D"))
    taken: set[int] = set()
    planted: dict[str, list[tuple[int, str]]] = {}

    def pick(mask: np.ndarray, k: int) -> list[int]:
        cand = [int(i) for i in rng.permutation(np.flatnonzero(mask & early)) if int(i) not in taken][:k]
        taken.update(cand)
        return cand

    low_limit = {c: rules.application_step_working_days[f"low/{name}"]["connected"]
                 for c, name in enumerate(APPLICATION_CATEGORIES)}
    for i in pick(~a.high, 3):
        limit = low_limit[int(a.category[i])]
        extra = int(rng.integers(2, 7))
        day = days.after(np.array([t[i, 0].astype("datetime64[D]")]), np.array([limit + extra]))
        t[i, 2] = _office(rng, day)[0]
        planted.setdefault("over_time", []).append((i, f"connected {limit + extra} working days after acceptance; "
                                                       f"limit {limit}"))
    for i in pick(~a.high, 2):
        minutes = int(rng.integers(5, 31))
        t[i, 2] = t[i, 0] + np.timedelta64(minutes * 60, "s")
        planted.setdefault("short_time", []).append((i, f"connected {minutes} min after acceptance (back-filled)"))
    for i in pick(~a.high, 1):
        hours = int(rng.integers(1, 4))
        t[i, 2] = t[i, 0] - np.timedelta64(hours * 3600, "s")
        planted.setdefault("time_order", []).append((i, f"connected {hours} h before acceptance"))
    # A plan reply on the first day off after its working day, still before the connection.
    off = np.full(len(a.high), NAT)
    has = a.high & ~np.isnat(t[:, 1])
    d = t[has, 1].astype("datetime64[D]")
    nxt = days.work[np.minimum(np.searchsorted(days.work, d, side="right"), len(days.work) - 1)]
    one_day = np.timedelta64(1, "D")  # numpy 1.26 does not compare days with a bare int
    off[has] = np.where(nxt - d > one_day, d + one_day, NAT).astype("datetime64[s]") + np.timedelta64(10 * 3600, "s")
    before = ~np.isnat(off) & (off.astype("datetime64[D]") < t[:, 2].astype("datetime64[D]"))
    for i in pick(before, 1):
        t[i, 1] = off[i]
        planted.setdefault("non_working_day", []).append((i, f"plan replied on {str(off[i])[:10]}, a day off"))
    for i in pick(~a.high, 1) + pick(a.high, 1):
        a.handlers[i, a.handlers[i] >= 0] = a.handlers[i, 0]
        planted.setdefault("one_person", []).append((i, "every step by the acceptor"))
    for i in pick(a.high, 2):
        a.category[i], a.kva[i] = SMALL_MICRO, 80.0
        planted.setdefault("small_micro_high_voltage", []).append((i, "small/micro enterprise, 80 kVA, at high "
                                                                      "voltage"))
    # A connection keyed in with next year's date on an application accepted the last working day before now.
    cand = [int(i) for i in np.flatnonzero(~a.high & (a.category == RESIDENTIAL) & (a.status != 2))
            if int(i) not in taken]
    if cand:
        i = cand[0]
        today = year.now.astype("datetime64[D]")
        last = days.work[np.searchsorted(days.work, today, side="left") - 1]
        t[i, 0] = last.astype("datetime64[s]") + np.timedelta64(9 * 3600, "s")
        t[i, 2] = t[i, 0] + np.timedelta64(365 * 86400 + 5 * 3600, "s")
        a.status[i] = 1
        planted.setdefault("future_time", []).append((i, f"connected_at {str(t[i, 2])[:16]}, after the data's present"))
    a.planted = planted

