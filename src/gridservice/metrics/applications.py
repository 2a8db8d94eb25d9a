"""业扩报装 monitoring: the weekly report (周通报) on new connections and capacity increases.

An application moves through steps (``schema.APPLICATION_STEPS``): low voltage
业务受理 → 装表接电 (``accepted`` → ``connected``), high voltage 业务受理 →
供电方案答复 → 装表接电 (``accepted`` → ``plan_replied`` → ``connected``). Each
step after the first has a limit in working days counted from the step before
(``Rules.application_step_working_days``; the calendar's convention: the day the
clock starts is not counted, the step is due by the end of the N-th working day
after it). Sources and defaults: docs/applications.md.

:func:`monitor` flags, one row per application and problem:

``over_time`` (超时限)
    a step done after its due time, or still open (not done at the judging
    time) past it;
``due_soon`` (即将超时限)
    an open step within ``application_due_soon_working_days`` of its limit;
``short_time`` (短时限)
    a step done sooner after the one before than a field visit can take
    (``application_min_step_minutes``): a sign of data filled in afterwards;
``time_order``
    a step earlier than a step before it (the acceptance included);
``future_time``
    a step later than ``area.now``;
``non_working_day``
    a step an office issues only on working days
    (``application_workday_only_steps``) dated on a day off;
``one_person`` (一人单)
    a connected application whose every step has the same handler;
``small_micro_high_voltage`` (小微企业高压接入)
    a small or micro enterprise connected at high voltage although its
    capacity is within the low-voltage limit of its grid's area class
    (``small_micro_low_voltage_max_kva``).

The monitor looks at the applications live in the period: accepted before it
ends and either still open at its end or with a step inside it. Open steps
are judged at the period's end or ``as_of``, whichever comes first; a step
dated later counts as not yet done. Everything is vectorised over the
applications; the only loops run over the two or three steps.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from gridservice import clock
from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import DataError
from gridservice.events.calendar import work_calendar
from gridservice.metrics.audit import sample
from gridservice.metrics.period import Period, as_period, parse_period
from gridservice.schema import APPLICATION_STEPS, TIMEZONE

if TYPE_CHECKING:
    from gridservice.model import ServiceArea

STEP_ZH = {"accepted": "业务受理", "plan_replied": "供电方案答复", "connected": "装表接电"}
FLAGS: dict[str, str] = {
    "over_time": "超时限",
    "due_soon": "即将超时限",
    "short_time": "短时限",
    "time_order": "环节时间倒序",
    "future_time": "时间晚于当前",
    "non_working_day": "非工作日办理",
    "one_person": "一人单",
    "small_micro_high_voltage": "小微企业高压接入",
}
FLAG_COLUMNS = ("application_id", "flag", "flag_zh", "step", "staff_id", "grid_id", "station_id", "voltage",
                "category", "at", "due_at", "detail")
#: Levels of :func:`monitor_summary`.
LEVELS = ("county", "station", "grid", "handler")
#: Every step after the first, with its predecessor per voltage.
_LATER = ("plan_replied", "connected")


def week_of(when: pd.Timestamp) -> Period:
    """The ISO week holding ``when`` (local time)."""
    iso = when.tz_convert(TIMEZONE).isocalendar()
    return parse_period(f"{iso.year:04d}-W{iso.week:02d}")


def _predecessor(voltage: pd.Series, step: str) -> pd.Series:
    """Name of the step before ``step`` for each application (NaN where the voltage has no such step)."""
    before = {v: steps[steps.index(step) - 1] for v, steps in APPLICATION_STEPS.items() if step in steps}
    return voltage.map(before)


def _pick(apps: pd.DataFrame, names: pd.Series, suffix: str) -> pd.Series:
    """Per row, the value of column ``<names[row]><suffix>`` (NaN where ``names`` is NaN)."""
    out = apps[f"accepted{suffix}"].where(pd.Series(False, index=apps.index))
    for name in names.dropna().unique():
        out = out.mask((names == name).to_numpy(), apps[f"{name}{suffix}"])
    return out


def _limit_key(apps: pd.DataFrame) -> pd.Series:
    dual = apps["dual_supply"].astype("boolean").fillna(False) if "dual_supply" in apps else False
    high = np.where(dual, "high/dual", "high/single")
    return pd.Series(np.where(apps["voltage"] == "high", high, "low/" + apps["category"].astype("str")),
                     index=apps.index)


def _fmt(times: pd.Series) -> pd.Series:
    return times.dt.tz_convert(TIMEZONE).dt.strftime("%Y-%m-%d %H:%M").fillna("—")


def monitor(
    area: ServiceArea,
    period: Period | str | None = None,
    *,
    as_of: object | None = None,
    rules: Rules = DEFAULT_RULES,
) -> pd.DataFrame:
    """The weekly 业扩 monitor: one row per flagged application and problem (see the module docstring).

    Parameters
    ----------
    area
        The service area; its ``applications`` carry derived ``grid_id``.
    period
        The period reported on (``"2026-W10"``, a month, a :class:`Period`);
        default the ISO week holding ``as_of``.
    as_of
        When open steps are judged (default ``area.as_of``); never after the
        period's end.
    rules
        Limits and thresholds (default: the settings' rules).

    Returns
    -------
    DataFrame
        Columns ``FLAG_COLUMNS``: the application, the flag (and its Chinese
        name), the step it concerns (none for ``one_person`` and
        ``small_micro_high_voltage``), the handler it is charged to, the
        application's grid and station, the step's time and due time, and a
        one-line detail. Ordered by application and flag.
    """
    as_of = area.as_of if as_of is None else clock.timestamp(as_of, what="as_of")
    p = week_of(as_of) if period is None else as_period(period)
    judge = min(as_of, p.end - pd.Timedelta(milliseconds=1))
    apps = _live(area.applications, p, judge)
    if not len(apps):
        return _empty()
    cal = work_calendar(rules.extra_holidays)
    station = apps["grid_id"].map(area.grids["station_id"]) if len(area.grids) else pd.Series(None, index=apps.index)
    key = _limit_key(apps)
    open_app = apps["status"] != "cancelled"
    parts: list[pd.DataFrame] = []

    def add(mask: pd.Series | np.ndarray, flag: str, step: str | None, staff: pd.Series, at: pd.Series,
            due: pd.Series | None = None, *, n: pd.Series | None = None, m: object = None,
            t: pd.Series | None = None) -> None:
        """Rows for ``flag``; ``n``, ``m`` and ``t`` carry what its detail line quotes (see :func:`_details`)."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        rows = apps.index[mask]
        nat = pd.Series(pd.NaT, index=rows, dtype=apps["accepted_at"].dtype)
        parts.append(pd.DataFrame({
            "application_id": rows, "flag": flag, "flag_zh": FLAGS[flag], "step": step,
            "staff_id": staff[mask].to_numpy(), "grid_id": apps["grid_id"][mask].to_numpy(),
            "station_id": station[mask].to_numpy(), "voltage": apps["voltage"][mask].to_numpy(),
            "category": apps["category"][mask].to_numpy(), "at": at[mask].array,
            "due_at": (due[mask] if due is not None else nat).array,
            "_n": n[mask].to_numpy() if n is not None else np.nan,
            "_m": m[mask].to_numpy() if isinstance(m, pd.Series) else m,
            "_t": (t[mask] if t is not None else nat).array,
        }))

    steps_seen = [apps["accepted_at"]]
    for step in _LATER:
        prev = _predecessor(apps["voltage"], step)
        has_step = prev.notna()
        at = apps[f"{step}_at"].where(has_step)
        by = apps[f"{step}_by"].where(has_step)
        prev_at, prev_by = _pick(apps, prev, "_at"), _pick(apps, prev, "_by")
        done = at.notna() & (at <= judge)
        prev_done = prev_at.notna() & (prev_at <= judge)
        limits = {k: days[step] for k, days in rules.application_step_working_days.items() if step in days}
        limit = key.map(limits).astype("float")
        timed = has_step & prev_done & limit.notna()
        n = limit.fillna(1).clip(lower=1).astype("int64").to_numpy()
        due = pd.Series(cal.add_working_days(prev_at.where(timed), n), index=apps.index)
        late_done = timed & done & (at > due)
        late_open = timed & ~done & open_app & (judge > due)
        add(late_done | late_open, "over_time", step, by.where(done, prev_by), at.where(done), due, n=limit)
        margin = limit - rules.application_due_soon_working_days
        soon_at = pd.Series(cal.add_working_days(prev_at.where(timed & (margin >= 1)),
                                                 margin.fillna(1).clip(lower=1).astype("int64").to_numpy()),
                            index=apps.index)
        soon = timed & ~done & open_app & ~late_open & ((margin < 1) | (judge > soon_at))
        add(soon, "due_soon", step, prev_by, at.where(done), due)
        gap_min = (at - prev_at) / pd.Timedelta(minutes=1)
        least = rules.application_min_step_minutes.get(step)
        if least is not None:
            add(done & prev_at.notna() & (gap_min >= 0) & (gap_min < least), "short_time", step, by, at,
                n=gap_min, m=least)
        earlier = pd.concat(steps_seen, axis=1).max(axis=1)
        add(has_step & at.notna() & earlier.notna() & (at < earlier), "time_order", step, by, at, t=earlier)
        steps_seen.append(at)
    for step in ("accepted", *_LATER):
        at = apps[f"{step}_at"]
        by = apps[f"{step}_by"]
        add(at > area.now, "future_time", step, by, at)
        if step in rules.application_workday_only_steps:
            present = at.notna().to_numpy()
            offday = np.zeros(len(apps), dtype=bool)
            if present.any():
                offday[present] = ~cal.is_workday(at[present])
            add(offday, "non_working_day", step, by, at)
    # 一人单: every step the voltage has was done, all by the acceptor
    first = apps["accepted_by"]
    same = first.notna()
    for step in _LATER:
        needed = apps["voltage"].map({v: step in steps for v, steps in APPLICATION_STEPS.items()}).astype(bool)
        same &= ~needed | (apps[f"{step}_by"] == first).fillna(False).astype(bool)
    connected = apps["connected_at"].notna() & (apps["connected_at"] <= judge)
    add(connected & same, "one_person", None, first, apps["connected_at"])
    area_class = apps["grid_id"].map(area.grids["area_class"]) if len(area.grids) else None
    limits_kva = rules.small_micro_low_voltage_max_kva
    floor = min(limits_kva.values()) if limits_kva else np.nan
    lv_max = (area_class.map(limits_kva).astype("float").fillna(floor) if area_class is not None
              else pd.Series(floor, index=apps.index))
    add((apps["voltage"] == "high") & (apps["category"] == "small_micro_enterprise")
        & (apps["capacity_kva"] <= lv_max), "small_micro_high_voltage", None, first, apps["accepted_at"],
        n=apps["capacity_kva"], m=lv_max)
    if not parts:
        return _empty()
    out = pd.concat(parts, ignore_index=True)
    order = {f: i for i, f in enumerate(FLAGS)}
    out = out.assign(_o=out["flag"].map(order)).sort_values(["application_id", "_o", "step"], kind="stable")
    out = out.reset_index(drop=True)
    return out.assign(detail=_details(out))[list(FLAG_COLUMNS)]


def _details(flags: pd.DataFrame) -> pd.Series:
    """One line per flag in Chinese, from its step, times and the figures ``add`` kept in ``_n``, ``_m``, ``_t``."""
    step = flags["step"].map(STEP_ZH).fillna("")
    at, due, earlier = _fmt(flags["at"]), _fmt(flags["due_at"]), _fmt(flags["_t"])
    n = flags["_n"].astype("float").round(0).fillna(0).astype("int64").astype("str")
    kva = flags["_n"].astype("float").round(1).astype("str")
    m = flags["_m"].astype("float").map("{:g}".format)
    lines = {
        "over_time": step + " 时限 " + n + " 个工作日, 应于 " + due + " 前, "
                     + np.where(flags["at"].notna(), "实际 " + at, "至今未办"),
        "due_soon": step + " 应于 " + due + " 前办结",
        "short_time": step + " 距上一环节仅 " + n + " 分钟 (不少于 " + m + " 分钟)",
        "time_order": step + " " + at + " 早于前序环节 " + earlier,
        "future_time": step + " " + at + " 晚于当前时间",
        "non_working_day": step + " 办理于非工作日 " + at,
        "one_person": "全部环节由同一人办理: " + flags["staff_id"].astype("str"),
        "small_micro_high_voltage": "小微企业 " + kva + " kVA 高压接入, 低压可接入上限 " + m + " kVA",
    }
    out = pd.Series("", index=flags.index, dtype="str")
    for flag, text in lines.items():
        mask = flags["flag"] == flag
        out[mask] = pd.Series(text, index=flags.index)[mask]
    return out


def _live(apps: pd.DataFrame, p: Period, judge: pd.Timestamp) -> pd.DataFrame:
    """Applications accepted before the period ends and open at its end or with a step inside it."""
    apps = pd.DataFrame(apps.drop(columns="geometry", errors="ignore"))  # a plain frame: columns come cheaper
    if not len(apps):
        return apps
    accepted = apps["accepted_at"].notna() & (apps["accepted_at"] <= judge)
    times = apps[[f"{s}_at" for s in ("accepted", *_LATER)]]
    inside = ((times >= p.start) & (times < p.end)).any(axis=1)
    finished = apps["connected_at"].notna() & (apps["connected_at"] <= judge)
    still_open = ~finished & (apps["status"] != "cancelled")
    return apps[accepted & (inside | still_open)]


def _empty() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="str") for c in FLAG_COLUMNS})
    for c in ("at", "due_at"):
        frame[c] = pd.Series(dtype=f"datetime64[ms, {TIMEZONE}]")
    return frame


def monitor_summary(area: ServiceArea, flags: pd.DataFrame, *, by: str = "grid") -> pd.DataFrame:
    """Flag counts per unit (``county``, ``station``, ``grid``) or per ``handler``: one column per flag.

    A handler row carries the staff's name (callers mask it for roles that
    must not see it).
    """
    if by not in LEVELS:
        msg = f"by {by!r}: use one of {', '.join(LEVELS)}"
        raise DataError(msg)
    column = {"county": None, "station": "station_id", "grid": "grid_id", "handler": "staff_id"}[by]
    keys = pd.Series(area.name, index=flags.index) if column is None else flags[column].fillna("—")
    name = {"county": "county", "station": "station_id", "grid": "grid_id", "handler": "staff_id"}[by]
    table = pd.crosstab(keys.rename(name), flags["flag"]).reindex(columns=list(FLAGS), fill_value=0)
    table.columns.name = None
    table = table.astype("int64")
    table.insert(0, "applications_flagged", flags.groupby(keys.to_numpy())["application_id"].nunique().reindex(
        table.index).fillna(0).astype("int64"))
    table["total"] = table[list(FLAGS)].sum(axis=1)
    if by == "handler":
        table.insert(0, "name", table.index.map(area.staff["name"]) if len(area.staff) else None)
    return table.sort_values(["total"], ascending=False, kind="stable")


def audit_sample(
    area: ServiceArea, period: Period | str, *, as_of: object | None = None, rules: Rules = DEFAULT_RULES
) -> pd.DataFrame:
    """The month's draws for the audit centre: a share of its high-voltage applications
    (``application_audit_high_pct``, 稽查) and of the applications still in progress at its
    end (``application_callback_pct``, 提级回访).

    The seed comes from the period's label, so the same month on the same data
    always draws the same applications.

    Returns
    -------
    DataFrame
        ``purpose`` (``audit`` or ``callback``) and the application's columns.
    """
    p = as_period(period)
    as_of = area.as_of if as_of is None else clock.timestamp(as_of, what="as_of")
    judge = min(as_of, p.end - pd.Timedelta(milliseconds=1))
    apps = area.applications
    high = apps[(apps["voltage"] == "high") & p.contains(apps["accepted_at"]).fillna(False)]
    finished = apps["connected_at"].notna() & (apps["connected_at"] <= judge)
    running = apps[(apps["accepted_at"] <= judge) & ~finished & (apps["status"] != "cancelled")]
    drawn = []
    for purpose, members, pct in (("audit", high, rules.application_audit_high_pct),
                                  ("callback", running, rules.application_callback_pct)):
        seed = zlib.crc32(f"{p.label}/{purpose}".encode())
        drawn.append(sample(members, pct=pct, seed=seed).assign(purpose=purpose))
    out = pd.concat(drawn) if any(len(d) for d in drawn) else apps.iloc[:0].assign(purpose=pd.Series(dtype="str"))
    cols = ["purpose", *[c for c in out.columns if c != "purpose"]]
    return out[cols]


__all__ = ["FLAGS", "FLAG_COLUMNS", "LEVELS", "STEP_ZH", "audit_sample", "monitor", "monitor_summary", "week_of"]
