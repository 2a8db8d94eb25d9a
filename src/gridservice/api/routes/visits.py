"""Visits that get done: the next due visit per customer, each member's day routes, and recording a visit."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from gridservice.api.deps import AreaDep, HolderDep, PageDep, RulesDep, allowed
from gridservice.api.geojson import records
from gridservice.api.models import VisitCreate, local_time
from gridservice.auth import User, mask_personal
from gridservice.events.records import save_visit
from gridservice.metrics.visits import (
    REASONS_ZH,
    member_summary,
    next_due,
    record_visit,
    route_lines,
    visit_list,
    with_contacts,
    working_days,
)

router = APIRouter(tags=["visits"])

Reader = Annotated[User, Depends(allowed("visit.read"))]
Writer = Annotated[User, Depends(allowed("visit.write"))]

#: Layers the due visits are computed from.
_INPUTS = ("customers", "visits", "work_orders", "grids", "grid_staff", "staff")


@router.get("/visits/due")
def visits_due(
    area: AreaDep,
    user: Reader,
    page: PageDep,
    rules: RulesDep,
    staff_id: Annotated[str | None, Query(description="Only the customers this member visits")] = None,
    overdue: Annotated[bool, Query(description="Only the visits already past due")] = False,
) -> dict[str, Any]:
    """Each customer's next due visit (kind, due date, reason), overdue first, judged at the data's as_of."""
    table = area.cached("visits:due", _INPUTS, lambda: next_due(area, rules=rules).reset_index(), lru=True)
    if staff_id is not None:
        table = table[table["staff_id"] == staff_id]
    late = int(table["overdue"].sum())
    if overdue:
        table = table[table["overdue"]]
    shown = with_contacts(area, table.iloc[page.offset : page.offset + page.limit])
    shown = mask_personal(shown.assign(reason_zh=shown["reason"].map(REASONS_ZH)), user)
    return {"as_of": area.as_of.isoformat(), "total": len(table), "overdue": late, "limit": page.limit,
            "offset": page.offset, "items": records(shown, index=False)}


@router.get("/visits/list")
def visits_list(
    area: AreaDep,
    user: Reader,
    page: PageDep,
    rules: RulesDep,
    staff_id: Annotated[str | None, Query(description="One member's list, with the day routes")] = None,
    horizon: Annotated[Literal["week", "month"], Query(description="The coming week or month")] = "week",
) -> dict[str, Any]:
    """Visits of the coming week or month as each member's day routes (nearest-neighbour order from the
    member's base, at most ``visit_max_stops_per_day`` home visits a day); every member's totals."""
    table = area.cached(f"visits:list:{horizon}:{staff_id}", _INPUTS,
                        lambda: visit_list(area, staff_id, horizon=horizon, rules=rules), lru=True)
    days = working_days(area, horizon=horizon, rules=rules)
    shown = mask_personal(table.iloc[page.offset : page.offset + page.limit], user)
    body: dict[str, Any] = {
        "as_of": area.as_of.isoformat(), "horizon": horizon, "staff_id": staff_id,
        "days": [f"{d:%Y-%m-%d}" for d in days], "max_stops_per_day": rules.visit_max_stops_per_day,
        "total": len(table), "overdue": int(table["overdue"].sum()), "limit": page.limit, "offset": page.offset,
        "members": records(member_summary(table), index=False), "items": records(shown, index=False)}
    if staff_id is not None:
        base = area.staff.geometry.get(staff_id)
        body["base"] = None if base is None or base.is_empty else [float(base.x), float(base.y)]
        body["routes"] = records(route_lines(area, table), index=False)
    return body


@router.post("/visits", status_code=201)
async def record(body: VisitCreate, holder: HolderDep, user: Writer) -> dict[str, Any]:
    """Record a visit done (home visit or phone callback): a ``visits`` row and its audit entry, in one
    transaction; the member's list and the overdue counts follow."""

    def work() -> dict[str, Any]:
        with holder.writing() as changes:
            visit = record_visit(holder.get(), body.customer_id, staff_id=body.staff_id, kind=body.kind,
                                 at=local_time(body.at))
            save_visit(holder.store, visit, user=user.username)
            changes.upsert("visits", visit)
        return records(visit)[0]

    return await run_in_threadpool(work)
