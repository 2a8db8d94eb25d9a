"""Switching operations (倒闸操作) on the ring of ``topo_networks.ring_area``, worked out on its diagram::

    S1 ─ F1 ─┬─ T1 ─ M1 ─ C1, M2 ─ C2
             └─ T2 ─ A2 ─ M3 ─ C3, M4 ─ C4
                  ╎ TIE (open)
    S1 ─ F2 ─┬─ T3 ─ M5 ─ C5
         SEC └─ T4 ─ M6 ─ C6, M7 ─ C7

Opening SEC cuts C6 and C7 off; closing TIE then supplies them again from T2;
opening TIE again cuts them off once more.
"""

from __future__ import annotations

import json

import pytest
from topo_networks import ring_area
from typer.testing import CliRunner

from gridservice.cli import app
from gridservice.errors import ConflictError, NotFoundError
from gridservice.io import GeoPackageStore
from gridservice.topology import network_of, operate_switch, supply_changes, supply_summary
from gridservice.workspace import open_area


@pytest.fixture
def ring_gpkg(tmp_path):
    path = tmp_path / "ring.gpkg"
    GeoPackageStore(path).write(ring_area().layers, create=True)
    return path


def test_operating_switches_cuts_off_and_restores_the_customers_below(ring_gpkg) -> None:
    store = GeoPackageStore(ring_gpkg)
    before = open_area(str(ring_gpkg))
    assert network_of(before).energised(["C6", "C7"]).all()

    row = operate_switch(store, "SEC", is_open=True, user="dispatcher", note="maintenance on F2")
    assert bool(row.loc["SEC", "is_open"])
    opened = open_area(str(ring_gpkg))
    assert bool(opened.switches.loc["SEC", "is_open"]) and bool(opened.switches.loc["TIE", "is_open"])
    cut = supply_changes(before, opened)
    assert sorted(cut.index) == ["C6", "C7"] and not cut["energised"].any()
    assert supply_summary(cut)["customers_cut_off"] == 2 and supply_summary(cut)["customers_restored"] == 0

    operate_switch(store, "TIE", is_open=False, user="dispatcher")
    tied = open_area(str(ring_gpkg))
    back = supply_changes(opened, tied)
    assert sorted(back.index) == ["C6", "C7"] and back["energised"].all()
    assert network_of(tied).upstream("C6")[:4] == ["C6", "M6", "T4", "T2"]  # now fed over the tie

    log = store.read_layer("audit_log")
    ops = log[log["layer"] == "switches"]
    assert list(zip(ops["action"], ops["feature_id"], strict=True)) == [("open", "SEC"), ("close", "TIE")]
    assert ops["detail"].iloc[0] == "maintenance on F2"


def test_an_operation_that_changes_nothing_or_names_no_switch_is_refused(ring_gpkg) -> None:
    store = GeoPackageStore(ring_gpkg)
    with pytest.raises(ConflictError, match="TIE is already open"):
        operate_switch(store, "TIE", is_open=True, user="dispatcher")
    with pytest.raises(NotFoundError, match="unknown switch 'NOPE'"):
        operate_switch(store, "NOPE", is_open=True, user="dispatcher")
    assert not len(store.read_layer("audit_log"))  # nothing written


def test_cli_switch(ring_gpkg) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["switch", "SEC", "--open", "--data", str(ring_gpkg), "--user", "wang", "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["switch_id"] == "SEC" and doc["is_open"] is True
    assert doc["customers_cut_off"] == 2 and doc["customers_restored"] == 0
    again = runner.invoke(app, ["switch", "SEC", "--open", "--data", str(ring_gpkg)])
    assert isinstance(again.exception, ConflictError) and "already open" in str(again.exception)  # main() prints it
    table = runner.invoke(app, ["switch", "SEC", "--close", "--data", str(ring_gpkg)])
    assert table.exit_code == 0 and "2 supplied again" in table.stdout
    assert GeoPackageStore(ring_gpkg).read_layer("audit_log")["user"].iloc[0] == "wang"
