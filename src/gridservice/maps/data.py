"""What the composed maps show, gathered from the area's analyses.

The maps draw frames computed elsewhere: KPIs and line loss
(:mod:`gridservice.metrics`), audit findings, plan checks
(:mod:`gridservice.spatial`), outage impact (the topology trace, through
:mod:`gridservice.events.links`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import DataError
from gridservice.events.links import customers_of_devices
from gridservice.metrics import audit, kpi, lineloss
from gridservice.model import ServiceArea
from gridservice.schema import CRS, TIMEZONE
from gridservice.spatial.plan import check_grids

__all__ = [
    "audit_findings",
    "grid_kpis",
    "line_loss",
    "outage_areas",
    "plan_problems",
    "work_order_points",
]


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


def grid_kpis(area: ServiceArea, period: str, *, rules: Rules = DEFAULT_RULES) -> pd.DataFrame:
    """KPIs per grid for ``period`` (:func:`gridservice.metrics.kpi.grid_kpis`), with the maps' own columns."""
    out = kpi.grid_kpis(area, period, rules=rules)
    if len(area.grid_staff):
        out["staff"] = area.grid_staff.groupby("grid_id")["staff_id"].nunique().reindex(out.index, fill_value=0)
    out["high_loss_transformers"] = out["loss_high"]
    return out


def line_loss(area: ServiceArea, period: str, *, rules: Rules = DEFAULT_RULES) -> pd.DataFrame | None:
    """Line loss per transformer for ``period`` (``None`` when the area has no transformers)."""
    if not len(area.transformers):
        return None
    return lineloss.line_loss(area, period, rules=rules)


def audit_findings(area: ServiceArea, period: str | None = None, *, rules: Rules = DEFAULT_RULES) -> gpd.GeoDataFrame:
    """Audit findings with a geometry."""
    found = audit.audit(area, period=period, rules=rules)
    return found[~(found.geometry.isna() | found.geometry.is_empty)]


#: Plan checks whose geometry is the problem itself (drawn on the maps).
SHAPE_CHECKS = ("overlap", "gap", "sliver", "outside_territory", "invalid_polygon", "grid_overlap", "grid_gap")


def plan_problems(area: ServiceArea, *, rules: Rules = DEFAULT_RULES) -> gpd.GeoDataFrame:
    """Defects of the grid plan's drawing, as findings with their polygons.

    The plan checks of :mod:`gridservice.spatial.plan` in :data:`SHAPE_CHECKS`
    (overlaps, gaps, slivers, parts outside the territory).
    """
    found = check_grids(area, rules=rules)
    # Only the defects of the drawing itself: a "no manager" finding carries the whole grid
    # as its geometry and would paint over the KPI colours.
    found = found[found["check"].isin(SHAPE_CHECKS).to_numpy()]
    return found[~(found.geometry.isna() | found.geometry.is_empty)]


def outage_areas(area: ServiceArea, outages: pd.DataFrame | None = None, *, buffer_m: float = 60.0) -> gpd.GeoSeries:
    """The affected area of each outage: the convex hull of its customers, widened by ``buffer_m``.

    Customers come from the topology trace. An outage with no located customer is drawn at its
    device when the device has a point, else left out.
    """
    outages = area.outages if outages is None else outages
    if not len(outages):
        return gpd.GeoSeries([], crs=CRS, dtype="geometry")
    pairs = customers_of_devices(area, pd.Index(outages["device_id"].astype("str").unique()))
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
