"""Import a layer from GeoJSON, GeoPackage, Shapefile or CSV, and export one.

Import is the boundary: the file is read, its coordinates are checked
(swapped lon/lat, metres passed as degrees, GCJ-02/BD-09 converted to
WGS-84), every row is conformed to the layer's schema and every foreign key
resolved. Only then is anything written, in one transaction. A bad row gives
one :class:`~gridservice.errors.DataError` naming the file, row and column.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import uuid
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely
from pyproj import CRS as ProjCRS  # noqa: N811
from pyproj.exceptions import CRSError

from gridservice import coords
from gridservice.errors import CoordinateSystemError, DataError
from gridservice.io.store import APPEND_ONLY, GeoPackageStore
from gridservice.io.tables import conform, layer, to_storage
from gridservice.lookup import contains
from gridservice.schema import CRS, LAYERS, TIMEZONE

GEO_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb"}
LON_NAMES = ("lon", "lng", "longitude", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")
#: Where Chinese utility data can be: lon 73–136 °E, lat 3–54 °N.
CHINA_BOUNDS = (73.0, 3.0, 136.0, 54.0)
CHINESE_SYSTEMS = ("gcj02", "bd09")


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote."""

    layer: str
    rows: int
    replaced: bool
    total: int


def read_table(path: str | Path, *, encoding: str = "auto") -> pd.DataFrame:
    """Read a CSV as text columns, decoding UTF-8 or GBK.

    ``encoding="auto"`` tries UTF-8 first and falls back to GB18030 (a
    superset of GBK, what Chinese Excel exports). An explicit encoding that
    does not fit the bytes is an error saying which encoding would.
    """
    path = Path(path)
    raw = path.read_bytes()
    if encoding == "auto":
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = _decode(raw, "gb18030", path)
    else:
        text = _decode(raw, encoding, path)
    try:
        return pd.read_csv(StringIO(text), dtype="str", keep_default_na=False, na_values=[""], skipinitialspace=True)
    except pd.errors.ParserError as exc:
        msg = f"{path}: not a readable CSV ({exc})"
        raise DataError(msg) from None
    except pd.errors.EmptyDataError:
        msg = f"{path}: the file is empty (not even a header line)"
        raise DataError(msg) from None


ENCODINGS = ("auto", "utf-8", "utf8", "gbk", "gb18030")


def read_gis(path: str | Path, *, encoding: str = "auto") -> pd.DataFrame:
    """A GeoJSON, GeoPackage or Shapefile as a frame, its text decoded as ``encoding``.

    Text that is not UTF-8 under ``auto`` is an error that says to pass
    ``--encoding gbk``, never garbled names: GDAL reads a Shapefile without a
    ``.cpg`` as Latin-1, so Chinese text that turns out that way is caught too.
    """
    path = Path(path)
    if encoding.lower() not in ENCODINGS:
        msg = f"unknown encoding {encoding!r}: use auto, utf-8 or gbk"
        raise DataError(msg)
    hint = f"{path}: its text is not UTF-8 — it looks GBK-encoded: pass --encoding gbk"
    try:
        if encoding.lower() in ("gbk", "gb18030"):
            return pyogrio.read_dataframe(path, encoding="gb18030")  # Arrow reads UTF-8 only
        df = pyogrio.read_dataframe(path, use_arrow=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        msg = f"{path}: cannot be read as a GIS file ({exc})"
        raise DataError(msg) from None
    except (UnicodeDecodeError, pa.ArrowException):
        raise DataError(hint) from None
    for col in df.columns:  # GDAL hands non-UTF-8 bytes through as they are
        if col != "geometry" and pd.api.types.is_string_dtype(df[col].dtype):
            try:
                pa.array(df[col].array, type=pa.string()).validate(full=True)
            except (pa.ArrowInvalid, pa.ArrowException):
                raise DataError(hint) from None
    if encoding == "auto" and path.suffix.lower() in (".shp", ".zip") and _latin1_chinese(df):
        raise DataError(hint)
    return df


def _latin1_chinese(df: pd.DataFrame) -> bool:
    """Whether text read as Latin-1 is really GBK (bytes 0x80–0xFF that decode as GBK)."""
    for col in df.columns:
        if col == "geometry" or not pd.api.types.is_string_dtype(df[col].dtype):
            continue
        odd = [v for v in df[col].dropna().astype(str).head(1000) if any("\x80" <= ch <= "\xff" for ch in v)]
        if odd:
            try:
                for v in odd:
                    v.encode("latin-1").decode("gbk")
            except (UnicodeEncodeError, UnicodeDecodeError):
                return False
            return True
    return False


def _decode(raw: bytes, encoding: str, path: Path) -> str:
    try:
        return raw.decode("utf-8-sig" if encoding.lower().replace("-", "") == "utf8" else encoding)
    except UnicodeDecodeError as exc:
        hint = ""
        with contextlib.suppress(UnicodeDecodeError):
            raw.decode("gb18030")
            hint = " — it looks GBK-encoded: pass --encoding gbk"
        line = raw[: exc.start].count(b"\n") + 1
        msg = f"{path}: line {line} is not valid {encoding} (byte {exc.start}){hint}"
        raise DataError(msg) from None
    except LookupError:
        msg = f"unknown encoding {encoding!r}"
        raise DataError(msg) from None


def read_source(
    path: str | Path,
    name: str,
    *,
    crs: str | None = None,
    encoding: str = "auto",
    territory: shapely.Geometry | None = None,
) -> pd.DataFrame:
    """Read ``path`` as layer ``name``: decoded, georeferenced and conformed.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile or CSV. A CSV for a point layer has
        lon/lat columns (``lon``/``lng``/``x``/``经度`` and ``lat``/``y``/``纬度``).
    name
        Target layer.
    crs
        Coordinate system of the file when it does not say: ``EPSG:xxxx``,
        ``gcj02`` or ``bd09``. Overrides a CRS the file declares.
    encoding
        ``auto``, ``utf-8`` or ``gbk`` (GB18030): of a CSV, or of a GIS file's text.
    territory
        The service area's territory, used to tell swapped coordinates.

    Returns
    -------
    pandas.DataFrame
        Conformed to the layer schema, indexed by its key.
    """
    spec = layer(name)
    path = Path(path)
    if not path.exists():
        msg = f"{path}: no such file"
        raise DataError(msg)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        df = read_table(path, encoding=encoding)
        row_offset = 2  # header line, 1-based rows
        if spec.geometry is not None:
            df = _points_from_columns(df, path, spec.geometry_required, row_offset)
    elif suffix in GEO_SUFFIXES:
        df = read_gis(path, encoding=encoding)
        row_offset = 1  # feature numbers from 1
        if suffix in (".shp", ".zip"):
            df = _untruncate(df, spec.column_names)
        if spec.geometry is None and "geometry" in df.columns:
            df = pd.DataFrame(df.drop(columns="geometry"))
    else:
        msg = f"{path}: unsupported file type {suffix!r} (use .geojson, .gpkg, .shp or .csv)"
        raise DataError(msg)
    if isinstance(df, gpd.GeoDataFrame):
        df = _georeference(df, path, crs, territory, row_offset)
    return conform(name, df, source=str(path), row_offset=row_offset)


def _untruncate(df: pd.DataFrame, declared: list[str]) -> pd.DataFrame:
    """Shapefiles cut column names to 10 characters: map them back."""
    short = {name[:10]: name for name in declared if len(name) > 10}
    return df.rename(columns={c: short[c] for c in df.columns if c in short and short[c] not in df.columns})


def _points_from_columns(df: pd.DataFrame, path: Path, required: bool, row_offset: int) -> gpd.GeoDataFrame:
    lower = {c.lower().strip(): c for c in df.columns}
    lon = next((lower[n] for n in LON_NAMES if n in lower), None)
    lat = next((lower[n] for n in LAT_NAMES if n in lower), None)
    if "wkt" in lower or "geometry" in lower:
        col = lower.get("wkt") or lower["geometry"]
        try:
            geoms = shapely.from_wkt(df[col].to_numpy(dtype=object))
        except shapely.errors.GEOSException as exc:
            msg = f"{path}: column {col!r} holds text that is not WKT ({exc})"
            raise DataError(msg) from None
        return gpd.GeoDataFrame(df.drop(columns=col), geometry=geoms, crs=None)
    if lon is None or lat is None:
        if required:
            msg = f"{path}: point layer needs lon/lat columns (lon, lng, x, 经度 / lat, y, 纬度) or a wkt column"
            raise DataError(msg)
        return gpd.GeoDataFrame(df, geometry=[None] * len(df), crs=None)
    xs = pd.to_numeric(df[lon], errors="coerce")
    ys = pd.to_numeric(df[lat], errors="coerce")
    for name, raw, num in ((lon, df[lon], xs), (lat, df[lat], ys)):
        bad = (raw.notna() & num.isna()).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0]) + row_offset
            msg = f"{path}: row {row}: column {name!r} is not a number ({raw[bad].iloc[0]!r})"
            raise DataError(msg)
    geoms = shapely.points(xs.to_numpy(), ys.to_numpy())
    geoms[xs.isna().to_numpy() | ys.isna().to_numpy()] = None
    return gpd.GeoDataFrame(df.drop(columns=[lon, lat]), geometry=geoms, crs=None)


def _georeference(
    df: gpd.GeoDataFrame, path: Path, crs: str | None, territory: shapely.Geometry | None, row_offset: int
) -> gpd.GeoDataFrame:
    system = (crs or "").lower().replace("-", "").replace("_", "")
    if system in CHINESE_SYSTEMS:
        df = df.set_crs(CRS, allow_override=True)
        _check_degrees(df, path, row_offset, territory)
        return df.set_geometry(coords.transform_geometries(df.geometry, src=system, dst="wgs84"))
    if crs:
        try:
            target = ProjCRS.from_user_input(crs)
        except CRSError:
            msg = f"unknown coordinate system {crs!r} (use EPSG:xxxx, gcj02 or bd09)"
            raise CoordinateSystemError(msg) from None
        df = df.set_crs(target, allow_override=True)
    elif df.crs is None:
        df = df.set_crs(CRS)
    if df.crs.is_geographic:
        _check_degrees(df, path, row_offset, territory)
    return df.to_crs(CRS)


def _check_degrees(df: gpd.GeoDataFrame, path: Path, row_offset: int, territory: shapely.Geometry | None) -> None:
    """Refuse metres passed as degrees, and swapped lon/lat."""
    geoms = df.geometry.to_numpy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        return
    bounds = shapely.bounds(geoms[present])
    box = territory.buffer(0.5).bounds if territory is not None and not territory.is_empty else CHINA_BOUNDS
    cx = (bounds[:, 0] + bounds[:, 2]) / 2
    cy = (bounds[:, 1] + bounds[:, 3]) / 2
    inside = _in_box(cx, cy, box)
    swapped = _in_box(cy, cx, box)
    if swapped.sum() > inside.sum():
        row = int(np.flatnonzero(present)[np.flatnonzero(swapped)[0]]) + row_offset
        msg = (f"{path}: row {row}: coordinates ({cx[swapped][0]:.5f}, {cy[swapped][0]:.5f}) look like (lat, lon) — "
               "longitude and latitude are swapped; swap the columns and import again")
        raise CoordinateSystemError(msg)
    far = (np.abs(bounds[:, [0, 2]]) > 180).any(axis=1) | (np.abs(bounds[:, [1, 3]]) > 90).any(axis=1)
    if far.any():
        row = int(np.flatnonzero(present)[np.flatnonzero(far)[0]]) + row_offset
        x, y = bounds[far][0, :2]
        msg = (f"{path}: row {row}: coordinates ({x:.1f}, {y:.1f}) are not degrees — "
               "the file looks projected (metres); pass --crs EPSG:xxxx")
        raise CoordinateSystemError(msg)


def _in_box(x: np.ndarray, y: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    return (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])


def _check_parents(name: str, df: pd.DataFrame, store: GeoPackageStore, source: str) -> None:
    spec = LAYERS[name]
    present = set(store.layers()) if store.exists() else set()
    for col in spec.columns:
        if col.parent is None:
            continue
        values = df[col.name]
        if not values.notna().any():
            continue
        parent = LAYERS[col.parent]
        if col.parent == name:
            known = df.index
        elif col.parent in present:
            known = pd.Index(pyogrio.read_dataframe(store.path, layer=col.parent, columns=[parent.key],
                                                    read_geometry=False, use_arrow=True)[parent.key])
        else:
            known = pd.Index([])
        bad = values.notna().to_numpy() & ~contains(values, known)
        if bad.any():
            ids = df.index[bad]
            shown = ", ".join(f"{i}: {v!r}" for i, v in zip(ids[:3], values[bad][:3], strict=False))
            more = f" (and {bad.sum() - 3} more)" if bad.sum() > 3 else ""
            msg = f"{source}: column {col.name!r} refers to unknown {col.parent} — {shown}{more}"
            raise DataError(msg)


def import_layer(
    store: GeoPackageStore,
    name: str,
    path: str | Path,
    *,
    crs: str | None = None,
    encoding: str = "auto",
    replace: bool = False,
    user: str = "cli",
) -> ImportResult:
    """Import ``path`` into layer ``name`` of ``store``, all or nothing.

    Without ``replace`` the rows are added to the layer and an id already in
    it is an error; with ``replace`` the file becomes the whole layer.
    """
    territory = None
    if store.exists() and "service_area" in store.layers() and name != "service_area":
        sa = store.read_layer("service_area")
        territory = shapely.union_all(sa.geometry.to_numpy()) if len(sa) else None
    if replace and name in APPEND_ONLY:
        msg = f"{name} is append-only: --replace is refused (import without it to add the file's rows)"
        raise DataError(msg)
    df = read_source(path, name, crs=crs, encoding=encoding, territory=territory)
    if not len(df):
        msg = f"{path}: no rows to import into {name}" + (" (--replace would empty the layer)" if replace else "")
        raise DataError(msg)
    spec = LAYERS[name]
    existing = None
    if not replace and store.exists() and name in store.layers():
        existing = store.read_layer(name)
        if spec.key:
            clash = df.index.intersection(existing.index)
            if len(clash):
                msg = (f"{path}: {len(clash)} id(s) already in {name}, e.g. {clash[0]!r} "
                       "(use --replace to replace the layer)")
                raise DataError(msg)
    combined = df if existing is None or not len(existing) else pd.concat([existing, df])
    _check_parents(name, combined if spec.key else df, store, str(path))
    now = pd.Timestamp.now(tz=TIMEZONE).floor("ms")
    log = pd.DataFrame({
        "log_id": [uuid.uuid4().hex], "at": [now], "user": [user], "action": ["import"], "layer": [name],
        "feature_id": [None],
        "detail": [json.dumps({"file": str(path), "rows": len(df), "replace": replace}, ensure_ascii=False)],
    })
    frames: dict[str, pd.DataFrame] = {name: combined}
    if name == "audit_log":  # the imported rows and this import's own entry
        frames["audit_log"] = pd.concat([combined, conform("audit_log", log)])
    elif store.exists() and "audit_log" in store.layers():
        frames["audit_log"] = pd.concat([store.read_layer("audit_log"), conform("audit_log", log)])
    else:
        frames["audit_log"] = conform("audit_log", log)
    store.write(frames)
    return ImportResult(layer=name, rows=len(df), replaced=replace, total=len(frames[name]))


def export_layer(df: pd.DataFrame, name: str, out: str | Path) -> int:
    """Write one layer to ``out``; the format follows the extension.

    CSV files get ``lon``/``lat`` columns for points and ``wkt`` for other
    geometries. The file appears only when complete (written, then renamed).
    """
    out = Path(out)
    suffix = out.suffix.lower()
    df = to_storage(name, df)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=suffix, dir=out.parent)
    os.close(fd)
    os.remove(tmp)
    try:
        if suffix == ".csv":
            table = pd.DataFrame(df.drop(columns="geometry")) if "geometry" in df.columns else df
            if isinstance(df, gpd.GeoDataFrame):
                geoms = df.geometry.to_numpy()
                is_point = shapely.get_type_id(geoms) == 0
                if is_point.all():
                    table["lon"] = shapely.get_x(geoms)
                    table["lat"] = shapely.get_y(geoms)
                else:
                    table["wkt"] = shapely.to_wkt(geoms, rounding_precision=7)
            table.to_csv(tmp, index=False, encoding="utf-8-sig")
        elif suffix in (".geojson", ".json", ".gpkg", ".shp", ".fgb"):
            if not isinstance(df, gpd.GeoDataFrame):
                df = gpd.GeoDataFrame(df, geometry=[None] * len(df), crs=CRS)
            tz_cols = [c for c in df.columns if isinstance(df[c].dtype, pd.DatetimeTZDtype)]
            if tz_cols:
                df = df.copy()
                for c in tz_cols:
                    df[c] = df[c].dt.tz_convert("UTC")
            pyogrio.write_dataframe(df, tmp, layer=name, use_arrow=True)
            if suffix == ".shp":  # a shapefile is several files: move the sidecars too
                for part in Path(tmp).parent.glob(Path(tmp).stem + ".*"):
                    if part.suffix.lower() != ".shp":
                        os.replace(part, out.with_suffix(part.suffix))
        else:
            msg = f"{out}: unsupported export format {suffix!r} (use .csv, .geojson, .gpkg or .shp)"
            raise DataError(msg)
        os.replace(tmp, out)
    except BaseException:
        for leftover in Path(tmp).parent.glob(Path(tmp).stem + ".*"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        raise
    return len(df)
