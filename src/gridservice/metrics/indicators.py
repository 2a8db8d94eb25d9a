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

import pandas as pd

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import DataError
from gridservice.metrics.applications import monitor, monitor_summary
from gridservice.metrics.kpi import kpis
from gridservice.metrics.lineloss import line_loss
from gridservice.metrics.period import Period, as_period
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

    Returns
    -------
    dict of str to DataFrame
        Level → a frame indexed by ``unit_id`` with ``unit_name`` and one
        float column per indicator of :data:`INDICATORS` (NaN where the unit
        has nothing to measure, e.g. no repair orders).
    """
    period = as_period(period)
    as_of = judged_at(area, period) if as_of is None else as_of
    loss = line_loss(area, period, rules=rules)
    flags = monitor(area, period, as_of=as_of, rules=rules)
    late = flags[flags["flag"] == "over_time"]
    out: dict[str, pd.DataFrame] = {}
    for level in levels:
        k = kpis(area, period, by=LEVEL_BY[level], rules=rules, as_of=as_of, loss=loss)
        if level == "county":
            k.index = pd.Index([county_id(area)])
        table = pd.DataFrame(index=pd.Index(k.index.astype("str"), name="unit_id"))
        table["unit_name"] = k["name"].to_numpy()
        for name in ("repair_on_time_pct", "non_repair_on_time_pct", "complaints_per_10k", "saidi_min", "saifi",
                     "rs1_pct", "visit_coverage_pct"):
            table[name] = k[name].to_numpy(dtype="float64")
        computable = (k["loss_normal"] + k["loss_high"] + k["loss_negative"]).to_numpy()
        with_loss = pd.Series(computable, index=table.index).where(computable > 0)
        table["high_loss_share_pct"] = k["loss_high"].to_numpy() / with_loss * 100
        summary = monitor_summary(area, late, by=level)["over_time"]
        if level == "county":
            summary.index = pd.Index([county_id(area)] * len(summary))
        table["applications_over_time"] = summary.reindex(table.index, fill_value=0).astype("float64")
        out[level] = table[["unit_name", *INDICATORS]]
    return out


__all__ = ["INDICATORS", "LEVEL_BY", "Indicator", "county_id", "indicator_values", "judged_at", "thresholds"]
