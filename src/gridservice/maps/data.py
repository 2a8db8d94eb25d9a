"""What the composed maps show, gathered from whatever the area's analyses provide.

The maps draw frames computed elsewhere: KPIs and line loss
(:mod:`gridservice.metrics`), audit findings, plan checks
(:mod:`gridservice.spatial`), outage impact (:mod:`gridservice.topology` or
the foreign-key chain of :mod:`gridservice.events.links`). Where one of those
packages is not installed the map still opens, with a simple stand-in
computed here (customers per grid, no line loss, gaps and overlaps of the plan).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import DataError
from gridservice.findings import findings
from gridservice.model import ServiceArea
from gridservice.schema import CRS, TIMEZONE

__all__ = [
    "audit_findings",
    "customer_grid_ids",
    "grid_kpis",
    "line_loss",
    "outage_areas",
    "plan_problems",
    "work_order_points",
]


def _optional(module: str, name: str) -> Callable[..., Any] | None:
    """``module.name`` if that analysis is installed, else ``None``."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    return getattr(mod, name, None)


def _month(value: object) -> str | None:
    ts = pd.Timestamp(value)
    return None if pd.isna(ts) else f"{ts.year:04d}-{ts.month:02d}"


def check_period(period: str) -> str:
    """``period`` if it is ``YYYY-MM``, else a clear error."""
    try:
        ts = pd.Timestamp(f"{period}-01")
    except (ValueError, TypeError) as exc:
        msg = f"period {period!r} is not a month written YYYY-MM"
        raise DataError(msg) from exc
    if _month(ts) != period:
        msg = f"period {period!r} is not a month written YYYY-MM"
        raise DataError(msg)
    return period


def customer_grid_ids(area: ServiceArea) -> pd.Series:
    """Each customer's ``grid_id``: the derived column, else located by a spatial join."""
    links = _optional("gridservice.events.links", "with_grids")
    if links is not None:
        return links(area, "customers")
    c = area.customers
    grid = c["grid_id"] if "grid_id" in c.columns else pd.Series(np.nan, index=c.index, dtype="str")
    missing = grid.isna().to_numpy()
    if missing.any() and len(area.grids):
        pts = gpd.GeoDataFrame(geometry=c.geometry[missing])
        joined = gpd.sjoin(pts, area.grids[["geometry"]], how="left", predicate="within")
        joined = joined[~joined.index.duplicated(keep="first")]
        grid = grid.copy()
        grid[missing] = joined["grid_id"].reindex(pts.index).to_numpy()
    return grid.astype("str").rename("grid_id")


def simple_kpis(area: ServiceArea, period: str | None = None) -> pd.DataFrame:
    """Stand-in KPIs per grid when :mod:`gridservice.metrics` is missing.

    ``customers``, ``staff``, ``households_per_member`` and, for ``period``,
    ``complaints``, ``complaints_per_10k`` and ``repairs``.
    """
    grids = area.grids
    out = pd.DataFrame(index=grids.index)
    cust = customer_grid_ids(area)
    out["customers"] = cust.value_counts().reindex(grids.index, fill_value=0).astype("int64")
    gs = area.grid_staff
    staff_n = gs.groupby("grid_id")["staff_id"].nunique() if len(gs) else pd.Series(dtype="int64")
    out["staff"] = staff_n.reindex(grids.index, fill_value=0).astype("int64")
    members = gs[gs["role"] == "grid_member"].groupby("grid_id")["staff_id"].nunique() if len(gs) else pd.Series(
        dtype="int64")
    members = members.reindex(grids.index, fill_value=0)
    out["households_per_member"] = (out["customers"] / members.where(members > 0)).astype("float64")
    wo = area.work_orders
    if period is not None and len(wo):
        month = wo["received_at"].dt.tz_convert(TIMEZONE).dt.strftime("%Y-%m") == period
        wo = wo[month.to_numpy()]
        grid = wo["grid_id"] if "grid_id" in wo.columns else pd.Series(np.nan, index=wo.index, dtype="str")
        grid = grid.where(grid.notna(), wo["customer_id"].map(cust))
        for kind, col in (("complaint", "complaints"), ("repair", "repairs")):
            sel = (wo["kind"] == kind).to_numpy()
            out[col] = grid[sel].value_counts().reindex(grids.index, fill_value=0).astype("int64")
        out["complaints_per_10k"] = (out["complaints"] / out["customers"].where(out["customers"] > 0)
                                     * 10_000).astype("float64")
    return out


def grid_kpis(area: ServiceArea, period: str, *, rules: Rules = DEFAULT_RULES) -> pd.DataFrame:
    """KPIs per grid for ``period``: :func:`gridservice.metrics.kpi.grid_kpis`, else :func:`simple_kpis`."""
    fn = _optional("gridservice.metrics.kpi", "grid_kpis")
    if fn is None:
        return simple_kpis(area, period)
    out = fn(area, period, rules=rules)
    if "staff" not in out.columns and len(area.grid_staff):
        out["staff"] = area.grid_staff.groupby("grid_id")["staff_id"].nunique().reindex(out.index, fill_value=0)
    if "loss_high" in out.columns and "high_loss_transformers" not in out.columns:
        out["high_loss_transformers"] = out["loss_high"]
    return out


def line_loss(area: ServiceArea, period: str, *, rules: Rules = DEFAULT_RULES) -> pd.DataFrame | None:
    """Line loss per transformer for ``period`` (``None`` when the metrics package is missing)."""
    fn = _optional("gridservice.metrics.lineloss", "line_loss")
    if fn is None or not len(area.transformers):
        return None
    return fn(area, period, rules=rules)


def audit_findings(area: ServiceArea, period: str | None = None, *, rules: Rules = DEFAULT_RULES) -> gpd.GeoDataFrame:
    """Audit findings with a geometry (empty when the audit package is missing)."""
    fn = _optional("gridservice.metrics.audit", "audit")
    if fn is None:
        return findings()
    found = fn(area, period=period, rules=rules) if period else fn(area, rules=rules)
    if not isinstance(found, gpd.GeoDataFrame):
        return findings()
    return found[~(found.geometry.isna() | found.geometry.is_empty)]


#: Plan checks whose geometry is the problem itself (drawn on the maps).
SHAPE_CHECKS = ("overlap", "gap", "sliver", "outside_territory", "invalid_polygon", "grid_overlap", "grid_gap")


def plan_problems(area: ServiceArea, *, min_area_m2: float = 1.0, rules: Rules = DEFAULT_RULES) -> gpd.GeoDataFrame:
    """Gaps and overlaps of the grid plan, as findings with their polygons.

    Uses the plan checks of :mod:`gridservice.spatial` when installed (those in
    :data:`SHAPE_CHECKS`: overlaps, gaps, slivers, parts outside the territory);
    otherwise overlaps are pairwise intersections (STRtree) and gaps are the
    territory not covered by any grid, each kept when larger than ``min_area_m2``.
    """
    fn = _optional("gridservice.spatial.plan", "check_grids")
    if fn is not None:
        found = fn(area, rules=rules)
        # Only the defects of the drawing itself: a "no manager" finding carries the whole grid
        # as its geometry and would paint over the KPI colours.
        shape = found["check"].isin(SHAPE_CHECKS).to_numpy()
        found = found[shape]
        return found[~(found.geometry.isna() | found.geometry.is_empty)]
    grids = area.grids
    if not len(grids):
        return findings()
    metric = area.to_metric(grids.geometry)
    geoms = shapely.make_valid(np.asarray(metric.values))
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    inter = shapely.intersection(geoms[left], geoms[right])
    areas = shapely.area(inter)
    big = areas > min_area_m2
    ids = grids.index.to_numpy()
    rows: list[dict[str, object]] = []
    overlap_geoms = gpd.GeoSeries(inter[big], crs=area.metric_crs).to_crs(CRS)
    for a, b, g, s in zip(ids[left[big]], ids[right[big]], overlap_geoms, areas[big], strict=True):
        rows.append({"check": "grid_overlap", "severity": "error", "layer": "grids", "feature_id": f"{a},{b}",
                     "message": f"grids {a} and {b} overlap by {s:,.0f} m²", "geometry": g})
    territory = area.territory
    if not territory.is_empty:
        terr = gpd.GeoSeries([territory], crs=CRS).to_crs(area.metric_crs).iloc[0]
        gap = shapely.difference(terr, shapely.union_all(geoms))
        parts = shapely.get_parts(gap)
        parts = parts[shapely.area(parts) > min_area_m2]
        for g in gpd.GeoSeries(parts, crs=area.metric_crs).to_crs(CRS):
            rows.append({"check": "grid_gap", "severity": "error", "layer": "grids", "feature_id": "",
                         "message": "territory covered by no grid", "geometry": g})
    return findings(rows)


def _affected_pairs(area: ServiceArea, devices: pd.Index) -> pd.DataFrame:
    fn = _optional("gridservice.events.links", "customers_of_devices")
    if fn is not None:
        return fn(area, devices)
    c = area.customers
    chain = pd.DataFrame({"self": c.index, "meter_id": c["meter_id"].to_numpy()}, index=c.index)
    meters = area.meters
    ap_tx = meters["access_point_id"].map(area.access_points["transformer_id"])
    meter_tx = meters["transformer_id"].where(meters["transformer_id"].notna(), ap_tx)
    chain["access_point_id"] = chain["meter_id"].map(meters["access_point_id"])
    chain["transformer_id"] = chain["meter_id"].map(meter_tx)
    chain["feeder_id"] = chain["transformer_id"].map(area.transformers["feeder_id"])
    chain["substation_id"] = chain["feeder_id"].map(area.feeders["substation_id"])
    chain["customer_id"] = c.index
    long = chain.melt(id_vars="customer_id", value_name="device_id")[["device_id", "customer_id"]]
    return long[long["device_id"].isin(devices)].astype("str")


def outage_areas(area: ServiceArea, outages: pd.DataFrame | None = None, *, buffer_m: float = 60.0) -> gpd.GeoSeries:
    """The affected area of each outage: the convex hull of its customers, widened by ``buffer_m``.

    Customers come from the topology trace when available (else the
    foreign-key chain). An outage with no located customer is drawn at its
    device when the device has a point, else left out.
    """
    outages = area.outages if outages is None else outages
    if not len(outages):
        return gpd.GeoSeries([], crs=CRS, dtype="geometry")
    pairs = _affected_pairs(area, pd.Index(outages["device_id"].astype("str").unique()))
    o = pd.DataFrame({"outage_id": outages.index.astype("str"), "device_id": outages["device_id"].astype("str")})
    hit = o.merge(pairs, on="device_id", how="inner")
    pts = area.customers.geometry.reindex(hit["customer_id"])
    ok = ~(pts.isna() | pts.is_empty).to_numpy()
    hit, pts = hit[ok], pts[ok]
    metric = area.to_metric(gpd.GeoSeries(pts.to_numpy(), crs=CRS))
    codes, uniques = pd.factorize(hit["outage_id"])
    coords = shapely.get_coordinates(np.asarray(metric.values))
    hulls = shapely.convex_hull(shapely.multipoints(coords, indices=codes)) if len(codes) else np.array([])
    shapes = gpd.GeoSeries(shapely.buffer(hulls, buffer_m), index=pd.Index(uniques, name="outage_id"),
                           crs=area.metric_crs)
    # Outages whose device has no customers: a circle at the device, if it has a point.
    rest = outages.index[~outages.index.isin(shapes.index)]
    extra = {}
    for oid in rest:
        device = str(outages.at[oid, "device_id"])
        for layer in ("transformers", "substations", "access_points", "switches"):
            df = area.layers[layer]
            if device in df.index and isinstance(df, gpd.GeoDataFrame) and df.geometry[device] is not None:
                extra[oid] = df.geometry[device]
                break
    if extra:
        dev = area.to_metric(gpd.GeoSeries(extra, crs=CRS)).buffer(buffer_m * 2)
        shapes = pd.concat([shapes, dev])
    return shapes.to_crs(CRS).rename_axis("outage_id")


def work_order_points(area: ServiceArea, *, kinds: tuple[str, ...], period: str | None = None) -> gpd.GeoSeries:
    """Where work orders of ``kinds`` (received in ``period``) happened: their point, else their customer's."""
    wo = area.work_orders
    if not len(wo):
        return gpd.GeoSeries([], crs=CRS, dtype="geometry")
    sel = wo["kind"].isin(kinds).to_numpy()
    if period is not None:
        sel = sel & (wo["received_at"].dt.tz_convert(TIMEZONE).dt.strftime("%Y-%m") == period).to_numpy()
    wo = wo[sel]
    own = wo.geometry if isinstance(wo, gpd.GeoDataFrame) else gpd.GeoSeries([None] * len(wo), index=wo.index)
    by_customer = area.customers.geometry.reindex(wo["customer_id"]).set_axis(wo.index)
    have = ~(own.isna() | own.is_empty)
    pts = gpd.GeoSeries(np.where(have.to_numpy(), own.to_numpy(), by_customer.to_numpy()), index=wo.index, crs=CRS)
    return pts[~(pts.isna() | pts.is_empty)]
