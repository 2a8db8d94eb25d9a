"""The product's one clock (SPEC §7a).

Live data is judged at the real now. ``GRIDSERVICE_NOW`` (an ISO time such as
``2026-11-30T18:00+08:00``; a naive time is read in Asia/Shanghai) freezes the
clock for every process that inherits it: the test suite pins time this way,
and a report can be re-run exactly as it was on a given day.

A snapshot such as the demo also carries ``service_area.as_of``, the moment it
describes (:attr:`gridservice.model.ServiceArea.as_of`); that is a property
of the data, not of the clock.
"""

from __future__ import annotations

import os
from functools import lru_cache

import pandas as pd

from gridservice.errors import DataError
from gridservice.schema import TIMEZONE

#: The environment variable that freezes the clock.
FROZEN = "GRIDSERVICE_NOW"


def now() -> pd.Timestamp:
    """The current time in the service area's timezone (millisecond precision).

    >>> now().tz.key
    'Asia/Shanghai'
    """
    frozen = os.environ.get(FROZEN, "").strip()
    if frozen:
        return _parse(frozen)
    return pd.Timestamp.now(tz=TIMEZONE).floor("ms")


@lru_cache(maxsize=8)
def _parse(text: str) -> pd.Timestamp:
    return timestamp(text, what=f"{FROZEN} (write it like 2026-11-30T18:00+08:00)")


def timestamp(value: object, *, what: str = "timestamp") -> pd.Timestamp:
    """A timezone-aware timestamp (naive values are Asia/Shanghai), or a DataError."""
    try:
        ts = pd.Timestamp(value)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        msg = f"{what} {value!r} is not a timestamp"
        raise DataError(msg) from exc
    if pd.isna(ts):
        msg = f"{what} is missing"
        raise DataError(msg)
    ts = ts.tz_localize(TIMEZONE) if ts.tz is None else ts.tz_convert(TIMEZONE)
    return ts.as_unit("ms")
