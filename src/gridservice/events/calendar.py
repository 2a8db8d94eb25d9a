"""Working days: China's official holiday calendar, with a fallback.

Inside the years the ``chinesecalendar`` package covers, a day is a working
day when the package says so: official holidays (国庆, 春节 …) are off and
make-up working days (调休上班, often a Saturday or Sunday) are on. Outside
those years only weekends are off. Days listed in ``Rules.extra_holidays``
(a county's own days off) are off in every year.

Deadlines in working days follow the Chinese convention for periods (期间开始
之日不计算在内): the day the clock starts is not counted, and the deadline is
the end (23:59:59) of the N-th working day after it. A complaint received on
Friday 2025-09-26 with 4 working days is due at the end of Thursday
2025-10-09: Sunday 09-28 was a make-up working day, 10-01 … 10-08 were the
National Day holiday.

Everything is vectorised over arrays of timestamps: one lookup table of days
and a cumulative count of working days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache

import chinese_calendar
import numpy as np
import pandas as pd

from gridservice.errors import DataError
from gridservice.schema import TIMEZONE

#: The days the lookup table spans; dates outside raise a DataError.
FIRST_DAY = np.datetime64("1970-01-01", "D")
LAST_DAY = np.datetime64("2100-12-31", "D")


def official_years() -> range:
    """The years whose official calendar ``chinesecalendar`` knows."""
    first = min(chinese_calendar.holidays).year
    last = max(chinese_calendar.holidays).year
    return range(first, last + 1)


class WorkCalendar:
    """Which days are working days, and deadlines counted in them.

    Parameters
    ----------
    extra_holidays
        ``YYYY-MM-DD`` days off on top of the official calendar.

    Examples
    --------
    >>> cal = WorkCalendar()
    >>> cal.is_workday(pd.DatetimeIndex(["2025-09-28", "2025-10-01"])).tolist()
    [True, False]
    """

    def __init__(self, extra_holidays: Iterable[str] = ()) -> None:
        days = np.arange(FIRST_DAY, LAST_DAY + 1)
        weekday = (days.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday (3)
        work = weekday < 5
        years = official_years()
        official = (days >= np.datetime64(f"{years.start}-01-01")) & (days <= np.datetime64(f"{years.stop - 1}-12-31"))
        off = np.array(sorted(chinese_calendar.holidays), dtype="datetime64[D]")
        on = np.array(sorted(chinese_calendar.workdays), dtype="datetime64[D]")
        work[(off - FIRST_DAY).astype("int64")] = False
        work[(on - FIRST_DAY).astype("int64")] = True
        # Inside the official years the package's sets are complete; outside, weekends only.
        work[~official] = weekday[~official] < 5
        extra = _parse_days(extra_holidays)
        extra = extra[(extra >= FIRST_DAY) & (extra <= LAST_DAY)]
        work[(extra - FIRST_DAY).astype("int64")] = False
        self.official_years = years
        self._work = work
        self._cum = np.cumsum(work)

    def _positions(self, days: np.ndarray) -> np.ndarray:
        pos = (days - FIRST_DAY).astype("int64")
        bad = (pos < 0) | (pos >= len(self._work))
        if bad.any():
            msg = f"date {days[bad][0]} is outside the working-day calendar ({FIRST_DAY} … {LAST_DAY})"
            raise DataError(msg)
        return pos

    def is_workday(self, dates: pd.DatetimeIndex | pd.Series | Iterable[object]) -> np.ndarray:
        """Whether each date (local day) is a working day."""
        days, _ = _local_days(dates)
        return self._work[self._positions(days)]

    def add_working_days(self, start: pd.DatetimeIndex | pd.Series, n: int | np.ndarray) -> pd.DatetimeIndex:
        """End (23:59:59 local) of the ``n``-th working day after each start's day.

        Parameters
        ----------
        start
            Timezone-aware timestamps (naive ones are Asia/Shanghai). NaT stays NaT.
        n
            Working days, one number or one per start (at least 1).
        """
        days, missing = _local_days(start)
        n_arr = np.broadcast_to(np.asarray(n, dtype="int64"), days.shape)
        out = np.full(days.shape, np.datetime64("NaT"), dtype="datetime64[D]")
        ok = ~missing
        if ok.any():
            pos = self._positions(days[ok])
            target = self._cum[pos] + n_arr[ok]
            found = np.searchsorted(self._cum, target, side="left")
            if (found >= len(self._cum)).any():
                msg = f"a deadline falls after the working-day calendar's last day {LAST_DAY}"
                raise DataError(msg)
            out[ok] = FIRST_DAY + found
        end = pd.DatetimeIndex(out.astype("datetime64[ms]")) + pd.Timedelta(hours=23, minutes=59, seconds=59)
        return end.tz_localize(TIMEZONE).as_unit("ms")


def _parse_days(values: Iterable[str]) -> np.ndarray:
    values = list(values)
    if not values:
        return np.array([], dtype="datetime64[D]")
    try:
        return np.array(values, dtype="datetime64[D]")
    except ValueError as exc:
        msg = f"extra_holidays must be YYYY-MM-DD dates: {exc}"
        raise DataError(msg) from None


def _local_days(values: object) -> tuple[np.ndarray, np.ndarray]:
    """Local calendar days (datetime64[D]) and a NaT mask."""
    # A Series' bare array: a tz-aware one stays a DatetimeArray instead of becoming Timestamp objects.
    idx = pd.DatetimeIndex(values.array if isinstance(values, pd.Series) else values)
    idx = idx.tz_localize(TIMEZONE) if idx.tz is None else idx.tz_convert(TIMEZONE)
    local = idx.tz_localize(None)
    missing = np.asarray(local.isna())
    days = local.to_numpy().astype("datetime64[D]")
    return days, missing


@lru_cache(maxsize=8)
def _calendar(extra: tuple[str, ...]) -> WorkCalendar:
    return WorkCalendar(extra)


def work_calendar(extra_holidays: Iterable[str] = ()) -> WorkCalendar:
    """A (cached) calendar with these extra days off."""
    return _calendar(tuple(sorted(extra_holidays)))


def is_workday(day: dt.date | str, *, extra_holidays: Iterable[str] = ()) -> bool:
    """Whether one day is a working day."""
    return bool(work_calendar(extra_holidays).is_workday(pd.DatetimeIndex([pd.Timestamp(day)]))[0])


__all__ = ["WorkCalendar", "is_workday", "official_years", "work_calendar"]
