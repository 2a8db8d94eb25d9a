"""Bring a frame to its declared schema, or say exactly which row is wrong.

:func:`conform` is the boundary check: it coerces every declared column to
its kind, checks required values, choices and unique keys, and raises one
:class:`~gridservice.errors.DataError` that names the source, the row, the
column and the problem. Columns beyond the declaration are kept.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridservice.errors import DataError
from gridservice.schema import CRS, LAYERS, TIMEZONE, Column, Layer

#: How many bad rows one error message quotes.
_QUOTE = 3

DTYPES = {"str": "str", "float": "float64", "bool": "bool"}


def layer(name: str) -> Layer:
    """The declared layer ``name``, or a clear error."""
    try:
        return LAYERS[name]
    except KeyError:
        known = ", ".join(LAYERS)
        msg = f"unknown layer {name!r}; layers are: {known}"
        raise DataError(msg) from None


def _fail(source: str, rows: pd.Index, column: str, problem: str, values: pd.Series) -> None:
    shown = "; ".join(f"row {r}: {v!r}" for r, v in zip(rows[:_QUOTE], values[:_QUOTE], strict=False))
    more = f" (and {len(rows) - _QUOTE} more rows)" if len(rows) > _QUOTE else ""
    msg = f"{source}: column {column!r} {problem} — {shown}{more}"
    raise DataError(msg)


def _row_labels(df: pd.DataFrame, mask: np.ndarray, row_offset: int) -> pd.Index:
    """Human row numbers: position in the file plus ``row_offset``."""
    return pd.Index(np.flatnonzero(mask) + row_offset)


def _coerce(col: Column, s: pd.Series, source: str, row_offset: int) -> pd.Series:
    if _has_kind(s, col):
        return s
    present = s.notna().to_numpy()
    if col.kind == "str":
        out = s.astype("str")
        out[~present] = np.nan
        return out
    if col.kind in ("float", "int"):
        out = pd.to_numeric(s, errors="coerce")
        bad = present & out.isna().to_numpy()
        if bad.any():
            _fail(source, _row_labels(s, bad, row_offset), col.name, "is not a number", s[bad])
        if col.kind == "int":
            frac = present & (out.fillna(0) % 1 != 0).to_numpy()
            if frac.any():
                _fail(source, _row_labels(s, frac, row_offset), col.name, "is not a whole number", s[frac])
            return out.astype("int64" if col.required else "Int64")
        return out.astype("float64")
    if col.kind == "bool":
        if s.dtype == bool:
            return s
        text = s.astype("str").str.strip().str.lower()
        mapping = {"true": True, "1": True, "yes": True, "是": True, "1.0": True,
                   "false": False, "0": False, "no": False, "否": False, "0.0": False}
        out = text.map(mapping)
        bad = present & out.isna().to_numpy()
        if bad.any():
            _fail(source, _row_labels(s, bad, row_offset), col.name, "is not true/false", s[bad])
        return out.fillna(False).astype(bool)
    if col.kind == "datetime":
        return to_datetime(s, column=col.name, source=source, row_offset=row_offset)
    msg = f"column {col.name!r} has unknown kind {col.kind!r}"
    raise DataError(msg)


def _has_kind(s: pd.Series, col: Column) -> bool:
    """Already the declared dtype: nothing to do (the fast path for store reads)."""
    if col.kind == "str":
        return s.dtype == "str"
    if col.kind == "float":
        return s.dtype == "float64"
    if col.kind == "int":
        return s.dtype == ("int64" if col.required else "Int64")
    if col.kind == "bool":
        return s.dtype == bool
    return str(s.dtype) == f"datetime64[ms, {TIMEZONE}]"


def to_datetime(s: pd.Series, *, column: str, source: str, row_offset: int = 0) -> pd.Series:
    """Parse timestamps; naive ones are local time (Asia/Shanghai)."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        out = s.dt.tz_convert(TIMEZONE)
    elif pd.api.types.is_datetime64_dtype(s.dtype):
        out = s.dt.tz_localize(TIMEZONE)
    else:
        present = s.notna().to_numpy()
        text = s.astype("str").where(present)
        parsed = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
        naive = present & ~text.fillna("").str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).to_numpy()
        if naive.any():
            local = pd.to_datetime(text[naive], errors="coerce", format="mixed")
            parsed[naive] = local.dt.tz_localize(TIMEZONE, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
        bad = present & parsed.isna().to_numpy()
        if bad.any():
            _fail(source, _row_labels(s, bad, row_offset), column, "is not a timestamp", s[bad])
        out = parsed.dt.tz_convert(TIMEZONE)
    return out.astype(f"datetime64[ms, {TIMEZONE}]")


def conform(
    name: str,
    df: pd.DataFrame,
    *,
    source: str = "",
    row_offset: int = 0,
    check_values: bool = True,
) -> pd.DataFrame:
    """Coerce ``df`` to layer ``name`` and check it.

    Parameters
    ----------
    name
        Layer name from :data:`gridservice.schema.LAYERS`.
    df
        The rows, with the key as a column or as the index.
    source
        What to call the input in error messages (a file name).
    row_offset
        Added to row positions in messages (2 for a CSV with a header line).
    check_values
        Check required values, choices and unique keys (skip for trusted
        reads of our own store, where only dtypes are restored).

    Returns
    -------
    pandas.DataFrame
        Indexed by the layer's key (the key is not a column); a GeoDataFrame
        in EPSG:4326 when the layer has geometry.
    """
    spec = layer(name)
    source = source or name
    if spec.key and spec.key not in df.columns and df.index.name == spec.key:
        df = df.reset_index()
    df = df.copy(deep=False)  # copy-on-write: the caller's frame is never changed
    missing = [c.name for c in spec.columns if c.name not in df.columns and (c.required)]
    if missing and check_values and len(df):
        msg = f"{source}: missing required column(s) {', '.join(missing)} for layer {name!r}"
        raise DataError(msg)
    n = len(df)
    for col in spec.columns:
        if col.name not in df.columns:
            df[col.name] = pd.Series(_empty(col, n), index=df.index)
            continue
        s = _coerce(col, df[col.name], source, row_offset)
        if check_values:
            if col.required:
                bad = s.isna().to_numpy()
                if bad.any():
                    _fail(source, _row_labels(s, bad, row_offset), col.name, "is empty", df[col.name][bad])
            if col.choices:
                bad = (s.notna() & ~s.isin(col.choices)).to_numpy()
                if bad.any():
                    allowed = "/".join(col.choices)
                    _fail(source, _row_labels(s, bad, row_offset), col.name, f"must be one of {allowed}", s[bad])
            if col.pattern:
                bad = (s.notna() & ~s.astype("str").str.fullmatch(col.pattern[0]).fillna(False)).to_numpy()
                if bad.any():
                    _fail(source, _row_labels(s, bad, row_offset), col.name, col.pattern[1], s[bad])
        df[col.name] = s
    if check_values:
        keys = [spec.key] if spec.key else list(spec.unique)
        if keys:
            dup = df.duplicated(keys, keep="first").to_numpy()
            if dup.any():
                what = "is a duplicate id" if spec.key else f"repeats ({', '.join(keys)})"
                _fail(source, _row_labels(df, dup, row_offset), keys[0], what, df[keys[0]][dup])
        if spec.key and spec.unique:  # a keyed layer may also hold a natural key unique (a shift: staff, date)
            dup = df.duplicated(list(spec.unique), keep="first").to_numpy()
            if dup.any():
                _fail(source, _row_labels(df, dup, row_offset), spec.unique[0],
                      f"repeats ({', '.join(spec.unique)})", df[spec.unique[0]][dup])
    extra = [c for c in df.columns if c not in spec.column_names and c != "geometry"]
    for c in extra:  # timestamps a user's data brings are local time too
        if isinstance(df[c].dtype, pd.DatetimeTZDtype) and str(df[c].dtype) != f"datetime64[ms, {TIMEZONE}]":
            df[c] = df[c].dt.tz_convert(TIMEZONE).astype(f"datetime64[ms, {TIMEZONE}]")
    ordered = spec.column_names + extra
    if spec.geometry is not None:
        geo = df if isinstance(df, gpd.GeoDataFrame) else gpd.GeoDataFrame(df, geometry=_geometry_column(df, n))
        if geo.crs is None:
            geo = geo.set_crs(CRS)
        elif geo.crs != CRS:
            geo = geo.to_crs(CRS)
        if check_values:
            _check_geometry(spec, geo, source, row_offset)
        out = gpd.GeoDataFrame(geo[ordered], geometry=geo.geometry.rename("geometry"), crs=CRS)
    else:
        out = pd.DataFrame(df[ordered])
    return out.set_index(spec.key) if spec.key else out.reset_index(drop=True)


def _geometry_column(df: pd.DataFrame, n: int) -> gpd.GeoSeries:
    if "geometry" in df.columns:
        return gpd.GeoSeries(df["geometry"], crs=CRS)
    return gpd.GeoSeries([None] * n, index=df.index, crs=CRS)


def _empty(col: Column, n: int) -> object:
    if col.kind == "bool":
        return np.zeros(n, dtype=bool)
    if col.kind == "float":
        return np.full(n, np.nan)
    if col.kind == "int":
        return np.zeros(n, dtype="int64") if col.required else pd.array([pd.NA] * n, dtype="Int64")
    if col.kind == "datetime":
        return pd.array([pd.NaT] * n, dtype=f"datetime64[ms, {TIMEZONE}]")
    return pd.array([np.nan] * n, dtype="str")


def _check_geometry(spec: Layer, geo: gpd.GeoDataFrame, source: str, row_offset: int) -> None:
    geoms = geo.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if spec.geometry_required and missing.any():
        _fail(source, _row_labels(geo, missing, row_offset), "geometry", "is missing", geo.geometry[missing])
    types = shapely.get_type_id(geoms)
    allowed = [_TYPE_IDS[t] for t in spec.geometry or ()]
    bad = ~missing & ~np.isin(types, allowed)
    if bad.any():
        kinds = "/".join(spec.geometry or ())
        _fail(source, _row_labels(geo, bad, row_offset), "geometry", f"must be {kinds}",
              pd.Series(shapely.get_type_id(geoms[bad])).map(_TYPE_NAMES))
    if spec.geometry is not None and "Polygon" in spec.geometry:
        invalid = ~missing & ~shapely.is_valid(geoms)
        if invalid.any():
            reasons = pd.Series(shapely.is_valid_reason(geoms[invalid]))
            _fail(source, _row_labels(geo, invalid, row_offset), "geometry", "is an invalid polygon", reasons)


_TYPE_IDS = {"Point": 0, "LineString": 1, "Polygon": 3, "MultiPoint": 4, "MultiLineString": 5, "MultiPolygon": 6}
_TYPE_NAMES = {v: k for k, v in _TYPE_IDS.items()} | {2: "LinearRing", 7: "GeometryCollection"}


def to_storage(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """The frame as it is written: key back as the first column."""
    spec = LAYERS.get(name)
    if spec is not None and spec.key and df.index.name == spec.key:
        df = df.reset_index()
    return df
