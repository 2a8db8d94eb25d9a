"""Two-level indicator warnings (指标预警): yellow and red, per county, station and grid, kept until cleared.

:func:`evaluate` compares every indicator of :mod:`.indicators` with its
thresholds (``Rules.warning_thresholds``) for a month. The thresholds are
**inclusive**: where higher is worse a value *at or above* the red threshold
is red, else at or above the yellow one yellow; where lower is worse, *at or
below*. A missing value (a unit with nothing to measure) never crosses.

:func:`update` turns a month's crossings into the ``warnings`` layer:

* a crossing with no open warning for its (indicator, level, unit) **opens**
  one (``warning_id`` ``W<month>-<level>-<unit>-<indicator>``, ``period`` and
  ``last_period`` the month, ``raised_at`` the update's time);
* an open warning still crossing is **kept**: its ``last_period``,
  ``severity``, ``value`` and ``threshold`` follow the month;
* an open warning no longer crossing is **cleared automatically**
  (``cleared_by`` ``auto``): the figure is back within its threshold, so the
  warning has done its work. A supervisor may also clear a warning by hand
  with a note (:func:`clear`); if the figure still crosses, the next month's
  update raises it again (a warning cleared by hand is not raised again for
  the month it was raised in);
* a warning red for ``Rules.warning_escalate_months`` (2) consecutive months
  is **escalated** (``escalated_at``): 约谈, the station head is called in.
  ``red_since`` holds the first month of the current red run; a yellow month
  or a month without an update in between starts the run again.

Months go forward: an update for a month before the latest month an open
warning holds, or an earlier update named in the audit log, is refused. Updating the same month again is harmless: it
re-judges that month with the data as it is now. :func:`save_update` and
:func:`save_clear` write the rows and one audit entry in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gridservice import clock
from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import ConflictError, DataError, NotFoundError
from gridservice.events.work_orders import audit_record
from gridservice.io import Store
from gridservice.metrics.indicators import INDICATORS, indicator_values, thresholds
from gridservice.metrics.period import Period, as_period, month
from gridservice.model import ServiceArea
from gridservice.schema import LAYERS, TIMEZONE, WARNING_LEVELS

#: Columns of :func:`evaluate`.
CROSSING_COLUMNS = ("indicator", "level", "unit_id", "unit_name", "period", "severity", "value", "threshold",
                    "yellow", "red", "unit", "worse")
_KEY = ["indicator", "level", "unit_id"]
_TIME = f"datetime64[ms, {TIMEZONE}]"


def _month_of(period: Period | str) -> Period:
    p = as_period(period)
    label = p.label
    if not (p.whole_months and len(p.months) == 1):
        msg = f"period {label!r}: warnings are judged per month (YYYY-MM)"
        raise DataError(msg)
    return month(p.months[0])


def evaluate(
    area: ServiceArea, period: Period | str, *, rules: Rules = DEFAULT_RULES, as_of: object | None = None,
) -> pd.DataFrame:
    """The indicators of a month that cross their yellow or red threshold, per level and unit.

    Returns
    -------
    pandas.DataFrame
        One row per crossing (columns :data:`CROSSING_COLUMNS`): ``severity``
        ``red`` or ``yellow``, ``threshold`` the one crossed, ``yellow`` and
        ``red`` both thresholds; ordered red first, then by level, indicator
        and unit.

    Examples
    --------
    >>> evaluate(area, "2026-10")[["indicator", "unit_id", "severity"]]  # doctest: +SKIP
    """
    p = _month_of(period)
    limits = thresholds(rules)
    values = indicator_values(area, p, rules=rules, as_of=as_of,
                              levels=tuple(lv for lv in WARNING_LEVELS if lv in set(limits["level"])))
    parts = []
    for row in limits.itertuples(index=False):  # a few dozen (indicator, level) pairs, each a vector op
        table = values[row.level]
        v = table[row.indicator].to_numpy(dtype="float64")
        sign = 1.0 if row.worse == "higher" else -1.0
        with np.errstate(invalid="ignore"):
            red = sign * v >= sign * row.red
            yellow = (sign * v >= sign * row.yellow) & ~red
        hit = red | yellow
        if not hit.any():
            continue
        parts.append(pd.DataFrame({
            "indicator": row.indicator, "level": row.level, "unit_id": table.index[hit].astype("str"),
            "unit_name": table["unit_name"].to_numpy()[hit], "period": p.label,
            "severity": np.where(red[hit], "red", "yellow"), "value": v[hit],
            "threshold": np.where(red[hit], row.red, row.yellow), "yellow": row.yellow, "red": row.red,
            "unit": row.unit, "worse": row.worse,
        }))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("value", "threshold", "yellow", "red")
                                          else "str") for c in CROSSING_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    order = {"severity": {"red": 0, "yellow": 1}, "level": {lv: i for i, lv in enumerate(WARNING_LEVELS)},
             "indicator": {n: i for i, n in enumerate(INDICATORS)}}
    out = out.sort_values(["severity", "level", "indicator", "unit_id"], kind="stable",
                          key=lambda s: s.map(order[s.name]) if s.name in order else s)
    return out.reset_index(drop=True)[list(CROSSING_COLUMNS)]


def warning_id(period: str, level: pd.Series | str, unit_id: pd.Series | str,
               indicator: pd.Series | str) -> pd.Series | str:
    """``W<month>-<level>-<unit>-<indicator>``: one id per raising, the same on every run (the demo's history
    and a repeated update name their warnings alike)."""
    return "W" + period + "-" + level + "-" + unit_id + "-" + indicator  # type: ignore[operator]


def empty_warnings() -> pd.DataFrame:
    """An empty ``warnings`` layer in its declared dtypes, indexed by ``warning_id``."""
    layer = LAYERS["warnings"]
    kinds = {"float": "float64", "datetime": _TIME}
    frame = pd.DataFrame({c.name: pd.Series(dtype=kinds.get(c.kind, "str"))
                          for c in layer.columns if c.name != layer.key})
    frame.index = pd.Index([], dtype="str", name=layer.key)
    return frame


def _months_between(first: pd.Series, last: str) -> np.ndarray:
    """Months from each ``first`` (``YYYY-MM``) to ``last``, both counted (NaN where first is missing)."""
    y = pd.to_numeric(first.str.slice(0, 4), errors="coerce")
    m = pd.to_numeric(first.str.slice(5, 7), errors="coerce")
    ly, lm = int(last[:4]), int(last[5:7])
    return ((ly - y) * 12 + (lm - m) + 1).to_numpy(dtype="float64")


@dataclass
class WarningUpdate:
    """What :func:`update` changes: the rows to write and, by id, what happened to them."""

    period: str
    rows: pd.DataFrame
    opened: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """One line for the audit log and the CLI."""
        return (f"{self.period}: opened {len(self.opened)}, kept {len(self.kept)}, cleared {len(self.cleared)}, "
                f"escalated {len(self.escalated)}")

    def table(self) -> pd.DataFrame:
        """The written rows with what happened to each (``change``: opened, kept, cleared, escalated)."""
        change = pd.Series("kept", index=self.rows.index, dtype="str")
        change[change.index.isin(self.opened)] = "opened"
        change[change.index.isin(self.cleared)] = "cleared"
        change[change.index.isin(self.escalated)] = "escalated"
        return self.rows.assign(change=change).reset_index()


def update(
    area: ServiceArea, period: Period | str, *, rules: Rules = DEFAULT_RULES, existing: pd.DataFrame | None = None,
    at: pd.Timestamp | None = None, as_of: object | None = None,
) -> WarningUpdate:
    """Raise, keep, clear and escalate the warnings for a month (see the module docstring).

    Parameters
    ----------
    existing
        The ``warnings`` layer to update (default ``area.warnings``; the
        writers pass the store's, read under its lock).
    at
        The update's time stamp (``raised_at``, ``cleared_at``,
        ``escalated_at``); default the clock's now.

    Raises
    ------
    DataError
        A period that is not a month, or a month before one an open warning already holds.
    """
    p = _month_of(period)
    label = p.label
    at = clock.now() if at is None else pd.Timestamp(at).tz_convert(TIMEZONE).as_unit("ms")
    current = area.warnings if existing is None else existing
    current = empty_warnings() if not len(current) else current
    is_open = current["cleared_at"].isna().to_numpy()
    open_ = current[is_open]
    if (latest := latest_update(area, open_)) is not None and latest > label:
        msg = f"warnings were already updated for {latest}: months go forward (asked for {label})"
        raise DataError(msg)
    crossings = evaluate(area, p, rules=rules, as_of=as_of)
    new_ids = pd.Series(warning_id(label, crossings["level"], crossings["unit_id"], crossings["indicator"]),
                        dtype="str")
    crossings.index = pd.Index(new_ids.to_numpy(), name="warning_id")

    merged = open_.reset_index().merge(crossings.reset_index(drop=True).drop(columns=["period"]), on=_KEY,
                                       how="outer", suffixes=("", "_now"), indicator=True)
    both = merged["_merge"] == "both"
    gone = merged["_merge"] == "left_only"
    fresh = merged["_merge"] == "right_only"

    # kept: follow the month; the red run continues from the month before (or this month, re-judged)
    kept = merged[both].set_index("warning_id")
    before = kept["last_period"].astype("str")
    run_on = kept["red_since"].notna() & before.isin([label, str(pd.Period(label, "M") - 1)])
    red_now = kept["severity_now"] == "red"
    kept_rows = kept[list(current.columns)].copy()
    kept_rows["severity"] = kept["severity_now"]
    kept_rows["value"] = kept["value_now"]
    kept_rows["threshold"] = kept["threshold_now"]
    kept_rows["last_period"] = label
    kept_rows["red_since"] = kept["red_since"].where(run_on, label).where(red_now, None)

    # new crossings: not for a warning cleared by hand for this very month
    new = _fresh(crossings, merged[fresh], current)
    new_rows = empty_warnings().reindex(new.index)
    new_rows.index.name = "warning_id"
    for c in ("indicator", "level", "unit_id", "severity", "value", "threshold"):
        new_rows[c] = new[c]
    new_rows["period"] = label
    new_rows["last_period"] = label
    new_rows["red_since"] = pd.Series(label, index=new.index, dtype="str").where(new["severity"] == "red", None)
    new_rows["raised_at"] = pd.Series(at, index=new.index).astype(_TIME)

    # no longer crossing: cleared
    cleared_rows = merged[gone].set_index("warning_id")[list(current.columns)].copy()
    cleared_rows["cleared_at"] = pd.Series(at, index=cleared_rows.index).astype(_TIME)
    cleared_rows["cleared_by"] = "auto"
    cleared_rows["note"] = f"{label}: back within the threshold"

    live = pd.concat([kept_rows, new_rows])
    runs = _months_between(live["red_since"].astype("str").where(live["red_since"].notna()), label)
    due = (runs >= rules.warning_escalate_months) & live["escalated_at"].isna().to_numpy()
    live.loc[due, "escalated_at"] = pd.Series(at, index=live.index[due]).astype(_TIME)
    rows = pd.concat([live, cleared_rows])
    rows.index.name = "warning_id"
    rows = _dtypes(rows)
    return WarningUpdate(period=label, rows=rows, opened=list(new_rows.index), kept=list(kept_rows.index),
                         cleared=list(cleared_rows.index), escalated=list(live.index[due]))


def latest_update(area: ServiceArea, open_warnings: pd.DataFrame) -> str | None:
    """The latest month warnings were judged for: the latest an open warning holds, or an update in the audit
    log names (once every warning is cleared only the log remembers it)."""
    log = area.audit_log
    months = [str(open_warnings["last_period"].max())] if len(open_warnings) else []
    if len(log) and "action" in log.columns:
        months += log.loc[(log["action"] == "warnings.update").to_numpy(), "feature_id"].astype("str").tolist()
    return max(months, default=None)


def _fresh(crossings: pd.DataFrame, fresh: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """The crossings that open a warning: no open one for their key, and their id not already taken (a
    warning raised for this month and cleared by hand)."""
    keys = pd.MultiIndex.from_frame(fresh[_KEY]) if len(fresh) else pd.MultiIndex.from_tuples([], names=_KEY)
    mine = pd.MultiIndex.from_frame(crossings[_KEY]).isin(keys)
    out = crossings[mine]
    return out[~out.index.isin(current.index)]


def _dtypes(rows: pd.DataFrame) -> pd.DataFrame:
    layer = LAYERS["warnings"]
    kinds = {"float": "float64", "datetime": _TIME}
    return rows.astype({c.name: kinds.get(c.kind, "str") for c in layer.columns if c.name in rows.columns}
                       ).assign(**{c: lambda t, c=c: t[c].where(t[c].notna() & (t[c] != "None"), None)
                                   for c in ("red_since", "cleared_by", "note")})


def clear(warnings: pd.DataFrame, warning_id: str, *, note: str, user: str,
          at: pd.Timestamp | None = None) -> pd.DataFrame:
    """The open warning ``warning_id`` cleared by hand (``cleared_by`` the user, with the note).

    Raises
    ------
    NotFoundError
        No such warning.
    ConflictError
        It is already cleared.
    DataError
        No note (a supervisor says why).
    """
    if warning_id not in warnings.index:
        msg = f"unknown warning {warning_id!r}"
        raise NotFoundError(msg)
    if not note.strip():
        msg = f"warning {warning_id}: say why it is cleared (--note)"
        raise DataError(msg)
    row = warnings.loc[[warning_id]].copy()
    if row["cleared_at"].notna().iloc[0]:
        msg = f"warning {warning_id} was already cleared at {row['cleared_at'].iloc[0]:%Y-%m-%d %H:%M}"
        raise ConflictError(msg)
    row["cleared_at"] = pd.Series(clock.now() if at is None else at, index=row.index).astype(_TIME)
    row["cleared_by"] = user
    row["note"] = note.strip()
    return row


def save_update(store: Store, result: WarningUpdate, *, user: str) -> None:
    """Write an update's rows and its audit entry in one transaction."""
    record = audit_record(user=user, action="warnings.update", layer="warnings", feature_id=result.period,
                          detail=result.summary)
    store.upsert({"warnings": result.rows, "audit_log": record})


def save_clear(store: Store, row: pd.DataFrame, *, user: str) -> None:
    """Write a warning cleared by hand and its audit entry in one transaction."""
    record = audit_record(user=user, action="warnings.clear", layer="warnings", feature_id=str(row.index[0]),
                          detail=str(row["note"].iloc[0]))
    store.upsert({"warnings": row, "audit_log": record})


def listing(warnings: pd.DataFrame, *, open_only: bool = False, level: str | None = None,
            unit_id: str | None = None, rules: Rules = DEFAULT_RULES) -> pd.DataFrame:
    """The warnings, newest month first, red before yellow, with the indicator's Chinese title and unit and
    ``red_months`` (the length of the current red run up to ``last_period``)."""
    if level is not None and level not in WARNING_LEVELS:
        msg = f"level {level!r}: use one of {', '.join(WARNING_LEVELS)}"
        raise DataError(msg)
    w = empty_warnings() if not len(warnings) else warnings
    if open_only:
        w = w[w["cleared_at"].isna().to_numpy()]
    if level is not None:
        w = w[(w["level"] == level).to_numpy()]
    if unit_id is not None:
        w = w[(w["unit_id"] == unit_id).to_numpy()]
    out = w.reset_index()
    out["title_zh"] = out["indicator"].map({k: i.title_zh for k, i in INDICATORS.items()}).astype("str")
    out["unit"] = out["indicator"].map({k: i.unit for k, i in INDICATORS.items()}).astype("str")
    first = out["red_since"].astype("str").where(out["red_since"].notna())
    runs = np.zeros(len(out))
    for last in out["last_period"].unique():  # one vector op per distinct month
        mask = (out["last_period"] == last).to_numpy()
        runs[mask] = _months_between(first[mask], str(last))
    out["red_months"] = np.nan_to_num(runs, nan=0.0).astype("int64")
    out["open"] = out["cleared_at"].isna()
    out["escalated"] = out["escalated_at"].notna()
    rank = out["severity"].map({"red": 0, "yellow": 1})
    out = out.assign(_rank=rank, _open=~out["open"]).sort_values(
        ["_open", "last_period", "_rank", "level", "indicator", "unit_id"], ascending=[True, False, True, True,
                                                                                        True, True], kind="stable")
    return out.drop(columns=["_rank", "_open"]).reset_index(drop=True)


__all__ = ["CROSSING_COLUMNS", "WarningUpdate", "clear", "empty_warnings", "evaluate", "listing", "save_clear",
           "save_update", "update", "warning_id"]
