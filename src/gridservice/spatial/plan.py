"""Grid plans: read a plan file and check a plan before anyone relies on it.

A *plan* is a set of grid polygons with their ``grid_id``, ``code``,
``name``, ``station_id`` and ``area_class``. A plan file (GeoJSON, or any
GIS file pyogrio reads) may hold some or all grids: a grid missing from the
file keeps its current shape, a grid named in it gets the new shape (and any
attribute the file leaves out is kept), and a new ``grid_id`` adds a grid.

The checks (:func:`check_plan`) and their severities:

===========================  ========  ===================================================
check                        severity  what it finds
===========================  ========  ===================================================
``invalid_polygon``          error     self-intersections, bad rings; ``repaired`` offers
                                       ``shapely.make_valid`` as GeoJSON
``code_changed``             error     an existing grid's code edited (codes stay stable)
``duplicate_code``           error     two grids with one code
``unknown_station``          error     ``station_id`` not in the stations layer
``overlap``                  error     two grids sharing area (one finding per pair, m²)
``gap``                      error     territory no grid covers (m²); deliberate holes
                                       are not gaps, see below
``outside_territory``        error     a grid reaching beyond the service area (m²)
``sliver``                   warning   a piece of a grid thinner than
                                       ``rules.sliver_max_width_m``
``split_transformer_area``   warning   a transformer's customers in more than one grid
``no_grid_manager``          warning   a grid without a ``grid_manager`` in grid_staff
``understaffed``             warning   households per grid member above
                                       ``households_per_member × households_per_member_overload``
===========================  ========  ===================================================

Rules worth knowing:

* **Gaps versus deliberate holes.** A hole drawn inside one grid's polygon
  (an interior ring: a reservoir, a military zone, another utility's
  enclave) is a declared exclusion, not a gap. Any other uncovered part of
  the territory — between grids, or between the grids and the territory's
  edge — is a gap. Without a ``service_area`` layer the territory is the
  grids' union with its holes filled, so only holes enclosed by several grids
  count as gaps.
* **Households** are customer accounts (户) located in the grid, every
  category. A grid with households and no grid member is understaffed too.
* Overlays (overlaps, gaps, outside parts) are computed in lon/lat, where
  the polygons were drawn, so neighbours sharing vertices stay exactly
  adjacent; areas are then measured in the service area's metric CRS.
  Pieces under :data:`AREA_TOLERANCE_M2` or thinner on average than
  :data:`NOISE_WIDTH_M` are digitising noise and ignored. A sliver is a piece
  of a grid that vanishes under an inward buffer of half
  ``rules.sliver_max_width_m``, of at least that width squared in area.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import DataError
from gridservice.findings import concat, findings
from gridservice.io.importer import read_gis
from gridservice.io.tables import conform
from gridservice.model import ServiceArea
from gridservice.schema import CRS
from gridservice.spatial.locate import locator

#: Overlaps, gaps and outside parts below this many m² are ignored as noise.
AREA_TOLERANCE_M2 = 1.0
#: ... and so are those thinner than this on average (2 × area / perimeter):
#: centimetre-wide strips along kilometres of edge are digitising noise.
NOISE_WIDTH_M = 0.1
#: Longest lon/lat segment (about 50 m) when plan pieces are measured in metres.
SEGMENT_DEG = 0.0005

#: The attributes a plan feature carries besides its polygon.
PLAN_ATTRIBUTES = ("code", "name", "station_id", "area_class")

# -- reading -----------------------------------------------------------------


def read_plan(path: str | Path, area: ServiceArea) -> gpd.GeoDataFrame:
    """Read a plan file: some or all grids, invalid polygons kept as they are.

    Parameters
    ----------
    path
        GeoJSON FeatureCollection (or GeoPackage, Shapefile) of grid
        polygons with a ``grid_id`` property.
    area
        The service area the plan redraws: existing grids lend the
        attributes a feature leaves out.

    Returns
    -------
    geopandas.GeoDataFrame
        The file's grids, indexed by ``grid_id``, in EPSG:4326.

    Raises
    ------
    DataError
        The file cannot be read, a feature lacks its ``grid_id`` or a new
        grid its attributes, a geometry is missing or not a polygon, or the
        coordinates are not lon/lat. An invalid polygon is *not* an error
        here: :func:`check_plan` reports it with a repair.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: no such plan file"
        raise DataError(msg)
    df = read_gis(path)
    if not isinstance(df, gpd.GeoDataFrame):
        msg = f"{path}: the plan has no polygons"
        raise DataError(msg)
    return plan_frame(df, area, source=str(path))


def plan_frame(df: pd.DataFrame, area: ServiceArea, *, source: str = "plan") -> gpd.GeoDataFrame:
    """Check and complete a plan given as a frame (what the API receives).

    See :func:`read_plan`; ``source`` names the input in error messages and
    rows are numbered as features from 1.
    """
    if not len(df):
        msg = f"{source}: the plan has no features"
        raise DataError(msg)
    if "grid_id" not in df.columns:
        if df.index.name == "grid_id":
            df = df.reset_index()
        else:
            msg = f"{source}: features need a 'grid_id' property"
            raise DataError(msg)
    if not isinstance(df, gpd.GeoDataFrame) and "geometry" not in df.columns:
        msg = f"{source}: the plan has no polygons"
        raise DataError(msg)
    geo = df if isinstance(df, gpd.GeoDataFrame) else gpd.GeoDataFrame(df, geometry="geometry")
    geo = geo.set_crs(CRS) if geo.crs is None else geo.to_crs(CRS)
    geo = geo.reset_index(drop=True)
    geo["grid_id"] = _text(geo["grid_id"])
    slashed = geo["grid_id"].str.contains("/", regex=False, na=False)
    if slashed.any():
        i = int(np.flatnonzero(slashed.to_numpy())[0])
        msg = f"{source}: feature {i + 1}: grid_id {geo['grid_id'].iloc[i]!r} contains '/' (ids are used in URLs)"
        raise DataError(msg)
    current = area.grids
    for col in PLAN_ATTRIBUTES:
        given = _text(geo[col]) if col in geo.columns else pd.Series(np.nan, index=geo.index, dtype="str")
        geo[col] = given.where(given.notna(), geo["grid_id"].map(current[col]))
    drawn_on = pd.to_numeric(geo["plan_version"], errors="coerce").max() if "plan_version" in geo.columns else None
    geo["plan_version"] = latest_grid_version(area)
    _check_drawable(geo, source)
    _check_degrees(geo, source)
    # conform checks ids, attributes and geometry types; an invalid polygon
    # is a finding of check_plan, not a reason to refuse the file, so
    # conform sees a valid stand-in and the real polygon is put back after.
    original = geo.geometry.to_numpy()
    conformed = conform("grids", geo.set_geometry(_stand_ins(original)), source=source, row_offset=1)
    out = conformed.set_geometry(gpd.GeoSeries(original, index=conformed.index, crs=CRS))
    # The version the features say they were drawn on, for a commit that names no base version.
    out.attrs["drawn_on"] = None if drawn_on is None or pd.isna(drawn_on) else int(drawn_on)
    return out


def _text(s: pd.Series) -> pd.Series:
    """Property values as text; numbers that are whole print without ``.0`` (code 101, not 101.0)."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        whole = s.notna() & (s.fillna(0) % 1 == 0)
        out = s.astype("str")
        out[whole] = s[whole].astype("int64").astype("str")
        return out.where(s.notna())
    text = s.astype("str").str.strip()
    return text.where(s.notna() & (text != ""))


def _stand_ins(geoms: np.ndarray) -> np.ndarray:
    bad = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms) & ~shapely.is_valid(geoms)
    bad &= np.isin(shapely.get_type_id(geoms), (3, 6))
    out = geoms.copy()
    out[bad] = shapely.box(0.0, 0.0, 1e-9, 1e-9)
    return out


def _check_drawable(geo: gpd.GeoDataFrame, source: str) -> None:
    """Refuse polygons no check can work on: a coordinate that is not a number, or a single point."""
    geoms = geo.geometry.to_numpy()
    coords, which = shapely.get_coordinates(geoms, return_index=True)
    bad = np.zeros(len(geoms), dtype=bool)
    bad[which[~np.isfinite(coords).all(axis=1)]] = True
    flat = ~bad & np.isin(shapely.get_type_id(geoms), (3, 6)) & ~shapely.is_empty(geoms)
    flat[flat] = shapely.length(geoms[flat]) == 0  # (a bow tie has no area either, but is a finding)
    for mask, problem in ((bad, "a coordinate is not a finite number"), (flat, "the polygon is a single point")):
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            msg = f"{source}: feature {i + 1} ({geo['grid_id'].iloc[i]}): {problem}"
            raise DataError(msg)


def _check_degrees(geo: gpd.GeoDataFrame, source: str) -> None:
    geoms = geo.geometry.to_numpy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        return
    b = shapely.bounds(geoms[present])
    bad = (b[:, 0] < -180) | (b[:, 2] > 180) | (b[:, 1] < -90) | (b[:, 3] > 90)
    if bad.any():
        first = int(np.flatnonzero(present)[np.argmax(bad)]) + 1
        msg = (f"{source}: feature {first} has coordinates that are not lon/lat degrees "
               f"(bounds {b[np.argmax(bad)].round(1).tolist()}); declare the file's CRS or reproject to EPSG:4326")
        raise DataError(msg)


def merge_plan(current: gpd.GeoDataFrame, plan: gpd.GeoDataFrame, *, complete: bool = False) -> gpd.GeoDataFrame:
    """The whole plan: current grids with ``plan``'s grids replaced or added.

    Parameters
    ----------
    current
        The grids as they are.
    plan
        Grids from a plan (:func:`read_plan`).
    complete
        ``plan`` is the whole plan: grids it lacks are removed (a revert).
    """
    if complete or not len(current):
        return plan.copy()
    kept = current[~current.index.isin(plan.index)]
    order = [*current.index, *plan.index[~plan.index.isin(current.index)]]
    merged = pd.concat([kept, plan]).reindex(order)
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=CRS)


def latest_grid_version(area: ServiceArea) -> int:
    """The newest plan version the area knows (0 before any)."""
    return latest_version(area.plan_versions, area.grids)


def latest_version(plan_versions: pd.DataFrame, grids: pd.DataFrame) -> int:
    """The newest plan version in these layers: plan_versions' keys and the grids' ``plan_version``."""
    versions = [0]
    if len(plan_versions):
        versions.append(int(plan_versions.index.max()))
    if len(grids):
        versions.append(int(grids["plan_version"].max()))
    return max(versions)


# -- checking ----------------------------------------------------------------


def repaired(geoms: np.ndarray) -> np.ndarray:
    """Valid polygons: invalid ones through ``make_valid`` (structure method, polygonal parts kept)."""
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    bad = ~shapely.is_missing(geoms) & ~shapely.is_valid(geoms)
    if bad.any():
        out[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
    return out


def households(customer_grids: pd.Series) -> pd.Series:
    """Households (customer accounts) per grid from each customer's grid."""
    return customer_grids.value_counts().rename("households")


def grid_members(area: ServiceArea) -> pd.Series:
    """Grid members per grid (distinct staff with the ``grid_member`` role)."""
    gs = area.grid_staff
    members = gs.loc[gs["role"] == "grid_member"].drop_duplicates(["grid_id", "staff_id"])
    return members.groupby("grid_id").size().rename("grid_members")


def customer_transformers(area: ServiceArea) -> pd.Series:
    """Each customer's transformer: meter → transformer, or meter → access point → transformer."""
    meters = area.meters
    direct = meters["transformer_id"]
    via = meters["access_point_id"].map(area.access_points["transformer_id"])
    by_meter = direct.where(direct.notna(), via)
    return area.customers["meter_id"].map(by_meter).astype("str").rename("transformer_id")


@dataclass
class PlanContext:
    """A whole plan and what the checks share about it (computed once, on demand)."""

    area: ServiceArea
    grids: gpd.GeoDataFrame
    named: pd.Index
    rules: Rules

    @cached_property
    def fixed(self) -> np.ndarray:
        """The plan's polygons, repaired where invalid (EPSG:4326)."""
        return repaired(self.grids.geometry.to_numpy())

    @cached_property
    def present(self) -> np.ndarray:
        """Which grids have a polygon."""
        return ~(shapely.is_missing(self.fixed) | shapely.is_empty(self.fixed))

    @cached_property
    def territory(self) -> shapely.Geometry:
        """The territory (EPSG:4326): the service_area, else the grids' union with holes filled."""
        if len(self.area.service_area):
            return shapely.union_all(repaired(self.area.service_area.geometry.to_numpy()))
        parts = shapely.get_parts(shapely.union_all(self.fixed[self.present]))
        return shapely.union_all(shapely.polygons(shapely.get_exterior_ring(parts[shapely.get_type_id(parts) == 3])))

    def _metric(self, geoms: np.ndarray | list[shapely.Geometry]) -> gpd.GeoSeries:
        """EPSG:4326 geometries in the metric CRS, densified first: a long lon/lat edge projects to a
        curve, and a two-vertex edge to its chord, which would open lens-shaped false gaps of many m²
        between two edges that coincide in lon/lat."""
        return gpd.GeoSeries(shapely.segmentize(np.asarray(list(geoms), dtype=object), SEGMENT_DEG),
                             crs=CRS).to_crs(self.area.metric_crs)

    def m2(self, geoms: np.ndarray | list[shapely.Geometry]) -> np.ndarray:
        """Areas in m² of EPSG:4326 geometries, measured in the area's metric CRS."""
        if not len(geoms):
            return np.zeros(0)
        return self._metric(geoms).area.to_numpy()

    def significant(self, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which overlay pieces are real (not noise, see :data:`NOISE_WIDTH_M`), and their m²."""
        if not len(geoms):
            return np.zeros(0, dtype=bool), np.zeros(0)
        metric = self._metric(geoms)
        area_m2, perimeter = metric.area.to_numpy(), metric.length.to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            width = np.where(perimeter > 0, 2 * area_m2 / perimeter, 0.0)
        return (area_m2 >= AREA_TOLERANCE_M2) & (width >= NOISE_WIDTH_M), area_m2

    @cached_property
    def customer_grids(self) -> pd.Series:
        """Each customer's grid under this plan."""
        grids = self.grids if len(self.grids) else self.area.grids
        loc = locator(self.area, grids if grids is not self.area.grids else None)
        return pd.Series(loc.grid_ids_of(self.area.customers.geometry), index=self.area.customers.index,
                         dtype="str", name="grid_id")

    def to_wgs84(self, geoms: list[shapely.Geometry] | np.ndarray) -> np.ndarray:
        """Metric geometries back to EPSG:4326."""
        return gpd.GeoSeries(list(geoms), crs=self.area.metric_crs).to_crs(CRS).to_numpy()

    def to_metric(self, geoms: np.ndarray) -> np.ndarray:
        """EPSG:4326 geometries in the metric CRS, densified first so long edges keep their shape."""
        dense = shapely.segmentize(geoms, 0.0005)  # about 50 m
        return gpd.GeoSeries(dense, crs=CRS).to_crs(self.area.metric_crs).to_numpy()


Check = Callable[[PlanContext], gpd.GeoDataFrame]


def _rows(ctx: PlanContext, check: str, severity: str, ids: list[str], messages: list[str],
          geoms: list[object] | np.ndarray, **extra: object) -> gpd.GeoDataFrame:
    df = pd.DataFrame({"check": check, "severity": severity, "layer": "grids", "feature_id": ids,
                       "message": messages, **extra})
    df["geometry"] = list(geoms)
    return findings(df)


def check_invalid(ctx: PlanContext) -> gpd.GeoDataFrame:
    """Invalid polygons, each with its ``shapely.make_valid`` repair as GeoJSON in ``repaired``."""
    geoms = ctx.grids.geometry.to_numpy()
    bad = ~shapely.is_missing(geoms) & ~shapely.is_valid(geoms)
    if not bad.any():
        return findings()
    ids = list(ctx.grids.index[bad])
    reasons = shapely.is_valid_reason(geoms[bad])
    fixed = ctx.fixed[bad]
    msgs = [f"grid {i}: invalid polygon ({r}); a repaired polygon is offered"
            for i, r in zip(ids, reasons, strict=True)]
    return _rows(ctx, "invalid_polygon", "error", ids, msgs, geoms[bad], repaired=shapely.to_geojson(fixed))


def check_codes(ctx: PlanContext) -> gpd.GeoDataFrame:
    """Codes that changed or repeat, and stations that do not exist."""
    grids, current = ctx.grids, ctx.area.grids
    parts = []
    named = grids.index[grids.index.isin(ctx.named) & grids.index.isin(current.index)]
    before, after = current.loc[named, "code"], grids.loc[named, "code"]
    changed = named[(before != after).to_numpy()]
    if len(changed):
        msgs = [f"grid {i}: code changed from {before[i]} to {after[i]}; grid codes stay stable across plan versions"
                for i in changed]
        parts.append(_rows(ctx, "code_changed", "error", list(changed), msgs, grids.geometry[changed]))
    dup = grids["code"].duplicated(keep=False) & grids["code"].notna()
    if dup.any():
        owners = grids.index[dup.to_numpy()].to_series().groupby(grids["code"][dup].to_numpy()).agg(", ".join)
        ids = list(grids.index[dup.to_numpy()])
        msgs = [f"grid {i}: code {grids.at[i, 'code']} is used by grids {owners[grids.at[i, 'code']]}" for i in ids]
        parts.append(_rows(ctx, "duplicate_code", "error", ids, msgs, grids.geometry[dup.to_numpy()]))
    unknown = grids["station_id"].notna() & ~grids["station_id"].isin(ctx.area.stations.index)
    if unknown.any():
        ids = list(grids.index[unknown.to_numpy()])
        msgs = [f"grid {i}: station_id {grids.at[i, 'station_id']!r} is not a known station" for i in ids]
        parts.append(_rows(ctx, "unknown_station", "error", ids, msgs, grids.geometry[unknown.to_numpy()]))
    return concat(parts)


def check_overlaps(ctx: PlanContext) -> gpd.GeoDataFrame:
    """Pairs of grids that share area, with the shared area in m²."""
    geoms = np.where(ctx.present, ctx.fixed, None)
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    shared = np.array([_polygonal(g) for g in shapely.intersection(geoms[a], geoms[b])], dtype=object)
    big, area_m2 = ctx.significant(shared)
    if not big.any():
        return findings()
    ids = ctx.grids.index.to_numpy()
    pairs = [f"{ids[i]},{ids[j]}" for i, j in zip(a[big], b[big], strict=True)]
    msgs = [f"grids {ids[i]} and {ids[j]} overlap by {m:,.0f} m²"
            for i, j, m in zip(a[big], b[big], area_m2[big], strict=True)]
    return _rows(ctx, "overlap", "error", pairs, msgs, shared[big], area_m2=area_m2[big].round(1))


def _polygonal(g: shapely.Geometry) -> shapely.Geometry:
    """The polygon parts of an overlay result (shared edges and corners dropped)."""
    parts = shapely.get_parts(g)
    polys = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
    return shapely.union_all(polys) if len(polys) != 1 else polys[0]


def check_gaps(ctx: PlanContext) -> gpd.GeoDataFrame:
    """Territory that no grid covers (m²), leaving out holes drawn inside one grid."""
    geoms = ctx.fixed[ctx.present]
    uncovered = shapely.get_parts(_polygonal(shapely.difference(ctx.territory, shapely.union_all(geoms))))
    uncovered = uncovered[ctx.significant(uncovered)[0]]
    if not len(uncovered):
        return findings()
    # A deliberate hole: an interior ring of one grid polygon (see the module notes).
    polys = shapely.get_parts(geoms)
    polys = polys[shapely.get_type_id(polys) == 3]
    n_rings = shapely.get_num_interior_rings(polys)
    rings = [shapely.get_interior_ring(p, k) for p, n in zip(polys, n_rings, strict=True) for k in range(n)]
    holes = shapely.union_all(shapely.polygons(rings)) if rings else shapely.Polygon()
    beyond_holes = ctx.m2(shapely.difference(uncovered, holes))
    gaps = uncovered[beyond_holes >= AREA_TOLERANCE_M2]
    if not len(gaps):
        return findings()
    area_m2 = ctx.m2(gaps)
    centres = shapely.point_on_surface(gaps)
    near = _nearest_grids(ctx, gaps)
    ids = [f"gap-{k + 1}" for k in range(len(gaps))]
    msgs = [f"gap of {m:,.0f} m² that no grid covers near ({p.x:.5f}, {p.y:.5f}), next to grids {n}"
            for m, p, n in zip(area_m2, centres, near, strict=True)]
    return _rows(ctx, "gap", "error", ids, msgs, gaps, area_m2=area_m2.round(1), grid_ids=near)


def _nearest_grids(ctx: PlanContext, pieces: np.ndarray) -> list[str]:
    """Grids touching each piece, comma-separated."""
    tree = shapely.STRtree(np.where(ctx.present, ctx.fixed, None))
    piece, grid = tree.query(pieces, predicate="intersects")
    ids = ctx.grids.index.to_numpy()
    found = pd.Series(ids[grid]).groupby(piece).agg(lambda s: ", ".join(sorted(s)))
    return [found.get(k, "none") for k in range(len(pieces))]


def check_slivers(ctx: PlanContext) -> gpd.GeoDataFrame:
    """Pieces of grids thinner than ``rules.sliver_max_width_m``."""
    width = ctx.rules.sliver_max_width_m
    present = ctx.present
    geoms = np.where(present, ctx.fixed, None)
    geoms[present] = ctx.to_metric(ctx.fixed[present])
    opened = shapely.buffer(shapely.buffer(geoms[present], -width / 2, join_style="mitre"), width / 2,
                            join_style="mitre")
    thin = shapely.difference(geoms[present], opened)
    parts, owner = shapely.get_parts(thin, return_index=True)
    keep = np.isin(shapely.get_type_id(parts), (3, 6)) & (shapely.area(parts) >= max(width * width, AREA_TOLERANCE_M2))
    if not keep.any():
        return findings()
    ids = ctx.grids.index.to_numpy()[np.flatnonzero(present)[owner[keep]]]
    area_m2 = shapely.area(parts[keep])
    msgs = [f"grid {i}: a sliver of {m:,.0f} m² narrower than {width:g} m" for i, m in zip(ids, area_m2, strict=True)]
    return _rows(ctx, "sliver", "warning", list(ids), msgs, ctx.to_wgs84(parts[keep]), area_m2=area_m2.round(1))


def check_outside(ctx: PlanContext) -> gpd.GeoDataFrame:
    """Parts of grids beyond the service area's territory (m²)."""
    if not len(ctx.area.service_area):
        return findings()
    present = np.flatnonzero(ctx.present)
    beyond = np.array([_polygonal(g) for g in shapely.difference(ctx.fixed[present], ctx.territory)], dtype=object)
    big, area_m2 = ctx.significant(beyond)
    if not big.any():
        return findings()
    ids = ctx.grids.index.to_numpy()[present[big]]
    msgs = [f"grid {i}: {m:,.0f} m² lie outside the service area" for i, m in zip(ids, area_m2[big], strict=True)]
    geoms_out = beyond[big]
    return _rows(ctx, "outside_territory", "error", list(ids), msgs, geoms_out, area_m2=area_m2[big].round(1))


def check_split_transformers(ctx: PlanContext) -> gpd.GeoDataFrame:
    """Transformer areas (台区) whose customers fall in more than one grid."""
    customers = ctx.area.customers
    if not len(customers):
        return findings()
    pairs = pd.DataFrame({"transformer_id": customer_transformers(ctx.area), "grid_id": ctx.customer_grids})
    pairs = pairs.dropna()
    counts = pairs.groupby(["transformer_id", "grid_id"]).size()
    spread = counts.groupby(level="transformer_id").size()
    split = spread.index[spread.to_numpy() > 1]
    if not len(split):
        return findings()
    counts = counts.loc[split].reset_index(name="n")
    counts["text"] = counts["grid_id"] + " (" + counts["n"].astype("str") + ")"
    listing = counts.groupby("transformer_id")["text"].agg(", ".join)
    members = pairs[pairs["transformer_id"].isin(split)].sort_values("transformer_id", kind="stable")
    codes, uniques = pd.factorize(members["transformer_id"])
    hulls = shapely.convex_hull(shapely.multipoints(customers.geometry.loc[members.index].to_numpy(), indices=codes))
    hull = pd.Series(hulls, index=uniques)
    ids = list(split)
    msgs = [f"transformer {t}: its customers fall in grids {listing[t]}" for t in ids]
    df = pd.DataFrame({"check": "split_transformer_area", "severity": "warning", "layer": "transformers",
                       "feature_id": ids, "message": msgs, "grid_ids": [listing[t] for t in ids]})
    df["geometry"] = hull.loc[ids].to_numpy()
    return findings(df)


def check_managers(ctx: PlanContext) -> gpd.GeoDataFrame:
    """Grids with nobody in the ``grid_manager`` role."""
    gs = ctx.area.grid_staff
    managed = gs.loc[gs["role"] == "grid_manager", "grid_id"]
    lacking = ~ctx.grids.index.isin(managed)
    if not lacking.any():
        return findings()
    ids = list(ctx.grids.index[lacking])
    msgs = [f"grid {i}: no grid manager assigned" for i in ids]
    return _rows(ctx, "no_grid_manager", "warning", ids, msgs, ctx.grids.geometry[lacking])


def check_staffing(ctx: PlanContext) -> gpd.GeoDataFrame:
    """Grids whose households per grid member are far above the norm."""
    rules = ctx.rules
    limit = rules.households_per_member * rules.households_per_member_overload
    held = households(ctx.customer_grids).reindex(ctx.grids.index, fill_value=0)
    members = grid_members(ctx.area).reindex(ctx.grids.index, fill_value=0)
    over = (held > 0) & ((members == 0) | (held > limit * members))
    if not over.any():
        return findings()
    ids = list(ctx.grids.index[over.to_numpy()])
    msgs = [
        f"grid {i}: {held[i]:,} households and no grid member" if members[i] == 0 else
        f"grid {i}: {held[i] / members[i]:,.0f} households per grid member "
        f"({held[i]:,} households, {members[i]} members; norm {rules.households_per_member:,})"
        for i in ids]
    return _rows(ctx, "understaffed", "warning", ids, msgs, ctx.grids.geometry[over.to_numpy()],
                 households=held[ids].to_numpy(), grid_members=members[ids].to_numpy())


#: Every plan check, in report order.
PLAN_CHECKS: tuple[Check, ...] = (
    check_invalid, check_codes, check_overlaps, check_gaps, check_outside, check_slivers,
    check_split_transformers, check_managers, check_staffing,
)


def check_plan(
    area: ServiceArea,
    plan: gpd.GeoDataFrame | None = None,
    *,
    complete: bool = False,
    rules: Rules = DEFAULT_RULES,
    checks: tuple[Check, ...] = PLAN_CHECKS,
) -> gpd.GeoDataFrame:
    """Check a plan against the service area.

    Parameters
    ----------
    area
        The service area (customers, transformers, staff, territory).
    plan
        Grids from :func:`read_plan` (some or all); ``None`` checks the
        current grids.
    complete
        ``plan`` is the whole plan (grids it lacks are dropped).
    rules
        Thresholds (default: the configured rules).
    checks
        Which checks to run (default: all of :data:`PLAN_CHECKS`).

    Returns
    -------
    geopandas.GeoDataFrame
        Findings; errors block a commit.
    """
    grids = area.grids if plan is None else merge_plan(area.grids, plan, complete=complete)
    named = pd.Index([]) if plan is None else plan.index
    return run_checks(PlanContext(area, grids, named, rules), checks)


def run_checks(ctx: PlanContext, checks: tuple[Check, ...] = PLAN_CHECKS) -> gpd.GeoDataFrame:
    """Run ``checks`` on a prepared :class:`PlanContext` (one the caller may share, see redraw)."""
    if not len(ctx.grids):
        return findings()
    return concat(check(ctx) for check in checks)


def check_grids(area: ServiceArea, *, rules: Rules = DEFAULT_RULES) -> gpd.GeoDataFrame:
    """The plan checks on the current grids, for ``gridservice validate``.

    Polygon validity is left to :func:`gridservice.model.check_integrity`,
    which ``validate`` runs too.
    """
    return check_plan(area, checks=tuple(c for c in PLAN_CHECKS if c is not check_invalid), rules=rules)


__all__ = [
    "AREA_TOLERANCE_M2",
    "PLAN_CHECKS",
    "PlanContext",
    "check_grids",
    "check_plan",
    "customer_transformers",
    "grid_members",
    "households",
    "latest_grid_version",
    "latest_version",
    "merge_plan",
    "plan_frame",
    "read_plan",
    "repaired",
    "run_checks",
]
