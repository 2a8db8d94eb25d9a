"""Monthly KPIs and line loss on a 1,000,000-customer area vs a plain NumPy ``bincount`` baseline.

Target (issue 5): ours within 3x of the baseline, measured in the same run.

    python benchmarks/metrics.py [--customers 1000000] [--period 2026-11] [--repeat 3]

The area is the demo generator's Nanfeng territory at the requested size
(12 months of meter readings: about 12.3 million rows for a million
customers), held in memory and derived as ``gridservice`` faces see it
(grid ids located; the topology trace index built once — their own
benchmarks time those).

The baseline computes the same sums with nothing but id → position lookups
(Arrow's hash lookup ``pyarrow.compute.index_in`` and ``pandas.factorize``:
any code must turn string ids into array positions, and these are the
fastest ways we know) and ``numpy.bincount``:

* line loss: supply, sales and meters read per transformer and month over
  all 12 months (what the streak needs), loss % and the five classes of the
  period;
* KPIs per grid: customers, orders per kind received in the month, repair
  arrivals within the limit, customer-minutes and customers interrupted per
  grid for the month's sustained outages (customers below each outage device
  counted per grid through the foreign keys), and key customers visited.

Ours is :func:`gridservice.metrics.lineloss.line_loss` and
:func:`gridservice.metrics.kpi.kpis` (which includes the line loss, SLA
clocks with the working-day calendar, first-contact resolution, repeats,
reliability splits and visit coverage).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from common import best_of, demo_area

from gridservice.config import Rules
from gridservice.metrics.kpi import kpis
from gridservice.metrics.lineloss import line_loss
from gridservice.metrics.period import month
from gridservice.model import ServiceArea
from gridservice.topology import network_of


def lookup(values: pd.Series | pd.Index, keys: pd.Index) -> np.ndarray:
    """Position of each value in ``keys``, -1 when absent (Arrow hash lookup)."""
    found = pc.index_in(pa.array(values, type=pa.string()), value_set=pa.array(keys, type=pa.string()))
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def baseline_loss(area: ServiceArea, period: str, rules: Rules) -> dict[str, np.ndarray]:
    """Supply, sales, meters read per (transformer, month) by bincount; classes of ``period``."""
    tx = area.transformers.index
    meters = area.meters
    n_tx, n_m = len(tx), len(meters)
    ap_tx = lookup(area.access_points["transformer_id"], tx)
    ap = lookup(meters["access_point_id"], area.access_points.index)
    meter_tx = lookup(meters["transformer_id"], tx)
    meter_tx = np.where(meter_tx >= 0, meter_tx, np.where(ap >= 0, ap_tx[np.maximum(ap, 0)], -1))
    r = area.energy_readings
    codes, labels = pd.factorize(r["period"])
    months = sorted(m for m in labels if m <= period)
    n_months = len(months)
    month_of_code = pd.Index(months).get_indexer(labels)
    mo = month_of_code[codes]
    dev = lookup(r["device_id"], tx.append(meters.index))
    kwh = r["kwh"].to_numpy()
    ok = (mo >= 0) & (dev >= 0)
    dev, mo, kwh = dev[ok], mo[ok], kwh[ok]
    is_tx = dev < n_tx
    supply = np.bincount(dev[is_tx] * n_months + mo[is_tx], weights=kwh[is_tx], minlength=n_tx * n_months)
    has_supply = np.bincount(dev[is_tx] * n_months + mo[is_tx], minlength=n_tx * n_months) > 0
    m_tx = meter_tx[dev[~is_tx] - n_tx]
    linked = m_tx >= 0
    cell = m_tx[linked] * n_months + mo[~is_tx][linked]
    sales = np.bincount(cell, weights=kwh[~is_tx][linked], minlength=n_tx * n_months)
    read = np.bincount(cell, minlength=n_tx * n_months)
    n_meters = np.bincount(meter_tx[meter_tx >= 0], minlength=n_tx)
    supply, sales = supply.reshape(n_tx, n_months), sales.reshape(n_tx, n_months)
    has_supply, read = has_supply.reshape(n_tx, n_months), read.reshape(n_tx, n_months)
    ok = has_supply & (supply > 0) & (read >= n_meters[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(ok, (supply - sales) / supply * 100, np.nan)
    klass = np.select([~has_supply & (sales == 0), ~ok, pct > rules.loss_high_pct, pct < 0], [4, 3, 1, 2], 0)
    return {"supply": supply[:, -1], "sales": sales[:, -1], "pct": pct[:, -1], "class": klass[:, -1],
            "n_meters": n_m}


def baseline_kpis(area: ServiceArea, period: str, rules: Rules) -> dict[str, np.ndarray]:
    """The additive sums behind the grid KPIs, by bincount."""
    p = month(period)
    grids = area.grids.index
    n_g = len(grids)
    c = area.customers
    c_grid = lookup(c["grid_id"], grids)
    in_grid = c_grid >= 0
    customers = np.bincount(c_grid[in_grid], minlength=n_g)
    # work orders of the month per grid and kind; repair arrivals within the limit of the grid's class
    wo = area.work_orders
    recv = wo["received_at"]
    sel = ((recv >= p.start) & (recv < p.end)).to_numpy()
    wo = wo[sel]
    g = lookup(wo["grid_id"], grids)
    kinds, kind_codes = np.unique(wo["kind"].to_numpy(dtype=str), return_inverse=True)
    okg = g >= 0
    by_kind = np.bincount(g[okg] * len(kinds) + kind_codes[okg], minlength=n_g * len(kinds))
    limit = pd.Series(rules.repair_arrival_min).reindex(area.grids["area_class"]).to_numpy()[np.maximum(g, 0)]
    minutes = ((wo["arrived_at"] - wo["received_at"]) / pd.Timedelta(minutes=1)).to_numpy()
    repair = (wo["kind"] == "repair").to_numpy() & okg & ~np.isnan(minutes)
    on_time = np.bincount(g[repair], weights=(minutes[repair] <= limit[repair]), minlength=n_g)
    # customers per (transformer, grid) and (feeder, grid) through the foreign keys
    tx = area.transformers.index
    fd = area.feeders.index
    meters = area.meters
    ap_tx = lookup(area.access_points["transformer_id"], tx)
    ap = lookup(meters["access_point_id"], area.access_points.index)
    meter_tx = lookup(meters["transformer_id"], tx)
    meter_tx = np.where(meter_tx >= 0, meter_tx, np.where(ap >= 0, ap_tx[np.maximum(ap, 0)], -1))
    c_m = lookup(c["meter_id"], meters.index)
    c_tx = np.where(c_m >= 0, meter_tx[np.maximum(c_m, 0)], -1)
    tx_fd = lookup(area.transformers["feeder_id"], fd)
    okc = in_grid & (c_tx >= 0)
    per_tx = np.bincount(c_tx[okc] * n_g + c_grid[okc], minlength=len(tx) * n_g).reshape(len(tx), n_g)
    per_fd = np.zeros((len(fd), n_g))
    np.add.at(per_fd, tx_fd[tx_fd >= 0], per_tx[tx_fd >= 0])
    # sustained outages starting in the month, minutes clipped to it
    o = area.outages
    end = o["end_at"].fillna(p.end)
    dur = ((end - o["start_at"]) / pd.Timedelta(minutes=1)).to_numpy()
    keep = ((o["start_at"] >= p.start) & (o["start_at"] < p.end)).to_numpy() & (dur > rules.sustained_outage_min)
    o = o[keep]
    mins = ((end[keep].clip(upper=p.end) - o["start_at"]) / pd.Timedelta(minutes=1)).to_numpy()
    hit = np.zeros((len(o), n_g))
    t_idx, f_idx = lookup(o["device_id"], tx), lookup(o["device_id"], fd)
    hit[t_idx >= 0] = per_tx[t_idx[t_idx >= 0]]
    hit[f_idx >= 0] = per_fd[f_idx[f_idx >= 0]]
    interrupted = hit.sum(axis=0)
    customer_minutes = (hit * mins[:, None]).sum(axis=0)
    # key customers with enough visits in the 12 months / 3 months
    v = area.visits
    vc = lookup(v["customer_id"], c.index)
    home = (v["kind"] == "home").to_numpy() & (v["at"] >= p.end - pd.DateOffset(months=12)).to_numpy()
    phone = (v["kind"] == "phone").to_numpy() & (v["at"] >= p.end - pd.DateOffset(months=3)).to_numpy()
    n_home = np.bincount(vc[home & (vc >= 0)], minlength=len(c))
    n_phone = np.bincount(vc[phone & (vc >= 0)], minlength=len(c))
    key = c["key_customer"].fillna(False).to_numpy(dtype=bool) & in_grid
    covered = np.bincount(c_grid[key], weights=(n_home[key] >= 2) & (n_phone[key] >= 1), minlength=n_g)
    return {"customers": customers, "by_kind": by_kind, "on_time": on_time, "interrupted": interrupted,
            "customer_minutes": customer_minutes, "covered": covered}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--period", default="2026-11")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rules = Rules()

    area, _, built = demo_area(args.customers, as_of=None)
    print(f"demo area: {len(area.customers):,} customers, {len(area.transformers):,} transformers, "
          f"{len(area.energy_readings):,} energy readings, {len(area.work_orders):,} work orders, "
          f"{len(area.outages):,} outages ({built:.1f} s to build and derive)")
    t = time.perf_counter()
    network_of(area)
    print(f"topology trace index (built once, cached on the area): {time.perf_counter() - t:.2f} s")
    as_of = month(args.period).end

    t_base_loss, base = best_of(lambda: baseline_loss(area, args.period, rules), args.repeat)
    t_loss, loss = best_of(lambda: line_loss(area, args.period, rules=rules), args.repeat)
    assert np.allclose(loss["sales_kwh"].to_numpy(), base["sales"])  # type: ignore[index]
    assert np.allclose(np.nan_to_num(loss["supply_kwh"].to_numpy()), base["supply"])  # type: ignore[index]
    t_base_kpi, bk = best_of(lambda: baseline_kpis(area, args.period, rules), args.repeat)
    t_kpi, k = best_of(lambda: kpis(area, args.period, by="grid", rules=rules, as_of=as_of), args.repeat)
    t_station, _ = best_of(lambda: kpis(area, args.period, by="station", rules=rules, as_of=as_of), args.repeat)
    assert (k["customers"].to_numpy() == bk["customers"]).all()  # type: ignore[index]
    print(f"\nline loss {args.period} (12 months of readings, streaks):")
    print(f"  numpy bincount baseline {t_base_loss:7.2f} s")
    print(f"  gridservice line_loss   {t_loss:7.2f} s   ratio {t_loss / t_base_loss:.2f}x")
    print(f"\nmonthly KPIs per grid {args.period} (ours includes the line loss):")
    print(f"  numpy bincount baseline (KPI sums + loss sums) {t_base_kpi + t_base_loss:7.2f} s")
    print(f"  gridservice kpis(by=grid)                      {t_kpi:7.2f} s   ratio "
          f"{t_kpi / (t_base_kpi + t_base_loss):.2f}x")
    print(f"  gridservice kpis(by=station)                   {t_station:7.2f} s   ratio "
          f"{t_station / (t_base_kpi + t_base_loss):.2f}x")
    worst = max(t_loss / t_base_loss, t_kpi / (t_base_kpi + t_base_loss))
    print(f"\ntarget: within 3x of the baseline — {'met' if worst <= 3 else 'NOT met'} (worst {worst:.2f}x)")


if __name__ == "__main__":
    main()
