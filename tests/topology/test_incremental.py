"""A switch operation updates the trace index in place of a rebuild: equal to a full build, every time.

Seeded random radial networks with sectionalising switches (some doubled on
one link) and tie switches between devices of any layer; random sequences of
open/close operations. After each one the updated index must equal a fresh
build array for array, and the traces must match networkx on the same links.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from gridservice.model import ServiceArea
from gridservice.schema import DEVICE_LAYERS
from gridservice.topology import network_of
from gridservice.topology.incremental import switched
from gridservice.topology.network import Network
from topology_oracle import closed_links

LAYER_PREFIX = {"substations": "S", "feeders": "F", "transformers": "T", "access_points": "A", "meters": "M",
                "customers": "C"}


def random_area(seed: int) -> ServiceArea:
    """A random radial network: 1–3 substations down to customers, with switches on links and ties."""
    rng = np.random.default_rng(seed)
    n = {"substations": int(rng.integers(1, 4)), "feeders": int(rng.integers(2, 7)),
         "transformers": int(rng.integers(4, 16)), "access_points": int(rng.integers(4, 20)),
         "meters": int(rng.integers(10, 50))}
    n["customers"] = n["meters"]
    ids = {k: [f"{LAYER_PREFIX[k]}{i}" for i in range(v)] for k, v in n.items()}
    # a few ids with no parent at all (islands) and meters hung straight on a transformer
    fd_sub = [ids["substations"][i] for i in rng.integers(0, n["substations"], n["feeders"])]
    tr_fd = [ids["feeders"][i] for i in rng.integers(0, n["feeders"], n["transformers"])]
    ap_tr = [ids["transformers"][i] for i in rng.integers(0, n["transformers"], n["access_points"])]
    if n["access_points"] > 5:
        ap_tr[-1] = None  # an island: an access point with no transformer
    on_ap = rng.random(n["meters"]) < 0.8
    m_ap = [ids["access_points"][i] if hit else None
            for i, hit in zip(rng.integers(0, n["access_points"], n["meters"]), on_ap, strict=True)]
    m_tr = [None if hit else ids["transformers"][i]
            for i, hit in zip(rng.integers(0, n["transformers"], n["meters"]), on_ap, strict=True)]
    links = ([(s, f) for f, s in zip(ids["feeders"], fd_sub, strict=True)]
             + [(f, t) for t, f in zip(ids["transformers"], tr_fd, strict=True)]
             + [(t, a) for a, t in zip(ids["access_points"], ap_tr, strict=True) if t is not None]
             + [(a or t, m) for m, a, t in zip(ids["meters"], m_ap, m_tr, strict=True)])
    rows = []
    for k in rng.choice(len(links), size=min(len(links), 12), replace=False):  # sectionalisers
        rows.append((*links[k], False))
        if rng.random() < 0.2:
            rows.append((*links[k], False))  # two switches on one link
    devices = [i for k in DEVICE_LAYERS[:-1] for i in ids[k]]
    for _ in range(int(rng.integers(3, 10))):  # ties between any two devices, open
        a, b = rng.choice(devices, size=2, replace=False)
        rows.append((str(a), str(b), True))
    sw = pd.DataFrame({"switch_id": [f"SW{i}" for i in range(len(rows))],
                       "from_device_id": [r[0] for r in rows], "to_device_id": [r[1] for r in rows],
                       "normally_open": [r[2] for r in rows], "is_open": [r[2] for r in rows]})
    frames = {
        "substations": pd.DataFrame({"substation_id": ids["substations"], "name": ids["substations"]}),
        "feeders": pd.DataFrame({"feeder_id": ids["feeders"], "name": ids["feeders"], "substation_id": fd_sub}),
        "transformers": pd.DataFrame({"transformer_id": ids["transformers"], "name": ids["transformers"],
                                      "feeder_id": tr_fd, "rated_kva": 400.0, "kind": "public"}),
        "access_points": pd.DataFrame({"access_point_id": ids["access_points"], "transformer_id": ap_tr}),
        "meters": pd.DataFrame({"meter_id": ids["meters"], "access_point_id": m_ap, "transformer_id": m_tr}),
        "customers": pd.DataFrame({"customer_id": ids["customers"], "name": ids["customers"],
                                   "category": "residential", "voltage": "low", "meter_id": ids["meters"],
                                   "grid_id": [f"G{i % 3}" for i in range(n["customers"])]}),
        "switches": sw,
    }
    return ServiceArea(frames)


def assert_same_index(inc: Network, full: Network) -> None:
    """Every array of the trace index equal, and the public answers too."""
    for attr in ("pred", "depth", "size", "pos", "order", "roots", "loop_a", "loop_b", "loop_switch",
                 "link_switch"):
        np.testing.assert_array_equal(getattr(inc, attr), getattr(full, attr), err_msg=attr)
        assert getattr(inc, attr).dtype == getattr(full, attr).dtype, attr
    assert inc._fed_end == full._fed_end
    for cls in full._class_pos:
        np.testing.assert_array_equal(inc._class_pos[cls], full._class_pos[cls], err_msg=cls)
        np.testing.assert_array_equal(inc._class_nodes[cls], full._class_nodes[cls], err_msg=cls)
        assert inc._class_ids[cls].to_pylist() == full._class_ids[cls].to_pylist(), cls
    assert (inc._ambiguous_by_pos is None) == (full._ambiguous_by_pos is None)
    pd.testing.assert_frame_equal(inc.switch_links, full.switch_links)
    every = np.arange(full.n)
    np.testing.assert_array_equal(inc.customers_below(every), full.customers_below(every))
    pd.testing.assert_series_equal(inc.feeder_of(), full.feeder_of())
    pd.testing.assert_series_equal(inc.substation_of(), full.substation_of())
    ids = full.ids(every)
    pd.testing.assert_series_equal(inc.energised(ids), full.energised(ids))
    if full._ambiguous_by_pos is None:
        for d in ids[:: max(1, len(ids) // 12)]:
            a, b = inc.downstream(d), full.downstream(d)
            assert list(a.customers) == list(b.customers)
            assert list(a.devices) == list(b.devices)
            assert list(a.meters) == list(b.meters)
            pd.testing.assert_series_equal(a.grids, b.grids)
            assert inc.upstream(d) == full.upstream(d)
        assert list(inc.customers_downstream(list(ids[::3]))) == list(full.customers_downstream(list(ids[::3])))


def check_against_networkx(area: ServiceArea, net: Network) -> None:
    """On a radial state: downstream = descendants, upstream = ancestors, energised = reaches a substation."""
    g = closed_links(area)
    rank = {d: (k, i) for k, name in enumerate(DEVICE_LAYERS) for i, d in enumerate(area.layers[name].index)}
    for comp in nx.connected_components(g):
        subs = [d for d in comp if d.startswith("S")]
        root = subs[0] if subs else min(comp, key=rank.__getitem__)
        tree = nx.bfs_tree(g.subgraph(comp), root)
        for d in comp:
            down = net.downstream(d)
            assert set(down.devices) | set(down.meters) | set(down.customers) == nx.descendants(tree, d), d
            up = net.upstream(d)
            assert up[0] == d
            assert set(up[1:]) == nx.ancestors(tree, d), d
            assert bool(net.energised([d]).iloc[0]) == bool(subs), d


@pytest.mark.parametrize("seed", range(8))
def test_random_switch_operations_equal_a_full_build(seed: int) -> None:
    area = random_area(seed)
    rng = np.random.default_rng(1000 + seed)
    net = network_of(area)
    switch_ids = list(area.switches.index)
    updated = 0
    for step in range(20):
        for attempt in range(4):  # mostly radial states (a loop falls back to a full build): redraw a few times
            pool = switch_ids
            if len(net.loop_a) and step % 3:  # back to radial: reopen a closed tie
                links = net.switch_links
                ties = links[(links["child"] < 0) & ~links["is_open"]]["row"]
                pool = list(area.switches.index[ties.to_numpy()]) or switch_ids
            states = {str(s): not bool(area.switches.loc[s, "is_open"])
                      for s in rng.choice(pool, size=min(len(pool), 1 if step % 5 else 2), replace=False)}
            sw = area.switches.copy()
            sw.loc[list(states), "is_open"] = list(states.values())
            after = area.replace(switches=sw)
            full = Network(after)
            if not len(full.loop_a) or attempt == 3 or step % 7 == 0:
                break
        inc = switched(net, after)
        # only a loop of closed links (before or after) needs the full build
        assert (inc is None) == bool(len(net.loop_a) or len(full.loop_a)), states
        if inc is not None:
            updated += 1
            assert_same_index(inc, full)
            if step % 4 == 0:
                check_against_networkx(after, inc)
        via_cache = network_of(after)  # the cache takes the same path
        assert_same_index(via_cache, full)
        area, net = after, via_cache
    assert updated >= 10  # mostly radial: the update path is exercised


def test_with_switch_derives_from_the_cached_network(ring) -> None:
    net = network_of(ring)
    cut = net.with_switch("SEC", is_open=True)
    assert cut.pred is not net.pred and cut.fk_parent is net.fk_parent  # updated, not rebuilt
    assert_same_index(cut, Network(cut.area))
    back = cut.with_switch("SEC", is_open=False)
    assert_same_index(back, net)


def test_a_switch_changed_in_place_updates_the_cached_network(ring) -> None:
    net = network_of(ring)
    ring.switches.loc["SEC", "is_open"] = True
    cut = network_of(ring)
    assert cut is not net and cut.fk_parent is net.fk_parent
    assert_same_index(cut, Network(ring))
    assert set(cut.downstream("F2").customers) == {"C5"}  # the hand-worked ring: T4's customers are cut off


def test_a_changed_device_layer_builds_from_scratch(ring) -> None:
    net = network_of(ring)
    sw = ring.switches.copy()
    sw.loc["SEC", "is_open"] = True
    other = ring.replace(switches=sw, customers=ring.customers.copy())
    assert switched(net, other) is None
    assert_same_index(network_of(other), Network(other))


def test_many_operations_keep_the_id_chunks_bounded() -> None:
    area = random_area(3)
    net = network_of(area)
    rng = np.random.default_rng(7)
    for _ in range(120):
        s = str(rng.choice(area.switches.index))
        net = net.with_switch(s, is_open=not bool(net.area.switches.loc[s, "is_open"]))
        area = net.area
    ids = net._class_ids["customers"]
    assert not isinstance(ids, type(None))
    chunks = ids.num_chunks if hasattr(ids, "num_chunks") else 1
    assert chunks <= 33
    assert_same_index(net, Network(area))


def test_an_id_in_two_layers_resolves_to_the_upper_one(make_area) -> None:
    # "X" is a meter and a customer, "T2" a transformer and a customer: the upper layer wins, as in a batch look-up
    area = make_area(substations=["S1"], feeders={"F1": "S1"}, transformers={"T1": "F1", "T2": "F1"},
                     meters={"X": "T1", "M2": "T2"}, customers={"C1": "X", "X": "M2", "T2": "M2"})
    net = network_of(area)
    assert net.layer_of(np.array([net.node("X"), net.node("T2"), net.node("C1")])).tolist() == [
        "meters", "transformers", "customers"]
    assert net.node("X") == net.nodes(["X"])[0] and net.node("T2") == net.nodes(["T2"])[0]
    assert net.upstream("X") == ["X", "T1", "F1", "S1"]
    assert net.upstream("C1") == ["C1", "X", "T1", "F1", "S1"]
    assert set(net.downstream("M2").customers) == {"X", "T2"}


def test_a_repeated_customer_id_resolves_to_its_first_row(make_area) -> None:
    area = make_area(substations=["S1"], feeders={"F1": "S1"}, transformers={"T1": "F1", "T2": "F1"},
                     meters={"M1": "T1", "M2": "T2"}, customers={"C1": "M1", "C2": "M2"})
    twice = area.replace(customers=pd.concat([area.customers, area.customers.loc[["C1"]].assign(meter_id="M2")]))
    net = network_of(twice)
    first = int(net.offsets[list(DEVICE_LAYERS).index("customers")])  # C1's first row is the customers' first node
    assert net.node("C1") == first == net.nodes(["C1"])[0]
    assert net.upstream("C1") == ["C1", "M1", "T1", "F1", "S1"] and net.upstream("C2")[1] == "M2"


def test_switch_rows_in_another_order_are_matched_by_id() -> None:
    # the server merges a written switch record by dropping its row and appending it last
    area = random_area(5)
    net = network_of(area)
    sw = area.switches
    updated = 0
    for s in list(sw.index[::3]):
        row = sw.loc[[s]].copy()
        row["is_open"] = ~row["is_open"]
        sw = pd.concat([sw.drop(index=s), row])
        after = area.replace(switches=sw, trusted=True)
        full = Network(after)
        inc = switched(net, after)
        assert (inc is None) == bool(len(net.loop_a) or len(full.loop_a))
        if inc is not None:
            updated += 1
            assert inc.link_switch is not net.link_switch  # renumbered
            assert_same_index(inc, full)
        area, net = after, network_of(after)
        assert_same_index(net, full)
    assert updated >= 2
