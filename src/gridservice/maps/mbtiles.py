"""A local MBTiles file as the basemap: raster tiles the server hands out at ``/tiles/{z}/{x}/{y}``.

MBTiles is one SQLite file (``tiles(zoom_level, tile_column, tile_row,
tile_data)`` plus a ``metadata`` table); rows count from the south (TMS), so
the XYZ row ``y`` of zoom ``z`` is stored as ``2**z - 1 - y``. Raster tiles
(png, jpg, webp) only: vector tiles need a renderer the maps do not carry.
An intranet user exports the county from any tile tool (QGIS "Generate XYZ
tiles (MBTiles)", for one) and points ``GRIDSERVICE_BASEMAP`` at the file.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from gridservice.errors import DataError

__all__ = ["TILE_URL", "MBTiles"]

#: Where the server serves the configured file's tiles.
TILE_URL = "/tiles/{z}/{x}/{y}"

_MIME = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


@dataclass(frozen=True)
class MBTiles:
    """An opened-and-checked MBTiles file (read-only)."""

    path: Path
    format: str
    max_zoom: int
    attribution: str

    @classmethod
    def open(cls, path: str | Path) -> MBTiles:
        """Check ``path`` is a raster MBTiles file and read its metadata.

        Raises
        ------
        DataError
            Naming the file and what is wrong with it.
        """
        path = Path(path).expanduser()
        if not path.is_file():
            msg = f"basemap {path}: no such MBTiles file"
            raise DataError(msg)
        try:
            with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
                meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
                db.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles LIMIT 1").fetchall()
                top = db.execute("SELECT max(zoom_level) FROM tiles").fetchone()[0]
        except sqlite3.Error as exc:
            msg = f"basemap {path}: not an MBTiles file ({exc})"
            raise DataError(msg) from None
        fmt = str(meta.get("format", "png")).lower()
        if fmt not in _MIME:
            msg = f"basemap {path}: tiles in format {fmt!r}; only raster tiles (png, jpg, webp) can be drawn"
            raise DataError(msg)
        max_zoom = int(meta.get("maxzoom") or top or 19)
        return cls(path, fmt, max_zoom, str(meta.get("attribution") or meta.get("name") or path.name))

    @property
    def media_type(self) -> str:
        """The HTTP content type of the tiles."""
        return _MIME[self.format]

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile at XYZ ``z/x/y``, or ``None`` where the file has none."""
        if z < 0 or z > 30 or not (0 <= x < 2**z and 0 <= y < 2**z):
            return None
        with closing(sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                             (z, x, 2**z - 1 - y)).fetchone()
        return None if row is None else bytes(row[0])
