"""A province: many county service areas analysed at once on dask.distributed.

Each county is one task that opens its store and calls the SAME domain
function its county verb calls (:mod:`gridservice.metrics`); the client
combines the results, adds a ``county`` column and ranks the counties the way
grids are ranked (:func:`gridservice.metrics.report.grid_ranking`, one level
up). A county that fails (missing, corrupt, invalid) is reported with its
error; the others complete. A worker that dies mid-task is replaced and its
tasks rerun by Dask's scheduler (``distributed.scheduler.allowed-failures``).

Examples
--------
>>> from gridservice.province import cluster, county_stores, run
>>> with cluster(workers=2) as client:  # doctest: +SKIP
...     result = run(client, "kpi", county_stores("province/"), period="2026-11", by="county")
>>> result.ranking[["rank", "score"]]  # doctest: +SKIP
"""

from __future__ import annotations

from gridservice.province.run import VERBS, CountyOutcome, ProvinceResult, cluster, county_ranking, run
from gridservice.province.sources import county_stores

__all__ = ["VERBS", "CountyOutcome", "ProvinceResult", "cluster", "county_ranking", "county_stores", "run"]
