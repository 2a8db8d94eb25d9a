"""``POST /api/v1/network/switches/{id}`` on the Nanfeng demo: a dispatcher opens and closes a switch;
whom it cut off and supplied again is checked against networkx on the closed links of the layers."""

from __future__ import annotations

import pytest
from api_helpers import SETTINGS, USERS, headers
from fastapi.testclient import TestClient

from gridservice.api import create_app
from gridservice.io import GeoPackageStore
from gridservice.topology import network_of
from gridservice.workspace import open_area
from topology_oracle import supplied_customers


@pytest.fixture
def demo_copy(demo_gpkg, tmp_path):
    path = tmp_path / "nanfeng.gpkg"
    path.write_bytes(demo_gpkg.read_bytes())
    GeoPackageStore(path).write({"users": USERS})
    return path


def test_a_dispatcher_opens_and_closes_a_switch(demo_copy) -> None:
    area = open_area(str(demo_copy))
    net = network_of(area)
    closed = area.switches[~area.switches["is_open"].astype(bool)]
    # the closed switch below which most customers hang (picked with the index; the answer is checked without it)
    sw = max(closed.index, key=lambda s: len(net.downstream(closed.loc[s, "to_device_id"]).customers))
    switches = area.switches.copy()
    switches.loc[sw, "is_open"] = True
    opened = area.replace(switches=switches)
    cut = supplied_customers(area) - supplied_customers(opened)
    assert cut  # the demo's sectionalising switches each carry customers

    with TestClient(create_app(str(demo_copy), settings=SETTINGS, web=False)) as client:
        url = f"/api/v1/network/switches/{sw}"
        assert client.post(url, json={"is_open": True}, headers=headers("supervisor")).status_code == 403
        r = client.post(url, json={"is_open": True, "note": "检修"}, headers=headers("dispatcher"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["switch_id"] == sw and body["is_open"] is True
        assert body["customers_cut_off"] == len(cut) and body["customers_restored"] == 0
        grids = area.customers.loc[sorted(cut), "grid_id"].value_counts().to_dict()
        assert body["grids_cut_off"] == grids
        # the traces follow at once: the customers below are no longer supplied
        customer = sorted(cut)[0]
        assert client.get(f"/api/v1/network/{customer}/upstream", headers=headers("dispatcher")).status_code == 200
        down = client.get(f"/api/v1/network/{closed.loc[sw, 'to_device_id']}/downstream",
                          headers=headers("dispatcher")).json()
        assert down["energised"] is False

        assert client.post(url, json={"is_open": True}, headers=headers("dispatcher")).status_code == 409
        assert client.post("/api/v1/network/switches/NOPE", json={"is_open": True},
                           headers=headers("dispatcher")).status_code == 404
        back = client.post(url, json={"is_open": False}, headers=headers("dispatcher")).json()
        assert back["customers_restored"] == len(cut) and back["customers_cut_off"] == 0

    log = GeoPackageStore(demo_copy).read_layer("audit_log")
    ops = log[log["layer"] == "switches"]
    assert list(zip(ops["action"], ops["feature_id"], ops["user"], strict=True)) == [
        ("open", sw, "dispatcher"), ("close", sw, "dispatcher")]
