"""The service area held in memory by the server, and what is built from it once.

:class:`AreaHolder` loads the area at start, checks the store's version (one
``stat``) on every request and reloads when another process changed it (an
import, a plan committed from the CLI). Writes the server makes itself go
through :meth:`AreaHolder.writing`, which updates the area in memory from the
rows written, so a new work order on a million-customer area costs
milliseconds, not a reload.
What is built from the area is kept with :meth:`ServiceArea.cached
<gridservice.model.ServiceArea.cached>`: an update keeps the entries whose
layers it did not touch, and a reload keeps those whose declared token (the
customer search index's digest) is unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd

from gridservice.io import Store, open_store
from gridservice.model import ServiceArea
from gridservice.spatial.locate import work_order_grids
from gridservice.workspace import derive


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

    def get(self) -> ServiceArea:
        """The current area (reloaded if another writer changed the store)."""
        if self.store.version() != self._version or self._area is None:
            with self._lock:
                if self.store.version() != self._version or self._area is None:
                    # Read under the store's write lock: GDAL must not read a file mid-append.
                    with self.store.lock():
                        version = self.store.version()
                        loaded = ServiceArea.load(self.store)
                    fresh = derive(loaded)
                    if self._area is not None:
                        fresh.adopt_cached(self._area)
                    self._area, self._version = fresh, version
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
            self._area, self._version = area.replace(**{**merged, **fresh}, trusted=True), version

    def invalidate(self) -> None:
        """Forget the area: the next request reloads it (after a whole-layer write)."""
        with self._lock:
            self._version = None


@dataclass
class Changes:
    """What a write changed: rows to upsert, layers to re-read, or a full reload."""

    rows: dict[str, pd.DataFrame] = field(default_factory=dict)
    reread: list[str] = field(default_factory=list)
    reload: bool = False

    def upsert(self, layer: str, rows: pd.DataFrame) -> None:
        """Rows (indexed by the layer's key) that were appended or replaced."""
        self.rows[layer] = pd.concat([self.rows[layer], rows]) if layer in self.rows else rows


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
