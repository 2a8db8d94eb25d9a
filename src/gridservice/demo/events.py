"""A year of demo events: outages, work orders, energy readings and visits.

The demo's twelve months end at the month of its ``as_of`` (by default the
moment it is built): eleven whole months and the current one up to ``as_of``.
Times are naive local ``datetime64[s]`` values (Asia/Shanghai has no daylight
saving, so they are localised once at the end). ``as_of`` is the demo's
present: later stages are not there yet and some recent orders are still open.
The same seed and ``as_of`` always give the same events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gridservice.demo.geography import Grids
from gridservice.demo.network import Network
from gridservice.demo.people import Staff

NAT = np.datetime64("NaT", "s")
MIN = np.timedelta64(60, "s")
DAY = np.timedelta64(86400, "s")


@dataclass(frozen=True)
class Year:
    """The demo's calendar: twelve months ending at the month of ``now``."""

    now: np.datetime64  # local, seconds: events stop here
    t0: np.datetime64  # the first day of the first month, 00:00
    periods: tuple[str, ...]  # the twelve months, YYYY-MM
    calendar_month: np.ndarray  # 0 = January, per month of the year
    month_start: np.ndarray  # day index of each month's first day
    month_of_day: np.ndarray  # month index of each day, up to the day of ``now``
    last_month_share: float  # how much of the last month lies before ``now`` (whole days)

    @classmethod
    def ending(cls, now: np.datetime64) -> Year:
        """The twelve months whose last one holds ``now`` (a time at midnight ends the day before)."""
        now = np.datetime64(now, "s")
        last_day = (now - np.timedelta64(1, "s")).astype("datetime64[D]")
        last = last_day.astype("datetime64[M]")
        months = last - np.arange(11, -1, -1)
        t0 = months[0].astype("datetime64[D]").astype("datetime64[s]")
        starts = months.astype("datetime64[D]")
        month_start = (starts - starts[0]).astype(np.int64)
        n_days = int((last_day - starts[0]).astype(np.int64)) + 1
        month_of_day = np.repeat(np.arange(12), np.diff(np.r_[month_start, n_days]))
        days_in_last = int(((last + 1).astype("datetime64[D]") - starts[-1]).astype(np.int64))
        return cls(
            now=now, t0=t0, periods=tuple(str(m) for m in months),
            calendar_month=months.astype(np.int64) % 12, month_start=month_start, month_of_day=month_of_day,
            last_month_share=(n_days - int(month_start[-1])) / days_in_last,
        )  # fmt: skip

    @property
    def n_days(self) -> int:
        return len(self.month_of_day)

    @property
    def t0_weekday(self) -> int:
        """Weekday of the first day, Monday = 0."""
        return int((self.t0.astype("datetime64[D]").astype(np.int64) + 3) % 7)

    def by_month(self, calendar_weights: np.ndarray) -> np.ndarray:
        """Weights given January first, in the order of this year's months."""
        return calendar_weights[self.calendar_month]

    def quarter_starts(self) -> np.ndarray:
        """Day indexes where a calendar quarter begins within the year, the first day included."""
        q = self.month_start[np.isin(self.calendar_month, (0, 3, 6, 9))]
        return np.unique(np.r_[0, q])


#: Repair arrival limits by area class (urban, rural, remote), minutes (SPEC §4).
ARRIVAL_LIMIT_MIN = np.array([45, 90, 120])

KINDS = ("repair", "complaint", "report", "opinion", "consultation", "service_request")
REPAIR, COMPLAINT, REPORT, OPINION, CONSULT, REQUEST = range(6)
# Orders per customer and year, besides the repair calls that outages bring.
_RATES = np.array([0.03, 0.003, 0.001, 0.002, 0.04, 0.015])
CHANNELS = ("95598", "12398", "app", "wechat", "onsite")
_CHANNEL_P = np.array(
    [
        [0.70, 0.00, 0.15, 0.10, 0.05],
        [0.60, 0.25, 0.10, 0.05, 0.00],
        [0.50, 0.30, 0.00, 0.20, 0.00],
        [0.40, 0.00, 0.35, 0.20, 0.05],
        [0.45, 0.00, 0.30, 0.20, 0.05],
        [0.35, 0.00, 0.35, 0.20, 0.10],
    ]
)
DESCRIPTIONS = (
    (
        "客户反映家中无电，请尽快处理", "客户反映表箱冒烟", "客户反映低压线路断线落地",
        "客户反映电压偏低，家电无法正常使用", "客户反映整村停电", "客户反映电杆倾斜，存在安全隐患",
        "客户反映进户线烧断", "客户反映漏电保护器频繁跳闸",
    ),
    (
        "客户投诉频繁停电", "客户投诉抢修人员到达不及时", "客户投诉电费异常偏高", "客户投诉停电未提前通知",
        "客户投诉服务态度差", "客户投诉业扩报装办理时间过长",
    ),
    ("举报有人私拉乱接窃电", "举报工作人员违规收费", "举报施工外力破坏电力设施", "举报线路下方违章建筑"),
    ("建议增加缴费网点", "建议优化停电通知方式", "对供电服务提出改进意见", "建议村口配变增容"),
    (
        "咨询电费电价政策", "咨询停电原因及恢复时间", "咨询峰谷电价办理", "咨询网上国网App缴费方式",
        "咨询新装用电所需资料", "咨询分布式光伏并网流程",
    ),
    (
        "申请新装居民用电", "申请增容", "申请更名过户", "申请校验电能表", "申请更换表箱", "申请暂停用电",
        "申请分布式光伏并网",
    ),
)  # fmt: skip
PLANNED_CAUSES = ("计划检修", "线路改造", "配变增容", "业扩接火", "带电作业配合", "春季安全检查", "迁改工程")
UNPLANNED_CAUSES = (
    "雷击",
    "树障",
    "外力破坏",
    "设备老化",
    "鸟害",
    "大风",
    "配变过载",
    "低压线路故障",
    "车辆撞杆",
    "山火",
)

# Seasonal shapes by calendar month, January first.
_REPAIR_MONTH = np.array([1.2, 1.1, 0.8, 0.9, 1.0, 1.2, 1.5, 1.5, 1.1, 0.8, 0.8, 1.0])
_STORM_MONTH = np.array([0.6, 0.6, 0.8, 1.4, 1.6, 1.8, 2.0, 1.8, 1.0, 0.6, 0.5, 0.5])
_PLANNED_MONTH = np.array([0.6, 0.2, 1.4, 1.6, 1.4, 0.6, 0.4, 0.6, 1.4, 1.6, 1.4, 1.0])
_FLAT_MONTH = np.ones(12)
_CALL_HOUR = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 4, 4.5, 4.5, 4, 3, 3.5, 4, 4, 3.8, 3.5, 3.5, 4, 3.8, 3, 2, 1.4]
)
_OFFICE_HOUR = np.array([0] * 8 + [2, 4, 4, 3, 1, 3, 4, 4, 3, 1] + [0] * 6, dtype=float)
_SEASON = {  # monthly energy shape by category
    "residential": np.array([1.3, 1.25, 0.9, 0.8, 0.85, 1.0, 1.35, 1.4, 1.05, 0.85, 0.9, 1.15]),
    "commercial": np.array([1.1, 1.2, 0.9, 0.9, 1.0, 1.15, 1.3, 1.3, 1.05, 0.95, 0.95, 1.0]),
    "industrial": np.array([1.0, 0.7, 1.0, 1.05, 1.05, 1.05, 1.1, 1.1, 1.05, 1.05, 1.1, 1.0]),
    "agricultural": np.array([0.5, 0.5, 0.7, 0.9, 1.1, 1.4, 1.6, 1.5, 1.2, 1.0, 1.3, 0.6]),
}


def sample_times(
    rng: np.random.Generator, year: Year, n: int, *, month_w: np.ndarray = _FLAT_MONTH,
    hour_w: np.ndarray = _CALL_HOUR,
) -> np.ndarray:
    """``n`` local timestamps in the demo year, shaped by (calendar) month and hour weights."""
    dw = year.by_month(month_w)[year.month_of_day]
    day = rng.choice(year.n_days, size=n, p=dw / dw.sum())
    hour = rng.choice(24, size=n, p=hour_w / hour_w.sum())
    sec = day * 86400 + hour * 3600 + rng.integers(0, 3600, n)
    t = year.t0 + sec.astype("timedelta64[s]")
    late = t > year.now
    t[late] = year.now - rng.integers(60, 6 * 3600, late.sum()).astype("timedelta64[s]")
    return t


def _minutes(m: np.ndarray) -> np.ndarray:
    return (np.asarray(m) * 60).astype(np.int64).astype("timedelta64[s]")


def _hours(h: np.ndarray) -> np.ndarray:
    return (np.asarray(h) * 3600).astype(np.int64).astype("timedelta64[s]")


@dataclass
class Outages:
    """Outage events, sorted by start."""

    is_feeder: np.ndarray
    device: np.ndarray
    planned: np.ndarray
    start: np.ndarray
    end: np.ndarray
    cause: np.ndarray  # index into the cause list of its kind
    affected: np.ndarray


def make_outages(net: Network, year: Year, rng: np.random.Generator) -> Outages:
    """Planned and unplanned outages on feeders and transformers."""
    n_fd, n_tx = len(net.fd_geom), len(net.tx_xy)
    lam = [(True, True, 1.2), (True, False, 2.0), (False, True, 0.12), (False, False, 0.3)]
    parts = []
    for on_feeder, is_planned, rate in lam:
        n_dev = n_fd if on_feeder else n_tx
        k = rng.poisson(rate, n_dev)
        dev = np.repeat(np.arange(n_dev), k)
        m = len(dev)
        if is_planned:
            start = sample_times(rng, year, m, month_w=_PLANNED_MONTH, hour_w=np.ones(24))
            day = (start - year.t0).astype("timedelta64[D]").astype(np.int64)
            wd = (day + year.t0_weekday) % 7
            day = np.minimum(day + np.where(wd == 5, 2, np.where(wd == 6, 1, 0)), year.n_days - 1)
            start = year.t0 + (day * 86400 + 7 * 3600 + rng.integers(0, 4, m) * 1800).astype("timedelta64[s]")
            span = (4, 9) if on_feeder else (2, 6)  # hours
            hours = np.round(rng.uniform(*span, m), 0) + rng.integers(0, 2, m) * 0.5
            dur = _hours(hours)
            cause = rng.integers(0, len(PLANNED_CAUSES), m)
        else:
            start = sample_times(rng, year, m, month_w=_STORM_MONTH, hour_w=np.ones(24))
            med, cap = (100.0, 600.0) if on_feeder else (150.0, 720.0)
            mins = np.clip(rng.lognormal(np.log(med), 0.7, m), 10.0, cap)
            if on_feeder:
                momentary = rng.random(m) < 0.12
                mins[momentary] = rng.uniform(1.0, 4.0, momentary.sum())
            dur = _minutes(mins)
            cause = rng.integers(0, len(UNPLANNED_CAUSES), m)
        parts.append((np.full(m, on_feeder), dev, np.full(m, is_planned), start, start + dur, cause))
    is_fd, dev, planned, start, end, cause = (np.concatenate(c) for c in zip(*parts, strict=True))
    keep = start <= year.now
    is_fd, dev, planned, start, end, cause = (a[keep] for a in (is_fd, dev, planned, start, end, cause))
    end = np.where(end > year.now, NAT, end)
    order = np.lexsort((dev, ~is_fd, start))
    cust_tx = np.bincount(net.mt_tx, minlength=n_tx)
    cust_fd = np.bincount(net.tx_feeder[net.mt_tx], minlength=n_fd)
    affected = np.where(is_fd, cust_fd[np.where(is_fd, dev, 0)], cust_tx[np.where(is_fd, 0, dev)])
    return Outages(*(a[order] for a in (is_fd, dev, planned, start, end, cause, affected)))


@dataclass
class WorkOrders:
    """Work orders sorted by received time; stage times are local ``datetime64[s]``."""

    kind: np.ndarray
    customer: np.ndarray  # -1: no customer
    xy: np.ndarray
    grid: np.ndarray
    channel: np.ndarray
    description: np.ndarray  # index into DESCRIPTIONS[kind]
    assignee: np.ndarray
    times: np.ndarray  # (n, 6): received, dispatched, arrived, resolved, replied, closed
    status: np.ndarray  # index of the last stage reached
    repeat_note: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    #: problem → [(order index, detail, related order index or -1)]
    planted: dict[str, list[tuple[int, str, int]]] = field(default_factory=dict)


def make_work_orders(
    net: Network, grids: Grids, staff: Staff, outages: Outages, year: Year, rng: np.random.Generator
) -> WorkOrders:
    """Work orders of every kind: outage calls, single faults, complaints and requests."""
    n_cu = len(net.cu_xy)
    cstart = np.r_[0, np.cumsum(net.tx_count)[:-1]]

    # Repair calls that outages bring, from the customers behind the device.
    # Momentary interruptions (under 5 min) bring no calls; ongoing outages do.
    ongoing = outages.end != outages.end
    live = ~outages.planned & (ongoing | ((outages.end - outages.start) >= 5 * MIN))
    o_idx = np.flatnonzero(live)
    fd = outages.is_feeder[o_idx]
    lam = np.where(fd, 0.004 * outages.affected[o_idx] + 1.0, 0.06 * outages.affected[o_idx] + 0.5)
    k = np.minimum(rng.poisson(lam), np.where(fd, 60, np.minimum(20, outages.affected[o_idx])))
    call_o = np.repeat(o_idx, k)
    call_fd = outages.is_feeder[call_o]
    call_dev = outages.device[call_o]
    u = rng.random(len(call_o))
    # Customers by (physical) feeder, to draw callers of a feeder outage.
    cu_fd = net.tx_feeder[net.cu_tx]
    by_fd = np.argsort(cu_fd, kind="stable")
    fd_bounds = np.searchsorted(cu_fd[by_fd], np.arange(len(net.fd_geom) + 1))
    fd_n = np.diff(fd_bounds)
    tx_dev = np.where(call_fd, 0, call_dev)
    fd_dev = np.where(call_fd, call_dev, 0)
    cust_tx = cstart[tx_dev] + (u * net.tx_count[tx_dev]).astype(np.int64)
    pos_fd = np.minimum(fd_bounds[fd_dev] + (u * fd_n[fd_dev]).astype(np.int64), max(n_cu - 1, 0))
    cust = np.where(call_fd, by_fd[pos_fd] if n_cu else 0, cust_tx)
    ok = np.where(call_fd, fd_n[fd_dev] > 0, net.tx_count[tx_dev] > 0)
    call_o, cust = call_o[ok], cust[ok]
    delay = _minutes(1.0 + rng.exponential(15.0, len(call_o)))
    o_end = outages.end[call_o]
    latest = np.where(o_end != o_end, year.now, o_end - MIN)
    rec_call = np.minimum(outages.start[call_o] + delay, latest)
    rec_call = np.maximum(rec_call, outages.start[call_o])

    # Single orders of every kind.
    counts = rng.poisson(_RATES * n_cu)
    counts[COMPLAINT] = max(counts[COMPLAINT], 2)  # room for the planted repeat complaint
    kinds = [np.full(len(call_o), REPAIR)]
    custs = [cust]
    recs = [rec_call]
    outage_of = [call_o]
    for kd in range(6):
        m = int(counts[kd])
        if kd == COMPLAINT:
            m = min(m, n_cu)
            c = rng.choice(n_cu, size=m, replace=False)  # no unplanned repeat complaints
        else:
            c = rng.integers(0, n_cu, m)
        mw = _REPAIR_MONTH if kd == REPAIR else _FLAT_MONTH
        kinds.append(np.full(m, kd))
        custs.append(c)
        recs.append(sample_times(rng, year, m, month_w=mw))
        outage_of.append(np.full(m, -1))
    kind = np.concatenate(kinds)
    customer = np.concatenate(custs).astype(np.int64)
    rec = np.concatenate(recs)
    o_of = np.concatenate(outage_of)
    # A customer's repeat of the same kind within a month is left to the
    # planted repeat complaint: drop the later orders of such runs.
    order = np.lexsort((rec, kind, customer))
    same = np.r_[False, (customer[order][1:] == customer[order][:-1]) & (kind[order][1:] == kind[order][:-1])]
    close = np.r_[False, np.diff(rec[order]) <= np.timedelta64(31, "D")]
    keep = np.ones(len(kind), bool)
    keep[order[same & close]] = False
    kind, customer, rec, o_of = kind[keep], customer[keep], rec[keep], o_of[keep]
    # Half the reports are anonymous: they carry a meter box location only.
    anon = (kind == REPORT) & (rng.random(len(kind)) < 0.5)
    customer[anon] = -1
    n = len(kind)
    box = rng.integers(0, len(net.ap_xy), n)
    xy = np.where((customer >= 0)[:, None], net.cu_xy[np.maximum(customer, 0)], net.ap_xy[box])
    grid = np.where(customer >= 0, net.cu_grid[np.maximum(customer, 0)], net.ap_grid[box])
    times = _timeline(rng, kind, grid, grids, rec, o_of, outages)
    times, status = _truncate(rng, kind, times, year.now)

    channel = np.empty(n, np.int64)
    desc = np.empty(n, np.int64)
    for kd in range(6):
        m = kind == kd
        channel[m] = rng.choice(len(CHANNELS), size=m.sum(), p=_CHANNEL_P[kd])
        desc[m] = rng.integers(0, len(DESCRIPTIONS[kd]), m.sum())
    # Outage callers mostly report that the power is off.
    desc[o_of >= 0] = np.where(rng.random((o_of >= 0).sum()) < 0.7, 0, 4)
    channel[o_of >= 0] = rng.choice([0, 2, 3], size=(o_of >= 0).sum(), p=[0.8, 0.1, 0.1])

    assignee = _assign(rng, kind, customer, grid, grids, net, staff)
    wo = WorkOrders(kind, customer, xy, grid, channel, desc, assignee, times, status,
                    repeat_note=np.zeros(n, bool))  # fmt: skip
    _plant(rng, wo, grids, o_of, year)
    order = np.argsort(wo.times[:, 0], kind="stable")
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    for f in ("kind", "customer", "xy", "grid", "channel", "description", "assignee", "times", "status", "repeat_note"):
        setattr(wo, f, getattr(wo, f)[order])
    wo.planted = {k: [(int(inv[i]), d, int(inv[r]) if r >= 0 else -1) for i, d, r in v] for k, v in wo.planted.items()}
    return wo


def _timeline(
    rng: np.random.Generator,
    kind: np.ndarray,
    grid: np.ndarray,
    grids: Grids,
    rec: np.ndarray,
    o_of: np.ndarray,
    outages: Outages,
) -> np.ndarray:
    n = len(kind)
    t = np.full((n, 6), NAT)
    t[:, 0] = rec
    rep = kind == REPAIR
    cls = grids.area_class[grid]
    limit = ARRIVAL_LIMIT_MIN[cls].astype(float)
    # Repairs: dispatched within minutes, on site within the area's limit.
    d_min = rng.uniform(1.0, 8.0, n)
    travel = rng.lognormal(np.log(np.array([20.0, 40.0, 55.0])[cls]), 0.35)
    travel = np.clip(travel, 3.0, limit - d_min - rng.uniform(1.0, 10.0, n))
    fix = np.clip(rng.lognormal(np.log(50.0), 0.6, n), 10.0, 480.0)
    arr = rec + _minutes(d_min + travel)
    res = arr + _minutes(fix)
    has_o = o_of >= 0
    o_end = outages.end[np.maximum(o_of, 0)]
    res = np.where(has_o & (o_end == o_end), np.maximum(res, o_end + _minutes(rng.uniform(0, 10, n))), res)
    res = np.where(has_o & (o_end != o_end), NAT, res)
    rep_replied = res + _minutes(rng.uniform(5.0, 90.0, n))
    rep_closed = rep_replied + _hours(rng.uniform(0.2, 20.0, n))
    # Others: contact and reply within 24 h, closure within their working-day limit.
    consult = kind == CONSULT
    disp_o = np.where(consult, rng.uniform(1.0, 5.0, n), rng.uniform(5.0, 90.0, n))
    work_h = np.where(consult, rng.uniform(1.0, 30.0, n) / 60.0,
                      np.where(kind == REPORT, rng.uniform(2.0, 19.0, n), rng.uniform(1.0, 18.0, n)))  # fmt: skip
    o_disp = rec + _minutes(disp_o)
    o_res = o_disp + _hours(work_h)
    o_rep = o_res + _hours(np.where(consult, rng.uniform(1.0, 60.0, n) / 60.0, rng.uniform(0.2, 3.0, n)))
    o_closed = o_rep + _hours(rng.uniform(1.0, 48.0, n))
    t[:, 1] = np.where(rep, rec + _minutes(d_min), o_disp)
    t[:, 2] = np.where(rep, arr, NAT)
    t[:, 3] = np.where(rep, res, o_res)
    t[:, 4] = np.where(rep, rep_replied, o_rep)
    t[:, 5] = np.where(rep, rep_closed, o_closed)
    return t


def _truncate(
    rng: np.random.Generator, kind: np.ndarray, t: np.ndarray, now: np.datetime64
) -> tuple[np.ndarray, np.ndarray]:
    """Drop stages after ``now`` and hold some recent orders open; return the status."""
    n = len(kind)
    rep = kind == REPAIR
    # Orders of the last three days may still be in progress, but never past a
    # time limit: repairs are held after arrival, other orders before
    # contact only in their first 20 hours (contact is due within 24 h, and
    # closing within at least four working days).
    age = now - t[:, 0]
    hold = (age <= np.timedelta64(3, "D")) & (rng.random(n) < 0.4)
    early = age <= np.timedelta64(20, "h")
    cut = np.where(rep, rng.choice([2, 3, 4], size=n),
                   np.where(early, rng.choice([1, 3, 4], size=n), rng.choice([3, 4], size=n)))  # fmt: skip
    alive = np.ones(n, bool)
    status = np.zeros(n, np.int64)
    for j in range(1, 6):
        if j == 2:
            skip = ~rep
            col = t[:, j]
            ok = alive & rep & (col == col) & (col <= now) & ~(hold & (j > cut))
            t[:, j] = np.where(ok, col, NAT)
            alive = np.where(skip, alive, ok)
        else:
            col = t[:, j]
            ok = alive & (col == col) & (col <= now) & ~(hold & (j > cut))
            t[:, j] = np.where(ok, col, NAT)
            alive = ok
        status = np.where(ok, j, status)
    return t, status


def _assign(
    rng: np.random.Generator,
    kind: np.ndarray,
    customer: np.ndarray,
    grid: np.ndarray,
    grids: Grids,
    net: Network,
    staff: Staff,
) -> np.ndarray:
    """Route each order: repairs to the 台区经理 or crew, complaints to the grid manager."""
    n = len(kind)
    member = staff.members[staff.member_start[grid] + (rng.random(n) * staff.member_count[grid]).astype(np.int64)]
    manager = staff.grid_manager[grid]
    lead = np.where(manager >= 0, manager, member)
    st = grids.station[grid]
    crew = staff.repair_start[st] + (rng.random(n) * staff.repair_count[st]).astype(np.int64)
    # Repairs go to the 台区经理 of the customer's (recorded) transformer when
    # that transformer lies in the order's grid, else to the station's crew.
    tx = net.mt_tx[np.maximum(customer, 0)]
    am = np.where((customer >= 0) & (net.tx_grid[tx] == grid), staff.tx_area_manager[tx], -1)
    repair_to = np.where(am >= 0, am, crew)
    return np.where(kind == REPAIR, repair_to, np.where((kind == COMPLAINT) | (kind == REPORT), lead, member))


def _plant(rng: np.random.Generator, wo: WorkOrders, grids: Grids, o_of: np.ndarray, year: Year) -> None:
    """Late arrivals, impossible timestamps and one repeat complaint, before the last two months."""
    t = wo.times
    closed = wo.status == 5
    early = t[:, 0] < year.t0 + year.month_start[10] * DAY
    single_repair = (wo.kind == REPAIR) & (o_of < 0) & closed & early & (wo.customer >= 0)
    cand = np.flatnonzero(single_repair)
    if len(cand) < 2:  # a tiny territory: outage calls will do
        cand = np.flatnonzero((wo.kind == REPAIR) & closed & early & (wo.customer >= 0))
    n_late = min(5, len(cand) - 1)
    # Late arrivals in different grids.
    picked: list[int] = []
    seen: set[int] = set()
    for i in rng.permutation(cand):
        g = int(wo.grid[i])
        if g not in seen:
            picked.append(int(i))
            seen.add(g)
        if len(picked) >= n_late:
            break
    late = []
    for i in picked:
        limit = int(ARRIVAL_LIMIT_MIN[grids.area_class[wo.grid[i]]])
        over = int(rng.integers(10, 76))
        new_arr = t[i, 0] + np.timedelta64((limit + over) * 60, "s")
        shift = new_arr - t[i, 2]
        t[i, 2:] = t[i, 2:] + shift
        late.append((i, f"arrived {limit + over} min after received; limit {limit} min", -1))
    rest = np.setdiff1d(cand, picked)
    arrived_early: list[tuple[int, str, int]] = []
    if len(rest):
        i = int(rest[rng.integers(len(rest))])
        back = int(rng.integers(15, 41))
        t[i, 2] = t[i, 0] - np.timedelta64(back * 60, "s")
        arrived_early.append((i, f"arrived_at {back} min before received_at", -1))
    other = np.flatnonzero((wo.kind != REPAIR) & closed & early & (wo.customer >= 0))
    closed_early: list[tuple[int, str, int]] = []
    if len(other):
        j = int(other[rng.integers(len(other))])
        back_h = int(rng.integers(1, 6))
        t[j, 5] = t[j, 0] - np.timedelta64(back_h * 3600, "s")
        closed_early.append((j, f"closed_at {back_h} h before received_at", -1))

    # A second complaint from one customer, two to three weeks after the first.
    comp = np.flatnonzero((wo.kind == COMPLAINT) & closed & (t[:, 0] < year.now - np.timedelta64(40, "D")))
    repeat: list[tuple[int, str, int]] = []
    if len(comp):
        first = int(comp[rng.integers(len(comp))])
        gap_d = int(rng.integers(8, 21))
        row = np.array([first])
        new_t = t[row].copy()
        new_t[0, 0] = t[first, 0] + np.timedelta64(gap_d * 86400 + int(rng.integers(0, 8)) * 3600, "s")
        steps = new_t[0, 0] + np.array([0, 40, -1, 600, 720, 2000], dtype=np.int64) * 60
        new_t[0] = np.where(np.arange(6) == 2, NAT, steps.astype("datetime64[s]"))
        k = len(wo.kind)
        for f in ("kind", "customer", "xy", "grid", "channel", "assignee", "status", "repeat_note"):
            a = getattr(wo, f)
            setattr(wo, f, np.concatenate([a, a[row]]))
        wo.description = np.concatenate([wo.description, [1]])
        wo.repeat_note[k] = True
        wo.times = np.vstack([t, new_t])
        repeat = [(k, f"second complaint {gap_d} d after the first", first)]
    else:  # pragma: no cover - only for tiny territories
        wo.times = t
    wo.planted = {
        "repair_arrival_late": late,
        "arrived_before_received": arrived_early,
        "closed_before_received": closed_early,
        "repeat_complaint": repeat,
    }


@dataclass
class Readings:
    """Monthly kWh: supply per transformer (n_tx × 12) and sales per meter (n_m × 12)."""

    supply: np.ndarray
    supply_ok: np.ndarray  # transformers that have supply readings
    sales: np.ndarray
    planted: dict[str, tuple[int, str]] = field(default_factory=dict)
    # meters planted as theft/metering suspects: (meter, problem, detail)
    suspects: list[tuple[int, str, str]] = field(default_factory=list)


def make_readings(
    net: Network, category: np.ndarray, year: Year, rng: np.random.Generator, *, avoid_tx: set[int]
) -> Readings:
    """Monthly sales per meter and supply per transformer with 2–8 % loss; the current month's
    readings cover its days up to ``year.now``."""
    n_m, n_tx = len(net.cu_xy), len(net.tx_xy)
    cats = ("residential", "commercial", "industrial", "agricultural")
    hv = net.tx_private[net.cu_tx]
    med = np.array([130.0, 600.0, 1500.0, 250.0])[category]
    med = np.where(hv, np.where(category == 2, 40_000.0, 15_000.0), med)
    base = rng.lognormal(np.log(med), 0.55).astype(np.float32)
    season = np.stack([year.by_month(_SEASON[c]) for c in cats]).astype(np.float32)[category]
    noise = rng.lognormal(0.0, 0.12, (n_m, 12)).astype(np.float32)
    elapsed = np.r_[np.ones(11), year.last_month_share].astype(np.float32)
    sales = np.round(base[:, None] * season * noise * elapsed, 1).astype(np.float64)
    vacant = (category == 0) & (rng.random(n_m) < 0.02)
    sales[vacant] = 0.0
    # Supply follows the recorded meter links, so a wrong link alone does not
    # show up as line loss; the audit finds it by distance.
    sold = np.stack([np.bincount(net.mt_tx, weights=sales[:, m], minlength=n_tx) for m in range(12)], axis=1)
    loss = np.clip(rng.uniform(2.5, 7.5, n_tx)[:, None] + rng.normal(0, 0.5, (n_tx, 12)), 2.0, 8.0)
    has = np.bincount(net.mt_tx, minlength=n_tx) > 0
    sold_nz = np.where(sold > 0, sold, 1.0)
    planted: dict[str, tuple[int, str]] = {}
    free = has & ~net.tx_private & ~np.isin(np.arange(n_tx), list(avoid_tx))
    cand = np.flatnonzero(free & (net.tx_count >= 10))
    if len(cand) < 3:
        cand = np.flatnonzero(free)
    picks = [int(p) for p in rng.choice(cand, size=min(3, len(cand)), replace=False)]
    if len(picks) > 0:
        hi = picks[0]
        loss[hi, 7] = rng.uniform(14.0, 18.0)
        planted["loss_high"] = (hi, f"{year.periods[7]} loss {loss[hi, 7]:.1f} %")
    if len(picks) > 1:
        neg = picks[1]
        loss[neg, 3] = -rng.uniform(3.0, 6.0)
        planted["loss_negative"] = (neg, f"{year.periods[3]} loss {loss[neg, 3]:.1f} %")
    if len(picks) > 2:
        streak = picks[2]
        loss[streak, 9:] = rng.uniform(12.0, 16.0, 3)  # before the thieves planted there add theirs
    supply = np.round(sold_nz / (1.0 - loss / 100.0), 1)
    suspects: list[tuple[int, str, str]] = []
    if len(picks) > 2:
        suspects = _plant_suspects(net, category, sales, supply, loss, year, picks[2])
        # the thieves' energy is loss too: the streak as it reads now
        sold_t = sales[net.mt_tx == picks[2], 9:].sum(axis=0)
        pct = (1.0 - sold_t / supply[picks[2], 9:]) * 100
        planted["loss_high_streak"] = (
            picks[2], f"{year.periods[9]}..{year.periods[11]} loss " + ", ".join(f"{v:.1f} %" for v in pct))
    return Readings(supply=supply, supply_ok=has, sales=sales, planted=planted, suspects=suspects)


def _plant_suspects(net: Network, category: np.ndarray, sales: np.ndarray, supply: np.ndarray, loss: np.ndarray,
                    year: Year, t: int) -> list[tuple[int, str, str]]:
    """On the high-loss streak transformer ``t``: two thieves whose readings fall to a fifth from the streak's
    first month (the energy they take becomes line loss), a meter that stopped (zero) then, and one stuck at a
    constant reading all year (supply follows its reading, so it changes no month's loss). The residents with
    the most use are picked, so at least three others stay as their peers."""
    first = 9
    mine = np.flatnonzero((net.mt_tx == t) & (category == 0) & (sales[:, :first].min(axis=1) > 0))
    if len(mine) < 7:  # pragma: no cover - only for tiny territories
        return []
    thief_a, thief_b, stopped, stuck = mine[np.argsort(-sales[mine, :first].mean(axis=1), kind="stable")[:4]]
    when = f"from {year.periods[first]}"
    level = round(float(sales[stuck].mean()), 1)
    supply[t] += np.round((level - sales[stuck]) / (1.0 - loss[t] / 100.0), 1)
    sales[stuck] = level
    for m in (thief_a, thief_b):
        sales[m, first:] = np.round(sales[m, first:] * 0.2, 1)
    sales[stopped, first:] = 0.0
    return [(int(thief_a), "sudden_drop", f"readings fell to a fifth {when}"),
            (int(thief_b), "sudden_drop", f"readings fell to a fifth {when}"),
            (int(stopped), "zero_use", f"meter stopped {when}"),
            (int(stuck), "flat", f"constant {level} kWh every month")]


@dataclass
class Visits:
    """Visits by grid staff; ``kind`` 0 = home, 1 = phone."""

    staff: np.ndarray
    customer: np.ndarray
    at: np.ndarray
    kind: np.ndarray
    planted: list[int] = field(default_factory=list)  # key customers short of visits
    # closed complaints left without a callback: (order, detail)
    no_callback: list[tuple[int, str]] = field(default_factory=list)


def make_visits(
    net: Network, key: np.ndarray, staff: Staff, year: Year, rng: np.random.Generator, *, avoid_grids: set[int]
) -> Visits:
    """Two home visits a year and a phone call a quarter per key customer; a few others.

    A few key customers of one grid got only one home visit: the planted
    coverage shortfall, listed in ``Visits.planted``.
    """
    key_idx = np.flatnonzero(key)
    n_key = len(key_idx)
    n_home = np.full(n_key, 2)
    kg = net.cu_grid[key_idx]
    eligible = np.flatnonzero(~np.isin(kg, list(avoid_grids)))
    planted: list[int] = []
    if len(eligible):
        g = kg[eligible[rng.integers(len(eligible))]]
        mine = key_idx[kg == g]
        planted = sorted(int(c) for c in rng.permutation(mine)[:3])
        n_home[np.isin(key_idx, planted)] = 1
    home_c = np.repeat(key_idx, n_home)
    # Home visits: one in each half of the year, on office hours.
    half = np.concatenate([np.arange(k) for k in n_home]) if n_key else np.zeros(0, np.int64)
    half_days = year.n_days // 2
    day = half * half_days + (rng.random(len(home_c)) * half_days).astype(np.int64)
    hour = rng.choice(24, size=len(home_c), p=_OFFICE_HOUR / _OFFICE_HOUR.sum())
    home_at = year.t0 + (day * 86400 + hour * 3600 + rng.integers(0, 3600, len(home_c))).astype("timedelta64[s]")
    # Phone callbacks: one per calendar quarter (or the part of it within the year).
    q_start = year.quarter_starts()
    q_len = np.diff(np.r_[q_start, year.n_days])
    ph_c = np.repeat(key_idx, len(q_start))
    q = np.tile(np.arange(len(q_start)), n_key)
    day = q_start[q] + (rng.random(len(q)) * np.minimum(q_len[q], 60)).astype(np.int64)
    hour = rng.choice(24, size=len(q), p=_OFFICE_HOUR / _OFFICE_HOUR.sum())
    ph_at = year.t0 + (day * 86400 + hour * 3600 + rng.integers(0, 3600, len(q))).astype("timedelta64[s]")
    other = np.flatnonzero(~key)
    n_other = int(0.03 * len(other))
    oth_c = rng.choice(other, size=n_other, replace=False) if n_other else np.zeros(0, np.int64)
    oth_at = sample_times(rng, year, n_other, hour_w=_OFFICE_HOUR)
    oth_k = (rng.random(n_other) < 0.4).astype(np.int64)
    cust = np.r_[home_c, ph_c, oth_c].astype(np.int64)
    at = np.minimum(np.r_[home_at, ph_at, oth_at], year.now)
    kind = np.r_[np.zeros(len(home_c), np.int64), np.ones(len(ph_c), np.int64), oth_k]
    g = net.cu_grid[cust]
    member = staff.members[staff.member_start[g] + (rng.random(len(g)) * staff.member_count[g]).astype(np.int64)]
    mgr = staff.grid_manager[g]
    who = np.where((mgr >= 0) & (rng.random(len(g)) < 0.2), mgr, member)
    order = np.lexsort((kind, cust, at))
    return Visits(who[order], cust[order], at[order], kind[order], planted=planted)


def add_complaint_callbacks(
    visits: Visits, wo: WorkOrders, net: Network, staff: Staff, year: Year, rng: np.random.Generator, *,
    avoid_grids: set[int],
) -> Visits:
    """A phone callback (回访) within two days of every closed complaint, appended after the other visits
    (so their rows keep their ids); the two complaints closed last, 5 days or more before ``now``, got none:
    the planted missed callbacks, listed in ``Visits.no_callback``. ``rng`` is a stream of its own, so the
    other frames stay as they were."""
    closed = wo.times[:, 5]
    done = np.flatnonzero((wo.kind == COMPLAINT) & (wo.customer >= 0) & (closed == closed) & (closed < year.now))
    age = year.now - closed[done]
    recent = done[(age > np.timedelta64(5 * 86400, "s")) & (age < np.timedelta64(300 * 86400, "s"))
                  & ~np.isin(wo.grid[done], list(avoid_grids))]
    recent = recent[np.argsort(closed[recent], kind="stable")]
    skip = sorted(int(i) for i in recent[-2:])  # the two last closed, of customers not called for another
    called = done[~np.isin(done, skip)]
    at = closed[called] + (rng.uniform(1.0, 48.0, len(called)) * 3600).astype("timedelta64[s]")
    called, at = called[at < year.now], at[at < year.now]
    cust = wo.customer[called]
    g = net.cu_grid[cust]
    pick = staff.member_start[g] + (rng.random(len(g)) * staff.member_count[g]).astype(np.int64)
    member = staff.members[np.minimum(pick, max(len(staff.members) - 1, 0))] if len(staff.members) else pick
    who = np.where(staff.member_count[g] > 0, member, wo.assignee[called])
    detail = [(i, f"complaint closed {closed[i].astype('datetime64[m]')} without a callback") for i in skip]
    return Visits(np.r_[visits.staff, who], np.r_[visits.customer, cust], np.r_[visits.at, at],
                  np.r_[visits.kind, np.ones(len(cust), np.int64)], planted=visits.planted, no_callback=detail)
