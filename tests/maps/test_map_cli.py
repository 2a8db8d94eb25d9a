"""``gridservice map``: one offline HTML file, or one clear error line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridservice.cli import app
from gridservice.errors import DataError
from gridservice.io import GeoPackageStore


@pytest.fixture(scope="module")
def map_gpkg(map_area, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mapcli") / "area.gpkg"
    GeoPackageStore(path).write(map_area.layers, create=True)
    return path


@pytest.mark.parametrize("kind", ["coverage", "operations", "lineloss"])
def test_map_command_writes_one_offline_file(kind, map_gpkg, tmp_path):
    out = tmp_path / "sub" / f"{kind}.html"
    result = CliRunner().invoke(app, ["map", kind, "--data", str(map_gpkg), "--out", str(out), "--basemap", "none",
                                      "--period", "2026-03"])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<script src" not in html and "L.map(" in html
    assert "测试县" in html
    assert list(out.parent.iterdir()) == [out]  # no temporary file left behind


def test_map_command_in_english_with_a_metric(map_gpkg, tmp_path):
    out = tmp_path / "c.html"
    result = CliRunner().invoke(app, ["map", "coverage", "--data", str(map_gpkg), "--out", str(out),
                                      "--metric", "complaints_per_10k", "--lang", "en", "--basemap", "osm"])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "Complaints per 10k customers" in html and "tile.openstreetmap.org" in html


def test_the_basemap_comes_from_the_settings(map_gpkg, tmp_path, monkeypatch):
    from gridservice.config import get_settings

    out = tmp_path / "c.html"
    monkeypatch.setenv("GRIDSERVICE_BASEMAP", "osm")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["map", "coverage", "--data", str(map_gpkg), "--out", str(out)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "tile.openstreetmap.org" in out.read_text(encoding="utf-8")


def test_unknown_metric_keeps_the_old_file(map_gpkg, tmp_path):
    out = tmp_path / "c.html"
    out.write_text("old", encoding="utf-8")
    result = CliRunner().invoke(app, ["map", "coverage", "--data", str(map_gpkg), "--out", str(out),
                                      "--metric", "bogus"])
    assert isinstance(result.exception, DataError)
    assert out.read_text(encoding="utf-8") == "old"


def test_bad_period_is_refused_before_writing(map_gpkg, tmp_path):
    out = tmp_path / "x.html"
    result = CliRunner().invoke(app, ["map", "lineloss", "--data", str(map_gpkg), "--out", str(out),
                                      "--period", "2026-13"])
    assert isinstance(result.exception, DataError) and "2026-13" in str(result.exception)
    assert not out.exists()
