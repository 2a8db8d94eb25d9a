"""The province report: the counties' KPIs, their ranking and their stations, as Excel and HTML.

Built from one ``province kpi --by station`` run (:func:`gridservice.province.run`):
the sheets are 县公司指标 (each county's own KPI row), 县公司排名 (the grid
ranking's method, one level up), 供电所指标 (every station of every county)
and, when some failed, 失败县公司 (the county, its store and its error). The
page shows the ranking as bars above the same tables.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gridservice.errors import DataError
from gridservice.metrics.period import parse_period
from gridservice.metrics.report import Report, render_page, svg_bar_chart, write_excel
from gridservice.province.run import ProvinceResult


def province_report(result: ProvinceResult) -> Report:
    """The report's tables from a ``kpi`` run by station."""
    periods = sorted(result.timings["period"].unique())
    if not periods:
        msg = "no county to report on"
        raise DataError(msg)
    label = periods[0] if len(periods) == 1 else "latest"  # with no --period each county's latest month
    report = Report(title=f"{len(result.counties)} 个县公司供电服务报告 {label}", period=parse_period(periods[-1]),
                    ranking=result.ranking)
    report.tables = {
        "县公司指标": result.counties.reset_index(),
        "县公司排名": result.ranking.reset_index(),
        "供电所指标": result.table,
    }
    if len(result.errors):
        report.tables["失败县公司"] = result.errors
    return report


def write_province_report(result: ProvinceResult, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write ``province-<period>-report.xlsx`` and ``.html`` into ``out_dir`` (each atomically)."""
    report = province_report(result)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"province-{report.title.rsplit(' ', 1)[-1]}-report"
    ranking = report.ranking
    bars = svg_bar_chart([f"{r} {n}" for r, n in zip(ranking["rank"], ranking["name"], strict=True)],
                         ranking["score"].tolist(), title="县公司综合得分排名")
    page = render_page(report.title, [("县公司排名", bars), *report.tables.items()])
    paths = []
    for suffix, write in ((".xlsx", lambda p: write_excel(report, p)),
                          (".html", lambda p: Path(p).write_text(page, encoding="utf-8"))):
        fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=suffix, dir=out)
        os.close(fd)
        try:
            write(tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, out / f"{stem}{suffix}")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        paths.append(out / f"{stem}{suffix}")
    return paths
