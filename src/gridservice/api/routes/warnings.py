"""Indicator warnings (指标预警): list them, judge a month, clear one by hand."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from gridservice.api.deps import AreaDep, CurrentUser, HolderDep, PageDep, RulesDep, allowed
from gridservice.api.geojson import records
from gridservice.api.models import WarningClear, WarningUpdateRequest
from gridservice.auth import User
from gridservice.metrics.indicators import INDICATORS, thresholds
from gridservice.metrics.period import latest_period
from gridservice.metrics.warnings import clear, listing, save_clear, save_update, update

router = APIRouter(tags=["warnings"])

Writer = Annotated[User, Depends(allowed("warning.write"))]


@router.get("/warnings")
def list_warnings(
    area: AreaDep,
    user: CurrentUser,
    page: PageDep,
    rules: RulesDep,
    open_only: Annotated[bool, Query(alias="open", description="Only warnings not cleared")] = False,
    level: Annotated[Literal["county", "station", "grid"] | None, Query(description="Only this level")] = None,
    unit_id: Annotated[str | None, Query(description="Only this grid, station or county id")] = None,
    severity: Annotated[Literal["yellow", "red"] | None, Query(description="Only this severity")] = None,
) -> dict[str, Any]:
    """The warnings, open first, newest month first, red before yellow; with the counts of open, red and
    escalated warnings and the thresholds in force (the catalogue)."""
    table = listing(area.warnings, open_only=open_only, level=level, unit_id=unit_id)
    if severity is not None:
        table = table[table["severity"] == severity]
    opened = table[table["open"]]
    limits = thresholds(rules)
    return {
        "total": len(table), "limit": page.limit, "offset": page.offset,
        "open": len(opened), "red": int((opened["severity"] == "red").sum()),
        "escalated": int(opened["escalated"].sum()),
        "escalate_months": rules.warning_escalate_months,
        "items": records(table.iloc[page.offset: page.offset + page.limit], index=False),
        "indicators": records(limits, index=False),
        "titles_zh": {k: i.title_zh for k, i in INDICATORS.items()},
    }


@router.post("/warnings/update")
async def update_warnings(body: WarningUpdateRequest, holder: HolderDep, user: Writer,
                          rules: RulesDep) -> dict[str, Any]:
    """Judge a month (default: the latest with data): open, keep, clear and escalate warnings, written in one
    transaction with its audit entry."""

    def work() -> dict[str, Any]:
        with holder.writing() as changes:
            area = holder.get()
            label = body.period or latest_period(area).label
            result = update(area, label, rules=rules)
            save_update(holder.store, result, user=user.username)
            changes.upsert("warnings", result.rows)
        return {"period": result.period, "summary": result.summary, "opened": result.opened, "kept": result.kept,
                "cleared": result.cleared, "escalated": result.escalated}

    return await run_in_threadpool(work)


@router.post("/warnings/{warning_id}/clear")
async def clear_warning(warning_id: str, body: WarningClear, holder: HolderDep, user: Writer) -> dict[str, Any]:
    """Clear an open warning by hand, with a note (kept with the warning and in the audit log)."""

    def work() -> dict[str, Any]:
        with holder.writing() as changes:
            row = clear(holder.get().warnings, warning_id, note=body.note, user=user.username)
            save_clear(holder.store, row, user=user.username)
            changes.upsert("warnings", row)
        return records(row)[0]

    return await run_in_threadpool(work)
