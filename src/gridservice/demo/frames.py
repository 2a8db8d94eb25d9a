"""Turn the demo's index arrays into the declared layers (``schema.LAYERS``)."""

from __future__ import annotations

from collections.abc import Mapping, Sized
from typing import TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa

from gridservice import schema
from gridservice.demo import _text
from gridservice.demo.geography import AREA_CLASS_NAMES, TOWNS, Grids, Territory

Column: TypeAlias = object  # a Series, Arrow array, numpy array, list or scalar


def local_times(values: np.ndarray) -> pd.Series:
    """Naive local ``datetime64`` values (NaT allowed) as Asia/Shanghai timestamps."""
    idx = pd.DatetimeIndex(np.asarray(values, dtype="datetime64[s]")).tz_localize(schema.TIMEZONE)
    return pd.Series(idx.as_unit("ns"))


def _width(n: int, minimum: int) -> int:
    return max(minimum, len(str(max(n, 1))))


def serial_ids(prefix: str, n: int, minimum: int) -> pa.Array:
    """``prefix`` + zero-padded 1-based serials wide enough for ``n``."""
    return _text.ids(prefix, n, width=_width(n, minimum))


def _column(value: Column, n: int, kind: str) -> pd.Series:
    if isinstance(value, pd.Series):
        s = value.reset_index(drop=True)
    elif isinstance(value, pa.Array | pa.ChunkedArray):
        s = _text.series(value)
    elif np.isscalar(value) or value is None:
        s = pd.Series([value] * n)
    else:
        s = pd.Series(value)
    if kind == "str":
        if s.dtype != "str":
            s = s.astype("str")
    elif kind == "float":
        s = s.astype("float64")
    elif kind == "int":
        s = s.astype("Int64") if s.isna().any() else s.astype("int64")
    elif kind == "bool":
        s = s.astype(bool)
    return s


def frame(
    layer: str,
    columns: Mapping[str, Column],
    *,
    geometry: np.ndarray | None = None,
    extras: Mapping[str, tuple[str, Column]] | None = None,
) -> pd.DataFrame:
    """A layer's frame: declared columns in order, then ``extras``, then geometry.

    ``columns`` must give every declared column; ``extras`` maps a column name
    to ``(kind, values)``. Layers with geometry come back as GeoDataFrames in
    EPSG:4326.
    """
    spec = schema.LAYERS[layer]
    n = len(geometry) if geometry is not None else None
    if n is None:
        first = next(iter(columns.values()))
        n = len(first) if isinstance(first, Sized) and not isinstance(first, str) else 1
    data: dict[str, pd.Series] = {}
    for col in spec.columns:
        data[col.name] = _column(columns[col.name], n, col.kind)
    for name, (kind, value) in (extras or {}).items():
        data[name] = _column(value, n, kind)
    df = pd.DataFrame(data)
    if spec.geometry is not None:
        geom = geometry if geometry is not None else np.full(n, None, dtype=object)
        return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geom, crs=schema.CRS), crs=schema.CRS)
    return df


def empty(layer: str) -> pd.DataFrame:
    """An empty frame with the layer's declared columns and kinds."""
    kinds = {"str": "str", "float": "float64", "int": "int64", "bool": "bool",
             "datetime": f"datetime64[ns, {schema.TIMEZONE}]"}  # fmt: skip
    spec = schema.LAYERS[layer]
    df = pd.DataFrame({c.name: pd.Series([], dtype=kinds[c.kind]) for c in spec.columns})
    if spec.geometry is not None:
        return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries([], crs=schema.CRS), crs=schema.CRS)
    return df


def grid_frames(
    terr: Territory, grids: Grids, station_ids: list[str], grid_ids: pa.Array, created: np.datetime64
) -> dict[str, pd.DataFrame]:
    """``grids``, ``plan_versions`` and ``grid_history`` for plan version 1."""
    geom = terr.geoms_to_lonlat(grids.geom)
    area = [AREA_CLASS_NAMES[c] for c in grids.area_class]
    stations = [station_ids[s] for s in grids.station]
    out = {
        "grids": frame(
            "grids",
            {"grid_id": grid_ids, "code": grids.code, "name": grids.name, "station_id": stations,
             "area_class": area, "plan_version": np.ones(len(geom), np.int64)},
            geometry=geom,
        ),
        "plan_versions": frame(
            "plan_versions",
            {"plan_version": [1], "base_version": pd.array([pd.NA], dtype="Int64"), "author": ["demo"],
             "note": ["演示数据生成的初始网格方案"], "committed_at": local_times(np.array([created])),
             "forced_reason": pd.Series([None], dtype="str")},
        ),
        "grid_history": frame(
            "grid_history",
            {"plan_version": np.ones(len(geom), np.int64), "grid_id": grid_ids, "code": grids.code,
             "name": grids.name, "station_id": stations, "area_class": area},
            geometry=geom.copy(),
        ),
    }  # fmt: skip
    return out


def station_names(station_towns: list[int]) -> list[str]:
    """城区供电所 for the seat, else ``<town>供电所``."""
    return ["城区供电所" if t == 0 else f"{TOWNS[t][0][:2]}供电所" for t in station_towns]
