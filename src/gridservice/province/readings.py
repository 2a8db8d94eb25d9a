"""Meter readings at province scale: Parquet partitioned by county and month, line loss on dask.dataframe.

The lake (see :mod:`gridservice.province.export`) holds the readings and what
line loss needs of the network in the hive layout::

    province.parquet/energy_readings/county=nanfeng/month=2026-10/part-0.parquet
    province.parquet/meter_transformers/county=nanfeng/part-0.parquet   (meter_id, transformer_id)
    province.parquet/transformers/county=nanfeng/part-0.parquet

:func:`line_loss` is a dask.dataframe with one partition per county for the
month: each partition reads that county's month of readings (and nothing else)
and applies the county rule — :func:`gridservice.metrics.lineloss.readings_history`
and :func:`~gridservice.metrics.lineloss.period_loss`, the functions
``gridservice lineloss`` calls — so memory is bounded by one county-month and
the result equals the county verb's for every transformer area. Anomalies are
the classes the county rule flags (``high`` and ``negative``).
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import dask.dataframe as dd
import pandas as pd

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import DataError
from gridservice.events.links import meter_transformer_positions
from gridservice.lookup import positions
from gridservice.metrics.lineloss import period_loss, readings_history
from gridservice.metrics.period import as_period
from gridservice.model import ServiceArea

READINGS = "energy_readings"
LINKS = "meter_transformers"
PART = "part-0.parquet"
_COLUMNS = ("device_id", "period", "kwh")
_META = pd.DataFrame({
    **{c: pd.Series(dtype="str") for c in ("county", "transformer_id", "period")},
    **{c: pd.Series(dtype="float64") for c in ("supply_kwh", "sales_kwh", "loss_kwh", "loss_pct")},
    "class": pd.Series(dtype="str"),
    **{c: pd.Series(dtype="int64") for c in ("meters", "meters_read")},
})


def write_readings(root: str | os.PathLike[str], county: str, readings: pd.DataFrame) -> int:
    """Write a county's readings as ``root/energy_readings/county=<county>/month=YYYY-MM/part-0.parquet``.

    The month is the first seven characters of ``period`` (a month or a day); returns the rows written.
    """
    month = readings["period"].astype("str").str.slice(0, 7)
    for value, rows in readings.groupby(month.to_numpy(), sort=True):
        folder = Path(root) / READINGS / f"county={county}" / f"month={value}"
        folder.mkdir(parents=True, exist_ok=True)
        rows.to_parquet(folder / PART, index=False)
    return len(readings)


def write_links(root: str | os.PathLike[str], county: str, area: ServiceArea) -> int:
    """Write each meter's transformer (direct or through its access point; null when unlinked)."""
    tx = pd.Series(area.transformers.index.astype("str"), dtype="str")
    links = pd.DataFrame({
        "meter_id": pd.array(area.meters.index.astype("str"), dtype="str"),
        "transformer_id": tx.reindex(meter_transformer_positions(area)).to_numpy(),  # -1 (unlinked): null
    })
    folder = Path(root) / LINKS / f"county={county}"
    folder.mkdir(parents=True, exist_ok=True)
    links.to_parquet(folder / PART, index=False)
    return len(links)


def county_month_loss(county: str, lake: str, month: str, rules: Rules) -> pd.DataFrame:
    """Line loss of one county's transformer areas for ``month`` from the lake (one partition)."""
    root = Path(lake)
    tx = pd.read_parquet(root / "transformers" / f"county={county}", columns=["transformer_id"])
    links = pd.read_parquet(root / LINKS / f"county={county}")
    folder = root / READINGS / f"county={county}" / f"month={month}"
    readings = (pd.read_parquet(folder, columns=list(_COLUMNS)) if folder.is_dir()
                else pd.DataFrame({c: pd.Series(dtype="float64" if c == "kwh" else "str") for c in _COLUMNS}))
    tx_ids = pd.Index(tx["transformer_id"].astype("str"))
    meter_tx = positions(links["transformer_id"], tx_ids)
    history = readings_history(readings, tx_ids, pd.Index(links["meter_id"].astype("str")), meter_tx,
                               until=month, months=1)
    out = period_loss(history, [month], rules=rules).reset_index()
    out.insert(0, "county", pd.array([county] * len(out), dtype="str"))
    out.insert(2, "period", pd.array([month] * len(out), dtype="str"))
    return out


def counties(lake: str | os.PathLike[str]) -> list[str]:
    """The counties of a lake (those with a transformers partition)."""
    folder = Path(lake) / "transformers"
    if not folder.is_dir():
        msg = f"{lake}: not a province lake (no transformers/ folder); write one with `gridservice province export`"
        raise DataError(msg)
    return sorted(p.name.split("=", 1)[1] for p in folder.glob("county=*"))


def line_loss(lake: str | os.PathLike[str], month: str, *, rules: Rules = DEFAULT_RULES) -> dd.DataFrame:
    """Monthly line loss of every transformer area of the lake as a lazy dask.dataframe, one partition per county.

    Columns: ``county``, ``transformer_id``, ``period`` and :func:`~gridservice.metrics.lineloss.period_loss`'s.
    ``.compute()`` runs it on the current dask client (one task per county).

    Raises
    ------
    DataError
        If ``month`` is not one month, or ``lake`` is not a province lake.
    """
    period = as_period(month)
    if len(period.months) != 1 or not period.whole_months:
        msg = f"period {month!r}: line loss over the lake's readings is monthly, give one month YYYY-MM"
        raise DataError(msg)
    month = period.months[0]
    names = counties(lake)
    if not names:
        msg = f"{lake}: no county partitions"
        raise DataError(msg)
    return dd.from_map(partial(county_month_loss, lake=str(Path(lake).resolve()), month=month, rules=rules),
                       names, meta=_META, label="county_month_loss", enforce_metadata=False)


__all__ = ["LINKS", "READINGS", "counties", "county_month_loss", "line_loss", "write_links", "write_readings"]
