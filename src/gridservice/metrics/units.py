"""The units figures are reported by: grids, stations or the whole area."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from gridservice.errors import DataError
from gridservice.model import ServiceArea

By = Literal["grid", "station", "area"]
KEYS: dict[str, str] = {"grid": "grid_id", "station": "station_id", "area": "area"}


def check_by(by: str) -> str:
    """The unit's key column, or a DataError for an unknown unit."""
    if by not in KEYS:
        msg = f"cannot group by {by!r}: use grid, station or area"
        raise DataError(msg)
    return KEYS[by]


def unit_index(area: ServiceArea, by: str) -> pd.Index:
    """Every unit of the area, named after its key (``grid_id`` …), even those with no activity."""
    key = check_by(by)
    if by == "grid":
        return pd.Index(area.grids.index.astype("str"), name=key)
    if by == "station":
        owners = pd.Index(area.grids["station_id"].dropna().astype("str"))
        ids = pd.Index(area.stations.index.astype("str")).append(owners)
        return pd.Index(ids.unique().sort_values(), name=key)
    return pd.Index(["all"], name=key)


def units_of(area: ServiceArea, grid_ids: pd.Series, by: str) -> pd.Series:
    """The unit of each row given its grid (NaN where the grid is unknown, except for ``area``)."""
    check_by(by)
    if by == "grid":
        return grid_ids.astype("str")
    if by == "station":
        return grid_ids.map(area.grids["station_id"]).astype("str")
    return pd.Series(np.full(len(grid_ids), "all", dtype=object), index=grid_ids.index, dtype="str")


def unit_names(area: ServiceArea, by: str) -> pd.Series:
    """Display names of the units."""
    idx = unit_index(area, by)
    if by == "grid":
        return area.grids["name"].reindex(idx).astype("str")
    if by == "station":
        return area.stations["name"].reindex(idx).astype("str") if len(area.stations) else pd.Series(
            np.nan, index=idx, dtype="str")
    return pd.Series([area.name], index=idx, dtype="str")


__all__ = ["KEYS", "By", "check_by", "unit_index", "unit_names", "units_of"]
