"""The in-memory service area: one frame per layer, indexed by its key.

A :class:`ServiceArea` is what every analysis takes. Layers are
GeoDataFrames (EPSG:4326) or DataFrames with the layer's key as the index, so
``area.customers.loc["C0000001"]`` finds one customer. Lengths and areas are
computed in :attr:`ServiceArea.metric_crs`, the territory's UTM zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from gridservice import clock
from gridservice.errors import DataError, NotFoundError
from gridservice.findings import findings
from gridservice.io import Store, open_store
from gridservice.io.tables import conform
from gridservice.lookup import contains
from gridservice.schema import CRS, DEVICE_LAYERS, LAYERS, TIMEZONE


def utm_crs(geometry: shapely.Geometry) -> str:
    """The WGS 84 UTM zone (an ``EPSG:326xx``/``327xx`` code) of a lon/lat geometry's centroid.

    Examples
    --------
    >>> utm_crs(shapely.Point(116.5, 27.2))
    'EPSG:32650'
    """
    c = geometry.centroid
    zone = int((c.x + 180) // 6) + 1
    return f"EPSG:{32600 + zone if c.y >= 0 else 32700 + zone}"


class ServiceArea:
    """A county company's service area held in memory.

    Parameters
    ----------
    layers
        Layer name → frame. Frames are conformed to their schema (dtypes,
        key index); missing layers become empty. Frames whose name is not a
        declared layer are kept in :attr:`extra`.
    store
        Where the area was read from, if anywhere.
    """

    def __init__(
        self, layers: Mapping[str, pd.DataFrame], *, store: Store | None = None, trusted: bool = False
    ) -> None:
        self.layers: dict[str, pd.DataFrame] = {}
        for name in LAYERS:
            df = layers.get(name)
            if df is None:
                df = pd.DataFrame()
            elif trusted:
                self.layers[name] = df
                continue
            self.layers[name] = conform(name, df, source=name, check_values=False)
        self.extra = {k: v for k, v in layers.items() if k not in LAYERS}
        self.store = store

    @classmethod
    def load(cls, data: str | Store) -> ServiceArea:
        """Read a whole service area from a store or a ``--data`` value."""
        store = open_store(str(data)) if not isinstance(data, Store) else data
        frames = store.read()
        return cls(frames, store=store, trusted=True)

    def __getattr__(self, name: str) -> pd.DataFrame:
        layers = self.__dict__.get("layers")
        if layers is not None and name in layers:
            return layers[name]
        raise AttributeError(name)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={len(v)}" for k, v in self.layers.items() if len(v))
        return f"ServiceArea({counts})"

    @property
    def name(self) -> str:
        """The service area's name, or its store's."""
        if len(self.service_area):
            return str(self.service_area["name"].iloc[0])
        return str(self.store.url) if self.store else "service area"

    @property
    def as_of(self) -> pd.Timestamp:
        """The moment the data describes: ``service_area.as_of`` when the data
        carries one (a snapshot, the demo), else the clock's now (live data).
        Analyses judge deadlines and open outages, and pick their default
        period, at this time."""
        sa = self.service_area
        if "as_of" in sa.columns and sa["as_of"].notna().any():
            return pd.Timestamp(sa["as_of"].max()).tz_convert(TIMEZONE).as_unit("ms")
        return clock.now()

    @property
    def now(self) -> pd.Timestamp:
        """The latest moment a record may carry: the clock's now, or a snapshot's
        ``as_of`` if that is later. Records written to a snapshot after its
        ``as_of`` are new data, not errors; only times after this are."""
        return max(self.as_of, clock.now())

    @cached_property
    def territory(self) -> shapely.Geometry:
        """The territory polygon: the service_area layer, or the union of grids."""
        geoms = self.service_area.geometry if len(self.service_area) else self.grids.geometry
        if len(geoms) == 0:
            return shapely.Polygon()
        return shapely.union_all(geoms.to_numpy())

    @cached_property
    def metric_crs(self) -> str:
        """The UTM zone of the territory's centre, for metres and km²."""
        if self.territory.is_empty:
            return "EPSG:32650"
        return utm_crs(self.territory)

    def to_metric(self, frame: gpd.GeoDataFrame | gpd.GeoSeries) -> gpd.GeoDataFrame | gpd.GeoSeries:
        """A frame reprojected to :attr:`metric_crs`."""
        return frame.to_crs(self.metric_crs)

    def metric_xy(self, points: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
        """Point coordinates in :attr:`metric_crs` (NaN for a missing point), without building
        geometries: one pyproj call, several times faster than :meth:`to_metric` on 1M points."""
        geoms = points.to_numpy()
        return Transformer.from_crs(points.crs or CRS, self.metric_crs, always_xy=True).transform(
            shapely.get_x(geoms), shapely.get_y(geoms))

    def device_layer(self, device_id: str) -> str:
        """Which network layer holds ``device_id`` (or a clear error)."""
        for name in (*DEVICE_LAYERS, "switches"):
            if device_id in self.layers[name].index:
                return name
        msg = f"unknown device id {device_id!r}"
        raise NotFoundError(msg)

    def replace(self, **layers: pd.DataFrame) -> ServiceArea:
        """A copy with some layers replaced (frames are shared, not copied)."""
        merged = {**self.layers, **self.extra}
        new = object.__new__(ServiceArea)  # skip __init__: the other layers are already conformed
        new.store = self.store
        new.layers = {**self.layers}
        for name, df in layers.items():
            new.layers[name] = conform(name, df, check_values=False)
        new.extra = {k: v for k, v in merged.items() if k not in LAYERS}
        return new


def check_integrity(area: ServiceArea) -> gpd.GeoDataFrame:
    """Schema, ids, foreign keys and geometry validity of every layer.

    Returns
    -------
    geopandas.GeoDataFrame
        Findings (:mod:`gridservice.findings`), empty when all is well.
    """
    rows: list[dict[str, object]] = []
    for name, spec in LAYERS.items():
        df = area.layers[name]
        if not len(df):
            continue
        try:
            conform(name, df, source=name)
        except DataError as exc:
            rows.append({"check": "schema", "severity": "error", "layer": name, "message": str(exc)})
        for col in spec.columns:
            if col.parent is None or col.name not in df.columns:
                continue
            parents = area.layers[col.parent].index
            values = df[col.name]
            bad = pd.Series(values.notna().to_numpy() & ~contains(values, parents), index=df.index)
            for fid, value, geom in zip(_ids(df, bad), values[bad], _geoms(df, bad), strict=True):
                rows.append({
                    "check": "unknown_parent", "severity": "error", "layer": name, "feature_id": fid,
                    "message": f"{name} {fid}: {col.name} {value!r} is not in {col.parent}", "geometry": geom,
                })
        if spec.geometry is not None and "Polygon" in spec.geometry:
            geoms = df.geometry.to_numpy()
            invalid = ~shapely.is_missing(geoms) & ~shapely.is_valid(geoms)
            reasons = shapely.is_valid_reason(geoms[invalid])
            for fid, reason, geom in zip(df.index[invalid], reasons, geoms[invalid], strict=True):
                rows.append({
                    "check": "invalid_geometry", "severity": "error", "layer": name, "feature_id": str(fid),
                    "message": f"{name} {fid}: invalid polygon ({reason})", "geometry": geom,
                })
    rows.extend(_device_references(area))
    return findings(rows)


def _ids(df: pd.DataFrame, mask: pd.Series) -> list[str]:
    return [str(i) for i in df.index[mask.to_numpy()]]


def _geoms(df: pd.DataFrame, mask: pd.Series) -> list[object]:
    if isinstance(df, gpd.GeoDataFrame):
        return list(df.geometry[mask.to_numpy()])
    return [None] * int(mask.sum())


def _device_references(area: ServiceArea) -> list[dict[str, object]]:
    """Ids shared between network layers, and references to unknown devices."""
    rows: list[dict[str, object]] = []
    all_ids = pd.concat([area.layers[n].index.to_series() for n in (*DEVICE_LAYERS, "switches")])
    shared = all_ids[all_ids.duplicated(keep=False)].unique()
    for fid in shared[:100]:
        rows.append({"check": "duplicate_id", "severity": "error", "layer": "network", "feature_id": str(fid),
                     "message": f"device id {fid!r} is used in more than one network layer"})
    known = pd.Index(all_ids.unique())
    for name, column in (("outages", "device_id"), ("energy_readings", "device_id"),
                         ("switches", "from_device_id"), ("switches", "to_device_id")):
        df = area.layers[name]
        if not len(df):
            continue
        bad = pd.Series(~contains(df[column], known), index=df.index)
        for fid, value in zip(_ids(df, bad), df[column][bad], strict=True):
            rows.append({"check": "unknown_device", "severity": "error", "layer": name, "feature_id": fid,
                         "message": f"{name} {fid}: {column} {value!r} is not a known device"})
    meters = area.meters
    if len(meters):
        orphan = meters["access_point_id"].isna() & meters["transformer_id"].isna()
        for fid in _ids(meters, orphan):
            rows.append({"check": "unknown_parent", "severity": "error", "layer": "meters", "feature_id": fid,
                         "message": f"meters {fid}: neither access_point_id nor transformer_id is set"})
    return rows


def empty_area() -> ServiceArea:
    """A service area with every layer present and no rows."""
    return ServiceArea({})


__all__ = ["ServiceArea", "check_integrity", "empty_area"]
