"""The ``kpi``, ``lineloss``, ``audit``, ``report``, ``customer`` and ``orders`` commands on the five-customer area."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from gridservice.cli import app
from gridservice.errors import NotFoundError, TransitionError
from gridservice.io import GeoPackageStore
from gridservice.metrics.audit import RULE_IDS

AS_OF = ["--as-of", "2026-04-15T12:00"]


@pytest.fixture
def gpkg(tiny_gpkg) -> Path:
    """The five-customer area as a GeoPackage (shared, read-only)."""
    return tiny_gpkg


@pytest.fixture
def writable(gpkg, tmp_path) -> Path:
    """A private copy for tests that write."""
    dst = tmp_path / "tiny.gpkg"
    shutil.copyfile(gpkg, dst)
    return dst


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_kpi_json_rows_keyed_by_grid(gpkg) -> None:
    result = run("kpi", "--data", str(gpkg), "--period", "2026-03", "--format", "json", *AS_OF)
    assert result.exit_code == 0, result.output
    rows = {r["grid_id"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {"G1", "G2"}
    assert rows["G1"]["customers"] == 2 and rows["G1"]["saidi_min"] == pytest.approx(330.0)
    assert rows["G2"]["saifi_unplanned"] == pytest.approx(0.6667)
    assert rows["G1"]["repair_on_time_pct"] == 100.0 and rows["G1"]["complaints_per_10k"] == 10000.0


def test_kpi_by_station_as_csv_and_date_range(gpkg) -> None:
    result = run("kpi", "--data", str(gpkg), "--period", "2026-03", "--by", "station", "--format", "csv", *AS_OF)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(StringIO(result.stdout))
    assert table["station_id"].tolist() == ["S1"] and table["customers"].tolist() == [5]
    result = run("kpi", "--data", str(gpkg), "--from", "2026-03-01", "--to", "2026-03-15", "--format", "json", *AS_OF)
    rows = {r["grid_id"]: r for r in json.loads(result.stdout)}
    assert rows["G1"]["work_orders"] == 3 and rows["G2"]["work_orders"] == 2
    table_out = run("kpi", "--data", str(gpkg), "--period", "2026-03", *AS_OF)
    assert table_out.exit_code == 0 and "G1" in table_out.stdout


def test_kpi_defaults_to_the_latest_month_with_data(gpkg) -> None:
    """The latest record is W9/W10 of 2026-04 (readings stop earlier): that is the default, not the clock's month."""
    result = run("kpi", "--data", str(gpkg), "--format", "json", *AS_OF)
    assert result.exit_code == 0, result.output
    april = run("kpi", "--data", str(gpkg), "--period", "2026-04", "--format", "json", *AS_OF)
    assert json.loads(result.stdout) == json.loads(april.stdout)
    assert {r["grid_id"]: r["work_orders"] for r in json.loads(result.stdout)} == {"G1": 1, "G2": 1}
    assert "2026-04" in run("kpi", "--data", str(gpkg), *AS_OF).stdout


def test_lineloss_filtered_by_class(gpkg) -> None:
    result = run("lineloss", "--data", str(gpkg), "--period", "2026-03", "--class", "high", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["transformer_id"] for r in rows] == ["T1"]
    r = rows[0]
    assert (r["grid_id"], r["supply_kwh"], r["sales_kwh"], r["loss_kwh"], r["loss_pct"], r["class"],
            r["streak_months"]) == ("G1", 1000.0, 750.0, 250.0, 25.0, "high", 3)
    assert "theft" in r["likely_cause"]


def test_audit_rule_sample_and_population(gpkg) -> None:
    result = run("audit", "--data", str(gpkg), "--rule", "WO_TIME_ORDER", "--format", "json", *AS_OF)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["check"], r["feature_id"], r["grid_id"]) for r in rows] == [("WO_TIME_ORDER", "W9", "G2")]
    first = run("audit", "--data", str(gpkg), "--sample", "25", "--seed", "7", "--format", "csv", *AS_OF)
    again = run("audit", "--data", str(gpkg), "--sample", "25", "--seed", "7", "--format", "csv", *AS_OF)
    assert first.exit_code == 0 and first.stdout == again.stdout
    assert len(pd.read_csv(StringIO(first.stdout))) == 5  # 25 % of the 20 findings
    hv = run("audit", "--data", str(gpkg), "--population", "hv_new_connections", "--sample", "50", "--seed", "1",
             "--format", "json", *AS_OF)
    assert [r["customer_id"] for r in json.loads(hv.stdout)] == ["C5"]
    summary = run("audit", "--data", str(gpkg), "--summary", "--format", "json", *AS_OF)
    assert {r["grid_id"]: r["total"] for r in json.loads(summary.stdout)} == {"G2": 13, "G1": 7}
    listed = run("audit", "--list-rules", "--format", "json")
    assert len(json.loads(listed.stdout)) >= 20


def test_report_writes_workbook_and_page(gpkg, tmp_path) -> None:
    out = tmp_path / "out"
    result = run("report", "--data", str(gpkg), "--period", "2026-03", "--out", str(out), "--months", "3", *AS_OF)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["2026-03-report.html", "2026-03-report.xlsx"]


def test_orders_create_advance_and_refuse(writable) -> None:
    gpkg = writable
    created = run("orders", "create", "--data", str(gpkg), "--kind", "repair", "--customer", "C4",
                  "--received-at", "2026-03-05 08:00", "--user", "disp", "--format", "json")
    assert created.exit_code == 0, created.output
    order = json.loads(created.stdout)[0]
    assert (order["grid_id"], order["assignee_id"], order["status"]) == ("G2", "ST5", "received")
    assert order["arrival_due_at"] == "2026-03-05T01:30:00Z"  # 08:00 + 90 min, Shanghai = UTC+8
    oid = order["work_order_id"]
    moved = run("orders", "advance", oid, "dispatched", "--data", str(gpkg), "--at", "2026-03-05 08:10",
                "--format", "json")
    assert moved.exit_code == 0, moved.output
    assert json.loads(moved.stdout)[0]["status"] == "dispatched"
    refused = run("orders", "advance", oid, "arrived", "--data", str(gpkg), "--at", "2026-03-05 08:00")
    assert isinstance(refused.exception, TransitionError) and oid in str(refused.exception)
    status = run("orders", "status", oid, "--data", str(gpkg), "--format", "json", *AS_OF)
    info = json.loads(status.stdout)[0]
    assert info["status"] == "dispatched" and info["arrival_on_time"] is False
    listed = run("orders", "list", "--data", str(gpkg), "--open", "--format", "json", *AS_OF)
    assert {r["work_order_id"] for r in json.loads(listed.stdout)} == {"W6", oid}
    log = GeoPackageStore(gpkg).read_layer("audit_log")
    assert log["action"].tolist() == ["create", "status:dispatched"]


def test_impossible_timestamp_is_one_red_line(gpkg) -> None:
    code = "import sys; from gridservice.cli import main; sys.argv[0] = 'gridservice'; main()"
    proc = subprocess.run([sys.executable, "-c", code, "orders", "advance", "W6", "resolved", "--data", str(gpkg),
                           "--at", "2026-03-29 10:00"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "W6" in lines[0] and "earlier than dispatched_at" in lines[0]
    assert "Traceback" not in proc.stderr


def test_unknown_audit_rule_is_one_line_naming_the_valid_ids(gpkg) -> None:
    code = "import sys; from gridservice.cli import main; sys.argv[0] = 'gridservice'; main()"
    proc = subprocess.run([sys.executable, "-c", code, "audit", "--data", str(gpkg), "--rule", "WO_ARRIVAL_LATE",
                           "--rule", "repair_arrival_late"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "repair_arrival_late" in lines[0]
    assert all(rule in lines[0] for rule in RULE_IDS)


def test_customer_card_as_json_and_masked_for_a_supervisor(gpkg) -> None:
    result = run("customer", "C4", "--data", str(gpkg), "--format", "json")
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout)
    assert (card["customer"]["name"], card["grid"]["grid_id"]) == ("李四", "G2")
    assert [p["device_id"] for p in card["supply_path"]] == ["M4", "T2", "F1", "SUB1"]
    assert [w["work_order_id"] for w in card["history"]["work_orders"]] == ["W9", "W2"]
    masked = json.loads(run("customer", "C4", "--data", str(gpkg), "--role", "supervisor", "--format", "json").stdout)
    assert (masked["customer"]["name"], masked["customer"]["phone"]) == ("李*", "****45")
    table = run("customer", "C4", "--data", str(gpkg), "--role", "planner")
    assert table.exit_code == 0 and "李*" in table.stdout and "李四" not in table.stdout and "白舍网格" in table.stdout
    unknown = run("customer", "C9", "--data", str(gpkg))  # main() turns it into one red line
    assert isinstance(unknown.exception, NotFoundError) and "no customer 'C9'" in str(unknown.exception)
