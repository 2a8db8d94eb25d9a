"""The report: workbook sheets with Chinese headers, a self-contained HTML page, the grid ranking.

Ranking of March 2026 by hand (percentile ranks among the two grids; 1 = better,
0.5 = worse, 0.75 each on a tie):

================  ======  ======  =========================
measure           G1      G2      why
================  ======  ======  =========================
repair on time    1       0.5     100 % vs 0 %
non-repair        1       0.5     66.7 % vs 50 %
complaints/10k    0.5     1       10,000 vs 0 (lower wins)
SAIDI             0.5     1       330 vs 310 min
anomalous loss    0.75    0.75    100 % each (T1 high, T2 negative)
visit coverage    1       0.5     100 % vs 0 %
================  ======  ======  =========================

G1 = 4.75 / 6 × 100 = 79.2, G2 = 4.25 / 6 × 100 = 70.8.
"""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest

from gridservice.config import Rules
from gridservice.metrics.report import build_report, svg_line_chart, write_report


@pytest.fixture(scope="module")
def report(tiny_shared, as_of):
    return build_report(tiny_shared, "2026-03", rules=Rules(), as_of=as_of, months=3)


def test_ranking_by_hand(report) -> None:
    r = report.ranking
    assert r.index.tolist() == ["G1", "G2"] and r["rank"].tolist() == [1, 2]
    assert r["score"].tolist() == [pytest.approx(79.2), pytest.approx(70.8)]


def test_trend_is_monthly_and_area_wide(report) -> None:
    t = report.trend
    assert t.index.tolist() == ["2026-01", "2026-02", "2026-03"]
    # February: O5's 30 minutes on C4, C5 over the 5 customers served = 12 min; March 318 (test_reliability).
    assert t.loc["2026-02", "saidi_min"] == pytest.approx(12.0)
    assert t.loc["2026-03", "saidi_min"] == pytest.approx(318.0)
    assert t["anomalous_transformers"].tolist() == [1, 1, 2]


def test_workbook_and_page(tiny, as_of, tmp_path) -> None:
    xlsx, page = write_report(tiny, "2026-03", tmp_path, rules=Rules(), as_of=as_of, months=3)
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == ["概览", "网格指标", "供电所指标", "网格排名", "月度趋势", "台区线损", "稽查问题",
                             "稽查汇总", "业扩周通报", "业扩网格汇总", "业扩办理人汇总", "窃电嫌疑", "异常规则准确率",
                             "排班覆盖", "逾期走访", "指标预警", "服务之星"]
    # 业扩 in March, judged at its end (tests/metrics/test_applications.py): only A7's plan reply on
    # Saturday 03-28 is flagged; A2, A3 and A14 are open but more than a working day from their limits.
    flags = list(wb["业扩周通报"].iter_rows(values_only=True))
    assert flags[0][:4] == ("业扩编号", "问题", "环节", "责任人编号")
    assert [r[:4] for r in flags[1:]] == [("A7", "非工作日办理", "plan_replied", "ST1")]
    handlers = list(wb["业扩办理人汇总"].iter_rows(values_only=True))
    assert [(r[0], r[1], r[-1]) for r in handlers[1:]] == [("ST1", "张伟", 1)]
    overview = {k: v for k, v in wb["概览"].iter_rows(min_row=2, values_only=True)}
    assert overview["客户数"] == 5 and isinstance(overview["客户数"], int)
    assert overview["SAIDI(分钟/户)"] == pytest.approx(318.0)
    grid_sheet = wb["网格指标"]
    header = [c.value for c in grid_sheet[1]]
    assert header[:2] == ["网格编号", "名称"] and "SAIDI(分钟/户)" in header and "万户投诉量" in header
    rows = {row[0]: dict(zip(header, row, strict=True)) for row in grid_sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["G1"]["客户数"] == 2 and rows["G1"]["SAIDI(分钟/户)"] == pytest.approx(330.0)
    loss = wb["台区线损"]
    loss_header = [c.value for c in loss[1]]
    first = dict(zip(loss_header, next(loss.iter_rows(min_row=2, values_only=True)), strict=True))
    assert first["台区编号"] == "T1" and first["线损分类"] == "高损" and first["连续异常月数"] == 3
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") >= 7  # six trend charts and the ranking
    assert "城东网格" in html and "网格综合得分排名" in html
    assert "业扩报装周通报" in html and "供电方案答复 办理于非工作日 2026-03-28 10:00" in html
    # Self-contained: no script, no external stylesheet or image, no URL but the SVG namespace.
    assert "<script" not in html and "<link" not in html
    assert set(re.findall(r"https?://[^\s\"']+", html)) == {"http://www.w3.org/2000/svg"}


def test_theft_suspects_sheet(tiny, as_of, tmp_path) -> None:
    """The suspects of tests/metrics/test_theft.py, rules in Chinese; the precision sheet before any check."""
    from tiny_area import theft_layers

    area = tiny.replace(**theft_layers(tiny))
    rules = Rules(theft_baseline_months=3, theft_recent_months=2)
    xlsx, page = write_report(area, "2026-03", tmp_path, rules=rules, as_of=as_of, months=3)
    wb = openpyxl.load_workbook(xlsx)
    rows = list(wb["窃电嫌疑"].iter_rows(values_only=True))
    assert rows[0][:3] == ("台区编号", "排名", "电能表编号")
    assert [(r[0], r[1], r[2], r[8]) for r in rows[1:]] == [
        ("T1", 1, "M2", "电量突降"), ("T1", 2, "M1", "电量恒定"), ("T2", 1, "M4", "零电量、电量突降"),
        ("T2", 2, "M5", "反向电量、超容量用电")]
    precision = list(wb["异常规则准确率"].iter_rows(values_only=True))
    assert [(r[0], r[1], r[-2]) for r in precision[1:]] == [(rule, 0, 0.5) for rule in (
        "zero_use", "sudden_drop", "flat", "reverse_energy", "over_capacity")]
    html = page.read_text(encoding="utf-8")
    assert "高损台区窃电与计量异常嫌疑" in html and "零电量、电量突降" in html


def test_overdue_visits_sheet(tiny, as_of, tmp_path) -> None:
    """March judged at its end (04-01), as in tests/metrics/test_visits.py: C4's home visit due 03-15 10:00
    (16 whole days late), C2's callback for W3 (closed 03-12 18:00) due 03-15 18:00 (16 days)."""
    xlsx, page = write_report(tiny, "2026-03", tmp_path, rules=Rules(), as_of=as_of, months=3)
    rows = list(openpyxl.load_workbook(xlsx)["逾期走访"].iter_rows(values_only=True))
    assert rows[0][:6] == ("责任人编号", "责任人", "网格编号", "客户编号", "走访方式", "走访事由")
    assert [(r[0], r[3], r[4], r[5], r[7]) for r in rows[1:]] == [
        ("ST2", "C2", "电话回访", "投诉办结回访", 16), ("ST4", "C4", "上门走访", "重要客户年度走访", 16)]
    assert "逾期走访与回访" in page.read_text(encoding="utf-8")


def test_warnings_sheet(tiny, as_of, tmp_path) -> None:
    """Open warnings after February and March with SAIDI per grid at yellow 10, red 20 (tests/metrics/
    test_warnings.py): G2 red since February (escalated, 约谈), G1 red in March; nothing cleared."""
    from gridservice.metrics.warnings import update

    rules = Rules(warning_thresholds={"saidi_min": {"grid": (10.0, 20.0)}})
    feb = update(tiny, "2026-02", rules=rules, at=pd.Timestamp("2026-03-01 09:00", tz="Asia/Shanghai"))
    area = tiny.replace(warnings=feb.rows)
    mar = update(area, "2026-03", rules=rules, at=pd.Timestamp("2026-04-01 09:00", tz="Asia/Shanghai"))
    area = area.replace(warnings=mar.rows)
    xlsx, page = write_report(area, "2026-03", tmp_path, rules=rules, as_of=as_of, months=3)
    rows = list(openpyxl.load_workbook(xlsx)["指标预警"].iter_rows(values_only=True))
    assert rows[0][:5] == ("预警编号", "预警等级", "层级", "单位编号", "指标")
    got = {r[0]: (r[1], r[2], r[3], r[4], r[10], r[11]) for r in rows[1:]}
    assert got == {"W2026-02-grid-G2-saidi_min": ("红色", "网格", "G2", "户均停电时间", 2, "约谈"),
                   "W2026-03-grid-G1-saidi_min": ("红色", "网格", "G1", "户均停电时间", 1, None)}
    assert "指标预警（未解除）" in page.read_text(encoding="utf-8")


def test_stars_sheet(tiny, as_of, tmp_path) -> None:
    """Week 2026-W12 as tests/api/test_api_warnings.py works it out (the tiny area as built): ST2 7, ST4 0,
    ST6 −5; the formula beside every row."""
    xlsx, page = write_report(tiny, "2026-W12", tmp_path, rules=Rules(), as_of=as_of, months=3)
    rows = list(openpyxl.load_workbook(xlsx)["服务之星"].iter_rows(values_only=True))
    assert rows[0][:2] == ("排名", "服务之星")
    assert [(r[0], r[2], r[10]) for r in rows[1:]] == [(1, "ST2", 7), (2, "ST4", 0), (3, "ST6", -5)]
    assert rows[1][1] == "★ 服务之星" and rows[1][-1].startswith("score = 2 × orders_handled")
    assert "服务之星" in page.read_text(encoding="utf-8")


def test_line_chart_leaves_gaps_for_missing_values() -> None:
    svg = svg_line_chart(["a", "b", "c", "d"], [1.0, None, 3.0, 4.0], title="t")
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 3


def test_figures_are_shown_by_what_they_measure(tiny, as_of, tmp_path) -> None:
    # March 2026 over the whole area: 5 customers; SAIDI 318 min (test_trend_is_monthly_and_area_wide), so
    # RS-1 = 1 − (318 / 60 h) / (31 d × 24 h) = 1 − 5.3 / 744 = 99.287634 % → four decimals 99.2876.
    xlsx, page = write_report(tiny, "2026-03", tmp_path, rules=Rules(), as_of=as_of, months=3)
    html = page.read_text(encoding="utf-8")
    first = html.split("</table>")[0]
    cells = re.findall(r"<td>([^<]*)</td>", first)
    overview = dict(zip(cells[::2], cells[1::2], strict=True))
    assert overview["客户数"] == "5" and overview["停电次数"].isdigit()
    assert overview["SAIDI(分钟/户)"] == "318.0"
    assert overview["供电可靠率RS-1(%)"] == "99.2876"
    assert not [v for k, v in overview.items() if k.endswith("数") and not v.isdigit()]  # counts are whole
    assert not re.search(r"<td>-?[\d,]+\.\d{5,}</td>", html)  # no 612.24489…
    wb = openpyxl.load_workbook(xlsx)
    overview_formats = {row[0].value: row[1].number_format for row in wb["概览"].iter_rows(min_row=2)}
    assert overview_formats["客户数"] == "#,##0" and overview_formats["供电可靠率RS-1(%)"] == "#,##0.0000"
    sheet = wb["网格指标"]
    header = [c.value for c in sheet[1]]
    second = {h: c.number_format for h, c in zip(header, sheet[2], strict=True)}
    assert second["客户数"] == "#,##0" and second["SAIDI(分钟/户)"] == "#,##0.0" and second["名称"] == "General"
    assert second["SAIFI(次/户)"] == "#,##0.000" and second["抢修到达及时率(%)"] == "#,##0.0"


def test_number_text() -> None:
    from gridservice.metrics.report import decimals, number_text

    assert [decimals(c) for c in ("customers", "households_per_member", "supply_kwh", "loss_pct", "rs1_pct_planned",
                                  "saifi_unplanned", "saidi_min", "visit_coverage_pct", "complaints_per_10k")] == [
        0, 0, 0, 2, 4, 3, 1, 1, 2]
    assert number_text(30000.0, 0) == "30,000" and number_text(612.2449, 0) == "612"
    assert number_text(99.97312, 4) == "99.9731" and number_text(float("nan"), 2) == "" and number_text(None, 1) == ""


def test_roster_coverage_sheet(tiny, as_of, tmp_path) -> None:
    """The roster of tests/events/test_roster.py with ST2 on leave on Thursday 03-05 (G1 then has nobody on
    duty) and ST4 working his Tuesday rest day (seven days): both in the week's report, nothing the week after."""
    from gridservice.events.roster import make_roster

    shifts = make_roster(tiny, "S1", start="2026-03-02", weeks=2)
    shifts.loc["SH-ST2-20260305", "kind"] = "leave"
    shifts.loc["SH-ST4-20260303", "kind"] = "duty"
    area = tiny.replace(shifts=shifts)
    xlsx, page = write_report(area, "2026-W10", tmp_path, rules=Rules(), as_of=as_of, months=3)
    rows = list(openpyxl.load_workbook(xlsx)["排班覆盖"].iter_rows(values_only=True))
    assert [(r[0], r[2], r[4], r[5]) for r in rows[1:]] == [
        ("ROSTER_NO_COVER", "S1", "G1", "2026-03-05"), ("ROSTER_OVER_SIX", "S1", "ST4", "2026-03-02")]
    assert "网格当日无人值班" in page.read_text(encoding="utf-8")
    later, _ = write_report(area, "2026-W11", tmp_path / "w11", rules=Rules(), as_of=as_of, months=3)
    assert len(list(openpyxl.load_workbook(later)["排班覆盖"].iter_rows(values_only=True))) == 1
