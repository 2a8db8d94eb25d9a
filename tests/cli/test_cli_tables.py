"""CLI tables fit the terminal: whole headers, whole ids, prose wrapped, records when nothing else fits."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pandas as pd
from rich.console import Console

from gridservice.cli.common import frame_table

FINDINGS = pd.DataFrame({
    "check": ["CUST_PHONE_INVALID", "WO_ARRIVAL_LATE"],
    "severity": ["error", "error"],
    "feature_id": ["3600000117", "WO000211"],
    "message": ["customer 3600000117: phone '1397945123' is neither a mobile nor a landline number",
                "repair order WO000211 arrived 87 min after it was received; the limit is 45 min"],
})


def rendered(df: pd.DataFrame, width: int) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(frame_table(df, title="findings"))
    return out.getvalue().splitlines()


def test_a_table_that_fits_is_one_line_per_row() -> None:
    lines = rendered(FINDINGS, 200)
    header = next(line for line in lines if "check" in line)
    assert [h in header for h in FINDINGS.columns] == [True] * 4
    assert sum("CUST_PHONE_INVALID" in line and "landline number" in line for line in lines) == 1
    assert max(len(line) for line in lines) <= 200


def test_a_narrow_table_wraps_only_the_prose() -> None:
    # check 18 + severity 8 + feature_id 10 + borders 13 leave 31 cells of the 80 for the message
    lines = rendered(FINDINGS, 80)
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if "check" in line)
    assert all(h in header for h in FINDINGS.columns)
    assert any("CUST_PHONE_INVALID" in line and "3600000117" in line for line in lines)  # ids whole, one line
    text = " ".join(line.strip("│ ") for line in lines)
    assert "landline" in text and "arrived 87 min" in " ".join(text.split())


def test_too_narrow_for_columns_becomes_one_block_per_row() -> None:
    wide = pd.DataFrame({"grid_id": ["NF-CQ-01", "NF-CQ-02"], "name": ["琴城城区1号网格", "琴城城区2号网格"],
                         "households_per_member": [868, 153], "non_repair_on_time_pct": [100.0, None],
                         "visit_coverage_pct": [43.75, 50.0], "complaints_per_10k": [0.0, 11.5]})
    lines = rendered(wide, 80)
    assert max(len(line) for line in lines) <= 80
    fields = [line.split() for line in lines if line.strip() and not line.strip().startswith("─")]
    assert fields[0] == ["findings"]
    assert fields[1:7] == [["grid_id", "NF-CQ-01"], ["name", "琴城城区1号网格"], ["households_per_member", "868"],
                           ["non_repair_on_time_pct", "100.0"], ["visit_coverage_pct", "43.75"],
                           ["complaints_per_10k", "0.0"]]
    assert fields[7:] == [["grid_id", "NF-CQ-02"], ["name", "琴城城区2号网格"], ["households_per_member", "153"],
                          ["non_repair_on_time_pct"], ["visit_coverage_pct", "50.0"], ["complaints_per_10k", "11.5"]]
    assert sum(line.strip().startswith("─") for line in lines) == 3  # above, between and below the records


def gridservice(*args: str, columns: int) -> str:
    code = "import sys; from gridservice.cli import main; sys.argv[0] = 'gridservice'; main()"
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": str(columns)})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_kpi_at_80_and_at_240_columns(tiny_gpkg) -> None:
    args = ("kpi", "--data", str(tiny_gpkg), "--period", "2026-03", "--as-of", "2026-04-15T12:00")
    headers = ["grid_id", "name", "customers", "households_per_member", "work_orders", "complaints_per_10k",
               "repair_on_time_pct", "non_repair_on_time_pct", "saifi", "saidi_min", "rs1_pct", "loss_high",
               "loss_negative", "visit_coverage_pct"]
    narrow = gridservice(*args, columns=80).splitlines()
    assert max(len(line) for line in narrow) <= 80
    names = [line.split()[0] for line in narrow if line.strip() and not line.strip().startswith(("─", "KPIs"))]
    assert names == headers * 2  # two grids, every header whole on its own line
    wide = gridservice(*args, columns=240).splitlines()
    header = [line for line in wide if "grid_id" in line]
    assert len(header) == 1 and header[0].replace("┃", " ").split() == headers
