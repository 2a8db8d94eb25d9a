"""Reporting periods: a month, an ISO week, a day or any date range.

A :class:`Period` is a half-open local-time interval ``[start, end)`` in
Asia/Shanghai. ``"2026-03"`` is March 2026, ``"2026-W10"`` the ISO week,
``"2026-03-02"`` one day; :func:`period_between` makes one from two
inclusive dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from gridservice.errors import DataError
from gridservice.schema import TIMEZONE

if TYPE_CHECKING:
    from gridservice.model import ServiceArea

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    """A local-time interval ``[start, end)`` with a label."""

    start: pd.Timestamp
    end: pd.Timestamp
    label: str

    @property
    def hours(self) -> float:
        """Length in hours."""
        return (self.end - self.start) / pd.Timedelta(hours=1)

    @property
    def months(self) -> list[str]:
        """The ``YYYY-MM`` months the period touches, in order."""
        last = (self.end - pd.Timedelta(milliseconds=1)).tz_localize(None).to_period("M")
        first = self.start.tz_localize(None).to_period("M")
        return [str(p) for p in pd.period_range(first, last, freq="M")]

    @property
    def whole_months(self) -> bool:
        """Whether the period is exactly a run of calendar months."""
        s, e = self.start.tz_localize(None), self.end.tz_localize(None)
        return s == s.normalize() and s.day == 1 and e == e.normalize() and e.day == 1

    def contains(self, times: pd.Series) -> pd.Series:
        """Which timestamps fall inside the period."""
        return (times >= self.start) & (times < self.end)

    def previous_months(self, n: int) -> list[Period]:
        """The ``n`` months ending with the period's last month, oldest first."""
        last = pd.Period(self.months[-1], freq="M")
        return [month(str(last - k)) for k in range(n - 1, -1, -1)]


def _local(ts: pd.Timestamp) -> pd.Timestamp:
    return ts.tz_localize(TIMEZONE) if ts.tz is None else ts.tz_convert(TIMEZONE)


def month(label: str) -> Period:
    """The calendar month ``YYYY-MM``."""
    m = _MONTH.match(label.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        msg = f"period {label!r} is not a month YYYY-MM"
        raise DataError(msg)
    start = pd.Timestamp(f"{label.strip()}-01")
    return Period(_local(start), _local(start + pd.offsets.MonthBegin(1)), label.strip())


#: Years a period may fall in (pandas timestamps end in 2262; utility data starts long after 1900).
YEARS = (1900, 2200)


def parse_period(label: str) -> Period:
    """A period from ``YYYY-MM``, ``YYYY-Www`` (ISO week) or ``YYYY-MM-DD``."""
    text = label.strip()
    year = text[:4]
    if year.isdigit() and not YEARS[0] <= int(year) <= YEARS[1]:
        msg = f"period {label!r}: the year must lie in {YEARS[0]}–{YEARS[1]}"
        raise DataError(msg)
    if _MONTH.match(text):
        return month(text)
    if m := _WEEK.match(text):
        try:
            start = pd.Timestamp.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            msg = f"period {label!r} is not an ISO week"
            raise DataError(msg) from None
        return Period(_local(start), _local(start + pd.Timedelta(days=7)), text)
    if _DAY.match(text):
        try:
            start = pd.Timestamp(text)
        except ValueError:
            msg = f"period {label!r} is not a date"
            raise DataError(msg) from None
        return Period(_local(start), _local(start + pd.Timedelta(days=1)), text)
    msg = f"period {label!r}: use YYYY-MM (month), YYYY-Www (ISO week) or YYYY-MM-DD (day)"
    raise DataError(msg)


def period_between(first: str, last: str) -> Period:
    """The days ``first`` … ``last`` inclusive (``YYYY-MM-DD``)."""
    try:
        start, stop = pd.Timestamp(first).normalize(), pd.Timestamp(last).normalize()
    except ValueError as exc:
        msg = f"date range {first!r} … {last!r}: {exc}"
        raise DataError(msg) from None
    if stop < start:
        msg = f"date range ends ({last}) before it starts ({first})"
        raise DataError(msg)
    return Period(_local(start), _local(stop + pd.Timedelta(days=1)), f"{first}..{last}")


def as_period(value: Period | str) -> Period:
    """A :class:`Period` from itself or a label."""
    return value if isinstance(value, Period) else parse_period(value)


#: Event times that say a period has data.
_EVENT_TIMES = (("work_orders", "received_at"), ("outages", "start_at"))


def latest_period(area: ServiceArea, *, unit: str = "month") -> Period:
    """The period every view and verb opens on (SPEC §7a): the latest month (or ISO
    week, ``unit="week"``) with data — work orders received, outages started, energy
    read — up to ``area.as_of``; the period of ``as_of`` itself when there is none.

    Records written to a snapshot after its ``as_of`` do not move it, so a new work
    order never turns the default view into an empty month.
    """
    as_of = area.as_of
    latest = []
    for layer, column in _EVENT_TIMES:
        frame = area.layers[layer]
        if column in frame.columns and (times := frame[column][frame[column] <= as_of]).notna().any():
            latest.append(times.max())
    when = max(latest, default=as_of)
    if unit == "week":
        iso = when.tz_convert(TIMEZONE).isocalendar()
        return parse_period(f"{iso.year:04d}-W{iso.week:02d}")
    if unit != "month":
        msg = f"unit {unit!r}: use month or week"
        raise DataError(msg)
    label = f"{when.tz_convert(TIMEZONE):%Y-%m}"
    read = area.energy_readings["period"].astype("str").str.slice(0, 7)
    read = read[read.str.fullmatch(r"\d{4}-\d{2}") & (read <= f"{as_of:%Y-%m}")]
    return month(max(label, read.max()) if len(read) else label)


__all__ = ["Period", "as_period", "latest_period", "month", "parse_period", "period_between"]
