"""The closed links of a service area worked out from its layers with plain loops and networkx,
independently of the trace index: the oracle of the topology and switching tests."""

from __future__ import annotations

import networkx as nx

from gridservice.model import ServiceArea
from gridservice.schema import DEVICE_LAYERS


def closed_links(area: ServiceArea) -> nx.Graph:
    """The closed links of ``area`` worked out from the layers, independently of the index."""
    g = nx.MultiGraph()
    for name in DEVICE_LAYERS:
        g.add_nodes_from(area.layers[name].index)
    cut = set()
    sw = area.switches
    gov = set()
    for s in sw.itertuples():
        for parent, child in ((s.from_device_id, s.to_device_id), (s.to_device_id, s.from_device_id)):
            if parent_of(area, child) == parent:  # the switch governs the child's parent link
                gov.add(s.Index)
                if s.is_open:
                    cut.add(child)
                break
    for name in DEVICE_LAYERS[1:]:
        for dev in area.layers[name].index:
            p = parent_of(area, dev)
            if p is not None and dev not in cut:
                g.add_edge(p, dev)
    for s in sw.itertuples():
        if s.Index not in gov and not s.is_open:
            g.add_edge(s.from_device_id, s.to_device_id)
    return g


def parent_of(area: ServiceArea, dev: str) -> str | None:
    for name, cols in (("feeders", ["substation_id"]), ("transformers", ["feeder_id"]),
                       ("access_points", ["transformer_id"]), ("meters", ["access_point_id", "transformer_id"]),
                       ("customers", ["meter_id"])):
        if dev in area.layers[name].index:
            for c in cols:
                v = area.layers[name].loc[dev, c]
                if isinstance(v, str):
                    return v
    return None


def supplied_customers(area: ServiceArea) -> set[str]:
    """The customers a substation reaches over the closed links."""
    g = closed_links(area)
    reached = set().union(*(nx.node_connected_component(g, s) for s in area.substations.index))
    return reached & set(area.customers.index)
