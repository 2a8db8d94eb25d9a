"""``gridservice trace``, ``outage impact`` and ``calls analyze`` through Typer's CliRunner."""

from __future__ import annotations

import json

import networkx as nx
import pandas as pd
import pytest
from typer.testing import CliRunner

from gridservice.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def fk(demo_area) -> nx.DiGraph:
    a = demo_area
    g = nx.DiGraph()
    g.add_edges_from(zip(a.feeders["substation_id"], a.feeders.index, strict=True))
    g.add_edges_from(zip(a.transformers["feeder_id"], a.transformers.index, strict=True))
    g.add_edges_from(zip(a.access_points["transformer_id"], a.access_points.index, strict=True))
    g.add_edges_from(zip(a.meters["access_point_id"].fillna(a.meters["transformer_id"]), a.meters.index, strict=True))
    g.add_edges_from(zip(a.customers["meter_id"], a.customers.index, strict=True))
    return g


def test_trace_up_json(demo_gpkg, demo_area, fk) -> None:
    customer = str(demo_area.customers.index[10])
    r = run("trace", customer, "--up", "--data", str(demo_gpkg), "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["device_id"] == customer
    assert doc["path"][0] == customer
    assert doc["path"][::-1] == nx.shortest_path(fk, doc["path"][-1], customer)
    assert doc["path"][-1] in demo_area.substations.index


def test_trace_down_json(demo_gpkg, demo_area, fk) -> None:
    t = str(demo_area.transformers.index[3])
    r = run("trace", t, "--data", str(demo_gpkg), "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    expected = {n for n in nx.descendants(fk, t) if n in demo_area.customers.index}
    assert doc["device_id"] == t and set(doc["customers"]) == expected
    grids = demo_area.customers.loc[sorted(expected), "grid_id"].value_counts().to_dict()
    assert doc["grids"] == grids


def test_trace_table_and_unknown_device(demo_gpkg, demo_area) -> None:
    f = str(demo_area.feeders.index[0])
    r = run("trace", f, "--data", str(demo_gpkg))
    assert r.exit_code == 0 and "customers downstream" in r.stdout
    bad = run("trace", "NO-SUCH", "--data", str(demo_gpkg))
    assert bad.exit_code != 0


def test_outage_impact_json(demo_gpkg, demo_area, fk) -> None:
    f = str(demo_area.feeders.index[1])
    r = run("outage", "impact", f, "--data", str(demo_gpkg), "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    expected = {n for n in nx.descendants(fk, f) if n in demo_area.customers.index}
    assert doc["customers_affected"] == len(expected)
    assert sum(doc["grids"].values()) == len(expected)
    assert all(s["staff_id"] for s in doc["staff"])


def test_calls_analyze_csv_file(demo_gpkg, demo_area, tmp_path) -> None:
    a = demo_area
    m = a.meters
    tr = m["access_point_id"].map(a.access_points["transformer_id"]).fillna(m["transformer_id"])
    per_t = a.customers["meter_id"].map(tr).value_counts()
    t = str(per_t.index[0])  # the transformer with most customers
    mine = a.customers[a.customers["meter_id"].map(tr) == t]
    box = mine["meter_id"].map(m["access_point_id"])
    callers = list(mine.index[~box.duplicated()][:4])  # one caller per meter box: the transformer is implicated
    assert len(callers) == 4
    path = tmp_path / "calls.csv"
    pd.DataFrame({"customer_id": callers,  # after the demo's last outage
                  "received_at": [f"2027-06-01 10:0{i}" for i in range(len(callers))]}).to_csv(path, index=False)
    r = run("calls", "analyze", str(path), "--data", str(demo_gpkg), "--format", "json", "--min-calls", "3")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert rows[0]["device_id"] == t and rows[0]["rule"] == "min_calls" and rows[0]["calls"] == 4
    assert sorted(rows[0]["call_ids"]) == ["row 2", "row 3", "row 4", "row 5"]  # file rows
    csv = run("calls", "analyze", str(path), "--data", str(demo_gpkg), "--format", "csv")
    first = pd.read_csv(__import__("io").StringIO(csv.stdout)).iloc[0]
    assert first["device_id"] == t and sorted(first["call_ids"].split(",")) == ["row 2", "row 3", "row 4", "row 5"]


def test_calls_analyze_bad_file(demo_gpkg, tmp_path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text("customer_id,received_at\nX-404,2026-06-01 10:00\n", encoding="utf-8")
    r = run("calls", "analyze", str(path), "--data", str(demo_gpkg))
    assert r.exit_code != 0
    js = tmp_path / "calls.json"
    js.write_text('{"calls": [{"customer_id": "1"}]}', encoding="utf-8")
    assert run("calls", "analyze", str(js), "--data", str(demo_gpkg)).exit_code != 0
