"""Duty rosters (排班): a station's roster for a period, who is on duty now, making a roster, its check.

Reading needs a login; making a roster is the planner's (``roster.write``: planner, admin), the one who
staffs the grids; supervisors read it and its check (docs/roster.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from gridservice.api.deps import AreaDep, CurrentUser, HolderDep, RulesDep, allowed
from gridservice.api.geojson import records
from gridservice.api.models import RosterCreate
from gridservice.auth import User
from gridservice.events.roster import (
    as_day,
    make_roster,
    on_duty,
    overworked,
    roster_findings,
    roster_gaps,
    roster_table,
    save_roster,
)

router = APIRouter(tags=["roster"])

Planner = Annotated[User, Depends(allowed("roster.write"))]


def _week_of(area: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    day = as_day(area.as_of)
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


@router.get("/roster")
def get_roster(
    area: AreaDep,
    user: CurrentUser,
    rules: RulesDep,
    station_id: Annotated[str, Query(description="Station id (供电所)")],
    start: Annotated[str | None, Query(alias="from", description="First day YYYY-MM-DD; default: the Monday of "
                                                                  "the data's as_of week")] = None,
    end: Annotated[str | None, Query(alias="to", description="Last day (inclusive); default: 6 days after from")]
    = None,
) -> dict[str, Any]:
    """A station's shifts per member and day, the grid-days without anyone on duty and members over six days."""
    first = as_day(start, what="from") if start else _week_of(area)[0]
    last = as_day(end, what="to") if end else first + timedelta(days=6)
    table = roster_table(area, station_id, start=first, end=last)
    days = [f"{d:%Y-%m-%d}" for d in pd.date_range(first, last, freq="D")]
    staff = []
    for sid, rows in table.groupby("staff_id", sort=True):
        head = rows.iloc[0]
        staff.append({"staff_id": sid, "name": head["name"], "role": head["role"], "grids": head["grids"],
                      "days": dict(zip(rows["date"], rows["kind"], strict=True))})
    grids = area.grids.index[(area.grids["station_id"] == station_id).to_numpy()]
    gaps = roster_gaps(area, start=first, end=last)
    over = overworked(area, start=first, end=last, rules=rules)
    return {"station_id": station_id, "from": days[0], "to": days[-1], "dates": days,
            "grids": sorted(str(g) for g in grids), "staff": staff,
            "gaps": records(gaps[gaps["station_id"] == station_id], index=False),
            "overworked": records(over[over["staff_id"].isin(table["staff_id"])], index=False)}


@router.get("/on-duty")
def get_on_duty(
    area: AreaDep,
    user: CurrentUser,
    rules: RulesDep,
    grid_id: Annotated[str, Query(description="Grid id")],
    at: Annotated[str | None, Query(description="When (ISO time); default: the data's as_of (now for live "
                                                "data)")] = None,
) -> dict[str, Any]:
    """Who to call for a grid at a time: its staff on duty, then on standby, then the station."""
    table = on_duty(area, grid_id, at, rules=rules)
    return {"grid_id": grid_id, "date": table["date"].iloc[0], "items": records(table, index=False)}


@router.get("/roster/check")
def check_roster(
    area: AreaDep,
    user: CurrentUser,
    rules: RulesDep,
    start: Annotated[str | None, Query(alias="from", description="First day YYYY-MM-DD")] = None,
    end: Annotated[str | None, Query(alias="to", description="Last day YYYY-MM-DD (inclusive)")] = None,
) -> dict[str, Any]:
    """Grid-days without duty (ROSTER_NO_COVER) and members working more than six days a week
    (ROSTER_OVER_SIX)."""
    found = roster_findings(area, start=start, end=end, rules=rules)
    return {"total": len(found), "items": records(pd.DataFrame(found.drop(columns="geometry")), index=False)}


@router.post("/roster", status_code=201)
async def generate_roster(body: RosterCreate, holder: HolderDep, user: Planner, rules: RulesDep) -> dict[str, Any]:
    """Make and store a station's 6+1 roster (one transaction with its audit entry); the staff's earlier
    shifts on those days are replaced."""

    def work() -> dict[str, Any]:
        with holder.writing() as changes:
            area = holder.get()
            shifts = make_roster(area, body.station_id, start=body.start, weeks=body.weeks, rules=rules)
            replaced = save_roster(holder.store, area, shifts, user=user.username, station_id=body.station_id)
            changes.reread.append("shifts")
        gaps = roster_gaps(area.replace(shifts=shifts))
        dates = shifts["date"].astype("str")
        return {"station_id": body.station_id, "from": dates.min(), "to": dates.max(), "shifts": len(shifts),
                "replaced": replaced, "gaps": records(gaps, index=False)}

    return await run_in_threadpool(work)
