"""Visits that get done: ``visits due`` (the next visit per customer) and ``visits list`` (a member's days)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from gridservice.cli.common import DataOpt, Format, FormatOpt, app, console, emit, output_file, rules, settings
from gridservice.cli.metrics import _area

visits_app = typer.Typer(help="走访与回访: the visits due per customer (two norms, complaint callbacks) and each "
                              "member's day routes for the coming week or month.", no_args_is_help=True)
app.add_typer(visits_app, name="visits")


class Horizon(StrEnum):
    """How far ahead a visit list looks."""

    week = "week"
    month = "month"


StaffOpt = Annotated[str | None, typer.Option("--staff", help="Only this member's visits.")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Judge at this time (default: the data's as_of).")]
DUE_SHOWN = ["customer_id", "kind", "reason", "due_at", "overdue_days", "grid_id", "staff_id", "detail"]
LIST_SHOWN = ["staff_id", "day", "stop", "kind", "reason_zh", "customer_id", "name", "address", "phone", "due_at",
              "overdue_days", "leg_m"]


@visits_app.command("due")
def due_cmd(
    data: DataOpt = None,
    staff: StaffOpt = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only the visits already past due.")] = False,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """The next due visit of each customer (kind, due date, reason), overdue first."""
    from gridservice.metrics.visits import next_due

    table = next_due(_area(data), rules=rules(), as_of=as_of).reset_index()
    if staff is not None:
        table = table[table["staff_id"] == staff]
    if overdue:
        table = table[table["overdue"]]
    late = int(table["overdue"].sum())
    emit(table[DUE_SHOWN] if fmt is Format.table else table, fmt,
         title=f"next due visits: {len(table)} customers, {late} overdue")


@visits_app.command("list")
def list_cmd(
    data: DataOpt = None,
    staff: StaffOpt = None,
    horizon: Annotated[Horizon, typer.Option("--horizon", help="The coming week or month.")] = Horizon.week,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Each member's visits as day routes: overdue first, nearest-neighbour order from the member's base."""
    from gridservice.metrics.visits import visit_list

    table = visit_list(_area(data), staff, horizon=horizon.value, rules=rules(), as_of=as_of)
    shown = table
    if fmt is Format.table:  # the day's sheet: dates, and the member once in the title when one is asked for
        shown = table.assign(due_at=table["due_at"].dt.strftime("%Y-%m-%d"))[LIST_SHOWN]
        shown = shown.drop(columns="staff_id") if staff is not None else shown
    emit(shown, fmt,
         title=f"visit list {staff or 'all members'} ({horizon.value}): {len(table)} visits, "
               f"{int(table['overdue'].sum())} overdue, {table['staff_id'].nunique()} members")


@visits_app.command("map")
def map_cmd(
    staff: Annotated[str, typer.Option("--staff", help="The member whose routes to draw.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write (assets inlined; opens offline).")],
    data: DataOpt = None,
    horizon: Annotated[Horizon, typer.Option("--horizon", help="The coming week or month.")] = Horizon.week,
    basemap: Annotated[str | None, typer.Option(help="local, none, osm, gcj02 or a tile URL template (default: "
                                                     "GRIDSERVICE_BASEMAP or local).")] = None,
    as_of: AsOfOpt = None,
) -> None:
    """A member's day routes on a map: stops numbered from the base, overdue visits in red."""
    from gridservice.maps import write_map
    from gridservice.maps.visits import build_visit_map
    from gridservice.metrics.visits import visit_list

    output_file(out, data, suffixes=(".html", ".htm"))
    area = _area(data)
    table = visit_list(area, staff, horizon=horizon.value, rules=rules(), as_of=as_of)
    m = build_visit_map(area, table, staff, basemap=settings().basemap if basemap is None else basemap)
    write_map(m, out)
    console.print(f"wrote [bold]{out}[/] ({len(table)} visits of {staff}, {horizon.value})")
