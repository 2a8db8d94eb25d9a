"""Theft and metering suspects behind high line loss, and the field checks (用电检查) that follow them up."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from gridservice.api.deps import AreaDep, HolderDep, PageDep, RulesDep, allowed
from gridservice.api.geojson import records
from gridservice.api.models import MeterCheckCreate, MeterCheckOutcome, local_time
from gridservice.auth import User, mask_personal
from gridservice.errors import NotFoundError
from gridservice.events.records import save_meter_check
from gridservice.metrics.theft import RULES_ZH, check_outcome, last_full_month, order_check, rule_precision, suspects

router = APIRouter(tags=["theft"])

Reader = Annotated[User, Depends(allowed("theft.read"))]
Writer = Annotated[User, Depends(allowed("meter_check.write"))]

#: Layers a suspect list is computed from.
_INPUTS = ("energy_readings", "meters", "customers", "transformers", "access_points", "applications", "meter_checks",
           "grids", "grid_staff", "staff")


@router.get("/theft/suspects")
def theft_suspects(
    area: AreaDep,
    user: Reader,
    page: PageDep,
    rules: RulesDep,
    period: Annotated[str | None, Query(description="Month YYYY-MM; default: the month before the data's as_of "
                                                    "(the last one fully read)", examples=["2026-10"])] = None,
    transformer_id: Annotated[str | None, Query(description="Only this transformer (whatever its loss)")] = None,
    staff_id: Annotated[str | None, Query(description="Only the transformers this member answers for")] = None,
) -> dict[str, Any]:
    """Suspect meters on the high-loss transformer areas, ranked per transformer, with each meter's monthly
    series (the evidence), the rules it hit and its score; and each rule's precision from the field checks."""
    label = period or last_full_month(area)
    table = area.cached(f"theft:{label}:{transformer_id}", _INPUTS,
                        lambda: suspects(area, label, rules=rules, transformer_id=transformer_id), lru=True)
    months = table.attrs["months"]
    if staff_id is not None:
        table = table[table["staff_id"] == staff_id]
    precision = rule_precision(area).reset_index()
    precision["rule_zh"] = precision["rule"].map(RULES_ZH)
    shown = mask_personal(table.iloc[page.offset : page.offset + page.limit], user)
    return {"period": label, "months": months, "total": len(table), "limit": page.limit, "offset": page.offset,
            "transformers": int(table["transformer_id"].nunique()), "items": records(shown, index=False),
            "precision": records(precision, index=False)}


@router.post("/theft/checks", status_code=201)
async def order_meter_check(body: MeterCheckCreate, holder: HolderDep, user: Writer) -> dict[str, Any]:
    """Send a grid member to check a suspect meter (用电检查): a ``meter_checks`` row without an outcome."""

    def work() -> dict[str, Any]:
        with holder.writing() as changes:
            check = order_check(holder.get(), body.meter_id, rules_hit=body.rules, staff_id=body.staff_id,
                                ordered_at=local_time(body.ordered_at))
            save_meter_check(holder.store, check, user=user.username, action="order")
            changes.upsert("meter_checks", check)
        return records(check)[0]

    return await run_in_threadpool(work)


@router.post("/theft/checks/{check_id}/outcome")
async def record_outcome(check_id: str, body: MeterCheckOutcome, holder: HolderDep, user: Writer) -> dict[str, Any]:
    """What the check found (theft / metering fault / no fault): it feeds the precision of the rules it named."""

    def work() -> dict[str, Any]:
        with holder.writing() as changes:
            checks = holder.get().meter_checks
            if check_id not in checks.index:
                msg = f"unknown field check {check_id!r}"
                raise NotFoundError(msg)
            done = check_outcome(checks.loc[[check_id]], body.outcome, local_time(body.at))
            save_meter_check(holder.store, done, user=user.username, action=f"outcome:{body.outcome}")
            changes.upsert("meter_checks", done)
        return records(done)[0]

    return await run_in_threadpool(work)
