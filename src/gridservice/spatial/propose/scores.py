"""Balance and compactness scores of a plan, the same for the current plan and a proposal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridservice.model import ServiceArea, utm_crs
from gridservice.schema import CRS
from gridservice.spatial.propose.workload import workload
from gridservice.spatial.units import first_hit, last_year_work_orders


@dataclass
class PlanScores:
    """Scores of one plan, per grid and for the whole plan.

    Attributes
    ----------
    grids
        Per grid (index ``grid_id``): ``code``, ``households``,
        ``work_orders``, ``area_km2``, ``workload`` (share, sums to 1),
        ``polsby_popper``, ``parts``, ``members``, ``households_per_member``,
        ``balance`` and ``compactness`` (0–100).
    summary
        ``grids``, ``households``, ``households_cv``, ``workload_cv``,
        ``balance``, ``compactness``, ``mean_polsby_popper``, ``members``,
        ``households_per_member``, ``non_contiguous``, ``over_cap``.
    """

    grids: pd.DataFrame
    summary: dict[str, Any]


def score_plan(
    area: ServiceArea,
    grids: gpd.GeoDataFrame | None = None,
    *,
    weights: Mapping[str, float] | str | None = None,
    max_households: float | None = None,
) -> PlanScores:
    """Balance and compactness scores of a plan (the current one by default).

    Customers count in the grid that contains them, work orders (last year,
    see :func:`~gridservice.spatial.units.last_year_work_orders`) in their
    customer's grid or, without a customer, where they were reported.

    Parameters
    ----------
    area
        The service area (customers, work orders, grid staff).
    grids
        Grid polygons in EPSG:4326 indexed by ``grid_id`` (or with a
        ``grid_id`` column); default ``area.grids``.
    weights
        Workload weights (:func:`parse_weights`).
    max_households
        Count grids above this many households in ``summary["over_cap"]``.
    """
    grids = area.grids if grids is None else _grid_index(grids)
    if grids.crs is None:
        grids = grids.set_crs(CRS)
    ids = grids.index
    gl = grids.geometry.to_crs(CRS).to_numpy()
    frame = pd.DataFrame(index=ids)
    frame["code"] = grids["code"].astype("str") if "code" in grids.columns else ids.astype("str")
    customers = area.customers
    cust_grid = pd.Series(dtype="str")
    if len(customers) and len(grids):
        hit = first_hit(gl, customers.geometry.to_numpy())
        cust_grid = pd.Series(np.where(hit >= 0, ids.to_numpy()[np.maximum(hit, 0)], None), index=customers.index)
    frame["households"] = cust_grid.dropna().value_counts().reindex(ids, fill_value=0).astype("int64")
    wo = last_year_work_orders(area)
    wo_grid = pd.Series(dtype="str")
    if len(wo) and len(grids):
        wo_grid = wo["customer_id"].map(cust_grid) if "customer_id" in wo.columns else pd.Series(None, index=wo.index)
        loose = wo_grid.isna().to_numpy()
        if loose.any() and isinstance(wo, gpd.GeoDataFrame):
            hit = first_hit(gl, wo.geometry.to_numpy()[loose])
            vals = wo_grid.to_numpy(dtype=object)
            vals[np.flatnonzero(loose)] = np.where(hit >= 0, ids.to_numpy()[np.maximum(hit, 0)], None)
            wo_grid = pd.Series(vals, index=wo.index)
    frame["work_orders"] = wo_grid.dropna().value_counts().reindex(ids, fill_value=0).astype("int64")
    metric = area.metric_crs if not area.territory.is_empty else utm_crs(shapely.union_all(gl))
    gm = gpd.GeoSeries(gl, crs=CRS).to_crs(metric).to_numpy()
    frame["area_km2"] = shapely.area(gm) / 1e6
    per = shapely.length(gm)
    frame["polsby_popper"] = np.where(per > 0, 4 * np.pi * shapely.area(gm) / np.maximum(per, 1e-9) ** 2, 0.0)
    frame["parts"] = shapely.get_num_geometries(gm)
    frame["workload"] = workload(frame, weights) if len(frame) else pd.Series(dtype=float)
    staff = area.grid_staff
    if len(staff):
        members = staff.loc[staff["role"] == "grid_member", "grid_id"].value_counts()
    else:
        members = pd.Series(dtype="int64")
    frame["members"] = members.reindex(ids, fill_value=0).astype("int64")
    frame["households_per_member"] = (frame["households"] / frame["members"].where(frame["members"] > 0)).astype(float)
    mean = frame["workload"].mean() if len(frame) else np.nan
    frame["balance"] = (100 * (1 - (frame["workload"] / mean - 1).abs())).clip(0, 100).round(1)
    frame["compactness"] = (100 * frame["polsby_popper"]).round(1)
    hh = frame["households"].to_numpy(dtype=float)
    wl = frame["workload"].to_numpy(dtype=float)
    members_total = int(frame["members"].sum())
    summary: dict[str, Any] = {
        "grids": len(frame),
        "households": int(hh.sum()),
        "households_cv": _cv(hh),
        "workload_cv": _cv(wl),
        "balance": round(float(np.clip(100 * (1 - _cv(wl)), 0, 100)), 1) if len(wl) else float("nan"),
        "compactness": round(float(100 * frame["polsby_popper"].mean()), 1) if len(frame) else float("nan"),
        "mean_polsby_popper": float(frame["polsby_popper"].mean()) if len(frame) else float("nan"),
        "members": members_total,
        "households_per_member": float(hh.sum() / members_total) if members_total else float("nan"),
        "non_contiguous": int((frame["parts"] > 1).sum()),
        "over_cap": int((frame["households"] > max_households).sum()) if max_households is not None else 0,
    }
    return PlanScores(grids=frame, summary=summary)


def _cv(x: np.ndarray) -> float:
    if not len(x) or x.mean() == 0:
        return float("nan")
    return float(x.std() / x.mean())


def _grid_index(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    grids = grids.set_index("grid_id") if "grid_id" in grids.columns else grids.copy()
    grids.index = grids.index.astype("str")
    grids.index.name = "grid_id"
    return grids
