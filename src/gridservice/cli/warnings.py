"""Indicator warnings (指标预警): ``warnings update``, ``warnings list`` and ``warnings clear``."""

from __future__ import annotations

from typing import Annotated

import typer

from gridservice.cli.common import DataOpt, Format, FormatOpt, UserOpt, acting_user, app, console, emit, rules
from gridservice.cli.metrics import _area

warnings_app = typer.Typer(help="指标预警: yellow and red warnings on the indicators per county, station and grid; "
                                "kept until cleared, escalated (约谈) when red persists.", no_args_is_help=True)
app.add_typer(warnings_app, name="warnings")

_SHOWN = ["warning_id", "severity", "level", "unit_id", "indicator", "title_zh", "value", "threshold", "unit",
          "period", "last_period", "red_months", "escalated_at", "cleared_at", "cleared_by"]


@warnings_app.command("update")
def update_cmd(
    data: DataOpt = None,
    period: Annotated[str | None, typer.Option("--period", "-p", help="Month YYYY-MM; default: the latest month "
                                                                      "with data.")] = None,
    commit: Annotated[bool, typer.Option("--commit", help="Write the changes (default: only show them).")] = False,
    user: UserOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Judge a month: open warnings for new crossings, keep open ones, clear those back within their
    thresholds, escalate those red for N months running. Without --commit nothing is written."""
    from gridservice.metrics.period import latest_period
    from gridservice.metrics.warnings import save_update, update

    area = _area(data)
    label = period or latest_period(area).label
    store = area.store
    if commit and store is not None:
        with store.lock():  # judge against the stored warnings, with no other writer in between
            existing = store.read_layer("warnings") if "warnings" in store.layers() else None
            result = update(area, label, rules=rules(), existing=existing)
            save_update(store, result, user=acting_user(user))
    else:
        result = update(area, label, rules=rules())
    table = result.table()
    if fmt is Format.table:
        table = table[["change", "warning_id", "severity", "level", "unit_id", "indicator", "value", "threshold",
                       "red_since", "escalated_at"]]
    emit(table, fmt, title=("written " if commit else "preview (not written) ") + result.summary)
    if fmt is Format.table and not commit:
        console.print("add --commit to write these changes")


@warnings_app.command("list")
def list_cmd(
    data: DataOpt = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only warnings not cleared.")] = False,
    level: Annotated[str | None, typer.Option("--level", help="county, station or grid.")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Only this grid, station or county id.")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """The warnings, open first, newest month first, red before yellow."""
    from gridservice.metrics.warnings import listing

    table = listing(_area(data).warnings, open_only=open_only, level=level, unit_id=unit)
    emit(table[_SHOWN] if fmt is Format.table else table, fmt,
         title=f"warnings: {int(table['open'].sum())} open, {int(table['escalated'].sum())} escalated")


@warnings_app.command("clear")
def clear_cmd(
    warning_id: Annotated[str, typer.Argument(help="The warning's id (from warnings list).")],
    note: Annotated[str, typer.Option("--note", help="Why it is cleared (kept with the warning).")],
    data: DataOpt = None,
    user: UserOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Clear an open warning by hand, with a note."""
    from gridservice.cli.common import data_path
    from gridservice.io import open_store
    from gridservice.metrics.warnings import clear, empty_warnings, save_clear

    store = open_store(data_path(data))
    who = acting_user(user)
    with store.lock():
        current = store.read_layer("warnings") if "warnings" in store.layers() else empty_warnings()
        row = clear(current, warning_id, note=note, user=who)
        save_clear(store, row, user=who)
    emit(row.reset_index(), fmt, title=f"cleared {warning_id}")
