"""Files as utilities export them: optional columns absent, GBK text, Excel sheets with Chinese
headers, CGCS2000 Gauss–Krüger coordinates, Shapefile sets, GeoPackages with several layers,
stations drawn as their territory."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, box, mapping

from gridservice.errors import CoordinateSystemError, DataError
from gridservice.io import GeoPackageStore
from gridservice.io.importer import import_layer
from gridservice.io.tables import conform
from gridservice.schema import LAYERS


def geojson(path: Path, features: list[tuple[dict, dict | None]]) -> Path:
    fc = {"type": "FeatureCollection",
          "features": [{"type": "Feature", "properties": p, "geometry": g} for p, g in features]}
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    return path


# -- optional columns absent --


def test_text_keeps_missing_values_missing() -> None:
    """The root of "nan" in outputs: on pandas 2, astype("str") wrote the text "nan"/"None"."""
    s = pd.Series(["a", None, np.nan], dtype=object).astype("str")
    assert s.isna().tolist() == [False, True, True]


@pytest.mark.parametrize("name", [n for n, spec in LAYERS.items() if any(not c.required for c in spec.columns)])
def test_every_optional_column_may_be_absent(name: str) -> None:
    spec = LAYERS[name]
    row = {c.name: {"str": c.choices[0] if c.choices else "x1", "float": 1.0, "int": 1, "bool": True,
                    "datetime": "2026-01-01 08:00"}[c.kind] for c in spec.columns if c.required}
    if "period" in row:
        row["period"] = "2026-01"
    shapes = {"Point": Point(116.5, 27.2), "Polygon": Point(116.5, 27.2).buffer(0.01),
              "LineString": LineString([(116.5, 27.2), (116.6, 27.2)])}
    geometry = [shapes[spec.geometry[0]]] if spec.geometry else []
    df = gpd.GeoDataFrame([row], geometry=geometry, crs=4326) if spec.geometry else pd.DataFrame([row])
    out = conform(name, df, source="f.csv")
    for c in spec.columns:
        if not c.required and c.kind != "bool":
            assert out[c.name].isna().all(), c.name
        if c.kind == "str" and not c.required:
            assert not out[c.name].astype("str").isin(["nan", "None", "NaT", ""]).any(), c.name


@pytest.mark.parametrize("fmt", ["csv", "geojson"])
def test_meters_without_an_access_point_column(tiny_store: GeoPackageStore, tmp_path: Path, fmt: str) -> None:
    """Many utilities have no access-point layer: the column is simply not in their file."""
    if fmt == "csv":
        path = tmp_path / "m.csv"
        path.write_text("meter_id,transformer_id\nM-1,T1\nM-2,T1\n", encoding="utf-8")
    else:
        path = geojson(tmp_path / "m.geojson", [({"meter_id": "M-1", "transformer_id": "T1"}, None),
                                               ({"meter_id": "M-2", "transformer_id": "T1"}, None)])
    result = import_layer(tiny_store, "meters", path)
    assert (result.rows, result.total) == (2, 3)
    meters = tiny_store.read_layer("meters")
    assert meters.loc[["M-1", "M-2"], "access_point_id"].isna().all()
    assert meters.loc[["M-1", "M-2"], "transformer_id"].tolist() == ["T1", "T1"]


# -- GBK text and Excel sheets with Chinese headers --

ZH_HEADER = "户号,客户名称,用电地址,联系电话,用电类别,电压等级,表号,经度,纬度\n"
ZH_ROWS = ["C1,张三,琴城镇一组1号,13800138000,居民,低压,M1,116.45,27.20",
           "C2,李四,琴城镇一组2号,,商业,低压,M1,116.55,27.21"]


def test_gbk_csv_with_chinese_headers_and_values(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    path = tmp_path / "客户.csv"
    path.write_bytes((ZH_HEADER + "\n".join(ZH_ROWS) + "\n").encode("gbk"))
    import_layer(tiny_store, "customers", path)
    back = tiny_store.read_layer("customers")
    assert back.loc["C1", ["name", "address", "phone", "category", "voltage", "meter_id"]].tolist() == [
        "张三", "琴城镇一组1号", "13800138000", "residential", "low", "M1"]
    assert back.loc["C2", "category"] == "commercial" and pd.isna(back.loc["C2", "phone"])
    assert back.geometry.loc["C2"].equals(Point(116.55, 27.21))


def workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    """An .xlsx written cell by cell with openpyxl, as an Excel user would save it."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


CUSTOMER_SHEET = [
    ["户号", "客户名称", "地址", "电话", "用电类别", "电压等级", "表号", "经度", "纬度"],
    [3600000001, "王五", "琴城镇二组3号", 13700137000, "居民", "低压", "M1", 116.45, 27.2],
    [3600000002, "赵六", None, None, "农业", "低压", "M1", 116.46, 27.21],
]


def test_excel_sheet_with_chinese_headers(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    path = workbook(tmp_path / "客户.xlsx", {"客户信息": CUSTOMER_SHEET})
    result = import_layer(tiny_store, "customers", path)
    assert result.rows == 2
    back = tiny_store.read_layer("customers")
    assert sorted(back.index) == ["3600000001", "3600000002"]
    assert back.loc["3600000001", ["name", "address", "phone", "category"]].tolist() == [
        "王五", "琴城镇二组3号", "13700137000", "residential"]
    assert back.loc["3600000002", ["address", "phone"]].isna().all()
    assert back.loc["3600000002", "category"] == "agricultural"
    assert back.geometry.loc["3600000002"].equals(Point(116.46, 27.21))


def test_workbook_with_several_sheets_needs_layer(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    path = workbook(tmp_path / "导出.xlsx", {"说明": [["本表由营销系统导出"]], "客户信息": CUSTOMER_SHEET})
    with pytest.raises(DataError, match=r"导出\.xlsx: holds 2 sheets \(说明, 客户信息\): pick one with --layer"):
        import_layer(tiny_store, "customers", path)
    with pytest.raises(DataError, match=r"no sheet '客户'; it has: 说明, 客户信息"):
        import_layer(tiny_store, "customers", path, source_layer="客户")
    assert import_layer(tiny_store, "customers", path, source_layer="客户信息").rows == 2


def test_a_bad_excel_row_is_named(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    rows = [*CUSTOMER_SHEET, [3600000003, "钱七", None, None, "宿舍", "低压", "M1", 116.47, 27.2]]
    before = tiny_store.path.read_bytes()
    with pytest.raises(DataError, match=r"column 'category' must be one of .* row 4: '宿舍'"):
        import_layer(tiny_store, "customers", workbook(tmp_path / "c.xlsx", {"客户": rows}))
    assert tiny_store.path.read_bytes() == before


def test_a_damaged_workbook_is_one_clear_error(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    path = tmp_path / "c.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"c\.xlsx: not a readable Excel workbook"):
        import_layer(tiny_store, "customers", path)


# -- CGCS2000 / Gauss–Krüger 3° zones --

#: Two customer points, and their CGCS2000 3° GK coordinates worked out by pyproj (independent of the importer).
LONLAT = [(116.45, 27.20), (116.55, 27.21)]


def gk(epsg: int) -> list[tuple[float, float]]:
    from pyproj import Transformer

    t = Transformer.from_crs(4326, epsg, always_xy=True)
    return [t.transform(lon, lat) for lon, lat in LONLAT]


def xy_csv(path: Path, xy: list[tuple[float, float]]) -> Path:
    rows = [f"C{i + 1},客户{i + 1},residential,low,M1,{x:.3f},{y:.3f}" for i, (x, y) in enumerate(xy)]
    path.write_text("customer_id,name,category,voltage,meter_id,x,y\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def assert_lonlat(store: GeoPackageStore) -> None:
    got = store.read_layer("customers").geometry
    for cid, (lon, lat) in zip(["C1", "C2"], LONLAT, strict=True):
        assert got.loc[cid].x == pytest.approx(lon, abs=1e-7) and got.loc[cid].y == pytest.approx(lat, abs=1e-7)


def test_gauss_kruger_zone_prefix_is_recognised(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    """EPSG:4527 is zone 39 (central meridian 117°E), its eastings 39 xxx xxx m."""
    xy = gk(4527)
    assert all(39_000_000 < x < 40_000_000 for x, _ in xy)
    import_layer(tiny_store, "customers", xy_csv(tmp_path / "gk.csv", xy))
    assert_lonlat(tiny_store)


def test_gauss_kruger_without_prefix_takes_the_territorys_meridian(tiny_store: GeoPackageStore,
                                                                    tmp_path: Path) -> None:
    """The territory is at 116.5°E: 3° zone of 117°E, EPSG:4548."""
    import_layer(tiny_store, "customers", xy_csv(tmp_path / "gk.csv", gk(4548)))
    assert_lonlat(tiny_store)


def test_gauss_kruger_given_with_crs(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    import_layer(tiny_store, "customers", xy_csv(tmp_path / "gk.csv", gk(4548)), crs="EPSG:4548")
    assert_lonlat(tiny_store)


def test_coordinates_that_do_not_fit_the_crs_are_refused(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    """Metres of the 117°E zone read as the 108°E zone land about 9° west of the county."""
    before = tiny_store.path.read_bytes()
    with pytest.raises(CoordinateSystemError, match=r"row 2: coordinates .* do not fit EPSG:4545 .*outside the "
                                                    r"service area — pass the right --crs"):
        import_layer(tiny_store, "customers", xy_csv(tmp_path / "gk.csv", gk(4548)), crs="EPSG:4545")
    assert tiny_store.path.read_bytes() == before


def test_metres_without_a_zone_or_territory_ask_for_crs(tmp_path: Path) -> None:
    store = GeoPackageStore(tmp_path / "new.gpkg")
    with pytest.raises(CoordinateSystemError, match=r"not degrees .*pass --crs EPSG:xxxx \(CGCS2000"):
        import_layer(store, "customers", xy_csv(tmp_path / "gk.csv", gk(4548)))


# -- Shapefile sets and GeoPackages with several layers --


def customer_frame(epsg: int = 4326) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"customer_id": ["C1", "C2"], "name": ["张三", "李四"], "category": ["residential", "commercial"],
         "voltage": ["low", "low"], "meter_id": ["M1", "M1"]},
        geometry=[Point(p) for p in LONLAT], crs=4326).to_crs(epsg)


def test_shapefile_set_in_gauss_kruger_with_its_prj(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    import pyogrio

    shp = tmp_path / "客户.shp"  # a dBase field name has at most 10 characters
    pyogrio.write_dataframe(customer_frame(4548).rename(columns={"customer_id": "customer_i"}), shp, encoding="utf-8")
    assert {p.suffix for p in tmp_path.iterdir()} >= {".shp", ".shx", ".dbf", ".prj", ".cpg"}
    import_layer(tiny_store, "customers", shp)
    assert_lonlat(tiny_store)
    assert tiny_store.read_layer("customers").loc["C2", "name"] == "李四"


def test_gbk_shapefile_without_cpg_is_read_with_encoding(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    import pyogrio

    shp = tmp_path / "客户.shp"
    pyogrio.write_dataframe(customer_frame().rename(columns={"customer_id": "customer_i"}), shp, encoding="gbk")
    (tmp_path / "客户.cpg").unlink(missing_ok=True)
    with pytest.raises(DataError, match="--encoding gbk"):
        import_layer(tiny_store, "customers", shp)
    import_layer(tiny_store, "customers", shp, encoding="gbk")
    assert tiny_store.read_layer("customers").loc["C1", "name"] == "张三"


def test_geopackage_with_several_layers(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    import pyogrio
    from typer.testing import CliRunner

    from gridservice.cli import app

    gpkg = tmp_path / "gis.gpkg"
    pyogrio.write_dataframe(customer_frame(), gpkg, layer="客户")
    pyogrio.write_dataframe(customer_frame().iloc[:1], gpkg, layer="低压客户", append=False)
    with pytest.raises(DataError, match=r"gis\.gpkg: holds 2 layers \(客户, 低压客户\): pick one with --layer"):
        import_layer(tiny_store, "customers", gpkg)
    res = CliRunner().invoke(app, ["import", "customers", str(gpkg), "--layer", "客户", "--data", str(tiny_store.path)])
    assert res.exit_code == 0, res.output
    assert sorted(tiny_store.read_layer("customers").index) == ["C1", "C2"]


def test_geopackage_layer_named_like_the_target_is_taken(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    import pyogrio

    gpkg = tmp_path / "export.gpkg"
    pyogrio.write_dataframe(customer_frame(), gpkg, layer="customers")
    pyogrio.write_dataframe(customer_frame().iloc[:1], gpkg, layer="transformers_draft")
    assert import_layer(tiny_store, "customers", gpkg).rows == 2


# -- stations drawn as their territory (供电所辖区) --


def station_file(path: Path, territory: Polygon, **office: float) -> Path:
    props = {"station_id": "S1", "name": "琴城供电所", **office}
    return geojson(path, [(props, mapping(territory))])


def test_station_polygon_keeps_its_office_point(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    territory = box(116.40, 27.10, 116.60, 27.30)
    path = station_file(tmp_path / "所.geojson", territory, office_lon=116.52, office_lat=27.21)
    import_layer(tiny_store, "stations", path, replace=True)
    s = tiny_store.read_layer("stations").loc["S1"]
    assert s.geometry.equals(Point(116.52, 27.21))
    assert shapely.from_wkt(s["territory"]).equals(territory)


def test_station_polygon_without_office_gets_a_point_inside(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    """A U-shaped territory: its centroid (116.5, 27.185) lies in the notch, the office point must not."""
    territory = Polygon([(116.40, 27.10), (116.60, 27.10), (116.60, 27.30), (116.55, 27.30), (116.55, 27.15),
                         (116.45, 27.15), (116.45, 27.30), (116.40, 27.30)])
    assert not territory.contains(territory.centroid)
    import_layer(tiny_store, "stations", station_file(tmp_path / "所.geojson", territory), replace=True)
    office = tiny_store.read_layer("stations").geometry.loc["S1"]
    assert office.geom_type == "Point" and territory.contains(office)


def test_validate_says_where_a_station_territory_and_its_grids_differ(tiny_store: GeoPackageStore,
                                                                      tmp_path: Path) -> None:
    """The grids of S1 cover 116.40–116.60 °E × 27.10–27.30 °N; the drawn territory stops at 27.25 °N,
    so a strip 0.2° × 0.05° of grids lies outside it. Its area by pyproj's geodesic: about 98.8 km²."""
    from pyproj import Geod

    from gridservice.checks import validate
    from gridservice.model import ServiceArea

    strip = box(116.40, 27.25, 116.60, 27.30)
    expected_km2 = abs(Geod(ellps="WGS84").geometry_area_perimeter(strip)[0]) / 1e6
    import_layer(tiny_store, "stations", station_file(tmp_path / "所.geojson", box(116.40, 27.10, 116.60, 27.25)),
                 replace=True)
    found = validate(ServiceArea.load(tiny_store))
    hit = found[found["check"] == "station_territory"]
    assert list(hit["feature_id"]) == ["S1"] and list(hit["severity"]) == ["warning"]
    message = hit["message"].iloc[0]
    assert "0.00 km² of territory without its grids" in message
    outside = float(re.search(r"([\d.]+) km² of its grids outside", message).group(1))
    assert outside == pytest.approx(expected_km2, rel=0.005)
    assert hit.geometry.iloc[0].symmetric_difference(strip).area < 1e-12


def test_a_station_territory_equal_to_its_grids_gives_no_finding(tiny_store: GeoPackageStore,
                                                                 tmp_path: Path) -> None:
    from gridservice.checks import check_station_territories
    from gridservice.model import ServiceArea

    import_layer(tiny_store, "stations", station_file(tmp_path / "所.geojson", box(116.40, 27.10, 116.60, 27.30)),
                 replace=True)
    assert not len(check_station_territories(ServiceArea.load(tiny_store)))
