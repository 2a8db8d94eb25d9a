"""The manifest of planted problems (``demo_manifest``).

A problem is named by the rule that reports it, so that ``gridservice audit
--rule PROBLEM`` finds its feature: the audit rule id, or for the grid gap and
overlap, which no audit rule covers, the ``gridservice validate`` check. The
业扩 problems are named ``APP_<FLAG>`` after the flag of ``gridservice
applications monitor`` that reports them (``APP_OVER_TIME`` → ``over_time``); the theft and
metering suspects ``THEFT_<RULE>`` after the rule of ``gridservice theft suspects`` that finds
them (``THEFT_SUDDEN_DROP`` → ``sudden_drop``); a missed complaint callback ``VISIT_COMPLAINT_CALLBACK``
after the reason ``complaint_callback`` of ``gridservice visits due``;
the seeded warnings history's escalated red warnings ``WARNING_ESCALATED`` (``demo/warnings.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridservice.demo.geography import GAP_WIDTH_M, OVERLAP_WIDTH_M
from gridservice.demo.people import HOUSEHOLDS_PER_MEMBER
from gridservice.demo.world import Ids, World

MANIFEST_COLUMNS = ("problem", "layer", "feature_id", "detail")

#: What the demo plants (its builders' keys) → the rule that reports it: the manifest's ``problem``.
PROBLEM: dict[str, str] = {
    "repair_arrival_late": "WO_ARRIVAL_LATE",
    "arrived_before_received": "WO_TIME_ORDER",
    "closed_before_received": "WO_TIME_ORDER",
    "repeat_complaint": "WO_REPEAT_COMPLAINT",
    "loss_high": "LOSS_HIGH",
    "loss_negative": "LOSS_NEGATIVE",
    "loss_high_streak": "LOSS_STREAK",
    "wrong_transformer_link": "CUST_FAR_FROM_TRANSFORMER",
    "transformer_split_across_grids": "TX_SPLIT_GRIDS",
    "gap": "gap",
    "overlap": "overlap",
    "invalid_phone": "CUST_PHONE_INVALID",
    "transformer_without_customers": "TX_NO_CUSTOMERS",
    "understaffed": "GRID_UNDERSTAFFED",
    "no_manager": "GRID_NO_MANAGER",
    "key_customer_not_visited": "KEY_CUSTOMER_NOT_VISITED",
}


def manifest(world: World, ids: Ids) -> pd.DataFrame:
    """One row per planted problem, naming the feature it sits on."""
    grids, net, staff, wo = world.grids, world.net, world.staff, world.work_orders
    readings, cust, visits = world.readings, world.cust, world.visits
    empty_tx, split, wrong = world.empty_tx, world.split, world.wrong
    rows: list[tuple[str, str, str, str]] = []
    gid = [g.as_py() for g in ids.grid]

    def tx(i: int) -> str:
        return ids.tx[int(i)].as_py()

    def cu(i: int) -> str:
        return ids.cu[int(i)].as_py()

    def woid(i: int) -> str:
        return ids.wo[int(i)].as_py()

    for problem, items in wo.planted.items():
        for i, detail, ref in items:
            if ref >= 0:
                detail = f"{detail} ({woid(ref)}); customer {cu(wo.customer[i])}"
            rows.append((PROBLEM[problem], "work_orders", woid(i), detail))
    for flag, items in world.applications.planted.items():
        for i, detail in items:
            rows.append((f"APP_{flag.upper()}", "applications", ids.app[int(i)].as_py(), detail))
    for problem, (t, detail) in readings.planted.items():
        rows.append((PROBLEM[problem], "transformers", tx(t), detail))
    for m, rule, detail in readings.suspects:
        rows.append((f"THEFT_{rule.upper()}", "meters", ids.mt[int(m)].as_py(),
                     f"on {tx(net.mt_tx[m])}: {detail}"))
    for c, t in wrong:
        true_t = int(net.cu_tx[c])
        d = float(np.hypot(*(net.tx_xy[t] - net.cu_xy[c])))
        rows.append((PROBLEM["wrong_transformer_link"], "customers", cu(c),
                     f"meter {ids.mt[int(c)].as_py()} linked to {tx(t)} {d / 1000:.1f} km away; "
                     f"supplied by {tx(true_t)}"))  # fmt: skip
    if split is not None:
        t, h = net.planted["split"]
        rows.append((PROBLEM["transformer_split_across_grids"], "transformers", tx(t),
                     f"customers in {gid[net.tx_grid[t]]} and {gid[h]}"))  # fmt: skip
    for what, (a, b) in grids.planted.items():
        zone = grids.gap if what == "gap" else grids.overlap
        width = GAP_WIDTH_M if what == "gap" else OVERLAP_WIDTH_M
        area = zone.area if zone is not None else 0.0
        rows.append((PROBLEM[what], "grids", gid[a],
                     f"{what} of about {width:.0f} m x {area / width:.0f} m ({area:.0f} m2) "
                     f"between {gid[a]} and {gid[b]}"))  # fmt: skip
    for c, detail in cust.planted_phones:
        rows.append((PROBLEM["invalid_phone"], "customers", cu(c), detail))
    rows.append((PROBLEM["transformer_without_customers"], "transformers", tx(empty_tx),
                 "no meters are linked to it"))
    if "understaffed" in staff.planted:
        g, hh, m = staff.planted["understaffed"]
        rows.append((PROBLEM["understaffed"], "grids", gid[g],
                     f"{hh} households for {m} grid member(s): {hh / m:.0f} per member "
                     f"(norm {HOUSEHOLDS_PER_MEMBER})"))  # fmt: skip
    if "no_manager" in staff.planted:
        g, _, _ = staff.planted["no_manager"]
        rows.append((PROBLEM["no_manager"], "grids", gid[g], "no grid_manager in grid_staff"))
    for c in visits.planted:
        rows.append((PROBLEM["key_customer_not_visited"], "customers", cu(c),
                     f"key customer in {gid[net.cu_grid[c]]} had 1 home visit in the year (2 required)"))  # fmt: skip
    for i, detail in visits.no_callback:
        rows.append(("VISIT_COMPLAINT_CALLBACK", "work_orders", woid(i), f"{detail}; customer {cu(wo.customer[i])}"))
    df = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS))
    return df.astype("str")
