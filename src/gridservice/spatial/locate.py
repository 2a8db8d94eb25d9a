"""Which grid holds a point: one lon/lat in microseconds, a million points in a fraction of a second.

The boundary rule
-----------------
A point belongs to the grid whose polygon holds it in its *interior*, which
is exactly what geopandas ``sjoin(points, grids, predicate="within")`` says.
sjoin leaves two cases open (no match, or several); one rule decides both,
**the lowest** ``grid_id`` **wins**:

* a point inside two overlapping grids (an overlap is itself a plan error)
  gets the lower ``grid_id`` of them;
* a point on a boundary, inside no grid's interior — an edge two grids share,
  or the territory's edge — gets the lowest ``grid_id`` among the grids
  whose closed polygon covers it (sjoin ``predicate="covered_by"``).

A point that no grid covers is *outside*: its grid is missing (NaN), and
:func:`check_unlocated` reports it as a finding rather than dropping it.

How it is fast
--------------
The grids' bounding box is cut into square cells (about four million, a few
tens of metres each for a county). A cell that no grid boundary comes near
lies wholly inside one grid (or wholly outside all of them), so its answer is
stored in a raster and a lookup is integer arithmetic. Only points in cells
that a boundary passes near — a few per cent — get the exact test (shapely's
``contains_xy``, then ``intersects_xy``, against the grids whose bounding box
holds them). Building the raster needs no point-in-polygon test per
cell: boundary cells are marked from the densified boundaries, and the other
cells fall into connected regions (``scipy.ndimage.label``) that cross no
boundary, so one exact test per region classifies all its cells.

Examples
--------
>>> loc = locator(area)  # doctest: +SKIP
>>> loc.lookup(116.53, 27.21)  # doctest: +SKIP
'G07'
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import ndimage

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import DataError, NotFoundError
from gridservice.findings import findings
from gridservice.model import ServiceArea

#: Raster codes besides a grid's rank (0, 1, …): no grid here, or ask shapely.
OUTSIDE = -1
EXACT = -2

#: Layers whose rows get a derived ``grid_id`` from their point.
POINT_LAYERS = ("customers", "transformers", "access_points", "work_orders", "applications")
#: Point layers whose rows with a customer take the customer's grid rather than their own point's.
CUSTOMER_LAYERS = ("work_orders", "applications")

_MAX_CELLS = 1 << 22
_PAD = 3  # cells of margin around the grids' bounding box
_MIN_CELL = 1e-4  # degrees, about 10 m: finer buys nothing but build time


class GridLocator:
    """A point → grid index over one set of grid polygons.

    Parameters
    ----------
    grids
        Grid polygons (EPSG:4326) indexed by ``grid_id``. Rows without a
        geometry are ignored.
    max_cells
        Size of the raster; more cells mean fewer exact tests and more memory
        (two bytes a cell).

    Notes
    -----
    Results equal ``sjoin(predicate="within")``; see the module docstring for
    the rule on shared boundaries and overlaps.
    """

    def __init__(self, grids: gpd.GeoDataFrame, *, max_cells: int = _MAX_CELLS) -> None:
        geoms = np.asarray(grids.geometry.to_numpy(), dtype=object)
        ids = np.asarray(grids.index.astype("str").to_numpy(), dtype=object)
        usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        order = np.argsort(ids[usable].astype("U"), kind="stable")  # rank 0 = lowest grid_id
        self.grid_ids: np.ndarray = ids[usable][order]
        self.geoms: np.ndarray = geoms[usable][order]
        self._ids_list: list[str] = [str(i) for i in self.grid_ids]
        shapely.prepare(self.geoms)
        self._bounds = shapely.bounds(self.geoms).reshape(-1, 4)
        self._candidates: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._build_raster(max_cells)

    def __repr__(self) -> str:
        ny, nx = self.raster.shape
        exact = float((self.raster == EXACT).mean()) if self.raster.size else 0.0
        return f"GridLocator({len(self.grid_ids)} grids, raster {nx}x{ny}, {exact:.1%} exact cells)"

    # -- building ----------------------------------------------------------

    def _build_raster(self, max_cells: int) -> None:
        if not len(self.geoms):
            self.x0 = self.y0 = 0.0
            self.cell = self._inv = 1.0
            self.raster = np.full((0, 0), OUTSIDE, dtype=np.int16)
            self._nx = self._ny = 0
            return
        xmin, ymin, xmax, ymax = shapely.total_bounds(self.geoms)
        width, height = max(xmax - xmin, 1e-9), max(ymax - ymin, 1e-9)
        cell = math.sqrt(width * height / max_cells)
        cell = max(cell, max(width, height) / 16_384, _MIN_CELL)  # bounded for thin territories, small for tiny ones
        nx = math.ceil(width / cell) + 2 * _PAD + 1
        ny = math.ceil(height / cell) + 2 * _PAD + 1
        self.x0, self.y0, self.cell = xmin - _PAD * cell, ymin - _PAD * cell, cell
        # Vertices at most cell/2 apart put every boundary point within a
        # quarter cell of a vertex; marking the 5 x 5 cells around each vertex
        # covers the boundary's cells with a cell to spare for rounding.
        lines = shapely.segmentize(shapely.boundary(self.geoms), cell / 2)
        xy = shapely.get_coordinates(lines)
        ix = np.floor((xy[:, 0] - self.x0) / cell).astype(np.intp)
        iy = np.floor((xy[:, 1] - self.y0) / cell).astype(np.intp)
        near = np.zeros((ny, nx), dtype=bool)
        near[iy, ix] = True
        near = _dilate(near, 2)
        # Each connected region of the other cells crosses no boundary: one
        # exact test of any one of its cells answers for all of them.
        labels, n = ndimage.label(~near)
        flat = labels.ravel()
        any_cell = np.zeros(n + 1, dtype=np.intp)
        any_cell[flat] = np.arange(flat.size)  # some cell of each region; which one does not matter
        rows, cols = np.divmod(any_cell[1:], nx)
        centre_x = self.x0 + (cols + 0.5) * cell
        centre_y = self.y0 + (rows + 0.5) * cell
        lut = np.full(n + 1, OUTSIDE, dtype=np.int32)
        lut[0] = EXACT
        lut[1:] = self._exact(centre_x, centre_y)
        dtype = np.int16 if len(self.geoms) < np.iinfo(np.int16).max else np.int32
        self.raster = lut[labels].astype(dtype)
        self._inv = 1.0 / cell
        self._nx, self._ny = nx, ny

    # -- queries -----------------------------------------------------------

    def codes(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Grid ranks (positions in :attr:`grid_ids`) of points; ``-1`` outside every grid.

        Parameters
        ----------
        x, y
            Longitudes and latitudes (EPSG:4326); NaN gives ``-1``.
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        if not self.raster.size or not x.size:
            return np.full(x.shape, OUTSIDE, dtype=np.int32)
        ny, nx = self.raster.shape
        # Points beyond the raster are clamped onto its outer ring of cells,
        # which lie beyond the grids' bounding box and hold OUTSIDE; so do NaN.
        fx = (x - self.x0) * self._inv
        fy = (y - self.y0) * self._inv
        np.clip(fx, 0, nx - 1, out=fx)
        np.clip(fy, 0, ny - 1, out=fy)
        np.nan_to_num(fx, copy=False, nan=0.0)
        np.nan_to_num(fy, copy=False, nan=0.0)
        cell = fy.astype(np.intp)
        cell *= nx
        cell += fx.astype(np.intp)
        out = self.raster.ravel()[cell].astype(np.int32)
        exact = np.flatnonzero(out == EXACT)
        if exact.size:
            out[exact] = self._exact(x[exact], y[exact])
        return out

    def _exact(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The shapely answer: lowest rank whose interior holds the point, else whose closure covers it.

        A loop over grids (tens to a few thousand), each a vectorised
        ``contains_xy`` on the points inside its bounding box; no Point
        objects are built.
        """
        best = np.full(len(x), OUTSIDE, dtype=np.int32)
        todo = np.ones(len(x), dtype=bool)
        for test in (shapely.contains_xy, shapely.intersects_xy):  # interior first, then the boundary
            for rank, (geom, (x0, y0, x1, y1)) in enumerate(zip(self.geoms, self._bounds, strict=True)):
                sel = np.flatnonzero(todo & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
                if sel.size:
                    hit = sel[test(geom, x[sel], y[sel])]
                    best[hit] = rank
                    todo[hit] = False
            if not todo.any():
                break
        return best

    def lookup(self, lon: float, lat: float) -> str | None:
        """The ``grid_id`` holding one point, or ``None`` outside every grid.

        Examples
        --------
        >>> locator(area).lookup(116.53, 27.21)  # doctest: +SKIP
        'G07'
        """
        fx = (lon - self.x0) * self._inv
        fy = (lat - self.y0) * self._inv
        if not (0 <= fx < self._nx and 0 <= fy < self._ny):  # also False for NaN
            return None
        row, col = int(fy), int(fx)
        code = self.raster.item(row, col)
        if code == EXACT:
            code = self._exact_one(lon, lat, row, col)
        return None if code == OUTSIDE else self._ids_list[code]

    def _exact_one(self, lon: float, lat: float, row: int, col: int) -> int:
        key = row * self._nx + col
        hit = self._candidates.get(key)
        if hit is None:  # the grids whose box meets this cell (with a margin), lowest rank first; kept
            x, y, d = self.x0 + col * self.cell, self.y0 + row * self.cell, self.cell
            b = self._bounds
            ranks = np.flatnonzero((b[:, 0] <= x + 1.5 * d) & (b[:, 2] >= x - d / 2)
                                   & (b[:, 1] <= y + 1.5 * d) & (b[:, 3] >= y - d / 2))
            hit = self._candidates[key] = (ranks, self.geoms[ranks])
        ranks, geoms = hit
        if not ranks.size:
            return OUTSIDE
        inside = shapely.contains_xy(geoms, lon, lat)
        if inside.any():
            return int(ranks[inside.argmax()])
        touching = shapely.intersects_xy(geoms, lon, lat)
        return int(ranks[touching.argmax()]) if touching.any() else OUTSIDE

    def grid_ids_of(self, geoms: gpd.GeoSeries | np.ndarray | Iterable[Any]) -> np.ndarray:
        """The ``grid_id`` of each point geometry (NaN outside, or without a point)."""
        arr = np.asarray(geoms.to_numpy() if isinstance(geoms, gpd.GeoSeries) else list(geoms), dtype=object)
        return self._named(self.point_codes(arr))

    def point_codes(self, arr: np.ndarray) -> np.ndarray:
        """:meth:`codes` of an array of point geometries; ``-1`` for missing, empty or non-point ones."""
        codes = np.full(len(arr), OUTSIDE, dtype=np.int32)
        if not len(arr):
            return codes
        points = shapely.get_type_id(arr) == 0
        if points.all():  # the usual case: skip the emptiness test unless an empty point turns up
            try:
                return self.codes(shapely.get_x(arr), shapely.get_y(arr))
            except shapely.errors.GEOSException:
                pass
        usable = np.flatnonzero(points & ~shapely.is_empty(arr))
        codes[usable] = self.codes(shapely.get_x(arr[usable]), shapely.get_y(arr[usable]))
        return codes

    def _named(self, codes: np.ndarray) -> np.ndarray:
        names = np.append(self.grid_ids, np.nan).astype(object)  # code -1 takes the last: NaN
        return names[codes]


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    """Grow a boolean raster by ``r`` cells in every direction (a square, separable)."""
    out = mask.copy()
    for axis in (0, 1):
        src = out.copy()
        for k in range(1, r + 1):
            if axis == 0:
                out[k:] |= src[:-k]
                out[:-k] |= src[k:]
            else:
                out[:, k:] |= src[:, :-k]
                out[:, :-k] |= src[:, k:]
    return out


def is_point(arr: np.ndarray) -> np.ndarray:
    """Which entries are non-empty points (the only geometries the locator answers for)."""
    return (shapely.get_type_id(arr) == 0) & ~shapely.is_empty(arr)


# -- per area ---------------------------------------------------------------


def locator(area: ServiceArea, grids: gpd.GeoDataFrame | None = None) -> GridLocator:
    """The locator of ``area``'s grids, built once and kept on the area.

    Parameters
    ----------
    area
        The service area.
    grids
        Other grids to locate against (a plan); not cached.
    """
    if grids is not None and grids is not area.grids:
        return GridLocator(grids)
    return area.cached("locator", ("grids",), lambda: GridLocator(area.grids))


def _series(values: np.ndarray, index: pd.Index) -> pd.Series:
    return pd.Series(values, index=index, dtype="str", name="grid_id")


def assign_grids(area: ServiceArea, grids: gpd.GeoDataFrame | None = None) -> dict[str, pd.Series]:
    """The grid of every customer, transformer, access point, work order and application.

    Work orders and applications follow :func:`work_order_grids`.

    Parameters
    ----------
    area
        The service area.
    grids
        Grids to use instead of ``area.grids`` (a plan being previewed).

    Returns
    -------
    dict
        Layer name → ``grid_id`` Series aligned to the layer (NaN outside).
    """
    loc = locator(area, grids)
    out = {name: _series(loc.grid_ids_of(_points(area.layers[name])), area.layers[name].index)
           for name in POINT_LAYERS if name not in CUSTOMER_LAYERS}
    for name in CUSTOMER_LAYERS:
        out[name] = _work_order_grids(area.layers[name], out["customers"], loc)
    return out


def work_order_grids(area: ServiceArea, orders: pd.DataFrame) -> pd.Series:
    """Each work order's grid: its customer's, else the grid holding its own point (NaN when neither).

    The one rule for a work order's derived ``grid_id``: :func:`assign_grids`
    applies it to the layer; a new order and the server's in-memory update
    apply it to their rows.

    Parameters
    ----------
    area
        The service area (its customers' derived ``grid_id`` and its grids).
    orders
        Work orders, new ones too (a ``customer_id`` column and, in a GeoDataFrame, their points).
    """
    return _work_order_grids(orders, area.customers["grid_id"], locator(area))


def _work_order_grids(orders: pd.DataFrame, customer_grids: pd.Series, loc: GridLocator) -> pd.Series:
    by_customer = orders["customer_id"].map(customer_grids).astype("str")
    own = _series(loc.grid_ids_of(_points(orders)), orders.index)
    return by_customer.where(by_customer.notna(), own).rename("grid_id")


def _points(df: pd.DataFrame) -> gpd.GeoSeries:
    """A layer's points (all missing for a layer without geometry)."""
    return df.geometry if isinstance(df, gpd.GeoDataFrame) else gpd.GeoSeries([None] * len(df), index=df.index)


def derive_grids(area: ServiceArea) -> ServiceArea:
    """Fill the derived ``grid_id`` of the point layers in place (see :func:`assign_grids`)."""
    for name, grid in assign_grids(area).items():
        area.layers[name] = area.layers[name].assign(grid_id=grid)
    return area


def check_unlocated(area: ServiceArea, *, rules: Rules = DEFAULT_RULES) -> gpd.GeoDataFrame:
    """Customers, transformers, access points, work orders and applications that lie in no grid.

    (``rules`` is not used: it is taken so that every check of ``validate`` has one signature.)

    One warning per point outside every grid: it has no grid, hence no
    responsible staff, until the plan covers it.
    """
    grids = assign_grids(area)
    parts = []
    for name in POINT_LAYERS:
        df = area.layers[name]
        if not len(df) or not isinstance(df, gpd.GeoDataFrame):
            continue
        geoms = df.geometry.to_numpy()
        lost = grids[name].isna().to_numpy() & is_point(geoms)
        if not lost.any():
            continue
        ids = df.index[lost].astype("str")
        x, y = shapely.get_x(geoms[lost]), shapely.get_y(geoms[lost])
        parts.append(pd.DataFrame({
            "check": "outside_grids", "severity": "warning", "layer": name, "feature_id": ids,
            "message": [f"{name} {i} at ({a:.6f}, {b:.6f}) lies in no grid" for i, a, b in zip(ids, x, y, strict=True)],
            "geometry": geoms[lost],
        }))
    return findings(pd.concat(parts, ignore_index=True) if parts else ())


# -- who is responsible here -------------------------------------------------


@dataclass(frozen=True)
class Location:
    """What a dispatcher needs about a point: its grid, station and staff.

    ``grid`` holds ``grid_id``, ``code``, ``name``, ``area_class`` and
    ``station_id``; ``station`` the station's ``station_id``, ``code`` and
    ``name`` (or ``None``); ``staff`` one dict per person (``staff_id``,
    ``role``, ``name``, ``phone``), grid managers first; ``customer`` the
    customer's id, name and address when a customer was asked for.
    """

    lon: float
    lat: float
    grid: dict[str, Any]
    station: dict[str, Any] | None
    staff: list[dict[str, Any]] = field(default_factory=list)
    customer: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"location": {"lon": self.lon, "lat": self.lat}, "customer": self.customer, "grid": self.grid,
                "station": self.station, "staff": self.staff}


_ROLE_ORDER = {"grid_manager": 0, "grid_member": 1, "area_manager": 2}


def _plain(value: Any) -> Any:
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def locate_point(area: ServiceArea, lon: float, lat: float) -> Location:
    """The grid, station and staff responsible for the point (lon, lat).

    Raises
    ------
    DataError
        The coordinates are not lon/lat degrees.
    NotFoundError
        No grid covers the point.
    """
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        msg = f"({lon}, {lat}) is not a lon/lat position in degrees"
        raise DataError(msg)
    grid_id = locator(area).lookup(lon, lat)
    if grid_id is None:
        msg = f"point ({lon:.6f}, {lat:.6f}) lies outside every grid of {area.name}"
        raise NotFoundError(msg)
    return _location(area, grid_id, lon, lat)


def locate_customer(area: ServiceArea, customer_id: str) -> Location:
    """The grid, station and staff responsible for a customer, with its location.

    Raises
    ------
    NotFoundError
        No such customer, or the customer lies outside every grid.
    """
    customers = area.customers
    if customer_id not in customers.index:
        msg = f"no customer {customer_id!r} in {area.name}"
        raise NotFoundError(msg)
    row = customers.loc[customer_id]
    geom = row.geometry
    if geom is None or geom.is_empty:
        msg = f"customer {customer_id} has no location"
        raise NotFoundError(msg)
    grid_id = locator(area).lookup(geom.x, geom.y)
    if grid_id is None:
        msg = f"customer {customer_id} at ({geom.x:.6f}, {geom.y:.6f}) lies outside every grid of {area.name}"
        raise NotFoundError(msg)
    customer = {"customer_id": customer_id} | {
        c: _plain(row.get(c)) for c in ("name", "address", "phone", "category", "meter_id") if c in row.index}
    loc = _location(area, grid_id, float(geom.x), float(geom.y))
    return Location(loc.lon, loc.lat, loc.grid, loc.station, loc.staff, customer)


def _location(area: ServiceArea, grid_id: str, lon: float, lat: float) -> Location:
    g = area.grids.loc[grid_id]
    grid = {"grid_id": grid_id} | {c: _plain(g.get(c)) for c in ("code", "name", "area_class", "station_id")}
    station = None
    sid = grid.get("station_id")
    if sid is not None and sid in area.stations.index:
        s = area.stations.loc[sid]
        station = {"station_id": sid, "code": _plain(s.get("code")), "name": _plain(s.get("name"))}
    links = area.grid_staff[area.grid_staff["grid_id"] == grid_id]
    people = links.join(area.staff[["name", "phone"]], on="staff_id")
    people = people.assign(_order=people["role"].map(_ROLE_ORDER).fillna(9)).sort_values(["_order", "staff_id"])
    staff = [{"staff_id": _plain(r.staff_id), "role": _plain(r.role), "name": _plain(r.name),
              "phone": _plain(r.phone)} for r in people.itertuples(index=False)]
    return Location(float(lon), float(lat), grid, station, staff)


__all__ = [
    "EXACT",
    "OUTSIDE",
    "GridLocator",
    "Location",
    "assign_grids",
    "check_unlocated",
    "derive_grids",
    "locate_customer",
    "locate_point",
    "locator",
    "work_order_grids",
]
