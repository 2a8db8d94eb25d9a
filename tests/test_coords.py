"""Tests for gridservice.coords, checked against the independent prcoords package."""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import prcoords
import pytest
import shapely
from shapely.geometry import LineString, Polygon

from gridservice.coords import convert, from_wgs84, to_wgs84, transform_geometries
from gridservice.errors import CoordinateSystemError

EARTH_RADIUS_M = 6_371_008.8
N_POINTS = 3000


def haversine_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance in metres between arrays of lon/lat degrees."""
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(a, dtype=float)) for a in (lon1, lat1, lon2, lat2)
    )
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h))


def reference(func: Callable, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply a scalar prcoords function (which takes and returns (lat, lon)) to arrays."""
    out = np.array([func((la, lo)) for lo, la in zip(lon, lat, strict=True)])
    return out[:, 1], out[:, 0]


@pytest.fixture(scope="module")
def china() -> tuple[np.ndarray, np.ndarray]:
    """Random points spread over mainland China, Hainan and the north-east."""
    rng = np.random.default_rng(20240601)
    return rng.uniform(73.5, 135.0, N_POINTS), rng.uniform(18.0, 53.5, N_POINTS)


@pytest.mark.parametrize(
    ("src", "dst", "func"),
    [
        ("wgs84", "gcj02", prcoords.wgs_gcj),
        ("wgs84", "bd09", prcoords.wgs_bd),
        ("gcj02", "bd09", prcoords.gcj_bd),
        # prcoords' iterative ("bored") inverses stop near 1e-5 degrees, a few mm
        ("gcj02", "wgs84", prcoords.gcj_wgs_bored),
        ("bd09", "gcj02", prcoords.bd_gcj_bored),
        ("bd09", "wgs84", prcoords.bd_wgs_bored),
    ],
)
def test_matches_prcoords(china, src: str, dst: str, func: Callable) -> None:
    lon, lat = china
    got_lon, got_lat = convert(lon, lat, src=src, dst=dst)
    ref_lon, ref_lat = reference(func, lon, lat)
    assert haversine_m(got_lon, got_lat, ref_lon, ref_lat).max() < 0.05


@pytest.mark.parametrize("via", ["gcj02", "bd09"])
def test_round_trip_is_centimetre_exact(china, via: str) -> None:
    lon, lat = china
    back_lon, back_lat = to_wgs84(*from_wgs84(lon, lat, dst=via), src=via)
    assert haversine_m(lon, lat, back_lon, back_lat).max() < 0.01


def test_round_trip_from_gcj02_to_bd09_and_back(china) -> None:
    lon, lat = china
    back = convert(*convert(lon, lat, src="gcj02", dst="bd09"), src="bd09", dst="gcj02")
    assert haversine_m(lon, lat, *back).max() < 0.01


def test_points_outside_china_are_not_offset() -> None:
    lon = np.array(
        [2.35, -74.0, 151.2, 139.69, 100.5]
    )  # Paris, New York, Sydney, Tokyo, south of the box
    lat = np.array([48.86, 40.7, -33.87, 35.69, -5.0])
    for src, dst in [("wgs84", "gcj02"), ("gcj02", "wgs84")]:
        got_lon, got_lat = convert(lon, lat, src=src, dst=dst)
        np.testing.assert_array_equal(got_lon, lon)
        np.testing.assert_array_equal(got_lat, lat)
    # The BD-09 step itself applies everywhere, as in prcoords.
    bd_lon, bd_lat = from_wgs84(lon, lat, dst="bd09")
    ref_lon, ref_lat = reference(prcoords.gcj_bd, lon, lat)
    assert haversine_m(bd_lon, bd_lat, ref_lon, ref_lat).max() < 0.05


def test_scalar_input_gives_0d_arrays_matching_array_input() -> None:
    for src, dst in [("wgs84", "bd09"), ("bd09", "wgs84"), ("gcj02", "wgs84")]:
        lon, lat = convert(121.4737, 31.2304, src=src, dst=dst)
        assert lon.shape == lat.shape == ()
        arr_lon, arr_lat = convert([121.4737], [31.2304], src=src, dst=dst)
        assert (float(lon), float(lat)) == (arr_lon[0], arr_lat[0])


def test_nan_stays_nan_and_does_not_block_others() -> None:
    lon, lat = to_wgs84([np.nan, 116.4], [np.nan, 39.9], src="bd09")
    assert np.isnan(lon[0]) and np.isnan(lat[0])
    assert np.isfinite(lon[1]) and np.isfinite(lat[1])


def test_cgcs2000_is_wgs84_and_names_are_lenient(china) -> None:
    lon, lat = china
    a = convert(lon, lat, src="cgcs2000", dst="GCJ-02")
    b = convert(lon, lat, src="wgs84", dst="gcj02")
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(to_wgs84(lon, lat, src="CGCS2000"), (lon, lat))


@pytest.mark.parametrize(("src", "dst"), [("wgs84", "utm50n"), ("mars", "wgs84"), ("", "bd09")])
def test_unknown_system_raises(src: str, dst: str) -> None:
    with pytest.raises(CoordinateSystemError, match="Unknown coordinate system"):
        convert(116.0, 40.0, src=src, dst=dst)
    with pytest.raises(ValueError):
        transform_geometries(np.array([], dtype=object), src=src, dst=dst)


def _vertices_converted(geom: shapely.Geometry, src: str, dst: str) -> np.ndarray:
    xy = shapely.get_coordinates(geom)
    return np.column_stack(convert(xy[:, 0], xy[:, 1], src=src, dst=dst))


def test_transform_geometries_on_geoseries() -> None:
    polygon = Polygon([(116.30, 39.90), (116.40, 39.90), (116.40, 39.95), (116.30, 39.90)])
    line = LineString([(121.47, 31.23), (121.50, 31.24), (121.52, 31.20)])
    series = gpd.GeoSeries(
        [polygon, line, None], index=["g1", "f1", "x"], crs="EPSG:4326", name="geometry"
    )

    out = transform_geometries(series, src="wgs84", dst="gcj02")

    assert isinstance(out, gpd.GeoSeries)
    assert list(out.index) == ["g1", "f1", "x"] and out.crs == series.crs and out.name == "geometry"
    assert list(out.geom_type[:2]) == ["Polygon", "LineString"] and out.iloc[2] is None
    for before, after in zip(series[:2], out[:2], strict=True):
        np.testing.assert_allclose(
            shapely.get_coordinates(after), _vertices_converted(before, "wgs84", "gcj02")
        )
    # Each vertex moved by the GCJ-02 offset (hundreds of metres), and back again exactly.
    back = transform_geometries(out, src="gcj02", dst="wgs84")
    xy, xy_back = shapely.get_coordinates(series.values), shapely.get_coordinates(back.values)
    assert haversine_m(xy[:, 0], xy[:, 1], xy_back[:, 0], xy_back[:, 1]).max() < 0.01


def test_transform_geometries_on_arrays_single_geometries_and_z() -> None:
    line3d = LineString([(113.26, 23.13, 5.0), (113.30, 23.15, 7.5)])
    polygon = Polygon([(114.0, 22.5), (114.1, 22.5), (114.1, 22.6), (114.0, 22.5)])
    arr = np.array([line3d, polygon])

    out = transform_geometries(arr, src="wgs84", dst="bd09")

    assert isinstance(out, np.ndarray) and out.shape == (2,)
    np.testing.assert_array_equal(shapely.get_coordinates(out[0], include_z=True)[:, 2], [5.0, 7.5])
    assert not shapely.has_z(out[1])
    single = transform_geometries(polygon, src="wgs84", dst="bd09")
    assert isinstance(single, Polygon) and shapely.equals_exact(single, out[1], tolerance=0)
    np.testing.assert_allclose(
        shapely.get_coordinates(single), _vertices_converted(polygon, "wgs84", "bd09")
    )
