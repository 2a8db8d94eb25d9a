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
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.template import Template
from pyproj import Transformer

from gridservice.schema import CUSTOMER_CATEGORIES

if TYPE_CHECKING:
    from gridservice.model import ServiceArea

__all__ = ["CATEGORY_COLORS", "CELL_SIZES", "CustomerPoints", "bin_frame", "bin_xy", "cell_size_for_zoom",
           "customer_bins", "customer_density", "pack_points", "unpack_points"]

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


#: Cell sides (metres) customers are counted in, smallest first.
CELL_SIZES = (25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0, 20000.0, 50000.0)


def bin_xy(x: np.ndarray, y: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count points per square cell of side ``size`` (metric coordinates; non-finite ones are left out).

    Returns the cells' integer column and row (cell ``(i, j)`` spans ``[i*size, (i+1)*size)`` in x and
    the same in y) and their counts, non-empty cells only, ordered by column then row.
    """
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.all():
        x, y = x[ok], y[ok]
    if not len(x):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    ix = np.floor(x / size).astype(np.int64)
    iy = np.floor(y / size).astype(np.int64)
    ix0, iy0 = ix.min(), iy.min()
    ny = int(iy.max() - iy0 + 1)
    key = (ix - ix0) * ny + (iy - iy0)
    # One integer per cell: a bincount when the box is small enough, else a sort.
    if int(key.max()) < 50_000_000:
        full = np.bincount(key)
        cells = np.flatnonzero(full)
        counts = full[cells]
    else:
        cells, counts = np.unique(key, return_counts=True)
    return cells // ny + ix0, cells % ny + iy0, counts.astype(np.int64)


def bin_frame(cx: np.ndarray, cy: np.ndarray, counts: np.ndarray, size: float, metric_crs: Any,
              crs: Any = "EPSG:4326") -> gpd.GeoDataFrame:
    """Cells from :func:`bin_xy` as polygons in ``crs``, with ``count``; ``attrs["cell_m"]`` is ``size``."""
    boxes = shapely.box(cx * size, cy * size, (cx + 1) * size, (cy + 1) * size)
    out = gpd.GeoDataFrame({"count": counts}, geometry=gpd.GeoSeries(boxes, crs=metric_crs)).to_crs(crs)
    out.attrs["cell_m"] = float(size)
    return out


def customer_bins(customers: gpd.GeoDataFrame, *, cell_m: float | None = None, metric_crs: str | None = None,
                  max_cells: int = 12_000) -> gpd.GeoDataFrame:
    """Count customers per square cell of ``cell_m`` metres (only non-empty cells).

    Parameters
    ----------
    customers
        Points (EPSG:4326).
    cell_m
        Cell side in metres. Default: the smallest of :data:`CELL_SIZES` from 250 m up that gives at
        most ``max_cells`` non-empty cells.
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
    for size in [cell_m] if cell_m else [s for s in CELL_SIZES if s >= 250.0]:
        cx, cy, counts = bin_xy(x, y, size)
        if len(counts) <= max_cells:
            break
    return bin_frame(cx, cy, counts, size, metric_crs, customers.crs)


#: Web Mercator metres per pixel at zoom 0 on the equator (256-pixel tiles).
_MERCATOR_M_PER_PX = 156_543.033_928


def cell_size_for_zoom(zoom: float, lat: float, *, px: float = 24.0) -> float:
    """The smallest of :data:`CELL_SIZES` at least ``px`` screen pixels wide at ``zoom`` and latitude ``lat``."""
    metres = px * _MERCATOR_M_PER_PX * np.cos(np.radians(lat)) / 2.0**zoom
    return next((s for s in CELL_SIZES if s >= metres), CELL_SIZES[-1])


def customer_density(area: ServiceArea, bbox: tuple[float, float, float, float], zoom: float, *,
                     max_cells: int = 6000) -> gpd.GeoDataFrame:
    """Customers counted per square cell over the view ``bbox`` (lon/lat) of a map at ``zoom``.

    The cell is about 24 pixels wide at that zoom (:func:`cell_size_for_zoom`), larger when the view
    would hold more than ``max_cells`` non-empty cells. Every customer of a returned cell is counted,
    also those outside the view. The customers' metric coordinates and each size's cells are kept
    with the area (:meth:`~gridservice.model.ServiceArea.cached`), so a pan is a slice, not a recount.

    Returns
    -------
    geopandas.GeoDataFrame
        ``count`` and the cell polygon (EPSG:4326); ``attrs["cell_m"]`` is the cell side in metres.
    """
    # the part of the view with customers in it: a county, however far out the map is zoomed
    ext = area.cached("customer_extent", ("customers",), lambda: area.customers.geometry.total_bounds)
    minx, miny, maxx, maxy = max(bbox[0], ext[0]), max(bbox[1], ext[1]), min(bbox[2], ext[2]), min(bbox[3], ext[3])
    crs = area.metric_crs
    if not (minx <= maxx and miny <= maxy):  # no customer in view (or none at all: the extent is NaN)
        return bin_frame(*(np.zeros(0, dtype=np.int64),) * 3, cell_size_for_zoom(zoom, (bbox[1] + bbox[3]) / 2), crs)
    # the view in metres: its edges, sampled, since a lon/lat box is not a box in the metric CRS
    t = np.linspace(0.0, 1.0, 9)
    lon = np.concatenate([minx + (maxx - minx) * t, np.full(9, maxx), minx + (maxx - minx) * t, np.full(9, minx)])
    lat = np.concatenate([np.full(9, miny), miny + (maxy - miny) * t, np.full(9, maxy), miny + (maxy - miny) * t])
    vx, vy = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    start = CELL_SIZES.index(cell_size_for_zoom(zoom, (miny + maxy) / 2))
    for size in CELL_SIZES[start:]:
        cx, cy, counts = _cells(area, size)
        inside = ((cx + 1) * size > vx.min()) & (cx * size < vx.max()) \
            & ((cy + 1) * size > vy.min()) & (cy * size < vy.max())
        if inside.sum() <= max_cells:
            break
    cells = bin_frame(cx[inside], cy[inside], counts[inside], size, crs)
    # the envelope of the view in metres is larger than the view: keep the cells that touch it
    touching = cells[cells.intersects(shapely.box(minx, miny, maxx, maxy))].reset_index(drop=True)
    touching.attrs["cell_m"] = float(size)
    return touching


def _cells(area: ServiceArea, size: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`bin_xy` of every customer at ``size``, once per customers frame."""
    def build() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x, y = area.cached("customer_metric_xy", ("customers", "service_area", "grids"),
                           lambda: area.metric_xy(area.customers.geometry))
        return bin_xy(x, y, size)
    return area.cached(f"customer_cells:{size:g}", ("customers", "service_area", "grids"), build)


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
