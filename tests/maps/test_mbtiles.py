"""A local MBTiles file as the basemap: checked on open, served at /tiles/{z}/{x}/{y} with the TMS row flip."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gridservice.errors import DataError
from gridservice.maps import base_map, map_html, resolve_basemap
from gridservice.maps.mbtiles import TILE_URL, MBTiles

TILE = b"\x89PNG\r\n\x1a\n tile z1 x1 y1"


def _mbtiles(path: Path, *, fmt: str = "png") -> Path:
    with closing(sqlite3.connect(path)) as db:
        db.executescript("CREATE TABLE metadata (name text, value text);"
                         "CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer,"
                         " tile_data blob);")
        db.executemany("INSERT INTO metadata VALUES (?, ?)",
                       [("name", "南丰 county"), ("format", fmt), ("maxzoom", "2"), ("attribution", "our survey")])
        # XYZ z=1, x=1, y=1 is TMS row 2**1 - 1 - 1 = 0
        db.execute("INSERT INTO tiles VALUES (1, 1, 0, ?)", (TILE,))
        db.commit()
    return path


def test_tiles_are_read_by_xyz_with_the_row_flipped(tmp_path):
    tiles = MBTiles.open(_mbtiles(tmp_path / "county.mbtiles"))
    assert (tiles.format, tiles.max_zoom, tiles.attribution, tiles.media_type) == ("png", 2, "our survey", "image/png")
    assert tiles.tile(1, 1, 1) == TILE
    assert tiles.tile(1, 1, 0) is None  # the TMS row 0 read as XYZ y=0 would be wrong
    assert tiles.tile(1, 2, 0) is None and tiles.tile(-1, 0, 0) is None


@pytest.mark.parametrize(("make", "error"), [
    (lambda p: p, "no such MBTiles file"),
    (lambda p: (p.write_text("not sqlite"), p)[1], "not an MBTiles file"),
    (lambda p: _mbtiles(p, fmt="pbf"), "only raster tiles"),
])
def test_a_bad_file_is_one_clear_error(tmp_path, make, error):
    path = make(tmp_path / "bad.mbtiles")
    with pytest.raises(DataError, match=error) as info:
        resolve_basemap(str(path))
    assert str(path) in str(info.value)


def test_served_maps_use_the_file_and_exported_maps_refuse_it(tmp_path):
    path = _mbtiles(tmp_path / "county.mbtiles")
    tiles = resolve_basemap(str(path))
    assert (tiles["tiles"], tiles["max_zoom"], tiles["mbtiles"]) == (TILE_URL, 2, str(path))
    m = base_map((116.4, 27.1, 116.5, 27.2), basemap=str(path))
    assert TILE_URL in map_html(m, inline=False)
    with pytest.raises(DataError, match="served by `gridservice serve`"):
        map_html(m)


def test_the_server_hands_out_the_tiles(tmp_path, monkeypatch):
    from gridservice.api.web import mount_web
    from gridservice.config import Settings

    path = _mbtiles(tmp_path / "county.mbtiles")
    monkeypatch.setenv("GRIDSERVICE_BASEMAP", str(path))
    app = FastAPI()
    app.state.settings = Settings()  # what create_app sets: read from the environment
    mount_web(app)
    client = TestClient(app)
    config = client.get("/web-config.json").json()["basemap"]
    assert (config["url"], config["max_zoom"], config["local"]) == (TILE_URL, 2, False)
    hit = client.get("/tiles/1/1/1")
    assert (hit.status_code, hit.content, hit.headers["content-type"]) == (200, TILE, "image/png")
    assert client.get("/tiles/1/1/0").status_code == 404
