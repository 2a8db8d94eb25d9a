"""Choropleth classes and the packed customer array."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from mapdata import random_points

from gridservice.errors import DataError
from gridservice.maps import classify, customer_bins, pack_points, unpack_points
from gridservice.maps.customers import category_codes


def test_quantiles_of_one_to_ten():
    # 20th, 40th, ... percentiles of 1..10 by linear interpolation: 2.8, 4.6, 6.4, 8.2, 10.
    c = classify(np.arange(1, 11, dtype=float), scheme="quantiles", k=5, direction=-1)
    assert c.bounds.tolist() == pytest.approx([2.8, 4.6, 6.4, 8.2, 10.0])
    assert c.index.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    # Counts read as whole-number ranges.
    assert c.labels() == ["1 – 2", "3 – 4", "5 – 6", "7 – 8", "9 – 10"]
    assert c.colors == ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
    halves = classify(np.arange(1, 11) + 0.5, scheme="quantiles", k=5)
    assert halves.labels() == ["1.5 – 3.3", "3.3 – 5.1", "5.1 – 6.9", "6.9 – 8.7", "8.7 – 10.5"]


def test_natural_breaks_separate_clear_clusters_the_same_way_every_time():
    x = np.array([1, 2, 3, 20, 21, 22, 50, 51, 52, np.nan])
    first = classify(x, scheme="natural_breaks", k=3, direction=1)
    assert first.index.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, -1]
    assert first.bounds.tolist() == [3, 22, 52]
    again = classify(x, scheme="natural_breaks", k=3, direction=1)
    assert np.array_equal(first.index, again.index)
    assert first.color_of(-1) == "#d9d9d9"


def test_few_distinct_values_get_a_class_each():
    c = classify(pd.Series([5, 5, 7]), k=5)
    assert c.discrete and c.labels() == ["5", "7"] and c.index.tolist() == [0, 0, 1]
    assert classify([np.nan, np.nan]).colors == []


def test_bad_classification_options_are_refused():
    with pytest.raises(DataError, match="between 1 and 5"):
        classify([1, 2, 3], k=7)
    with pytest.raises(DataError, match="unknown classification scheme"):
        classify(np.arange(10), scheme="jenks-ish", k=3)


def test_packed_points_round_trip_within_a_quantisation_step():
    lon, lat = random_points(5000, seed=3)
    codes = np.arange(5000) % 5
    packed = pack_points(lon, lat, codes)
    assert packed["n"] == 5000
    got_lon, got_lat, got_codes = unpack_points(packed)
    step_x = (lon.max() - lon.min()) / 65535
    step_y = (lat.max() - lat.min()) / 65535
    # Every point comes back within half a quantisation step, and every decoded point is one of ours.
    from scipy.spatial import cKDTree

    a = np.column_stack([lon / step_x, lat / step_y])
    b = np.column_stack([got_lon / step_x, got_lat / step_y])
    d_ab, nearest = cKDTree(b).query(a)
    d_ba, _ = cKDTree(a).query(b)
    assert d_ab.max() <= 0.5 * np.sqrt(2) + 1e-6 and d_ba.max() <= 0.5 * np.sqrt(2) + 1e-6
    assert len(np.unique(nearest)) == 5000
    assert got_codes[nearest].tolist() == codes.tolist()
    assert np.bincount(got_codes).tolist() == np.bincount(codes).tolist()
    # Two bytes per axis and one per code before deflate: well under 5 bytes a point.
    assert len(packed["data"]) < 5000 * 5 * 4 / 3


def test_packing_drops_non_finite_points_and_handles_none():
    packed = pack_points(np.array([116.5, np.nan, 116.6]), np.array([27.2, 27.3, np.inf]))
    assert packed["n"] == 1
    lon, lat, _ = unpack_points(packed)
    assert lon.tolist() == pytest.approx([116.5]) and lat.tolist() == pytest.approx([27.2])
    assert pack_points(np.array([]), np.array([]))["n"] == 0


def test_category_codes():
    codes = category_codes(pd.Series(["residential", "agricultural", None, "other"]))
    assert codes.tolist() == [0, 3, 4, 4]


def test_customer_bins_count_every_customer_once_like_a_spatial_join():
    lon, lat = random_points(2000, seed=1)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
    bins = customer_bins(pts, cell_m=1000, metric_crs="EPSG:32650")
    assert bins.attrs["cell_m"] == 1000
    assert bins["count"].sum() == 2000
    # Independent: join the points to the returned cells (in the metric CRS, where cells are exact squares).
    cells = bins.to_crs("EPSG:32650")
    joined = gpd.sjoin(pts.to_crs("EPSG:32650"), cells, predicate="intersects")
    per_point = joined.index.value_counts()
    assert (per_point >= 1).all() and len(per_point) == 2000
    first = joined[~joined.index.duplicated()]
    counts = first["index_right"].value_counts().reindex(cells.index, fill_value=0)
    assert (counts - cells["count"]).abs().max() <= 2  # points exactly on an edge touch two cells
    assert np.allclose(cells.area, 1_000_000, rtol=1e-6)


def test_customer_bins_grow_until_the_cells_are_few_enough():
    lon, lat = random_points(3000, seed=2)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
    bins = customer_bins(pts, max_cells=60)
    # The area is ~10 km × 11 km: 1 km cells give more than 110 cells, 2 km at most 6 × 7 = 42.
    assert bins.attrs["cell_m"] == 2000 and 30 <= len(bins) <= 42
