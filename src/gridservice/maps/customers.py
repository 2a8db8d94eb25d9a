"""Customers at scale: square bins of counts, and every customer in one packed array.

A county has up to a million customers; one folium object (or one GeoJSON
feature) each would make a page no browser opens. Instead:

* :func:`customer_bins` counts customers per square cell on the server (a few
  thousand cells), drawn as one GeoJSON layer coloured by count;
* :func:`pack_points` quantises every customer to 16 bits per axis inside the
  bounding box (about a metre in a county), sorts by x and stores x as
  deltas, splits the numbers into byte planes and deflates them. A million
  customers take about 2–3 MB; :class:`CustomerPoints` decodes them in the
  browser (``DecompressionStream``) into typed arrays drawn on a canvas once
  the user zooms in.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.template import Template
from pyproj import Transformer

from gridservice.schema import CUSTOMER_CATEGORIES

__all__ = ["CATEGORY_COLORS", "CustomerPoints", "customer_bins", "pack_points", "unpack_points"]

#: Colours of customer categories, in :data:`CUSTOMER_CATEGORIES` order (unknown last).
CATEGORY_COLORS = ["#1f78b4", "#ff7f00", "#6a3d9a", "#33a02c", "#777777"]


def pack_points(lon: np.ndarray, lat: np.ndarray, codes: np.ndarray | None = None) -> dict[str, Any]:
    """Pack points into the compact form :class:`CustomerPoints` draws.

    Parameters
    ----------
    lon, lat
        Coordinates (degrees) of the points; non-finite ones are dropped.
    codes
        A small integer per point (0–255), e.g. the customer category.

    Returns
    -------
    dict
        ``{"n", "bbox": [minx, miny, maxx, maxy], "data": base64 text}``.
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    codes = np.zeros(len(lon), dtype=np.uint8) if codes is None else np.asarray(codes, dtype=np.uint8)
    ok = np.isfinite(lon) & np.isfinite(lat)
    lon, lat, codes = lon[ok], lat[ok], codes[ok]
    n = len(lon)
    if n == 0:
        return {"n": 0, "bbox": [0.0, 0.0, 0.0, 0.0], "data": ""}
    bbox = [float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())]
    span_x = max(bbox[2] - bbox[0], 1e-9)
    span_y = max(bbox[3] - bbox[1], 1e-9)
    qx = np.rint((lon - bbox[0]) / span_x * 65535).astype(np.uint16)
    qy = np.rint((lat - bbox[1]) / span_y * 65535).astype(np.uint16)
    order = np.lexsort((qy, qx))
    qx, qy, codes = qx[order], qy[order], codes[order]
    dx = np.diff(qx, prepend=np.uint16(0)).astype(np.uint16)  # sorted: small, non-negative steps
    body = b"".join((_planes(dx), _planes(qy), codes.tobytes()))
    data = base64.b64encode(zlib.compress(body, 6)).decode("ascii")
    return {"n": int(n), "bbox": bbox, "data": data}


def _planes(a: np.ndarray) -> bytes:
    """Little-endian uint16 as two planes: all low bytes, then all high bytes (deflates better)."""
    b = a.astype("<u2").view(np.uint8).reshape(-1, 2)
    return b[:, 0].tobytes() + b[:, 1].tobytes()


def unpack_points(packed: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`pack_points` (what the browser does), for tests and tools."""
    n = int(packed["n"])
    if n == 0:
        return np.array([]), np.array([]), np.array([], dtype=np.uint8)
    raw = np.frombuffer(zlib.decompress(base64.b64decode(packed["data"])), dtype=np.uint8)

    def plane16(offset: int) -> np.ndarray:
        return raw[offset : offset + n].astype(np.uint16) | (raw[offset + n : offset + 2 * n].astype(np.uint16) << 8)

    qx = np.cumsum(plane16(0), dtype=np.uint64) & 0xFFFF
    qy = plane16(2 * n)
    codes = raw[4 * n : 5 * n].copy()
    minx, miny, maxx, maxy = packed["bbox"]
    lon = minx + qx.astype("float64") * (maxx - minx) / 65535
    lat = miny + qy.astype("float64") * (maxy - miny) / 65535
    return lon, lat, codes


def category_codes(categories: pd.Series) -> np.ndarray:
    """Customer categories as 0..3 in :data:`CUSTOMER_CATEGORIES` order, 4 for anything else."""
    codes = pd.Index(CUSTOMER_CATEGORIES).get_indexer(pd.Series(categories).to_numpy(dtype=object))
    return np.where(codes < 0, len(CUSTOMER_CATEGORIES), codes).astype(np.uint8)


def customer_bins(customers: gpd.GeoDataFrame, *, cell_m: float | None = None, metric_crs: str | None = None,
                  max_cells: int = 12_000) -> gpd.GeoDataFrame:
    """Count customers per square cell of ``cell_m`` metres (only non-empty cells).

    Parameters
    ----------
    customers
        Points (EPSG:4326).
    cell_m
        Cell side in metres. Default: the smallest of 250 m, 500 m, 1 km, 2 km,
        5 km that gives at most ``max_cells`` non-empty cells.
    metric_crs
        CRS to bin in (default: the UTM zone of the points' centre).

    Returns
    -------
    geopandas.GeoDataFrame
        ``count`` and the cell polygon (EPSG:4326), one row per non-empty cell;
        ``attrs["cell_m"]`` holds the cell size.
    """
    pts = customers.geometry
    pts = pts[~(pts.isna() | pts.is_empty)]
    if not len(pts):
        out = gpd.GeoDataFrame({"count": pd.Series(dtype="int64")}, geometry=gpd.GeoSeries([], crs=customers.crs),
                               crs=customers.crs)
        out.attrs["cell_m"] = cell_m or 0.0
        return out
    if metric_crs is None:
        metric_crs = pts.estimate_utm_crs()
    lon, lat = shapely.get_x(pts.values), shapely.get_y(pts.values)
    x, y = Transformer.from_crs(pts.crs or "EPSG:4326", metric_crs, always_xy=True).transform(lon, lat)
    sizes = [cell_m] if cell_m else [250.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0]
    for size in sizes:
        ix = np.floor(x / size).astype(np.int64)
        iy = np.floor(y / size).astype(np.int64)
        ix0, iy0 = ix.min(), iy.min()
        ny = int(iy.max() - iy0 + 1)
        key = (ix - ix0) * ny + (iy - iy0)
        # One integer per cell: a bincount when the box is small enough, else a sort.
        if int(key.max()) < 50_000_000:
            full = np.bincount(key)
            cells_key = np.flatnonzero(full)
            counts = full[cells_key]
        else:
            cells_key, counts = np.unique(key, return_counts=True)
        if len(cells_key) <= max_cells:
            break
    cx, cy = cells_key // ny + ix0, cells_key % ny + iy0
    boxes = shapely.box(cx * size, cy * size, (cx + 1) * size, (cy + 1) * size)
    out = gpd.GeoDataFrame({"count": counts.astype("int64")}, geometry=gpd.GeoSeries(boxes, crs=metric_crs))
    out = out.to_crs(customers.crs)
    out.attrs["cell_m"] = float(size)
    return out


class CustomerPoints(folium.map.Layer):
    """Every customer on one canvas, from a packed array (see :func:`pack_points`).

    The points are drawn from zoom ``min_zoom`` on; below it the map shows
    :func:`customer_bins`. One element whatever the number of customers.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.gsPoints({{ this.packed_json }}, {{ this.js_options }});
        {% endmacro %}
        """
    )

    def __init__(self, packed: dict[str, Any], *, name: str, min_zoom: int = 13, colors: list[str] | None = None,
                 show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "GsPoints"
        # No user text inside: numbers and base64 only, safe to embed as is.
        self.packed_json = json.dumps(packed, separators=(",", ":"))
        self.js_options = json.dumps({"minZoom": min_zoom, "colors": colors or CATEGORY_COLORS})
        self.n = int(packed["n"])
