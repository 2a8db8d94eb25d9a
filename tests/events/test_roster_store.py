"""Storing a roster on both stores: one transaction with its audit entry, the staff's earlier shifts on those
days replaced whatever their ids, other days kept (the week of tests/events/test_roster.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import pg
from gridservice.events.roster import make_roster, save_roster
from gridservice.io import GeoPackageStore, open_store
from gridservice.model import ServiceArea
from tiny_area import build_tiny_area


@pytest.fixture(params=["gpkg", "postgis"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "gpkg":
        s = GeoPackageStore(tmp_path / "tiny.gpkg")
    else:
        cluster: pg.Cluster = request.getfixturevalue("pg_cluster")
        s = open_store(cluster.url(area="t_roster_" + request.node.name.split("[")[0][-20:].lower()))
    hand = pd.DataFrame({"shift_id": ["HAND-1", "HAND-2"], "staff_id": ["ST1", "ST1"],
                         "date": ["2026-03-04", "2026-03-20"], "kind": ["leave", "leave"]})
    s.write({**build_tiny_area().layers, "shifts": hand}, create=True)
    return s


def test_a_roster_replaces_the_staff_shifts_on_its_days_only(store) -> None:
    area = ServiceArea.load(store)
    shifts = make_roster(area, "S1", start="2026-03-02", weeks=1)
    assert save_roster(store, area, shifts, user="planner", station_id="S1") == 1  # HAND-1 is on 03-04
    stored = ServiceArea.load(store)
    assert len(stored.shifts) == 43 and "HAND-2" in stored.shifts.index and "HAND-1" not in stored.shifts.index
    assert stored.shifts.loc["SH-ST1-20260304", "kind"] == "standby"
    log = stored.audit_log[stored.audit_log["layer"] == "shifts"]
    assert log["action"].tolist() == ["roster"] and log["feature_id"].tolist() == ["S1"]
    assert "2026-03-02..2026-03-08: 42 shifts (6 staff), 1 replaced" in log["detail"].iloc[0]
