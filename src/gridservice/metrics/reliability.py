"""Supply reliability per grid, station or area (IEEE 1366; 供电可靠性).

For a period and a unit with ``N`` customers served (customers located in it
and connected by the period's end):

* SAIFI = Σ customers interrupted / N
* SAIDI (min) = Σ customer-minutes interrupted / N
* CAIDI (min) = SAIDI / SAIFI
* RS-1 (%) = (1 − customer-hours interrupted / (N × hours in period)) × 100

Customers interrupted by an outage are the customers below its device in the
topology trace (:func:`gridservice.events.links.customers_of_devices`),
counted in the unit where each customer is. Only sustained interruptions
count: an outage lasting ``Rules.sustained_outage_min`` (5 min) or less is
momentary (IEEE 1366: sustained means *more than* five minutes). The headline
figures count planned and unplanned interruptions together; ``_planned`` and
``_unplanned`` columns give the split.

Periods: an interruption is counted (SAIFI) in the period in which it
starts, as IEEE 1366 does, so an outage across midnight at a month's end is
not counted twice; its minutes (SAIDI, RS-1) are clipped to each period. An
outage not yet ended runs until ``as_of`` (default: now).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridservice.clock import timestamp
from gridservice.config import DEFAULT_RULES, Rules
from gridservice.events.links import customer_positions_of_devices
from gridservice.metrics.period import Period, as_period
from gridservice.metrics.units import check_by, unit_index, units_of
from gridservice.model import ServiceArea

SPLITS = ("", "_planned", "_unplanned")


def served_customers(area: ServiceArea, period: Period) -> pd.DataFrame:
    """Customers connected by the period's end, with their ``grid_id``."""
    c = area.customers
    grid = c["grid_id"]
    connected = c["connected_at"].isna() | (c["connected_at"] < period.end)
    return pd.DataFrame({"grid_id": grid[connected]}, index=c.index[connected.to_numpy()])


def outage_impacts(
    area: ServiceArea,
    period: Period | str,
    *,
    rules: Rules = DEFAULT_RULES,
    as_of: object | None = None,
) -> pd.DataFrame:
    """Each sustained outage touching the period, per grid it cuts off.

    Returns
    -------
    pandas.DataFrame
        One row per (outage, grid): ``outage_id``, ``kind``, ``grid_id``,
        ``customers`` (interrupted in that grid), ``minutes`` (duration
        clipped to the period), ``counted`` (starts in the period),
        ``customer_minutes``.
    """
    period = as_period(period)
    o = area.outages
    if not len(o):
        return _empty_impacts()
    now = timestamp(as_of if as_of is not None else area.as_of, what="as_of")
    start = o["start_at"]
    end = o["end_at"].fillna(now)
    duration = (end - start) / pd.Timedelta(minutes=1)
    keep = (duration > rules.sustained_outage_min) & (start < period.end) & (end > period.start)
    o = o[keep.to_numpy()]
    if not len(o):
        return _empty_impacts()
    clipped_start = o["start_at"].clip(lower=period.start)
    clipped_end = end[keep.to_numpy()].clip(upper=period.end)
    minutes = ((clipped_end - clipped_start) / pd.Timedelta(minutes=1)).clip(lower=0)
    events = pd.DataFrame({
        "outage_id": o.index.astype("str"), "device_id": o["device_id"].astype("str").to_numpy(),
        "kind": o["kind"].astype("str").to_numpy(), "minutes": minutes.to_numpy(),
        "counted": period.contains(o["start_at"]).to_numpy(),
    })
    # Customers cut off per (device, grid), counting only customers served in the period.
    c = area.customers
    grid = c["grid_id"]
    served = (c["connected_at"].isna() | (c["connected_at"] < period.end)).to_numpy()
    # Customers outside every grid keep a code of their own: they count for the whole area.
    grid_code, grid_labels = pd.factorize(grid, use_na_sentinel=False)
    devices, dev, cust = customer_positions_of_devices(area, events["device_id"].unique())
    keep = served[cust]
    n_g = len(grid_labels)
    counts = np.bincount(dev[keep] * n_g + grid_code[cust[keep]], minlength=len(devices) * n_g)
    hit = np.flatnonzero(counts)
    per_grid = pd.DataFrame({
        "device_id": pd.Series(devices.to_numpy()[hit // max(n_g, 1)], dtype="str"),
        "grid_id": pd.Series(np.asarray(grid_labels, dtype=object)[hit % max(n_g, 1)], dtype="str"),
        "customers": counts[hit],
    })
    out = events.merge(per_grid, on="device_id", how="inner")
    out["customer_minutes"] = out["customers"] * out["minutes"]
    return out[list(_IMPACT_COLUMNS)].astype(_IMPACT_COLUMNS)


_IMPACT_COLUMNS = {"outage_id": "str", "kind": "str", "grid_id": "str", "customers": "int64", "minutes": "float64",
                   "counted": "bool", "customer_minutes": "float64"}


def _empty_impacts() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _IMPACT_COLUMNS.items()})


def reliability(
    area: ServiceArea,
    period: Period | str,
    *,
    by: str = "grid",
    rules: Rules = DEFAULT_RULES,
    as_of: object | None = None,
) -> pd.DataFrame:
    """SAIFI, SAIDI, CAIDI and RS-1 per unit for a period (see the module doc).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``grid_id`` / ``station_id`` / ``area``: ``customers_served``,
        ``outages`` (sustained outages starting in the period that cut off
        customers of the unit), ``customers_interrupted``,
        ``customer_minutes``, ``saifi``, ``saidi_min``, ``caidi_min``,
        ``rs1_pct``, each with ``_planned`` and ``_unplanned`` beside it.
    """
    period = as_period(period)
    key = check_by(by)
    index = unit_index(area, by)
    served = served_customers(area, period)
    n = units_of(area, served["grid_id"], by).value_counts().reindex(index, fill_value=0).astype("int64")
    imp = outage_impacts(area, period, rules=rules, as_of=as_of)
    imp["unit"] = units_of(area, imp["grid_id"], by).to_numpy() if len(imp) else pd.Series(dtype="str")
    out = pd.DataFrame(index=index)
    out["customers_served"] = n
    hours = period.hours
    denominator = n.astype("float64").where(n > 0)
    for suffix in SPLITS:
        part = imp if not suffix else imp.loc[(imp["kind"] == suffix[1:]).to_numpy(dtype=bool)]
        counted = part.loc[part["counted"].to_numpy(dtype=bool)]
        out[f"outages{suffix}"] = counted.groupby("unit")["outage_id"].nunique().reindex(index, fill_value=0).astype(
            "int64")
        ci = counted.groupby("unit")["customers"].sum().reindex(index, fill_value=0).astype("int64")
        cmi = part.groupby("unit")["customer_minutes"].sum().reindex(index, fill_value=0.0).astype("float64")
        out[f"customers_interrupted{suffix}"] = ci
        out[f"customer_minutes{suffix}"] = cmi
        saifi = ci / denominator
        saidi = cmi / denominator
        out[f"saifi{suffix}"] = saifi
        out[f"saidi_min{suffix}"] = saidi
        out[f"caidi_min{suffix}"] = (saidi / saifi).where(saifi > 0)
        out[f"rs1_pct{suffix}"] = (1 - (cmi / 60) / (denominator * hours)) * 100
    out.index.name = key
    return out


__all__ = ["outage_impacts", "reliability", "served_customers"]
