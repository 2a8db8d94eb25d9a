"""What ties an event to the network and to a grid.

Customers reach their transformer through ``customers.meter_id`` →
``meters.transformer_id`` (or ``meters.access_point_id`` →
``access_points.transformer_id``); transformers reach their feeder and
substation through foreign keys. Grids come from the derived ``grid_id``
columns; a row whose ``grid_id`` is empty is located from its point here, so
analyses work on an area that was not derived (a hand-built test area).

Customers cut off by an outage come from the topology trace
(:func:`gridservice.topology.network_of`), which honours open switches. When
the topology package is not available the foreign-key chain is used instead
(a device's customers are the customers below it, switches ignored).
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridservice.errors import GridserviceError
from gridservice.lookup import positions
from gridservice.model import ServiceArea


def meter_transformer_positions(area: ServiceArea) -> np.ndarray:
    """Each meter's transformer as a row position in ``area.transformers`` (-1 when unlinked)."""
    meters = area.meters
    tx = area.transformers.index
    direct = positions(meters["transformer_id"], tx)
    if "access_point_id" in meters.columns and len(area.access_points):
        ap_tx = positions(area.access_points["transformer_id"], tx)
        ap = positions(meters["access_point_id"], area.access_points.index)
        via = np.where(ap >= 0, ap_tx[np.maximum(ap, 0)], -1)
        direct = np.where(direct >= 0, direct, via)
    return direct


def meter_transformer(area: ServiceArea) -> pd.Series:
    """Each meter's transformer (direct, or through its access point)."""
    meters = area.meters
    direct = meters["transformer_id"]
    via_ap = meters["access_point_id"].map(area.access_points["transformer_id"])
    out = direct.where(direct.notna(), via_ap)
    return out.rename("transformer_id")


def transformer_of_customer(area: ServiceArea, customer_id: str) -> str | None:
    """One customer's transformer through its meter (None when unlinked); no whole-layer work."""
    meter = area.customers.at[customer_id, "meter_id"] if customer_id in area.customers.index else None
    if meter is None or pd.isna(meter) or meter not in area.meters.index:
        return None
    tx = area.meters.at[meter, "transformer_id"]
    if pd.isna(tx):
        ap = area.meters.at[meter, "access_point_id"] if "access_point_id" in area.meters.columns else None
        if ap is None or pd.isna(ap) or ap not in area.access_points.index:
            return None
        tx = area.access_points.at[ap, "transformer_id"]
    return None if pd.isna(tx) else str(tx)


def grid_of_feature(area: ServiceArea, layer: str, feature_id: str) -> str | None:
    """One row's ``grid_id``: its derived column, else located from its point (None outside every grid)."""
    df = area.layers[layer]
    if feature_id not in df.index:
        return None
    grid = df.at[feature_id, "grid_id"] if "grid_id" in df.columns else None
    if grid is not None and not pd.isna(grid):
        return str(grid)
    if not isinstance(df, gpd.GeoDataFrame):
        return None
    located = grid_of_points(area, gpd.GeoSeries([df.geometry[feature_id]], crs=df.crs)).iloc[0]
    return None if pd.isna(located) else str(located)


def customer_transformer(area: ServiceArea) -> pd.Series:
    """Each customer's transformer through its meter (NaN when unlinked)."""
    return area.customers["meter_id"].map(meter_transformer(area)).rename("transformer_id")


def customer_chain(area: ServiceArea) -> pd.DataFrame:
    """Each customer's supply path by foreign keys: meter, access point, transformer, feeder, substation."""
    c = area.customers
    out = pd.DataFrame(index=c.index)
    out["meter_id"] = c["meter_id"]
    out["access_point_id"] = c["meter_id"].map(area.meters["access_point_id"])
    out["transformer_id"] = customer_transformer(area)
    out["feeder_id"] = out["transformer_id"].map(area.transformers["feeder_id"])
    out["substation_id"] = out["feeder_id"].map(area.feeders["substation_id"])
    return out


def grid_of_points(area: ServiceArea, geoms: gpd.GeoSeries | Iterable[shapely.Geometry]) -> pd.Series:
    """The grid containing each point (NaN outside every grid).

    Uses the locator of :mod:`gridservice.spatial` when it is installed;
    otherwise an STRtree ``within`` query (a point inside two overlapping
    grids gets the first in grid order; a point exactly on a boundary none).
    """
    geoms = geoms if isinstance(geoms, gpd.GeoSeries) else gpd.GeoSeries(list(geoms), crs="EPSG:4326")
    locate = _spatial_locator()
    if locate is not None:
        return pd.Series(locate(area, geoms), index=geoms.index, dtype="str", name="grid_id")
    grids = area.grids
    out = pd.Series(np.nan, index=geoms.index, dtype="str", name="grid_id")
    if not len(grids) or not len(geoms):
        return out
    arr = geoms.to_numpy()
    usable = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    pos = np.flatnonzero(usable)
    if not len(pos):
        return out
    hit_pt, hit_grid = grids.sindex.query(arr[pos], predicate="within")
    first = pd.Series(hit_grid).groupby(hit_pt).min()
    out.iloc[pos[first.index.to_numpy()]] = grids.index.to_numpy()[first.to_numpy()]
    return out


def _spatial_locator():
    """The locator's vectorised point → grid function, if the spatial package provides one."""
    try:
        from gridservice.spatial import locate as spatial_locate  # type: ignore[attr-defined]
    except ImportError:
        return None
    return getattr(spatial_locate, "grid_ids_of_points", None)


def with_grids(area: ServiceArea, layer: str) -> pd.Series:
    """The ``grid_id`` of every row of a point layer, located where it is empty."""
    df = area.layers[layer]
    has = "grid_id" in df.columns
    grid = df["grid_id"].astype("str") if has else pd.Series(np.nan, index=df.index, dtype="str")
    missing = grid.isna().to_numpy()
    if missing.any() and isinstance(df, gpd.GeoDataFrame):
        located = grid_of_points(area, df.geometry[missing])
        grid = grid.copy()
        grid[missing] = located.to_numpy()
    return grid.rename("grid_id")


def work_order_grids(area: ServiceArea, orders: pd.DataFrame | None = None) -> pd.Series:
    """Each work order's grid: its own ``grid_id``, else its customer's, else its point's."""
    orders = area.work_orders if orders is None else orders
    grid = orders["grid_id"].astype("str") if "grid_id" in orders.columns else pd.Series(
        np.nan, index=orders.index, dtype="str")
    missing = grid.isna()
    if missing.any():
        grid = grid.copy()
        by_customer = orders.loc[missing, "customer_id"].map(with_grids(area, "customers"))
        grid[missing] = by_customer
        still = grid.isna().to_numpy()
        if still.any() and isinstance(orders, gpd.GeoDataFrame):
            grid[still] = grid_of_points(area, orders.geometry[still]).to_numpy()
    return grid.rename("grid_id")


def customer_positions_of_devices(area: ServiceArea, device_ids: Iterable[str]) -> tuple[pd.Index, np.ndarray,
                                                                                         np.ndarray]:
    """The customers supplied through each device, as array positions.

    Uses the topology trace when available (switches honoured), else the
    foreign-key chain. A device id the area does not hold has no customers.

    Returns
    -------
    tuple
        ``(devices, device_pos, customer_pos)``: the distinct device ids, and
        one entry per (device, customer) pair giving the device's position in
        ``devices`` and the customer's row position in ``area.customers``.
    """
    devices = pd.Index(pd.unique(pd.Series(list(device_ids), dtype="str").dropna()))
    net = _network(area)
    if net is not None:
        from gridservice.topology import KIND

        first = int(net.offsets[KIND["customers"]])
        dev_parts, cust_parts = [], []
        for i, device in enumerate(devices):
            try:
                nodes = net.customer_nodes_downstream([device])
            except GridserviceError:  # an unknown device, or one fed through a loop: nobody to count
                continue
            cust_parts.append(np.asarray(nodes, dtype=np.int64) - first)
            dev_parts.append(np.full(len(nodes), i, dtype=np.int64))
        if not cust_parts:
            return devices, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return devices, np.concatenate(dev_parts), np.concatenate(cust_parts)
    chain = customer_chain(area)
    positions = np.arange(len(chain))
    dev_parts = [devices.get_indexer(pd.Index(chain.index))]  # an outage on a customer's own connection
    cust_parts = [positions]
    for col in chain.columns:
        dev_parts.append(devices.get_indexer(chain[col]))
        cust_parts.append(positions)
    dev, cust = np.concatenate(dev_parts), np.concatenate(cust_parts)
    keep = dev >= 0
    return devices, dev[keep].astype(np.int64), cust[keep].astype(np.int64)


def customers_of_devices(area: ServiceArea, device_ids: Iterable[str]) -> pd.DataFrame:
    """Pairs (``device_id``, ``customer_id``): the customers supplied through each device.

    See :func:`customer_positions_of_devices`.
    """
    devices, dev, cust = customer_positions_of_devices(area, device_ids)
    return pd.DataFrame({
        "device_id": pd.Series(devices.to_numpy()[dev], dtype="str"),
        "customer_id": pd.Series(area.customers.index.to_numpy()[cust], dtype="str"),
    })


def _network(area: ServiceArea):
    try:
        from gridservice.topology import network_of  # type: ignore[attr-defined]
    except ImportError:
        return None
    return network_of(area)


__all__ = [
    "customer_chain",
    "customer_positions_of_devices",
    "customer_transformer",
    "customers_of_devices",
    "grid_of_feature",
    "grid_of_points",
    "meter_transformer",
    "meter_transformer_positions",
    "transformer_of_customer",
    "with_grids",
    "work_order_grids",
]
