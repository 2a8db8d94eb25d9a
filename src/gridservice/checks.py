"""Every check ``gridservice validate`` runs, in one list.

Each check takes a :class:`~gridservice.model.ServiceArea` and returns a
findings frame (:mod:`gridservice.findings`). A new check is added to
:data:`CHECKS` and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd

from gridservice.findings import concat
from gridservice.metrics.audit import check_event_times
from gridservice.model import ServiceArea, check_integrity
from gridservice.spatial.locate import check_unlocated
from gridservice.spatial.plan import check_grids
from gridservice.topology.checks import check_network

Check = Callable[[ServiceArea], gpd.GeoDataFrame]

CHECKS: list[Check] = [check_integrity, check_grids, check_unlocated, check_network, check_event_times]


def validate(area: ServiceArea) -> gpd.GeoDataFrame:
    """Run every check and stack the findings."""
    return concat(check(area) for check in CHECKS)
