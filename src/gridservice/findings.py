"""Findings: the one shape every check returns.

A finding is a row: which ``check`` fired, its ``severity`` (``error`` or
``warning``), the ``layer`` and ``feature_id`` it is about, a ``message`` a
person can act on, and a ``geometry`` (EPSG:4326) so a map can show it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import geopandas as gpd
import pandas as pd

from gridservice.schema import CRS

COLUMNS = ["check", "severity", "layer", "feature_id", "message"]


def findings(rows: Iterable[Mapping[str, object]] | pd.DataFrame = ()) -> gpd.GeoDataFrame:
    """Build a findings frame from records (missing fields become empty)."""
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = pd.Series(dtype="str")
    geometry = df["geometry"] if "geometry" in df.columns else gpd.GeoSeries([None] * len(df), index=df.index)
    if geometry.dtype.kind == "f":  # records without any geometry (attribute layers): all missing, read as NaN
        geometry = gpd.GeoSeries([None] * len(df), index=df.index)
    extra = [c for c in df.columns if c not in COLUMNS and c != "geometry"]
    out = gpd.GeoDataFrame(df[COLUMNS + extra], geometry=gpd.GeoSeries(geometry, crs=CRS), crs=CRS)
    return out.reset_index(drop=True)


def concat(frames: Iterable[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Stack findings frames."""
    parts = [f for f in frames if len(f)]
    if not parts:
        return findings()
    return findings(pd.concat(parts, ignore_index=True))
