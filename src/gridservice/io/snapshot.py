"""The area a server last loaded, kept on disk as Arrow files so that the next start is a load, not a read.

Reading a million-customer GeoPackage through GDAL takes seconds (12 million meter readings are half of
it); the same frames as Arrow IPC files, memory-mapped, take a fraction of that. A snapshot is the
layers as the server held them (grid ids derived), with the store's version and change-journal position
they were read at. A start takes it when the store is still at that version, or when the store's journal
says which records were written since (they are then read by their keys and merged, as a running server
merges another worker's writes); otherwise it reads the store and saves a new snapshot.

One snapshot per store and code: an entry is ``<root>/area-<digest>/`` (the digest of the store's URL
and of this package's source, so a new release never reads an old one's frames), a ``meta.json`` and
one ``<layer>.arrow`` per layer. It is written to a temporary directory and renamed into place. A
snapshot that cannot be read or written is skipped, as without one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

__all__ = ["Snapshot", "load", "save"]

log = logging.getLogger(__name__)
_FORMAT = 1
#: A temporary entry this old is a save that was cut short, not one under way.
_ABANDONED_S = 3600
_PACKAGE = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Snapshot:
    """Layers as read at a store's ``version`` (its ``repr``) and change-journal ``position``."""

    frames: dict[str, pd.DataFrame]
    version: str
    position: int | None


def load(root: Path, url: str) -> Snapshot | None:
    """The snapshot of the store at ``url`` saved in ``root``, or ``None`` (none, unreadable, other code)."""
    path = _entry(root, url)
    try:
        meta = json.loads((path / "meta.json").read_text())
        if meta.get("format") != _FORMAT or meta.get("url") != url:
            return None
        frames = {name: _read(path / f"{i}.arrow", layer) for i, (name, layer) in enumerate(meta["layers"].items())}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:
        log.warning("snapshot %s unreadable (%s): reading the store", path, exc)
        return None
    return Snapshot(frames, meta["version"], meta["position"])


def save(root: Path, url: str, snapshot: Snapshot) -> None:
    """Save ``snapshot`` of the store at ``url`` in ``root`` (replacing the one there); a failure is logged."""
    path = _entry(root, url)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for left in path.parent.glob(f".{path.name}.*"):  # a save cut short (the server stopped meanwhile)
            if time.time() - left.stat().st_mtime > _ABANDONED_S:
                shutil.rmtree(left, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            layers = {}
            for i, (name, df) in enumerate(snapshot.frames.items()):
                layers[name] = _write(df, tmp / f"{i}.arrow")
            (tmp / "meta.json").write_text(json.dumps({
                "format": _FORMAT, "url": url, "version": snapshot.version, "position": snapshot.position,
                "layers": layers}))
            old = path.with_name(f"{tmp.name}.old")
            if path.exists():
                path.rename(old)  # a reader now finds no snapshot (and reads the store), never half of one
            tmp.rename(path)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except Exception:  # saved in the background, for speed only: never the server's failure
        log.warning("snapshot not saved to %s", path, exc_info=True)


def _entry(root: Path, url: str) -> Path:
    return Path(root) / f"area-{hashlib.sha256(f'{url}:{_code()}'.encode()).hexdigest()[:40]}"


@functools.cache
def _code() -> str:
    """A digest of this package's source: frames saved by other code are not read."""
    digest = hashlib.sha256()
    for file in sorted(_PACKAGE.rglob("*.py")):
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _write(df: pd.DataFrame, file: Path) -> dict[str, object]:
    """Write ``df`` as one Arrow file; what :func:`_read` needs to make it again (its geometry's form and CRS)."""
    if not isinstance(df, gpd.GeoDataFrame):
        table, layer = _table(df), {"geometry": None}
    else:
        geoms = df.geometry.to_numpy()
        points = bool(len(geoms)) and bool((shapely.get_type_id(geoms) == 0).all()) and not shapely.has_z(geoms).any()
        layer = {"geometry": df.geometry.name, "crs": df.crs.to_json() if df.crs else None,
                 "points": points, "position": df.columns.get_loc(df.geometry.name)}
        table = _table(pd.DataFrame(df.drop(columns=df.geometry.name)))
        if points:  # x and y read back in one call; WKB is parsed feature by feature
            table = table.append_column("__x", pa.array(shapely.get_x(geoms))).append_column(
                "__y", pa.array(shapely.get_y(geoms)))
        else:
            table = table.append_column("__wkb", pa.array(shapely.to_wkb(geoms), pa.binary()))
    with pa.OSFile(str(file), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return layer


def _table(df: pd.DataFrame) -> pa.Table:
    """``pa.Table.from_pandas(df)``, column by column: pyarrow's own converts a pandas ``str`` column of
    millions of rows through Python strings (seconds; the column's Arrow data is taken as it is here)."""
    schema = pa.Table.from_pandas(df.iloc[:0], preserve_index=True).schema  # the pandas metadata: dtypes, index
    index = [c if isinstance(c, str) else None for c in json.loads(schema.metadata[b"pandas"])["index_columns"]]
    arrays = []
    for field in schema:
        values = df.index.get_level_values(index.index(field.name)) if field.name in index else df[field.name]
        arrays.append(pa.array(values.array, type=field.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def _read(file: Path, layer: Mapping[str, object]) -> pd.DataFrame:
    with pa.memory_map(str(file)) as source:
        table = pa.ipc.open_file(source).read_all()
    df = table.to_pandas()
    index = json.loads(table.schema.metadata[b"pandas"])["index_columns"]
    if len(index) == 1 and isinstance(index[0], str) and df.index.dtype == object \
            and pa.types.is_large_string(table.schema.field(index[0]).type):
        df.index = df.index.astype("str")  # pandas 2.3 reads an empty text index back as object
    name = layer["geometry"]
    if name is None:
        return df
    if layer["points"]:
        geoms = shapely.points(df.pop("__x").to_numpy(np.float64), df.pop("__y").to_numpy(np.float64))
    else:
        geoms = shapely.from_wkb(df.pop("__wkb").to_numpy(object))
    df.insert(int(layer["position"]), str(name), gpd.GeoSeries(geoms, index=df.index, crs=layer["crs"]))  # type: ignore[call-overload]
    return gpd.GeoDataFrame(df, geometry=str(name), crs=layer["crs"])
