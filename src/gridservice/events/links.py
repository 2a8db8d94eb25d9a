"""What ties an event to the network and to a grid.

Customers reach their transformer through ``customers.meter_id`` →
``meters.transformer_id`` (or ``meters.access_point_id`` →
``access_points.transformer_id``); transformers reach their feeder and
substation through foreign keys. A row's grid is its derived ``grid_id``,
which :func:`gridservice.workspace.derive` fills with the locator of
:mod:`gridservice.spatial.locate`; nothing here locates a point again.

Customers cut off by an outage come from the topology trace
(:func:`gridservice.topology.network_of`), which honours open switches.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from gridservice.errors import GridserviceError
from gridservice.lookup import positions
from gridservice.model import ServiceArea
from gridservice.topology import KIND, network_of


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


def customer_transformer(area: ServiceArea) -> pd.Series:
    """Each customer's transformer through its meter (NaN when unlinked)."""
    return area.customers["meter_id"].map(meter_transformer(area)).rename("transformer_id")


def customer_positions_of_devices(area: ServiceArea, device_ids: Iterable[str]) -> tuple[pd.Index, np.ndarray,
                                                                                         np.ndarray]:
    """The customers supplied through each device, as array positions.

    From the topology trace (switches honoured). A device id the area does not
    hold, or one fed through a loop, has no customers.

    Returns
    -------
    tuple
        ``(devices, device_pos, customer_pos)``: the distinct device ids, and
        one entry per (device, customer) pair giving the device's position in
        ``devices`` and the customer's row position in ``area.customers``.
    """
    devices = pd.Index(pd.unique(pd.Series(list(device_ids), dtype="str").dropna()))
    net = network_of(area)
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


def customers_of_devices(area: ServiceArea, device_ids: Iterable[str]) -> pd.DataFrame:
    """Pairs (``device_id``, ``customer_id``): the customers supplied through each device.

    See :func:`customer_positions_of_devices`.
    """
    devices, dev, cust = customer_positions_of_devices(area, device_ids)
    return pd.DataFrame({
        "device_id": pd.Series(devices.to_numpy()[dev], dtype="str"),
        "customer_id": pd.Series(area.customers.index.to_numpy()[cust], dtype="str"),
    })


__all__ = [
    "customer_positions_of_devices",
    "customer_transformer",
    "customers_of_devices",
    "meter_transformer",
    "meter_transformer_positions",
    "transformer_of_customer",
]
