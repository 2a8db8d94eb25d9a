"""Two holders over one store stand for two server workers: each follows the other's writes
(on a GeoPackage and on PostGIS: both keep a change journal)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import psycopg
import pytest

import pg
from gridservice.api.state import AreaHolder
from gridservice.auth import record, remove_user
from gridservice.events.records import save_new_work_order, save_transition
from gridservice.events.work_orders import create_work_order, declared
from gridservice.io import open_store
from gridservice.io.store import _connect


def _new_order(holder: AreaHolder, customer: str) -> str:
    with holder.writing() as changes:
        order = create_work_order(holder.get(), kind="repair", customer_id=customer, point=None, channel="phone",
                                  description="no power", received_at=pd.Timestamp("2026-11-30 09:00+08:00"))
        save_new_work_order(holder.store, order, user="dispatcher")
        changes.upsert("work_orders", declared(order))
    return str(order.index[0])


def test_a_sibling_write_is_merged_without_a_reload(small_data: str) -> None:
    one, two = AreaHolder(small_data), AreaHolder(small_data)
    customers = two.get().customers
    assert list(two.get().work_orders.index) == ["WO1"]

    made = _new_order(one, "C3")
    seen = two.get()
    assert made in seen.work_orders.index and made != "WO1"
    assert seen.work_orders.loc[made, "grid_id"] == "G2"  # C3's grid, as the writer derived it
    assert seen.customers is customers  # merged in: the million customers were not read again

    # a status change (an update in place) reaches the other holder too
    with one.writing() as changes:
        changes.upsert("work_orders", save_transition(one.store, made, "dispatched",
                                                      pd.Timestamp("2026-11-30 09:10+08:00"), user="dispatcher"))
    assert two.get().work_orders.loc[made, "status"] == "dispatched"
    assert two.get().customers is customers

    # an audit entry (every lookup makes one) costs the other holder nothing: the log is not kept in memory
    before = two.get()
    with one.writing():
        record(one.store, user="dispatcher", action="customer.view", layer="customers", feature_id="C1")
    with ThreadPoolExecutor(1) as pool, one.store.lock():  # and it waits for no writer (one holds the lock now)
        assert pool.submit(two.get).result(timeout=30) is before
    assert "customer.view" in set(open_store(small_data).read_layer("audit_log")["action"])


def test_a_second_writer_takes_the_next_id_not_the_same(small_data: str) -> None:
    one, two = AreaHolder(small_data), AreaHolder(small_data)
    one.get(), two.get()  # both loaded before either writes
    first, second = _new_order(one, "C1"), _new_order(two, "C2")
    assert first != second
    stored = open_store(small_data).read_layer("work_orders")
    assert sorted(stored.index) == sorted(["WO1", first, second])


def test_deleted_records_and_whole_layer_writes_are_followed(small_data: str) -> None:
    one, two = AreaHolder(small_data), AreaHolder(small_data)
    assert "planner" in two.get().users.index
    remove_user(one.store, "planner", by="admin")
    assert "planner" not in two.get().users.index

    customers = two.get().customers
    assert two.get().customers is customers  # nothing written: nothing reloaded
    renamed = customers.assign(name=customers["name"] + "（改）")
    open_store(small_data).write({"customers": renamed})  # an import: the whole layer
    reloaded = two.get().customers
    assert reloaded is not customers and reloaded.loc["C1", "name"] == "张三（改）"


def test_a_write_by_another_program_reloads(small_data: str, request: pytest.FixtureRequest) -> None:
    holder = AreaHolder(small_data)
    assert holder.get().customers.loc["C2", "name"] == "李四"
    if small_data.startswith("postgresql:"):  # QGIS editing the table as a role that may edit customers only
        cluster: pg.Cluster = request.getfixturevalue("pg_cluster")
        schema = small_data.split("area=")[1]
        cluster.sql(f"CREATE ROLE editor_{schema} LOGIN PASSWORD 'e'; GRANT USAGE ON SCHEMA {schema} TO "
                    f"editor_{schema}; GRANT SELECT, UPDATE ON {schema}.customers TO editor_{schema}", db="gridservice")
        editor = small_data.split("?")[0].replace(f"gridservice:{pg.PASSWORD}@", f"editor_{schema}:e@")
        with psycopg.connect(editor) as con:
            con.execute(f"UPDATE {schema}.customers SET name = %s WHERE customer_id = %s", ("李四四", "C2"))
    else:  # QGIS editing the file: nothing in the change journal
        con = _connect(Path(small_data))
        with con:
            con.execute("UPDATE customers SET name = '李四四' WHERE customer_id = 'C2'")
        con.close()
    assert holder.get().customers.loc["C2", "name"] == "李四四"
