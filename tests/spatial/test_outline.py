"""Simplified editing outlines: few handles, the same vertices on both sides of a shared border.

The two grids are worked out by hand in UTM zone 50N (metres): A is the square
x 0–100, y 0–100 and B the square x 100–200 beside it. Their shared border
runs from (100, 0) to (100, 100) with a vertex every 10 m and, at y = 50, a
bump 3 m into B. Every other edge is straight with a vertex every 25 m.

The tolerance is Visvalingam-Whyatt's: a vertex goes when the triangle it
makes with its neighbours has an area under tolerance². The bump's peak makes
a triangle of ½ × 20 × 3 = 30 m² with (100, 40) and (100, 60); each of those
two makes one of 15 m² with its other neighbour; a vertex on a straight edge
makes none.

- tolerance 10 m (100 m²): the bump goes, and so does every vertex on a
  straight edge: each grid keeps its 4 corners.
- tolerance 1 m (1 m²): the bump stays, so each grid has 7 handles (4 corners,
  (100, 40), (103, 50), (100, 60)), the same three on both sides, bit for bit.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon

from gridservice.errors import DataError
from gridservice.spatial.outline import simplified_outlines

UTM = "EPSG:32650"
ORIGIN = np.array([400_000.0, 3_000_000.0])


def _line(a: tuple[float, float], b: tuple[float, float], step: float) -> list[tuple[float, float]]:
    """Points from a to b (b left out) every ``step`` metres."""
    n = round(np.hypot(b[0] - a[0], b[1] - a[1]) / step)
    return [(a[0] + (b[0] - a[0]) * i / n, a[1] + (b[1] - a[1]) * i / n) for i in range(n)]


def _border() -> list[tuple[float, float]]:
    """The shared border from (100, 0) up to (100, 100), bump at y = 50."""
    pts = [(100.0, float(y)) for y in range(0, 101, 10)]
    return [p if p[1] != 50 else (103.0, 50.0) for p in pts]


def _grids() -> gpd.GeoDataFrame:
    border = _border()
    a = _line((0, 0), (100, 0), 25) + border[:-1] + _line((100, 100), (0, 100), 25) + _line((0, 100), (0, 0), 25)
    b = _line((100, 0), (200, 0), 25) + _line((200, 0), (200, 100), 25) + _line((200, 100), (100, 100), 25)
    b += border[::-1][:-1]
    polys = [Polygon(np.array(ring) + ORIGIN) for ring in (a, b)]
    assert all(p.is_valid for p in polys) and polys[0].intersection(polys[1]).area == pytest.approx(0)
    frame = gpd.GeoDataFrame({"grid_id": ["A", "B"]}, geometry=polys, crs=UTM).set_index("grid_id")
    return frame.to_crs("EPSG:4326")


def _metres(geom: shapely.Geometry) -> np.ndarray:
    xy = gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(UTM).get_coordinates().to_numpy() - ORIGIN
    return xy.round(6)


def test_a_10_m_tolerance_keeps_the_corners() -> None:
    grids = _grids()
    out = simplified_outlines(grids, metric_crs=UTM, tolerance_m=10)
    assert out["handles"].to_dict() == {"A": 4, "B": 4}
    assert out["vertices"].to_dict() == {"A": 4 + 10 + 4 + 4, "B": 4 + 4 + 4 + 10}
    corners = {"A": {(0, 0), (100, 0), (100, 100), (0, 100)}, "B": {(100, 0), (200, 0), (200, 100), (100, 100)}}
    for gid, want in corners.items():
        assert {tuple(p) for p in _metres(out.geometry[gid])} == want


def test_a_1_m_tolerance_keeps_the_bump_on_both_sides_exactly() -> None:
    grids = _grids()
    out = simplified_outlines(grids, metric_crs=UTM, tolerance_m=1)
    assert out["handles"].to_dict() == {"A": 7, "B": 7}
    shared = [grids.geometry["A"].exterior.coords[4 + i] for i in (4, 5, 6)]  # (100, 40), (103, 50), (100, 60)
    assert [tuple(_metres(shapely.Point(p))[0]) for p in shared] == [(100, 40), (103, 50), (100, 60)]
    for gid in ("A", "B"):
        kept = shapely.get_coordinates(out.geometry[gid])
        for p in shared:
            assert (kept == np.array(p)).all(axis=1).any(), f"{gid} lost the shared vertex {p}"
        # every kept vertex is the full ring's vertex at the position vertex_index names, bit for bit
        ring = np.array(grids.geometry[gid].exterior.coords)
        (positions,) = out["vertex_index"][gid][0]
        assert (ring[positions] == kept).all()
        assert positions[0] == positions[-1]  # the ring may start elsewhere; it still closes


def test_tolerance_zero_drops_only_vertices_on_straight_lines_and_a_negative_one_is_refused() -> None:
    grids = _grids()
    out = simplified_outlines(grids, metric_crs=UTM, tolerance_m=0)
    assert (out["handles"] <= out["vertices"] - 1).all()
    moved = out.to_crs(UTM).geometry.symmetric_difference(grids.to_crs(UTM).geometry).area
    assert (moved < 0.01).all()  # m²: the straight lines were straight in metres, not quite in degrees
    with pytest.raises(DataError, match="tolerance_m"):
        simplified_outlines(grids, metric_crs=UTM, tolerance_m=-1)
