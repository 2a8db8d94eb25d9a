"""业扩报装: the weekly monitor's flags and counts, and the month's audit and callback draw."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from gridservice.api.deps import AreaDep, PageDep, RulesDep, allowed
from gridservice.api.geojson import records
from gridservice.auth import User, mask_personal
from gridservice.metrics.applications import LEVELS, audit_sample, monitor, monitor_summary, week_of
from gridservice.metrics.period import parse_period

router = APIRouter(tags=["applications"])

Reader = Annotated[User, Depends(allowed("application.read"))]


@router.get("/applications/monitor")
def application_monitor(
    area: AreaDep,
    user: Reader,
    page: PageDep,
    rules: RulesDep,
    period: Annotated[str | None, Query(description="YYYY-Www (ISO week), YYYY-MM or YYYY-MM-DD; default: the "
                                                    "week of the data's as_of", examples=["2026-W47"])] = None,
    grid_id: Annotated[str | None, Query(description="Only the flags of this grid")] = None,
    staff_id: Annotated[str | None, Query(description="Only the flags charged to this handler")] = None,
) -> dict[str, Any]:
    """The weekly 业扩 monitor (周通报): flags per application, and counts per county, station, grid and handler."""
    p = parse_period(period) if period else week_of(area.as_of)
    # judged at the period's end or the data's as_of (live data: now), to the minute
    judged = min(area.as_of, p.end).floor("min")
    flags = area.cached(f"applications:{p.label}:{judged.isoformat()}", ("applications", "grids", "staff"),
                        lambda: monitor(area, p, as_of=judged, rules=rules), lru=True)
    counts = {level: records(monitor_summary(area, flags, by=level)) for level in LEVELS}
    if grid_id is not None:
        flags = flags[flags["grid_id"] == grid_id]
    if staff_id is not None:
        flags = flags[flags["staff_id"] == staff_id]
    return {"period": p.label, "total": len(flags), "limit": page.limit, "offset": page.offset,
            "flags": records(flags.iloc[page.offset : page.offset + page.limit], index=False), "by": counts}


@router.get("/applications/sample")
def application_sample(
    area: AreaDep,
    user: Reader,
    rules: RulesDep,
    period: Annotated[str | None, Query(description="Month YYYY-MM; default: the month of the data's as_of",
                                        examples=["2026-11"])] = None,
) -> dict[str, Any]:
    """The month's draw: high-voltage applications for audit (稽查) and applications in progress for a
    callback (提级回访), with the customer's name and phone for the call (masked for roles without them)."""
    label = period or f"{area.as_of:%Y-%m}"
    drawn = audit_sample(area, label, rules=rules)
    cols = ["purpose", "customer_id", "kind", "voltage", "category", "capacity_kva", "status", "grid_id",
            "accepted_at", "plan_replied_at", "connected_at"]
    contact = area.customers[["name", "phone"]].reindex(drawn["customer_id"].to_numpy())
    table = drawn[cols].assign(name=contact["name"].to_numpy(), phone=contact["phone"].to_numpy())
    return {"period": label, "items": records(mask_personal(table, user))}
