"""Every check ``gridservice validate`` runs, in one list.

Each check takes a :class:`~gridservice.model.ServiceArea` and returns a
findings frame (:mod:`gridservice.findings`). Later stages add theirs here.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd

from gridservice.findings import concat
from gridservice.model import ServiceArea, check_integrity

Check = Callable[[ServiceArea], gpd.GeoDataFrame]

CHECKS: list[Check] = [check_integrity]


def validate(area: ServiceArea) -> gpd.GeoDataFrame:
    """Run every check and stack the findings."""
    return concat(check(area) for check in CHECKS)
