"""Every check ``gridservice validate`` runs, in one list.

Each check takes a :class:`~gridservice.model.ServiceArea` and the rules in
force (``rules=``, a :class:`~gridservice.config.Rules`) and returns a
findings frame (:mod:`gridservice.findings`). A new check is added to
:data:`CHECKS` and nowhere else.
"""

from __future__ import annotations

from typing import Protocol

import geopandas as gpd
import pandas as pd
import shapely

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.findings import concat, findings
from gridservice.metrics.audit import check_event_times
from gridservice.model import ServiceArea, check_integrity
from gridservice.spatial.locate import check_unlocated
from gridservice.spatial.plan import check_grids
from gridservice.topology.checks import check_network


class Check(Protocol):
    """``check(area, rules=rules) → findings``."""

    def __call__(self, area: ServiceArea, *, rules: Rules = ...) -> gpd.GeoDataFrame: ...


#: Where a station's territory and its grids may differ without a finding (digitising noise), in m².
TERRITORY_TOLERANCE_M2 = 10_000.0


def check_station_territories(area: ServiceArea, *, rules: Rules = DEFAULT_RULES) -> gpd.GeoDataFrame:
    """Stations drawn as a territory (``stations.territory``) that do not match the union of
    their grids: one warning per station, its geometry the area that differs. (``rules`` is
    not used: it is taken so that every check has one signature.)"""
    stations = area.stations
    if "territory" not in stations.columns or not stations["territory"].notna().any():
        return findings()
    drawn = stations["territory"].dropna()
    territory = gpd.GeoSeries(shapely.from_wkt(drawn.to_numpy()), index=drawn.index, crs=area.grids.crs)
    grids = area.grids.geometry.groupby(area.grids["station_id"]).agg(lambda g: shapely.union_all(g.to_numpy()))
    covered = gpd.GeoSeries(grids.reindex(territory.index).to_numpy(), index=territory.index, crs=territory.crs)
    covered = covered.where(covered.notna(), shapely.Polygon())
    without_grids = area.to_metric(territory.difference(covered))
    outside = area.to_metric(covered.difference(territory))
    bad = ((without_grids.area > TERRITORY_TOLERANCE_M2) | (outside.area > TERRITORY_TOLERANCE_M2)).to_numpy()
    if not bad.any():
        return findings()
    ids = territory.index[bad]
    message = [
        f"station {sid}: its territory differs from the union of its grids — {a / 1e6:.2f} km² of territory "
        f"without its grids, {b / 1e6:.2f} km² of its grids outside the territory"
        for sid, a, b in zip(ids, without_grids.area[bad], outside.area[bad], strict=True)
    ]
    return findings(pd.DataFrame({
        "check": "station_territory", "severity": "warning", "layer": "stations", "feature_id": ids,
        "message": message, "geometry": territory[bad].symmetric_difference(covered[bad]).to_numpy(),
    }))


CHECKS: list[Check] = [
    check_integrity, check_grids, check_unlocated, check_network, check_event_times, check_station_territories,
]


def validate(area: ServiceArea, *, rules: Rules = DEFAULT_RULES) -> gpd.GeoDataFrame:
    """Run every check under ``rules`` and stack the findings."""
    return concat(check(area, rules=rules) for check in CHECKS)
