"""What ties an event to a grid and to the network, on the hand-built area (tests/tiny_area.py).

Every face reads the derived ``grid_id`` that ``open_area`` fills with the
locator's rule (spatial/locate.py): a point on an edge two grids share
belongs to the lower ``grid_id``. G1 and G2 share the edge lon 116.10.
"""

from __future__ import annotations

from shapely.geometry import Point

from gridservice.config import Rules
from gridservice.events.links import customers_of_devices
from gridservice.events.work_orders import create_work_order
from gridservice.metrics.reliability import reliability
from gridservice.topology import network_of
from gridservice.workspace import derive

EDGE = Point(116.10, 27.05)  # on the edge G1 | G2


def test_a_point_on_a_shared_edge_is_in_the_lower_grid_for_every_analysis(tiny, as_of) -> None:
    c = tiny.customers.copy()
    c.loc["C3", "geometry"] = EDGE  # C3 lay inside G2 (lon 116.11)
    area = derive(tiny.replace(customers=c))
    assert area.customers["grid_id"].to_dict() == {"C1": "G1", "C2": "G1", "C3": "G1", "C4": "G2", "C5": "G2"}
    # The trace counts C3 in G1 (topology used to locate with ``within``, which leaves edge points out).
    assert network_of(area).grid_counts(["C3"]).to_dict() == {"G1": 1}
    # Reliability serves C1, C2, C3 in G1 and C4, C5 in G2.
    served = reliability(area, "2026-03", rules=Rules(), as_of=as_of)["customers_served"]
    assert served.to_dict() == {"G1": 3, "G2": 2}
    # A work order from a point on the edge goes to G1 and its manager ST1, as a customer there would.
    order = create_work_order(area, kind="complaint", point=EDGE, received_at="2026-03-05 08:00", now=as_of).iloc[0]
    assert order["grid_id"] == "G1" and order["assignee_id"] == "ST1"


def test_customers_of_a_device_follow_the_trace(tiny) -> None:
    # T2 supplies M4, M5 → C4, C5; an unknown device supplies nobody.
    pairs = customers_of_devices(tiny, ["T2", "NOPE"])
    assert sorted(map(tuple, pairs.to_numpy())) == [("T2", "C4"), ("T2", "C5")]
