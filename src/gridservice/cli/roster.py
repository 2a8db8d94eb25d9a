"""Duty rosters (排班, the 6+1 work mode): ``roster make``, ``roster check``, ``roster show``, ``roster on-duty``."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer

from gridservice.cli.common import DataOpt, Format, FormatOpt, UserOpt, acting_user, app, console, emit, rules
from gridservice.cli.metrics import _area

roster_app = typer.Typer(help="排班: 6+1 duty rosters per station, who is on duty now, and the roster's gaps.",
                         no_args_is_help=True)
app.add_typer(roster_app, name="roster")

StationOpt = Annotated[str, typer.Option("--station", help="Station id (供电所).")]
FromOpt = Annotated[str | None, typer.Option("--from", help="First day YYYY-MM-DD.")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last day YYYY-MM-DD (inclusive).")]


@roster_app.command("make")
def make_cmd(
    station: StationOpt,
    start: Annotated[str, typer.Option("--from", help="First day YYYY-MM-DD (a Monday reads best).")],
    weeks: Annotated[int, typer.Option("--weeks", help="How many weeks.")] = 1,
    commit: Annotated[bool, typer.Option("--commit", help="Store it (one transaction with an audit entry), "
                                                          "replacing the staff's shifts on those days.")] = False,
    user: UserOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """A station's 6+1 roster: one rest day a week per member, staggered within each grid, a duty every day."""
    from gridservice.events.roster import make_roster, roster_gaps, save_roster

    area = _area(data)
    shifts = make_roster(area, station, start=start, weeks=weeks, rules=rules())
    if commit:
        replaced = save_roster(area.store, area, shifts, user=acting_user(user), station_id=station)  # type: ignore[arg-type]
        console.print(f"stored {len(shifts)} shifts of {station} ({replaced} replaced)")
    gaps = roster_gaps(area.replace(shifts=shifts))
    table = shifts.reset_index().pivot(index="staff_id", columns="date", values="kind").reset_index()
    if fmt is not Format.table:
        emit(shifts.reset_index(), fmt)
        return
    emit(table, fmt, title=f"roster of {station}: {len(shifts)} shifts, {len(gaps)} grid-day(s) without duty"
                           + ("" if commit else " (not stored: --commit stores it)"))


@roster_app.command("check")
def check_cmd(data: DataOpt = None, start: FromOpt = None, end: ToOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Grid-days without anyone on duty (errors), members working more than six days in a week (warnings);
    exit 1 on errors."""
    from gridservice.events.roster import roster_findings

    found = roster_findings(_area(data), start=start, end=end, rules=rules())
    table = pd.DataFrame(found.drop(columns="geometry"))
    emit(table, fmt, title=f"roster check: {len(table)} finding(s)")
    if (table["severity"] == "error").any():
        raise typer.Exit(1)


@roster_app.command("show")
def show_cmd(station: StationOpt, start: Annotated[str, typer.Option("--from", help="First day YYYY-MM-DD.")],
             end: Annotated[str, typer.Option("--to", help="Last day YYYY-MM-DD (inclusive).")],
             data: DataOpt = None, fmt: FormatOpt = Format.table) -> None:
    """A station's stored shifts between two days, one row per member (table) or per shift (json/csv)."""
    from gridservice.events.roster import roster_table

    table = roster_table(_area(data), station, start=start, end=end)
    if fmt is Format.table and len(table):
        table = table.pivot(index=["staff_id", "name", "role", "grids"], columns="date", values="kind").reset_index()
    emit(table, fmt, title=f"roster of {station} {start}..{end}")


@roster_app.command("on-duty")
def on_duty_cmd(
    grid: Annotated[str, typer.Option("--grid", help="Grid id.")],
    at: Annotated[str | None, typer.Option("--at", help="When (default: the data's as_of, now for live data).")]
    = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Who to call for a grid: on duty, then standby, then the station."""
    from gridservice.events.roster import on_duty

    emit(on_duty(_area(data), grid, at, rules=rules()), fmt, title=f"who to call for {grid}")
