"""Convert lon/lat between WGS-84, GCJ-02 and BD-09.

Chinese web maps (Amap, Tencent) draw in GCJ-02 and Baidu in BD-09; survey and
GPS data come in WGS-84 or CGCS2000. CGCS2000 differs from WGS-84 by a few
centimetres, below what a map shows, so it is treated as WGS-84 here.

The GCJ-02 offset applies only inside a rough bounding box of China
(lon 72.004-137.8347, lat 0.8293-55.8271, the box used by eviltransform and
prcoords); points outside it are left unchanged. The BD-09 step applies
everywhere. Inverse conversions are solved by fixed-point iteration to
about 1e-9 degrees (sub-millimetre), not by the usual metre-level shortcut.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from gridservice.errors import CoordinateSystemError

__all__ = ["convert", "from_wgs84", "to_wgs84", "transform_geometries"]

Pair = tuple[np.ndarray, np.ndarray]

G = TypeVar("G", shapely.Geometry, np.ndarray, gpd.GeoSeries, gpd.array.GeometryArray)

_SYSTEMS = {"wgs84": "wgs84", "cgcs2000": "wgs84", "gcj02": "gcj02", "bd09": "bd09"}
_CHAIN = ("wgs84", "gcj02", "bd09")
_A = 6378245.0  # Krasovsky 1940 semi-major axis (m), as GCJ-02 uses
_EE = 0.00669342162296594323  # Krasovsky 1940 first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
_TOL_DEG = 1e-9
_MAX_ITER = 30


def _system(name: str) -> str:
    key = str(name).lower().replace("-", "").replace("_", "")
    if key not in _SYSTEMS:
        msg = f"Unknown coordinate system {name!r}; expected one of {sorted(_SYSTEMS)}"
        raise CoordinateSystemError(msg)
    return _SYSTEMS[key]


def _in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _gcj_raw(lon: np.ndarray, lat: np.ndarray) -> Pair:
    """WGS-84 -> GCJ-02 without the China test; the offsets are in metres first."""
    x, y = lon - 105.0, lat - 35.0
    common = 20.0 * np.sin(6.0 * np.pi * x) + 20.0 * np.sin(2.0 * np.pi * x)
    dlat_m = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y
              + 0.2 * np.sqrt(np.abs(x))
              + (common + 20.0 * np.sin(np.pi * y) + 40.0 * np.sin(np.pi * y / 3.0)
                 + 160.0 * np.sin(np.pi * y / 12.0) + 320.0 * np.sin(np.pi * y / 30.0))
              * 2.0 / 3.0)  # fmt: skip
    dlon_m = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y
              + 0.1 * np.sqrt(np.abs(x))
              + (common + 20.0 * np.sin(np.pi * x) + 40.0 * np.sin(np.pi * x / 3.0)
                 + 150.0 * np.sin(np.pi * x / 12.0) + 300.0 * np.sin(np.pi * x / 30.0))
              * 2.0 / 3.0)  # fmt: skip
    phi = np.radians(lat)
    magic = 1.0 - _EE * np.sin(phi) ** 2
    m_per_deg_lat = np.radians(_A * (1.0 - _EE) / magic**1.5)
    m_per_deg_lon = np.radians(_A * np.cos(phi) / np.sqrt(magic))
    return lon + dlon_m / m_per_deg_lon, lat + dlat_m / m_per_deg_lat


def _bd_raw(lon: np.ndarray, lat: np.ndarray) -> Pair:
    """GCJ-02 -> BD-09."""
    r = np.hypot(lon, lat) + 2e-5 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 3e-6 * np.cos(lon * _X_PI)
    return r * np.cos(theta) + 0.0065, r * np.sin(theta) + 0.006


def _invert(fwd: Callable[[np.ndarray, np.ndarray], Pair]) -> Callable[..., Pair]:
    """Exact inverse of a near-identity shift ``fwd`` by fixed-point iteration."""

    def inverse(lon: np.ndarray, lat: np.ndarray) -> Pair:
        x, y = lon.copy(), lat.copy()
        for _ in range(_MAX_ITER):
            fx, fy = fwd(x, y)
            ex, ey = fx - lon, fy - lat
            x, y = x - ex, y - ey
            # NaN compares False, so missing coordinates never block convergence.
            if not np.any((np.abs(ex) > _TOL_DEG) | (np.abs(ey) > _TOL_DEG)):
                break
        return x, y

    return inverse


def _china_only(step: Callable[[np.ndarray, np.ndarray], Pair]) -> Callable[..., Pair]:
    def masked(lon: np.ndarray, lat: np.ndarray) -> Pair:
        inside = _in_china(lon, lat)
        x, y = lon.copy(), lat.copy()
        x[inside], y[inside] = step(lon[inside], lat[inside])
        return x, y

    return masked


# _FORWARD[k] maps _CHAIN[k] -> _CHAIN[k + 1]; _INVERSE[k] maps it back.
_FORWARD = (_china_only(_gcj_raw), _bd_raw)
_INVERSE = (_china_only(_invert(_gcj_raw)), _invert(_bd_raw))


def convert(lon: npt.ArrayLike, lat: npt.ArrayLike, *, src: str, dst: str) -> Pair:
    """Convert longitudes and latitudes from ``src`` to ``dst``.

    Parameters
    ----------
    lon, lat : array_like
        Coordinates in degrees; scalars, sequences, arrays or Series that
        broadcast together.
    src, dst : str
        ``"wgs84"``, ``"cgcs2000"`` (treated as WGS-84), ``"gcj02"`` or
        ``"bd09"``; case and hyphens are ignored (``"GCJ-02"`` works).

    Returns
    -------
    tuple of numpy.ndarray
        New ``(lon, lat)`` float arrays of the broadcast shape (0-d for
        scalars). NaN stays NaN.

    Raises
    ------
    CoordinateSystemError
        If ``src`` or ``dst`` is not a known system.

    Examples
    --------
    >>> lon, lat = convert(116.397, 39.909, src="wgs84", dst="gcj02")
    >>> round(float(lon), 5), round(float(lat), 5)
    (116.40324, 39.9104)
    """
    i, j = _CHAIN.index(_system(src)), _CHAIN.index(_system(dst))
    x, y = (np.array(a, dtype=float) for a in np.broadcast_arrays(lon, lat))
    steps = [*_FORWARD[i:j], *_INVERSE[j:i][::-1]]
    for step in steps:
        x, y = (np.asarray(a) for a in step(x, y))  # numpy turns 0-d results into scalars
    return x, y


def to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, *, src: str) -> Pair:
    """Convert coordinates in ``src`` to WGS-84; see `convert`."""
    return convert(lon, lat, src=src, dst="wgs84")


def from_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, *, dst: str) -> Pair:
    """Convert WGS-84 coordinates to ``dst``; see `convert`."""
    return convert(lon, lat, src="wgs84", dst=dst)


def transform_geometries(geoms: G, *, src: str, dst: str) -> G:
    """Convert every coordinate of shapely geometries from ``src`` to ``dst``.

    Parameters
    ----------
    geoms : shapely.Geometry, array_like of Geometry, GeoSeries or GeometryArray
        Geometries in lon/lat degrees. Z values are kept as they are.
    src, dst : str
        Coordinate systems, as in `convert`.

    Returns
    -------
    Same type as ``geoms``
        A GeoSeries keeps its index, name and CRS (all three systems are
        lon/lat degrees, so the CRS label does not change).
    """
    _system(src)  # fail fast, even for input with no coordinates
    _system(dst)

    def step(x: np.ndarray, y: np.ndarray, *z: np.ndarray) -> tuple[np.ndarray, ...]:
        return (*convert(x, y, src=src, dst=dst), *z)

    if isinstance(geoms, gpd.GeoSeries):
        out = shapely.transform(geoms.values, step, include_z=None, interleaved=False)
        return gpd.GeoSeries(out, index=geoms.index, crs=geoms.crs, name=geoms.name)
    if isinstance(geoms, gpd.array.GeometryArray):
        out = shapely.transform(np.asarray(geoms), step, include_z=None, interleaved=False)
        return gpd.array.from_shapely(out, crs=geoms.crs)
    return shapely.transform(geoms, step, include_z=None, interleaved=False)
