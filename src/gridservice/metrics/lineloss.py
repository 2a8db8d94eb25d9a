"""Line loss of transformer areas (台区线损) per period.

For a transformer area and a period::

    loss_kwh = supply_kwh − Σ sales_kwh of its meters
    loss_pct = loss_kwh / supply_kwh × 100

``supply_kwh`` is the transformer's own reading (台区总表); a meter belongs
to the transformer of ``meters.transformer_id`` or of its access point.
Classes (thresholds are ``Rules.loss_normal_min_pct`` and
``Rules.loss_high_pct``):

* ``out_of_service`` — no energy at all: no (or a zero) supply reading and no
  sales;
* ``not_computable`` — no usable supply reading, or some of its meters
  without a reading;
* ``negative`` — loss_pct below 0 %;
* ``high`` — loss_pct above 10 %;
* ``normal`` — in between.

``streak_months`` counts the consecutive months, ending with the period's
last month, in which the area was high or negative. Readings are monthly
(``period`` = ``YYYY-MM``); a device without a monthly reading for a month
but with daily ones (``YYYY-MM-DD``) uses their sum.

Everything is array work: device ids are mapped to positions once (one
hash lookup per reading, most of the time), then sums per (device, month)
are one ``numpy.bincount`` and per (transformer, month) one per month, so
12 million meter readings take about a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import DataError
from gridservice.events.links import meter_transformer_positions
from gridservice.lookup import positions
from gridservice.metrics.period import Period, as_period
from gridservice.model import ServiceArea

CLASSES: tuple[str, ...] = ("normal", "high", "negative", "not_computable", "out_of_service")
NORMAL, HIGH, NEGATIVE, NOT_COMPUTABLE, OUT_OF_SERVICE = range(5)
ANOMALOUS: tuple[str, ...] = ("high", "negative")

CAUSES_EN = {
    "high": "theft, unmetered load or unregistered customers",
    "negative": "wrong customer–transformer links or metering faults",
    "out_of_service": "no energy recorded (transformer out of service?)",
}
CAUSES_ZH = {
    "high": "窃电、无表用电或客户未建档",
    "negative": "户变关系错误或计量故障",
    "out_of_service": "无电量记录（台区停运？）",
}


@dataclass(frozen=True)
class LossHistory:
    """Monthly energy sums per transformer area, oldest month first.

    Arrays are ``(transformers, months)``; ``supply_read`` says whether the
    transformer had a supply reading that month, ``meters_read`` how many of
    its ``meters`` had one.
    """

    transformer_ids: pd.Index
    months: list[str]
    supply_kwh: np.ndarray
    supply_read: np.ndarray
    sales_kwh: np.ndarray
    meters: np.ndarray
    meters_read: np.ndarray
    #: kWh per (meter, month), NaN where unread; kept only when asked (``loss_history(..., per_meter=True)``)
    meter_kwh: np.ndarray | None = None

    def columns(self, months: list[str]) -> np.ndarray:
        """Column positions of ``months`` (months outside the history are -1)."""
        pos = {m: i for i, m in enumerate(self.months)}
        return np.array([pos.get(m, -1) for m in months], dtype="int64")


def _month_range(first: str, last: str) -> list[str]:
    return [str(p) for p in pd.period_range(pd.Period(first, "M"), pd.Period(last, "M"), freq="M")]


def loss_history(area: ServiceArea, *, until: str | None = None, months: int | None = None,
                 per_meter: bool = False) -> LossHistory:
    """Sum supply and sales per transformer and month from the energy readings.

    Parameters
    ----------
    until
        Last month (``YYYY-MM``) to include; default the latest in the readings.
    months
        Keep only this many months ending at ``until`` (default: all since the first reading).
    per_meter
        Also keep each meter's monthly kWh (``meter_kwh``, in ``area.meters`` order), for analyses of single
        meters (theft suspects) that need line loss too: one pass over the readings for both.
    """
    return readings_history(area.energy_readings, pd.Index(area.transformers.index.astype("str")),
                            pd.Index(area.meters.index.astype("str")), meter_transformer_positions(area),
                            until=until, months=months, per_meter=per_meter)


def readings_history(readings: pd.DataFrame, tx_ids: pd.Index, meter_ids: pd.Index, meter_tx: np.ndarray, *,
                     until: str | None = None, months: int | None = None, per_meter: bool = False) -> LossHistory:
    """:func:`loss_history` of bare frames: readings (``device_id``, ``period``, ``kwh``) and the network.

    ``meter_tx`` is each meter's transformer as a position in ``tx_ids`` (-1 when unlinked); readings of
    devices in neither ``tx_ids`` nor ``meter_ids`` are ignored.
    """
    n_tx, n_m = len(tx_ids), len(meter_ids)
    label_codes, labels = pd.factorize(readings["period"], use_na_sentinel=True)
    labels = pd.Index(labels).astype("str")
    is_day = np.asarray(labels.str.fullmatch(r"\d{4}-\d{2}-\d{2}"), dtype=bool)
    valid = is_day | np.asarray(labels.str.fullmatch(r"\d{4}-\d{2}"), dtype=bool)
    label_month = labels.str.slice(0, 7)
    known = sorted(set(label_month[valid]))
    if until is None and not known:
        msg = "no energy readings with a YYYY-MM or YYYY-MM-DD period"
        raise DataError(msg)
    last = until or known[-1]
    first = last if not known or known[0] > last else known[0]
    month_list = _month_range(first, last)
    if months is not None:
        month_list = month_list[-months:]
    n_months = len(month_list)
    # Per label (a dozen months, a few hundred days), then one gather per row: the row's
    # (device, month) cell, or -1 (a period outside the months, an unknown device, no kWh).
    label_col = np.where(valid, pd.Index(month_list).get_indexer(label_month), -1)
    label_col = np.append(label_col, -1)  # the missing period's code, -1, lands here
    col = label_col[label_codes]
    dev = positions(readings["device_id"], tx_ids.append(meter_ids))
    kwh = readings["kwh"].to_numpy(dtype="float64", na_value=np.nan)
    use = (col >= 0) & (dev >= 0) & ~np.isnan(kwh)
    cell = dev[use] * n_months + col[use]
    daily = np.append(is_day, False)[label_codes[use]] if is_day.any() else None
    total, read = _sums(cell, kwh[use], daily, (n_tx + n_m) * n_months)
    total, read = total.reshape(n_tx + n_m, n_months), read.reshape(n_tx + n_m, n_months)
    supply, supply_read = total[:n_tx], read[:n_tx]
    sales_m, read_m = total[n_tx:], read[n_tx:]
    # Per transformer: Σ sales and how many meters were read, a bincount per month over the linked meters.
    linked = meter_tx >= 0
    tx_of = meter_tx[linked]
    sales = np.zeros((n_tx, n_months))
    meters_read = np.zeros((n_tx, n_months), dtype="int64")
    for j in range(n_months):
        sales[:, j] = np.bincount(tx_of, weights=sales_m[linked, j], minlength=n_tx)
        meters_read[:, j] = np.bincount(tx_of, weights=read_m[linked, j], minlength=n_tx)
    meters = np.bincount(tx_of, minlength=n_tx)
    meter_kwh = np.where(read_m, sales_m, np.nan) if per_meter else None
    return LossHistory(tx_ids, month_list, supply, supply_read, sales, meters, meters_read, meter_kwh)


def _sums(cell: np.ndarray, kwh: np.ndarray, daily: np.ndarray | None, size: int) -> tuple[np.ndarray, np.ndarray]:
    """kWh and whether read per (device, month) cell: the monthly readings, or the daily ones where a
    month has none (``daily`` marks the daily rows; ``None``: there are none)."""
    if daily is None:
        total, read = np.bincount(cell, weights=kwh, minlength=size), np.bincount(cell, minlength=size) > 0
    else:
        monthly = ~daily
        by_month = np.bincount(cell[monthly], minlength=size) > 0
        use = monthly | ~by_month[cell]
        total = np.bincount(cell[use], weights=kwh[use], minlength=size)
        read = by_month | (np.bincount(cell[daily], minlength=size) > 0)
    return total.astype("float64", copy=False), read  # a bincount of nothing is int64


def classify(supply_kwh: np.ndarray, supply_read: np.ndarray, sales_kwh: np.ndarray, complete: np.ndarray, *,
             rules: Rules) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class codes, loss_kwh and loss_pct (NaN where not computable) of aggregated sums."""
    usable_supply = supply_read & (supply_kwh > 0)
    no_energy = (~supply_read | (supply_kwh == 0)) & (sales_kwh == 0)
    computable = usable_supply & complete & ~no_energy
    loss = np.where(computable, supply_kwh - sales_kwh, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(computable, loss / np.where(usable_supply, supply_kwh, 1.0) * 100, np.nan)
    code = np.full(supply_kwh.shape, NORMAL, dtype="int8")
    code[computable & (pct > rules.loss_high_pct)] = HIGH
    code[computable & (pct < rules.loss_normal_min_pct)] = NEGATIVE
    code[~computable] = NOT_COMPUTABLE
    code[no_energy] = OUT_OF_SERVICE
    return code, loss, pct


def monthly_classes(history: LossHistory, *, rules: Rules = DEFAULT_RULES) -> np.ndarray:
    """Class codes per (transformer, month) of a history."""
    complete = history.meters_read >= history.meters[:, None]
    code, _, _ = classify(history.supply_kwh, history.supply_read, history.sales_kwh, complete, rules=rules)
    return code


def _streaks(anomalous: np.ndarray) -> np.ndarray:
    """Trailing run of True per row."""
    if anomalous.shape[1] == 0:
        return np.zeros(anomalous.shape[0], dtype="int64")
    return np.cumprod(anomalous[:, ::-1], axis=1).sum(axis=1).astype("int64")


def responsible_staff(area: ServiceArea, transformer_grid: pd.Series) -> pd.DataFrame:
    """Who answers for each transformer area: its area manager, else its grid's manager.

    A transformer's ``area_manager_id`` column wins when the data has it;
    otherwise the first area manager (by staff id) of the transformer's grid.
    """
    out = pd.DataFrame(index=transformer_grid.index)
    gs = area.grid_staff.sort_values(["grid_id", "staff_id"]) if len(area.grid_staff) else area.grid_staff
    first = {
        role: gs[gs["role"] == role].groupby("grid_id")["staff_id"].first() if len(gs) else pd.Series(dtype="str")
        for role in ("area_manager", "grid_manager")
    }
    staff = transformer_grid.map(first["area_manager"])
    staff = staff.where(staff.notna(), transformer_grid.map(first["grid_manager"]))
    tx = area.transformers
    if "area_manager_id" in tx.columns:
        named = tx["area_manager_id"].reindex(out.index)
        staff = named.where(named.notna(), staff)
    out["staff_id"] = staff.astype("str")
    out["staff_name"] = out["staff_id"].map(area.staff["name"]).astype("str")
    return out


def line_loss(
    area: ServiceArea,
    period: Period | str,
    *,
    rules: Rules = DEFAULT_RULES,
    history: LossHistory | None = None,
) -> pd.DataFrame:
    """Line loss of every transformer area for a period.

    Parameters
    ----------
    period
        A month (``"2026-03"``) or a :class:`~gridservice.metrics.period.Period`;
        a longer period sums its months.
    history
        A :func:`loss_history` already computed (covering the period's months), to reuse.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``transformer_id``: ``grid_id``, ``period``, ``supply_kwh``,
        ``sales_kwh``, ``loss_kwh``, ``loss_pct``, ``class``,
        ``streak_months``, ``likely_cause``, ``likely_cause_zh``, ``meters``,
        ``meters_read`` (meters read in every month of the period),
        ``staff_id``, ``staff_name``.

    Examples
    --------
    >>> loss = line_loss(area, "2026-03")  # doctest: +SKIP
    >>> loss[loss["class"] == "high"]  # doctest: +SKIP
    """
    period = as_period(period)
    wanted = period.months
    if history is None or any(m not in history.months for m in wanted):
        history = loss_history(area, until=wanted[-1])
    table = period_loss(history, wanted, rules=rules)
    upto = history.columns([wanted[-1]])[0]
    monthly = monthly_classes(history, rules=rules)[:, : upto + 1]
    streak = _streaks(np.isin(monthly, (HIGH, NEGATIVE)))

    ids = history.transformer_ids
    out = pd.DataFrame(index=table.index)
    grid = area.transformers["grid_id"].reindex(ids)
    out["grid_id"] = grid.to_numpy()
    out["period"] = period.label
    out = out.join(table.drop(columns=["meters", "meters_read"]))
    out["streak_months"] = streak
    out["meters"] = table["meters"]
    out["meters_read"] = table["meters_read"]
    klass = out["class"]
    missing = (history.meters - table["meters_read"].to_numpy()).astype("int64")
    cause_en = klass.map(CAUSES_EN)
    cause_zh = klass.map(CAUSES_ZH)
    nc = (klass == "not_computable").to_numpy()
    no_supply = nc & ~(table["supply_kwh"].to_numpy() > 0)  # NaN when unread
    short = nc & ~no_supply
    n_text = pd.Series(history.meters, index=out.index).astype("str")
    miss_text = pd.Series(missing, index=out.index).astype("str")
    cause_en[no_supply] = "no usable supply reading for the transformer"
    cause_zh[no_supply] = "台区总表无有效电量"
    cause_en[short] = (miss_text + " of " + n_text + " meters without a reading")[short]
    cause_zh[short] = (miss_text + "/" + n_text + " 块电能表无电量")[short]
    out["likely_cause"] = cause_en.fillna("").astype("str")
    out["likely_cause_zh"] = cause_zh.fillna("").astype("str")
    staff = responsible_staff(area, grid)
    out["staff_id"] = staff["staff_id"].to_numpy()
    out["staff_name"] = staff["staff_name"].to_numpy()
    return out


def period_loss(history: LossHistory, months: list[str], *, rules: Rules) -> pd.DataFrame:
    """Supply, sales, loss and class of every transformer area summed over ``months`` of a history.

    Indexed by ``transformer_id``: ``supply_kwh`` (NaN without a supply reading in every month),
    ``sales_kwh``, ``loss_kwh``, ``loss_pct``, ``class``, ``meters``, ``meters_read`` (meters read in
    every month).
    """
    cols = history.columns(months)
    supply = history.supply_kwh[:, cols].sum(axis=1)
    supply_read = history.supply_read[:, cols].all(axis=1)
    sales = history.sales_kwh[:, cols].sum(axis=1)
    read_all = history.meters_read[:, cols].min(axis=1) if len(cols) else np.zeros(len(supply), dtype="int64")
    complete = read_all >= history.meters
    code, loss, pct = classify(supply, supply_read, sales, complete, rules=rules)
    out = pd.DataFrame(index=pd.Index(history.transformer_ids, name="transformer_id"))
    out["supply_kwh"] = np.where(supply_read, supply, np.nan)
    out["sales_kwh"] = sales
    out["loss_kwh"] = loss
    out["loss_pct"] = pct
    out["class"] = pd.Series(np.array(CLASSES, dtype=object)[code], index=out.index, dtype="str")
    out["meters"] = history.meters
    out["meters_read"] = read_all
    return out


def loss_trend(area: ServiceArea, *, until: str, months: int = 12, rules: Rules = DEFAULT_RULES) -> pd.DataFrame:
    """Transformer areas per class for each of ``months`` months ending at ``until`` (rows: months)."""
    history = loss_history(area, until=until, months=months)
    code = monthly_classes(history, rules=rules)
    counts = {name: (code == i).sum(axis=0) for i, name in enumerate(CLASSES)}
    return pd.DataFrame(counts, index=pd.Index(history.months, name="period"))


__all__ = [
    "ANOMALOUS",
    "CLASSES",
    "LossHistory",
    "classify",
    "line_loss",
    "loss_history",
    "loss_trend",
    "monthly_classes",
    "period_loss",
    "readings_history",
    "responsible_staff",
]
