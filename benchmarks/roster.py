"""The roster check on the 1,000,000-customer demo vs a plain pandas baseline.

Target (issue 19): under 5 s on the 1M-customer demo, measured beside the baseline in the same run.

    python benchmarks/roster.py [--customers 1000000] [--repeat 3] [--weeks 6]

Ours is :func:`gridservice.events.roster.roster_findings`: every grid-day of each station's roster span
without anyone linked to the grid on duty, and every member with more than six working days in a week.
The demo holds six weeks of every station's roster; ``--weeks`` makes a longer one with the generator (also
timed) to see how the check grows.

The baseline is what one writes without vectorising: a ``groupby(...).apply`` per grid and day over the
links joined to the shifts (is anyone on duty?), the full grid × day table built station by station in
Python, and a ``groupby(...).apply`` per staff member and week counting the working days. It is written
independently, so the run also checks that both find the same grid-days and staff-weeks.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
from common import best_of, with_cpu

from gridservice.demo import build_demo
from gridservice.events.roster import NO_COVER, OVER_SIX, roster_findings, roster_frames
from gridservice.model import ServiceArea


def baseline(area: ServiceArea) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(grid, day) without duty and (staff, Monday) over six working days, with groupby-apply."""
    sh = area.shifts.reset_index()
    sh["day"] = pd.to_datetime(sh["date"])
    sh["station_id"] = sh["staff_id"].map(area.staff["station_id"])
    links = area.grid_staff[["grid_id", "staff_id"]].drop_duplicates()
    joined = links.merge(sh, on="staff_id")
    covered = joined.groupby(["grid_id", "date"]).apply(lambda g: (g["kind"] == "duty").any(), include_groups=False)
    gaps = set()
    for station, rows in sh.groupby("station_id"):
        days = pd.date_range(rows["day"].min(), rows["day"].max(), freq="D").strftime("%Y-%m-%d")
        for grid in area.grids.index[area.grids["station_id"] == station]:
            for day in days:
                if not covered.get((grid, day), False):
                    gaps.add((str(grid), day))
    sh["week"] = (sh["day"] - pd.to_timedelta(sh["day"].dt.day_of_week, unit="D")).dt.strftime("%Y-%m-%d")
    counts = sh.groupby(["staff_id", "week"]).apply(lambda g: g["kind"].isin(["duty", "standby"]).sum(),
                                                     include_groups=False)
    over = {(str(s), w) for (s, w), n in counts.items() if n > 6}
    return gaps, over


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--weeks", type=int, default=0, help="0: the demo's six weeks; else a new roster of N")
    args = parser.parse_args()

    t = time.perf_counter()
    frames = build_demo(customers=args.customers, seed=0, as_of="2026-11-30T18:00:00+08:00")
    layers = {k: frames[k] for k in ("stations", "grids", "staff", "grid_staff", "shifts")}
    area = ServiceArea(layers)
    print(f"demo area: {args.customers:,} customers, {len(area.grids):,} grids, {len(area.staff):,} staff, "
          f"{len(area.shifts):,} shifts ({time.perf_counter() - t:.1f} s to build)")
    if args.weeks:
        def make() -> pd.DataFrame:
            return pd.concat([roster_frames(area.staff, area.grid_staff, area.grids, s, "2026-11-02", 7 * args.weeks)
                              for s in area.stations.index if (area.staff["station_id"] == s).any()])
        t_make, shifts = best_of(make, 1)
        area = area.replace(shifts=shifts)
        print(f"made {args.weeks} weeks for every station: {len(shifts):,} shifts in {t_make:.2f} s")

    t_ours, (cpu_ours, found) = best_of(lambda: with_cpu(lambda: roster_findings(area)), args.repeat)
    t_base, (gaps, over) = best_of(lambda: baseline(area), 1)
    ours_gaps = {(g, d) for c, g, d in zip(found["check"], found["feature_id"], found["date"], strict=True)
                 if c == NO_COVER}
    ours_over = {(s, w) for c, s, w in zip(found["check"], found["feature_id"], found["date"], strict=True)
                 if c == OVER_SIX}
    assert ours_gaps == gaps, f"gaps disagree: {sorted(ours_gaps ^ gaps)[:10]}"
    assert ours_over == over, f"weeks disagree: {sorted(ours_over ^ over)[:10]}"
    print(f"\nroster check: {len(gaps)} grid-day(s) without duty, {len(over)} staff-week(s) over six days; "
          "both agree")
    print(f"  pandas baseline (groupby-apply + loops) {t_base:8.3f} s")
    print(f"  gridservice roster_findings             {t_ours:8.3f} s   ({cpu_ours:.3f} s CPU)   target < 5 s   "
          f"baseline / ours {t_base / t_ours:.0f}x")


if __name__ == "__main__":
    main()
