"""Theft and metering suspects behind high line loss: ``theft suspects`` and ``theft precision``."""

from __future__ import annotations

from typing import Annotated

import typer

from gridservice.cli.common import DataOpt, Format, FormatOpt, app, emit, rules
from gridservice.cli.metrics import _area

theft_app = typer.Typer(help="窃电与计量异常: suspect meters on the high-loss transformer areas, and how precise "
                             "each rule has been in field checks.", no_args_is_help=True)
app.add_typer(theft_app, name="theft")


@theft_app.command("suspects")
def suspects_cmd(
    data: DataOpt = None,
    period: Annotated[str | None, typer.Option("--period", "-p", help="Month YYYY-MM; default: the month before "
                                                                      "the data's as_of (the last fully read).")]
    = None,
    transformer: Annotated[str | None, typer.Option("--transformer", help="Only this transformer (whatever its "
                                                                          "loss).")] = None,
    staff: Annotated[str | None, typer.Option("--staff", help="Only the transformers this member answers for.")]
    = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Suspect meters ranked per high-loss transformer: the rules hit, the score, the monthly series."""
    from gridservice.metrics.theft import last_full_month, suspects

    area = _area(data)
    period = period or last_full_month(area)
    table = suspects(area, period, rules=rules(), transformer_id=transformer, staff_id=staff)
    if fmt is Format.table:
        table = table[["transformer_id", "rank", "meter_id", "customer_id", "staff_id", "loss_pct", "rules",
                       "score", "baseline_kwh", "recent_kwh", "missing_kwh"]]
    elif fmt is Format.csv:  # one cell per value: the series as "m1 m2 …"
        table = table.assign(series=table["series"].map(lambda s: " ".join(f"{v:g}" for v in s)))
    emit(table, fmt, title=f"theft suspects {period}: {len(table)} meters on "
                           f"{table['transformer_id'].nunique()} transformer areas")


@theft_app.command("precision")
def precision_cmd(data: DataOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Per rule: field checks that named it, what they found, the precision that weights the score."""
    from gridservice.metrics.theft import rule_precision

    emit(rule_precision(_area(data)).reset_index(), fmt, title="anomaly rules: precision from field checks")
