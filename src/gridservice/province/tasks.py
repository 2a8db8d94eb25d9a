"""One county's work: open its store and call the county verb's domain function.

These run in the workers (or in a plain loop); each returns a
:class:`CountyTables` with the tables and how long and how much memory it
took. They print nothing and catch nothing: a county's error travels back
to the client through Dask.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.metrics.audit import audit
from gridservice.metrics.kpi import kpis
from gridservice.metrics.lineloss import line_loss
from gridservice.metrics.period import Period, latest_period, parse_period
from gridservice.metrics.reliability import reliability
from gridservice.model import ServiceArea
from gridservice.workspace import open_area


@dataclass
class CountyTables:
    """What one county's task sends back."""

    period: str
    table: pd.DataFrame  # what the county verb shows (index reset)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)  # the county's own KPI row (index: area)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # of the process that ran it, spent on this county
    pid: int = 0
    peak_rss_mb: float = 0.0  # of the process that ran it, over its life so far


def _period(area: ServiceArea, period: str | None) -> Period:
    return parse_period(period) if period else latest_period(area)


def county_kpi(area: ServiceArea, period: Period, *, by: str, as_of: object | None,
                rules: Rules) -> CountyTables:
    """``gridservice kpi``: KPIs per ``by``, and the county's own row (for the ranking)."""
    loss = line_loss(area, period, rules=rules)
    table = kpis(area, period, by=by, as_of=as_of, loss=loss, rules=rules)
    summary = table if by == "area" else kpis(area, period, by="area", as_of=as_of, loss=loss, rules=rules)
    return CountyTables(period.label, table.reset_index(), summary)


def county_lineloss(area: ServiceArea, period: Period, *, by: str, as_of: object | None,
                    rules: Rules) -> CountyTables:
    """``gridservice lineloss``: line loss per transformer area (``by`` does not apply)."""
    return CountyTables(period.label, line_loss(area, period, rules=rules).reset_index())


def county_reliability(area: ServiceArea, period: Period, *, by: str, as_of: object | None,
                       rules: Rules) -> CountyTables:
    """SAIFI, SAIDI, CAIDI and RS-1 per ``by``."""
    return CountyTables(period.label, reliability(area, period, by=by, as_of=as_of, rules=rules).reset_index())


def county_audit(area: ServiceArea, period: Period, *, by: str, as_of: object | None,
                  rules: Rules) -> CountyTables:
    """``gridservice audit``: every rule's findings (line-loss rules on ``period``)."""
    found = audit(area, as_of=as_of, period=period.label, rules=rules)
    found = pd.DataFrame(found.drop(columns="geometry", errors="ignore"))
    return CountyTables(period.label, found.reset_index(drop=True))


#: The province verbs: name → the county's work on an open area.
COUNTY_WORK: dict[str, Callable[..., CountyTables]] = {
    "kpi": county_kpi,
    "lineloss": county_lineloss,
    "reliability": county_reliability,
    "audit": county_audit,
}


def county_task(verb: str, url: str, *, period: str | None = None, by: str = "area",
                as_of: object | None = None, rules: Rules = DEFAULT_RULES) -> CountyTables:
    """Open the county behind ``url`` and do ``verb``'s work on it (the period defaults to its latest month)."""
    start, cpu = time.perf_counter(), time.process_time()
    area = open_area(url)
    result = COUNTY_WORK[verb](area, _period(area, period), by=by, as_of=as_of, rules=rules)
    result.seconds = time.perf_counter() - start
    result.cpu_seconds = time.process_time() - cpu
    result.pid = os.getpid()
    result.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    return result
