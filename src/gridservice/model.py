"""The in-memory service area: one frame per layer, indexed by its key.

A :class:`ServiceArea` is what every analysis takes. Layers are
GeoDataFrames (EPSG:4326) or DataFrames with the layer's key as the index, so
``area.customers.loc["C0000001"]`` finds one customer. Lengths and areas are
computed in :attr:`ServiceArea.metric_crs`, the territory's UTM zone.

What is built from the layers (the grid locator, the network, the territory,
the server's tables) is kept with :meth:`ServiceArea.cached`, the one cache:
an entry is named and declares the layers it is built from, and it holds
while those layers are the same frames (or its declared token is unchanged).
A copy with some layers replaced (:meth:`ServiceArea.replace`) keeps the
entries whose inputs it did not touch.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Generic, TypeVar, overload

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from gridservice import clock
from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import DataError, NotFoundError
from gridservice.findings import findings
from gridservice.io import Store, open_store
from gridservice.io.tables import conform
from gridservice.lookup import contains
from gridservice.schema import CRS, DEVICE_LAYERS, LAYERS, TIMEZONE

T = TypeVar("T")
F = TypeVar("F", bound=pd.DataFrame)

#: How many variants of one kind of result (a map page per option set, ~1.5 MB each) an area keeps.
LRU_SIZE = 16


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


class _Layer(Generic[F]):
    """A declared layer as an attribute: ``area.customers`` is ``area.layers["customers"]``."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, area: None, owner: type) -> _Layer[F]: ...
    @overload
    def __get__(self, area: ServiceArea, owner: type) -> F: ...
    def __get__(self, area: ServiceArea | None, owner: type) -> F | _Layer[F]:
        if area is None:
            return self
        return area.layers[self.name]  # type: ignore[return-value]


_Geo = _Layer[gpd.GeoDataFrame]
_Table = _Layer[pd.DataFrame]


@dataclasses.dataclass(frozen=True)
class _Entry:
    """One cached result: the layers it was built from, those frames (held, so that their ids are
    not reused while the entry lives), the token it was built at, and the value."""

    inputs: tuple[str, ...]
    frames: tuple[pd.DataFrame, ...]
    token_of: Callable[[ServiceArea], Hashable] | None
    token: Hashable
    value: Any
    lru: bool


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

    # The layers of schema.LAYERS (tests/test_model.py holds the two lists equal).
    service_area = _Geo()
    stations = _Geo()
    grids = _Geo()
    staff = _Geo()
    grid_staff = _Table()
    substations = _Geo()
    feeders = _Geo()
    switches = _Geo()
    transformers = _Geo()
    access_points = _Geo()
    meters = _Table()
    customers = _Geo()
    work_orders = _Geo()
    applications = _Geo()
    outages = _Table()
    energy_readings = _Table()
    visits = _Table()
    meter_checks = _Table()
    shifts = _Table()
    warnings = _Table()
    plan_versions = _Table()
    grid_history = _Geo()
    audit_log = _Table()
    users = _Table()

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
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self._cache_lock = threading.RLock()  # guards the entries; a build holds only its own name's lock
        self._builds: dict[str, threading.RLock] = {}

    @classmethod
    def load(cls, data: str | Store) -> ServiceArea:
        """Read a whole service area from a store or a ``--data`` value."""
        store = open_store(str(data)) if not isinstance(data, Store) else data
        frames = store.read()
        return cls(frames, store=store, trusted=True)

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

    @property
    def territory(self) -> shapely.Geometry:
        """The territory polygon: the service_area layer, or the union of grids."""

        def build() -> shapely.Geometry:
            geoms = self.service_area.geometry if len(self.service_area) else self.grids.geometry
            if len(geoms) == 0:
                return shapely.Polygon()
            return shapely.union_all(geoms.to_numpy())

        return self.cached("territory", ("service_area", "grids"), build)

    @property
    def metric_crs(self) -> str:
        """The UTM zone of the territory's centre, for metres and km²."""

        def build() -> str:
            return "EPSG:32650" if self.territory.is_empty else utm_crs(self.territory)

        return self.cached("metric_crs", ("service_area", "grids"), build)

    def cached(self, name: str, inputs: Iterable[str], build: Callable[[], T], *,
               token: Callable[[ServiceArea], Hashable] | None = None, lru: bool = False,
               update: Callable[[T], T | None] | None = None) -> T:
        """``build()``'s result, kept on this area while the layers it is built from are unchanged.

        The key is ``name`` and the ``inputs`` layers: the entry holds while
        those layers are the same frame objects. ``token``, when given,
        replaces that identity test: a cheap function of the area (a digest
        of the columns an index reads, a switch state) whose value is equal
        exactly when the built result is still right. Such an entry also
        survives a reload, where every frame is new (:meth:`adopt_cached`).
        A copy made by :meth:`replace` keeps the entries none of whose
        inputs it replaced (and those with a token, checked at next use).

        ``lru``: the result is one of many variants (a map page per option
        set); only the :data:`LRU_SIZE` most recently used of them are kept.

        ``update``: when the entry no longer holds, ``update(stale value)``
        is tried before ``build()``; it returns the new value derived from the
        old one (the network after a switch operation), or ``None`` to build.

        Examples
        --------
        >>> area = empty_area()
        >>> area.cached("grid_count", ("grids",), lambda: len(area.grids))
        0
        """
        inputs = tuple(inputs)
        hit = self._cache.get(name)
        if not lru and hit is not None and hit.inputs == inputs and self._holds(name, hit):
            return hit.value  # type: ignore[no-any-return]  # a hit waits for no build
        with self._cache_lock:
            building = self._builds.setdefault(name, threading.RLock())
        # One build per name at a time; other names are built meanwhile (a warm-up in the background
        # does not hold up a request that needs something else).
        with building:
            hit = self._cache.get(name)
            if hit is not None and hit.inputs == inputs and self._holds(name, hit):
                if lru:
                    with self._cache_lock:
                        self._cache.move_to_end(name)
                return hit.value  # type: ignore[no-any-return]
            value = update(hit.value) if update is not None and hit is not None and hit.inputs == inputs else None
            if value is None:
                value = build()
            entry = _Entry(inputs, self._frames(inputs), token, token(self) if token else None, value, lru)
            with self._cache_lock:
                self._cache[name] = entry
                self._cache.move_to_end(name)
                if lru:
                    variants = [k for k, e in self._cache.items() if e.lru]
                    for old in variants[:-LRU_SIZE]:
                        del self._cache[old]
            return value

    def adopt_cached(self, other: ServiceArea) -> None:
        """Take over ``other``'s :meth:`cached` entries that declare a token.

        The server calls this when it reloads a changed store, where every
        frame is new: an entry whose token is unchanged at its next use (the
        customer search index after a plan commit moved only grid ids) is
        kept rather than rebuilt.
        """
        with self._cache_lock, other._cache_lock:
            for name, entry in other._cache.items():
                if entry.token_of is not None:
                    self._cache.setdefault(name, entry)

    def _frames(self, inputs: tuple[str, ...]) -> tuple[pd.DataFrame, ...]:
        return tuple(self.layers[n] for n in inputs)

    def _holds(self, name: str, entry: _Entry) -> bool:
        """Whether the cached entry ``name`` is still right for this area's layers."""
        if entry.token_of is None:
            return all(self.layers[n] is f for n, f in zip(entry.inputs, entry.frames, strict=True))
        if entry.token != entry.token_of(self):
            return False
        frames = self._frames(entry.inputs)
        if any(a is not b for a, b in zip(frames, entry.frames, strict=True)):
            # hold this area's frames, not the ones it was built from (entries may be shared with other areas)
            with self._cache_lock:
                self._cache[name] = dataclasses.replace(entry, frames=frames)
        return True

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

    def replace(self, *, trusted: bool = False, **layers: pd.DataFrame) -> ServiceArea:
        """A copy with some layers replaced (frames are shared, not copied).

        The replacements are conformed to their schema unless ``trusted``
        (already in the layer's columns and dtypes). The copy keeps the
        :meth:`cached` entries none of whose inputs are replaced, and those
        with a token (checked at their next use).
        """
        new = ServiceArea({**self.layers, **layers, **self.extra}, store=self.store, trusted=True)
        if not trusted:
            for name, df in layers.items():
                new.layers[name] = conform(name, df, check_values=False)
        with self._cache_lock:
            new._cache = OrderedDict((k, e) for k, e in self._cache.items()
                                     if e.token_of is not None or not set(e.inputs) & set(layers))
        return new


def check_integrity(area: ServiceArea, *, rules: Rules = DEFAULT_RULES) -> gpd.GeoDataFrame:
    """Schema, ids, foreign keys and geometry validity of every layer.

    (``rules`` is not used: it is taken so that every check of ``validate`` has one signature.)

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
