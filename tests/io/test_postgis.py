"""The PostGIS store: the same behaviour as the GeoPackage store, on a real throwaway cluster (tests/pg.py)."""

from __future__ import annotations

import threading

import geopandas as gpd
import pandas as pd
import psycopg
import pytest
import shapely
from shapely.geometry import Point

import pg
from gridservice.errors import DataError, StoreError, StoreUnavailable
from gridservice.io import GeoPackageStore, open_store
from gridservice.io.postgis import MIGRATIONS, PostGISStore
from gridservice.io.tables import conform, to_storage


@pytest.fixture
def area_url(pg_cluster: pg.Cluster, request: pytest.FixtureRequest) -> str:
    """A fresh area name in the session's database."""
    name = "t_" + request.node.name.lower().replace("[", "_").replace("]", "").replace("-", "_")[:50]
    return pg_cluster.url(area=name)


def test_every_layer_round_trips_exactly(demo_frames: dict, area_url: str, tmp_path) -> None:
    store = open_store(area_url)
    assert isinstance(store, PostGISStore)
    store.write(demo_frames, create=True)
    gpkg = GeoPackageStore(tmp_path / "a.gpkg")
    gpkg.write(demo_frames, create=True)
    want, got = gpkg.read(), store.read()
    assert list(got) == list(want)
    for name in want:
        pd.testing.assert_frame_equal(pd.DataFrame(got[name]), pd.DataFrame(want[name]), obj=name)
    # timestamps to the millisecond, as written
    orders = demo_frames["work_orders"]
    stamp = orders["received_at"] if "received_at" in orders.columns else orders.index
    assert got["work_orders"]["received_at"].tolist()[:5] == pd.Series(stamp).tolist()[:5]


def test_extra_columns_text_and_nulls_survive(area_url: str) -> None:
    store = open_store(area_url)
    staff = gpd.GeoDataFrame(
        {"staff_id": ["P1", "P2", "P3"], "name": ["张三", "", "tab\there\nnewline \\ back"],
         "role": ["repair"] * 3, "phone": [None, "", "13800000000"],
         "shift_note": ["早班", None, ""], "years": pd.array([3, None, 7], dtype="Int64"),
         "rating": [1 / 3, float("nan"), 1e-300],
         "hired_at": pd.to_datetime(["2020-01-02 03:04:05.678", None, "2026-02-28 23:59:59.999"])
         .tz_localize("Asia/Shanghai")},
        geometry=[Point(116.5, 27.2), None, Point(116.6, 27.3)], crs=4326)
    store.write({"staff": conform("staff", staff)}, create=True)
    got = store.read_layer("staff")
    assert got.loc["P2", "name"] == ""  # empty text is not null
    assert pd.isna(got.loc["P1", "phone"]) and got.loc["P2", "phone"] == ""
    assert got.loc["P3", "name"] == "tab\there\nnewline \\ back"
    assert got["shift_note"].tolist()[0] == "早班" and pd.isna(got["shift_note"].iloc[1])
    assert got["years"].tolist()[0] == 3 and pd.isna(got["years"].iloc[1])
    assert got.loc["P1", "rating"] == 1 / 3 and got.loc["P3", "rating"] == 1e-300
    assert str(got.loc["P3", "hired_at"]) == "2026-02-28 23:59:59.999000+08:00"
    assert got.geometry.iloc[1] is None and got.geometry.iloc[0].equals(Point(116.5, 27.2))


def test_qgis_sees_postgis_layers_with_srid_gist_and_keys(pg_cluster: pg.Cluster, area_url: str,
                                                          demo_frames: dict) -> None:
    open_store(area_url).write(demo_frames, create=True)
    area = PostGISStore(area_url).area
    cols = pg_cluster.sql(f"SELECT f_table_name || ':' || type || ':' || srid FROM geometry_columns "
                          f"WHERE f_table_schema = '{area}' ORDER BY 1", db="gridservice").split()
    assert "customers:POINT:4326" in cols and "grids:GEOMETRY:4326" in cols and "feeders:GEOMETRY:4326" in cols
    gist = pg_cluster.sql(f"SELECT count(*) FROM pg_indexes WHERE schemaname = '{area}' AND indexdef LIKE "
                          "'%USING gist%'", db="gridservice")
    assert "customers_masked:POINT:4326" in cols  # the view roles without personal data read
    assert int(gist) == sum(1 for c in cols if not c.startswith("customers_masked:"))  # every table's
    pk = pg_cluster.sql(f"SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
                        f"a.attnum = ANY(i.indkey) WHERE i.indrelid = '\"{area}\".customers'::regclass "
                        "AND i.indisprimary", db="gridservice")
    assert pk == "customer_id"


def test_the_database_refuses_rows_that_break_its_constraints(area_url: str, pg_cluster: pg.Cluster,
                                                             demo_frames: dict) -> None:
    store = open_store(area_url)
    store.write(demo_frames, create=True)
    area = store.area
    for bad in (f"UPDATE \"{area}\".customers SET category = 'alien' WHERE fid = 1",  # CHECK of choices
                f"UPDATE \"{area}\".customers SET meter_id = 'NO-SUCH-METER' WHERE fid = 1",  # foreign key
                f"INSERT INTO \"{area}\".grids (grid_id, code, name, station_id, area_class, plan_version, "
                f"geometry) SELECT grid_id, code, name, station_id, area_class, plan_version, geometry "
                f"FROM \"{area}\".grids LIMIT 1"):  # primary key
        with psycopg.connect(pg_cluster.url(), autocommit=True) as con, \
                pytest.raises(psycopg.errors.IntegrityError):
            con.execute(bad)


def test_a_failed_write_changes_nothing(area_url: str, demo_frames: dict) -> None:
    store = open_store(area_url)
    store.write(demo_frames, create=True)
    before = store.version()
    customers = demo_frames["customers"].copy()
    customers["meter_id"] = "NO-SUCH-METER"  # breaks the foreign key, found at commit
    with pytest.raises(DataError, match="foreign key"):
        store.write({"grids": demo_frames["grids"].iloc[:1], "customers": customers})
    assert store.version() == before
    assert len(store.read_layer("grids")) == len(demo_frames["grids"])


def test_upsert_update_append_and_the_audit_log_is_append_only(area_url: str, demo_frames: dict) -> None:
    from gridservice.auth import audit_entry

    store = open_store(area_url)
    store.write(demo_frames, create=True)
    v0 = store.version()
    orders = store.read_layer("work_orders")
    first = orders.index[0]
    change = orders.loc[[first], ["status"]].assign(status="closed")
    store.update("work_orders", change, append={"audit_log": audit_entry(
        user="t", action="status:closed", layer="work_orders", feature_id=first)})
    got = store.read_layer("work_orders")
    assert got.loc[first, "status"] == "closed" and got.index[0] == first  # updated in place
    assert store.version() != v0
    with pytest.raises(StoreError, match="not there"):
        store.update("work_orders", change.rename(index={first: "NOPE"}))
    with pytest.raises(StoreError, match="append-only"):
        store.upsert({}, delete={"audit_log": [store.read_layer("audit_log").index[0]]})
    with pytest.raises(DataError, match="append-only"):
        store.write({"audit_log": store.read_layer("audit_log").iloc[1:]})
    visits = store.read_layer("visits")
    store.upsert({"visits": visits.iloc[:1].assign(kind="phone")}, delete={"visits": [visits.index[1]]})
    after = store.read_layer("visits")
    assert len(after) == len(visits) - 1 and after.loc[visits.index[0], "kind"] == "phone"


def test_every_write_notes_its_keys_in_the_change_journal(area_url: str, demo_frames: dict,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from gridservice.auth import audit_entry

    store = PostGISStore(area_url)
    assert store.changes(None) == (None, None)  # no area: nothing known
    store.write(demo_frames, create=True)
    start, changed = store.changes(None)
    assert changed is None and start is not None  # a reader that has read nothing reloads
    assert store.changes(start) == (start, {})
    assert "gridservice_changes" not in store.layers()  # the journal is no layer

    visits = store.read_layer("visits")
    store.upsert({"visits": visits.iloc[:1].assign(kind="phone")}, delete={"visits": [visits.index[1]]})
    assert store.changes(start) == (start + 2, {"visits": {visits.index[0], visits.index[1]}})
    orders = store.read_layer("work_orders")
    first = orders.index[0]
    store.update("work_orders", orders.loc[[first], ["status"]].assign(status="closed"), append={
        "audit_log": audit_entry(user="t", action="status:closed", layer="work_orders", feature_id=first)})
    entry = store.read_layer("audit_log").index[-1]
    end, changed = store.changes(start + 2)
    assert end == start + 4 and changed == {"work_orders": {first}, "audit_log": {entry}}
    store.append("audit_log", audit_entry(user="t", action="customer.view"))
    viewed = store.read_layer("audit_log").index[-1]
    assert store.changes(end) == (end + 1, {"audit_log": {viewed}})

    customers = store.read_layer("customers")
    assert len(customers) > 1_000  # more keys than the journal notes one by one: the whole layer
    store.upsert({"customers": customers.assign(phone="")})
    store.write({"grids": store.read_layer("grids")})  # a whole-layer write
    assert store.changes(end)[1] == {"audit_log": {viewed},
                                     "customers": None, "grids": None}

    monkeypatch.setattr("gridservice.io.postgis._JOURNAL_KEEP", 2)  # older entries are dropped …
    store.append("audit_log", audit_entry(user="t", action="customer.view"))
    assert store.changes(end)[1] is None  # … and a reader that far behind reloads
    last = store.changes(None)[0]
    assert store.changes(last - 2)[1] == {"audit_log": {store.read_layer("audit_log").index[-1]}, "grids": None}

    store.write(demo_frames, create=True)  # `copy --force`: the area made afresh, with a new journal
    assert store.changes(last)[1] is None
    assert store.changes(store.changes(None)[0]) == (store.changes(None)[0], {})


def test_concurrent_appends_from_threads_lose_nothing(area_url: str, demo_frames: dict) -> None:
    from gridservice.auth import audit_entry

    store = open_store(area_url)
    store.write({"audit_log": demo_frames["audit_log"]} if "audit_log" in demo_frames else {}, create=True)
    n0 = len(store.read_layer("audit_log"))

    def worker(k: int) -> None:
        for i in range(5):
            with store.lock():
                store.append("audit_log", audit_entry(user=f"w{k}", action=f"a{i}"))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.read_layer("audit_log")) == n0 + 30


def test_the_password_is_never_shown(pg_cluster: pg.Cluster) -> None:
    url = pg_cluster.url(area="nowhere")
    store = open_store(url)
    assert pg.PASSWORD not in repr(store) and pg.PASSWORD not in store.url
    assert store.url == f"postgresql://gridservice@{pg_cluster.host}:{pg_cluster.port}/gridservice?area=nowhere"
    wrong = open_store(url.replace(pg.PASSWORD, "wrong-" + pg.PASSWORD))
    with pytest.raises(StoreUnavailable) as err:
        wrong.exists()
    assert "password authentication failed" in str(err.value) and "wrong-" not in str(err.value)


def test_the_password_can_come_from_pgpassword(pg_cluster: pg.Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", pg.PASSWORD)
    assert open_store(pg_cluster.url(area="from_env", password=False)).exists() is False


def test_a_database_that_is_down_is_unavailable_not_a_crash() -> None:
    store = open_store(f"postgresql://nobody:pw@127.0.0.1:{pg.free_port()}/none")
    with pytest.raises(StoreUnavailable, match="cannot be reached"):
        store.version()


def test_a_bad_area_name_is_refused() -> None:
    with pytest.raises(StoreError, match="area 'Nan-Feng'"):
        PostGISStore("postgresql://u@h/db?area=Nan-Feng")


def test_migrations_bring_an_older_area_up_without_losing_rows(area_url: str, demo_frames: dict) -> None:
    store = PostGISStore(area_url)
    assert store.migrate(upto=1) == 1  # an area made by the first release: tables, no foreign keys nor indexes
    assert store.schema_version() == 1
    with pytest.raises(StoreError, match="gridservice migrate"):
        store.read_layer("grids")
    with store.lock(), store._connect() as con:  # the rows an old release wrote (past the version check)
        for name in ("stations", "grids"):
            rows = to_storage(name, demo_frames[name])
            store._ensure_table(con, name, rows, [name])
            store._copy_in(con, name, rows)
    assert store.changes(None) == (None, None)  # no journal before the fifth step
    assert store.migrate() == len(MIGRATIONS) - 1
    assert store.schema_version() == len(MIGRATIONS)
    grids = to_storage("grids", demo_frames["grids"])
    store.upsert({"grids": grids.iloc[:1]})
    start = store.changes(None)[0]
    store.upsert({"grids": grids.iloc[1:2]})
    assert store.changes(start)[1] == {"grids": {grids["grid_id"].iloc[1]}}  # the journal is kept from now on
    assert store.migrate() == 0
    assert len(store.read_layer("grids")) == len(demo_frames["grids"])


def test_a_first_load_builds_the_same_schema_as_the_migrations(pg_cluster: pg.Cluster, area_url: str,
                                                               demo_frames: dict) -> None:
    loaded = open_store(area_url)
    loaded.write(demo_frames, create=True)  # keys, foreign keys and indexes built after the rows
    migrated = PostGISStore(area_url.replace("?area=", "?area=m"))
    migrated.migrate()
    migrated.write(demo_frames)  # into the tables the migrations made

    def schema(area: str) -> list[str]:
        out = pg_cluster.sql(
            f"SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
            f"WHERE connamespace = '\"{area}\"'::regnamespace UNION ALL SELECT tablename || ' ' || indexname || ' ' "
            f"|| indexdef FROM pg_indexes WHERE schemaname = '{area}' ORDER BY 1", db="gridservice")
        return sorted(out.replace(f'"{area}".', "").replace(f"{area}.", "").splitlines())

    assert schema(loaded.area) == schema(migrated.area)
    assert any("PRIMARY KEY (customer_id)" in line for line in schema(loaded.area))
    assert any("FOREIGN KEY (meter_id)" in line for line in schema(loaded.area))


def test_rows_of_frames_put_together_are_written_as_they_are(area_url: str, demo_frames: dict) -> None:
    # a frame concatenated from pieces holds chunked Arrow strings (an empty first chunk here)
    grids = demo_frames["grids"]
    together = pd.concat([grids.iloc[:0], grids.iloc[:2], grids.iloc[2:]])
    store = open_store(area_url)
    store.write({**demo_frames, "grids": together}, create=True)
    assert store.read_layer("grids")["code"].tolist() == grids["code"].tolist()


def test_a_database_killed_under_a_write_load_loses_no_acknowledged_write(demo_frames: dict) -> None:
    # writers append work orders (each with its audit entry, one transaction); the postmaster is killed
    # (immediate stop: no shutdown checkpoint), restarted, and the writers carry on by themselves
    from gridservice.auth import audit_entry

    template = demo_frames["work_orders"].iloc[[0]]
    with pg.cluster() as cluster:
        url = cluster.url(area="killed")
        store = open_store(url)
        store.write(demo_frames, create=True)
        n0 = len(demo_frames["work_orders"])
        acked: list[str] = []
        failures: list[BaseException] = []
        others: list[BaseException] = []
        stop = threading.Event()

        def writer(k: int) -> None:
            i = 0
            while not stop.is_set():
                oid = f"KILL-{k}-{i}"
                i += 1
                order = template.assign(work_order_id=oid)
                entry = audit_entry(user=f"w{k}", action="create", layer="work_orders", feature_id=oid)
                try:
                    store.upsert({"work_orders": order, "audit_log": entry})
                except StoreUnavailable as exc:
                    failures.append(exc)
                    stop.wait(0.05)
                except BaseException as exc:  # anything else is a bug this test reports
                    others.append(exc)
                    return
                else:
                    acked.append(oid)

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        while len(acked) < 30:
            stop.wait(0.05)
        cluster.pg_ctl("-m", "immediate", "stop")
        down = len(acked)
        while len(failures) < 6:
            stop.wait(0.05)
        cluster.pg_ctl("-l", str(cluster.datadir.parent / "server.log"), "start")
        while len(acked) < down + 30 and not others:
            stop.wait(0.05)
        stop.set()
        for t in threads:
            t.join()

        assert not others, others[:1]
        assert all("the database cannot be reached" in str(e) or "connection to the database was lost" in str(e)
                   for e in failures)
        assert len(acked) >= down + 30  # resumed without a restart of the writers
        orders = store.read_layer("work_orders")
        log = store.read_layer("audit_log")
        written = [o for o in orders.index if o.startswith("KILL-")]
        assert set(acked) <= set(written)  # every acknowledged write is there
        assert len(written) == len(set(written)) and len(orders) == n0 + len(written)  # once
        logged = log.loc[log["feature_id"].str.startswith("KILL-", na=False), "feature_id"]
        assert sorted(logged) == sorted(written)  # nothing half-written: each order with its audit entry
        assert len(written) - len(acked) <= len(failures)  # only a write whose answer was lost is unacknowledged


def test_qgis_roles_see_personal_data_only_masked_unless_their_role_sees_it(pg_cluster: pg.Cluster, area_url: str,
                                                                            demo_frames: dict) -> None:
    from typer.testing import CliRunner

    from gridservice.cli import app
    from gridservice.privacy import mask_address, mask_name, mask_phone

    open_store(area_url).write(demo_frames, create=True)
    area = PostGISStore(area_url).area
    admin_url = f"postgresql://postgres@{pg_cluster.host}:{pg_cluster.port}/gridservice?area={area}"
    result = CliRunner().invoke(app, ["grant", "--data", admin_url])
    assert result.exit_code == 0, result.output
    assert "gridservice_planner" in result.output
    pg_cluster.sql("DO $$BEGIN CREATE ROLE qgis_planner LOGIN IN ROLE gridservice_planner; "
                   "CREATE ROLE qgis_dispatcher LOGIN IN ROLE gridservice_dispatcher; "
                   "EXCEPTION WHEN duplicate_object THEN NULL; END$$")
    raw = demo_frames["customers"].set_index("customer_id").sort_index()

    def login(role: str) -> psycopg.Connection:
        return psycopg.connect(f"postgresql://{role}@{pg_cluster.host}:{pg_cluster.port}/gridservice",
                               autocommit=True)

    with login("qgis_planner") as con:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute(f'SELECT name FROM "{area}".customers')
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute(f'SELECT password_hash FROM "{area}".users')
        rows = con.execute(f"SELECT customer_id, name, phone, address, ST_SRID(geometry) "
                           f'FROM "{area}".customers_masked ORDER BY customer_id').fetchall()
        assert len(con.execute(f'SELECT grid_id FROM "{area}".grids').fetchall()) == len(demo_frames["grids"])
    got = pd.DataFrame(rows, columns=["customer_id", "name", "phone", "address", "srid"]).set_index("customer_id")
    assert got.index.tolist() == raw.index.tolist() and set(got["srid"]) == {4326}
    assert got["name"].tolist() == mask_name(raw["name"]).tolist()  # the same rules as the API's
    assert got["phone"].tolist() == mask_phone(raw["phone"]).tolist()
    assert got["address"].tolist() == mask_address(raw["address"]).tolist()
    assert got["name"].tolist() != raw["name"].tolist()
    with login("qgis_dispatcher") as con:  # a dispatcher sees them (auth.SEES_PERSONAL_DATA)
        names = [r[0] for r in con.execute(f'SELECT name FROM "{area}".customers ORDER BY customer_id')]
    assert names == raw["name"].tolist()


def test_bbox_and_where_are_applied_by_the_database_with_its_indexes(pg_cluster: pg.Cluster, area_url: str,
                                                                     demo_frames: dict, tmp_path) -> None:
    store = open_store(area_url)
    store.write(demo_frames, create=True)
    gpkg = GeoPackageStore(tmp_path / "a.gpkg")
    gpkg.write(demo_frames, create=True)
    customers = store.read_layer("customers")
    minx, miny, maxx, maxy = customers.total_bounds
    box = (minx, miny, (minx + maxx) / 2, (miny + maxy) / 2)
    # the expected rows worked out in memory, by shapely
    inside = customers.index[customers.geometry.intersects(shapely.box(*box))].tolist()
    assert 0 < len(inside) < len(customers)
    assert store.read_layer("customers", bbox=box).index.tolist() == inside
    assert gpkg.read_layer("customers", bbox=box).index.tolist() == inside
    first = customers["category"].iloc[0]
    both = [c for c in inside if customers.loc[c, "category"] == first]
    assert store.read_layer("customers", bbox=box, where=f"category = '{first}'").index.tolist() == both
    plan = pg_cluster.sql(f"SET enable_seqscan = off; EXPLAIN SELECT * FROM \"{store.area}\".customers "
                          f"WHERE geometry && ST_MakeEnvelope({', '.join(map(str, box))}, 4326)", db="gridservice")
    assert "customers_geometry_gist" in plan


def test_a_forked_child_opens_its_own_connections(area_url: str) -> None:
    # a server forking its workers: the parent's kept session must stay the parent's
    import os
    import warnings

    store = open_store(area_url)
    store.write({}, create=True)
    with store._connect() as con:
        parent = con.info.backend_pid
    read, write = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns that forking a threaded process may deadlock
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: report its session, then leave without running any cleanup
        try:
            with store._connect() as con:
                os.write(write, str(con.info.backend_pid).encode())
        finally:
            os._exit(0)
    os.close(write)
    child = int(os.read(read, 64) or 0)
    os.waitpid(pid, 0)
    with store._connect() as con:
        assert con.info.backend_pid == parent  # still this process's session, and it works
    assert child and child != parent
