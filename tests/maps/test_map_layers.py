"""Layer builders: what goes into the page, checked against hand-worked values."""

from __future__ import annotations

import base64

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from mapdata import CUSTOMERS_PER_GRID, X0, D
from shapely.geometry import Point, Polygon, box

from gridservice.errors import DataError
from gridservice.maps import (
    base_map,
    build_coverage_map,
    build_lineloss_map,
    build_operations_map,
    findings_layer,
    grid_layer,
    heat_layer,
    map_html,
    outage_areas,
    plan_problems,
    resolve_basemap,
    transformer_layer,
)
from gridservice.maps.base import LOCAL
from gridservice.maps.data import grid_kpis
from gridservice.maps.layers import LOSS_COLORS, CompactHeat, Labels, display_grids
from gridservice.maps.legend import Legend


def geojson_layers(m: folium.Map) -> dict[str, folium.GeoJson]:
    """The map's GeoJSON layers by name."""
    return {c.layer_name: c for c in m._children.values() if isinstance(c, folium.GeoJson)}


def props(layer: folium.GeoJson) -> list[dict]:
    return [f["properties"] for f in layer.data["features"]]


def legends(m: folium.Map) -> list[Legend]:
    return [c for c in m._children.values() if isinstance(c, Legend)]


# ---------------------------------------------------------------- grids


def test_grid_kpis_count_customers_per_grid_like_a_spatial_join(map_area):
    kpis = grid_kpis(map_area, "2026-03")
    joined = gpd.sjoin(map_area.customers[["geometry"]], map_area.grids[["geometry"]], predicate="within")
    by_sjoin = joined["grid_id"].value_counts().reindex(map_area.grids.index, fill_value=0)
    assert kpis["customers"].to_dict() == CUSTOMERS_PER_GRID == by_sjoin.to_dict()
    # March complaints: W1 (C001, G1) and W2 (C002, G1); W5 is in February.
    assert kpis["work_orders_complaint"].to_dict() == {"G1": 2, "G2": 0, "G3": 0, "G4": 0, "G5": 0}
    assert kpis.loc["G1", "complaints_per_10k"] == pytest.approx(2 / 6 * 10_000)
    # G1 has one grid member (P2) for 6 customers; G4 has none.
    assert kpis.loc["G1", "households_per_member"] == 6.0
    assert np.isnan(kpis.loc["G4", "households_per_member"])


def test_grid_layer_colours_each_grid_by_its_class(map_area):
    kpis = pd.DataFrame({"customers": CUSTOMERS_PER_GRID})
    m = grid_layer(map_area.grids, kpis=kpis, metric="customers", lang="zh")
    layer = geojson_layers(m)["网格"]
    colour = {p["grid_id"]: p["_c"] for p in props(layer)}
    # Values 0, 3, 6, 9: four distinct values, one class each, blues spread over the palette.
    assert colour == {"G5": "#eff3ff", "G2": "#bdd7e7", "G1": "#3182bd", "G4": "#3182bd", "G3": "#08519c"}
    assert len(layer.data["features"]) == len(map_area.grids)
    (legend,) = legends(m)
    assert "客户数" in legend.html
    for text in ("#eff3ff", "#08519c", ">0<", ">9<"):
        assert text in legend.html


def test_grid_popup_lists_staff_escaped_and_kpis(map_area):
    kpis = pd.DataFrame({"customers": CUSTOMERS_PER_GRID, "saidi_min": [12.5, np.nan, 3.0, 0.0, 0.0]},
                        index=list(CUSTOMERS_PER_GRID))
    m = grid_layer(map_area.grids, kpis=kpis, metric="saidi_min", grid_staff=map_area.grid_staff,
                   staff=map_area.staff, stations=map_area.stations)
    popup = {p["grid_id"]: p["_p"] for p in props(geojson_layers(m)["网格"])}
    assert "网格经理 张伟 13800000001<br>网格员 李娜 13800000002" in popup["G1"]
    assert "王&lt;b&gt;强" in popup["G3"] and "王<b>" not in popup["G3"]
    assert "琴城供电所" in popup["G1"] and "白舍供电所" in popup["G3"]
    assert "12.5" in popup["G1"] and "城区" in popup["G1"]
    # A grid with no KPI value is grey and the legend says so.
    colour = {p["grid_id"]: p["_c"] for p in props(geojson_layers(m)["网格"])}
    assert colour["G2"] == "#d9d9d9"
    assert "无数据" in legends(m)[0].html
    html = map_html(m)
    assert "王<b>强" not in html


def test_grid_layer_in_english_romanises_names(map_area):
    m = grid_layer(map_area.grids, kpis=pd.DataFrame({"customers": CUSTOMERS_PER_GRID}), metric="customers",
                   lang="en")
    assert "Grids" in geojson_layers(m)
    (labels,) = [c for c in m._children.values() if isinstance(c, Labels)]
    assert "Chengdong grid" in labels.rows and "Baishe grid" in labels.rows
    assert "<h4>Customers</h4>" in legends(m)[0].html  # no Chinese unit in an English legend


def test_grid_labels_sit_inside_their_grid(map_area):
    m = grid_layer(map_area.grids)
    (labels,) = [c for c in m._children.values() if isinstance(c, Labels)]
    import json

    rows = json.loads(labels.rows)
    assert len(rows) == len(map_area.grids)
    for (lat, lon, name), (_, grid) in zip(rows, map_area.grids.iterrows(), strict=True):
        assert grid.geometry.contains(Point(lon, lat)), name


def test_unknown_metric_is_a_clear_error(map_area):
    with pytest.raises(DataError, match=r"unknown metric 'bogus'.*customers"):
        grid_layer(map_area.grids, kpis=pd.DataFrame({"customers": CUSTOMERS_PER_GRID}), metric="bogus")


def test_heavy_grids_are_simplified_without_opening_gaps():
    # Two grids sharing a zig-zag edge of 2,000 vertices (amplitude ~1 m).
    ys = np.linspace(0, 0.05, 2000)
    xs = 116.45 + np.where(np.arange(2000) % 2, 5e-6, -5e-6)
    edge = list(zip(xs, ys + 27.1, strict=True))
    west = Polygon([(116.40, 27.1), *edge, (116.40, 27.15)])
    east = Polygon([(116.50, 27.1), (116.50, 27.15), *edge[::-1]])
    grids = gpd.GeoDataFrame(geometry=[west, east], crs=4326, index=["W", "E"])
    out = display_grids(grids, above_vertices=100)
    before = int(shapely.get_num_coordinates(grids.geometry.values).sum())
    after = int(shapely.get_num_coordinates(out.values).sum())
    assert after < before / 20
    union_before = shapely.union_all(grids.geometry.values)
    union_after = shapely.union_all(out.values)
    # No gap or overlap opened along the shared edge: the union is still one polygon of the same area.
    assert union_after.geom_type == "Polygon"
    assert shapely.area(shapely.intersection(out.iloc[0], out.iloc[1])) == pytest.approx(0, abs=1e-12)
    assert union_after.area == pytest.approx(union_before.area, rel=1e-6)
    # Small plans are drawn as they are.
    assert display_grids(grids).equals(grids.geometry)


def test_gcj02_basemap_shifts_layers_like_prcoords(map_area):
    prcoords = pytest.importorskip("prcoords")
    m = base_map(map_area.territory.bounds, basemap="gcj02")
    grid_layer(map_area.grids, m=m)
    feature = geojson_layers(m)["网格"].data["features"][0]
    x, y = feature["geometry"]["coordinates"][0][0]
    sw = shapely.get_coordinates(map_area.grids.geometry.iloc[0].exterior)[0]
    expected = prcoords.wgs_gcj((sw[1], sw[0]))
    assert x == pytest.approx(expected.lon, abs=2e-6) and y == pytest.approx(expected.lat, abs=2e-6)
    assert abs(x - sw[0]) > 1e-3  # the GCJ-02 offset is hundreds of metres here
    assert "autonavi" in map_html(m)


@pytest.mark.parametrize(("value", "tiles"), [
    ("osm", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"),
    ("http://tiles.intranet.local/{z}/{x}/{y}.png", "http://tiles.intranet.local/{z}/{x}/{y}.png"),
])
def test_basemap_setting(value, tiles):
    assert resolve_basemap(value)["tiles"] == tiles
    assert resolve_basemap("none") is None
    assert resolve_basemap("gcj02:http://mirror/{z}/{x}/{y}")["coords"] == "gcj02"


def test_basemap_that_is_no_template_is_refused():
    with pytest.raises(DataError, match="tile URL template"):
        resolve_basemap("http://tiles.intranet.local/")


def test_no_basemap_named_is_the_local_one(monkeypatch):
    monkeypatch.setenv("GRIDSERVICE_BASEMAP", "none")  # the faces read the settings, not the maps
    assert resolve_basemap(None) == resolve_basemap("local") == {**LOCAL}


# ---------------------------------------------------------------- network and events


def test_transformers_are_coloured_by_loss_class(map_area, lineloss_frame):
    m = transformer_layer(map_area.transformers, lineloss=lineloss_frame)
    p = {f["_t"].split(" · ")[0]: f for f in props(geojson_layers(m)["台区"])}
    assert p["一号台区"]["_c"] == LOSS_COLORS["high"] == "#d73027"
    assert p["一号台区"]["_k"] == "gs-loss-high"
    assert p["二号台区"]["_c"] == LOSS_COLORS["negative"]
    assert "14.2" in p["一号台区"]["_p"]
    assert "连续异常月数</th><td>3<" in p["一号台区"]["_p"] and "窃电或无表用电" in p["一号台区"]["_p"]
    # Without line loss every transformer is "not computable".
    m2 = transformer_layer(map_area.transformers)
    assert {f["_k"] for f in props(geojson_layers(m2)["台区"])} == {"gs-loss-not-computable"}


def test_outage_area_covers_exactly_the_customers_below_the_device(map_area):
    areas = outage_areas(map_area)
    assert set(areas.index) == {"O1", "O2"}
    c = map_area.customers
    # T1 feeds the western column (G1, G3); T2 the eastern (G2, G4).
    west = c.geometry.x < X0 + D
    inside = c.geometry.within(areas["O1"])
    assert inside.to_numpy().tolist() == west.to_numpy().tolist()
    assert (c.geometry.within(areas["O2"]) == ~west).all()


def test_outage_layer_splits_active_and_past(map_area):
    now = pd.Timestamp("2026-03-10 12:00", tz="Asia/Shanghai")
    m = build_operations_map(map_area, basemap="none", now=now, period="2026-03")
    layers = geojson_layers(m)
    # Each outage: its affected area, and a marker that stays visible at county zoom.
    active = [(p["outage_id"], p["_k"]) for p in props(layers["当前停电"])]
    assert active == [("O1", "gs-outage-active"), ("O1", "gs-outage-active-marker")]
    assert [p["outage_id"] for p in props(layers["历史停电"])] == ["O2", "O2"]
    shapes = [f["geometry"]["type"] for f in layers["当前停电"].data["features"]]
    assert shapes == ["Polygon", "Point"]
    heats = {c.layer_name: c for c in m._children.values() if isinstance(c, CompactHeat)}
    assert set(heats) == {"报修热力", "投诉热力"}


def test_heat_sums_points_per_cell():
    pts = gpd.GeoSeries([Point(116.5, 27.2), Point(116.5, 27.2), Point(116.6, 27.3), None], crs=4326)
    m = heat_layer(pts, name="heat")
    (heat,) = [c for c in m._children.values() if isinstance(c, CompactHeat)]
    triplets = np.frombuffer(base64.b64decode(heat.data), dtype="<f4").reshape(-1, 3)
    got = sorted((round(float(a), 4), round(float(b), 4), float(w)) for a, b, w in triplets)
    assert got == [(27.2, 116.5, 2.0), (27.3, 116.6, 1.0)]


def test_plan_problems_find_the_planted_overlap_and_gap(map_area):
    found = plan_problems(map_area)
    metric = map_area.metric_crs
    # Independent: geopandas overlay of G4 and G5, and the territory minus the grids.
    grids = map_area.grids.to_crs(metric)
    overlap = gpd.overlay(grids.loc[["G4"]], grids.loc[["G5"]], how="intersection").area.sum()
    gap = (gpd.GeoSeries([map_area.territory], crs=4326).to_crs(metric).difference(grids.union_all())).area.sum()
    areas = found.to_crs(metric).area
    text = found["check"].str.cat(found["message"], sep=" ").str.lower()
    assert areas[text.str.contains("overlap")].sum() == pytest.approx(overlap, rel=0.01)
    assert areas[text.str.contains("gap|cover|缝隙|空白")].sum() == pytest.approx(gap, rel=0.01)
    assert len(found) == 2  # only the shapes: no "grid without a manager" painted over a whole grid


def test_findings_layer_draws_only_findings_with_geometry():
    from gridservice.findings import findings

    f = findings([
        {"check": "a", "severity": "error", "layer": "grids", "feature_id": "G1", "message": "x",
         "geometry": box(116.4, 27.1, 116.41, 27.11)},
        {"check": "b", "severity": "warning", "layer": "customers", "feature_id": "C1", "message": "<y>",
         "geometry": Point(116.42, 27.12)},
        {"check": "c", "severity": "warning", "layer": "work_orders", "feature_id": "W1", "message": "no place"},
    ])
    m = findings_layer(f, lang="en")
    p = props(geojson_layers(m)["Audit findings"])
    assert [x["_c"] for x in p] == ["#e31a1c", "#ff7f00"]
    assert "&lt;y&gt;" in p[1]["_p"]


# ---------------------------------------------------------------- composed maps


def test_coverage_map_has_every_layer_and_one_legend_per_colouring(map_area):
    m = build_coverage_map(map_area, basemap="none", metric="customers", period="2026-03")
    names = list(geojson_layers(m))
    assert names[0] == "网格"  # drawn first, so points and lines sit on top
    assert "网格方案问题" in names
    assert any(n.startswith("客户密度") for n in names)
    assert len(legends(m)) == 2  # the KPI and the customer density
    control = [c for c in m._children.values() if isinstance(c, folium.LayerControl)]
    assert len(control) == 1 and list(m._children.values())[-1] is control[0]


def test_lineloss_map_colours_grids_by_high_loss_count(map_area, lineloss_frame):
    m = build_lineloss_map(map_area, basemap="none", lineloss=lineloss_frame, period="2026-03")
    colour = {p["grid_id"]: p["_c"] for p in props(geojson_layers(m)["网格"])}
    # G1 has one high-loss transformer (T1), the others none: two classes, lightest and darkest reds.
    assert colour == {"G1": "#bd0026", "G2": "#ffffb2", "G3": "#ffffb2", "G4": "#ffffb2", "G5": "#ffffb2"}


def test_bad_period_and_lang_are_refused(map_area):
    with pytest.raises(DataError, match="YYYY-MM"):
        build_coverage_map(map_area, period="March", basemap="none")
    with pytest.raises(DataError, match="language"):
        build_coverage_map(map_area, lang="fr", basemap="none")


def test_coverage_map_outlines_the_grids_with_open_warnings(map_area):
    """Open grid warnings: G1 yellow and red (→ red), G2 yellow (→ yellow, escalated); G3's is cleared and the
    station's is not a grid: neither is drawn."""
    t = pd.Timestamp("2026-04-01 09:00", tz="Asia/Shanghai")
    warnings = pd.DataFrame({
        "indicator": ["saidi_min", "saifi", "rs1_pct", "saidi_min", "saidi_min"],
        "level": ["grid", "grid", "grid", "grid", "station"], "unit_id": ["G1", "G1", "G2", "G3", "S1"],
        "severity": ["yellow", "red", "yellow", "red", "red"],
        "escalated_at": [pd.NaT, pd.NaT, t, pd.NaT, pd.NaT], "cleared_at": [pd.NaT, pd.NaT, pd.NaT, t, pd.NaT],
    }, index=pd.Index(["W1", "W2", "W3", "W4", "W5"], name="warning_id"))
    m = build_coverage_map(map_area.replace(warnings=warnings), basemap="none", metric="customers",
                           period="2026-03")
    layer = geojson_layers(m)["指标预警网格"]
    colours = {p["_t"]: p["_c"] for p in props(layer)}
    assert colours == {"G1": "#c62828", "G2": "#f9a825"}
    popups = {p["_t"]: p["_p"] for p in props(layer)}
    assert "saifi red" in popups["G1"] and "rs1_pct yellow (约谈)" in popups["G2"]
