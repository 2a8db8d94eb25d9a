"""The indicators a supervisor watches (指标监测), declared in one place, and their values per level.

Each :class:`Indicator` names where its value comes from, its unit and which
way is worse. Its yellow and red thresholds per level (county, station, grid)
are rules: ``Rules.warning_thresholds`` (config), so a utility overrides them
without touching code; an indicator or a level missing there is not
monitored.

=========================  =====================  ==========  ============================================
indicator                  中文                    worse       value (a month, per unit)
=========================  =====================  ==========  ============================================
``repair_on_time_pct``     故障报修到达及时率        lower       :func:`~gridservice.metrics.kpi.kpis`
``non_repair_on_time_pct`` 非抢修工单办结及时率      lower       :func:`~gridservice.metrics.kpi.kpis`
``complaints_per_10k``     万户投诉量                higher      :func:`~gridservice.metrics.kpi.kpis`
``saidi_min``              户均停电时间              higher      :mod:`~gridservice.metrics.reliability`
``saifi``                  户均停电次数              higher      :mod:`~gridservice.metrics.reliability`
``rs1_pct``                供电可靠率 RS-1           lower       :mod:`~gridservice.metrics.reliability`
``high_loss_share_pct``    高损台区占比              higher      high-loss 台区 / 台区 with a computable loss
                                                               (normal, high, negative), :mod:`.lineloss`
``applications_over_time`` 业扩超时限件数            higher      applications flagged ``over_time`` by the
                                                               :func:`~gridservice.metrics.applications.monitor`
``visit_coverage_pct``     重点客户走访覆盖率        lower       :func:`~gridservice.metrics.kpi.kpis`
=========================  =====================  ==========  ============================================

The county is the whole service area (``kpis(by="area")``); its unit id is
the area's ``service_area_id`` (``all`` when the area has none). Station and
county values are computed from the underlying counts, as the KPIs are, not
by averaging grid rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import DataError
from gridservice.events.links import meter_transformer_positions
from gridservice.events.work_orders import sla_status
from gridservice.metrics.applications import monitor
from gridservice.metrics.kpi import visit_covered
from gridservice.metrics.lineloss import period_loss, readings_history
from gridservice.metrics.period import Period, as_period
from gridservice.metrics.reliability import outage_impacts, served_customers
from gridservice.metrics.units import unit_index, unit_names
from gridservice.model import ServiceArea
from gridservice.schema import WARNING_LEVELS


@dataclass(frozen=True)
class Indicator:
    """One monitored indicator: its name (the column of :func:`indicator_values`), Chinese title, unit and
    which way is worse (``higher``: a value at or above a threshold crosses it; ``lower``: at or below)."""

    name: str
    title_zh: str
    unit: str
    worse: Literal["higher", "lower"]
    source: str


#: The catalogue, in the order tables list it.
INDICATORS: dict[str, Indicator] = {i.name: i for i in (
    Indicator("repair_on_time_pct", "故障报修到达及时率", "%", "lower", "kpi"),
    Indicator("non_repair_on_time_pct", "非抢修工单办结及时率", "%", "lower", "kpi"),
    Indicator("complaints_per_10k", "万户投诉量", "件/万户", "higher", "kpi"),
    Indicator("saidi_min", "户均停电时间", "min", "higher", "reliability"),
    Indicator("saifi", "户均停电次数", "次/户", "higher", "reliability"),
    Indicator("rs1_pct", "供电可靠率", "%", "lower", "reliability"),
    Indicator("high_loss_share_pct", "高损台区占比", "%", "higher", "lineloss"),
    Indicator("applications_over_time", "业扩超时限件数", "件", "higher", "applications"),
    Indicator("visit_coverage_pct", "重点客户走访覆盖率", "%", "lower", "visits"),
)}

#: The KPI grouping of each warning level.
LEVEL_BY = {"county": "area", "station": "station", "grid": "grid"}


def county_id(area: ServiceArea) -> str:
    """The unit id of the county level: the area's ``service_area_id``, or ``all``."""
    return str(area.service_area.index[0]) if len(area.service_area) else "all"


def thresholds(rules: Rules = DEFAULT_RULES) -> pd.DataFrame:
    """The monitored (indicator, level) pairs with their ``yellow`` and ``red`` thresholds, unit and direction.

    Raises
    ------
    DataError
        An unknown indicator or level, or a red threshold milder than the yellow one.
    """
    rows = []
    for name, levels in rules.warning_thresholds.items():
        if name not in INDICATORS:
            msg = f"warning_thresholds: unknown indicator {name!r} (known: {', '.join(INDICATORS)})"
            raise DataError(msg)
        ind = INDICATORS[name]
        for level, (yellow, red) in levels.items():
            if level not in WARNING_LEVELS:
                msg = f"warning_thresholds.{name}: unknown level {level!r} (use {', '.join(WARNING_LEVELS)})"
                raise DataError(msg)
            if (red < yellow) if ind.worse == "higher" else (red > yellow):
                msg = (f"warning_thresholds.{name}.{level}: red {red:g} is milder than yellow {yellow:g} "
                       f"({ind.worse} is worse)")
                raise DataError(msg)
            rows.append((name, level, float(yellow), float(red), ind.unit, ind.worse, ind.title_zh))
    cols = ["indicator", "level", "yellow", "red", "unit", "worse", "title_zh"]
    return pd.DataFrame(rows, columns=cols)


def judged_at(area: ServiceArea, period: Period) -> pd.Timestamp:
    """When a month's on-time clocks are judged: its end, or the data's ``as_of`` if that comes first."""
    return min(period.end, area.as_of)


def indicator_values(
    area: ServiceArea, period: Period | str, *, rules: Rules = DEFAULT_RULES, as_of: object | None = None,
    levels: tuple[str, ...] = WARNING_LEVELS,
) -> dict[str, pd.DataFrame]:
    """Every indicator per unit of each level for a period.

    The per-record judgements come from the modules that own them (the SLA
    clocks, outage impacts, the visit norm, line loss, the 业扩 monitor), made
    once; their counts are summed per grid and the grids' sums per station and
    for the county, and each indicator is a ratio of those sums — the figures
    :func:`~gridservice.metrics.kpi.kpis` gives per unit (tests hold them equal)
    without judging every record again per level. Records outside every grid
    count for the county only.

    Returns
    -------
    dict of str to DataFrame
        Level → a frame indexed by ``unit_id`` with ``unit_name`` and one
        float column per indicator of :data:`INDICATORS` (NaN where the unit
        has nothing to measure, e.g. no repair orders).
    """
    period = as_period(period)
    as_of = judged_at(area, period) if as_of is None else as_of
    sums = _grid_sums(area, period, rules=rules, as_of=as_of)
    out: dict[str, pd.DataFrame] = {}
    for level in levels:
        if level == "grid":
            ids = pd.Index(area.grids.index.astype("str"))
            table, names = sums.reindex(ids, fill_value=0), area.grids["name"].reindex(ids)
        elif level == "station":
            ids = unit_index(area, "station")
            owner = pd.Series(area.grids["station_id"].reindex(sums.index).to_numpy(), index=sums.index)
            table = sums.groupby(owner.to_numpy()).sum().reindex(ids, fill_value=0)
            names = unit_names(area, "station")
        else:
            ids = pd.Index([county_id(area)])
            table, names = sums.sum().to_frame(ids[0]).T, pd.Series([area.name], index=ids)
        frame = _ratios(table, hours=period.hours)
        frame.index = pd.Index(ids.astype("str"), name="unit_id")
        frame.insert(0, "unit_name", pd.Series(names.to_numpy(), index=frame.index, dtype="str"))
        out[level] = frame
    return out


def _grid_sums(area: ServiceArea, period: Period, *, rules: Rules, as_of: object) -> pd.DataFrame:
    """Per grid (and ``""`` for records outside every grid): the counts the indicators are ratios of."""
    grids = pd.Index(area.grids.index.astype("str"))

    def per_grid(grid_ids: pd.Series | np.ndarray, weights: np.ndarray | None = None) -> pd.Series:
        g = pd.Series(np.asarray(grid_ids, dtype=object)).astype("str")
        g = g.where(g.isin(grids), "")
        w = np.ones(len(g)) if weights is None else np.asarray(weights, dtype="float64")
        return pd.Series(w).groupby(g.to_numpy()).sum()

    cols: dict[str, pd.Series] = {}
    served = served_customers(area, period)
    cols["customers"] = per_grid(served["grid_id"])
    wo = area.work_orders
    orders = wo[period.contains(wo["received_at"]).to_numpy()]
    sla = sla_status(area, orders, rules=rules, as_of=as_of)
    for flag, name in (("arrival_on_time", "repair"), ("close_on_time", "non_repair")):
        judged = sla[flag].notna().to_numpy()
        cols[f"{name}_judged"] = per_grid(orders["grid_id"][judged])
        cols[f"{name}_on_time"] = per_grid(orders["grid_id"][judged], sla[flag][judged].to_numpy(dtype=bool))
    cols["complaints"] = per_grid(orders["grid_id"][(orders["kind"] == "complaint").to_numpy()])
    imp = outage_impacts(area, period, rules=rules, as_of=as_of)
    counted = imp["counted"].to_numpy(dtype=bool)
    cols["customers_interrupted"] = per_grid(imp["grid_id"][counted], imp["customers"].to_numpy()[counted])
    cols["customer_minutes"] = per_grid(imp["grid_id"], imp["customer_minutes"].to_numpy())
    key = area.customers["key_customer"].reindex(served.index).fillna(False).astype(bool).to_numpy()
    key_ids = served.index[key]
    covered = visit_covered(area, period, rules=rules, customers=key_ids).to_numpy(dtype=bool)
    cols["key_customers"] = per_grid(served["grid_id"][key])
    cols["key_covered"] = per_grid(served["grid_id"][key], covered)
    loss = _month_loss(area, period, rules=rules)
    tx_grid = area.transformers["grid_id"].reindex(loss.index)
    klass = loss["class"].to_numpy()
    computable = np.isin(klass, ("normal", "high", "negative"))
    cols["loss_computable"] = per_grid(tx_grid[computable])
    cols["loss_high"] = per_grid(tx_grid[klass == "high"])
    flags = monitor(area, period, as_of=as_of, rules=rules)
    late = flags[flags["flag"] == "over_time"].drop_duplicates("application_id")
    cols["applications_over_time"] = per_grid(late["grid_id"])
    return pd.DataFrame(cols).fillna(0.0)


def _month_loss(area: ServiceArea, period: Period, *, rules: Rules) -> pd.DataFrame:
    """Line loss class of every transformer area for the period's months, from their readings only (a month's
    judgement needs no earlier month, so the year of readings is not summed for it)."""
    r = area.energy_readings
    months = period.months
    wanted = r["period"].astype("str").str.slice(0, 7).isin(months).to_numpy()
    history = readings_history(r[wanted], pd.Index(area.transformers.index.astype("str")),
                               pd.Index(area.meters.index.astype("str")), meter_transformer_positions(area),
                               until=months[-1], months=len(months))
    return period_loss(history, months, rules=rules)


def _ratios(t: pd.DataFrame, *, hours: float) -> pd.DataFrame:
    """The indicators from the summed counts (the KPI formulas, :mod:`.kpi` and :mod:`.reliability`)."""

    def share(part: str, whole: str) -> pd.Series:
        return t[part] / t[whole].where(t[whole] > 0) * 100

    customers = t["customers"].where(t["customers"] > 0)
    out = pd.DataFrame(index=t.index)
    out["repair_on_time_pct"] = share("repair_on_time", "repair_judged")
    out["non_repair_on_time_pct"] = share("non_repair_on_time", "non_repair_judged")
    out["complaints_per_10k"] = t["complaints"] / customers * 10_000
    out["saidi_min"] = t["customer_minutes"] / customers
    out["saifi"] = t["customers_interrupted"] / customers
    out["rs1_pct"] = (1 - (t["customer_minutes"] / 60) / (customers * hours)) * 100
    out["high_loss_share_pct"] = share("loss_high", "loss_computable")
    out["applications_over_time"] = t["applications_over_time"].astype("float64")
    out["visit_coverage_pct"] = share("key_covered", "key_customers")
    return out.astype("float64")[list(INDICATORS)]


__all__ = ["INDICATORS", "LEVEL_BY", "Indicator", "county_id", "indicator_values", "judged_at", "thresholds"]
