"""The same service area in a GeoPackage and in PostGIS: ``copy`` is lossless and every read verb agrees."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import pg
from gridservice.cli import app
from gridservice.io import open_store

runner = CliRunner()

#: Layers exported after the round trip: every kind of column, geometry, history, the audit log and an extra column.
EXPORTS = (("customers", ".csv"), ("customers", ".geojson"), ("grids", ".geojson"), ("feeders", ".geojson"),
           ("work_orders", ".csv"), ("outages", ".csv"), ("energy_readings", ".csv"), ("plan_versions", ".csv"),
           ("grid_history", ".geojson"), ("audit_log", ".csv"), ("staff", ".csv"))


def run(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r.stdout


def test_copy_gpkg_to_postgis_and_back_exports_byte_for_byte(demo_gpkg: Path, pg_cluster: pg.Cluster,
                                                              tmp_path: Path) -> None:
    url = pg_cluster.url(area="copied")
    back = tmp_path / "back.gpkg"
    run("copy", str(demo_gpkg), url)
    assert pg.PASSWORD not in run("copy", url, str(back))
    src, mid, dst = open_store(str(demo_gpkg)), open_store(url), open_store(str(back))
    assert set(mid.layers()) == set(dst.layers()) == set(src.layers())  # undeclared layers too
    for name in src.layers():
        rows = [len(s.read_layer(name)) for s in (src, mid, dst)]
        assert rows[0] == rows[1] == rows[2], name
    for name, suffix in EXPORTS:
            a, b = tmp_path / f"a-{name}{suffix}", tmp_path / f"b-{name}{suffix}"
            run("export", name, "--data", str(demo_gpkg), "--out", str(a))
            run("export", name, "--data", str(back), "--out", str(b))
            assert a.read_bytes() == b.read_bytes(), f"{name}{suffix}"


def test_copy_refuses_to_overwrite_and_a_missing_source(demo_pg: str, tmp_path: Path) -> None:
    r = runner.invoke(app, ["copy", str(tmp_path / "none.gpkg"), str(tmp_path / "x.gpkg")])
    assert r.exit_code == 1 and "no such service area" in r.output
    r = runner.invoke(app, ["copy", str(tmp_path / "x.gpkg"), demo_pg])
    assert r.exit_code == 1


READ_VERBS = (
    ("validate", "--format", "json"),
    ("kpi", "--format", "json"),
    ("kpi", "--by", "station", "--format", "csv"),
    ("lineloss", "--format", "json"),
    ("audit", "--format", "json"),
    ("plan", "history", "--format", "json"),
    ("user", "list", "--format", "json"),
    ("orders", "list", "--format", "json"),
)


@pytest.mark.parametrize("verb", READ_VERBS, ids=[" ".join(v[:2]) for v in READ_VERBS])
def test_read_verbs_print_the_same_on_both_stores(verb: tuple[str, ...], demo_gpkg: Path, demo_pg: str) -> None:
    a = runner.invoke(app, [*verb, "--data", str(demo_gpkg)])
    b = runner.invoke(app, [*verb, "--data", demo_pg])
    assert (a.exit_code, a.stdout) == (b.exit_code, b.stdout)


def test_locate_trace_and_outage_impact_print_the_same_on_both_stores(demo_gpkg: Path, demo_pg: str,
                                                                      demo_frames: dict) -> None:
    customers = demo_frames["customers"]
    cid = str(customers.index[7] if customers.index.name == "customer_id" else customers["customer_id"].iloc[7])
    feeders = demo_frames["feeders"]
    fid = str(feeders.index[0] if feeders.index.name == "feeder_id" else feeders["feeder_id"].iloc[0])
    for verb in (("locate", cid, "--format", "json"), ("locate", "--lonlat", "116.55,27.2", "--format", "json"),
                 ("trace", cid, "--up", "--format", "json"), ("trace", fid, "--format", "json"),
                 ("outage", "impact", fid, "--format", "json")):
        a = runner.invoke(app, [*verb, "--data", str(demo_gpkg)])
        b = runner.invoke(app, [*verb, "--data", demo_pg])
        assert (a.exit_code, a.stdout) == (b.exit_code, b.stdout), verb
