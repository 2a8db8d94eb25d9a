"""The grid locator against geopandas ``sjoin``: random, boundary, overlap and outside points."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

from gridservice.errors import DataError, NotFoundError
from gridservice.model import ServiceArea
from gridservice.spatial.locate import (
    GridLocator,
    assign_grids,
    check_unlocated,
    derive_grids,
    locate_customer,
    locate_point,
    locator,
)


def sjoin_rule(points: gpd.GeoSeries, grids: gpd.GeoDataFrame) -> pd.Series:
    """The documented rule, worked out with geopandas alone.

    ``sjoin(predicate="within")``; several matches (an overlap) → the lowest
    grid_id; no match → the lowest grid_id among ``covered_by`` matches (a
    point on a boundary); none → NaN.
    """
    pts = gpd.GeoDataFrame(geometry=points.reset_index(drop=True), crs=4326)
    g = grids.reset_index()[["grid_id", "geometry"]]
    within = gpd.sjoin(pts, g, predicate="within", how="left").groupby(level=0)["grid_id"].min()
    edge = gpd.sjoin(pts, g, predicate="covered_by", how="left").groupby(level=0)["grid_id"].min()
    return within.where(within.notna(), edge).reindex(pts.index)


def match_counts(points: gpd.GeoSeries, grids: gpd.GeoDataFrame, predicate: str) -> np.ndarray:
    pts = gpd.GeoDataFrame(geometry=points.reset_index(drop=True), crs=4326)
    hits = gpd.sjoin(pts, grids.reset_index()[["grid_id", "geometry"]], predicate=predicate, how="inner")
    return hits.groupby(level=0).size().reindex(pts.index, fill_value=0).to_numpy()


def ours(loc: GridLocator, points: gpd.GeoSeries) -> pd.Series:
    return pd.Series(loc.grid_ids_of(points), dtype="str")


def boundary_points(grids: gpd.GeoDataFrame, rng: np.random.Generator, n_mid: int = 2000) -> gpd.GeoSeries:
    """Every vertex of every grid (exactly on boundaries) plus points interpolated along the edges."""
    lines = shapely.boundary(grids.geometry.to_numpy())
    vertices = shapely.points(shapely.get_coordinates(lines))
    which = rng.integers(0, len(lines), n_mid)
    along = shapely.line_interpolate_point(lines[which], rng.random(n_mid), normalized=True)
    return gpd.GeoSeries(np.concatenate([vertices, along]), crs=4326)


def random_points(bounds: np.ndarray, n: int, rng: np.random.Generator, *, margin: float = 0.05) -> gpd.GeoSeries:
    xmin, ymin, xmax, ymax = bounds
    dx, dy = (xmax - xmin) * margin, (ymax - ymin) * margin
    x = rng.uniform(xmin - dx, xmax + dx, n)
    y = rng.uniform(ymin - dy, ymax + dy, n)
    return gpd.GeoSeries(gpd.points_from_xy(x, y), crs=4326)


# -- the hand-built three-grid area ------------------------------------------------------


@pytest.mark.parametrize(("lon", "lat", "expected"), [
    (116.405, 27.105, "G1"),   # inside G1
    (116.41, 27.105, "G1"),    # edge G1|G2: lowest grid_id
    (116.42, 27.11, "G2"),     # edge G2|G3
    (116.41, 27.11, "G1"),     # corner of all three
    (116.40, 27.105, "G1"),    # territory edge, only G1 covers it
    (116.43, 27.12, "G3"),     # outer corner of G3
    (116.44, 27.11, None),     # east of everything
    (116.41, 27.13, None),     # north of everything, on the line x = 116.41
])
def test_hand_worked_points(three_area: ServiceArea, lon: float, lat: float, expected: str | None) -> None:
    assert locator(three_area).lookup(lon, lat) == expected
    got = locator(three_area).grid_ids_of([Point(lon, lat)])[0]
    assert (got if isinstance(got, str) else None) == expected


@pytest.mark.parametrize("max_cells", [1 << 22, 64])
def test_three_grids_match_sjoin(three_area: ServiceArea, max_cells: int) -> None:
    # 64 cells: most points take the exact path, the raster path is tested by the default.
    rng = np.random.default_rng(1)
    grids = three_area.grids
    pts = pd.concat([
        random_points(grids.total_bounds, 5000, rng, margin=0.2),
        boundary_points(grids, rng),
        # points exactly on the shared edges: x = 116.41 and y = 27.11 are the same doubles as the boxes'
        gpd.GeoSeries(gpd.points_from_xy(np.full(200, 116.41), rng.uniform(27.09, 27.13, 200)), crs=4326),
        gpd.GeoSeries(gpd.points_from_xy(rng.uniform(116.39, 116.44, 200), np.full(200, 27.11)), crs=4326),
    ], ignore_index=True)
    expected = sjoin_rule(pts, grids)
    got = ours(GridLocator(grids, max_cells=max_cells), pts)
    pd.testing.assert_series_equal(got, expected.astype("str"), check_names=False, check_index=False)
    within = match_counts(pts, grids, "within")
    covered = match_counts(pts, grids, "covered_by")
    assert ((within == 0) & (covered > 0)).sum() > 400  # boundary points were really tested
    assert expected.isna().sum() > 500  # and outside points


def test_single_lookup_equals_vectorised(three_area: ServiceArea) -> None:
    rng = np.random.default_rng(2)
    pts = pd.concat([random_points(three_area.grids.total_bounds, 300, rng),
                     boundary_points(three_area.grids, rng, 300)])
    loc = locator(three_area)
    single = [loc.lookup(p.x, p.y) for p in pts]
    expected = sjoin_rule(pts, three_area.grids)
    assert single == [None if pd.isna(v) else v for v in expected]


def test_nan_and_missing_points_have_no_grid(three_area: ServiceArea) -> None:
    loc = locator(three_area)
    assert loc.lookup(float("nan"), 27.11) is None
    got = loc.grid_ids_of([None, Point(), Point(116.405, 27.105), box(0, 0, 1, 1)])
    assert pd.isna(got[0]) and pd.isna(got[1]) and got[2] == "G1" and pd.isna(got[3])


def test_no_grids_locates_nothing() -> None:
    area = ServiceArea({"customers": gpd.GeoDataFrame(
        {"customer_id": ["C1"], "name": ["x"], "category": ["residential"], "voltage": ["low"]},
        geometry=[Point(116.4, 27.1)], crs=4326)})
    assert locator(area).lookup(116.4, 27.1) is None
    assert assign_grids(area)["customers"].isna().all()


def test_locator_is_cached_per_grids_frame(three_area: ServiceArea) -> None:
    first = locator(three_area)
    assert locator(three_area) is first
    moved = three_area.replace(grids=three_area.grids.assign(geometry=three_area.grids.geometry.translate(1.0)))
    assert locator(moved) is not first
    assert locator(moved).lookup(117.405, 27.105) == "G1"


def test_derive_fills_grid_ids_and_work_orders_follow_customers(three_area: ServiceArea) -> None:
    derive_grids(three_area)
    assert three_area.customers["grid_id"].fillna("-").to_dict() == {
        "C1": "G1", "C2": "G1", "C7": "G1", "C3": "G2", "C4": "G2", "C5": "G3", "C6": "G3", "C8": "-"}
    assert three_area.transformers["grid_id"].iloc[:3].tolist() == ["G1", "G2", "G3"]
    assert three_area.access_points["grid_id"].tolist() == ["G3"]
    # W1 → customer C3 (G2); W2 has only a point (in G3); W3, W4 → customer C5 (G3)
    assert three_area.work_orders["grid_id"].tolist() == ["G2", "G3", "G3", "G3"]
    assert three_area.customers["grid_id"].dtype == "str"


def test_work_order_of_an_unlocated_customer_falls_back_to_its_point(three_area: ServiceArea) -> None:
    orders = three_area.work_orders.copy()
    orders.loc["W2", "customer_id"] = "C8"  # C8 is outside every grid; W2's own point is in G3
    area = three_area.replace(work_orders=orders)
    assert assign_grids(area)["work_orders"]["W2"] == "G3"


def test_points_outside_every_grid_are_reported(three_area: ServiceArea) -> None:
    found = check_unlocated(three_area)
    assert sorted(zip(found["layer"], found["feature_id"], strict=True)) == [
        ("customers", "C8"), ("transformers", "T4")]
    assert (found["severity"] == "warning").all()
    assert found.geometry.iloc[0].equals(Point(116.45, 27.11))


def test_locate_point_gives_grid_station_and_staff(three_area: ServiceArea) -> None:
    where = locate_point(three_area, 116.42, 27.115)
    assert where.grid == {"grid_id": "G3", "code": "NF-03", "name": "三网格", "area_class": "rural", "station_id": "S2"}
    assert where.station == {"station_id": "S2", "code": "S2", "name": "白舍所"}
    assert [(s["role"], s["name"], s["phone"]) for s in where.staff] == [
        ("grid_manager", "张伟", "13800000003"), ("grid_member", "杨磊", "13900000003"),
        ("grid_member", "赵敏", "13900000004")]
    assert where.customer is None


def test_locate_customer_and_errors(three_area: ServiceArea) -> None:
    where = locate_customer(three_area, "C3")
    assert where.grid["grid_id"] == "G2"
    assert (where.lon, where.lat) == (116.415, 27.105)
    assert where.customer["name"] == "客户C3"
    with pytest.raises(NotFoundError, match="outside every grid"):
        locate_customer(three_area, "C8")
    with pytest.raises(NotFoundError, match="no customer 'C99'"):
        locate_customer(three_area, "C99")
    with pytest.raises(NotFoundError, match="outside every grid"):
        locate_point(three_area, 116.5, 27.5)
    with pytest.raises(DataError, match="not a lon/lat"):
        locate_point(three_area, 27.1, 116.4)


# -- the demo --------------------------------------------------------------------------


def test_demo_matches_sjoin_on_random_boundary_overlap_and_outside_points(demo_area: ServiceArea) -> None:
    rng = np.random.default_rng(0)
    grids = demo_area.grids
    # The demo plants an overlap: sample points inside it so the lowest-id rule is exercised.
    geoms = grids.geometry.to_numpy()
    a, b = shapely.STRtree(geoms).query(geoms, predicate="overlaps")
    overlap = shapely.union_all(shapely.intersection(shapely.make_valid(geoms[a]), shapely.make_valid(geoms[b])))
    in_overlap = random_points(np.array(overlap.bounds), 50_000, rng, margin=0.0)
    in_overlap = in_overlap[in_overlap.within(overlap)]
    pts = pd.concat([random_points(grids.total_bounds, 20_000, rng), boundary_points(grids, rng), in_overlap],
                    ignore_index=True)
    expected = sjoin_rule(pts, grids)
    loc = GridLocator(grids)
    got = ours(loc, pts)
    pd.testing.assert_series_equal(got, expected.astype("str"), check_names=False, check_index=False)
    within = match_counts(pts, grids, "within")
    covered = match_counts(pts, grids, "covered_by")
    assert (within >= 2).sum() > 10  # overlap points
    assert ((within == 0) & (covered > 0)).sum() > 100  # boundary points
    assert expected.isna().sum() > 1000  # outside points
    # where sjoin has exactly one answer, it is ours (sjoin "within", unchanged)
    one = within == 1
    plain = gpd.sjoin(gpd.GeoDataFrame(geometry=pts[one].reset_index(drop=True), crs=4326),
                      grids.reset_index()[["grid_id", "geometry"]], predicate="within")
    assert (got[one].to_numpy()[plain.index] == plain["grid_id"].to_numpy()).all()
    # one point at a time gives the same answers
    sample = rng.choice(len(pts), 500, replace=False)
    single = [loc.lookup(p.x, p.y) for p in pts.iloc[sample]]
    assert single == [None if pd.isna(v) else v for v in expected.iloc[sample]]


def test_demo_derived_grid_ids_match_sjoin(demo_area: ServiceArea) -> None:
    expected = sjoin_rule(demo_area.customers.geometry, demo_area.grids)
    assert (demo_area.customers["grid_id"].fillna("-").to_numpy() == expected.fillna("-").to_numpy()).all()
    exp_tx = sjoin_rule(demo_area.transformers.geometry, demo_area.grids)
    assert (demo_area.transformers["grid_id"].fillna("-").to_numpy() == exp_tx.fillna("-").to_numpy()).all()
