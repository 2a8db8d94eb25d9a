"""KPIs, reliability, line loss and audit (稽查) findings."""

from __future__ import annotations

import functools
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from gridservice.api.deps import AreaDep, CurrentUser, PageDep, RulesDep
from gridservice.api.geojson import feature_collection, records
from gridservice.config import Rules
from gridservice.errors import DataError
from gridservice.metrics.audit import audit, findings_by_grid, rules_table
from gridservice.metrics.kpi import kpis
from gridservice.metrics.lineloss import CLASSES, LossHistory, line_loss, loss_history
from gridservice.metrics.period import Period, latest_period, parse_period
from gridservice.metrics.report import write_report
from gridservice.model import ServiceArea
from gridservice.privacy import mask_phones_in_text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

router = APIRouter(tags=["metrics"])

PeriodQuery = Annotated[str | None, Query(description="YYYY-MM (month), YYYY-Www (ISO week) or YYYY-MM-DD (day); "
                                                      "default: the latest month with data", examples=["2026-03"])]


def _period(area: ServiceArea, period: str | None) -> Period:
    return parse_period(period) if period else latest_period(area)


@router.get("/kpis")
def kpi_table(area: AreaDep, user: CurrentUser, rules: RulesDep, period: PeriodQuery = None,
              by: Annotated[Literal["grid", "station", "area"], Query()] = "grid") -> dict[str, Any]:
    """Service KPIs per grid, station or the whole area: orders and SLA, complaints,
    SAIFI/SAIDI/CAIDI/RS-1, line-loss classes, visit coverage."""
    p = _period(area, period)
    return {"period": p.label, "by": by, "items": records(_kpis(area, p, by, rules))}


def _kpis(area: ServiceArea, p: Period, by: str, rules: Rules) -> pd.DataFrame:
    return area.cached(f"kpis:{by}:{p.label}", ("work_orders", "outages", "customers", "visits", *_LOSS_INPUTS),
                       lambda: kpis(area, p, by=by, loss=_line_loss(area, p, rules), rules=rules))


@router.get("/line-loss")
def loss_table(
    area: AreaDep,
    user: CurrentUser,
    rules: RulesDep,
    page: PageDep,
    period: PeriodQuery = None,
    klass: Annotated[list[str] | None, Query(alias="class", description=f"Only these classes: {', '.join(CLASSES)}")]
    = None,
    grid_id: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """Line loss per transformer area: supply, sales, loss %, class, anomalous streak, likely cause."""
    p = _period(area, period)
    if not p.whole_months:
        msg = f"line loss is reckoned per month (readings are monthly): ask for YYYY-MM, not {period!r}"
        raise DataError(msg)
    unknown = sorted(set(klass or ()) - set(CLASSES))
    if unknown:
        msg = f"unknown line-loss class(es) {', '.join(unknown)}: expected {', '.join(CLASSES)}"
        raise DataError(msg)
    table = _line_loss(area, p, rules)
    if klass:
        table = table[table["class"].isin(klass)]
    points = area.transformers.geometry.reindex(table.index)  # so a map can draw the rows
    table = table.assign(lon=points.x.to_numpy(), lat=points.y.to_numpy())
    if grid_id is not None:
        table = table[table["grid_id"] == grid_id]
    return {"period": p.label, "total": len(table), "limit": page.limit, "offset": page.offset,
            "items": records(table.iloc[page.offset : page.offset + page.limit])}


@router.get("/audit")
def audit_findings(
    area: AreaDep,
    user: CurrentUser,
    rules: RulesDep,
    page: PageDep,
    rule: Annotated[list[str] | None, Query(description="Rule ids (default: all)")] = None,
    grid_id: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """Audit (稽查) findings as GeoJSON, with counts per grid and rule."""
    found = _audit(area, rule, rules)
    if grid_id is not None:
        found = found[found["grid_id"] == grid_id]
    chunk = found.iloc[page.offset : page.offset + page.limit]
    if not user.sees_personal_data and "message" in chunk.columns:
        chunk = chunk.assign(message=mask_phones_in_text(chunk["message"]))
    return {
        "total": len(found),
        "limit": page.limit,
        "offset": page.offset,
        "by_grid": records(findings_by_grid(found)),
        "findings": feature_collection(chunk),
    }


def _audit(area: ServiceArea, rule: list[str] | None, rules: Rules) -> pd.DataFrame:
    return area.cached(f"audit:{','.join(sorted(rule or []))}", tuple(area.layers),
                       lambda: audit(area, rule_ids=rule, history=_loss_history(area), rules=rules))


def supervisor_view(area: ServiceArea, rules: Rules, *, months: int = 12) -> list[Callable[[], object]]:
    """What the supervisor's first view asks for (the latest month's KPIs per grid, its line loss,
    the audit and ``months`` months of area-wide KPIs for the trend), as steps that compute each
    into the area's cache: the server's warm-up runs them, so that the view opens at once."""
    p = latest_period(area)
    trend = [parse_period(str(m)) for m in pd.period_range(end=pd.Period(p.label, "M"), periods=months, freq="M")]
    return [lambda: _kpis(area, p, "grid", rules), lambda: _audit(area, None, rules),
            *(functools.partial(_kpis, area, m, "area", rules) for m in reversed(trend))]


#: The layers a line-loss table is computed from.
_LOSS_INPUTS = ("energy_readings", "meters", "access_points", "transformers", "grids", "grid_staff", "staff")


def _loss_history(area: ServiceArea) -> LossHistory | None:
    """Supply and sales per transformer and month, summed once over all readings for every period."""
    def build() -> LossHistory | None:
        try:
            return loss_history(area)
        except DataError:  # no monthly or daily readings yet
            return None
    return area.cached("loss_history", _LOSS_INPUTS, build)


def _line_loss(area: ServiceArea, p: Period, rules: Rules) -> pd.DataFrame:
    return area.cached(f"lineloss:{p.label}", _LOSS_INPUTS,
                       lambda: line_loss(area, p, history=_loss_history(area), rules=rules))


@router.get("/audit/rules")
def audit_rules(user: CurrentUser) -> dict[str, Any]:
    """The audit rule catalogue."""
    return {"rules": records(rules_table())}


@router.get("/reports", response_class=FileResponse,
            responses={200: {"content": {XLSX: {}, "text/html": {}}}})
def weekly_report(area: AreaDep, user: CurrentUser, rules: RulesDep, period: PeriodQuery = None,
                  format: Annotated[Literal["xlsx", "html"], Query()] = "xlsx") -> FileResponse:
    """The weekly/monthly report: an Excel workbook (one sheet per table) or the HTML report with charts."""
    out = Path(tempfile.mkdtemp(prefix="gridservice-report-"))
    paths = write_report(area, _period(area, period), out, masked=not user.sees_personal_data, rules=rules)
    path = next(p for p in paths if p.suffix == f".{format}")
    return FileResponse(path, filename=path.name, media_type=XLSX if format == "xlsx" else "text/html",
                        background=BackgroundTask(shutil.rmtree, out, ignore_errors=True))
