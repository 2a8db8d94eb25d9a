"""Files as utilities export them: optional columns absent, GBK text, Excel sheets with Chinese
headers, CGCS2000 Gauss–Krüger coordinates, Shapefile sets, GeoPackages with several layers,
stations drawn as their territory."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

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
