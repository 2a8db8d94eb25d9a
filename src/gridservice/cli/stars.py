"""The weekly service stars (服务之星): ``gridservice stars --week YYYY-Www``."""

from __future__ import annotations

from typing import Annotated

import typer

from gridservice.cli.common import DataOpt, Format, FormatOpt, app, emit, records, rules
from gridservice.cli.metrics import _area


@app.command("stars")
def stars_cmd(
    data: DataOpt = None,
    week: Annotated[str | None, typer.Option("--week", "-w", help="ISO week YYYY-Www; default: the latest week "
                                                                  "with data.")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """服务之星: grid members ranked by their week's orders, on-time rate, visits, complaints and open warnings
    on their grids; the formula and its weights are printed with the table."""
    from gridservice.metrics.period import latest_period
    from gridservice.metrics.stars import stars

    area = _area(data)
    label = week or latest_period(area, unit="week").label
    table = stars(area, label, rules=rules())
    if fmt is Format.json:  # the method travels with the ranking
        emit({"week": label, "method": table.attrs["method"], "items": records(table)}, fmt)
        return
    emit(table, fmt, title=f"服务之星 {label}: {table.attrs['method']}")
