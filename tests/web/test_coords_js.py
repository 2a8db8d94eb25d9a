"""The browser app's WGS-84 ↔ GCJ-02 shift (web/app/coords.js), run under Node and
checked against the independent prcoords package."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import prcoords
import pytest

COORDS_JS = Path(__file__).resolve().parents[2] / "web" / "app" / "coords.js"
#: Beijing, Nanfeng, Shanghai, Guangzhou, and Paris (outside China: left as it is).
POINTS = [(116.397, 39.909), (116.4530, 27.2180), (121.4737, 31.2304), (113.2644, 23.1291), (2.3522, 48.8566)]


def _run(function: str, points: list[tuple[float, float]]) -> list[list[float]]:
    """``function(lon, lat)`` of coords.js for each point, computed by Node."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    script = (f"import {{ {function} }} from {json.dumps(COORDS_JS.as_uri())};\n"
              f"console.log(JSON.stringify({json.dumps(points)}.map(([x, y]) => {function}(x, y))));")
    out = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _gcj(lon: float, lat: float) -> tuple[float, float]:
    """prcoords' GCJ-02 of a WGS-84 point; outside China the point stays as it is."""
    point = prcoords.Coords(lat, lon)
    if not prcoords.sanity_in_china_p(point):
        return lon, lat
    c = prcoords.wgs_gcj(point, check_china=False)
    return c.lon, c.lat


def test_wgs_to_gcj_matches_prcoords() -> None:
    for (lon, lat), got in zip(POINTS, _run("wgsToGcj", POINTS), strict=True):
        assert tuple(got) == pytest.approx(_gcj(lon, lat), abs=1e-9)


def test_gcj_to_wgs_undoes_the_shift() -> None:
    shifted = [_gcj(lon, lat) for lon, lat in POINTS]
    for original, got in zip(POINTS, _run("gcjToWgs", shifted), strict=True):
        assert tuple(got) == pytest.approx(original, abs=1e-8)
