"""``gridservice locate`` and ``gridservice plan …`` through Typer's CliRunner: exit codes and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Polygon, box
from typer.testing import CliRunner

from gridservice.cli import app
from gridservice.errors import ConflictError, NotFoundError
from gridservice.io import GeoPackageStore

EAST = {"G1": box(116.40, 27.10, 116.416, 27.12), "G2": box(116.416, 27.10, 116.43, 27.11),
        "G3": box(116.416, 27.11, 116.43, 27.12)}


def run(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def test_locate_a_customer_as_json(three_gpkg: Path) -> None:
    res = run("locate", "C5", "--data", str(three_gpkg), "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["grid"]["grid_id"] == "G3" and out["grid"]["code"] == "NF-03"
    assert out["station"]["name"] == "白舍所"
    assert out["customer"]["customer_id"] == "C5"
    assert out["location"] == {"lon": 116.415, "lat": 27.115}
    assert [s["role"] for s in out["staff"]] == ["grid_manager", "grid_member", "grid_member"]


def test_locate_a_point_on_a_shared_edge_and_as_a_table(three_gpkg: Path) -> None:
    res = run("locate", "--lonlat", "116.41,27.105", "--data", str(three_gpkg), "--format", "json")
    assert res.exit_code == 0
    assert json.loads(res.stdout)["grid"]["grid_id"] == "G1"  # the lowest grid_id of G1 | G2
    res = run("locate", "--lonlat", "116.42,27.105", "--data", str(three_gpkg))
    assert res.exit_code == 0
    assert "二网格" in res.stdout and "李强" in res.stdout and "13800000002" in res.stdout


def test_locate_outside_every_grid_exits_non_zero(three_gpkg: Path) -> None:
    res = run("locate", "--lonlat", "116.5,27.5", "--data", str(three_gpkg))
    assert res.exit_code == 1
    assert isinstance(res.exception, NotFoundError) and "outside every grid" in str(res.exception)
    res = run("locate", "--data", str(three_gpkg))
    assert res.exit_code == 1 and "CUSTOMER_ID or --lonlat" in res.output


@pytest.fixture
def plan_files(write_plan) -> dict[str, Path]:
    bowtie = Polygon([(116.40, 27.10), (116.41, 27.12), (116.41, 27.10), (116.40, 27.12)])
    return {"east": write_plan("east.geojson", EAST), "bowtie": write_plan("bowtie.geojson", {"G1": bowtie})}


def test_plan_check_exit_codes_and_json(three_gpkg: Path, plan_files: dict[str, Path], tmp_path: Path) -> None:
    res = run("plan", "check", str(plan_files["east"]), "--data", str(three_gpkg), "--format", "json")
    assert res.exit_code == 0, res.output
    assert sorted(f["feature_id"] for f in json.loads(res.stdout)) == ["T2", "T3"]
    out = tmp_path / "problems.geojson"
    res = run("plan", "check", str(plan_files["bowtie"]), "--data", str(three_gpkg), "--format", "json",
              "--out", str(out))
    assert res.exit_code == 1
    assert "invalid_polygon" in {f["check"] for f in json.loads(res.stdout)}
    features = json.loads(out.read_text())["features"]
    assert all(f["geometry"] is not None for f in features)
    as_gpkg = tmp_path / "problems.gpkg"
    assert run("plan", "check", str(plan_files["bowtie"]), "--data", str(three_gpkg), "--out", str(as_gpkg)
               ).exit_code == 1
    assert [name for name, _ in pyogrio.list_layers(as_gpkg)] == ["plan_findings"]
    assert len(pyogrio.read_dataframe(as_gpkg)) == len(features)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_plan_preview_json(three_gpkg: Path, plan_files: dict[str, Path]) -> None:
    res = run("plan", "preview", str(plan_files["east"]), "--data", str(three_gpkg), "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["move_counts"] == {"customers": 2, "transformers": 0, "work_orders": 2}
    assert {(m["feature_id"], m["from_grid_id"], m["to_grid_id"]) for m in out["moves"]} == {
        ("C3", "G2", "G1"), ("C5", "G3", "G1"), ("W1", "G2", "G1"), ("W4", "G3", "G1")}
    assert [(g["grid_id"], g["customers_after"]) for g in out["grids"]] == [("G1", 5), ("G2", 1), ("G3", 1)]


def test_plan_commit_history_revert(three_store: GeoPackageStore, plan_files: dict[str, Path]) -> None:
    data = str(three_store.path)
    res = run("plan", "commit", str(plan_files["bowtie"]), "--data", data, "--author", "张工", "--note", "x")
    assert res.exit_code == 1 and "nothing was saved" in res.output
    res = run("plan", "commit", str(plan_files["east"]), "--data", data, "--author", "张工", "--note", "东移",
              "--base-version", "1", "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["plan_version"] == 2
    res = run("plan", "commit", str(plan_files["east"]), "--data", data, "--author", "李工", "--note", "again",
              "--base-version", "1")
    assert res.exit_code == 1 and isinstance(res.exception, ConflictError)
    res = run("plan", "history", "--data", data, "--format", "json")
    assert [(v["plan_version"], v["author"]) for v in json.loads(res.stdout)] == [(1, "gridservice"), (2, "张工")]
    res = run("plan", "revert", "1", "--data", data, "--author", "王工", "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["plan_version"] == 3
    res = run("locate", "C3", "--data", data, "--format", "json")
    assert json.loads(res.stdout)["grid"]["grid_id"] == "G2"


def test_export_shows_the_derived_grid_ids(three_gpkg: Path, tmp_path: Path) -> None:
    out = tmp_path / "customers.csv"
    res = run("export", "customers", "--data", str(three_gpkg), "--out", str(out))
    assert res.exit_code == 0, res.output
    exported = pd.read_csv(out, dtype="str", encoding="utf-8-sig").set_index("customer_id")["grid_id"].fillna("-")
    assert exported.to_dict() == {"C1": "G1", "C2": "G1", "C7": "G1", "C3": "G2", "C4": "G2", "C5": "G3", "C6": "G3",
                                  "C8": "-"}


def test_a_plan_file_exported_at_an_older_version_is_refused(three_store: GeoPackageStore,
                                                             plan_files: dict[str, Path], tmp_path: Path) -> None:
    data = str(three_store.path)
    at_v1 = tmp_path / "grids-v1.geojson"
    assert run("export", "grids", "--data", data, "--out", str(at_v1)).exit_code == 0  # carries plan_version 1
    res = run("plan", "commit", str(plan_files["east"]), "--data", data, "--author", "张工", "--note", "东移",
              "--base-version", "1")
    assert res.exit_code == 0, res.output
    res = run("plan", "commit", str(at_v1), "--data", data, "--author", "李工", "--note", "mine")
    assert res.exit_code == 1 and isinstance(res.exception, ConflictError) and "stale" in str(res.exception)


def test_export_never_overwrites_the_data_or_a_geopackage_unasked(three_store: GeoPackageStore,
                                                                  tmp_path: Path) -> None:
    data = three_store.path
    before = data.read_bytes()
    res = run("export", "customers", "--data", str(data), "--out", str(data))
    assert res.exit_code == 1 and "the service area itself" in res.output
    assert data.read_bytes() == before
    other = tmp_path / "other.gpkg"
    assert run("export", "grids", "--data", str(data), "--out", str(other)).exit_code == 0
    res = run("export", "customers", "--data", str(data), "--out", str(other))
    assert res.exit_code == 1 and "--force" in res.output
    assert run("export", "customers", "--data", str(data), "--out", str(other), "--force").exit_code == 0


def test_exported_users_carry_no_password_hashes(three_store: GeoPackageStore, tmp_path: Path) -> None:
    data = str(three_store.path)
    assert run("user", "add", "li", "--role", "planner", "--password", "li-password", "--data", data).exit_code == 0
    out = tmp_path / "users.csv"
    assert run("export", "users", "--data", data, "--out", str(out)).exit_code == 0, out
    text = out.read_text(encoding="utf-8-sig")
    assert "li" in text and "argon2" not in text and "password_hash" not in text
