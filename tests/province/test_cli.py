"""``gridservice province …`` against ``gridservice kpi`` run on each county's file."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from gridservice.cli import app

PERIOD = "2026-10"


def _csv(args: list[str], *, code: int = 0) -> pd.DataFrame:
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return pd.read_csv(io.StringIO(result.stdout), dtype=str, keep_default_na=False)


def test_province_kpi_equals_the_county_verb(province_dir: Path, tmp_path: Path) -> None:
    """Each county's rows of ``province kpi --by station`` are, as text, ``gridservice kpi --by station`` on its
    file; each carries its county's rank; a corrupt county is one more row with its error, and exit 1."""
    (tmp_path / "areas").mkdir()
    for f in province_dir.glob("*.gpkg"):
        (tmp_path / "areas" / f.name).symlink_to(f)
    (tmp_path / "areas" / "broken.gpkg").write_text("not a database")
    province = _csv(["province", "kpi", "--areas", str(tmp_path / "areas"), "--period", PERIOD, "--by", "station",
                     "--workers", "2", "--format", "csv"], code=1)
    assert list(province.columns[:2]) == ["county", "station_id"]
    assert list(province.columns[-3:]) == ["county_rank", "county_score", "error"]
    broken = province[province["county"] == "broken"]
    assert len(broken) == 1 and "not a GeoPackage" in broken["error"].iloc[0]
    for f in sorted(province_dir.glob("*.gpkg")):
        county = _csv(["kpi", "--data", str(f), "--period", PERIOD, "--by", "station", "--format", "csv"])
        rows = province[province["county"] == f.stem]
        assert rows["county_rank"].nunique() == 1
        pd.testing.assert_frame_equal(rows[county.columns].reset_index(drop=True), county)


def test_province_parquet_needs_out(province_dir: Path) -> None:
    result = CliRunner().invoke(app, ["province", "kpi", "--areas", str(province_dir), "--format", "parquet"])
    assert result.exit_code == 1
    assert "--out" in result.output


def test_province_on_an_existing_scheduler_to_parquet(province_dir: Path, tmp_path: Path) -> None:
    """``--scheduler`` runs on a cluster that is already there (left running); ``--format parquet`` writes the
    csv's rows."""
    from gridservice.province import cluster

    out = tmp_path / "rel.parquet"
    with cluster(workers=2) as client:
        address = client.scheduler.address
        args = ["province", "reliability", "--areas", str(province_dir), "--period", PERIOD, "--by", "grid",
                "--scheduler", address]
        result = CliRunner().invoke(app, [*args, "--format", "parquet", "--out", str(out)])
        assert result.exit_code == 0, result.output
        csv = _csv([*args, "--format", "csv"])
        assert len(client.scheduler_info()["workers"]) == 2  # the cluster outlives the commands
    table = pd.read_parquet(out)
    assert list(table.columns[:2]) == ["county", "grid_id"]
    assert table.astype(str).replace({"nan": "", "<NA>": ""}).shape == csv.shape
    pd.testing.assert_series_equal(table["grid_id"], csv["grid_id"].astype(table["grid_id"].dtype))
    assert table["customers_served"].sum() == csv["customers_served"].astype(int).sum()
