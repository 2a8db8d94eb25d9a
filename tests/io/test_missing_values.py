"""A missing value is JSON null or an empty cell in every output, never the text "nan", "None" or "NaT".

The demo is given holes a utility's data has: a grid without staff, customers without phone or
address or connection date, a station without code, work orders without assignee or description.
Then the main verbs, exports, the report, a map and the API are read back for the tell-tale words.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from gridservice.api import create_app
from gridservice.api.security import Tokens
from gridservice.auth import demo_users, users_by_name
from gridservice.cli import app
from gridservice.config import Settings
from gridservice.io import GeoPackageStore

#: The words a missing value turns into when it is formatted as text.
LEAK = re.compile(r"(?<![\w.])(nan|None|NaT)(?![\w])")
SECRET = "test-secret-key-for-missing-values-0123"


@pytest.fixture(scope="module")
def holes(demo_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = GeoPackageStore(demo_gpkg)
    frames = {name: store.read_layer(name) for name in store.layers()}
    grid = frames["grids"].index[0]
    frames["grid_staff"] = frames["grid_staff"][frames["grid_staff"]["grid_id"] != grid]
    frames["transformers"]["area_manager_id"] = np.nan
    frames["users"] = demo_users()[0]
    customers = frames["customers"]
    customers.loc[customers.index[:20], ["phone", "address"]] = np.nan
    customers.loc[customers.index[:5], "connected_at"] = pd.NaT
    frames["stations"].loc[frames["stations"].index[0], "code"] = np.nan
    orders = frames["work_orders"]
    orders.loc[orders.index[:5], ["assignee_id", "description"]] = np.nan
    path = tmp_path_factory.mktemp("holes") / "holes.gpkg"
    GeoPackageStore(path).write(frames, create=True)
    return path


@pytest.fixture(scope="module")
def period(holes: Path) -> str:
    """The latest month with readings (not the calendar's)."""
    periods = GeoPackageStore(holes).read_layer("energy_readings")["period"].str.slice(0, 7)
    return str(periods.max())


def leaks(text: str) -> list[str]:
    return [text[max(m.start() - 60, 0): m.end() + 20] for m in LEAK.finditer(text)]


VERBS = [
    ["locate", "{customer}"],
    ["trace", "{customer}", "--up"],
    ["outage", "impact", "{transformer}"],
    ["lineloss", "--period", "{period}"],
    ["kpi", "--period", "{period}"],
    ["kpi", "--period", "{period}", "--by", "station"],
    ["audit", "--period", "{period}"],
    ["validate"],
    ["orders", "list"],
]


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
@pytest.mark.parametrize("verb", VERBS, ids=lambda v: " ".join(v[:1] + v[3:]))
def test_cli_outputs_have_no_nan(holes: Path, period: str, verb: list[str], fmt: str) -> None:
    store = GeoPackageStore(holes)
    ids = {"period": period, "customer": store.read_layer("customers").index[0],  # no phone, no address
           "transformer": store.read_layer("transformers").index[0]}
    args = [a.format(**ids) for a in verb] + ["--data", str(holes), "--format", fmt]
    res = CliRunner().invoke(app, args)
    assert res.exit_code in (0, 1), res.output  # validate exits 1 on error findings
    assert len(res.output) > 100
    assert not leaks(res.output)


def test_lineloss_json_gives_null_staff_for_a_grid_without_staff(holes: Path, period: str) -> None:
    import json

    res = CliRunner().invoke(app, ["lineloss", "--period", period, "--data", str(holes), "--format", "json"])
    rows = json.loads(res.output)
    grid = GeoPackageStore(holes).read_layer("grids").index[0]
    unstaffed = [r for r in rows if r["grid_id"] == grid]
    assert unstaffed and all(r["staff_id"] is None and r["staff_name"] is None for r in unstaffed)


@pytest.mark.parametrize("layer", ["customers", "stations", "work_orders"])
@pytest.mark.parametrize("suffix", [".csv", ".geojson"])
def test_exports_have_no_nan(holes: Path, tmp_path: Path, layer: str, suffix: str) -> None:
    out = tmp_path / f"{layer}{suffix}"
    res = CliRunner().invoke(app, ["export", layer, "--out", str(out), "--data", str(holes)])
    assert res.exit_code == 0, res.output
    assert not leaks(out.read_text(encoding="utf-8-sig"))


def test_report_and_map_have_no_nan(holes: Path, period: str, tmp_path: Path) -> None:
    import openpyxl

    res = CliRunner().invoke(app, ["report", "--period", period, "--out", str(tmp_path), "--data", str(holes)])
    assert res.exit_code == 0, res.output
    html = next(tmp_path.glob("*.html")).read_text(encoding="utf-8")
    assert not leaks(html)
    book = openpyxl.load_workbook(next(tmp_path.glob("*.xlsx")), read_only=True)
    cells = [str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row if v is not None]
    assert cells and not [c for c in cells if LEAK.search(c)]
    out = tmp_path / "coverage.html"
    res = CliRunner().invoke(app, ["map", "coverage", "--out", str(out), "--basemap", "none", "--data", str(holes)])
    assert res.exit_code == 0, res.output
    assert not leaks(out.read_text(encoding="utf-8"))


def test_api_has_no_nan(holes: Path, period: str) -> None:
    settings = Settings.model_validate({"secret_key": SECRET, "token_minutes": 60})
    supervisor = users_by_name(GeoPackageStore(holes).read_layer("users"))["supervisor"]
    auth = {"Authorization": f"Bearer {Tokens(SECRET, minutes=60).issue(supervisor)[0]}"}
    customer = GeoPackageStore(holes).read_layer("customers").index[0]  # one without phone or address
    with TestClient(create_app(str(holes), settings=settings, web=False)) as client:
        for url in ("/api/v1/grids", f"/api/v1/line-loss?period={period}", f"/api/v1/kpis?period={period}",
                    f"/api/v1/audit?period={period}", f"/api/v1/customers/{customer}", "/api/v1/work-orders"):
            r = client.get(url, headers=auth)
            assert r.status_code == 200, (url, r.text[:300])
            assert not leaks(r.text), url


def test_emitted_objects_give_null_for_missing_values(capsys: pytest.CaptureFixture[str]) -> None:
    """Verbs that print an object (not a table) pass it through ``emit``: NaN, NaT and NA are null."""
    import json

    from gridservice.cli.common import Format, emit

    emit({"staff": [{"phone": np.nan, "since": pd.NaT, "count": pd.NA, "load": np.float64(2.5)}]}, Format.json)
    assert json.loads(capsys.readouterr().out) == {"staff": [{"phone": None, "since": None, "count": None,
                                                              "load": 2.5}]}
