"""Import and export: every format, and every kind of bad input refused whole."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon
from typer.testing import CliRunner

from gridservice.cli import app
from gridservice.errors import CoordinateSystemError, DataError
from gridservice.io import GeoPackageStore
from gridservice.io.importer import export_layer, import_layer

CSV_HEADER = "customer_id,name,address,phone,category,voltage,meter_id,lon,lat\n"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def customers_csv(path: Path, rows: list[str], *, encoding: str = "utf-8") -> Path:
    path.write_bytes((CSV_HEADER + "\n".join(rows) + "\n").encode(encoding))
    return path


GOOD = [
    "C1,张三,琴城镇一组1号,13800138000,residential,low,M1,116.45,27.20",
    "C2,李四,琴城镇一组2号,13900139000,commercial,low,M1,116.55,27.21",
]


def test_csv_import_adds_customers(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    result = import_layer(tiny_store, "customers", customers_csv(tmp_path / "c.csv", GOOD))
    assert (result.rows, result.total) == (2, 2)
    back = tiny_store.read_layer("customers")
    assert back.loc["C1", "name"] == "张三"
    assert back.geometry.loc["C2"].equals(Point(116.55, 27.21))
    log = tiny_store.read_layer("audit_log")
    assert list(log["action"]) == ["import"] and list(log["layer"]) == ["customers"]


def test_gbk_csv_is_decoded_automatically(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    path = customers_csv(tmp_path / "gbk.csv", GOOD, encoding="gbk")
    import_layer(tiny_store, "customers", path)
    assert tiny_store.read_layer("customers").loc["C2", "address"] == "琴城镇一组2号"


def test_gbk_csv_declared_utf8_names_the_line_and_the_fix(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    path = customers_csv(tmp_path / "gbk.csv", GOOD, encoding="gbk")
    with pytest.raises(DataError, match=r"gbk\.csv: line 2 is not valid utf-8.*--encoding gbk"):
        import_layer(tiny_store, "customers", path, encoding="utf-8")


def test_swapped_lon_lat_is_refused(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    rows = [r.replace("116.45,27.20", "27.20,116.45").replace("116.55,27.21", "27.21,116.55") for r in GOOD]
    before = digest(tiny_store.path)
    with pytest.raises(CoordinateSystemError, match=r"row 2: .*swapped"):
        import_layer(tiny_store, "customers", customers_csv(tmp_path / "s.csv", rows))
    assert digest(tiny_store.path) == before


def test_metres_passed_as_degrees_are_refused(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    rows = [GOOD[0], GOOD[1].replace("116.55,27.21", "452000.0,3010000.0")]
    with pytest.raises(CoordinateSystemError, match=r"row 3: .*projected.*--crs"):
        import_layer(tiny_store, "customers", customers_csv(tmp_path / "m.csv", rows))


def test_projected_file_with_crs_is_reprojected(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    utm = gpd.GeoSeries([Point(116.45, 27.20)], crs=4326).to_crs(32650).iloc[0]
    rows = [GOOD[0].replace("116.45,27.20", f"{utm.x},{utm.y}")]
    import_layer(tiny_store, "customers", customers_csv(tmp_path / "p.csv", rows), crs="EPSG:32650")
    got = tiny_store.read_layer("customers").geometry.loc["C1"]
    assert got.x == pytest.approx(116.45, abs=1e-7) and got.y == pytest.approx(27.20, abs=1e-7)


def test_gcj02_coordinates_are_converted(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    import prcoords

    gcj = prcoords.wgs_gcj((27.20, 116.45))  # independent forward transform
    rows = [GOOD[0].replace("116.45,27.20", f"{gcj.lon},{gcj.lat}")]
    import_layer(tiny_store, "customers", customers_csv(tmp_path / "g.csv", rows), crs="gcj02")
    got = tiny_store.read_layer("customers").geometry.loc["C1"]
    assert got.x == pytest.approx(116.45, abs=1e-6) and got.y == pytest.approx(27.20, abs=1e-6)


def test_duplicate_ids_name_the_row(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    rows = [*GOOD, GOOD[0].replace("张三", "张三丰")]
    with pytest.raises(DataError, match=r"d\.csv: column 'customer_id' is a duplicate id — row 4: 'C1'"):
        import_layer(tiny_store, "customers", customers_csv(tmp_path / "d.csv", rows))


def test_ids_already_in_the_store_are_refused_without_replace(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    path = customers_csv(tmp_path / "c.csv", GOOD)
    import_layer(tiny_store, "customers", path)
    with pytest.raises(DataError, match="already in customers"):
        import_layer(tiny_store, "customers", path)
    result = import_layer(tiny_store, "customers", path, replace=True)
    assert result.total == 2


def test_unknown_parent_is_refused(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    rows = [GOOD[0].replace(",M1,", ",M404,")]
    before = digest(tiny_store.path)
    with pytest.raises(DataError, match=r"'meter_id' refers to unknown meters — C1: 'M404'"):
        import_layer(tiny_store, "customers", customers_csv(tmp_path / "u.csv", rows))
    assert digest(tiny_store.path) == before


def test_bad_choice_and_bad_number(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"column 'category' must be one of .* row 2: 'household'"):
        bad = [GOOD[0].replace("residential", "household")]
        import_layer(tiny_store, "customers", customers_csv(tmp_path / "b.csv", bad))
    path = tmp_path / "t.csv"
    path.write_text("transformer_id,name,feeder_id,rated_kva,kind,lon,lat\nT9,九号,F1,big,public,116.5,27.2\n")
    with pytest.raises(DataError, match=r"column 'rated_kva' is not a number — row 2: 'big'"):
        import_layer(tiny_store, "transformers", path)


def test_invalid_polygon_is_refused_with_its_reason(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    bowtie = Polygon([(116.40, 27.10), (116.50, 27.20), (116.50, 27.10), (116.40, 27.20)])
    grids = gpd.GeoDataFrame(
        {"grid_id": ["G9"], "code": ["NF-09"], "name": ["九网格"], "station_id": ["S1"], "area_class": ["rural"],
         "plan_version": [1]}, geometry=[bowtie], crs=4326)
    path = tmp_path / "grids.geojson"
    grids.to_file(path)
    expected = r"grids\.geojson: column 'geometry' is an invalid polygon — row 1: 'Self-intersection"
    with pytest.raises(DataError, match=expected):
        import_layer(tiny_store, "grids", path)


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".shp"])
def test_gis_formats_import(tiny_store: GeoPackageStore, tmp_path: Path, suffix: str) -> None:
    pts = gpd.GeoDataFrame({"access_point_id": ["A1", "A2"], "transformer_id": ["T1", "T1"]},
                           geometry=[Point(116.481, 27.181), Point(116.482, 27.182)], crs=4326)
    path = tmp_path / f"ap{suffix}"
    with warnings.catch_warnings():  # shapefiles truncate names to 10 characters; the importer maps them back
        warnings.simplefilter("ignore")
        pts.to_file(path)
    import_layer(tiny_store, "access_points", path)
    back = tiny_store.read_layer("access_points")
    assert list(back.index) == ["A1", "A2"]
    assert back.geometry.loc["A2"].equals_exact(Point(116.482, 27.182), 1e-9)


def test_attribute_csv_import(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("outage_id,device_id,kind,start_at,end_at,cause\n"
                    "O1,T1,planned,2026-10-01 08:00,2026-10-01 12:30,检修\n")
    import_layer(tiny_store, "outages", path)
    row = tiny_store.read_layer("outages").loc["O1"]
    assert row["start_at"] == pd.Timestamp("2026-10-01 08:00", tz="Asia/Shanghai")
    assert (row["end_at"] - row["start_at"]) == pd.Timedelta(minutes=270)


def test_impossible_timestamp_text_is_refused(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("outage_id,device_id,kind,start_at\nO1,T1,planned,2026-02-30 08:00\n")
    with pytest.raises(DataError, match=r"column 'start_at' is not a timestamp — row 2: '2026-02-30 08:00'"):
        import_layer(tiny_store, "outages", path)


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".gpkg"])
def test_export_round_trip(tiny_store: GeoPackageStore, tmp_path: Path, suffix: str) -> None:
    import_layer(tiny_store, "customers", customers_csv(tmp_path / "c.csv", GOOD))
    out = tmp_path / f"out{suffix}"
    assert export_layer(tiny_store.read_layer("customers"), "customers", out) == 2
    other = GeoPackageStore(tmp_path / "again.gpkg")
    other.write({"service_area": tiny_store.read_layer("service_area"), "meters": tiny_store.read_layer("meters")},
                create=True)
    import_layer(other, "customers", out)
    a, b = tiny_store.read_layer("customers"), other.read_layer("customers")
    assert list(a.index) == list(b.index) and list(a["name"]) == list(b["name"])
    assert np.allclose(a.geometry.x, b.geometry.x) and np.allclose(a.geometry.y, b.geometry.y)


def test_cli_import_reports_one_line_and_exits_nonzero(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    runner = CliRunner()
    path = customers_csv(tmp_path / "u.csv", [GOOD[0].replace(",M1,", ",M404,")])
    res = runner.invoke(app, ["import", "customers", str(path), "--data", str(tiny_store.path)])
    assert res.exit_code != 0
    assert "unknown meters" in str(res.exception) or "unknown meters" in res.output
    ok = runner.invoke(app, ["import", "customers", str(customers_csv(tmp_path / "c.csv", GOOD)),
                             "--data", str(tiny_store.path)])
    assert ok.exit_code == 0, ok.output
    assert "added 2 rows" in ok.output


def test_cli_validate_json(tiny_store: GeoPackageStore) -> None:
    res = CliRunner().invoke(app, ["validate", "--data", str(tiny_store.path), "--format", "json"])
    found = json.loads(res.stdout)
    assert res.exit_code == (1 if any(f["severity"] == "error" for f in found) else 0)


def test_validate_finds_unknown_parents_and_invalid_grids(tiny_store: GeoPackageStore) -> None:
    from gridservice.checks import validate
    from gridservice.model import ServiceArea

    area = ServiceArea.load(tiny_store)
    bad_grids = area.grids.copy()
    bad_grids.loc["G2", "geometry"] = Polygon([(116.5, 27.1), (116.6, 27.3), (116.6, 27.1), (116.5, 27.3)])
    meters = pd.DataFrame({"meter_id": ["M1", "M2"], "transformer_id": ["T1", "T404"]})
    found = validate(area.replace(grids=bad_grids, meters=meters))
    got = set(zip(found["check"], found["feature_id"], strict=True))
    assert ("unknown_parent", "M2") in got
    assert ("invalid_geometry", "G2") in got
    invalid = found[(found["check"] == "invalid_geometry") & (found["feature_id"] == "G2")]
    assert invalid.geometry.iloc[0].bounds == (116.5, 27.1, 116.6, 27.3)


def test_gbk_gis_files_are_refused_unless_told_and_then_read(tmp_path) -> None:
    import json

    import geopandas as gpd
    import pyogrio
    from shapely.geometry import Point

    from gridservice.io.importer import read_gis

    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "城区一号"},
                                                      "geometry": {"type": "Point", "coordinates": [116.4, 27.1]}}]}
    geojson = tmp_path / "gbk.geojson"
    geojson.write_bytes(json.dumps(fc, ensure_ascii=False).encode("gbk"))
    shp = tmp_path / "gbk.shp"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"name": ["城区一号"]}, geometry=[Point(116.4, 27.1)], crs=4326), shp,
                            encoding="gbk")
    shp.with_suffix(".cpg").unlink(missing_ok=True)  # as many utility exports come: no code page file
    for path in (geojson, shp):
        with pytest.raises(DataError, match="pass --encoding gbk"):
            read_gis(path)
        assert read_gis(path, encoding="gbk")["name"].tolist() == ["城区一号"]
    with pytest.raises(DataError, match="unknown encoding 'latin1'"):
        read_gis(geojson, encoding="latin1")


def test_empty_files_and_bad_reading_periods_write_nothing(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    before = digest(tiny_store.path)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="the file is empty"):
        import_layer(tiny_store, "outages", empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("reading_id,device_id,period,kwh\n", encoding="utf-8")
    with pytest.raises(DataError, match="--replace would empty the layer"):
        import_layer(tiny_store, "energy_readings", header_only, replace=True)
    bad = tmp_path / "readings.csv"
    bad.write_text("reading_id,device_id,period,kwh\nR1,T1,2026-03,5\nR2,T1,2026-13,5\nR3,T1,2026-W10,5\n",
                   encoding="utf-8")
    with pytest.raises(DataError, match=r"'period' must be a month YYYY-MM or a day YYYY-MM-DD — row 3"):
        import_layer(tiny_store, "energy_readings", bad)
    assert digest(tiny_store.path) == before


AUDIT_HEADER = "log_id,at,user,action,layer,feature_id,detail\n"


def _audit_csv(path: Path, ids: list[str]) -> Path:
    rows = [f"{i},2026-11-02T09:00:00+08:00,archive,import,customers,,from the old system" for i in ids]
    path.write_text(AUDIT_HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_the_audit_log_is_append_only_for_every_writer(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    import_layer(tiny_store, "customers", customers_csv(tmp_path / "c.csv", GOOD))  # one entry in the log
    runner = CliRunner()
    before = digest(tiny_store.path)
    res = runner.invoke(app, ["import", "audit_log", str(_audit_csv(tmp_path / "a.csv", ["L1", "L2"])),
                              "--data", str(tiny_store.path), "--replace"])
    assert res.exit_code != 0 and digest(tiny_store.path) == before
    assert "audit_log is append-only: --replace is refused" in str(res.exception) + res.output
    # Without --replace the rows are added, and the message counts what the layer really holds:
    # 1 entry + 2 imported + this import's own entry.
    ok = runner.invoke(app, ["import", "audit_log", str(tmp_path / "a.csv"), "--data", str(tiny_store.path)])
    assert ok.exit_code == 0, ok.output
    assert "audit_log: added 2 rows (4 in layer)" in ok.output
    assert len(tiny_store.read_layer("audit_log")) == 4
    # Any other whole-layer write that would drop audit rows is refused by the store itself.
    log = tiny_store.read_layer("audit_log")
    with pytest.raises(DataError, match="audit_log is append-only: this write would drop 3 of its 4 rows"):
        tiny_store.write({"audit_log": log.head(1)})
    tiny_store.write({"audit_log": log})  # the same rows: fine
    assert len(tiny_store.read_layer("audit_log")) == 4


APPLICATIONS_HEADER = ("application_id,kind,voltage,category,capacity_kva,status,accepted_at,accepted_by,"
                       "connected_at,connected_by,channel,lon,lat\n")


def test_applications_import_and_bad_rows(tiny_store: GeoPackageStore, tmp_path: Path) -> None:
    staff = gpd.GeoDataFrame({"staff_id": ["ST1"], "name": ["张伟"], "role": ["grid_member"], "station_id": ["S1"]},
                             geometry=[None], crs=4326)
    tiny_store.write({"staff": staff})
    path = tmp_path / "a.csv"
    path.write_text(APPLICATIONS_HEADER
                    + "A1,new,low,small_micro_enterprise,50,connected,2026-10-08 09:00,ST1,2026-10-09 15:00,ST1,"
                      "网上国网,116.55,27.2\n")
    import_layer(tiny_store, "applications", path)
    back = tiny_store.read_layer("applications")
    assert back.loc["A1", "connected_at"] == pd.Timestamp("2026-10-09 15:00", tz="Asia/Shanghai")
    bad = tmp_path / "b.csv"
    bad.write_text(APPLICATIONS_HEADER
                   + "A2,new,low,residential,5,connected,2026-10-08 09:00,ST1,,,柜台,116.55,27.2\n"
                   + "A3,new,medium,residential,5,connected,2026-10-08 09:00,ST1,,,柜台,116.55,27.2\n")
    before = digest(tiny_store.path)
    with pytest.raises(DataError, match=r"b\.csv: column 'voltage' must be one of low/high — row 3: 'medium'"):
        import_layer(tiny_store, "applications", bad)
    bad.write_text(APPLICATIONS_HEADER + "A4,new,low,residential,5,connected,2026-10-08 09:00,ST9,,,柜台,116.55,27.2\n")
    with pytest.raises(DataError, match=r"'accepted_by' refers to unknown staff — A4: 'ST9'"):
        import_layer(tiny_store, "applications", bad)
    assert digest(tiny_store.path) == before
