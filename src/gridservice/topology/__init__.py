"""The supply network: traces, outage impact, repair-call grouping and 营配贯通 checks.

:func:`network_of` builds (once per service area) the graph and the trace
index every other function here uses.
"""

from __future__ import annotations

from gridservice.topology.calls import group_calls, read_calls
from gridservice.topology.network import KIND, Downstream, Network, network_of
from gridservice.topology.outages import (
    OutageImpact,
    active_outages,
    create_outage,
    important_customers,
    outage_impact,
    staff_to_notify,
)
from gridservice.topology.switching import operate_switch, supply_changes, supply_summary

__all__ = [
    "KIND",
    "Downstream",
    "Network",
    "OutageImpact",
    "active_outages",
    "create_outage",
    "group_calls",
    "important_customers",
    "network_of",
    "operate_switch",
    "outage_impact",
    "read_calls",
    "staff_to_notify",
    "supply_changes",
    "supply_summary",
]
