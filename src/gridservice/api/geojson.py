"""Frames → JSON-ready records and GeoJSON, page by page.

Only the rows of one page are converted, so these helpers never walk a
million-row layer; timestamps become ISO 8601 with their offset
(``2026-03-02T09:15:00+08:00``), missing values ``null``.
"""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridservice.io.jsonable import records


def geometries(geoms: Any) -> list[dict[str, Any] | None]:
    """GeoJSON geometry dicts (``None`` for missing or empty)."""
    arr = np.asarray(geoms, dtype=object)
    if not len(arr):
        return []
    missing = shapely.is_missing(arr)
    missing[~missing] = shapely.is_empty(arr[~missing])
    present = arr.copy()
    present[missing] = None
    text = shapely.to_geojson(present)
    return [None if m else json.loads(t) for m, t in zip(missing, text, strict=True)]


def feature_collection(df: pd.DataFrame, **members: Any) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of ``df`` (features keep their key as ``id``)."""
    props = records(df)
    geoms = geometries(df.geometry.to_numpy()) if isinstance(df, gpd.GeoDataFrame) else [None] * len(df)
    ids = [str(i) for i in df.index] if df.index.name else [None] * len(df)
    features = [{"type": "Feature", "id": i, "geometry": g, "properties": p}
                for i, g, p in zip(ids, geoms, props, strict=True)]
    return {"type": "FeatureCollection", "features": features, **members}


def feature(df: pd.DataFrame, **extra: Any) -> dict[str, Any]:
    """The single row of ``df`` as a GeoJSON Feature; ``extra`` joins its properties."""
    fc = feature_collection(df)
    out = fc["features"][0]
    out["properties"].update(extra)
    return out
