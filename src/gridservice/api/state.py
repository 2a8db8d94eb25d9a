"""The service area held in memory by the server, and what is built from it once.

:class:`AreaHolder` loads the area at start, checks the store's version (a
``stat`` and a few bytes read) on every request and follows it when another
process changed it — a sibling server worker, the CLI. What changed comes
from the store's change journal: records written one by one (a work order, a
status change, a user) are re-read by their keys and merged in, so a write
through one worker costs the others milliseconds, not a reload; a whole-layer
write (an import, a plan commit) reloads the area. The audit log is not
followed: it grows on every lookup, and nothing reads it from memory. Writes
the server makes itself go through :meth:`AreaHolder.writing`, which holds
the store's lock for the whole read-check-write (so workers cannot both take
the same new id or idempotency key) and updates the area from the rows written.
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
from gridservice.io.store import APPEND_ONLY
from gridservice.model import ServiceArea
from gridservice.schema import DEVICE_LAYERS, LAYERS
from gridservice.spatial.locate import POINT_LAYERS
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

#: Layers whose records cannot be merged in one by one: their derived columns (grid ids) come from the whole area.
_RELOAD_ON_CHANGE = frozenset({*POINT_LAYERS, "grids"}) - {"work_orders"}
#: Layers not followed: the audit log only grows, on every lookup, and the server reads it from the store where
#: it needs it (idempotency keys); in memory it stays as loaded.
_NOT_FOLLOWED = APPEND_ONLY


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
        self._position: int | None = None  # how far into the store's change journal the area is
        self._area: ServiceArea | None = None
        self._cache: dict[str, tuple[tuple[pd.DataFrame, ...], Any]] = {}
        self._lru: OrderedDict[str, tuple[tuple[pd.DataFrame, ...], Any]] = OrderedDict()

    def get(self) -> ServiceArea:
        """The current area (following the store if another process changed it)."""
        if self.store.version() != self._version or self._area is None:
            with self._lock:
                if (self.store.version() != self._version or self._area is None) and not self._nothing_to_read():
                    # Read under the store's write lock: GDAL must not read a file mid-append.
                    with self.store.lock():
                        self._follow()
        assert self._area is not None
        return self._area

    def _nothing_to_read(self) -> bool:
        """Whether every write since the area was read went to layers not followed (the audit entries of
        lookups); if so, note how far the store has gone, without waiting for its lock.

        The journal is read with SQLite's own locking; the same version before and after the read
        shows that no write landed in between, so the position read belongs to that version.
        """
        if self._area is None:
            return False
        before = self.store.version()
        position, changed = self.store.changes(self._position)
        if not changed or changed.keys() - _NOT_FOLLOWED or self.store.version() != before:
            return False
        self._version, self._position = before, position
        return True

    def _follow(self, known: dict[str, pd.DataFrame] | None = None) -> None:
        """Catch up with the store: merge the records written since the area was read, or reload.

        ``known``: layers this process wrote, already merged (their records are
        not read back). The caller holds both locks.
        """
        version = self.store.version()
        position, changed = self.store.changes(self._position)
        area = self._area
        reread = {name: keys for name, keys in (changed or {}).items()
                  if name not in (known or {}) and name not in _NOT_FOLLOWED}
        if area is None or changed is None or (known is None and not changed) or _RELOAD_ON_CHANGE & reread.keys() \
                or any(keys is None or name not in area.layers for name, keys in reread.items()):
            # nothing known (no journal, too far behind), nothing noted (a program other than gridservice
            # wrote the file) or a change the area derives from: everything
            area = derive(ServiceArea.load(self.store))
        elif reread or known:
            layers = {name: _upsert(area.layers[name], self._records(name, keys), deleted=keys)
                      for name, keys in reread.items() if keys is not None}
            area = _merged(area, {**layers, **(known or {})})
        self._area, self._version, self._position = area, version, position

    def _records(self, layer: str, keys: set[str]) -> pd.DataFrame:
        """The stored records of ``layer`` with these keys (those deleted are absent)."""
        key = LAYERS[layer].key
        listed = ", ".join("'" + k.replace("'", "''") + "'" for k in sorted(keys))
        return self.store.read_layer(layer, where=f"{key} IN ({listed})")

    @contextmanager
    def writing(self) -> Iterator[Changes]:
        """Wrap a write this server makes, then update the area in memory.

        The body writes to the store and tells the yielded :class:`Changes`
        what it wrote; afterwards the area is updated from those rows (a new
        work order does not re-read a million customers) and the records of
        any other layer it wrote are read back by their keys. The store's
        lock is held throughout: the area the body reads is the store's
        latest (writes of other workers merged in first), and no other
        process writes between the body's reads and its writes.
        """
        with self._lock, self.store.lock():
            area = self.get()
            changes = Changes()
            yield changes
            if changes.reload:
                self._version = self._position = None
                return
            fresh = {name: self.store.read_layer(name) for name in changes.reread}
            merged = {name: _upsert(area.layers[name], rows) for name, rows in changes.rows.items()}
            self._follow({**merged, **fresh})

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


def _merged(area: ServiceArea, layers: dict[str, pd.DataFrame]) -> ServiceArea:
    """``area`` with these layers replaced, and the work orders' derived grids filled."""
    updated = _replaced(area, layers)
    if "work_orders" in layers:
        updated.layers["work_orders"] = _work_order_grids(updated)
    return updated


def _upsert(current: pd.DataFrame, rows: pd.DataFrame, *, deleted: Iterable[str] = ()) -> pd.DataFrame:
    rows = conform_rows(current, rows)
    gone = current.index.intersection(pd.Index([*rows.index, *deleted], dtype=current.index.dtype))
    kept = current.drop(index=gone) if len(gone) else current  # appended rows (audit entries) drop nothing
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


def _work_order_grids(area: ServiceArea) -> pd.DataFrame:
    """Work orders whose stored grid is missing take their customer's (the derived rule)."""
    wo = area.work_orders
    if not len(wo) or "grid_id" not in wo.columns or "grid_id" not in area.customers.columns:
        return wo
    missing = wo["grid_id"].isna()
    if not missing.any():
        return wo
    by_customer = wo["customer_id"].map(area.customers["grid_id"]).astype("str")
    return wo.assign(grid_id=wo["grid_id"].where(~missing, by_customer))
