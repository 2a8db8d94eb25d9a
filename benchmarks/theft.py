"""The theft and metering suspect ranking on the 1,000,000-customer demo vs a plain pandas baseline.

Target (issue 18): under 5 s on the 1M-customer demo, measured beside the baseline in the same run.

    python benchmarks/theft.py [--customers 1000000] [--repeat 3] [--baseline-rows 20000]

Ours is :func:`gridservice.metrics.theft.suspects` for 2026-10: every meter's
eight-month window (12 million readings in the store), the five rules, the
peers' medians, the month's line loss to find the high-loss areas, the ranking.

The baseline is what one writes without vectorising the rules: ``pivot_table``
of the readings to a meter × month table and a ``groupby`` for the peers'
medians (both pandas, vectorised), then ``DataFrame.apply`` over the meters,
each row judged by the same rules in plain Python. It is written
independently, so the run also checks that both find the same (meter, rule)
pairs. With ``--baseline-rows`` below the number of meters the row-by-row part
runs on the first rows (and the planted meters) only and its time is scaled up
linearly (the work is per row); the pivot and the groupby are timed in full.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from common import best_of, demo_area, with_cpu

from gridservice.config import Rules
from gridservice.metrics.theft import RULES, anomalies, suspects
from gridservice.model import ServiceArea

PERIOD = "2026-10"


def baseline_tables(area: ServiceArea, rules: Rules) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The meter × month table and, per meter, its transformer, category, capacity and peers' median ratios."""
    nb, nr = rules.theft_baseline_months, rules.theft_recent_months
    months = [str(p) for p in pd.period_range(end=PERIOD, periods=nb + nr, freq="M")]
    r = area.energy_readings
    r = r[r["period"].isin(months) & r["device_id"].isin(area.meters.index)]
    wide = r.pivot_table(index="device_id", columns="period", values="kwh", aggfunc="sum").reindex(columns=months)
    meters = area.meters
    tx = meters["transformer_id"].fillna(meters["access_point_id"].map(area.access_points["transformer_id"]))
    cust = area.customers.reset_index().drop_duplicates("meter_id").set_index("meter_id")
    apps = area.applications
    cap = apps[apps["connected_at"].notna()].groupby("customer_id")["capacity_kva"].max()
    info = pd.DataFrame({"tx": tx, "category": cust["category"].reindex(meters.index),
                         "capacity": cust["customer_id"].reindex(meters.index).map(cap)}, index=meters.index)
    wide = wide.reindex(meters.index)
    level = wide.iloc[:, :nb].median(axis=1)
    occupied = level >= rules.theft_occupied_min_kwh
    ratio = wide.iloc[:, nb:].div(level, axis=0).where(occupied, axis=0)
    keys = [info["tx"].where(occupied), info["category"].where(occupied)]
    grouped = ratio.groupby(keys)
    peer = grouped.transform("median")
    count = ratio.iloc[:, 0].groupby(keys).transform("size")
    info["level"] = level
    for j, m in enumerate(months[nb:]):
        info[f"peer{j}"] = peer[m]
    info["peers"] = count.reindex(meters.index).fillna(0)
    return wide, info


def baseline_rules(wide: pd.DataFrame, info: pd.DataFrame, rules: Rules) -> set[tuple[str, str]]:
    """Each meter's rules, row by row."""
    nb = rules.theft_baseline_months
    hours = [pd.Period(m, "M").days_in_month * 24 for m in wide.columns[nb:]]
    rows = wide.join(info)

    def judge(row: pd.Series) -> list[str]:
        values = [row[m] for m in wide.columns]
        recent = values[nb:]
        level = row["level"]
        out = []
        occupied = pd.notna(level) and level >= rules.theft_occupied_min_kwh
        if occupied and all(pd.notna(v) and abs(v) <= rules.theft_near_zero_kwh for v in recent):
            out.append("zero_use")
        if occupied and all(pd.notna(v) for v in recent):
            dropped = True
            for j, v in enumerate(recent):
                ratio = v / level
                peer = row[f"peer{j}"]
                if row["peers"] >= rules.theft_min_peers and peer > 0:
                    ratio /= peer
                dropped &= ratio < rules.theft_drop_ratio
            if dropped:
                out.append("sudden_drop")
        if all(pd.notna(v) for v in values) and min(values) > rules.theft_near_zero_kwh:
            mean = sum(values) / len(values)
            if max(values) - min(values) <= rules.theft_flat_tolerance_pct / 100 * mean:
                out.append("flat")
        if any(pd.notna(v) and v < 0 for v in recent):
            out.append("reverse_energy")
        cap = row["capacity"]
        if pd.notna(cap) and any(pd.notna(v) and v > cap * h for v, h in zip(recent, hours, strict=True)):
            out.append("over_capacity")
        return out

    per_row = rows.apply(judge, axis=1)
    return {(m, r) for m, rs in per_row.items() for r in rs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-rows", type=int, default=20_000, help="0: all meters")
    args = parser.parse_args()

    area, manifest, built = demo_area(args.customers)
    print(f"demo area: {len(area.customers):,} customers, {len(area.energy_readings):,} readings "
          f"({built:.1f} s to build and derive)")
    rules = Rules()

    t_ours, (cpu_ours, table) = best_of(lambda: with_cpu(lambda: suspects(area, PERIOD, rules=rules)), args.repeat)
    flags = anomalies(area, PERIOD, rules=rules)

    t = time.perf_counter()
    wide, info = baseline_tables(area, rules)
    t_tables = time.perf_counter() - t
    planted = manifest.loc[manifest["problem"].str.startswith("THEFT_"), "feature_id"]
    n = args.baseline_rows or len(wide)
    chosen = wide.index[:n].union(pd.Index(planted))
    t = time.perf_counter()
    base = baseline_rules(wide.loc[chosen], info.loc[chosen], rules)
    t_rows = (time.perf_counter() - t) * len(wide) / len(chosen)
    sub = flags.loc[chosen, list(RULES)]
    ours = {(m, r) for r in RULES for m in sub.index[sub[r].to_numpy()]}
    assert ours == base, f"ours and the baseline disagree: {sorted(ours ^ base)[:10]}"
    top = table.groupby("transformer_id").head(4)
    assert set(planted) <= set(top["meter_id"]), "the planted meters are not first on their transformer"

    scaled = "" if len(chosen) >= len(wide) else f" (row-by-row part on {len(chosen):,} meters, scaled)"
    t_base = t_tables + t_rows
    hits = int(np.asarray(flags[list(RULES)]).any(axis=1).sum())
    areas = table["transformer_id"].nunique()
    print(f"\ntheft suspects {PERIOD}: {len(table):,} suspects on {areas:,} high-loss areas; {hits:,} meters "
          "hit a rule; both agree on every (meter, rule) pair checked; planted meters ranked first")
    print(f"  pandas baseline (pivot + groupby + apply) {t_base:8.2f} s{scaled}")
    print(f"  gridservice suspects                      {t_ours:8.2f} s   ({cpu_ours:.2f} s CPU)   target < 5 s   "
          f"baseline / ours {t_base / t_ours:.0f}x")


if __name__ == "__main__":
    main()
