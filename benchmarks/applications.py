"""The weekly 业扩 monitor on the 1,000,000-customer demo vs a plain pandas row-by-row baseline.

Target (issue 18): under 5 s on the 1M-customer demo, measured beside the baseline in the same run.

    python benchmarks/applications.py [--customers 1000000] [--repeat 3] [--baseline-rows 20000]

A county of a million customers takes about 20,000 applications a year (the
demo draws two per hundred customers). The monitor runs over the demo's
whole year, so every application is live and every rule is evaluated on all
of them — a harder load than one week's.

The baseline is what one writes without vectorising: ``DataFrame.apply`` over
the rows, each row's deadlines counted day by day with
``chinese_calendar.is_workday`` (no precomputed table), the same rules as
:func:`gridservice.metrics.applications.monitor`. It is written independently,
so the run also checks that both find the same (application, flag) pairs.
With ``--baseline-rows`` below the number of applications the baseline runs
on the first rows only and its time is scaled up linearly (the work is per
row), and the check compares those rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import time

import chinese_calendar
import pandas as pd
from common import best_of, demo_area

from gridservice.config import Rules
from gridservice.metrics.applications import monitor
from gridservice.metrics.period import period_between
from gridservice.schema import APPLICATION_STEPS


def _workday(day: dt.date, extra: set[dt.date]) -> bool:
    """The official calendar inside the years it covers, weekends only outside (as gridservice's calendar)."""
    try:
        work = chinese_calendar.is_workday(day)
    except NotImplementedError:
        work = day.weekday() < 5
    return work and day not in extra


def _due(start: pd.Timestamp, n: int, extra: set[dt.date]) -> pd.Timestamp:
    """End of the ``n``-th working day after ``start``'s day, counted one day at a time."""
    day, left = start.date(), n
    while left:
        day += dt.timedelta(days=1)
        if _workday(day, extra):
            left -= 1
    return pd.Timestamp(day, tz=start.tz) + pd.Timedelta(hours=23, minutes=59, seconds=59)


def baseline(apps: pd.DataFrame, area_class: pd.Series, *, judge: pd.Timestamp, now: pd.Timestamp,
             rules: Rules) -> set[tuple[str, str]]:
    """(application, flag) pairs, one row at a time."""
    extra = {dt.date.fromisoformat(d) for d in rules.extra_holidays}
    lv_max = rules.small_micro_low_voltage_max_kva

    def flags(row: pd.Series) -> list[str]:
        out: list[str] = []
        steps = APPLICATION_STEPS[row["voltage"]]
        key = (("high/dual" if row["dual_supply"] is True else "high/single") if row["voltage"] == "high"
               else f"low/{row['category']}")
        seen = [row["accepted_at"]]
        for prev, step in itertools.pairwise(steps):
            at, p_at = row[f"{step}_at"], row[f"{prev}_at"]
            done = pd.notna(at) and at <= judge
            limit = rules.application_step_working_days.get(key, {}).get(step)
            if pd.notna(p_at) and p_at <= judge and limit is not None:
                due = _due(p_at, limit, extra)
                if done and at > due:
                    out.append("over_time")
                elif not done and row["status"] != "cancelled":
                    if judge > due:
                        out.append("over_time")
                    else:
                        margin = limit - rules.application_due_soon_working_days
                        if margin < 1 or judge > _due(p_at, margin, extra):
                            out.append("due_soon")
            least = rules.application_min_step_minutes.get(step)
            if done and pd.notna(p_at) and least is not None and 0 <= (at - p_at) / pd.Timedelta(minutes=1) < least:
                out.append("short_time")
            earlier = [t for t in seen if pd.notna(t)]
            if pd.notna(at) and earlier and at < max(earlier):
                out.append("time_order")
            seen.append(at)
        for step in steps:
            at = row[f"{step}_at"]
            if pd.notna(at) and at > now:
                out.append("future_time")
            if pd.notna(at) and step in rules.application_workday_only_steps and not _workday(at.date(), extra):
                out.append("non_working_day")
        handlers = [row[f"{s}_by"] for s in steps]
        if pd.notna(row["connected_at"]) and row["connected_at"] <= judge and all(pd.notna(h) for h in handlers) \
                and len(set(handlers)) == 1:
            out.append("one_person")
        limit_kva = lv_max.get(area_class.get(row["grid_id"]), min(lv_max.values()))
        small = row["category"] == "small_micro_enterprise"
        if row["voltage"] == "high" and small and row["capacity_kva"] <= limit_kva:
            out.append("small_micro_high_voltage")
        return out

    per_row = apps.apply(flags, axis=1)
    return {(a, f) for a, fs in per_row.items() for f in fs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-rows", type=int, default=0, help="0: all applications")
    args = parser.parse_args()

    area, _, built = demo_area(args.customers)
    apps = area.applications
    print(f"demo area: {len(area.customers):,} customers, {len(apps):,} applications "
          f"({built:.1f} s to build and derive)")
    rules = Rules()
    period = period_between("2025-12-01", "2026-11-30")
    judge = min(area.as_of, period.end - pd.Timedelta(milliseconds=1))

    t_ours, flags = best_of(lambda: monitor(area, period, rules=rules), args.repeat)
    n = args.baseline_rows or len(apps)
    sub = apps.iloc[:n]
    t = time.perf_counter()
    base = baseline(sub, area.grids["area_class"], judge=judge, now=area.now, rules=rules)
    t_base = (time.perf_counter() - t) * len(apps) / n
    ours = {(a, f) for a, f in zip(flags["application_id"], flags["flag"], strict=True) if a in set(sub.index)}
    assert ours == base, f"the monitor and the baseline disagree: {sorted(ours ^ base)[:10]}"

    scaled = "" if n == len(apps) else f" (measured on {n:,} rows, scaled)"
    print(f"\nweekly 业扩 monitor over the whole year ({len(flags):,} flags; both agree on every pair):")
    print(f"  pandas row-by-row baseline {t_base:8.2f} s{scaled}")
    print(f"  gridservice monitor        {t_ours:8.2f} s   target < 5 s   baseline / ours {t_base / t_ours:.0f}x")


if __name__ == "__main__":
    main()
