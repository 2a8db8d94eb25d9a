"""The embedded store: one GeoPackage file holds a whole service area.

Every layer, attribute tables too, is a GeoPackage table, so QGIS opens the
file as it is. Reads go through pyogrio with Arrow. Writes are transactional:

* :meth:`GeoPackageStore.write` replaces whole layers by writing a copy of
  the file and renaming it over the original (``os.replace`` is atomic), so a
  failed write leaves the file exactly as it was;
* :meth:`GeoPackageStore.append` inserts a few records in one SQLite
  transaction, cheap enough for one work order at a time.

Both take an exclusive lock on a sidecar ``.lock`` file, so concurrent
writers (several API workers, a CLI import) queue instead of losing rows.
The audit log is append-only: a write that would drop one of its rows is
refused. Every write also notes what it wrote (the layer and the keys of its
records, or the whole layer) in a change journal, a plain SQLite table that is
no GeoPackage layer, so that server workers follow each other's writes by
re-reading those records only (:meth:`GeoPackageStore.changes`). A whole-file
write keeps the file's permissions and fsyncs the directory after the rename,
so the new file survives a power cut. The copy it writes
(``.NAME.*.tmp.gpkg``) exists only while its writer holds the lock: one a
killed writer left behind is removed when the store is next opened.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import secrets
import shutil
import sqlite3
import stat
import struct
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely

from gridservice.errors import ConflictError, DataError, StoreError, StoreUnavailable
from gridservice.io.tables import conform, to_storage
from gridservice.schema import LAYERS, TIMEZONE

#: Layers whose rows are never rewritten away: the audit trail.
APPEND_ONLY = frozenset({"audit_log"})

#: The suffix of the copy a whole-file write builds (GDAL may add -journal or -wal to it).
_TMP_SUFFIX = ".tmp.gpkg"

#: Seconds a write waits for another program's lock on the file (QGIS saving edits) before giving up.
BUSY_S = 60.0

#: SQLite's primary result codes that mean "not now", not a mistake: no permission, busy, locked,
#: read-only, I/O error, disk full, cannot open.
_UNAVAILABLE_CODES = frozenset({3, 5, 6, 8, 10, 13, 14})

#: The change journal's table (not in ``gpkg_contents``: QGIS and ``layers()`` do not list it).
JOURNAL = "gridservice_changes"
#: Journal entries kept: a reader further behind reloads everything.
_JOURNAL_KEEP = 10_000
#: A write of more records than this is noted as a whole-layer write.
_JOURNAL_ROWS = 1_000

#: GeoPackage stores UTC timestamps with a ``Z`` suffix.
_ISO = "%Y-%m-%dT%H:%M:%S.%fZ"


@contextlib.contextmanager
def reentrant(held: threading.local, acquire: Callable[[], contextlib.AbstractContextManager[None]]) -> Iterator[None]:
    """Hold ``acquire()`` (a store's cross-process lock) once per thread: a thread
    that holds it already enters again at no cost, and releases it on its last exit."""
    if getattr(held, "depth", 0):
        held.depth += 1
        try:
            yield
        finally:
            held.depth -= 1
        return
    with acquire():
        held.depth = 1
        try:
            yield
        finally:
            held.depth = 0


class GeoPackageStore:
    """A service area kept in one GeoPackage file.

    Parameters
    ----------
    path
        The ``.gpkg`` file. It need not exist until the first write.

    Examples
    --------
    >>> store = GeoPackageStore("nanfeng.gpkg")  # doctest: +SKIP
    >>> frames = store.read(["grids", "staff"])  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._held = threading.local()  # how deep this thread holds the lock
        self._remove_stale_copies()

    def _remove_stale_copies(self) -> None:
        """Remove the copies a writer killed mid-write left (none is being written while we hold the lock)."""
        stale = list(self.path.parent.glob(f"{glob.escape(self._tmp_prefix)}*{_TMP_SUFFIX}*"))
        if not stale:
            return
        with open(f"{self.path}.lock", "a+b") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live writer: its copy is not stale
                return
            try:
                for path in self.path.parent.glob(f"{glob.escape(self._tmp_prefix)}*{_TMP_SUFFIX}*"):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @property
    def _tmp_prefix(self) -> str:
        return f".{self.path.name}."

    def __repr__(self) -> str:
        return f"GeoPackageStore({str(self.path)!r})"

    @property
    def url(self) -> str:
        """What ``--data`` would say to open this store."""
        return str(self.path)

    def exists(self) -> bool:
        """Whether the file is there."""
        return self.path.is_file()

    def version(self) -> tuple[int, ...]:
        """A token that changes whenever the file is written.

        The file's identity, time and size, and SQLite's file change counter
        (bumped by every committed transaction: two appends within one tick of
        the file system's clock leave the time and size alone).
        """
        with unavailable_on_faults(self.path), open(self.path, "rb") as fh:
            st = os.fstat(fh.fileno())
            fh.seek(24)
            counter = fh.read(4)
        return (st.st_ino, st.st_mtime_ns, st.st_size, int.from_bytes(counter, "big"))

    def changes(self, since: int | None) -> tuple[int | None, dict[str, set[str] | None] | None]:
        """Where the change journal ends, and what the writes after position ``since`` wrote.

        Returns ``(end, changed)``: ``changed`` maps each layer written to the
        keys of the records written or deleted (``None``: the whole layer).
        ``changed`` is ``None`` when that is not known — no journal yet,
        ``since`` is ``None`` or older than the journal keeps, or the file was
        replaced by another one — and the reader must reload everything.
        """
        with unavailable_on_faults(self.path):
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=BUSY_S)
        with contextlib.closing(con), unavailable_on_faults(self.path):
            if con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (JOURNAL,)).fetchone() is None:
                return None, None
            first, end = con.execute(f'SELECT min(seq), max(seq) FROM "{JOURNAL}"').fetchone()
            return journal_since(since, first, end, lambda after: con.execute(
                f'SELECT layer, feature_id FROM "{JOURNAL}" WHERE seq > ?', (after,)).fetchall())

    def migrate(self) -> int:
        """Nothing to do: a whole-layer write makes its table from the schema, a read fills columns declared later."""
        self._require()
        return 0

    def layers(self) -> list[str]:
        """Names of the tables in the file."""
        self._require()
        with unavailable_on_faults(self.path):
            return [str(n) for n in pyogrio.list_layers(self.path)[:, 0]]

    def _require(self) -> None:
        if not self.path.is_file():
            msg = f"{self.path}: no such GeoPackage (create one with `gridservice init` or `gridservice demo`)"
            raise StoreError(msg)
        self._require_geopackage()

    def _require_geopackage(self) -> None:
        """Refuse a file that is not a GeoPackage (checked once per version of the file)."""
        seen = self.version()
        if self.__dict__.get("_checked") == seen:
            return
        with open(self.path, "rb") as fh:
            sqlite = fh.read(16) == b"SQLite format 3\x00"
        if sqlite:
            with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as con:
                sqlite = con.execute("SELECT 1 FROM sqlite_master WHERE name = 'gpkg_contents'").fetchone() is not None
        if not sqlite:
            msg = f"{self.path}: not a GeoPackage (no gpkg_contents table); --data wants a .gpkg made by gridservice"
            raise StoreError(msg)
        self.__dict__["_checked"] = seen

    # -- reading ---------------------------------------------------------

    def read_layer(self, name: str, *, raw: bool = False, where: str | None = None,
                   bbox: tuple[float, float, float, float] | None = None) -> pd.DataFrame:
        """One layer, conformed to its schema (``raw`` skips that); ``where`` (an SQL condition) and
        ``bbox`` ``(minx, miny, maxx, maxy)`` (features whose bounding box meets it) are applied
        by GDAL, with the file's R-tree."""
        self._require()
        try:
            with unavailable_on_faults(self.path):
                df = pyogrio.read_dataframe(self.path, layer=name, use_arrow=True, where=where, bbox=bbox,
                                            fid_as_index=bbox is not None)
            if bbox is not None:  # the R-tree's order: back to the rows' order
                df = df.sort_index().reset_index(drop=True)
        except pyogrio.errors.DataLayerError as exc:
            msg = f"{self.path}: layer {name!r} cannot be read: {exc}"
            raise StoreError(msg) from exc
        if "geometry" in df.columns and df.geometry.isna().all() and LAYERS.get(name, None) is not None \
                and LAYERS[name].geometry is None:
            df = pd.DataFrame(df.drop(columns="geometry"))
        if raw:
            return df
        for c in df.columns:  # on disk UTC; in memory local time, extra columns too
            if isinstance(df[c].dtype, pd.DatetimeTZDtype):
                df[c] = df[c].dt.tz_convert(TIMEZONE).astype(f"datetime64[ms, {TIMEZONE}]")
        if name not in LAYERS:
            return df
        return conform(name, df, source=f"{self.path}:{name}", check_values=False)

    def read(self, names: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
        """Several layers; by default every layer in the file (undeclared ones as they are)."""
        present = self.layers()
        wanted = list(names) if names is not None else [n for n in LAYERS if n in present] + [
            n for n in present if n not in LAYERS]
        out = {}
        for name in wanted:
            if name in present:
                out[name] = self.read_layer(name)
            elif name in LAYERS:
                out[name] = conform(name, pd.DataFrame(), check_values=False)
            else:
                msg = f"{self.path}: no layer {name!r}"
                raise StoreError(msg)
        return out

    # -- writing ---------------------------------------------------------

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Hold the store's write lock (blocks until other writers finish; a thread
        that holds it already may take it again, so a read-check-write can call
        the writing methods)."""
        return reentrant(self._held, self._flock)

    @contextlib.contextmanager
    def _flock(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{self.path}.lock", "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def write(self, frames: Mapping[str, pd.DataFrame], *, create: bool = False) -> None:
        """Replace whole layers in one transaction.

        Parameters
        ----------
        frames
            Layer name → rows. Layers not named keep their content.
        create
            Start a new file instead of copying the existing one.
        """
        with self.lock():
            self.write_locked(frames, create=create)

    def write_locked(self, frames: Mapping[str, pd.DataFrame], *, create: bool = False,
                     unchanged: tuple[str, str, object] | None = None) -> None:
        """:meth:`write` for a caller already holding :meth:`lock` (the lock is not re-entrant).

        For read-check-write transactions: a plan commit re-reads the latest
        plan version under the lock before it writes. ``unchanged`` is an
        optimistic check, ``(layer, column, value)``: the write is refused
        (:class:`ConflictError`) unless the layer's largest ``column`` is
        still ``value`` (``None``: no rows).
        """
        if not create and self.path.exists():
            self._require_geopackage()  # never turn some other file into a GeoPackage
            if unchanged is not None:
                layer, column, _ = unchanged
                with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as con:
                    there = con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (layer,)).fetchone()
                    now = con.execute(f'SELECT max("{column}") FROM "{layer}"').fetchone()[0] if there else None
                check_unchanged(self.url, unchanged, now)
            if APPEND_ONLY & frames.keys():
                self._refuse_dropped_rows(frames)

        def build(tmp: str) -> None:
            for name, df in frames.items():
                _write_layer(tmp, name, to_storage(name, df))
            _journal_file(tmp, dict.fromkeys(frames) if not create else {"*": None})

        self._replace(build, copy=not create and self.path.exists())

    def _refuse_dropped_rows(self, frames: Mapping[str, pd.DataFrame]) -> None:
        """An append-only layer (the audit log) may gain rows in a whole-layer write, never lose one."""
        present = self.layers()
        for name in APPEND_ONLY & frames.keys():
            if name not in present:
                continue
            key = LAYERS[name].key
            kept = pyogrio.read_dataframe(self.path, layer=name, columns=[key], read_geometry=False)[key]
            df = frames[name]
            written = df.index if df.index.name == key else df.get(key, pd.Series(dtype=object))
            dropped = int((~kept.isin(pd.Index(written))).sum())
            if dropped:
                msg = f"{name} is append-only: this write would drop {dropped:,} of its {len(kept):,} rows"
                raise DataError(msg)

    def _replace(self, build: Callable[[str], None], *, copy: bool) -> None:
        """Write a copy of the file (``copy``) or a new one with ``build(path)``, then rename it over the file.

        The caller holds :meth:`lock`. The file keeps its permissions (the copy
        would be 0600); the directory is fsynced so the rename itself is durable.
        """
        with unavailable_on_faults(self.path):
            self._replace_now(build, copy=copy)

    def _replace_now(self, build: Callable[[str], None], *, copy: bool) -> None:
        fd, tmp = tempfile.mkstemp(prefix=self._tmp_prefix, suffix=_TMP_SUFFIX, dir=self.path.parent)
        os.close(fd)
        try:
            if copy:
                shutil.copyfile(self.path, tmp)
            else:
                os.remove(tmp)  # GDAL creates it, with the process's default permissions
            build(tmp)
            if self.path.exists():
                os.chmod(tmp, stat.S_IMODE(self.path.stat().st_mode))
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)
            raise
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def append(self, name: str, rows: pd.DataFrame) -> None:
        """Append records to an existing layer in one SQLite transaction.

        Safe under concurrent writers: the store lock serialises them and
        SQLite's transaction makes the insert all-or-nothing.
        """
        self._apply({name: rows}, {}, replace=False)

    def upsert(self, frames: Mapping[str, pd.DataFrame], *, delete: Mapping[str, Iterable[str]] | None = None) -> None:
        """Write a few records of several layers in one SQLite transaction: each row
        replaces the row with its key (rows of an append-only layer are only added),
        and the keys in ``delete`` are removed. A user's new password and its audit
        entry land together, without rewriting the file.
        """
        delete = {name: [str(k) for k in keys] for name, keys in (delete or {}).items()}
        refused = sorted(APPEND_ONLY & {name for name, keys in delete.items() if keys})
        if refused:
            msg = f"{self.path}: layer {refused[0]!r} is append-only: its rows are never deleted"
            raise StoreError(msg)
        self._apply(frames, delete, replace=True)

    def update(self, name: str, rows: pd.DataFrame, *, append: Mapping[str, pd.DataFrame] | None = None) -> None:
        """Set the given columns of existing rows (by key, in place) and append rows to other
        layers, in one SQLite transaction; a key that matches no row is a :class:`StoreError`.
        An appended layer the file lacks is created after the transaction."""
        key = _key(name)
        df = to_storage(name, rows)
        cols = [c for c in df.columns if c != key]
        names, values = _sql_values(df[cols], None, 0)
        stored = {other: to_storage(other, extra) for other, extra in (append or {}).items()}
        with self.lock(), unavailable_on_faults(self.path):
            self._require()
            con = _connect(self.path)
            try:
                absent = [n for n in stored if not con.execute(f'PRAGMA table_info("{n}")').fetchone()]
                with con:
                    sets = ", ".join(f'"{n}" = ?' for n in names)
                    for k, row in zip(df[key].astype("str"), values, strict=True):
                        cur = con.execute(f'UPDATE "{name}" SET {sets} WHERE "{key}" = ?', (*row, k))
                        if cur.rowcount != 1:
                            msg = f"{self.path}: {name} {k!r} matched {cur.rowcount} rows"
                            raise StoreError(msg)
                    for other, extra in stored.items():
                        if other not in absent:
                            self._insert(con, other, extra)
                    journal(con, {name: df[key].astype("str").tolist(),
                                  **{other: written_keys(other, extra, []) for other, extra in stored.items()
                                     if other not in absent}})
            finally:
                con.close()
            for other in absent:
                self._write_new_layer(other, stored[other])

    def _apply(self, frames: Mapping[str, pd.DataFrame], delete: Mapping[str, list[str]], *, replace: bool) -> None:
        stored = {name: to_storage(name, rows) for name, rows in frames.items()}
        with self.lock(), unavailable_on_faults(self.path):
            self._require()
            con = _connect(self.path)
            try:
                missing = [n for n in {*stored, *delete} if not con.execute(f'PRAGMA table_info("{n}")').fetchone()]
                if missing and not delete and len(stored) == 1:  # a layer that does not exist yet
                    con.close()
                    self._write_new_layer(missing[0], stored[missing[0]])
                    return
                if missing:
                    msg = f"{self.path}: no layer {missing[0]!r}"
                    raise StoreError(msg)
                with con:  # one transaction: every layer's rows or none
                    for name, keys in delete.items():
                        self._delete(con, name, keys)
                    for name, df in stored.items():
                        if replace and name not in APPEND_ONLY:
                            self._delete(con, name, df[_key(name)].astype("str").tolist())
                        self._insert(con, name, df)
                    journal(con, {name: written_keys(name, stored.get(name), delete.get(name, []))
                                  for name in {*stored, *delete}})
            finally:
                con.close()

    def _delete(self, con: sqlite3.Connection, name: str, keys: list[str]) -> None:
        if keys:
            con.executemany(f'DELETE FROM "{name}" WHERE "{_key(name)}" = ?', [(k,) for k in keys])

    def _insert(self, con: sqlite3.Connection, name: str, df: pd.DataFrame) -> None:
        cols = [r[1] for r in con.execute(f'PRAGMA table_info("{name}")')]
        geom_col = _geometry_column_name(con, name)
        srs = _srs_id(con, name) if geom_col else 0
        unknown = [c for c in df.columns if c not in cols and c != "geometry"]
        if unknown:
            msg = f"{self.path}: layer {name!r} has no column(s) {', '.join(unknown)}"
            raise StoreError(msg)
        names, values = _sql_values(df, geom_col, srs)
        placeholders = ", ".join("?" * len(names))
        quoted = ", ".join(f'"{c}"' for c in names)
        con.executemany(f'INSERT INTO "{name}" ({quoted}) VALUES ({placeholders})', values)

    def _write_new_layer(self, name: str, df: pd.DataFrame) -> None:
        # A layer that does not exist yet: append through a whole-file write.
        def build(tmp: str) -> None:
            _write_layer(tmp, name, df)
            _journal_file(tmp, {name: None})

        self._replace(build, copy=True)


def written_keys(name: str, df: pd.DataFrame | None, deleted: list[str]) -> list[str] | None:
    """The keys of the rows written to and deleted from ``name`` (``None``: no keys, the whole layer)."""
    if df is None:
        return deleted
    spec = LAYERS.get(name)
    if spec is None or not spec.key or spec.key not in df.columns:
        return None
    return [*deleted, *df[spec.key].astype("str")]


def journal(con: sqlite3.Connection, written: Mapping[str, Iterable[str] | None]) -> None:
    """Note in the change journal, inside the caller's transaction, what it writes: layer → keys (``None``: whole).

    A new journal starts at a random position, so that a reader following
    another file's journal (one this file replaced) cannot take up this one
    where it left the other.
    """
    con.execute(f'CREATE TABLE IF NOT EXISTS "{JOURNAL}" (seq INTEGER PRIMARY KEY, layer TEXT NOT NULL, '
                "feature_id TEXT)")
    if con.execute(f'SELECT 1 FROM "{JOURNAL}" LIMIT 1').fetchone() is None:
        con.execute(f'INSERT INTO "{JOURNAL}" (seq, layer) VALUES (?, ?)', (secrets.randbits(48) + 1, "*"))
    con.executemany(f'INSERT INTO "{JOURNAL}" (layer, feature_id) VALUES (?, ?)', journal_rows(written))
    con.execute(f'DELETE FROM "{JOURNAL}" WHERE seq <= (SELECT max(seq) FROM "{JOURNAL}") - ?', (_JOURNAL_KEEP,))


def journal_rows(written: Mapping[str, Iterable[str] | None]) -> list[tuple[str, str | None]]:
    """The change journal's rows ``(layer, key)`` for a write: layer → keys (``None``: the whole layer, noted
    as one row with no key, as is a layer of more than :data:`_JOURNAL_ROWS` keys)."""
    rows: list[tuple[str, str | None]] = []
    for layer, keys in written.items():
        listed = None if keys is None else list(keys)
        if listed is None or len(listed) > _JOURNAL_ROWS:
            rows.append((layer, None))
        else:
            rows.extend((layer, key) for key in listed)
    return rows


def journal_since(since: int | None, first: int | None, end: int | None,
                  rows_after: Callable[[int], Iterable[tuple[str, str | None]]],
                  ) -> tuple[int | None, dict[str, set[str] | None] | None]:
    """``changes(since)`` of a store whose journal holds positions ``first`` to ``end`` (``None``: empty):
    ``rows_after(since)`` reads the rows after ``since`` when the journal still holds them all."""
    if since is None or first is None or end is None or not first - 1 <= since <= end:
        return end, None
    return end, journal_changes(rows_after(since))


def journal_changes(rows: Iterable[tuple[str, str | None]]) -> dict[str, set[str] | None] | None:
    """What the change journal's rows say was written: layer → keys (``None``: the whole layer);
    ``None`` when a row is the whole-store marker ``*`` (a new or replaced store)."""
    changed: dict[str, set[str] | None] = {}
    for layer, key in rows:
        if layer == "*":
            return None
        keys = changed.setdefault(layer, set())
        if key is None or keys is None:
            changed[layer] = None
        else:
            keys.add(key)
    return changed


def _journal_file(path: str, written: Mapping[str, None]) -> None:
    """Journal a whole-layer write in the copy about to replace the file."""
    con = _connect(Path(path))
    try:
        with con:
            journal(con, written)
    finally:
        con.close()


def check_unchanged(url: str, unchanged: tuple[str, str, object], now: object) -> None:
    """Refuse a write whose optimistic check failed: another writer changed ``layer.column`` first."""
    layer, column, value = unchanged
    if (None if now is None else int(now)) != (None if value is None else int(value)):  # type: ignore[call-overload]
        msg = f"{url}: {layer}.{column} is now {now}, not {value}: another writer committed first"
        raise ConflictError(msg)


def _key(name: str) -> str:
    spec = LAYERS.get(name)
    if spec is None or not spec.key:
        msg = f"layer {name!r} has no key: its rows cannot be replaced one by one"
        raise StoreError(msg)
    return spec.key


def _write_layer(path: str, name: str, df: pd.DataFrame) -> None:
    spec = LAYERS.get(name)
    has_geometry = "geometry" in df.columns and (spec is None or spec.geometry is not None)
    kw: dict[str, object] = {"layer": name, "driver": "GPKG", "use_arrow": True}
    if spec is not None and spec.geometry is not None:
        kw["geometry_type"] = "Unknown" if len(spec.geometry) > 1 else spec.geometry[0]
        kw["promote_to_multi"] = False
    if spec is not None and spec.title_zh:
        kw["layer_options"] = {"DESCRIPTION": spec.title_zh}
    if not has_geometry and "geometry" in df.columns:
        df = pd.DataFrame(df.drop(columns="geometry"))
    df = _utc(df)
    empty = [c for c in df.columns if c != "geometry" and df[c].dtype == object and df[c].isna().all()]
    if empty:  # all missing, no type to infer: pyogrio 0.10 cannot write Arrow's null type, so text
        df = df.assign(**{c: df[c].astype("string") for c in empty})
    pyogrio.write_dataframe(df, path, **kw)


def _utc(df: pd.DataFrame) -> pd.DataFrame:
    """Timestamps to UTC, as GeoPackage wants them."""
    tz_cols = [c for c in df.columns if isinstance(df[c].dtype, pd.DatetimeTZDtype)]
    if not tz_cols:
        return df
    df = df.copy()
    for c in tz_cols:
        df[c] = df[c].dt.tz_convert("UTC")
    return df


# -- SQLite helpers for appends -------------------------------------------


@contextlib.contextmanager
def unavailable_on_faults(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn "not now" into :class:`StoreUnavailable`: the file missing, unreadable, locked by another
    program past :data:`BUSY_S`, or its disk full (SQL mistakes stay what they are)."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in _UNAVAILABLE_CODES:
            raise
        msg = f"{path}: the store cannot be used now ({exc}); retry in a moment"
        raise StoreUnavailable(msg) from exc
    except (OSError, pyogrio.errors.DataSourceError) as exc:
        msg = f"{path}: the store cannot be used now ({getattr(exc, 'strerror', None) or exc}); retry in a moment"
        raise StoreUnavailable(msg) from exc


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=BUSY_S, isolation_level=None)
    con.isolation_level = "IMMEDIATE"
    # GDAL's R-tree triggers call these SpatiaLite-style functions.
    for fn, idx in (("ST_MinX", 0), ("ST_MinY", 1), ("ST_MaxX", 2), ("ST_MaxY", 3)):
        con.create_function(fn, 1, _bound(idx), deterministic=True)
    con.create_function("ST_IsEmpty", 1, _is_empty, deterministic=True)
    return con


def _parse_blob(blob: bytes | None) -> shapely.Geometry | None:
    if blob is None:
        return None
    flags = blob[3]
    envelope = (0, 32, 48, 48, 64)[(flags >> 1) & 0b111]
    return shapely.from_wkb(bytes(blob[8 + envelope :]))


def _bound(i: int):
    def f(blob: bytes | None) -> float | None:
        g = _parse_blob(blob)
        return None if g is None else float(shapely.bounds(g)[i])

    return f


def _is_empty(blob: bytes | None) -> int:
    g = _parse_blob(blob)
    return int(g is None or g.is_empty)


def _geometry_column_name(con: sqlite3.Connection, name: str) -> str | None:
    row = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (name,)).fetchone()
    return row[0] if row else None


def _srs_id(con: sqlite3.Connection, name: str) -> int:
    return int(con.execute("SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = ?", (name,)).fetchone()[0])


def gpkg_blob(geom: shapely.Geometry | None, srs_id: int) -> bytes | None:
    """Encode a geometry as a GeoPackage binary blob (little-endian, xy envelope)."""
    if geom is None or geom.is_empty:
        return None
    minx, miny, maxx, maxy = geom.bounds
    header = b"GP" + bytes([0, 0b00000011]) + struct.pack("<i4d", srs_id, minx, maxx, miny, maxy)
    return header + shapely.to_wkb(geom, byte_order=1)


def _sql_values(df: pd.DataFrame, geom_col: str | None, srs: int) -> tuple[list[str], list[tuple]]:
    names: list[str] = []
    columns: list[list[object]] = []
    for c in df.columns:
        s = df[c]
        if c == "geometry":
            if geom_col is None:
                continue
            names.append(geom_col)
            columns.append([gpkg_blob(g, srs) for g in s])
            continue
        names.append(c)
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            text = s.dt.tz_convert("UTC").dt.strftime(_ISO).str.slice(0, 23) + "Z"
            columns.append([None if pd.isna(v) else v for v in text.where(s.notna())])
        elif s.dtype == bool:
            columns.append([int(v) for v in s])
        else:
            columns.append([None if pd.isna(v) else (v.item() if isinstance(v, np.generic) else v) for v in s])
    return names, list(zip(*columns, strict=True))
