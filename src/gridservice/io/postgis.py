"""The production store: a service area kept in a PostgreSQL + PostGIS schema.

``--data 'postgresql://USER:PASS@HOST:PORT/DB?area=NAME'`` opens the area
``NAME`` (default ``main``), one PostgreSQL schema; a database holds many.
Every other part of the URL goes to libpq as it is, so ``PGPASSWORD``,
``~/.pgpass`` and ``service=`` files work. The password never leaves the
connection string: :attr:`PostGISStore.url` and ``repr`` leave it out.

Tables follow :data:`gridservice.schema.LAYERS`: a ``fid`` identity column
(row order, as the GeoPackage's), the declared columns (``timestamptz`` for
times, ``geometry(Point,4326)`` … with a GiST index), the key as primary
key, foreign keys where SPEC §3 has them (checked at commit) and CHECKs for
choices, so another system writing the tables cannot corrupt them. Columns
a user's data brings beyond the declaration become columns too.

Rows move in bulk, never through a Python loop: reads arrive as Arrow
columns through ADBC (binary COPY parsed in C++, geometry as WKB), writes
are one ``COPY … FROM STDIN`` of a CSV buffer Arrow writes. A first load
builds keys, foreign keys and GiST indexes after the rows are in.
Connections stay open between calls and are replaced when the server
dropped them (a restart): see :class:`_Idle`.
Every write is one transaction that also bumps ``gridservice_meta.data_version``,
the cheap token :meth:`PostGISStore.version` reads, so a process sees any
other's committed write, and notes the keys it wrote in the change journal
``gridservice_changes`` (as the GeoPackage store does), so that server
workers re-read those records only (:meth:`PostGISStore.changes`). A
write by another program (QGIS, psql) does the same through a trigger on
every table: it bumps the version and journals the whole table.
:meth:`PostGISStore.lock` is a session advisory lock: writers in every
process and on every machine queue on it.

Schema changes are numbered steps in :data:`MIGRATIONS`; ``gridservice
init`` and ``gridservice migrate`` apply the missing ones
(``gridservice_meta.schema_version`` says which ran).
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as adbc
import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely
from psycopg import sql

from gridservice.errors import DataError, StoreError, StoreUnavailable
from gridservice.io.store import (
    _JOURNAL_KEEP,
    JOURNAL,
    check_unchanged,
    journal_rows,
    journal_since,
    reentrant,
    written_keys,
)
from gridservice.io.tables import conform, to_storage
from gridservice.schema import CRS, LAYERS, TIMEZONE, Layer

#: Layers whose rows are never deleted: the audit trail.
APPEND_ONLY = frozenset({"audit_log"})

_AREA = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_META = "gridservice_meta"
_SQL_KINDS = {"str": "text", "float": "double precision", "int": "bigint", "bool": "boolean",
              "datetime": "timestamptz"}
_CONNECT_TIMEOUT_S = 10
#: Idle connections kept per database and driver (more may be open while busy; extra ones close when done).
_IDLE_MAX = 8


class PostGISStore:
    """A service area kept in one schema of a PostGIS database.

    Parameters
    ----------
    url
        ``postgresql://USER[:PASS]@HOST[:PORT]/DB[?area=NAME&…]``.

    Examples
    --------
    >>> store = PostGISStore("postgresql://gis@db.example/grids?area=nanfeng")
    >>> store
    PostGISStore('postgresql://gis@db.example/grids?area=nanfeng')
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        area = next((v for k, v in query if k == "area"), "main")
        if not _AREA.fullmatch(area):
            msg = f"area {area!r}: an area name is lower-case letters, digits and _ (a PostgreSQL schema)"
            raise StoreError(msg)
        self.area = area
        rest = [(k, v) for k, v in query if k != "area"]
        self._conninfo = urlunsplit(parts._replace(query=urlencode(rest)))
        netloc = parts.netloc.rpartition("@")
        user = netloc[0].partition(":")[0]
        public = f"{user}@{netloc[2]}" if netloc[1] else netloc[2]
        self._url = urlunsplit(parts._replace(netloc=public, query=urlencode([("area", area), *rest])))
        self._held = threading.local()

    def __repr__(self) -> str:
        return f"PostGISStore({self.url!r})"

    @property
    def url(self) -> str:
        """The URL without its password (libpq finds it again in ``PGPASSWORD`` or ``.pgpass``)."""
        return self._url

    # -- connections -------------------------------------------------------

    @contextlib.contextmanager
    def _connect(self) -> Iterator[psycopg.Connection]:
        """A connection whose block is one transaction (committed at its end, rolled back on an error).

        Connections are kept open between calls (:class:`_Idle`): a request
        does not pay for a new one, and one that a restarted server dropped is
        replaced. A database that cannot be reached, or drops the connection
        midway, is :class:`StoreUnavailable`; nothing is half-written since
        the transaction did not commit.
        """
        with _idle(self._conninfo, "psycopg").get(self.url) as con:
            try:
                with con.transaction():
                    yield con
            except psycopg.OperationalError as exc:
                if con.broken or con.closed:
                    raise StoreUnavailable(f"{self.url}: the connection to the database was lost: "
                                           f"{_reason(exc)}") from None
                raise StoreError(f"{self.url}: {_reason(exc)}") from None
            except psycopg.errors.IntegrityError as exc:
                raise DataError(f"{self.url}: the database refuses the rows: {_reason(exc)}") from None
            except psycopg.Error as exc:
                raise StoreError(f"{self.url}: {_reason(exc)}") from None

    def _table(self, name: str) -> sql.Composable:
        return sql.Identifier(self.area, name)

    # -- state -------------------------------------------------------------

    def exists(self) -> bool:
        """Whether the area has been created (``gridservice init`` or a first write)."""
        with self._connect() as con:
            return _has_meta(con, self.area)

    def version(self) -> tuple[int]:
        """A token that changes on every committed write by any process (``gridservice_meta.data_version``)."""
        with self._connect() as con:
            if not _has_meta(con, self.area):
                return (0,)
            row = con.execute(sql.SQL("SELECT data_version FROM {}").format(self._table(_META))).fetchone()
            return (int(row[0]),)

    def changes(self, since: int | None) -> tuple[int | None, dict[str, set[str] | None] | None]:
        """Where the change journal ends, and what the writes after position ``since`` wrote, as
        :meth:`GeoPackageStore.changes <gridservice.io.store.GeoPackageStore.changes>` says.

        A journal starts at a random position (:func:`_step_journal`), so a
        reader cannot take up an area made afresh (``copy --force``) where it
        left the one it replaced.
        """
        with self._connect() as con:
            con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")  # the bounds and rows agree
            if con.execute("SELECT to_regclass(%s) IS NULL", (f'"{self.area}".{JOURNAL}',)).fetchone()[0]:
                return None, None
            table = self._table(JOURNAL)
            first, end = con.execute(sql.SQL("SELECT min(seq), max(seq) FROM {}").format(table)).fetchone()
            return journal_since(since, first, end, lambda after: con.execute(
                sql.SQL("SELECT layer, feature_id FROM {} WHERE seq > %s").format(table), (after,)).fetchall())

    def schema_version(self) -> int:
        """How many of :data:`MIGRATIONS` have run on this area (0: none, no area)."""
        with self._connect() as con:
            return _schema_version(con, self.area)

    def layers(self) -> list[str]:
        """The area's tables: declared layers in schema order, then the others by name."""
        with self._connect() as con:
            self._require(con)
            return _tables(con, self.area)

    def _require(self, con: psycopg.Connection) -> None:
        if not _has_meta(con, self.area):
            msg = f"{self.url}: no such service area (create one with `gridservice init` or `gridservice copy`)"
            raise StoreError(msg)
        current = _schema_version(con, self.area)
        if current < len(MIGRATIONS):
            msg = (f"{self.url}: the area's schema is version {current}, this gridservice wants "
                   f"{len(MIGRATIONS)}: run `gridservice migrate`")
            raise StoreError(msg)

    # -- reading ------------------------------------------------------------

    def migrate(self, *, upto: int | None = None) -> int:
        """Bring the area to the newest schema (creating it if need be); returns how many steps ran."""
        with self._writing() as con:
            return _migrate(con, self.area, upto=upto)

    def grant(self, roles: Mapping[str, bool]) -> list[str]:
        """Create a database role ``gridservice_<role>`` per product role (``role`` → whether it sees
        personal data) and let it read the area, for QGIS and other readers; returns the roles.

        Every role reads every layer except ``users`` (password hashes); a layer with personal
        data (:data:`MASKED`) only through its ``_masked`` view unless the role sees personal
        data. The roles cannot log in: a DBA grants them to logins
        (``GRANT gridservice_planner TO alice``). Needs a connection that may create roles.
        """
        made = []
        with self._connect() as con:
            self._require(con)
            tables = [t for t in _tables(con, self.area) if t != "users"]
            for role, personal in roles.items():
                name = f"gridservice_{role}"
                ident = sql.Identifier(name)
                if not con.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
                    con.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(ident))
                con.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(self.area), ident))
                readable = [t for t in tables if personal or t not in MASKED] + [f"{t}_masked" for t in MASKED]
                con.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(
                    sql.SQL(", ").join(self._table(t) for t in readable), ident))
                if not personal:
                    con.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(
                        sql.SQL(", ").join(self._table(t) for t in MASKED), ident))
                made.append(name)
        return made

    def read_layer(self, name: str, *, raw: bool = False, where: str | None = None,
                   bbox: tuple[float, float, float, float] | None = None) -> pd.DataFrame:
        """One layer, conformed to its schema (``raw`` skips that). The database applies the
        filters, with the layer's indexes: ``where`` is an SQL condition, ``bbox``
        ``(minx, miny, maxx, maxy)`` in degrees keeps the features whose bounding box meets it
        (the GiST index)."""
        with self._connect() as con:
            self._require(con)
            if name not in _tables(con, self.area):
                msg = f"{self.url}: no layer {name!r}"
                raise StoreError(msg)
            if bbox is not None:
                box = sql.SQL("geometry && ST_MakeEnvelope({}, 4326)").format(
                    sql.SQL(", ").join(sql.Literal(float(v)) for v in bbox)).as_string(con)
                where = box if where is None else f"({where}) AND {box}"
            query = self._select(con, name, where)
        with self._arrow() as run:
            table = run(query)
        return self._finish(name, self._frame(table), raw=raw)

    def read(self, names: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
        """Several layers as one snapshot (one repeatable-read transaction); by default every layer."""
        with self._connect() as con:
            self._require(con)
            present = _tables(con, self.area)
            wanted = list(names) if names is not None else present
            unknown = [n for n in wanted if n not in present and n not in LAYERS]
            if unknown:
                msg = f"{self.url}: no layer {unknown[0]!r}"
                raise StoreError(msg)
            queries = {n: self._select(con, n, None) for n in wanted if n in present}
        with self._arrow(snapshot=True) as run:
            tables = {n: run(q) for n, q in queries.items()}
        return {n: self._finish(n, self._frame(tables[n]), raw=False) if n in tables
                else conform(n, pd.DataFrame(), check_values=False) for n in wanted}

    @contextlib.contextmanager
    def _arrow(self, *, snapshot: bool = False) -> Iterator[Callable[[str], pa.Table]]:
        """Run queries whose rows arrive as Arrow tables (ADBC: binary COPY parsed in C++, no Python
        loop over rows); ``snapshot`` runs them in one repeatable-read transaction."""
        with _idle(self._conninfo, "adbc").get(self.url) as con, con.cursor() as cur:

            def run(query: str) -> pa.Table:
                try:
                    cur.execute(query)
                    return cur.fetch_arrow_table()
                except adbc_driver_manager.Error as exc:
                    if exc.sqlstate is None or exc.sqlstate[:2] in ("08", "57"):
                        msg = f"{self.url}: the connection to the database was lost: {_adbc_reason(exc)}"
                        raise StoreUnavailable(msg) from None
                    raise StoreError(f"{self.url}: {_adbc_reason(exc)}") from None

            if snapshot:
                run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield run
            if snapshot:
                run("COMMIT")

    def _select(self, con: psycopg.Connection, name: str, where: str | None) -> str:
        """The SELECT of a layer's rows in order: geometry as WKB, types Arrow has, others as text."""
        select = []
        for col, udt in _columns(con, self.area, name):
            if col == "fid":
                continue
            ident = sql.Identifier(col)
            if udt == "geometry":
                select.append(sql.SQL("ST_AsBinary({0}) AS {0}").format(ident))
            elif udt in _ARROW:
                select.append(sql.SQL("{0}::{1} AS {0}").format(ident, sql.SQL(_ARROW[udt])))
            else:  # a type another system gave a column: its text
                select.append(sql.SQL("{0}::text AS {0}").format(ident))
        query = sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(select), self._table(name))
        if where:
            query = sql.SQL("{} WHERE {}").format(query, sql.SQL(where))  # type: ignore[arg-type]
        return sql.SQL("{} ORDER BY fid").format(query).as_string(con)

    @staticmethod
    def _frame(table: pa.Table) -> pd.DataFrame:
        df = table.to_pandas()
        if "geometry" in df.columns:
            df["geometry"] = shapely.from_wkb(df["geometry"].to_numpy(dtype=object, na_value=None))
            df = gpd.GeoDataFrame(df, geometry="geometry", crs=CRS)
        return df

    def _finish(self, name: str, df: pd.DataFrame, *, raw: bool) -> pd.DataFrame:
        if raw:
            return df
        for c in df.columns:  # stored UTC; in memory local time, extra columns too
            if isinstance(df[c].dtype, pd.DatetimeTZDtype):
                df[c] = df[c].dt.tz_convert(TIMEZONE).astype(f"datetime64[ms, {TIMEZONE}]")
        if name not in LAYERS:
            return df
        return conform(name, df, source=f"{self.url}:{name}", check_values=False)

    # -- writing ------------------------------------------------------------

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Hold the area's write lock, across processes and machines (a session advisory lock).

        A thread that holds it already may take it again, so a read-check-write
        can call the writing methods.
        """
        return reentrant(self._held, self._advisory_lock)

    @contextlib.contextmanager
    def _advisory_lock(self) -> Iterator[None]:
        con = _connect_psycopg(self._conninfo, self.url, "gridservice lock")
        try:
            try:
                con.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (_lock_name(self.area),))
            except psycopg.OperationalError as exc:
                raise StoreUnavailable(f"{self.url}: the connection to the database was lost: "
                                       f"{_reason(exc)}") from None
            try:
                yield
            finally:
                with contextlib.suppress(psycopg.Error):
                    con.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (_lock_name(self.area),))
        finally:
            con.close()  # a lost connection releases the lock with it

    @contextlib.contextmanager
    def _writing(self) -> Iterator[psycopg.Connection]:
        """One write transaction under the area's lock that bumps the data version."""
        with self._connect() as con:
            if not getattr(self._held, "depth", 0):  # queue behind other writers until this commits
                con.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (_lock_name(self.area),))
            con.execute(f"SELECT set_config('{_WRITING}', 'on', true)")  # our journal notes the keys (step 6)
            yield con
            if _has_meta(con, self.area):
                con.execute(sql.SQL("UPDATE {} SET data_version = data_version + 1").format(self._table(_META)))

    def write(self, frames: Mapping[str, pd.DataFrame], *, create: bool = False) -> None:
        """Replace whole layers in one transaction; ``create`` starts the area afresh (every other layer goes)."""
        self.write_locked(frames, create=create)

    def write_locked(self, frames: Mapping[str, pd.DataFrame], *, create: bool = False,
                     unchanged: tuple[str, str, object] | None = None) -> None:
        """:meth:`write` (the lock is taken inside the transaction unless this thread holds :meth:`lock`).

        ``unchanged`` is an optimistic check done in SQL in the write's own
        transaction, ``(layer, column, value)``: the layer is locked against
        other writers (readers go on) and the write refused
        (:class:`ConflictError`) unless its largest ``column`` is still
        ``value`` — so no lost update even between writers that skip the
        advisory lock.
        """
        with self._writing() as con:
            if unchanged is not None and _has_meta(con, self.area):
                layer, column, _ = unchanged
                con.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(self._table(layer)))
                now = con.execute(sql.SQL("SELECT max({}) FROM {}").format(sql.Identifier(column),
                                                                            self._table(layer))).fetchone()[0]
                check_unchanged(self.url, unchanged, now)
            fresh = create or not _has_meta(con, self.area)
            if fresh:  # bare tables first; keys, foreign keys and indexes are built once the rows are in
                con.execute("SET LOCAL maintenance_work_mem = '256MB'")
                con.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.area)))
                _step_tables(con, self.area, keys=False)
            else:
                self._require(con)
            present = _tables(con, self.area)
            for name, df in frames.items():
                df = to_storage(name, df)
                if name in APPEND_ONLY and name in present:
                    self._refuse_dropped_rows(con, name, df)
                self._ensure_table(con, name, df, present)
                if not fresh:
                    con.execute(sql.SQL("DELETE FROM {}").format(self._table(name)))
                self._copy_in(con, name, df)
            if fresh:
                _add_keys(con, self.area)
                _mark(con, self.area, 1)
                _migrate(con, self.area)
            self._journal(con, {"*": None} if fresh else dict.fromkeys(frames))

    def _refuse_dropped_rows(self, con: psycopg.Connection, name: str, df: pd.DataFrame) -> None:
        key = LAYERS[name].key
        written = df[key].astype("str").tolist() if key in df.columns else []
        dropped = con.execute(sql.SQL("SELECT count(*) FILTER (WHERE NOT ({} = ANY(%s))), count(*) FROM {}").format(
            sql.Identifier(key), self._table(name)), (written,)).fetchone()
        if dropped[0]:
            msg = f"{name} is append-only: this write would drop {dropped[0]:,} of its {dropped[1]:,} rows"
            raise DataError(msg)

    def append(self, name: str, rows: pd.DataFrame) -> None:
        """Append records to a layer in one transaction (a layer not there yet is created)."""
        df = to_storage(name, rows)
        payload = _csv(_writable(name, df))
        with self._writing() as con:
            self._require(con)
            self._ensure_table(con, name, df, _tables(con, self.area))
            self._copy_in(con, name, df, payload)
            self._journal(con, {name: written_keys(name, df, [])})

    def upsert(self, frames: Mapping[str, pd.DataFrame], *, delete: Mapping[str, Iterable[str]] | None = None) -> None:
        """Write a few records of several layers in one transaction: each row replaces the row
        with its key (rows of an append-only layer are only added) and the keys in ``delete``
        are removed."""
        delete = {name: [str(k) for k in keys] for name, keys in (delete or {}).items()}
        refused = sorted(APPEND_ONLY & {name for name, keys in delete.items() if keys})
        if refused:
            msg = f"{self.url}: layer {refused[0]!r} is append-only: its rows are never deleted"
            raise StoreError(msg)
        stored = {name: to_storage(name, rows) for name, rows in frames.items()}
        payloads = {name: _csv(_writable(name, df)) for name, df in stored.items()}
        with self._writing() as con:
            self._require(con)
            present = _tables(con, self.area)
            missing = [n for n in {*stored, *delete} if n not in present]
            if missing:
                msg = f"{self.url}: no layer {missing[0]!r}"
                raise StoreError(msg)
            for name, keys in delete.items():
                self._delete(con, name, keys)
            for name, df in stored.items():
                if name not in APPEND_ONLY:
                    self._delete(con, name, df[_key(name)].astype("str").tolist())
                self._ensure_table(con, name, df, present)
                self._copy_in(con, name, df, payloads[name])
            self._journal(con, {name: written_keys(name, stored.get(name), delete.get(name, []))
                                for name in {*stored, *delete}})

    def update(self, name: str, rows: pd.DataFrame, *, append: Mapping[str, pd.DataFrame] | None = None) -> None:
        """Set the given columns of existing rows (by key, in place) and append rows to other layers,
        in one transaction; a key that matches no row is a :class:`StoreError`."""
        key = _key(name)
        df = to_storage(name, rows)
        cols = [c for c in df.columns if c != key]
        with self._writing() as con:
            self._require(con)
            temp = sql.Identifier(f"gridservice_update_{name}")
            con.execute(sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
                temp, sql.SQL(", ").join(map(sql.Identifier, [key, *cols])), self._table(name)))
            self._copy_rows(con, temp, df[[key, *cols]])
            assign = sql.SQL(", ").join(sql.SQL("{0} = u.{0}").format(sql.Identifier(c)) for c in cols)
            n = con.execute(sql.SQL("UPDATE {} AS t SET {} FROM {} AS u WHERE t.{} = u.{}").format(
                self._table(name), assign, temp, sql.Identifier(key), sql.Identifier(key))).rowcount
            if n != len(df):
                msg = f"{self.url}: {name}: {len(df) - n} of the {len(df)} rows to update are not there"
                raise StoreError(msg)
            present = _tables(con, self.area)
            written: dict[str, list[str] | None] = {name: df[key].astype("str").tolist()}
            for other, extra in (append or {}).items():
                extra = to_storage(other, extra)
                self._ensure_table(con, other, extra, present)
                self._copy_in(con, other, extra)
                written[other] = written_keys(other, extra, [])
            self._journal(con, written)

    def _journal(self, con: psycopg.Connection, written: Mapping[str, Iterable[str] | None]) -> None:
        """Note in the change journal, in the write's transaction, what it wrote: layer → keys (``None``: whole);
        entries more than :data:`_JOURNAL_KEEP <gridservice.io.store._JOURNAL_KEEP>` behind are dropped."""
        rows = journal_rows(written)
        if not rows:
            return
        table = self._table(JOURNAL)
        with con.cursor().copy(sql.SQL("COPY {} (layer, feature_id) FROM STDIN").format(table)) as copy:
            for row in rows:
                copy.write_row(row)
        con.execute(sql.SQL("DELETE FROM {0} WHERE seq <= (SELECT max(seq) FROM {0}) - %s").format(table),
                    (_JOURNAL_KEEP,))

    def _delete(self, con: psycopg.Connection, name: str, keys: list[str]) -> None:
        if keys:
            con.execute(sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(
                self._table(name), sql.Identifier(_key(name))), (keys,))

    def _ensure_table(self, con: psycopg.Connection, name: str, df: pd.DataFrame, present: list[str]) -> None:
        """Create an undeclared layer, and add the columns a frame brings beyond the table's."""
        if name not in present:
            con.execute(sql.SQL("CREATE TABLE {} (fid bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)")
                        .format(self._table(name)))
            present.append(name)
            _watch(con, self.area, [name])
        have = {c for c, _ in _columns(con, self.area, name)}
        for c in df.columns:
            if c in have:
                continue
            kind = sql.SQL("geometry(Geometry, 4326)" if c == "geometry" else _sql_kind(df[c]))
            con.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(self._table(name), sql.Identifier(c),
                                                                          kind))
            if c == "geometry":
                con.execute(sql.SQL("CREATE INDEX ON {} USING gist (geometry)").format(self._table(name)))

    def _copy_in(self, con: psycopg.Connection, name: str, df: pd.DataFrame, payload: bytes | None = None) -> None:
        """Add the rows (``payload``: their CSV, made before the transaction so the lock is held shorter)."""
        df = _writable(name, df)
        if len(df.columns):
            self._copy_rows(con, self._table(name), df, payload)

    def _copy_rows(self, con: psycopg.Connection, table: sql.Composable, df: pd.DataFrame,
                   payload: bytes | None = None) -> None:
        """``COPY … FROM STDIN`` of the whole frame as one CSV buffer that Arrow writes."""
        if not len(df):
            return
        query = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
            table, sql.SQL(", ").join(map(sql.Identifier, df.columns)))
        with con.cursor().copy(query) as copy:
            copy.write(_csv(df) if payload is None else payload)


# -- connections -----------------------------------------------------------------


class _Idle:
    """Open connections of one database and driver, kept for the next call.

    A connection is checked (``SELECT 1``) when taken again, so one a
    restarted server dropped is replaced by a new one instead of failing the
    request; a connection that failed midway is closed, not kept.
    """

    def __init__(self, connect: Callable[[str], object], alive: Callable[[object], bool]) -> None:
        self._connect, self._alive = connect, alive
        self._free: list[object] = []
        self._mutex = threading.Lock()

    @contextlib.contextmanager
    def get(self, url: str) -> Iterator:
        con = None
        while con is None:
            with self._mutex:
                con = self._free.pop() if self._free else None
            if con is None:
                con = self._connect(url)
            elif not self._alive(con):
                _close(con)
                con = None
        try:
            yield con
        except BaseException:
            if not self._alive(con):
                _close(con)
                raise
            self._keep(con)
            raise
        self._keep(con)

    def _keep(self, con: object) -> None:
        with self._mutex:
            if len(self._free) < _IDLE_MAX:
                self._free.append(con)
                return
        _close(con)


_IDLE: dict[tuple[str, str], _Idle] = {}
_IDLE_MUTEX = threading.Lock()


def _idle(conninfo: str, driver: str) -> _Idle:
    """The idle connections to ``conninfo`` (shared by every store on that database) for ``driver``."""
    with _IDLE_MUTEX:
        pool = _IDLE.get((conninfo, driver))
        if pool is None:
            if driver == "psycopg":
                pool = _Idle(lambda url: _connect_psycopg(conninfo, url, "gridservice"), _psycopg_alive)
            else:
                pool = _Idle(lambda url: _connect_adbc(conninfo, url), _adbc_alive)
            _IDLE[conninfo, driver] = pool
        return pool


@atexit.register
def _close_idle() -> None:
    """Close the kept connections when the process ends (the server is told, nothing is left half-open)."""
    with _IDLE_MUTEX:
        pools = list(_IDLE.values())
    for pool in pools:
        with pool._mutex:
            free, pool._free = pool._free, []
        for con in free:
            _close(con)


#: Connections a forked child inherited: its parent's sessions, never used nor closed here (closing
#: would end them for the parent too); the child opens its own.
_INHERITED: list[object] = []


def _forget_inherited() -> None:
    for pool in _IDLE.values():
        _INHERITED.extend(pool._free)
        pool._free = []
        pool._mutex = threading.Lock()


os.register_at_fork(after_in_child=_forget_inherited)


def _connect_psycopg(conninfo: str, url: str, name: str) -> psycopg.Connection:
    try:
        return psycopg.connect(conninfo, connect_timeout=_CONNECT_TIMEOUT_S, autocommit=True,
                               application_name=name)
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(f"{url}: the database cannot be reached: {_reason(exc)}") from None


def _psycopg_alive(con: psycopg.Connection) -> bool:
    if con.closed or con.broken or con.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        return False
    try:
        con.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def _connect_adbc(conninfo: str, url: str) -> adbc.Connection:
    """An Arrow connection (ADBC): bulk reads arrive as Arrow columns, parsed from binary COPY in C++."""
    dsn = psycopg.conninfo.make_conninfo(conninfo, connect_timeout=_CONNECT_TIMEOUT_S,
                                         application_name="gridservice arrow")
    try:
        return adbc.connect(dsn, autocommit=True)
    except adbc_driver_manager.Error as exc:
        raise StoreUnavailable(f"{url}: the database cannot be reached: {_adbc_reason(exc)}") from None


def _adbc_alive(con: adbc.Connection) -> bool:
    try:
        with con.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchall()
    except adbc_driver_manager.Error:
        return False
    return True


def _close(con: object) -> None:
    with contextlib.suppress(Exception):
        con.close()  # type: ignore[attr-defined]


def _adbc_reason(exc: BaseException) -> str:
    """An ADBC error's libpq message, without the driver's prefix and the query it echoes."""
    text = str(exc).split("\nQuery was:", 1)[0]
    text = re.sub(r"^[A-Z_]+: (\[libpq\] )?", "", text.strip())
    return _reason(Exception(text.replace("Failed to connect: ", "")))


# -- migrations ----------------------------------------------------------------


def _step_tables(con: psycopg.Connection, area: str, *, keys: bool = True) -> None:
    """1: the schema, its meta table, and a table per declared layer with keys and CHECKs.

    ``keys=False`` leaves the keys out, for a first load: :func:`_add_keys`
    then builds them from the loaded rows (a sort, not a million inserts
    into a B-tree).
    """
    schema = sql.Identifier(area)
    con.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
    con.execute(sql.SQL("CREATE TABLE {} (schema_version integer NOT NULL, data_version bigint NOT NULL)")
                .format(sql.Identifier(area, _META)))
    con.execute(sql.SQL("INSERT INTO {} VALUES (0, 0)").format(sql.Identifier(area, _META)))
    for spec in LAYERS.values():
        con.execute(_create_table(area, spec, keys=keys))


def _add_keys(con: psycopg.Connection, area: str) -> None:
    """The keys :func:`_step_tables` leaves out with ``keys=False`` (same names as it gives them)."""
    for spec in LAYERS.values():
        table = sql.Identifier(area, spec.name)
        con.execute(sql.SQL("ALTER TABLE {} ADD UNIQUE (fid)").format(table))
        keys = [spec.key] if spec.key else list(spec.unique)
        if keys:
            con.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(
                table, sql.SQL(", ").join(map(sql.Identifier, keys))))


def _step_foreign_keys(con: psycopg.Connection, area: str) -> None:
    """2: foreign keys where SPEC §3 has them, checked at commit (a whole-area write is one transaction)."""
    for spec in LAYERS.values():
        for col in spec.columns:
            if col.parent is None or LAYERS[col.parent].key is None:
                continue
            con.execute(sql.SQL(
                "ALTER TABLE {} ADD FOREIGN KEY ({}) REFERENCES {} ({}) DEFERRABLE INITIALLY DEFERRED").format(
                sql.Identifier(area, spec.name), sql.Identifier(col.name), sql.Identifier(area, col.parent),
                sql.Identifier(LAYERS[col.parent].key)))


def _step_spatial_indexes(con: psycopg.Connection, area: str) -> None:
    """3: a GiST index on every geometry column (QGIS and bbox filters use it)."""
    for spec in LAYERS.values():
        if spec.geometry is not None:
            con.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gist (geometry)").format(
                sql.Identifier(f"{spec.name}_geometry_gist"), sql.Identifier(area, spec.name)))


#: Layers with personal data, and the SQL that masks each such column (the rules of
#: :mod:`gridservice.privacy`, in SQL for the views QGIS reads; a test holds the two equal).
MASKED: dict[str, dict[str, str]] = {
    "customers": {
        "name": "left({0}, 1) || repeat('*', char_length({0}) - 1)",
        "phone": "CASE WHEN {0} = '' THEN {0} WHEN char_length({0}) >= 8 THEN left({0}, 3) || '****' || right({0}, 4) "
                 "ELSE '****' || right({0}, 2) END",
        "address": "regexp_replace({0}, '[0-9０-９].*', '…')",
    },
}


def _step_masked_views(con: psycopg.Connection, area: str) -> None:
    """4: a ``<layer>_masked`` view of each layer with personal data (names, phones, addresses masked)."""
    for name, masks in MASKED.items():
        cols = [sql.SQL(masks[c.name]).format(sql.Identifier(c.name)) + sql.SQL(" AS ") + sql.Identifier(c.name)
                if c.name in masks else sql.Identifier(c.name) for c in LAYERS[name].columns]
        if LAYERS[name].geometry is not None:
            cols.append(sql.Identifier("geometry"))
        con.execute(sql.SQL("CREATE VIEW {} AS SELECT {} FROM {}").format(
            sql.Identifier(area, f"{name}_masked"), sql.SQL(", ").join([sql.Identifier("fid"), *cols]),
            sql.Identifier(area, name)))


def _step_journal(con: psycopg.Connection, area: str) -> None:
    """5: the change journal (layer and key of every record written; no key: the whole layer).

    Its positions start at a random number, so that a reader following the
    journal of an area this one replaced cannot take up this one where it
    left the other.
    """
    table = sql.Identifier(area, JOURNAL)
    con.execute(sql.SQL("CREATE TABLE {} (seq bigserial PRIMARY KEY, layer text NOT NULL, feature_id text)")
                .format(table))
    con.execute("SELECT setval(pg_get_serial_sequence(%s, 'seq'), %s, false)",
                (f'"{area}".{JOURNAL}', secrets.randbits(48) + 1))


#: The setting a gridservice write transaction turns on, and the trigger (and its function) on each table.
_WRITING, _OUTSIDE = "gridservice.writing", "gridservice_outside_edit"


def _step_outside_edits(con: psycopg.Connection, area: str) -> None:
    """6: a write by another program (QGIS, psql) bumps the data version and journals its table as a whole.

    Servers holding the area in memory then reload that layer instead of
    answering from a stale copy. gridservice's own writes turn on
    ``gridservice.writing`` in their transaction: they bump the version once
    and journal their keys themselves. The function runs as its owner, so an
    editor's role needs no rights on the meta table or the journal.
    """
    con.execute(sql.SQL("""CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp AS $$
        BEGIN
            IF coalesce(current_setting({writing}, true), '') <> 'on' THEN
                UPDATE {meta} SET data_version = data_version + 1;
                INSERT INTO {journal} (layer, feature_id) VALUES (TG_TABLE_NAME, NULL);
            END IF;
            RETURN NULL;
        END $$""").format(fn=sql.Identifier(area, _OUTSIDE), writing=sql.Literal(_WRITING),
                          meta=sql.Identifier(area, _META), journal=sql.Identifier(area, JOURNAL)))
    _watch(con, area, _tables(con, area))


def _watch(con: psycopg.Connection, area: str, names: Iterable[str]) -> None:
    """Put step 6's trigger on these tables (once the area has its function)."""
    if con.execute("SELECT to_regproc(%s) IS NULL", (f'"{area}".{_OUTSIDE}',)).fetchone()[0]:
        return
    for name in names:
        table, trigger = sql.Identifier(area, name), sql.Identifier(_OUTSIDE)
        con.execute(sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(trigger, table))
        con.execute(sql.SQL("CREATE TRIGGER {} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {} "
                            "FOR EACH STATEMENT EXECUTE FUNCTION {}()").format(
            trigger, table, sql.Identifier(area, _OUTSIDE)))


#: Numbered schema changes; step ``i`` brings an area from version ``i`` to ``i + 1``. Append, never edit.
MIGRATIONS: tuple[Callable[[psycopg.Connection, str], None], ...] = (
    _step_tables,
    _step_foreign_keys,
    _step_spatial_indexes,
    _step_masked_views,
    _step_journal,
    _step_outside_edits,
)


def _migrate(con: psycopg.Connection, area: str, *, upto: int | None = None) -> int:
    """Apply the missing steps (up to ``upto``), then add any declared column a table lacks."""
    done = _schema_version(con, area)
    target = len(MIGRATIONS) if upto is None else upto
    for i in range(done, target):
        MIGRATIONS[i](con, area)
        _mark(con, area, i + 1)
    if target == len(MIGRATIONS):
        _add_declared_columns(con, area)
    return target - done


def _mark(con: psycopg.Connection, area: str, version: int) -> None:
    con.execute(sql.SQL("UPDATE {} SET schema_version = %s").format(sql.Identifier(area, _META)), (version,))


def migrate(store: PostGISStore, *, upto: int | None = None) -> int:
    """Bring ``store``'s area to the newest schema (creating it if need be); returns the steps applied."""
    with store._writing() as con:
        return _migrate(con, store.area, upto=upto)


def _add_declared_columns(con: psycopg.Connection, area: str) -> None:
    """A layer or column declared after the area was made: created empty (a new column is nullable)."""
    present = _tables(con, area)
    for spec in LAYERS.values():
        if spec.name not in present:
            con.execute(_create_table(area, spec))
            _watch(con, area, [spec.name])
            continue
        have = {c for c, _ in _columns(con, area, spec.name)}
        for col in spec.columns:
            if col.name not in have:
                con.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                    sql.Identifier(area, spec.name), sql.Identifier(col.name), sql.SQL(_SQL_KINDS[col.kind])))


def _create_table(area: str, spec: Layer, *, keys: bool = True) -> sql.Composable:
    parts = [sql.SQL("fid bigint GENERATED BY DEFAULT AS IDENTITY UNIQUE" if keys
                     else "fid bigint GENERATED BY DEFAULT AS IDENTITY")]
    for col in spec.columns:
        part = sql.SQL("{} {}").format(sql.Identifier(col.name), sql.SQL(_SQL_KINDS[col.kind]))
        if col.required:
            part = sql.SQL("{} NOT NULL").format(part)
        if col.choices:
            part = sql.SQL("{} CHECK ({} IN ({}))").format(part, sql.Identifier(col.name),
                                                           sql.SQL(", ").join(map(sql.Literal, col.choices)))
        parts.append(part)
    if spec.geometry is not None:
        kind = spec.geometry[0] if len(spec.geometry) == 1 else "Geometry"
        part = sql.SQL("geometry geometry({}, 4326)").format(sql.SQL(kind))
        if len(spec.geometry) > 1:
            # single and multi parts of one dimension (a GeometryType check would make
            # geometry_columns, hence QGIS, report its first value as the layer's type)
            dimension = {"Point": 0, "LineString": 1, "Polygon": 2}[spec.geometry[0]]
            part = sql.SQL("{} CHECK (ST_Dimension(geometry) = {})").format(part, sql.Literal(dimension))
        if spec.geometry_required:
            part = sql.SQL("{} NOT NULL").format(part)
        parts.append(part)
    primary = [spec.key] if spec.key else list(spec.unique)
    if primary and keys:
        parts.append(sql.SQL("PRIMARY KEY ({})").format(sql.SQL(", ").join(map(sql.Identifier, primary))))
    comment = sql.SQL("")
    if spec.title_zh:
        comment = sql.SQL("; COMMENT ON TABLE {} IS {}").format(sql.Identifier(area, spec.name),
                                                               sql.Literal(spec.title_zh))
    return sql.SQL("CREATE TABLE {} ({}){}").format(sql.Identifier(area, spec.name), sql.SQL(", ").join(parts),
                                                    comment)


# -- helpers -------------------------------------------------------------------

#: Column types read as they are, by the type they are read as (others are read as text).
_ARROW = {"text": "text", "varchar": "text", "bpchar": "text", "float8": "float8", "float4": "float8",
          "int8": "int8", "int4": "int8", "int2": "int8", "bool": "bool", "timestamptz": "timestamptz",
          "timestamp": "timestamp"}


def _reason(exc: BaseException) -> str:
    """The first line of a driver error (libpq never puts the password in it)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _lock_name(area: str) -> str:
    return f"gridservice:{area}"


def _key(name: str) -> str:
    spec = LAYERS.get(name)
    if spec is None or not spec.key:
        msg = f"layer {name!r} has no key: its rows cannot be replaced one by one"
        raise StoreError(msg)
    return spec.key


def _has_meta(con: psycopg.Connection, area: str) -> bool:
    return con.execute("SELECT to_regclass(%s) IS NOT NULL", (f'"{area}".{_META}',)).fetchone()[0]


def _schema_version(con: psycopg.Connection, area: str) -> int:
    if not _has_meta(con, area):
        return 0
    return int(con.execute(sql.SQL("SELECT schema_version FROM {}").format(sql.Identifier(area, _META)))
               .fetchone()[0])


def _tables(con: psycopg.Connection, area: str) -> list[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                       "AND table_type = 'BASE TABLE' AND table_name <> ALL(%s)", (area, [_META, JOURNAL])).fetchall()
    names = {r[0] for r in rows}
    return [n for n in LAYERS if n in names] + sorted(names - LAYERS.keys())


def _columns(con: psycopg.Connection, area: str, name: str) -> list[tuple[str, str]]:
    """``(column, type)`` in table order, ``fid`` first."""
    rows = con.execute("SELECT column_name, udt_name FROM information_schema.columns WHERE table_schema = %s "
                       "AND table_name = %s ORDER BY ordinal_position", (area, name)).fetchall()
    return [(str(c), str(t)) for c, t in rows]


def _sql_kind(s: pd.Series) -> str:
    if s.dtype == bool or s.dtype == "boolean":
        return "boolean"
    if pd.api.types.is_integer_dtype(s.dtype):
        return "bigint"
    if pd.api.types.is_float_dtype(s.dtype):
        return "double precision"
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return "timestamptz"
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return "timestamp"
    return "text"


def _writable(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """The columns a layer's table takes (no geometry for an attribute table)."""
    if "geometry" in df.columns and LAYERS.get(name) is not None and LAYERS[name].geometry is None:
        return df.drop(columns="geometry")
    return df


def _csv(df: pd.DataFrame) -> bytes:
    """The frame as PostgreSQL CSV: an unquoted empty field is null, a quoted one an empty text;
    geometry as EWKB hex (SRID 4326), timestamps with their offset."""
    columns = {}
    for c in df.columns:
        s = df[c]
        if c == "geometry":
            geoms = shapely.set_srid(np.asarray(s.array if hasattr(s, "array") else s, dtype=object), 4326)
            empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
            columns[c] = pa.array(shapely.to_wkb(np.where(empty, None, geoms), hex=True, include_srid=True),
                                  type=pa.string())
        elif s.dtype == object:  # mixed Python values: their text, as the GeoPackage store keeps them
            columns[c] = pa.array(s.astype("str").where(s.notna()).tolist(), type=pa.string())
        else:
            columns[c] = pa.Array.from_pandas(s)
    out = io.BytesIO()  # one chunk per column: Arrow's CSV writer garbles a table whose columns are chunked unalike
    pacsv.write_csv(pa.table(columns).combine_chunks(), out,
                    pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return out.getvalue()
