"""Topology checks: planted demo problems and hand-built broken networks."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely
from topo_networks import BASE, build_area, ring_area

from gridservice.checks import validate
from gridservice.config import Rules
from gridservice.topology import network_of
from gridservice.topology.checks import check_network, check_topology
from pinned import DEMO_AS_OF


def found(f: pd.DataFrame, check: str) -> set[str]:
    return set(f.loc[f["check"] == check, "feature_id"])


def test_every_planted_topology_problem_of_the_demo_is_found(demo_area) -> None:
    manifest = demo_area.extra.get("demo_manifest")
    if manifest is None:  # the GeoPackage keeps only declared layers: rebuild the manifest's source
        from gridservice.demo import build_demo

        manifest = build_demo(customers=3000, seed=0, as_of=DEMO_AS_OF)["demo_manifest"]
    f = check_topology(demo_area)
    wrong = set(manifest.loc[manifest["problem"] == "CUST_FAR_FROM_TRANSFORMER", "feature_id"])
    empty = set(manifest.loc[manifest["problem"] == "TX_NO_CUSTOMERS", "feature_id"])
    split = set(manifest.loc[manifest["problem"] == "TX_SPLIT_GRIDS", "feature_id"])
    assert wrong and empty and split
    assert wrong <= found(f, "customer_far_from_transformer")  # 户变关系错误: kilometres from the transformer
    assert empty <= found(f, "transformer_without_customers")
    mismatched = f[f["check"] == "grid_mismatch"]
    assert split <= set(mismatched["transformer_id"])  # its moved customers are 营配不一致
    # nothing else is wrong with the demo network
    assert found(f, "customer_far_from_transformer") == wrong
    assert found(f, "transformer_without_customers") == empty
    assert set(mismatched["transformer_id"]) <= split | set(
        f.loc[f["check"] == "customer_far_from_transformer", "transformer_id"])
    assert not len(f[f["severity"] == "error"])
    assert f["geometry"].notna().all()


def test_far_customer_distance_is_metric_and_limit_follows_voltage() -> None:
    # transformer T0 at BASE; customer C1 placed about 2.2 km north of it (0.02° of latitude).
    area = build_area(substations=["S1"], feeders={"F1": "S1"}, transformers={"T0": "F1"},
                      meters={"M1": "T0", "M2": "T0"}, customers={"C1": "M1", "C2": "M2"},
                      customer_extra={"C1": {"geometry": shapely.Point(BASE[0], BASE[1] + 0.02)},
                                      "C2": {"geometry": shapely.Point(BASE[0], BASE[1] + 0.02), "voltage": "high"}})
    f = check_topology(area, rules=Rules())
    far = f[f["check"] == "customer_far_from_transformer"]
    assert list(far["feature_id"]) == ["C1"]  # 2.2 km > 1 km (low) but < 5 km (high)
    assert far["distance_m"].iloc[0] == pytest.approx(2215, abs=15)  # 0.02° × 110.7 km/° at 27°N
    assert far["transformer_id"].iloc[0] == "T0"
    strict = check_topology(area, rules=Rules(customer_distance_limit_m={"low": 1000.0, "high": 2000.0}))
    assert found(strict, "customer_far_from_transformer") == {"C1", "C2"}


def test_grid_mismatch_uses_derived_grids() -> None:
    west = shapely.box(BASE[0] - 0.05, BASE[1] - 0.05, BASE[0] + 0.005, BASE[1] + 0.05)
    east = shapely.box(BASE[0] + 0.005, BASE[1] - 0.05, BASE[0] + 0.05, BASE[1] + 0.05)
    area = build_area(substations=["S1"], feeders={"F1": "S1"}, transformers={"T0": "F1", "T1": "F1"},
                      meters={"M1": "T0", "M2": "T0", "M3": "T1"}, customers={"C1": "M1", "C2": "M2", "C3": "M3"},
                      customer_extra={"C2": {"geometry": shapely.Point(BASE[0] + 0.008, BASE[1])}},
                      grids={"GW": west, "GE": east})
    # no derived grid columns: nothing to compare
    assert not found(check_topology(area), "grid_mismatch")
    # T0 at BASE (west), T1 at x=+0.01 (east); C2 sits east of the line although it hangs on T0
    tr = area.transformers.assign(grid_id=["GW", "GE"])
    cu = area.customers.assign(grid_id=["GW", "GE", "GE"])
    f = check_topology(area.replace(transformers=tr, customers=cu))
    mismatch = f[f["check"] == "grid_mismatch"]
    assert list(mismatch["feature_id"]) == ["C2"]
    assert "GE" in mismatch["message"].iloc[0] and "GW" in mismatch["message"].iloc[0]


def test_broken_references_islands_and_orphans() -> None:
    area = build_area(
        substations=["S1"], feeders={"F1": "S1", "F9": "S404"},
        transformers={"T1": "F1", "T2": "F1", "T9": "F9"},
        meters={"M1": "T1", "M2": "T1", "M3": "T1", "M9": "T9"},
        customers={"C1": "M1", "C2": "M2", "C9": "M9", "C0": "M404"},
    )
    f = check_topology(area)
    assert found(f, "unknown_parent") == {"F9", "C0"}
    msg = f.loc[(f["check"] == "unknown_parent") & (f["feature_id"] == "F9"), "message"].iloc[0]
    assert "substation_id 'S404' is not in substations" in msg
    islands = f[f["check"] == "island"]
    assert set(islands["feature_id"]) == {"F9", "C0"}  # each island reported once, at its top
    assert islands.set_index("feature_id").loc["F9", "devices"] == 4  # F9, T9, M9, C9
    assert (islands["severity"] == "error").all()
    assert found(f, "transformer_without_customers") == {"T2"}
    assert found(f, "meter_without_customer") == {"M3"}
    orphan_meter = f[f["check"] == "meter_without_customer"]
    assert orphan_meter.geometry.iloc[0].equals(area.transformers.geometry["T1"])  # shown at its transformer
    # validate runs the network checks, leaving references to check_integrity
    net_only = check_network(area)
    assert not found(net_only, "unknown_parent")
    assert found(net_only, "island") == {"F9", "C0"}


def test_duplicate_ids() -> None:
    area = build_area(substations=["S1"], feeders={"F1": "S1"}, transformers={"T1": "F1"},
                      meters={"M1": "T1", "T1X": "T1"}, customers={"C1": "M1", "F1": "T1X"})
    f = check_topology(area)
    assert found(f, "duplicate_id") == {"F1"}
    assert f.loc[f["check"] == "duplicate_id", "layer"].tolist() == ["customers"]
    twice = area.replace(customers=pd.concat([area.customers, area.customers.loc[["C1"]]]))
    dups = check_topology(twice)
    dups = dups[dups["check"] == "duplicate_id"]
    assert dict(zip(dups["feature_id"], dups["message"], strict=True))["C1"].endswith("more than once in customers")
    assert list(network_of(twice).upstream("C1")) == ["C1", "M1", "T1", "F1", "S1"]


def test_loops_and_dead_sections_from_switches() -> None:
    net = network_of(ring_area())
    meshed = check_topology(net.with_switch("TIE", is_open=False).area)
    cyc = meshed[meshed["check"] == "cycle"]
    assert list(cyc["feature_id"]) == ["TIE"] and list(cyc["layer"]) == ["switches"]
    for device in ("T2", "F1", "S1", "F2", "T4"):
        assert device in cyc["message"].iloc[0]
    assert cyc.geometry.iloc[0] is not None

    cut = check_topology(net.with_switch("SEC", is_open=True).area)
    dead = cut[cut["check"] == "de_energised"]
    assert list(dead["feature_id"]) == ["T4"] and (dead["severity"] == "warning").all()
    assert "SEC" in dead["message"].iloc[0]
    assert not found(cut, "island")  # the tie could still feed it


def test_validate_includes_topology_checks() -> None:
    area = build_area(substations=["S1"], feeders={"F1": "S1"}, transformers={"T1": "F1", "T2": "F1"},
                      meters={"M1": "T1"}, customers={"C1": "M1"})
    assert "transformer_without_customers" in set(validate(area)["check"])
