"""Frames → JSON-ready records, the one conversion every face shows rows with.

Timestamps become ISO 8601 with their offset (``2026-03-02T09:15:00+08:00``),
missing values ``null``; geometry columns are left out. Only the rows given
are converted, so a caller pages before it converts.
"""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import pandas as pd


def _iso(s: pd.Series) -> pd.Series:
    text = s.dt.strftime("%Y-%m-%dT%H:%M:%S%z").str.replace(r"(\d\d)(\d\d)$", r"\1:\2", regex=True)
    return text.where(s.notna(), None)


def records(df: pd.DataFrame, *, index: bool = True) -> list[dict[str, Any]]:
    """Rows as dicts (the key index first, no geometry)."""
    frame = pd.DataFrame(df.drop(columns=[c for c in df.columns if c == "geometry" or
                                          isinstance(df[c].dtype, gpd.array.GeometryDtype)]))
    if index and frame.index.name:
        frame = frame.reset_index()
    for c in frame.columns:
        if isinstance(frame[c].dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(frame[c].dtype):
            frame[c] = _iso(frame[c])
    return json.loads(frame.to_json(orient="records", force_ascii=False, date_format="iso"))


__all__ = ["records"]
