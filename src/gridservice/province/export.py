"""The province as a data lake: GeoParquet partitioned by county.

``export`` writes, under one folder (``province.parquet``), one dataset per
layer of :data:`LAYERS` in the hive layout::

    province.parquet/customers/county=nanfeng/part-0.parquet
    province.parquet/customers/county=yihuang/part-0.parquet
    province.parquet/energy_readings/county=nanfeng/month=2026-10/part-0.parquet
    province.parquet/meter_transformers/county=nanfeng/part-0.parquet
    …

Readings are partitioned by county and month, and each meter's transformer
is written beside them, for line loss on dask.dataframe
(:mod:`gridservice.province.readings`).

Layers with geometry are GeoParquet (``geopandas.read_parquet``,
``dask_geopandas.read_parquet`` and DuckDB's spatial extension read them);
the county is in the path, not in the files, as the hive layout has it. Each
county is one task that writes its own partitions (so the folder must be one
the workers share with the client); the export is all or nothing: the
partitions are written into a hidden sibling folder that is renamed into place
only when every county succeeded.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from distributed import Client

from gridservice.errors import DataError
from gridservice.province.readings import LINKS, PART, READINGS, write_links, write_readings
from gridservice.province.run import CountyOutcome, gather
from gridservice.workspace import open_area

#: The layers a province export holds (with derived columns, such as customers' grid_id).
LAYERS = ("customers", "grids", "transformers", "energy_readings")


def export_county(url: str, root: str, county: str) -> dict[str, int]:
    """Write one county's layers as ``root/<layer>/county=<county>/part-0.parquet`` (readings also by
    month) and its meters' transformers; rows per dataset."""
    area = open_area(url)
    rows = {}
    for layer in LAYERS:
        frame = area.layers[layer]
        frame = frame.reset_index(drop=frame.index.name is None)
        if layer == READINGS:
            rows[layer] = write_readings(root, county, frame)
            continue
        folder = Path(root) / layer / f"county={county}"
        folder.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(folder / PART, index=False)  # GeoParquet for a GeoDataFrame
        rows[layer] = len(frame)
    rows[LINKS] = write_links(root, county, area)
    return rows


def export(client: Client, stores: dict[str, str], to: str | os.PathLike[str], *,
           on_done: Callable[[CountyOutcome], None] | None = None) -> list[CountyOutcome]:
    """Export every county of ``stores`` to the folder ``to`` (which must not exist yet).

    Returns the outcomes; when any county failed, nothing is written.

    Raises
    ------
    DataError
        If ``to`` already exists.
    """
    target = Path(to)
    if target.exists():
        msg = f"{target} already exists: remove it or choose another folder"
        raise DataError(msg)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        outcomes = gather(client, export_county, {c: (url, str(tmp), c) for c, url in stores.items()}, stores,
                          options={}, prefix="export", on_done=on_done)
        if any(o.error for o in outcomes):
            shutil.rmtree(tmp)
        else:
            tmp.chmod(0o755)  # mkdtemp makes 0700; a data lake is meant to be read
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return outcomes
