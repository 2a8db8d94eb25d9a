"""Import a layer from GeoJSON, GeoPackage, Shapefile, CSV or Excel, and export one.

Import is the boundary: the file is read, Chinese headers are mapped to the
declared column names (:data:`HEADERS_ZH`), its coordinates are checked
(swapped lon/lat, metres passed as degrees, CGCS2000 Gauss–Krüger zones
recognised, GCJ-02/BD-09 converted to WGS-84), every row is conformed to the
layer's schema and every foreign key resolved. Only then is anything
written, in one transaction. A bad row gives one
:class:`~gridservice.errors.DataError` naming the file, row and column.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import uuid
import zipfile
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

from gridservice import clock, coords
from gridservice.errors import CoordinateSystemError, DataError
from gridservice.io import Store
from gridservice.io.store import APPEND_ONLY
from gridservice.io.tables import conform, layer, to_storage
from gridservice.lookup import contains
from gridservice.schema import CRS, LAYERS

GEO_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb"}
LON_NAMES = ("lon", "lng", "longitude", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")
#: Where Chinese utility data can be: lon 73–136 °E, lat 3–54 °N.
CHINA_BOUNDS = (73.0, 3.0, 136.0, 54.0)
CHINESE_SYSTEMS = ("gcj02", "bd09")

#: Chinese headers of utility exports (营销/PMS/GIS) → declared column names, in every layer.
#: A header is matched with spaces and a unit in brackets removed (``额定容量(kVA)`` → ``额定容量``);
#: a column already named in English wins over its Chinese twin.
HEADERS_ZH: dict[str, str] = {
    "户号": "customer_id", "客户编号": "customer_id", "用户编号": "customer_id",
    "客户名称": "name", "户名": "name", "用户名称": "name", "名称": "name", "姓名": "name",
    "台区名称": "name", "线路名称": "name", "变电站名称": "name", "供电所名称": "name", "网格名称": "name",
    "地址": "address", "用电地址": "address", "客户地址": "address",
    "电话": "phone", "联系电话": "phone", "手机": "phone", "手机号码": "phone",
    "用电类别": "category", "电压等级": "voltage", "重要客户": "key_customer", "立户日期": "connected_at",
    "表号": "meter_id", "电能表编号": "meter_id", "计量点编号": "meter_id",
    "表箱编号": "access_point_id", "接入点编号": "access_point_id",
    "台区编号": "transformer_id", "变压器编号": "transformer_id", "额定容量": "rated_kva", "容量": "rated_kva",
    "线路编号": "feeder_id", "变电站编号": "substation_id", "电压": "voltage_kv",
    "供电所编号": "station_id", "网格编号": "grid_id", "网格编码": "code", "编码": "code",
    "人员编号": "staff_id", "工号": "staff_id", "岗位": "role",
    "工单编号": "work_order_id", "受理时间": "received_at",
}

#: Chinese values of categorical columns (the SPEC's glossary) → declared choices.
VALUES_ZH: dict[str, str] = {
    "城区": "urban", "农村": "rural", "特殊边远": "remote", "边远": "remote",
    "网格经理": "grid_manager", "网格员": "grid_member", "台区经理": "area_manager",
    "居民": "residential", "商业": "commercial", "工业": "industrial", "农业": "agricultural",
    "低压": "low", "高压": "high", "公变": "public", "专变": "private",
    "故障报修": "repair", "投诉": "complaint", "举报": "report", "意见": "opinion", "咨询": "consultation",
    "业务申请": "service_request", "计划": "planned", "故障": "unplanned", "走访": "home", "回访": "phone",
}

#: CGCS2000 3° Gauss–Krüger: zones 25–45 with the zone number before the easting (EPSG:4513–4533,
#: x = zone × 10⁶ + 500 000 m) or by central meridian 75–135 °E without it (EPSG:4534–4554).
GK_ZONES = range(25, 46)


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


def read_sheet(path: str | Path, *, sheet: str | None = None) -> pd.DataFrame:
    """One sheet of an Excel workbook as text columns: the only sheet, or ``sheet``."""
    path = Path(path)
    from openpyxl.utils.exceptions import InvalidFileException  # only for workbooks

    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        msg = f"{path}: not a readable Excel workbook ({exc})"
        raise DataError(msg) from None
    with book:
        names = [str(n) for n in book.sheet_names]
        sheet = _pick(path, names, sheet, what="sheet")
        df = pd.read_excel(book, sheet_name=sheet, dtype="str", keep_default_na=False, na_values=[""])
    return df.dropna(how="all")


def _pick(path: Path, names: list[str], wanted: str | None, *, what: str) -> str:
    """The sheet or layer to read: the one asked for, or the only one."""
    if wanted is not None:
        if wanted not in names:
            msg = f"{path}: no {what} {wanted!r}; it has: {', '.join(names)}"
            raise DataError(msg)
        return wanted
    if len(names) != 1:
        msg = f"{path}: holds {len(names)} {what}s ({', '.join(names)}): pick one with --layer"
        raise DataError(msg)
    return names[0]


def _english(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Rename Chinese headers (:data:`HEADERS_ZH`) and translate Chinese choices (:data:`VALUES_ZH`)."""
    renames: dict[str, str] = {}
    for col in df.columns:
        key = re.sub(r"[\s\u3000]+|[（(\[【].*?[）)\]】]", "", str(col))
        target = HEADERS_ZH.get(key)
        if target and target not in df.columns and target not in renames.values():
            renames[col] = target
    df = df.rename(columns=renames)
    for col in LAYERS[name].columns:
        if col.choices and col.name in df.columns and pd.api.types.is_string_dtype(df[col.name].dtype):
            df[col.name] = df[col.name].replace(VALUES_ZH)
    return df


def read_gis(
    path: str | Path, *, encoding: str = "auto", source_layer: str | None = None, target: str | None = None
) -> pd.DataFrame:
    """A GeoJSON, GeoPackage or Shapefile as a frame, its text decoded as ``encoding``.

    A file with several layers (a GeoPackage) is read at ``source_layer``, else
    at the layer named like ``target``; otherwise the error lists its layers.
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
        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
        wanted = target if source_layer is None and target in names and len(names) > 1 else source_layer
        which = _pick(path, names, wanted, what="layer")
        if encoding.lower() in ("gbk", "gb18030"):
            return pyogrio.read_dataframe(path, layer=which, encoding="gb18030")  # Arrow reads UTF-8 only
        df = pyogrio.read_dataframe(path, layer=which, use_arrow=True)
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
    source_layer: str | None = None,
) -> pd.DataFrame:
    """Read ``path`` as layer ``name``: decoded, georeferenced and conformed.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile, CSV or Excel (.xlsx). A table for a
        point layer has lon/lat columns (``lon``/``lng``/``x``/``经度`` and
        ``lat``/``y``/``纬度``) or a ``wkt`` column; Chinese headers and choices are
        mapped by :data:`HEADERS_ZH` and :data:`VALUES_ZH`.
    name
        Target layer.
    crs
        Coordinate system of the file when it does not say: ``EPSG:xxxx``,
        ``gcj02`` or ``bd09``. Overrides a CRS the file declares. Without it,
        metres in a CGCS2000 3° Gauss–Krüger zone are recognised by their
        zone prefix, or by the territory's central meridian.
    encoding
        ``auto``, ``utf-8`` or ``gbk`` (GB18030): of a CSV, or of a GIS file's text.
    territory
        The service area's territory, used to tell swapped coordinates.
    source_layer
        The layer of a GeoPackage or the sheet of a workbook to read.

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
    if suffix in (".csv", ".txt", ".xlsx"):
        df = read_sheet(path, sheet=source_layer) if suffix == ".xlsx" else read_table(path, encoding=encoding)
        df = _english(df, name)
        row_offset = 2  # header line, 1-based rows
        if spec.geometry is not None:
            df = _points_from_columns(df, path, spec.geometry_required, row_offset)
    elif suffix in GEO_SUFFIXES:
        df = _english(read_gis(path, encoding=encoding, source_layer=source_layer, target=name), name)
        row_offset = 1  # feature numbers from 1
        if suffix in (".shp", ".zip"):
            df = _untruncate(df, spec.column_names)
        if spec.geometry is None and "geometry" in df.columns:
            df = pd.DataFrame(df.drop(columns="geometry"))
    else:
        msg = f"{path}: unsupported file type {suffix!r} (use .geojson, .gpkg, .shp, .csv or .xlsx)"
        raise DataError(msg)
    if isinstance(df, gpd.GeoDataFrame):
        df = _georeference(df, path, crs, territory, row_offset)
        if name == "stations":
            df = _station_offices(df, path, row_offset)
    return conform(name, df, source=str(path), row_offset=row_offset)


def _station_offices(df: gpd.GeoDataFrame, path: Path, row_offset: int) -> gpd.GeoDataFrame:
    """Stations drawn as their territory: the polygon goes to ``territory`` (WKT), the geometry
    becomes the office — ``office_lon``/``office_lat`` when the file gives them, else a point
    inside the polygon."""
    geoms = df.geometry.to_numpy()
    polygon = np.isin(shapely.get_type_id(geoms), (3, 6))
    if not polygon.any():
        return df
    df = df.copy()
    if "territory" in df.columns and df["territory"].notna().any():
        msg = f"{path}: stations carry both polygons and a 'territory' column: give one of them"
        raise DataError(msg)
    df["territory"] = pd.Series(shapely.to_wkt(geoms, rounding_precision=7), index=df.index).where(polygon)
    office = shapely.point_on_surface(geoms)
    if {"office_lon", "office_lat"} <= set(df.columns):
        office_points = _points_from_columns(
            df[["office_lon", "office_lat"]].rename(columns={"office_lon": "lon", "office_lat": "lat"}),
            path, False, row_offset).geometry.to_numpy()
        given = ~shapely.is_missing(office_points)
        office = np.where(given, office_points, office)
        df = df.drop(columns=["office_lon", "office_lat"])
    return df.set_geometry(gpd.GeoSeries(np.where(polygon, office, geoms), index=df.index, crs=CRS))


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
        df = df.set_crs(_gauss_kruger(df, territory) or CRS)
    if df.crs.is_geographic:
        _check_degrees(df, path, row_offset, territory)
        return df.to_crs(CRS)
    out = df.to_crs(CRS)
    _check_fit(out, df, path, row_offset, territory)
    return out


def _gauss_kruger(df: gpd.GeoDataFrame, territory: shapely.Geometry | None) -> str | None:
    """The CGCS2000 3° Gauss–Krüger zone metres without a CRS are in, when it can be told.

    An easting with a zone prefix (38 500 000 m) names its zone; one without
    (500 000 m) is taken in the zone of the territory's central meridian.
    """
    geoms = df.geometry.to_numpy()
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if not len(geoms):
        return None
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    if not (ymin > 0 and ymax < 10_000_000):
        return None
    zone = int(xmin // 1_000_000)
    if zone == int(xmax // 1_000_000) and zone in GK_ZONES:
        return f"EPSG:{4513 + zone - GK_ZONES.start}"
    if xmin > 100_000 and xmax < 1_000_000 and territory is not None and not territory.is_empty:
        meridian = int(round(territory.centroid.x / 3) * 3)
        if 75 <= meridian <= 135:
            return f"EPSG:{4534 + (meridian - 75) // 3}"
    return None


def _check_fit(out: gpd.GeoDataFrame, src: gpd.GeoDataFrame, path: Path, row_offset: int,
               territory: shapely.Geometry | None) -> None:
    """Refuse projected coordinates that land outside China (or far from the territory) in their CRS."""
    geoms = out.geometry.to_numpy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    bounds = shapely.bounds(geoms[present])
    box = territory.buffer(0.5).bounds if territory is not None and not territory.is_empty else CHINA_BOUNDS
    fits = _in_box(bounds[:, 0], bounds[:, 1], box) & _in_box(bounds[:, 2], bounds[:, 3], box)
    if not fits.all():
        bad = int(np.flatnonzero(~fits)[0])
        row = int(np.flatnonzero(present)[bad]) + row_offset
        x, y = shapely.bounds(src.geometry.to_numpy()[present][bad])[:2]
        lon, lat = bounds[bad, :2]
        where = "the service area" if box is not CHINA_BOUNDS else "China"
        code = src.crs.to_epsg()
        name = f"EPSG:{code}" if code else src.crs.name
        msg = (f"{path}: row {row}: coordinates ({x:.1f}, {y:.1f}) do not fit {name} ({src.crs.name}): "
               f"they fall at ({lon:.4f}, {lat:.4f}), outside {where} — pass the right --crs "
               "(CGCS2000 3° Gauss–Krüger: EPSG:4513–4533 with the zone before the easting, "
               "EPSG:4534–4554 by central meridian)")
        raise CoordinateSystemError(msg)


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
               "the file looks projected (metres); pass --crs EPSG:xxxx (CGCS2000 3° Gauss–Krüger by "
               "central meridian: EPSG:4534 for 75°E … EPSG:4554 for 135°E)")
        raise CoordinateSystemError(msg)


def _in_box(x: np.ndarray, y: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    return (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])


def _check_parents(name: str, df: pd.DataFrame, store: Store, source: str) -> None:
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
            known = pd.Index(store.read_layer(col.parent, raw=True)[parent.key])
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
    store: Store,
    name: str,
    path: str | Path,
    *,
    crs: str | None = None,
    encoding: str = "auto",
    replace: bool = False,
    user: str = "cli",
    source_layer: str | None = None,
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
    df = read_source(path, name, crs=crs, encoding=encoding, territory=territory, source_layer=source_layer)
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
    if spec.key and spec.unique and existing is not None and len(existing):  # e.g. a shift for a staff and day
        clash = df.reset_index().merge(existing[list(spec.unique)].drop_duplicates(), on=list(spec.unique))
        if len(clash):
            first = ", ".join(f"{c}={clash[c].iloc[0]!r}" for c in spec.unique)
            msg = f"{path}: {len(clash)} row(s) repeat ({', '.join(spec.unique)}) already in {name}, e.g. {first}"
            raise DataError(msg)
    _check_parents(name, combined if spec.key else df, store, str(path))
    now = clock.now()
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
