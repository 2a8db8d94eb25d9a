"""The warnings evaluation on the 1,000,000-customer demo vs a plain pandas baseline.

Target (issue 19 §3): under 5 s on the 1M-customer demo, measured beside the baseline in the same run.

    python benchmarks/warnings.py [--customers 1000000] [--repeat 3]

Ours is :func:`gridservice.metrics.warnings.evaluate` for 2026-10: every
indicator at county, station and grid level (each record judged once, counts
summed per grid, then per station and county) and the crossings, one vector
comparison per (indicator, level).

The baseline is what one writes first: the KPI table of each level
(``kpis(by=…)``, which judges every order, outage and customer again per
level, with the year of readings behind the month's line loss), the 业扩
monitor summed per level, then the table melted to one row per (unit,
indicator) and each row judged against its thresholds with ``DataFrame.apply``.
The run checks that both find the same crossings.
"""

from __future__ import annotations

import argparse

import pandas as pd
from common import best_of, demo_area, with_cpu

from gridservice.config import Rules
from gridservice.metrics.applications import monitor, monitor_summary
from gridservice.metrics.indicators import INDICATORS, county_id, judged_at, thresholds
from gridservice.metrics.kpi import kpis
from gridservice.metrics.period import month
from gridservice.metrics.warnings import evaluate
from gridservice.model import ServiceArea

PERIOD = "2026-10"


def baseline(area: ServiceArea, rules: Rules) -> set[tuple[str, str, str, str]]:
    """(indicator, level, unit, severity) of every crossing, the plain way."""
    when = judged_at(area, month(PERIOD))
    flags = monitor(area, PERIOD, as_of=when, rules=rules)
    late = flags[flags["flag"] == "over_time"]
    tables = []
    for level, by in (("county", "area"), ("station", "station"), ("grid", "grid")):
        k = kpis(area, PERIOD, by=by, rules=rules, as_of=when)
        k["high_loss_share_pct"] = k["loss_high"] / (k["loss_normal"] + k["loss_high"] + k["loss_negative"]) * 100
        over = monitor_summary(area, late, by=level)["over_time"]
        k["applications_over_time"] = float(over.sum()) if level == "county" else over.reindex(k.index).fillna(0)
        k.index = [county_id(area)] if level == "county" else k.index.astype("str")
        long = k[list(INDICATORS)].rename_axis("unit_id").reset_index().melt(id_vars="unit_id",
                                                                            var_name="indicator")
        tables.append(long.assign(level=level))
    values = pd.concat(tables).merge(thresholds(rules), on=["indicator", "level"])

    def judge(row: pd.Series) -> str | None:
        v = row["value"]
        if pd.isna(v):
            return None
        worse = (lambda a, b: a >= b) if row["worse"] == "higher" else (lambda a, b: a <= b)
        if worse(v, row["red"]):
            return "red"
        return "yellow" if worse(v, row["yellow"]) else None

    values["severity"] = values.apply(judge, axis=1)
    hit = values[values["severity"].notna()]
    return set(zip(hit["indicator"], hit["level"], hit["unit_id"], hit["severity"], strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    area, _, built = demo_area(args.customers)
    print(f"demo area: {len(area.customers):,} customers, {len(area.work_orders):,} work orders, "
          f"{len(area.energy_readings):,} readings ({built:.1f} s to build and derive)")
    rules = Rules()

    t_ours, (cpu_ours, table) = best_of(lambda: with_cpu(lambda: evaluate(area, PERIOD, rules=rules)), args.repeat)
    t_base, (cpu_base, base) = best_of(lambda: with_cpu(lambda: baseline(area, rules)), 1)
    ours = set(zip(table["indicator"], table["level"], table["unit_id"], table["severity"], strict=True))
    assert ours == base, f"ours and the baseline disagree: {sorted(ours ^ base)[:10]}"
    red = int((table["severity"] == "red").sum())
    print(f"\nwarnings {PERIOD}: {len(table):,} crossings ({red} red) over {len(thresholds(rules))} "
          "(indicator, level) pairs; ours and the baseline agree on every crossing")
    print(f"  pandas baseline (kpis per level + melt + apply) {t_base:8.2f} s   ({cpu_base:.2f} s CPU)")
    print(f"  gridservice evaluate                           {t_ours:8.2f} s   ({cpu_ours:.2f} s CPU)   "
          f"target < 5 s   baseline / ours {t_base / t_ours:.1f}x")


if __name__ == "__main__":
    main()
