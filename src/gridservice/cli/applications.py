"""Supervisor verbs on 业扩报装: ``applications monitor`` (the weekly report's flags) and ``applications sample``."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from gridservice.cli.common import DataOpt, Format, FormatOpt, app, emit, rules
from gridservice.cli.metrics import AsOfOpt, _area


class Level(StrEnum):
    """What one row of the monitor stands for."""

    flags = "flags"
    county = "county"
    station = "station"
    grid = "grid"
    handler = "handler"


applications_app = typer.Typer(help="业扩报装: the weekly monitor (周通报) and the monthly audit/callback draw.",
                               no_args_is_help=True)
app.add_typer(applications_app, name="applications")


@applications_app.command("monitor")
def monitor_cmd(
    data: DataOpt = None,
    period: Annotated[str | None, typer.Option("--period", "-p", help="YYYY-Www (ISO week), YYYY-MM or YYYY-MM-DD; "
                                                                      "default: the week of --as-of.")] = None,
    by: Annotated[Level, typer.Option("--by", help="flags (one row per flag), or counts per county, station, "
                                                   "grid or handler.")] = Level.flags,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Over-time, due-soon and short steps, time-logic errors, one-person orders, small/micro enterprises at HV."""
    from gridservice.metrics.applications import monitor, monitor_summary, week_of

    area = _area(data)
    flags = monitor(area, period, as_of=as_of, rules=rules())
    label = period or week_of(area.as_of).label
    if by is Level.flags:
        cols = ["application_id", "flag", "step", "staff_id", "grid_id", "detail"] if fmt is Format.table else None
        emit(flags[cols] if cols else flags, fmt, title=f"业扩 monitor {label}: {len(flags)} flags")
        return
    table = monitor_summary(area, flags, by=by.value).reset_index()
    emit(table, fmt, title=f"业扩 monitor {label} by {by.value}")


@applications_app.command("sample")
def sample_cmd(
    data: DataOpt = None,
    period: Annotated[str | None, typer.Option("--period", "-p", help="Month YYYY-MM; default: the month of "
                                                                      "--as-of.")] = None,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """The month's draw: 30 % of its high-voltage applications (稽查), 40 % of those in progress (提级回访)."""
    from gridservice.metrics.applications import audit_sample

    area = _area(data)
    label = period or f"{area.as_of:%Y-%m}"
    drawn = audit_sample(area, label, as_of=as_of, rules=rules()).reset_index()
    if fmt is Format.table:
        drawn = drawn[["purpose", "application_id", "voltage", "category", "capacity_kva", "status", "grid_id",
                       "accepted_at"]]
    emit(drawn, fmt, title=f"{label}: {int((drawn['purpose'] == 'audit').sum())} drawn for audit, "
                           f"{int((drawn['purpose'] == 'callback').sum())} for callback")
