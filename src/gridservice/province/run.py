"""Run a province verb on a dask.distributed cluster and combine the counties.

:func:`cluster` gives a client: a ``LocalCluster`` of worker processes on
this machine (listening on 127.0.0.1 only), or an existing scheduler's.
:func:`run` submits one task per county (:func:`~gridservice.province.tasks.county_task`),
collects them as they complete and returns a :class:`ProvinceResult`:

* ``table`` — the county verb's rows for every county, with ``county`` first;
* ``counties`` — for ``kpi``, each county's own KPI row (``kpis(by="area")``);
* ``ranking`` — for ``kpi``, the counties ranked by the grid ranking's method
  (:func:`~gridservice.metrics.report.grid_ranking` on each county's own KPI row);
* ``errors`` — one row per county that failed: ``county``, ``store``, ``error``;
* ``timings`` — per county: wall and CPU seconds, the worker's process id and peak RSS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import dask
import pandas as pd
from distributed import Client, LocalCluster, as_completed

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.metrics.report import grid_ranking
from gridservice.province.tasks import COUNTY_WORK, county_task

VERBS = tuple(COUNTY_WORK)


@dataclass
class CountyOutcome:
    """One county's result as the client sees it: its tables, or the error that stopped it."""

    county: str
    store: str
    tables: Any = None  # a CountyTables for the verbs; what the task returned otherwise
    error: str | None = None


@dataclass
class ProvinceResult:
    """The combined tables (see the module doc)."""

    verb: str
    table: pd.DataFrame
    ranking: pd.DataFrame = field(default_factory=pd.DataFrame)
    counties: pd.DataFrame = field(default_factory=pd.DataFrame)  # kpi: each county's own row, by county
    errors: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["county", "store", "error"]))
    timings: pd.DataFrame = field(default_factory=pd.DataFrame)


@contextmanager
def cluster(*, workers: int = 2, scheduler: str | None = None) -> Iterator[Client]:
    """A client on the scheduler at ``scheduler`` (``tcp://HOST:8786``), else on a new local cluster of
    ``workers`` single-threaded worker processes, closed on exit.

    The local workers do not sample their stacks (Dask's profiler, for the dashboard): every 10 ms it
    costs a county task a third more CPU time (measured with benchmarks/province.py's counties).
    """
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with dask.config.set({"distributed.worker.profile.enabled": False}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address="127.0.0.1:0") as local, Client(local) as client:
        yield client


def dashboard_link(client: Client) -> str | None:
    """The scheduler's dashboard address, when its scheduler can draw one (it needs ``bokeh``)."""
    has_bokeh = client.run_on_scheduler(_scheduler_has_bokeh)
    return client.dashboard_link if has_bokeh else None


def _scheduler_has_bokeh() -> bool:
    import importlib.util

    return importlib.util.find_spec("bokeh") is not None


def _error_text(exc: BaseException) -> str:
    return str(exc) if type(exc).__module__.startswith("gridservice") else f"{type(exc).__name__}: {exc}"


def run(
    client: Client,
    verb: str,
    stores: Mapping[str, str],
    *,
    period: str | None = None,
    by: str = "area",
    as_of: object | None = None,
    rules: Rules = DEFAULT_RULES,
    on_done: Callable[[CountyOutcome], None] | None = None,
) -> ProvinceResult:
    """Run ``verb`` (:data:`VERBS`) for every county of ``stores`` (county → store URL) on ``client``'s
    cluster; ``on_done`` is called as each county completes or fails."""
    if verb not in COUNTY_WORK:
        msg = f"unknown province verb {verb!r}; expected one of {', '.join(VERBS)}"
        raise ValueError(msg)
    outcomes = gather(client, county_task, {c: (verb, url) for c, url in stores.items()}, stores,
                      options={"period": period, "by": by, "as_of": as_of, "rules": rules}, prefix=verb,
                      on_done=on_done)
    pids = {pid: address for address, pid in client.run(_pid).items()}
    return combine(verb, outcomes, workers=pids)


def gather(client: Client, fn: Callable[..., Any], args: Mapping[str, tuple[Any, ...]], stores: Mapping[str, str], *,
           options: Mapping[str, Any], prefix: str,
           on_done: Callable[[CountyOutcome], None] | None = None) -> list[CountyOutcome]:
    """Run ``fn(*args[county], **options)`` for every county on the cluster; the outcomes in ``stores``' order,
    each with its result or the error that stopped it."""
    futures = {client.submit(fn, *args[county], **options, key=f"{prefix}-{county}", pure=False): county
               for county in stores}
    outcomes: dict[str, CountyOutcome] = {}
    for future in as_completed(futures):
        county = futures[future]
        outcome = CountyOutcome(county, stores[county])
        if future.status == "error":
            outcome.error = _error_text(future.exception())
        else:
            outcome.tables = future.result()
        outcomes[county] = outcome
        if on_done is not None:
            on_done(outcome)
        future.release()
    return [outcomes[c] for c in stores]


def _pid() -> int:
    import os

    return os.getpid()


def combine(verb: str, outcomes: list[CountyOutcome], *, workers: Mapping[int, str] | None = None) -> ProvinceResult:
    """The counties' outcomes as one :class:`ProvinceResult` (counties in the order given)."""
    done = [o for o in outcomes if o.tables is not None]
    parts = [o.tables.table.assign(county=o.county) for o in done]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["county"])
    table = table[["county", *[c for c in table.columns if c != "county"]]]
    errors = pd.DataFrame([{"county": o.county, "store": o.store, "error": o.error} for o in outcomes if o.error],
                          columns=["county", "store", "error"])
    timings = pd.DataFrame(
        [{"county": o.county, "period": o.tables.period, "seconds": o.tables.seconds,
          "cpu_seconds": o.tables.cpu_seconds, "pid": o.tables.pid,
          "worker": (workers or {}).get(o.tables.pid, "local"), "peak_rss_mb": o.tables.peak_rss_mb}
         for o in done],
        columns=["county", "period", "seconds", "cpu_seconds", "pid", "worker", "peak_rss_mb"])
    ranking = counties = pd.DataFrame()
    if verb == "kpi":
        summary = {o.county: o.tables.summary for o in done}
        ranking = county_ranking(summary)
        if summary:
            counties = pd.concat([f.iloc[[0]].set_axis([c]) for c, f in summary.items()]).rename_axis("county")
    return ProvinceResult(verb, table, ranking, counties, errors, timings)


def county_ranking(summaries: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Rank counties by the grid ranking's measures and method, each county's own KPI row (``kpis(by="area")``)
    standing for it; indexed by ``county``."""
    rows = [frame.iloc[[0]].set_axis([county]) for county, frame in summaries.items() if len(frame)]
    if not rows:
        return pd.DataFrame(columns=["rank", "score", "name"]).rename_axis("county")
    ranking = grid_ranking(pd.concat(rows))
    ranking.index.name = "county"
    return ranking
