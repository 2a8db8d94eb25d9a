"""Working days and deadlines: weekends, official holidays, make-up days, the fallback.

Facts used (from the State Council's published 2025 schedule): National Day
and Mid-Autumn 2025 ran Wed 10-01 … Wed 10-08; Sunday 09-28 and Saturday
10-11 were make-up working days. A deadline of N working days ends at
23:59:59 of the N-th working day after the day the clock starts.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from gridservice.errors import DataError
from gridservice.events.calendar import WorkCalendar, is_workday, official_years, work_calendar

TZ = "Asia/Shanghai"


def _ts(*values: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex([pd.Timestamp(v, tz=TZ) for v in values])


def _end(day: str) -> pd.Timestamp:
    return pd.Timestamp(f"{day} 23:59:59", tz=TZ)


def test_official_days_holidays_and_make_up_days() -> None:
    cal = WorkCalendar()
    days = pd.DatetimeIndex(["2025-09-26", "2025-09-27", "2025-09-28", "2025-10-01", "2025-10-06", "2025-10-08",
                             "2025-10-09", "2025-10-11", "2025-10-12"])
    # Fri work, Sat off, Sun make-up work, holiday, holiday (a Monday), holiday, Thu work, Sat make-up, Sun off
    expected = [True, False, True, False, False, False, True, True, False]
    assert cal.is_workday(days).tolist() == expected


def test_deadline_over_a_plain_weekend() -> None:
    # Friday 2026-03-06 + 4 working days: Mon 09, Tue 10, Wed 11, Thu 12.
    due = work_calendar().add_working_days(_ts("2026-03-06 09:00"), 4)
    assert due[0] == _end("2026-03-12")


def test_deadline_across_national_day_and_make_up_days() -> None:
    cal = work_calendar()
    start = _ts("2025-09-26 10:00")
    # 4 days: Sun 09-28 (make-up) 1, Mon 29 2, Tue 30 3, holiday 10-01…08, Thu 10-09 4.
    assert cal.add_working_days(start, 4)[0] == _end("2025-10-09")
    # 9 days: … 10-09 4, Fri 10 5, Sat 11 (make-up) 6, Mon 13 7, Tue 14 8, Wed 15 9.
    assert cal.add_working_days(start, 9)[0] == _end("2025-10-15")


def test_clock_starting_on_a_holiday() -> None:
    # Received Friday 10-03 (holiday), 5 days: Thu 10-09 1, Fri 10 2, Sat 11 (make-up) 3, Mon 13 4, Tue 14 5.
    due = work_calendar().add_working_days(_ts("2025-10-03 16:00"), 5)
    assert due[0] == _end("2025-10-14")


def test_fallback_outside_the_official_years_is_weekends_only() -> None:
    assert 2030 not in official_years()
    assert dt.date(2030, 10, 1).weekday() == 1  # a Tuesday
    cal = WorkCalendar()
    # No official data for 2030: National Day is an ordinary Tuesday, Saturday is off.
    assert cal.is_workday(pd.DatetimeIndex(["2030-10-01", "2030-01-01", "2030-01-05"])).tolist() == [True, True, False]
    # Monday 09-30 + 4: Tue 1, Wed 2, Thu 3, Fri 4.
    assert cal.add_working_days(_ts("2030-09-30 10:00"), 4)[0] == _end("2030-10-04")


def test_extra_holidays_are_days_off() -> None:
    cal = WorkCalendar(["2030-10-01", "2030-10-02", "2030-10-03"])
    # Monday 09-30 + 4 with 1–3 October off: Fri 4, Mon 7, Tue 8, Wed 9.
    assert cal.add_working_days(_ts("2030-09-30 10:00"), 4)[0] == _end("2030-10-09")
    assert not is_workday("2030-10-02", extra_holidays=["2030-10-02"])
    assert is_workday("2030-10-02")


def test_vectorised_with_missing_values_and_per_row_counts() -> None:
    cal = work_calendar()
    start = pd.Series([pd.Timestamp("2026-03-06 09:00", tz=TZ), pd.NaT, pd.Timestamp("2025-09-26 10:00", tz=TZ)])
    due = cal.add_working_days(start, np.array([4, 4, 9]))
    assert due[0] == _end("2026-03-12")
    assert pd.isna(due[1])
    assert due[2] == _end("2025-10-15")


def test_naive_and_other_zone_timestamps_use_the_local_day() -> None:
    cal = work_calendar()
    # 2025-09-27 17:00 UTC is Sunday 09-28 01:00 in Shanghai — a make-up working day.
    utc = pd.DatetimeIndex([pd.Timestamp("2025-09-27 17:00", tz="UTC")])
    assert cal.is_workday(utc).tolist() == [True]
    assert cal.is_workday(pd.DatetimeIndex(["2025-09-28 08:00"])).tolist() == [True]


def test_bad_extra_holiday_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="extra_holidays"):
        WorkCalendar(["2030-13-45"])
