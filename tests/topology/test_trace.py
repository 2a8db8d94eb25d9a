"""Traces against hand-worked answers and against networkx on the same links."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from topo_networks import build_area

from gridservice.errors import NotFoundError, TopologyError
from gridservice.topology import network_of


def everything_below(net, device: str) -> set[str]:
    d = net.downstream(device)
    return set(d.devices) | set(d.meters) | set(d.customers)


# -- the hand-built ring --------------------------------------------------------------------

RING_EDGES = [  # the ring with TIE open and SEC closed, drawn by hand (see conftest.ring_area)
    ("S1", "F1"), ("S1", "F2"), ("F1", "T1"), ("F1", "T2"), ("F2", "T3"), ("F2", "T4"),
    ("T1", "M1"), ("T1", "M2"), ("T2", "A2"), ("A2", "M3"), ("A2", "M4"), ("T3", "M5"), ("T4", "M6"), ("T4", "M7"),
    ("M1", "C1"), ("M2", "C2"), ("M3", "C3"), ("M4", "C4"), ("M5", "C5"), ("M6", "C6"), ("M7", "C7"),
]


def test_ring_matches_networkx_descendants_and_ancestors(ring) -> None:
    expected = nx.DiGraph(RING_EDGES)
    net = network_of(ring)
    for node in expected.nodes:
        assert everything_below(net, node) == nx.descendants(expected, node), node
        up = net.upstream(node)
        assert up[0] == node
        assert set(up[1:]) == nx.ancestors(expected, node), node
        assert up[::-1] == nx.shortest_path(expected, "S1", node)


def test_ring_worked_by_hand(ring) -> None:
    net = network_of(ring)
    assert net.upstream("C3") == ["C3", "M3", "A2", "T2", "F1", "S1"]
    down = net.downstream("F1")
    assert set(down.customers) == {"C1", "C2", "C3", "C4"}
    assert set(down.meters) == {"M1", "M2", "M3", "M4"}
    assert set(down.devices) == {"T1", "T2", "A2"}
    assert set(net.downstream("T4").customers) == {"C6", "C7"}
    assert list(net.downstream("C6").customers) == []
    assert net.feeder_of(["C6", "C1", "nope"]).tolist()[:2] == ["F2", "F1"]
    assert pd.isna(net.feeder_of(["nope"]).iloc[0])
    assert net.transformer_of(["C3", "C5"]).tolist() == ["T2", "T3"]


def test_opening_sectionaliser_cuts_t4_and_closing_tie_refeeds_it_from_f1(ring) -> None:
    net = network_of(ring)
    cut = net.with_switch("SEC", is_open=True)
    assert set(cut.downstream("F2").customers) == {"C5"}
    assert set(cut.downstream("S1").customers) == {"C1", "C2", "C3", "C4", "C5"}
    assert cut.energised(["C6", "C7", "T4", "C5"]).tolist() == [False, False, False, True]
    assert cut.upstream("C6") == ["C6", "M6", "T4"]  # the dead section ends at T4
    assert set(cut.customers_downstream(["S1"])) == {"C1", "C2", "C3", "C4", "C5"}

    refed = cut.with_switch("TIE", is_open=False)
    assert refed.upstream("C6") == ["C6", "M6", "T4", "T2", "F1", "S1"]
    assert set(refed.downstream("F1").customers) == {"C1", "C2", "C3", "C4", "C6", "C7"}
    assert set(refed.downstream("T2").customers) == {"C3", "C4", "C6", "C7"}
    assert set(refed.downstream("F2").customers) == {"C5"}
    assert refed.feeder_of(["C6", "C7", "C5"]).tolist() == ["F1", "F1", "F2"]
    assert refed.energised(["C6"]).tolist() == [True]

    # networkx on the hand-drawn re-fed network
    edges = [e for e in RING_EDGES if e != ("F2", "T4")] + [("T2", "T4")]
    g = nx.DiGraph(edges)
    for node in g.nodes:
        assert everything_below(refed, node) == nx.descendants(g, node), node
        assert set(refed.upstream(node)[1:]) == nx.ancestors(g, node), node

    # the original area and network are unchanged
    assert set(net.downstream("F2").customers) == {"C5", "C6", "C7"}
    assert not ring.switches.loc["SEC", "is_open"]


def test_closing_the_tie_with_the_sectionaliser_closed_is_a_loop(ring) -> None:
    meshed = network_of(ring).with_switch("TIE", is_open=False)
    loops = meshed.loops
    assert loops["switch_id"].tolist() == ["TIE"]
    assert set(loops.iloc[0][["from_device_id", "to_device_id"]]) == {"T2", "T4"}
    for device in ("F1", "F2", "T2", "T4"):  # the loop also feeds part of what lies below these
        with pytest.raises(TopologyError, match="TIE"):
            meshed.downstream(device)
    # the whole loop hangs below S1: opening S1 still cuts off everyone
    assert set(meshed.downstream("S1").customers) == {f"C{i}" for i in range(1, 8)}
    with pytest.raises(TopologyError, match="loop"):
        meshed.customers_downstream(["F2"])
    with pytest.raises(TopologyError, match="C6"):
        meshed.upstream("C6")
    # below the loop and away from it, traces are still exact
    assert set(meshed.downstream("T1").customers) == {"C1", "C2"}
    assert set(meshed.downstream("A2").customers) == {"C3", "C4"}
    assert set(meshed.downstream("M6").customers) == {"C6"}


def test_tie_between_two_substations_is_a_loop() -> None:
    area = build_area(
        substations=["S1", "S2"], feeders={"F1": "S1", "F2": "S2"}, transformers={"T1": "F1", "T2": "F2"},
        meters={"M1": "T1", "M2": "T2"}, customers={"C1": "M1", "C2": "M2"},
        switches=[("TIE", "T1", "T2", False)],
    )
    net = network_of(area)
    assert net.loops["switch_id"].tolist() == ["TIE"]
    with pytest.raises(TopologyError):
        net.downstream("S1")
    with pytest.raises(TopologyError):
        net.upstream("C1")
    opened = net.with_switch("TIE", is_open=True)
    assert set(opened.downstream("S1").customers) == {"C1"}
    assert opened.upstream("C2") == ["C2", "M2", "T2", "F2", "S2"]


def test_unknown_ids_are_clear_errors(ring) -> None:
    net = network_of(ring)
    with pytest.raises(NotFoundError, match="'X9'"):
        net.downstream("X9")
    with pytest.raises(NotFoundError, match="'X9'"):
        net.upstream("X9")
    with pytest.raises(NotFoundError, match="'X9'"):
        net.customers_downstream(["T1", "X9"])
    with pytest.raises(NotFoundError, match="switch"):
        net.with_switch("NOSUCH", is_open=True)


def test_customers_downstream_is_the_union(ring) -> None:
    net = network_of(ring)
    got = net.customers_downstream(["T1", "F1", "M5", "C7"])  # T1 lies inside F1: counted once
    assert sorted(got) == ["C1", "C2", "C3", "C4", "C5", "C7"]
    many = net.customers_downstream(pd.Index(["T1", "T3", "T4"] * 10))  # the vectorised look-up path
    assert sorted(many) == ["C1", "C2", "C5", "C6", "C7"]


def test_network_is_cached_and_rebuilt_when_switches_change(ring) -> None:
    net = network_of(ring)
    assert network_of(ring) is net
    ring.switches.loc["SEC", "is_open"] = True  # an in-place change of switch state
    rebuilt = network_of(ring)
    assert rebuilt is not net
    assert set(rebuilt.downstream("F2").customers) == {"C5"}


def test_graph_is_the_traced_network(ring) -> None:
    g = network_of(ring).graph
    assert set(g.edges) == set(RING_EDGES)
    assert g.nodes["A2"]["layer"] == "access_points"
    assert g.edges["F2", "T4"]["switch_id"] == "SEC"


def test_access_point_or_direct_meter_links_and_islands() -> None:
    area = build_area(
        substations=["S1"], feeders={"F1": "S1", "F9": "S404"}, transformers={"T1": "F1", "T9": "F9"},
        access_points={"A1": "T1"}, meters={"M1": "A1", "M2": "T1", "M9": "T9"},
        customers={"C1": "M1", "C2": "M2", "C9": "M9", "C0": "M404"},
    )
    net = network_of(area)
    assert net.upstream("C1") == ["C1", "M1", "A1", "T1", "F1", "S1"]
    assert net.upstream("C2") == ["C2", "M2", "T1", "F1", "S1"]
    assert net.upstream("C9") == ["C9", "M9", "T9", "F9"]  # F9's substation is unknown
    assert net.energised(["C9", "C0", "C1"]).tolist() == [False, False, True]
    assert set(net.downstream("F9").customers) == {"C9"}
    assert net.feeder_of(["C0"]).isna().all()


# -- random radial networks against networkx ----------------------------------------------------


def random_network(seed: int, *, ties_open: bool = False):
    rng = np.random.default_rng(seed)
    subs = ["S0", "S1"]
    feeders = {f"F{i}": subs[i % 2] for i in range(5)}
    transformers = {f"T{i}": f"F{rng.integers(5)}" for i in range(15)}
    aps = {f"A{i}": f"T{rng.integers(15)}" for i in range(20)}
    parents = list(aps) + list(transformers)
    meters = {f"M{i}": parents[rng.integers(len(parents))] for i in range(80)}
    customers = {f"C{i}": f"M{i}" for i in range(80)}
    sw = [(f"SEC{i}", transformers[f"T{i}"], f"T{i}", bool(rng.random() < 0.3)) for i in range(0, 15, 2)]
    sw += [(f"TIE{i}", f"T{i}", f"T{i + 1}", ties_open or bool(rng.random() < 0.85)) for i in range(1, 14, 3)]
    sw += [("BRK", "S1", "F1", bool(rng.random() < 0.3))]
    return build_area(substations=subs, feeders=feeders, transformers=transformers, access_points=aps,
                      meters=meters, customers=customers, switches=sw)


def reference_graph(area) -> tuple[nx.DiGraph, int]:
    """Closed links as an undirected networkx graph, oriented from the substations by BFS; and its number of loops."""
    links = nx.Graph()
    sw = area.switches
    governed = {}
    for sid, row in sw.iterrows():
        governed[(row["from_device_id"], row["to_device_id"])] = (sid, row["is_open"])
    for layer, col in (("feeders", "substation_id"), ("transformers", "feeder_id"),
                       ("access_points", "transformer_id")):
        for child, parent in area.layers[layer][col].items():
            links.add_node(child)
            if not governed.get((parent, child), (None, False))[1]:
                links.add_edge(parent, child)
    for m, row in area.meters.iterrows():
        links.add_edge(row["access_point_id"] if isinstance(row["access_point_id"], str) else row["transformer_id"], m)
    for c, m in area.customers["meter_id"].items():
        links.add_edge(m, c)
    fk = set(links.edges) | {(b, a) for a, b in links.edges}
    for _, row in sw.iterrows():
        a, b = row["from_device_id"], row["to_device_id"]
        if not row["is_open"] and (a, b) not in fk:
            links.add_edge(a, b)
    # Substations share the upstream grid: a tie that joins two of them closes a loop too.
    links.add_edges_from(("GRID", s) for s in area.substations.index)
    meshed = len(nx.cycle_basis(links))
    g = nx.DiGraph(nx.bfs_edges(links, "GRID"))
    g.add_nodes_from(links.nodes)
    g.remove_node("GRID")
    return g, meshed


@pytest.mark.parametrize("ties_open", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_random_networks_match_networkx(seed: int, ties_open: bool) -> None:
    area = random_network(seed, ties_open=ties_open)
    g, loops = reference_graph(area)
    net = network_of(area)
    assert len(net.loops) == loops  # one closing link per independent loop
    if loops:
        with pytest.raises(TopologyError):
            net.upstream(net.loops["from_device_id"].iloc[0])
        return
    energised = set(g.nodes) - {n for n in g.nodes if not any(nx.has_path(g, s, n) for s in ("S0", "S1"))}
    for node in g.nodes:
        if node in energised:
            assert everything_below(net, node) == nx.descendants(g, node), node
            assert set(net.upstream(node)[1:]) == nx.ancestors(g, node), node
        assert bool(net.energised([node]).iloc[0]) == (node in energised), node


# -- the demo against networkx built from its foreign keys ------------------------------------------


@pytest.fixture(scope="module")
def demo_fk_graph(demo_area) -> nx.DiGraph:
    a = demo_area
    g = nx.DiGraph()
    g.add_edges_from(zip(a.feeders["substation_id"], a.feeders.index, strict=True))
    g.add_edges_from(zip(a.transformers["feeder_id"], a.transformers.index, strict=True))
    g.add_edges_from(zip(a.access_points["transformer_id"], a.access_points.index, strict=True))
    parent = a.meters["access_point_id"].fillna(a.meters["transformer_id"])
    g.add_edges_from(zip(parent, a.meters.index, strict=True))
    g.add_edges_from(zip(a.customers["meter_id"], a.customers.index, strict=True))
    return g


def test_demo_switch_states_leave_the_foreign_key_tree(demo_area) -> None:
    sw = demo_area.switches
    assert (sw["is_open"] == sw["normally_open"]).all()  # ties open, breakers closed


def test_demo_traces_match_networkx(demo_area, demo_fk_graph) -> None:
    net = network_of(demo_area)
    assert not len(net.loops)
    for device in [*demo_area.substations.index, *demo_area.feeders.index, *demo_area.transformers.index[::7]]:
        assert everything_below(net, device) == nx.descendants(demo_fk_graph, device), device
    for customer in demo_area.customers.index[::97]:
        up = net.upstream(customer)
        assert set(up[1:]) == nx.ancestors(demo_fk_graph, customer)
        assert len(up) == len(nx.ancestors(demo_fk_graph, customer)) + 1


def test_demo_feeder_of_every_customer(demo_area, demo_fk_graph) -> None:
    net = network_of(demo_area)
    feeder = net.feeder_of()
    customers = set(demo_area.customers.index)
    expected = pd.Series({c: f for f in demo_area.feeders.index for c in nx.descendants(demo_fk_graph, f)
                          if c in customers})
    assert feeder.reindex(expected.index).tolist() == expected.tolist()


def test_demo_opening_a_breaker_cuts_its_feeder(demo_area) -> None:
    sw = demo_area.switches
    breaker = sw[~sw["normally_open"]].iloc[0]
    feeder = breaker["to_device_id"]
    net = network_of(demo_area)
    before = net.downstream(feeder).customers
    cut = net.with_switch(str(breaker.name), is_open=True)
    assert not cut.energised(list(before[:5])).any()
    assert not set(before) & set(cut.downstream(str(breaker["from_device_id"])).customers)
    assert set(cut.downstream(feeder).customers) == set(before)  # still traced inside the dead section
