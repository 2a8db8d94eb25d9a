"""Repair-call grouping on a hand-built network with known answers.

::

    S1 ─ F1 ─ T1 (C1–C4), T2 (C5–C8), T3 (C9–C12)
       └ F2 ─ T4 (C13–C16), T5 (C17–C20)
    S2 ─ F3 ─ T6 (C21–C24)

Every customer has its own meter (Mi → Ci) hanging directly on its transformer.
"""

from __future__ import annotations

import pandas as pd
import pytest
from topo_networks import build_area

from gridservice.errors import DataError, TopologyError
from gridservice.topology import group_calls, network_of

TRANSFORMER_OF = {f"C{i}": f"T{(i - 1) // 4 + 1}" for i in range(1, 25)}


@pytest.fixture(scope="module")
def area():
    return build_area(
        substations=["S1", "S2"],
        feeders={"F1": "S1", "F2": "S1", "F3": "S2"},
        transformers={"T1": "F1", "T2": "F1", "T3": "F1", "T4": "F2", "T5": "F2", "T6": "F3"},
        meters={f"M{i}": TRANSFORMER_OF[f"C{i}"] for i in range(1, 25)},
        customers={f"C{i}": f"M{i}" for i in range(1, 25)},
    )


def calls(*customers: str, start: str = "2026-05-01 10:00", step_min: int = 2) -> pd.DataFrame:
    t0 = pd.Timestamp(start)
    return pd.DataFrame({
        "call_id": [f"k{i}" for i in range(len(customers))],
        "customer_id": list(customers),
        "received_at": [(t0 + pd.Timedelta(minutes=step_min * i)).isoformat() for i in range(len(customers))],
    })


def proposals(result: pd.DataFrame) -> dict[str, str]:
    live = result[~result["rule"].isin(["ungrouped", "active_outage"])]
    return dict(zip(live["device_id"], live["rule"], strict=True))


def test_single_transformer_fault(area) -> None:
    r = group_calls(area, calls("C1", "C2", "C3"))
    assert proposals(r) == {"T1": "min_calls"}
    top = r.iloc[0]
    assert top["rank"] == 1 and top["calls"] == 3 and top["customers"] == 4 and top["feeder_id"] == "F1"
    assert sorted(top["call_ids"]) == ["k0", "k1", "k2"]
    assert len(r) == 1


def test_all_customers_of_a_transformer_calling(area) -> None:
    r = group_calls(area, calls("C5", "C6", "C7", "C8"), min_calls=10)
    assert proposals(r) == {"T2": "all_customers"}


def test_feeder_fault_from_scattered_calls(area) -> None:
    # two calls under T1, one under T2, one under T3: no transformer reaches 3, the feeder does
    r = group_calls(area, calls("C1", "C2", "C5", "C9"))
    assert proposals(r) == {"F1": "min_calls"}
    assert r.iloc[0]["calls"] == 4 and r.iloc[0]["customers"] == 12
    assert r.iloc[0]["subsumed"] == []


def test_feeder_fault_by_promotion(area) -> None:
    r = group_calls(area, calls("C1", "C2", "C3", "C5", "C6", "C7"))
    assert proposals(r) == {"F1": "promotion"}
    assert sorted(r.iloc[0]["subsumed"]) == ["T1", "T2"]
    assert r.iloc[0]["calls"] == 6
    assert len(r) == 1


def test_two_simultaneous_faults(area) -> None:
    r = group_calls(area, calls("C1", "C2", "C3", "C21", "C22", "C23", "C24"))
    assert proposals(r) == {"T6": "all_customers", "T1": "min_calls"}
    assert list(r["device_id"]) == ["T6", "T1"]  # ranked by calling customers
    # two transformers on different feeders of one substation stay two faults
    r2 = group_calls(area, calls("C1", "C2", "C3", "C13", "C14", "C15"))
    assert proposals(r2) == {"T1": "min_calls", "T4": "min_calls"}


def test_calls_covered_by_an_active_outage(area) -> None:
    outages = pd.DataFrame({
        "outage_id": ["O1", "O2"], "device_id": ["F2", "T6"], "kind": ["unplanned", "planned"],
        "start_at": ["2026-05-01 09:00", "2026-05-01 08:00"], "end_at": [None, "2026-05-01 09:30"],
    })
    with_outage = area.replace(outages=outages)
    # C13, C14, C17 are below F2 (active since 09:00); C21–C23 are below T6 whose outage ended at 09:30
    r = group_calls(with_outage, calls("C13", "C14", "C17", "C21", "C22", "C23"))
    linked = r[r["rule"] == "active_outage"]
    assert list(linked["outage_id"]) == ["O1"]
    assert sorted(linked.iloc[0]["call_ids"]) == ["k0", "k1", "k2"]
    assert linked.iloc[0]["device_id"] == "F2"
    assert proposals(r) == {"T6": "min_calls"}
    # a call before the outage started is not covered by it
    early = group_calls(with_outage, calls("C13", "C14", "C15", start="2026-05-01 08:00"))
    assert proposals(early) == {"T4": "min_calls"}
    assert not (early["rule"] == "active_outage").any()


def test_every_call_in_the_window_appears_once(area) -> None:
    c = calls("C1", "C2", "C3", "C9", "C13", "C21", "C1")
    r = group_calls(area, c)
    ids = [k for row in r["call_ids"] for k in row]
    assert sorted(ids) == sorted(c["call_id"])
    ungrouped = r[r["rule"] == "ungrouped"]
    assert set(ungrouped["device_id"]) == {"T3", "T4", "T6"}
    assert list(r["rule"])[:1] == ["min_calls"]  # proposals rank before ungrouped calls
    # the same customer calling twice is one calling customer
    assert r.iloc[0]["calls"] == 4 and r.iloc[0]["customers_calling"] == 3


def test_window_keeps_recent_calls(area) -> None:
    c = calls("C1", "C2", "C3", step_min=60)  # 10:00, 11:00, 12:00
    assert proposals(group_calls(area, c, window="90min")) == {}
    assert proposals(group_calls(area, c, window="3h")) == {"T1": "min_calls"}
    assert proposals(group_calls(area, c, window=None)) == {"T1": "min_calls"}
    r = group_calls(area, c, window="90min", at="2026-05-01 10:30")
    assert [k for row in r["call_ids"] for k in row] == ["k0"]


def test_bad_calls_are_clear_errors(area) -> None:
    with pytest.raises(DataError, match="C404"):
        group_calls(area, calls("C1", "C404"))
    with pytest.raises(DataError, match="received_at"):
        group_calls(area, pd.DataFrame({"customer_id": ["C1"]}))
    bad_time = calls("C1").assign(received_at=["yesterday-ish"])
    with pytest.raises(DataError, match="not a timestamp"):
        group_calls(area, bad_time)
    assert group_calls(area, calls()).empty


def test_meshed_callers_are_refused() -> None:
    area = build_area(substations=["S1"], feeders={"F1": "S1", "F2": "S1"}, transformers={"T1": "F1", "T2": "F2"},
                      meters={"M1": "T1", "M2": "T2"}, customers={"C1": "M1", "C2": "M2"},
                      switches=[("TIE", "T1", "T2", False)])
    assert len(network_of(area).loops) == 1
    with pytest.raises(TopologyError, match="meshed"):
        group_calls(area, calls("C1", "C2"))
