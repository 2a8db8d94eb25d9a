"""The service area held in memory by the server, and what is built from it once.

:class:`AreaHolder` loads the area at start, checks the store's version (one
``stat``) on every request and reloads when another process changed it (an
import, a plan committed from the CLI). Writes the server makes itself go
through :meth:`AreaHolder.writing`, which updates the area in memory from the
rows written, so a new work order on a million-customer area costs
milliseconds, not a reload.
Indexes built from the area (the customer search index) are cached per area
and kept across refreshes that leave their inputs untouched.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd

from gridservice.io import Store, open_store
from gridservice.model import ServiceArea
from gridservice.schema import DEVICE_LAYERS
from gridservice.spatial.locate import work_order_grids
from gridservice.workspace import derive

T = TypeVar("T")

#: How many variants of a page (a map per option set, ~1.5 MB each) are kept.
LRU_SIZE = 16

#: Caches the domain keeps on an area object, each valid while these layers are the same objects.
_AREA_CACHES: dict[str, tuple[str, ...]] = {
    "territory": ("service_area", "grids"),
    "metric_crs": ("service_area", "grids"),
    "_locator": ("grids",),
    "_network": (*DEVICE_LAYERS, "switches", "grids"),
}


class AreaHolder:
    """The current :class:`~gridservice.model.ServiceArea` of a store.

    Parameters
    ----------
    data
        The ``--data`` value (a GeoPackage path).
    """

    def __init__(self, data: str | Store) -> None:
        self.store = open_store(str(data)) if not isinstance(data, Store) else data
        self._lock = threading.RLock()
        self._version: object = None
        self._area: ServiceArea | None = None
        self._cache: dict[str, tuple[tuple[pd.DataFrame, ...], Any]] = {}
        self._lru: OrderedDict[str, tuple[tuple[pd.DataFrame, ...], Any]] = OrderedDict()

    def get(self) -> ServiceArea:
        """The current area (reloaded if another writer changed the store)."""
        if self.store.version() != self._version or self._area is None:
            with self._lock:
                if self.store.version() != self._version or self._area is None:
                    # Read under the store's write lock: GDAL must not read a file mid-append.
                    with self.store.lock():
                        version = self.store.version()
                        loaded = ServiceArea.load(self.store)
                    self._area, self._version = derive(loaded), version
        assert self._area is not None
        return self._area

    @contextmanager
    def writing(self) -> Iterator[Changes]:
        """Wrap a write this server makes, then update the area in memory.

        The body writes to the store and tells the yielded :class:`Changes`
        what it wrote; afterwards the area is updated from those rows alone
        (a new work order does not re-read a million customers). Writes of
        this process are serialised here, as the store serialises them anyway.
        If another process changed the store before the write, the area is
        reloaded first. (A write by another process in the instant between
        this write and its update is seen at the next change of the store.)
        """
        with self._lock:
            area = self.get()
            changes = Changes()
            yield changes
            if changes.reload:
                self._version = None
                return
            with self.store.lock():
                version = self.store.version()
                fresh = {name: self.store.read_layer(name) for name in changes.reread}
            merged = {name: _upsert(area.layers[name], _derived(area, name, rows))
                      for name, rows in changes.rows.items()}
            fresh = {name: _derived(area, name, rows) for name, rows in fresh.items()}
            self._area, self._version = _replaced(area, {**merged, **fresh}), version

    def invalidate(self) -> None:
        """Forget the area: the next request reloads it (after a whole-layer write)."""
        with self._lock:
            self._version = None

    def cached(self, name: str, inputs: Iterable[pd.DataFrame], build: Callable[[], T], *, lru: bool = False) -> T:
        """``build()``'s result, kept while the ``inputs`` frames are the same objects.

        ``lru``: one of many variants (a map page per option set), kept among the
        :data:`LRU_SIZE` most recently used ones only.
        """
        frames = tuple(inputs)
        cache = self._lru if lru else self._cache

        def valid(hit: tuple[tuple[pd.DataFrame, ...], Any] | None) -> bool:
            return hit is not None and len(hit[0]) == len(frames) and all(
                a is b for a, b in zip(hit[0], frames, strict=True))

        hit = cache.get(name)
        if valid(hit) and not lru:
            return hit[1]  # type: ignore[index]
        with self._lock:
            hit = cache.get(name)
            if valid(hit):
                if lru:
                    self._lru.move_to_end(name)
                return hit[1]  # type: ignore[index]
            value = build()
            cache[name] = (frames, value)  # holds the frames: their ids cannot be reused
            if lru:
                self._lru.move_to_end(name)
                while len(self._lru) > LRU_SIZE:
                    self._lru.popitem(last=False)
            return value


@dataclass
class Changes:
    """What a write changed: rows to upsert, layers to re-read, or a full reload."""

    rows: dict[str, pd.DataFrame] = field(default_factory=dict)
    reread: list[str] = field(default_factory=list)
    reload: bool = False

    def upsert(self, layer: str, rows: pd.DataFrame) -> None:
        """Rows (indexed by the layer's key) that were appended or replaced."""
        self.rows[layer] = pd.concat([self.rows[layer], rows]) if layer in self.rows else rows


def _replaced(area: ServiceArea, layers: dict[str, pd.DataFrame]) -> ServiceArea:
    """A shallow copy of ``area`` with some layers replaced (frames already conformed).

    Cheaper than :meth:`ServiceArea.replace`, which conforms every layer
    again; caches whose inputs are untouched are kept, unknown ones dropped.
    """
    new = copy.copy(area)
    new.layers = {**area.layers, **layers}
    for key in list(new.__dict__):
        if key in ("layers", "extra", "store"):
            continue
        inputs = _AREA_CACHES.get(key)
        if inputs is None or set(inputs) & set(layers):
            del new.__dict__[key]
    return new


def _derived(area: ServiceArea, layer: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Written work orders with their derived ``grid_id`` (the rule of :func:`~gridservice.workspace.derive`)."""
    return rows.assign(grid_id=work_order_grids(area, rows)) if layer == "work_orders" else rows


def _upsert(current: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    rows = conform_rows(current, rows)
    kept = current.drop(index=rows.index, errors="ignore")
    out = pd.concat([kept, rows]) if len(kept) else rows
    return out


def conform_rows(current: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with ``current``'s columns and dtypes (extra columns dropped)."""
    cols = [c for c in current.columns]
    out = rows.reindex(columns=cols)
    for c in cols:
        if c != "geometry" and out[c].dtype != current[c].dtype:
            out[c] = out[c].astype(current[c].dtype)
    return out
