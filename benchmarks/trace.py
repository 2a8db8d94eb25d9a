"""Trace index vs NetworkX on a synthetic 1,000,000-customer network.

Targets (issue 4): downstream of a feeder at least 100x faster than
``nx.descendants`` on the same network, trace index under 200 MB.

    python benchmarks/trace.py [--customers 1000000] [--repeat 5]

The network is generated here, vectorised: substations → feeders →
transformers (台区) → access points (表箱) → meters → customers, with a
closed sectionalising switch on some feeder → transformer links and open
ties between transformers of neighbouring feeders.
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
import numpy as np
import pandas as pd
from common import best_of

from gridservice.model import ServiceArea
from gridservice.topology import network_of


def synthetic_area(customers: int, *, seed: int = 0) -> ServiceArea:
    """A radial network of ``customers`` customers (about 200 per transformer, 8 per access point)."""
    rng = np.random.default_rng(seed)
    n_tr = max(customers // 200, 1)
    n_fd = max(n_tr // 50, 1)
    n_ss = max(n_fd // 10, 1)
    n_ap = max(customers // 8, 1)

    def ids(prefix: str, n: int) -> np.ndarray:
        return np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), 7)).astype(object)

    ss, fd, tr, ap = ids("S", n_ss), ids("F", n_fd), ids("T", n_tr), ids("A", n_ap)
    me, cu = ids("M", customers), ids("C", customers)
    tr_of_ap = np.sort(rng.integers(0, n_tr, n_ap))
    ap_of_meter = np.sort(rng.integers(0, n_ap, customers))
    fd_of_tr = np.sort(rng.integers(0, n_fd, n_tr))
    # Sectionalisers on every 10th feeder → transformer link; ties between consecutive transformers of
    # neighbouring feeders, normally open.
    sec = np.arange(0, n_tr, 10)
    tie_a = np.arange(0, n_tr - 1, 25)
    switches = pd.DataFrame({
        "switch_id": np.concatenate([ids("SEC", len(sec)), ids("TIE", len(tie_a))]),
        "from_device_id": np.concatenate([fd[fd_of_tr[sec]], tr[tie_a]]),
        "to_device_id": np.concatenate([tr[sec], tr[tie_a + 1]]),
        "normally_open": np.concatenate([np.zeros(len(sec), bool), np.ones(len(tie_a), bool)]),
        "is_open": np.concatenate([np.zeros(len(sec), bool), np.ones(len(tie_a), bool)]),
    })
    frames = {
        "substations": pd.DataFrame({"substation_id": ss, "name": ss}),
        "feeders": pd.DataFrame({"feeder_id": fd, "name": fd, "substation_id": ss[np.arange(n_fd) % n_ss]}),
        "transformers": pd.DataFrame({"transformer_id": tr, "name": tr, "feeder_id": fd[fd_of_tr],
                                      "rated_kva": 400.0, "kind": "public"}),
        "access_points": pd.DataFrame({"access_point_id": ap, "transformer_id": tr[tr_of_ap]}),
        "meters": pd.DataFrame({"meter_id": me, "access_point_id": ap[ap_of_meter]}),
        "customers": pd.DataFrame({"customer_id": cu, "name": cu, "category": "residential", "voltage": "low",
                                   "meter_id": me}),
        "switches": switches,
    }
    return ServiceArea(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    t0 = time.perf_counter()
    area = synthetic_area(args.customers)
    print(f"synthetic area: {area}  ({time.perf_counter() - t0:.1f} s)")

    t0 = time.perf_counter()
    net = network_of(area)
    build = time.perf_counter() - t0
    print(f"trace index: {net.n:,} nodes built in {build:.2f} s, index arrays {net.index_nbytes() / 2**20:.1f} MB "
          f"(target < 200 MB)")

    t0 = time.perf_counter()
    g = net.graph
    print(f"networkx DiGraph: {g.number_of_nodes():,} nodes, {g.number_of_edges():,} edges in "
          f"{time.perf_counter() - t0:.1f} s")

    feeder = str(area.feeders.index[len(area.feeders) // 2])
    customer = str(area.customers.index[len(area.customers) // 3])

    t_nx, nx_down = best_of(lambda: nx.descendants(g, feeder), args.repeat)
    t_ours, ours = best_of(lambda: net.downstream(feeder), args.repeat)
    got = set(ours.devices) | set(ours.meters) | set(ours.customers)
    assert got == nx_down, "downstream differs from nx.descendants"
    print(f"downstream of feeder {feeder} ({len(ours.customers):,} customers, {len(nx_down):,} nodes): "
          f"nx.descendants {t_nx * 1e3:.1f} ms, ours {t_ours * 1e3:.2f} ms -> {t_nx / t_ours:.0f}x (target >= 100x)")

    t_nx_c, nx_cust = best_of(lambda: [n for n in nx.descendants(g, feeder) if n.startswith("C")], args.repeat)
    t_ours_c, ours_c = best_of(lambda: net.customers_downstream([feeder]), args.repeat)
    assert set(ours_c) == set(nx_cust)
    print(f"customers downstream of {feeder}: nx {t_nx_c * 1e3:.1f} ms, ours {t_ours_c * 1e3:.2f} ms "
          f"-> {t_nx_c / t_ours_c:.0f}x")

    t_nx_up, nx_up = best_of(lambda: nx.ancestors(g, customer), args.repeat)
    t_ours_up, ours_up = best_of(lambda: net.upstream(customer), args.repeat)
    assert set(ours_up[1:]) == nx_up, "upstream differs from nx.ancestors"
    print(f"upstream of customer {customer} ({len(ours_up)} devices): nx.ancestors {t_nx_up * 1e3:.3f} ms, "
          f"ours {t_ours_up * 1e3:.3f} ms -> {t_nx_up / t_ours_up:.1f}x")

    t_fo, _ = best_of(lambda: net.feeder_of(), 2)
    print(f"feeder_of every customer ({len(area.customers):,}): {t_fo:.2f} s")

    sw = str(area.switches.index[0])
    t_sw, _ = best_of(lambda: net.with_switch(sw, is_open=True), 1)
    print(f"opening switch {sw} (incremental update, see benchmarks/topology.py): {t_sw * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
