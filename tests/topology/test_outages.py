"""Outage impact and recording, checked against the foreign keys and the store."""

from __future__ import annotations

import pandas as pd
import pytest
from topo_networks import ring_area

from gridservice.errors import ConflictError, DataError, NotFoundError
from gridservice.io import GeoPackageStore
from gridservice.topology import create_outage, outage_impact
from gridservice.workspace import open_area


def fk_customers_of_transformer(area, transformer: str) -> set[str]:
    m = area.meters
    via_ap = m["access_point_id"].map(area.access_points["transformer_id"])
    tr = via_ap.fillna(m["transformer_id"])
    meters = set(tr.index[tr == transformer])
    return set(area.customers.index[area.customers["meter_id"].isin(meters)])


def test_transformer_outage_impact_on_the_demo(demo_area) -> None:
    a = demo_area
    t = str(a.transformers.index[a.transformers["area_manager_id"].notna()][0])
    impact = outage_impact(a, t)
    expected = fk_customers_of_transformer(a, t)
    assert expected and set(impact.customers) == expected
    assert impact.layer == "transformers" and impact.energised
    counts = a.customers.loc[sorted(expected), "grid_id"].value_counts()
    assert impact.grids.to_dict() == counts.to_dict()
    assert list(impact.transformers) == [t]
    gs = a.grid_staff
    managers = set(gs.loc[gs["grid_id"].isin(counts.index) & gs["role"].isin(["grid_manager", "area_manager"]),
                          "staff_id"])
    managers.add(a.transformers.loc[t, "area_manager_id"])
    assert set(impact.staff["staff_id"]) == managers
    assert impact.staff["name"].notna().all()
    c = a.customers.loc[sorted(expected)]
    important = set(c.index[(c["voltage"] == "high") | c["key_customer"].fillna(False).astype(bool)])
    assert set(impact.important.index) == important
    d = impact.to_dict()
    assert d["customers_affected"] == len(expected) and d["device_id"] == t


def test_feeder_outage_covers_its_transformers(demo_area) -> None:
    a = demo_area
    f = str(a.feeders.index[0])
    impact = outage_impact(a, f)
    trs = a.transformers.index[a.transformers["feeder_id"] == f]
    expected = set().union(*(fk_customers_of_transformer(a, t) for t in trs))
    assert set(impact.customers) == expected
    assert set(impact.transformers) == {t for t in trs if fk_customers_of_transformer(a, t)}
    assert impact.grids.sum() == a.customers.loc[sorted(expected), "grid_id"].notna().sum()


def test_outage_on_a_customer_cuts_off_that_customer() -> None:
    impact = outage_impact(ring_area(), "C6")
    assert list(impact.customers) == ["C6"] and list(impact.transformers) == ["T4"]
    with pytest.raises(NotFoundError):
        outage_impact(ring_area(), "nothing")


def test_create_planned_outage_stores_its_impact(demo_copy) -> None:
    store = GeoPackageStore(demo_copy)
    area = open_area(store)
    t = str(area.transformers.index[5])
    n = len(fk_customers_of_transformer(area, t))
    row = create_outage(store, area, device_id=t, kind="planned", start_at="2026-12-02 08:00",
                        end_at="2026-12-02 12:00", cause="检修", user="planner1")
    oid = str(row.index[0])
    stored = store.read_layer("outages")
    stored = stored.set_index("outage_id") if "outage_id" in stored.columns else stored
    assert stored.loc[oid, "customers_affected"] == n
    assert stored.loc[oid, "device_id"] == t
    assert stored.loc[oid, "start_at"] == pd.Timestamp("2026-12-02 08:00", tz="Asia/Shanghai")
    log = store.read_layer("audit_log")
    log = log.reset_index() if "feature_id" not in log.columns else log
    entry = log[log["feature_id"] == oid]
    assert list(entry["user"]) == ["planner1"] and list(entry["action"]) == ["create"]

    unplanned = create_outage(store, area, device_id=t, kind="unplanned", start_at="2026-11-03 09:00", user="d1")
    assert pd.isna(unplanned["customers_affected"].iloc[0])
    assert pd.isna(unplanned["end_at"].iloc[0])
    area = open_area(store)
    with pytest.raises(ConflictError, match="already has an outage going on"):
        create_outage(store, area, device_id=t, kind="unplanned", start_at="2026-11-03 10:00", user="d1")
    soon = (pd.Timestamp.now(tz="Asia/Shanghai") + pd.Timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    other = str(area.transformers.index[6])
    for start, kind, problem in ((soon, "unplanned", "in the future"), ("1970-01-02 00:00", "planned", "before 1990")):
        with pytest.raises(DataError, match=problem):
            create_outage(store, area, device_id=other, kind=kind, start_at=start, user="d1")
    assert len(store.read_layer("outages")) == len(area.outages)  # nothing written by the refusals


def test_create_outage_refuses_bad_input(demo_copy) -> None:
    store = GeoPackageStore(demo_copy)
    area = open_area(store)
    before = len(store.read_layer("outages"))
    t = str(area.transformers.index[0])
    with pytest.raises(DataError, match="kind"):
        create_outage(store, area, device_id=t, kind="surprise", start_at="2026-12-02 08:00", user="u")
    with pytest.raises(NotFoundError, match="NOPE"):
        create_outage(store, area, device_id="NOPE", kind="planned", start_at="2026-12-02 08:00", user="u")
    with pytest.raises(DataError, match="not after"):
        create_outage(store, area, device_id=t, kind="planned", start_at="2026-12-02 08:00",
                      end_at="2026-12-02 07:00", user="u")
    with pytest.raises(DataError, match="timestamp"):
        create_outage(store, area, device_id=t, kind="planned", start_at="soon", user="u")
    assert len(store.read_layer("outages")) == before


def test_outage_on_a_switch_is_what_opening_it_cuts_off() -> None:
    area = ring_area()
    sec = outage_impact(area, "SEC")  # the sectionaliser feeding T4
    assert set(sec.customers) == {"C6", "C7"} and sec.layer == "switches"
    assert len(outage_impact(area, "TIE").customers) == 0  # already open
