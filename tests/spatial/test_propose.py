"""Automatic grid proposals: known optima on hand-built units, locks, caps, stations, the demo.

Expected values are worked out by hand (equal households split K ways, the
four quadrants of a 4 × 4 block) or checked with independent tools: networkx
for contiguity, geopandas ``sjoin`` for which grid holds each customer,
brute force over permutations for the code matching.
"""

from __future__ import annotations

import io
import itertools
import json
import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box
from typer.testing import CliRunner

from gridservice.errors import DataError, NotFoundError
from gridservice.model import ServiceArea
from gridservice.spatial.propose import parse_weights, partition_units, propose_plan, score_plan, workload
from gridservice.spatial.units import transformer_areas, unit_adjacency

METRIC = "EPSG:32650"


# -- hand-built units -------------------------------------------------------------------------


def block(rows: int, cols: int, *, households: object = 100, size: float = 1000.0, x0: float = 0.0,
          prefix: str = "U") -> gpd.GeoDataFrame:
    """``rows × cols`` square units of ``size`` metres, ids U<row><col>, row 0 at the bottom."""
    ids, geoms, rc = [], [], []
    for r in range(rows):
        for c in range(cols):
            ids.append(f"{prefix}{r}{c}")
            geoms.append(box(x0 + c * size, r * size, x0 + (c + 1) * size, (r + 1) * size))
            rc.append((r, c))
    hh = np.broadcast_to(np.asarray(households), (rows * cols,)) if np.ndim(households) == 0 else \
        np.asarray(households).ravel()
    units = gpd.GeoDataFrame({"households": hh.astype(int), "row": [p[0] for p in rc], "col": [p[1] for p in rc]},
                             geometry=geoms, crs=METRIC, index=pd.Index(ids, name="unit_id"))
    return units


def rook_graph(units: gpd.GeoDataFrame) -> nx.Graph:
    """Neighbours by hand: same row and adjacent column, or same column and adjacent row."""
    g = nx.Graph()
    g.add_nodes_from(units.index)
    cells = {(r, c): i for i, r, c in zip(units.index, units["row"], units["col"], strict=True)}
    for (r, c), i in cells.items():
        for dr, dc in ((0, 1), (1, 0)):
            j = cells.get((r + dr, c + dc))
            if j is not None:
                g.add_edge(i, j)
    return g


def assert_contiguous(graph: nx.Graph, labels: pd.Series) -> None:
    for g, members in labels.groupby(labels).groups.items():
        assert nx.is_connected(graph.subgraph(list(members))), f"grid {g} is not contiguous: {list(members)}"


def test_unit_adjacency_of_a_block_is_the_rook_graph() -> None:
    units = block(3, 4)
    adj = unit_adjacency(units)
    # 3 rows × 3 horizontal contacts + 4 columns × 2 vertical contacts; corners do not count.
    assert len(adj) == 3 * 3 + 4 * 2
    assert np.allclose(adj["length_m"], 1000.0)
    got = {frozenset(p) for p in zip(adj["a"], adj["b"], strict=True)}
    assert got == {frozenset(e) for e in rook_graph(units).edges}


@pytest.mark.parametrize(("k", "per_grid"), [(2, 6), (3, 4), (4, 3), (6, 2)])
def test_twelve_equal_units_split_exactly(k: int, per_grid: int) -> None:
    units = block(3, 4)
    part = partition_units(units, unit_adjacency(units), k, weights={"households": 1}, seed=0)
    sizes = part.labels.value_counts()
    assert len(sizes) == k
    assert (sizes == per_grid).all()
    households = units["households"].groupby(part.labels).sum()
    assert (households == 1200 // k).all()
    assert_contiguous(rook_graph(units), part.labels)
    assert part.messages == []


def test_four_by_four_into_four_gives_the_quadrants() -> None:
    # Four 2 × 2 squares is the only split into equal parts with perimeter 8 each (the most compact).
    units = block(4, 4)
    part = partition_units(units, unit_adjacency(units), 4, weights={"households": 1}, seed=3)
    quadrant = (units["row"] // 2) * 2 + units["col"] // 2
    assert pd.crosstab(part.labels, quadrant).gt(0).sum(axis=1).eq(1).all()
    assert part.labels.nunique() == 4


def test_unequal_units_with_an_exact_split() -> None:
    # 2 × 3 block, households (bottom row) 4 1 1 / (top row) 2 2 2: the rows are the split into 6 + 6.
    units = block(2, 3, households=[[4, 1, 1], [2, 2, 2]])
    part = partition_units(units, unit_adjacency(units), 2, weights={"households": 1}, seed=0)
    assert sorted(units["households"].groupby(part.labels).sum()) == [6, 6]
    assert_contiguous(rook_graph(units), part.labels)


def test_same_seed_same_partition() -> None:
    rng = np.random.default_rng(7)
    units = block(6, 6, households=rng.integers(20, 200, 36).reshape(6, 6))
    adj = unit_adjacency(units)
    a = partition_units(units, adj, 5, seed=11, weights="households=1,area=0.2")
    b = partition_units(units, adj, 5, seed=11, weights="households=1,area=0.2")
    pd.testing.assert_series_equal(a.labels, b.labels)
    assert_contiguous(rook_graph(units), a.labels)


def test_random_voronoi_units_stay_contiguous_and_balanced() -> None:
    rng = np.random.default_rng(1)
    pts = rng.uniform(0, 10_000, size=(120, 2))
    square = box(0, 0, 10_000, 10_000)
    cells = shapely.intersection(
        shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=square, ordered=True)), square)
    units = gpd.GeoDataFrame({"households": rng.integers(30, 90, 120)}, geometry=cells, crs=METRIC,
                             index=pd.Index([f"T{i:03d}" for i in range(120)]))
    part = partition_units(units, unit_adjacency(units), 6, weights={"households": 1}, seed=0)
    # Contiguity with networkx on neighbours found by brute force (shared edge longer than 1 m).
    g = nx.Graph()
    g.add_nodes_from(units.index)
    geoms = units.geometry.to_numpy()
    for i, j in itertools.combinations(range(len(units)), 2):
        if geoms[i].intersection(geoms[j]).length > 1.0:
            g.add_edge(units.index[i], units.index[j])
    assert_contiguous(g, part.labels)
    per = units["households"].groupby(part.labels).sum()
    assert per.std(ddof=0) / per.mean() < 0.05


def test_within_stations_keeps_station_lines() -> None:
    units = block(3, 4)
    units["station_id"] = np.where(units["col"] < 1, "S1", "S2")  # 3 units and 9 units
    part = partition_units(units, unit_adjacency(units), 4, weights={"households": 1}, within_stations=True)
    assert (units.groupby(part.labels)["station_id"].nunique() == 1).all()
    # workload 3 : 9 → 1 grid and 3 grids, each of 300 households
    assert (units["households"].groupby(part.labels).sum() == 300).all()
    assert units.loc[units["station_id"] == "S1"].index.map(part.labels).nunique() == 1
    assert "grids per station: S1 1, S2 3" in part.messages


def test_cap_feasible_is_met() -> None:
    units = block(3, 4, households=[[100, 100, 100, 300], [100, 100, 100, 100], [100, 100, 100, 100]])
    part = partition_units(units, unit_adjacency(units), 3, weights={"area": 1}, max_households=500)
    per = units["households"].groupby(part.labels).sum()
    assert per.max() <= 500
    assert part.over_cap == []
    assert not any("cap" in m for m in part.messages)


def test_cap_infeasible_says_why() -> None:
    units = block(3, 4)
    part = partition_units(units, unit_adjacency(units), 3, weights={"households": 1}, max_households=350)
    text = " ".join(part.messages)
    assert "cap not feasible" in text
    assert "3 grids × 350" in text and "1,200" in text
    big = block(1, 3, households=[100, 900, 100])
    part = partition_units(big, unit_adjacency(big), 3, weights={"households": 1}, max_households=500)
    assert any("U01 (900)" in m for m in part.messages)
    assert len(part.over_cap) == 1


def test_islands_need_a_grid_each() -> None:
    units = pd.concat([block(2, 2, prefix="A"), block(2, 2, prefix="B", x0=5000.0)])
    units = gpd.GeoDataFrame(units, geometry="geometry", crs=METRIC)
    adj = unit_adjacency(units)
    with pytest.raises(DataError, match="2 separate pieces"):
        partition_units(units, adj, 1)
    part = partition_units(units, adj, 2, weights={"households": 1})
    assert part.labels[units.index.str.startswith("A")].nunique() == 1
    assert part.labels[units.index.str.startswith("B")].nunique() == 1


def test_bad_inputs() -> None:
    units = block(2, 2)
    adj = unit_adjacency(units)
    with pytest.raises(DataError, match="at most 4"):
        partition_units(units, adj, 5)
    with pytest.raises(DataError, match="projected"):
        partition_units(units.to_crs(4326), adj, 2)
    with pytest.raises(DataError, match="no criterion 'kwh'"):
        partition_units(units, adj, 2, weights={"kwh": 1})


def test_parse_weights_and_workload() -> None:
    assert parse_weights("households=1, work_orders=0.3,area=0.1") == {"households": 1.0, "work_orders": 0.3,
                                                                       "area": 0.1}
    for bad in ("households", "households=x", "households=-1", "households=0"):
        with pytest.raises(DataError):
            parse_weights(bad)
    frame = pd.DataFrame({"households": [10, 30], "area_km2": [3.0, 1.0]})
    # shares: households 0.25/0.75, area 0.75/0.25; weights 1 and 1/3 normalised to 0.75 and 0.25
    got = workload(frame, {"households": 1, "area": 1 / 3})
    assert got.tolist() == pytest.approx([0.75 * 0.25 + 0.25 * 0.75, 0.75 * 0.75 + 0.25 * 0.25])


# -- a hand-built service area ----------------------------------------------------------------

LON0, LAT0, STEP = 116.40, 27.10, 0.01


def block_area(*, unlinked: bool = False) -> ServiceArea:
    """4 × 3 transformers, one per 0.01° cell, each feeding 4 customers on a regular half-cell lattice.

    The customers' Voronoi cells are then exactly the quarter cells, so each
    transformer area is its whole cell. Current grids: G1 = column 0 (S1),
    G2 = columns 1–2 (S1), G3 = column 3 (S2); one grid member each.
    """
    cells = [(r, c) for r in range(3) for c in range(4)]
    trs = gpd.GeoDataFrame(
        {"transformer_id": [f"T{r}{c}" for r, c in cells], "name": [f"台区{r}{c}" for r, c in cells],
         "feeder_id": "F1", "rated_kva": 200.0, "kind": "public"},
        geometry=[Point(LON0 + (c + 0.5) * STEP, LAT0 + (r + 0.5) * STEP) for r, c in cells], crs=4326)
    cust, meters = [], []
    for r, c in cells:
        for q, (dx, dy) in enumerate(((0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75))):
            cid = f"C{r}{c}{q}"
            meters.append({"meter_id": f"M{r}{c}{q}", "transformer_id": f"T{r}{c}"})
            cust.append({"customer_id": cid, "name": cid, "category": "residential", "voltage": "low",
                         "meter_id": f"M{r}{c}{q}", "geometry": Point(LON0 + (c + dx) * STEP, LAT0 + (r + dy) * STEP)})
    if unlinked:  # no meter: lies in T11's cell, off the lattice
        cust.append({"customer_id": "CX", "name": "CX", "category": "residential", "voltage": "low",
                     "meter_id": None, "geometry": Point(LON0 + 1.4 * STEP, LAT0 + 1.45 * STEP)})
    territory = box(LON0, LAT0, LON0 + 4 * STEP, LAT0 + 3 * STEP)
    cols = {"G1": (0, 1), "G2": (1, 3), "G3": (3, 4)}
    grids = gpd.GeoDataFrame(
        {"grid_id": list(cols), "code": ["NF-01", "NF-02", "NF-03"], "name": ["一网格", "二网格", "三网格"],
         "station_id": ["S1", "S1", "S2"], "area_class": ["urban", "rural", "rural"], "plan_version": 1},
        geometry=[box(LON0 + a * STEP, LAT0, LON0 + b * STEP, LAT0 + 3 * STEP) for a, b in cols.values()], crs=4326)
    frames = {
        "service_area": gpd.GeoDataFrame({"service_area_id": ["b"], "name": ["方块区"]}, geometry=[territory],
                                         crs=4326),
        "stations": gpd.GeoDataFrame({"station_id": ["S1", "S2"], "name": ["一所", "二所"]},
                                     geometry=[Point(LON0, LAT0), Point(LON0 + 0.04, LAT0)], crs=4326),
        "grids": grids,
        "transformers": trs,
        "meters": pd.DataFrame(meters),
        "customers": gpd.GeoDataFrame(cust, geometry="geometry", crs=4326),
        "grid_staff": pd.DataFrame({"grid_id": ["G1", "G2", "G3"], "staff_id": ["E1", "E2", "E3"],
                                    "role": "grid_member"}),
    }
    return ServiceArea(frames)


def points(area: ServiceArea) -> gpd.GeoDataFrame:
    """Customers with their meter only (no derived columns to clash in a join)."""
    return area.customers[["meter_id", "geometry"]]


def customers_per_grid(area: ServiceArea, grids: gpd.GeoDataFrame) -> pd.Series:
    """Customers per grid by a geopandas point-in-polygon join."""
    joined = gpd.sjoin(points(area), grids.reset_index()[["grid_id", "geometry"]], predicate="within")
    return joined.groupby("grid_id").size()


def test_transformer_areas_are_the_cells() -> None:
    area = block_area()
    us = transformer_areas(area)
    assert len(us.units) == 12
    assert (us.units["households"] == 4).all()
    cell_m2 = gpd.GeoSeries([box(LON0, LAT0, LON0 + STEP, LAT0 + STEP)], crs=4326).to_crs(area.metric_crs).area[0]
    assert us.units["area_km2"].to_numpy() == pytest.approx(cell_m2 / 1e6, rel=0.01)
    assert us.units.loc["T00", "grid_id"] == "G1" and us.units.loc["T02", "grid_id"] == "G2"
    assert us.units.loc["T03", "station_id"] == "S2"
    assert us.messages == []


def test_unlinked_customer_counts_where_it_lies() -> None:
    us = transformer_areas(block_area(unlinked=True))
    assert us.customer_unit["CX"] == "T11"
    assert us.units.loc["T11", "households"] == 5
    assert any("no meter→transformer link" in m for m in us.messages)


def test_a_transformer_area_bigger_than_a_grid_is_named() -> None:
    area = block_area()
    # eight more customers near the middle of T11's cell: T11 holds 12 of 56 households,
    # 2.6 × the 56 / 12 per grid, and no split can change that
    extra = [(1.4 + 0.05 * i, 1.45 + 0.02 * i) for i in range(8)]
    meters = pd.concat([area.meters.reset_index(), pd.DataFrame(
        {"meter_id": [f"MX{i}" for i in range(8)], "transformer_id": "T11"})])
    cust = pd.concat([area.customers.reset_index(), gpd.GeoDataFrame(
        {"customer_id": [f"CX{i}" for i in range(8)], "name": "x", "category": "residential", "voltage": "low",
         "meter_id": [f"MX{i}" for i in range(8)]},
        geometry=[Point(LON0 + x * STEP, LAT0 + y * STEP) for x, y in extra], crs=4326)])
    big = area.replace(meters=meters, customers=gpd.GeoDataFrame(cust, geometry="geometry", crs=4326))
    prop = propose_plan(big, grids=12, weights={"households": 1})
    said = [m for m in prop.messages if "alone hold more than" in m]
    assert len(said) == 1 and "T11" in said[0] and "12 households" in said[0], prop.messages
    assert customers_per_grid(big, prop.grids).max() == 12
    assert not any("alone hold more than" in m for m in propose_plan(area, grids=12).messages)


def test_propose_balances_and_reuses_codes() -> None:
    area = block_area()
    prop = propose_plan(area, grids=3, weights={"households": 1})
    per = customers_per_grid(area, prop.grids)
    assert sorted(per.tolist()) == [16, 16, 16]
    assert (shapely.get_num_geometries(prop.grids.geometry.to_numpy()) == 1).all()
    # no transformer's customers in two grids
    joined = gpd.sjoin(points(area), prop.grids.reset_index()[["grid_id", "geometry"]], predicate="within")
    tr = joined["meter_id"].map(area.meters["transformer_id"])
    assert joined.groupby(tr)["grid_id"].nunique().max() == 1
    # ids follow the best overlap assignment, found here by brute force
    metric = area.metric_crs
    cur = area.grids.geometry.to_crs(metric)
    new = prop.grids.geometry.to_crs(metric)
    ov = np.array([[a.intersection(b).area for b in cur] for a in new])
    best = max(itertools.permutations(range(3)), key=lambda p: sum(ov[i, p[i]] for i in range(3)))
    assert list(prop.grids.index) == [cur.index[best[i]] for i in range(3)]
    assert prop.grids.loc["G1", "code"] == "NF-01" and prop.grids.loc["G1", "name"] == "一网格"
    assert prop.scores.summary["households_cv"] == pytest.approx(0.0)
    assert prop.scores.summary["balance"] == pytest.approx(100.0)
    assert prop.scores.summary["non_contiguous"] == 0


def test_current_plan_scores_by_hand() -> None:
    area = block_area()
    s = score_plan(area, weights={"households": 1})
    assert s.grids["households"].to_dict() == {"G1": 12, "G2": 24, "G3": 12}
    cv = math.sqrt((4**2 + 8**2 + 4**2) / 3) / 16
    assert s.summary["households_cv"] == pytest.approx(cv)
    assert s.summary["balance"] == pytest.approx(round(100 * (1 - cv), 1))
    assert s.grids.loc["G2", "balance"] == pytest.approx(50.0)  # 24 households vs a mean of 16
    assert s.summary["households_per_member"] == pytest.approx(16.0)
    metric = area.grids.geometry.to_crs(area.metric_crs)
    pp = 4 * math.pi * metric.area / metric.length**2
    assert s.grids["polsby_popper"].to_numpy() == pytest.approx(pp.to_numpy())


def test_locked_grid_is_untouched() -> None:
    area = block_area()
    prop = propose_plan(area, grids=4, lock=["G1"], weights={"households": 1})
    assert prop.grids.loc["G1", "geometry"].equals_exact(area.grids.loc["G1", "geometry"], tolerance=0)
    per = customers_per_grid(area, prop.grids)
    assert per["G1"] == 12
    assert sorted(per.drop("G1").tolist()) == [12, 12, 12]
    others = shapely.union_all(prop.grids.drop(index="G1").geometry.to_numpy())
    overlap = gpd.GeoSeries([others.intersection(area.grids.loc["G1", "geometry"])], crs=4326).to_crs(area.metric_crs)
    assert overlap.area[0] < 1.0
    # one new grid, named after its station's pattern
    new = prop.grids.index.difference(area.grids.index)
    assert len(new) == 1 and prop.grids.loc[new[0], "code"].startswith("NF-0")


def test_households_per_member_sets_the_number_of_grids() -> None:
    prop = propose_plan(block_area(), households_per_member=16, weights={"households": 1})
    assert len(prop.grids) == 3  # ⌈48 / (16 × 1 member per grid)⌉
    prop = propose_plan(block_area(), households_per_member=10, weights={"households": 1})
    assert len(prop.grids) == 5


def test_within_stations_on_an_area() -> None:
    area = block_area()
    prop = propose_plan(area, grids=4, within_stations=True, weights={"households": 1})
    joined = gpd.sjoin(points(area), prop.grids.reset_index()[["grid_id", "station_id", "geometry"]],
                       predicate="within")
    station_now = gpd.sjoin(points(area), area.grids.reset_index()[["station_id", "geometry"]],
                            predicate="within")["station_id"]
    assert (joined["station_id"] == station_now.loc[joined.index]).all()
    assert sorted(joined.groupby("grid_id").size().tolist()) == [12, 12, 12, 12]


def test_cap_messages_on_an_area() -> None:
    area = block_area()
    ok = propose_plan(area, grids=3, max_households=16, weights={"households": 1})
    assert not any("cap" in m for m in ok.messages)
    assert ok.scores.summary["over_cap"] == 0
    bad = propose_plan(area, grids=3, max_households=15, weights={"households": 1})
    assert any("cap not feasible" in m and "ask for at least 4 grids" in m for m in bad.messages)
    # G1 holds 12 households: locked under a cap of 10 it stays, and the note says so
    locked = propose_plan(area, grids=5, lock=["G1"], max_households=10, weights={"households": 1})
    assert "locked grid(s) above the cap, kept as they are: G1 (12)" in locked.messages


def test_propose_refuses_bad_requests() -> None:
    area = block_area()
    with pytest.raises(DataError, match="either"):
        propose_plan(area)
    with pytest.raises(DataError, match="either"):
        propose_plan(area, grids=3, households_per_member=100)
    with pytest.raises(NotFoundError, match="G9"):
        propose_plan(area, grids=3, lock=["G9"])
    with pytest.raises(DataError, match="more grids than locked"):
        propose_plan(area, grids=1, lock=["G1"])


# -- the demo ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_proposal(demo_area: ServiceArea):
    return propose_plan(demo_area, grids=len(demo_area.grids), seed=0)


def test_demo_grids_are_contiguous_and_keep_transformer_areas_whole(demo_area: ServiceArea, demo_proposal) -> None:
    grids = demo_proposal.grids
    assert len(grids) == len(demo_area.grids)
    fixed = shapely.make_valid(grids.geometry.to_numpy())
    assert (shapely.get_num_geometries(fixed) == 1).all()
    # each customer's transformer, by plain joins, and the proposed grid holding the customer
    meters = demo_area.meters
    via_ap = meters["access_point_id"].map(demo_area.access_points["transformer_id"])
    tr = demo_area.customers["meter_id"].map(meters["transformer_id"].fillna(via_ap))
    joined = gpd.sjoin(points(demo_area), grids.reset_index()[["grid_id", "geometry"]], predicate="intersects")
    joined = joined[~joined.index.duplicated()]
    spread = joined.groupby(tr.loc[joined.index])["grid_id"].nunique()
    assert spread.max() == 1
    # every customer inside the territory lands in a proposed grid
    inside = demo_area.customers.intersects(demo_area.territory)
    assert inside[inside].index.isin(joined.index).all()


def test_demo_proposal_passes_plan_check(demo_area: ServiceArea, demo_proposal) -> None:
    from gridservice.spatial.plan import check_plan, plan_frame

    plan = plan_frame(gpd.GeoDataFrame.from_features(demo_proposal.to_geojson()["features"], crs=4326), demo_area)
    found = check_plan(demo_area, plan, complete=True)
    assert found[found["severity"] == "error"].empty, found[["check", "message"]].to_string()
    assert "split_transformer_area" not in set(found["check"])
    assert demo_proposal.scores.summary["balance"] > demo_proposal.current.summary["balance"]


def test_cli_propose_writes_a_plan(demo_gpkg, tmp_path) -> None:
    from gridservice.cli import app

    out = tmp_path / "proposal.geojson"
    result = CliRunner().invoke(app, ["plan", "propose", "--data", str(demo_gpkg), "--grids", "12",
                                      "--within-stations", "--seed", "1", "--out", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["proposal"]["grids"] == 12 and body["current"]["grids"] > 0
    fc = json.loads(out.read_text(encoding="utf-8"))
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 12
    assert set(fc["features"][0]["properties"]) == {"grid_id", "code", "name", "station_id", "area_class"}
    bad = CliRunner().invoke(app, ["plan", "propose", "--data", str(demo_gpkg), "--out", str(out)])
    assert bad.exit_code != 0
    as_csv = CliRunner().invoke(app, ["plan", "propose", "--data", str(demo_gpkg), "--grids", "12",
                                      "--within-stations", "--seed", "1", "--out", str(out), "--format", "csv"])
    table = pd.read_csv(io.StringIO(as_csv.stdout))
    assert sorted(table["grid_id"]) == sorted(f["properties"]["grid_id"] for f in fc["features"])
    assert {"households", "balance", "compactness", "households_per_member"} <= set(table.columns)


def test_cli_propose_writes_a_geopackage_that_check_and_commit_read(demo_gpkg, tmp_path) -> None:
    import shutil

    import pyogrio

    from gridservice.cli import app
    from gridservice.io import GeoPackageStore

    out = tmp_path / "plans" / "proposal.gpkg"
    args = ["plan", "propose", "--data", str(demo_gpkg), "--grids", "12", "--within-stations", "--seed", "1",
            "--out", str(out), "--format", "json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [name for name, _ in pyogrio.list_layers(out)] == ["grids"]
    grids = pyogrio.read_dataframe(out, layer="grids")
    assert len(grids) == 12 and grids.crs.to_epsg() == 4326
    assert set(grids.columns) == {"grid_id", "code", "name", "station_id", "area_class", "geometry"}
    assert list(tmp_path.joinpath("plans").iterdir()) == [out]  # no temporary file left beside it

    before = out.read_bytes()
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 1 and "--force" in again.output
    assert out.read_bytes() == before
    assert CliRunner().invoke(app, [*args, "--force"]).exit_code == 0

    check = CliRunner().invoke(app, ["plan", "check", str(out), "--data", str(demo_gpkg), "--complete",
                                     "--format", "json"])
    assert check.exit_code == 0, check.output
    assert not [f for f in json.loads(check.stdout) if f["severity"] == "error"]
    area = tmp_path / "area.gpkg"
    shutil.copyfile(demo_gpkg, area)
    commit = CliRunner().invoke(app, ["plan", "commit", str(out), "--data", str(area), "--complete",
                                      "--author", "planner", "--note", "proposal", "--format", "json"])
    assert commit.exit_code == 0, commit.output
    stored = GeoPackageStore(area).read_layer("grids")
    assert sorted(stored.index) == sorted(grids["grid_id"])
