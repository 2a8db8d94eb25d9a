"""The weekly / monthly service report: an Excel workbook and an HTML page.

:func:`build_report` gathers the tables a supervisor reads — an overview,
KPIs per grid and per station, the grid ranking, a 12-month trend, line loss
per transformer area and the audit findings — and :func:`write_report`
writes them as

* ``<label>-report.xlsx``: one sheet per table, Chinese headers (openpyxl);
* ``<label>-report.html``: one self-contained page (no CDN, no script) with
  the trend charts and the ranking drawn as inline SVG.

Grid ranking: each grid gets, for six measures, its percentile rank among
grids (1 = best): repair arrivals on time and non-repair orders on time
(higher is better), complaints per 10,000 customers, SAIDI and the share of
anomalous (high or negative loss) transformer areas (lower is better), and
visit coverage (higher is better). A measure a grid lacks counts as the
middle (0.5). ``score`` is the mean × 100; rank 1 has the highest score.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.events.roster import roster_findings
from gridservice.metrics.applications import FLAGS, monitor, monitor_summary
from gridservice.metrics.audit import audit, findings_by_grid, rules_table
from gridservice.metrics.kpi import kpis
from gridservice.metrics.lineloss import line_loss, loss_history
from gridservice.metrics.period import Period, as_period, month
from gridservice.metrics.stars import MEASURES_ZH, stars
from gridservice.metrics.theft import RULES_ZH, rule_precision, suspects
from gridservice.metrics.visits import REASONS_ZH as VISIT_ZH
from gridservice.metrics.visits import due_visits, judged_at
from gridservice.metrics.warnings import listing
from gridservice.model import ServiceArea
from gridservice.privacy import mask_phones_in_text
from gridservice.webfont import font_face_css

#: Chinese column headers of the report's tables.
LABELS_ZH: dict[str, str] = {
    "grid_id": "网格编号", "station_id": "供电所编号", "area": "区域", "name": "名称", "area_class": "网格类型",
    "customers": "客户数", "grid_members": "网格员数", "households_per_member": "人均服务户数",
    "work_orders": "工单总数", "work_orders_repair": "故障报修", "work_orders_complaint": "投诉",
    "work_orders_report": "举报", "work_orders_opinion": "意见", "work_orders_consultation": "咨询",
    "work_orders_service_request": "业务申请", "complaints_per_10k": "万户投诉量",
    "repair_on_time_pct": "抢修到达及时率(%)", "non_repair_on_time_pct": "非抢修工单按时办结率(%)",
    "contact_on_time_pct": "24小时联系率(%)", "first_contact_resolution_pct": "一次解决率(%)",
    "repeat_complaints": "重复投诉", "outages": "停电次数", "outages_planned": "计划停电次数",
    "outages_unplanned": "故障停电次数", "saifi": "SAIFI(次/户)", "saifi_planned": "SAIFI计划",
    "saifi_unplanned": "SAIFI故障", "saidi_min": "SAIDI(分钟/户)", "saidi_min_planned": "SAIDI计划(分钟)",
    "saidi_min_unplanned": "SAIDI故障(分钟)", "caidi_min": "CAIDI(分钟)", "caidi_min_planned": "CAIDI计划(分钟)",
    "caidi_min_unplanned": "CAIDI故障(分钟)", "rs1_pct": "供电可靠率RS-1(%)", "rs1_pct_planned": "RS-1计划(%)",
    "rs1_pct_unplanned": "RS-1故障(%)", "loss_normal": "线损正常台区", "loss_high": "高损台区",
    "loss_negative": "负损台区", "loss_not_computable": "线损不可算台区", "loss_out_of_service": "停运台区",
    "key_customers": "重要客户数", "visit_coverage_pct": "走访覆盖率(%)",
    "transformer_id": "台区编号", "period": "统计期", "supply_kwh": "供电量(kWh)", "sales_kwh": "售电量(kWh)",
    "loss_kwh": "损失电量(kWh)", "loss_pct": "线损率(%)", "class": "线损分类", "streak_months": "连续异常月数",
    "likely_cause": "可能原因(英)", "likely_cause_zh": "可能原因", "meters": "电能表数", "meters_read": "已抄表数",
    "staff_id": "责任人编号", "staff_name": "责任人",
    "check": "稽查规则", "severity": "严重程度", "layer": "数据层", "feature_id": "对象编号", "message": "问题描述",
    "rule_zh": "规则说明", "total": "合计", "rank": "排名", "score": "综合得分",
    "anomalous_loss_pct": "异常线损台区占比(%)", "metric": "指标", "value": "数值",
    "application_id": "业扩编号", "flag_zh": "问题", "step": "环节", "voltage": "电压等级", "category": "客户类别",
    "at": "办理时间", "due_at": "时限", "detail": "说明", "applications_flagged": "问题业扩数",
    "meter_id": "电能表编号", "customer_id": "客户编号", "rules_zh": "异常规则", "baseline_kwh": "基准月电量(kWh)",
    "recent_kwh": "近期月均电量(kWh)", "missing_kwh": "少计电量(kWh)", "rule": "规则", "checked": "已检查",
    "theft": "查实窃电", "metering_fault": "计量故障", "no_fault": "无异常", "precision": "准确率",
    "date": "日期（周）",
    "overdue_visits": "逾期走访数", "kind": "走访方式", "reason_zh": "走访事由", "overdue_days": "逾期天数",
    "warning_id": "预警编号", "severity_zh": "预警等级", "level_zh": "层级", "unit_id": "单位编号",
    "title_zh": "指标", "threshold": "阈值", "unit": "单位", "last_period": "最近月份", "red_months": "连续红色月数",
    "escalated_zh": "约谈", "raised_at": "预警时间",
    "star_zh": "服务之星", "grids": "负责网格", "week": "周", "method": "计分方法",
    **{m: zh for m, zh in MEASURES_ZH.items()},
    **{f: zh for f, zh in FLAGS.items()},
}

CLASS_ZH = {"normal": "正常", "high": "高损", "negative": "负损", "not_computable": "不可算",
            "out_of_service": "停运"}
SEVERITY_ZH = {"error": "错误", "warning": "警告"}

#: Measures of the grid ranking: column → True when higher is better.
RANKING: dict[str, bool] = {
    "repair_on_time_pct": True,
    "non_repair_on_time_pct": True,
    "complaints_per_10k": False,
    "saidi_min": False,
    "anomalous_loss_pct": False,
    "visit_coverage_pct": True,
}

#: Decimals a figure is shown with, by the first key its column name contains; a column
#: listed nowhere holds counts (customers, orders, outages, areas, findings), shown whole.
DECIMALS: tuple[tuple[str, int], ...] = (
    ("rs1_pct", 4),  # 供电可靠率 is quoted to four decimals: 99.9731 %
    ("saifi", 3),
    ("loss_pct", 2),
    ("per_10k", 2),
    ("_pct", 1),
    ("_min", 1),
    ("score", 1),
    ("households_per_member", 0),
    ("_kwh", 0),
)

#: The overview's index: the measure of each row, which sets how its value is shown.
MEASURE = "measure"

TREND_CHARTS: tuple[tuple[str, str], ...] = (
    ("complaints_per_10k", "万户投诉量"),
    ("repair_on_time_pct", "抢修到达及时率 (%)"),
    ("non_repair_on_time_pct", "非抢修工单按时办结率 (%)"),
    ("saidi_min", "SAIDI (分钟/户)"),
    ("rs1_pct", "供电可靠率 RS-1 (%)"),
    ("anomalous_transformers", "高损+负损台区数"),
)


@dataclass
class Report:
    """The report's content: tables by sheet name (Chinese), plus what the charts draw."""

    title: str
    period: Period
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    trend: pd.DataFrame = field(default_factory=pd.DataFrame)
    ranking: pd.DataFrame = field(default_factory=pd.DataFrame)


def grid_ranking(grid_kpis: pd.DataFrame) -> pd.DataFrame:
    """Rank grids by the measures of :data:`RANKING` (see the module doc)."""
    k = grid_kpis.copy()
    tx = k[[c for c in k.columns if c.startswith("loss_")]].sum(axis=1)
    k["anomalous_loss_pct"] = ((k["loss_high"] + k["loss_negative"]) / tx.where(tx > 0) * 100).astype("float64")
    parts = []
    for col, higher in RANKING.items():
        r = k[col].rank(pct=True, ascending=higher, method="average")
        parts.append(r.fillna(0.5))
    score = pd.concat(parts, axis=1).mean(axis=1) * 100 if len(k) else pd.Series(dtype="float64")
    out = k[["name", *RANKING]].copy()
    out.insert(0, "score", score.round(1))
    out = out.sort_values(["score", "name"], ascending=[False, True], kind="stable")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def monthly_trend(area: ServiceArea, period: Period | str, *, months: int = 12, rules: Rules = DEFAULT_RULES,
                  as_of: object | None = None) -> pd.DataFrame:
    """Area-wide KPIs for each of ``months`` months ending with the period's last month."""
    period = as_period(period)
    periods = period.previous_months(months)
    history = loss_history(area, until=periods[-1].label)
    rows = []
    for p in periods:
        loss = line_loss(area, p, rules=rules, history=history)
        row = kpis(area, p, by="area", rules=rules, as_of=as_of, loss=loss).iloc[0]
        rows.append(row.rename(p.label))
    trend = pd.DataFrame(rows)
    trend.index.name = "period"
    trend["anomalous_transformers"] = trend["loss_high"] + trend["loss_negative"]
    return trend.drop(columns=["name"])


def build_report(
    area: ServiceArea,
    period: Period | str,
    *,
    rules: Rules = DEFAULT_RULES,
    as_of: object | None = None,
    months: int = 12,
    masked: bool = False,
) -> Report:
    """Compute every table of the report for a period (a month, week or day).

    ``masked``: phone numbers in the findings masked, for readers without access to personal data.
    """
    period = as_period(period)
    loss_period: Period | str = period if period.whole_months else month(period.months[-1])
    loss = line_loss(area, loss_period, rules=rules)
    by_grid = kpis(area, period, by="grid", rules=rules, as_of=as_of, loss=loss if period.whole_months else None)
    by_station = kpis(area, period, by="station", rules=rules, as_of=as_of,
                      loss=loss if period.whole_months else None)
    overall = kpis(area, period, by="area", rules=rules, as_of=as_of, loss=loss if period.whole_months else None)
    trend = monthly_trend(area, period, months=months, rules=rules, as_of=as_of)
    ranking = grid_ranking(by_grid)
    found = audit(area, rules=rules, as_of=as_of, period=period.months[-1])
    catalogue = rules_table()
    found_table = pd.DataFrame(found.drop(columns="geometry"))
    if masked:
        found_table["message"] = mask_phones_in_text(found_table["message"])
    found_table["rule_zh"] = found_table["check"].map(catalogue["zh"])
    found_table["severity"] = found_table["severity"].map(SEVERITY_ZH).fillna(found_table["severity"])
    loss_table = loss.copy()
    loss_table["class"] = loss_table["class"].map(CLASS_ZH)
    order = loss["class"].map({"high": 0, "negative": 1, "not_computable": 2, "out_of_service": 3, "normal": 4})
    loss_table = loss_table.iloc[np.lexsort((-loss["streak_months"].to_numpy(), order.to_numpy()))]
    figures = overall.drop(columns=["name"]).iloc[0]
    overview = pd.DataFrame({
        "metric": [LABELS_ZH.get(k, k) for k in figures.index],
        "value": np.array([_plain_number(v, decimals(k)) for k, v in figures.items()], dtype=object),
    }, index=pd.Index(figures.index, name=MEASURE))
    flags = monitor(area, period, as_of=as_of, rules=rules)
    report = Report(title=f"{area.name} 供电服务报告 {period.label}", period=period, trend=trend, ranking=ranking)
    report.tables = {
        "概览": overview,
        "网格指标": by_grid.reset_index(),
        "供电所指标": by_station.reset_index(),
        "网格排名": ranking.reset_index(),
        "月度趋势": trend.reset_index(),
        "台区线损": loss_table.reset_index().drop(columns=["likely_cause"]),
        "稽查问题": found_table[["check", "rule_zh", "severity", "grid_id", "layer", "feature_id", "message"]],
        "稽查汇总": findings_by_grid(found).reset_index(),
        "业扩周通报": flags[["application_id", "flag_zh", "step", "staff_id", "grid_id", "station_id", "voltage",
                             "category", "at", "due_at", "detail"]],
        "业扩网格汇总": monitor_summary(area, flags, by="grid").reset_index(),
        "业扩办理人汇总": monitor_summary(area, flags, by="handler").reset_index(),
        "窃电嫌疑": _suspects_sheet(area, loss_period, rules),
        "异常规则准确率": rule_precision(area).assign(rule_zh=lambda t: t.index.map(RULES_ZH)).reset_index(),
        "排班覆盖": _roster_sheet(area, period, rules, catalogue),
        "逾期走访": _overdue_visits_sheet(area, period, rules, as_of),
        "指标预警": _warnings_sheet(area),
        "服务之星": _stars_sheet(area, period, rules),
    }
    return report


def _roster_sheet(area: ServiceArea, period: Period, rules: Rules, catalogue: pd.DataFrame) -> pd.DataFrame:
    """The period's roster gaps: grid-days without anyone on duty, members working more than six days a week."""
    last = (period.end - pd.Timedelta(milliseconds=1)).tz_localize(None).normalize()
    found = roster_findings(area, start=period.start.tz_localize(None), end=last, rules=rules)
    table = pd.DataFrame(found.drop(columns="geometry"))
    table["rule_zh"] = table["check"].map(catalogue["zh"])
    table["station_id"] = table["grid_id"].map(area.grids["station_id"])
    return table[["check", "rule_zh", "station_id", "grid_id", "feature_id", "date", "message"]]


def _stars_sheet(area: ServiceArea, period: Period, rules: Rules) -> pd.DataFrame:
    """The week's service stars (the report's week, or the last ISO week of a longer period); the formula in
    the ``method`` column (docs/stars.md)."""
    last = (period.end - pd.Timedelta(milliseconds=1)).isocalendar()
    week = period.label if "-W" in period.label else f"{last.year:04d}-W{last.week:02d}"
    table = stars(area, week, rules=rules)
    table["star_zh"] = table["star"].map({True: "★ 服务之星", False: ""})
    return table[["rank", "star_zh", "staff_id", "name", "grids", "orders_handled", "on_time_pct", "visits",
                  "complaints", "open_warnings", "score"]].assign(week=week, method=table.attrs["method"])


def _warnings_sheet(area: ServiceArea) -> pd.DataFrame:
    """The open indicator warnings (docs/warnings.md), red first, with the escalated ones marked 约谈."""
    table = listing(area.warnings, open_only=True)
    table["severity_zh"] = table["severity"].map({"red": "红色", "yellow": "黄色"})
    table["level_zh"] = table["level"].map({"county": "县公司", "station": "供电所", "grid": "网格"})
    table["escalated_zh"] = table["escalated"].map({True: "约谈", False: ""})
    table = table.sort_values("severity", key=lambda s: s.map({"red": 0, "yellow": 1}), kind="stable")
    return table[["warning_id", "severity_zh", "level_zh", "unit_id", "title_zh", "value", "threshold", "unit",
                  "period", "last_period", "red_months", "escalated_zh", "raised_at"]]


def _suspects_sheet(area: ServiceArea, period: Period | str, rules: Rules) -> pd.DataFrame:
    """The ranked theft and metering suspects of the high-loss transformer areas, rules in Chinese."""
    table = suspects(area, period, rules=rules)
    named = table["rules"].astype("str")
    for rule, zh in RULES_ZH.items():
        named = named.str.replace(rule, zh, regex=False)
    return table.assign(rules_zh=named.str.replace(",", "、", regex=False))[[
        "transformer_id", "rank", "meter_id", "customer_id", "grid_id", "staff_id", "staff_name", "loss_pct",
        "rules_zh", "score", "baseline_kwh", "recent_kwh", "missing_kwh"]]


def _overdue_visits_sheet(area: ServiceArea, period: Period, rules: Rules, as_of: object | None) -> pd.DataFrame:
    """Visits past due at the period's end (or ``as_of`` if earlier), by member: who, whom, why, how late."""
    due = due_visits(area, rules=rules, as_of=min(period.end, judged_at(area, as_of)))
    late = due[due["overdue"].to_numpy()].sort_values(["staff_id", "due_at"], kind="stable", na_position="first")
    late = late.assign(staff_name=late["staff_id"].map(area.staff["name"]), reason_zh=late["reason"].map(VISIT_ZH),
                       kind=late["kind"].map({"home": "上门走访", "phone": "电话回访"}))
    return late[["staff_id", "staff_name", "grid_id", "customer_id", "kind", "reason_zh", "due_at", "overdue_days",
                 "detail"]].reset_index(drop=True)


def decimals(column: str) -> int:
    """Decimals a figure of ``column`` is shown with in the report (see :data:`DECIMALS`)."""
    return next((n for key, n in DECIMALS if key in column), 0)


def number_text(value: object, places: int) -> str:
    """A figure as the report shows it: grouped thousands, ``places`` decimals, empty when missing.

    >>> number_text(30000.0, 0), number_text(612.2449, 1), number_text(99.97312, 4)
    ('30,000', '612.2', '99.9731')
    """
    if value is None or pd.isna(value):  # type: ignore[arg-type]
        return ""
    return f"{float(value):,.{places}f}"  # type: ignore[arg-type]


def _cell_decimals(df: pd.DataFrame) -> list[list[int | None]]:
    """The decimals of each cell of a report table, ``None`` for text: by its column's measure, or in
    the overview (indexed by :data:`MEASURE`) by its row's."""
    if df.index.name == MEASURE:
        return [[None if c != "value" else decimals(str(m)) for c in df.columns] for m in df.index]
    numeric = [None if pd.api.types.is_bool_dtype(df[c].dtype) or not pd.api.types.is_numeric_dtype(df[c].dtype)
               else decimals(str(c)) for c in df.columns]
    return [numeric] * len(df)


def _plain_number(value: object, places: int) -> object:
    """A figure rounded to ``places`` decimals, whole ones as int; a missing value as None."""
    if value is None or pd.isna(value):  # type: ignore[arg-type]
        return None
    v = round(float(value), places)  # type: ignore[arg-type]
    return int(v) if v.is_integer() else v


def _for_excel(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.DatetimeTZDtype):
            out[c] = out[c].dt.tz_localize(None)
        elif pd.api.types.is_float_dtype(out[c].dtype):
            out[c] = out[c].round(4)
    out.columns = [LABELS_ZH.get(str(c), str(c)) for c in out.columns]
    return out


def write_excel(report: Report, path: str | Path) -> Path:
    """One sheet per table, Chinese headers, frozen header row."""
    path = Path(path)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, table in report.tables.items():
            _for_excel(table).to_excel(writer, sheet_name=name[:31], index=False)
            sheet = writer.sheets[name[:31]]
            sheet.freeze_panes = "A2"
            for row, places in zip(sheet.iter_rows(min_row=2), _cell_decimals(table), strict=True):
                for cell, n in zip(row, places, strict=True):
                    if n is not None:
                        cell.number_format = "#,##0" + ("." + "0" * n if n else "")
            for i, col in enumerate(sheet.iter_cols(min_row=1, max_row=1), start=1):
                width = max(8, min(40, len(str(col[0].value)) * 2 + 2))
                sheet.column_dimensions[sheet.cell(row=1, column=i).column_letter].width = width
    return path


# -- inline SVG charts -----------------------------------------------------------


def _nice(v: float, span: float | None = None) -> str:
    """A number for an axis or a tooltip: as many decimals as the span between ticks needs."""
    scale = abs(span) if span else abs(v)
    decimals = 0 if scale >= 50 else 1 if scale >= 5 else 2 if scale >= 0.5 else 3
    text = f"{v:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def svg_line_chart(labels: Sequence[str], values: Sequence[float], *, title: str, width: int = 460,
                   height: int = 220) -> str:
    """A small line chart as an inline ``<svg>``; missing values leave gaps."""
    pad_l, pad_r, pad_t, pad_b = 56, 12, 28, 40
    vals = np.array([np.nan if v is None else float(v) for v in values], dtype="float64")
    finite = vals[np.isfinite(vals)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    span = hi - lo
    floor = 0.0 if lo >= 0 else -np.inf  # counts and rates never dip below zero on the axis
    lo, hi = max(lo - span * 0.08, floor), hi + span * 0.08
    n = len(labels)
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b

    def x(i: int) -> float:
        return pad_l + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return pad_t + plot_h * (1 - (v - lo) / (hi - lo))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="{pad_l}" y="18" class="t">{html.escape(title)}</text>']
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="g"/>'
                     f'<text x="{pad_l - 6}" y="{y(v) + 4:.1f}" class="a" text-anchor="end">'
                     f'{_nice(v, (hi - lo) / 4)}</text>')
    step = max(1, n // 6)
    for i in range(0, n, step):
        parts.append(f'<text x="{x(i):.1f}" y="{height - pad_b + 16}" class="a" text-anchor="middle">'
                     f'{html.escape(str(labels[i]))}</text>')
    segment: list[str] = []
    paths = []
    for i, v in enumerate(vals):
        if np.isfinite(v):
            segment.append(f"{x(i):.1f},{y(v):.1f}")
        elif segment:
            paths.append(segment)
            segment = []
    if segment:
        paths.append(segment)
    for seg in paths:
        parts.append(f'<polyline points="{" ".join(seg)}" class="l"/>')
    for i, v in enumerate(vals):
        if np.isfinite(v):
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" class="p"><title>'
                         f'{html.escape(str(labels[i]))}: {_nice(v)}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


def svg_bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str, width: int = 940,
                  bar: int = 16) -> str:
    """Horizontal bars (a ranking) as an inline ``<svg>``."""
    pad_l, pad_r, pad_t = 150, 60, 28
    vals = np.nan_to_num(np.array(values, dtype="float64"))
    top = float(vals.max()) if len(vals) and vals.max() > 0 else 1.0
    height = pad_t + len(labels) * (bar + 4) + 8
    plot_w = width - pad_l - pad_r
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="8" y="18" class="t">{html.escape(title)}</text>']
    for i, (label, v) in enumerate(zip(labels, vals, strict=True)):
        yy = pad_t + i * (bar + 4)
        w = plot_w * v / top
        parts.append(f'<text x="{pad_l - 6}" y="{yy + bar - 4}" class="a" text-anchor="end">'
                     f'{html.escape(str(label))}</text><rect x="{pad_l}" y="{yy}" width="{w:.1f}" height="{bar}" '
                     f'class="b"/><text x="{pad_l + w + 4:.1f}" y="{yy + bar - 4}" class="a">{v:.1f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _html_table(df: pd.DataFrame, *, limit: int = 200) -> str:
    shown = _for_excel(df.head(limit))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = []
    for row, places in zip(shown.itertuples(index=False), _cell_decimals(df.head(limit)), strict=True):
        cells = "".join(f"<td>{'' if pd.isna(v) else html.escape(str(v)) if n is None else number_text(v, n)}</td>"
                        for v, n in zip(row, places, strict=True))
        body.append(f"<tr>{cells}</tr>")
    more = f"<p class='n'>前 {limit} 行，共 {len(df)} 行；完整数据见 Excel。</p>" if len(df) > limit else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


_CSS = """
body{font-family:"Noto Sans SC Variable","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}
.charts{display:flex;flex-wrap:wrap;gap:12px}
svg{background:#fafafa;border:1px solid #e3e3e3}
.t{font-size:13px;font-weight:bold}.a{font-size:10px;fill:#555}.g{stroke:#e6e6e6}
.l{fill:none;stroke:#1f6fb2;stroke-width:2}.p{fill:#1f6fb2}.b{fill:#3a8d5c}
table{border-collapse:collapse;font-size:12px;margin-top:8px}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:right}th{background:#f0f3f7}
td:first-child,th:first-child{text-align:left}.n{font-size:12px;color:#666}
"""


def render_html(report: Report, *, highlights: Mapping[str, str] | None = None) -> str:
    """The report as one self-contained HTML page."""
    trend = report.trend
    labels = list(trend.index)
    charts = "".join(
        svg_line_chart(labels, trend[col].tolist(), title=title) for col, title in TREND_CHARTS if col in trend)
    ranking = report.ranking
    bars = svg_bar_chart([f"{r} {n}" for r, n in zip(ranking["rank"], ranking["name"], strict=True)],
                         ranking["score"].tolist(), title="网格综合得分排名")
    last_day = report.period.end - pd.Timedelta(days=1)
    sections = [
        f"<h1>{html.escape(report.title)}</h1>",
        f"<p class='n'>统计期 {report.period.start:%Y-%m-%d} 至 {last_day:%Y-%m-%d}</p>",
        "<h2>概览</h2>", _html_table(report.tables["概览"]),
        "<h2>月度趋势</h2>", f"<div class='charts'>{charts}</div>",
        "<h2>网格排名</h2>", bars, _html_table(report.ranking),
        "<h2>供电所指标</h2>", _html_table(report.tables["供电所指标"]),
        "<h2>台区线损异常</h2>",
        _html_table(report.tables["台区线损"][report.tables["台区线损"]["class"].isin(["高损", "负损"])]),
        "<h2>稽查汇总</h2>", _html_table(report.tables["稽查汇总"]),
        "<h2>业扩报装周通报（按网格）</h2>", _html_table(report.tables["业扩网格汇总"]),
        "<h2>业扩报装问题明细</h2>", _html_table(report.tables["业扩周通报"]),
        "<h2>高损台区窃电与计量异常嫌疑</h2>", _html_table(report.tables["窃电嫌疑"]),
        "<h2>异常规则准确率（现场检查反馈）</h2>", _html_table(report.tables["异常规则准确率"]),
        "<h2>排班覆盖（无人值班的网格日、一周工作超过6天的人员）</h2>", _html_table(report.tables["排班覆盖"]),
        "<h2>逾期走访与回访</h2>", _html_table(report.tables["逾期走访"]),
        "<h2>指标预警（未解除）</h2>", _html_table(report.tables["指标预警"]),
        "<h2>服务之星</h2>", _html_table(report.tables["服务之星"]),
    ]
    for title, text in (highlights or {}).items():
        sections.append(f"<h2>{html.escape(title)}</h2><p>{html.escape(text)}</p>")
    body = "".join(sections)
    # the Chinese web font's slices this page needs, embedded: readable with no CJK font installed
    return (f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>{html.escape(report.title)}"
            f"</title><style>{font_face_css(report.title + body)}{_CSS}</style></head><body>{body}</body></html>")


def render_page(title: str, sections: Sequence[tuple[str, str | pd.DataFrame]]) -> str:
    """A self-contained report page: ``title``, then per section a heading and an inline ``<svg>`` (a string)
    or a table (a frame, Chinese headers), styled and with its font as :func:`render_html`'s."""
    parts = [f"<h1>{html.escape(title)}</h1>"]
    for heading, content in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(content if isinstance(content, str) else _html_table(content))
    body = "".join(parts)
    return (f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{font_face_css(title + body)}{_CSS}</style></head><body>{body}</body></html>")


def write_report(
    area: ServiceArea,
    period: Period | str,
    out_dir: str | Path,
    *,
    rules: Rules = DEFAULT_RULES,
    as_of: object | None = None,
    months: int = 12,
    masked: bool = False,
) -> list[Path]:
    """Write ``<label>-report.xlsx`` and ``<label>-report.html`` into ``out_dir``; returns their paths."""
    report = build_report(area, period, rules=rules, as_of=as_of, months=months, masked=masked)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = report.period.label.replace("..", "_")
    xlsx = write_excel(report, out / f"{stem}-report.xlsx")
    page = out / f"{stem}-report.html"
    page.write_text(render_html(report), encoding="utf-8")
    return [xlsx, page]


__all__ = [
    "LABELS_ZH",
    "Report",
    "build_report",
    "decimals",
    "grid_ranking",
    "monthly_trend",
    "number_text",
    "render_html",
    "render_page",
    "svg_bar_chart",
    "svg_line_chart",
    "write_excel",
    "write_report",
]
