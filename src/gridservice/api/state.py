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
What is built from the area is kept with :meth:`ServiceArea.cached
<gridservice.model.ServiceArea.cached>`: an update keeps the entries whose
layers it did not touch, and a reload keeps those whose declared token (the
customer search index's digest) is unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from gridservice.io import Store, open_store, snapshot
from gridservice.io.store import APPEND_ONLY
from gridservice.model import ServiceArea
from gridservice.schema import LAYERS
from gridservice.spatial.locate import POINT_LAYERS, work_order_grids
from gridservice.workspace import derive

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
    snapshots
        Where the area is kept between starts (:mod:`gridservice.io.snapshot`); ``None``: nowhere.
    """

    def __init__(self, data: str | Store, *, snapshots: Path | None = None) -> None:
        self.store = open_store(str(data)) if not isinstance(data, Store) else data
        self._snapshots = snapshots
        self._lock = threading.RLock()
        self._version: object = None
        self._position: int | None = None  # how far into the store's change journal the area is
        self._area: ServiceArea | None = None
        self.saving: threading.Thread | None = None  # the snapshot being saved for the next start

    def get(self) -> ServiceArea:
        """The current area (following the store if another process changed it)."""
        if self._area is None:
            with self._lock:
                if self._area is None:
                    self._start()
        if self.store.version() != self._version:
            with self._lock:
                if self.store.version() != self._version and not self._nothing_to_read():
                    # Read under the store's write lock: GDAL must not read a file mid-append.
                    with self.store.lock():
                        self._follow()
        assert self._area is not None
        return self._area

    def _start(self) -> None:
        """Load the area: the snapshot of the last start, brought up to date by the change journal, else the
        store. Unless the snapshot was current, the area is then saved for the next start, in the background.

        A snapshot is current when the store's version and the end of its journal are both as saved (a
        journal starts at a random position, so an area made afresh never passes for the one saved).
        """
        saved = snapshot.load(self._snapshots, self.store.url) if self._snapshots is not None else None
        with self.store.lock():
            if saved is None:
                self._follow()
            else:
                self._area = ServiceArea(saved.frames, store=self.store, trusted=True)
                self._version, (end, changed) = self.store.version(), self.store.changes(saved.position)
                self._position = saved.position
                if (repr(self._version), end) == (saved.version, saved.position):
                    return
                self._version = None  # until followed: a failure below leaves it to the next request
                # what was written since: records merged as another worker's writes are; the layers not
                # followed (the audit log) read whole; anything else, or nothing known, reloads the area
                self._follow({name: self.store.read_layer(name) for name in (changed or {}).keys() & _NOT_FOLLOWED}
                             or None)
        if self._snapshots is not None:
            assert self._area is not None
            fresh = snapshot.Snapshot(dict(self._area.layers), repr(self._version), self._position)
            self.saving = threading.Thread(target=snapshot.save, args=(self._snapshots, self.store.url, fresh),
                                           daemon=True, name="gridservice-snapshot")
            self.saving.start()

    def _nothing_to_read(self) -> bool:
        """Whether every write since the area was read went to layers not followed (the audit entries of
        lookups); if so, note how far the store has gone, without waiting for its lock.

        The journal is read without the store's lock (SQLite's locking, a PostgreSQL snapshot); the same
        version before and after the read shows that no write landed in between, so the position read
        belongs to that version.
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
            fresh = derive(ServiceArea.load(self.store))
            if area is not None:
                fresh.adopt_cached(area)
            area = fresh
        elif reread or known:
            layers = {name: _upsert(area.layers[name], _derived(area, name, self._records(name, keys)), deleted=keys)
                      for name, keys in reread.items() if keys is not None}
            area = area.replace(**{**layers, **(known or {})}, trusted=True)
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
            fresh = {name: _derived(area, name, self.store.read_layer(name)) for name in changes.reread}
            merged = {name: _upsert(area.layers[name], _derived(area, name, rows))
                      for name, rows in changes.rows.items()}
            self._follow({**merged, **fresh})

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
