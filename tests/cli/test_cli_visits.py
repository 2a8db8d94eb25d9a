"""``gridservice visits due|list`` on the street of tests/metrics/test_visits.py, judged at the data's as_of."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridservice.cli import app
from gridservice.errors import NotFoundError
from gridservice.io import GeoPackageStore
from tiny_area import visit_snapshot


@pytest.fixture(scope="module")
def street(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("street") / "street.gpkg"
    GeoPackageStore(path).write(visit_snapshot(), create=True)
    return path


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_due_overdue_as_json(street) -> None:
    rows = json.loads(run("visits", "due", "--data", str(street), "--overdue", "--format", "json"))
    assert [(r["customer_id"], r["reason"], r["overdue_days"]) for r in rows] == [
        ("K2", "home_norm", None), ("K1", "home_norm", 14.0), ("K5", "phone_norm", 5.0)]


def test_list_for_a_member_as_csv(street) -> None:
    # the default 8 stops a day: the four home visits on one route, west then east (as with 4 in test_visits)
    out = run("visits", "list", "--data", str(street), "--staff", "ST2", "--format", "csv").splitlines()
    header = out[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=False)) for line in out[1:]]
    assert [(r["day"], r["stop"], r["customer_id"]) for r in rows] == [
        ("2026-04-16", "1", "K2"), ("2026-04-16", "2", "K3"), ("2026-04-16", "3", "K1"), ("2026-04-16", "4", "K4"),
        ("2026-04-16", "", "K5"), ("2026-04-16", "", "K5"), ("2026-04-20", "", "K3")]


def test_an_unknown_member_is_one_clear_line(street) -> None:
    result = CliRunner().invoke(app, ["visits", "list", "--data", str(street), "--staff", "NOBODY"])
    # main() turns a domain error into one red line (tests/metrics/test_metrics_cli.py checks that path)
    assert isinstance(result.exception, NotFoundError) and "unknown staff member 'NOBODY'" in str(result.exception)


def test_map_of_a_members_routes(street, tmp_path) -> None:
    out = tmp_path / "st2.html"
    run("visits", "map", "--data", str(street), "--staff", "ST2", "--out", str(out), "--basemap", "none")
    page = out.read_text(encoding="utf-8")
    assert page.count("L.polyline(") == 1  # the four home visits on one day: one route
    icons = re.findall(r"\\u003e([^\\]+|\\u260e)\\u003c/div", page)  # the markers' text, JSON-escaped
    assert sorted(icons) == ["1", "2", "3", "4", "\\u260e", "\\u260e", "\\u260e"]  # four stops and three calls
    assert page.count("#c62828") == 3  # K2, K1 and K5's call overdue
