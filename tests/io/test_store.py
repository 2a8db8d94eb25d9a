"""The GeoPackage store: round trips, transactions, appends under concurrency."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from gridservice.errors import StoreError
from gridservice.io import GeoPackageStore
from gridservice.io.tables import conform
from gridservice.model import ServiceArea
from gridservice.schema import LAYERS


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_layer_round_trips(demo_frames: dict, tmp_path: Path) -> None:
    area = ServiceArea(demo_frames)
    store = GeoPackageStore(tmp_path / "rt.gpkg")
    store.write(area.layers, create=True)
    back = ServiceArea.load(store)
    for name in LAYERS:
        before, after = area.layers[name], back.layers[name]
        assert before.index.name == after.index.name, name
        pd.testing.assert_frame_equal(before, after, check_like=False, obj=name)


def test_qgis_sees_every_layer_as_a_table(tiny_store: GeoPackageStore) -> None:
    # QGIS lists what gpkg_contents lists: features for spatial layers, attributes for tables.
    with sqlite3.connect(tiny_store.path) as con:
        kinds = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents").fetchall())
    for name, spec in LAYERS.items():
        assert kinds[name] == ("features" if spec.geometry else "attributes"), name


def test_columns_beyond_the_schema_are_kept(tmp_path: Path) -> None:
    meters = pd.DataFrame({"meter_id": ["M1"], "transformer_id": ["T1"], "asset_tag": ["电表-0001"]})
    store = GeoPackageStore(tmp_path / "x.gpkg")
    store.write({"meters": conform("meters", meters)}, create=True)
    assert store.read_layer("meters").loc["M1", "asset_tag"] == "电表-0001"


def test_failed_write_leaves_the_file_unchanged(tiny_store: GeoPackageStore) -> None:
    before = digest(tiny_store.path)
    good = tiny_store.read_layer("stations")
    # Arrow cannot write complex numbers: the second layer fails after the first was written
    unwritable = pd.DataFrame({"station_id": ["S9"], "name": ["坏"], "impedance": [1 + 2j]})
    with pytest.raises(Exception):  # noqa: B017 - whatever the writer raises, the file must survive
        tiny_store.write({"stations": good.iloc[:0], "bad": unwritable})
    assert digest(tiny_store.path) == before
    assert list(tiny_store.path.parent.glob(".tiny.gpkg.*")) == []  # no temp file left behind


def test_append_is_visible_to_gdal_and_keeps_the_spatial_index(tiny_store: GeoPackageStore) -> None:
    row = gpd.GeoDataFrame(
        {"work_order_id": ["W1"], "kind": ["repair"], "status": ["received"],
         "received_at": [pd.Timestamp("2026-11-02 08:30", tz="Asia/Shanghai")]},
        geometry=[Point(116.51, 27.21)], crs=4326)
    tiny_store.append("work_orders", conform("work_orders", row))
    back = tiny_store.read_layer("work_orders")
    assert back.loc["W1", "received_at"] == pd.Timestamp("2026-11-02 00:30", tz="UTC")
    assert back.geometry.iloc[0].equals(Point(116.51, 27.21))
    # the R-tree was maintained by GDAL's triggers: a bbox query finds the row
    hit = pyogrio.read_dataframe(tiny_store.path, layer="work_orders", bbox=(116.5, 27.2, 116.52, 27.22))
    assert list(hit["work_order_id"]) == ["W1"]


def test_concurrent_appends_lose_nothing(tiny_store: GeoPackageStore) -> None:
    def worker(k: int) -> None:
        store = GeoPackageStore(tiny_store.path)  # each writer opens the file itself
        for j in range(5):
            row = pd.DataFrame({"visit_id": [f"V{k}-{j}"], "staff_id": ["P1"], "customer_id": ["C1"],
                                "at": [pd.Timestamp("2026-11-01 09:00", tz="Asia/Shanghai")], "kind": ["home"]})
            store.append("visits", conform("visits", row))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = tiny_store.read_layer("visits").index
    assert sorted(ids) == sorted(f"V{k}-{j}" for k in range(8) for j in range(5))


def test_failed_append_writes_nothing(tiny_store: GeoPackageStore) -> None:
    rows = pd.DataFrame({"reading_id": ["R1", "R1"], "device_id": ["T1", "T1"], "period": ["2026-10"] * 2,
                         "kwh": [1.0, 2.0]})
    with sqlite3.connect(tiny_store.path) as con:
        con.execute('CREATE UNIQUE INDEX uq_reading ON energy_readings("reading_id")')
    with pytest.raises(sqlite3.IntegrityError):
        tiny_store.append("energy_readings", conform("energy_readings", rows, check_values=False))
    assert len(tiny_store.read_layer("energy_readings")) == 0


def test_a_file_that_is_not_a_geopackage_is_refused_and_left_alone(tmp_path: Path) -> None:
    text = tmp_path / "notes.gpkg"
    text.write_text("hello", encoding="utf-8")
    plain = tmp_path / "plain.sqlite"
    with sqlite3.connect(plain) as con:
        con.execute("CREATE TABLE t (x)")
    for path in (text, plain, tmp_path / "empty.gpkg"):
        path.touch()
        before = path.read_bytes()
        store = GeoPackageStore(path)
        with pytest.raises(StoreError, match="not a GeoPackage"):
            store.read()
        with pytest.raises(StoreError, match="not a GeoPackage"):
            store.write({"users": pd.DataFrame({"username": ["bob"]})})
        assert path.read_bytes() == before


def test_a_whole_layer_write_keeps_the_file_mode(tiny_store: GeoPackageStore) -> None:
    tiny_store.path.chmod(0o664)  # shared with a group (QGIS users, the API's service account)
    tiny_store.write({"grids": tiny_store.read_layer("grids")})
    assert tiny_store.path.stat().st_mode & 0o777 == 0o664
    tiny_store.append("audit_log", tiny_store.read_layer("audit_log").head(0))
    tiny_store._write_new_layer("extra_notes", pd.DataFrame({"note": ["x"]}))
    assert tiny_store.path.stat().st_mode & 0o777 == 0o664


def _stale_copy(store: GeoPackageStore) -> Path:
    stale = store.path.parent / f".{store.path.name}.k9x_1.tmp.gpkg"
    stale.write_bytes(b"half a copy")  # what kill -9 mid-import leaves
    (stale.parent / f"{stale.name}-journal").write_bytes(b"")
    return stale


def test_copies_a_killed_writer_left_are_removed_at_open(tiny_store: GeoPackageStore) -> None:
    stale = _stale_copy(tiny_store)
    other = tiny_store.path.parent / ".other.gpkg.k9x_1.tmp.gpkg"  # another store's: not ours to remove
    other.write_bytes(b"")
    GeoPackageStore(tiny_store.path)
    assert not stale.exists() and not (stale.parent / f"{stale.name}-journal").exists()
    assert other.exists() and tiny_store.path.is_file()


def test_the_copy_of_a_live_writer_is_left_alone(tiny_store: GeoPackageStore) -> None:
    stale = _stale_copy(tiny_store)
    with tiny_store.lock():  # a writer (another process, in real life) is at work
        GeoPackageStore(tiny_store.path)
        assert stale.exists()
    GeoPackageStore(tiny_store.path)
    assert not stale.exists()


def test_the_directory_is_fsynced_after_the_rename(tiny_store: GeoPackageStore,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    renamed: list[str] = []
    real_replace = os.replace
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", lambda a, b: (renamed.append(str(b)), real_replace(a, b)))
    tiny_store.write({"grids": tiny_store.read_layer("grids")})
    assert renamed == [str(tiny_store.path)]
    assert synced[-1] == str(tiny_store.path.parent.resolve())  # after the file: its directory


def _visit(visit_id: str, staff: str) -> pd.DataFrame:
    return conform("visits", pd.DataFrame({"visit_id": [visit_id], "staff_id": [staff], "customer_id": ["C1"],
                                           "at": [pd.Timestamp("2026-11-01 09:00", tz="Asia/Shanghai")],
                                           "kind": ["home"]}))


def _entry(log_id: str) -> pd.DataFrame:
    return conform("audit_log", pd.DataFrame({"log_id": [log_id], "at": [pd.Timestamp("2026-11-01", tz="UTC")],
                                              "user": ["t"], "action": ["x"]}))


def test_upsert_replaces_by_key_deletes_and_appends_in_place(tiny_store: GeoPackageStore) -> None:
    tiny_store.append("visits", pd.concat([_visit("V1", "P1"), _visit("V2", "P1")]))
    inode = tiny_store.path.stat().st_ino
    tiny_store.upsert({"visits": pd.concat([_visit("V1", "P2"), _visit("V3", "P3")]), "audit_log": _entry("L1")},
                      delete={"visits": ["V2"]})
    visits = tiny_store.read_layer("visits")
    assert visits["staff_id"].sort_index().to_dict() == {"V1": "P2", "V3": "P3"}  # V1 replaced, V2 gone, V3 new
    assert "L1" in tiny_store.read_layer("audit_log").index
    assert tiny_store.path.stat().st_ino == inode  # rows written in place, not a rewritten file


def test_a_failed_upsert_changes_no_layer(tiny_store: GeoPackageStore) -> None:
    tiny_store.append("visits", _visit("V1", "P1"))
    before = digest(tiny_store.path)
    bad = pd.DataFrame({"log_id": ["L1"], "no_such_column": [1]})
    with pytest.raises(StoreError, match="no_such_column"):
        tiny_store.upsert({"visits": _visit("V1", "P9"), "audit_log": bad}, delete={"visits": ["V1"]})
    assert digest(tiny_store.path) == before


def test_upsert_never_deletes_audit_rows(tiny_store: GeoPackageStore) -> None:
    tiny_store.append("audit_log", _entry("L1"))
    with pytest.raises(StoreError, match="append-only"):
        tiny_store.upsert({}, delete={"audit_log": ["L1"]})
    tiny_store.upsert({"audit_log": _entry("L1")})  # the same id again is a second row, never a replacement
    assert list(tiny_store.read_layer("audit_log").index).count("L1") == 2


def test_a_thread_holding_the_lock_may_write(tiny_store: GeoPackageStore) -> None:
    """A read-check-write holds the lock and then writes: the lock is re-entrant for its thread."""
    with tiny_store.lock():
        tiny_store.append("visits", _visit("V1", "P1"))
        with tiny_store.lock():
            tiny_store.upsert({"visits": _visit("V1", "P2")})
    assert tiny_store.read_layer("visits").loc["V1", "staff_id"] == "P2"


def test_the_change_journal_names_what_each_write_wrote(tiny_store: GeoPackageStore) -> None:
    tiny_store.append("visits", _visit("V1", "P1"))
    start, _ = tiny_store.changes(None)
    assert tiny_store.changes(start) == (start, {})  # nothing since
    tiny_store.upsert({"visits": _visit("V2", "P1"), "audit_log": _entry("L1")}, delete={"visits": ["V1"]})
    end, changed = tiny_store.changes(start)
    assert changed == {"visits": {"V1", "V2"}, "audit_log": {"L1"}}  # V1 deleted, V2 written
    assert "gridservice_changes" not in tiny_store.layers()  # not a layer: QGIS does not list it

    tiny_store.write({"visits": _visit("V3", "P2")})  # a whole layer, in a copy renamed over the file
    assert tiny_store.changes(end)[1] == {"visits": None}
    assert tiny_store.changes(start)[1] == {"visits": None, "audit_log": {"L1"}}
    latest, _ = tiny_store.changes(None)

    tiny_store.write(ServiceArea({}).layers, create=True)  # another file in its place: everything is new
    assert tiny_store.changes(latest)[1] is None


def test_every_committed_write_changes_the_version(tiny_store: GeoPackageStore) -> None:
    seen = {tiny_store.version()}
    st = tiny_store.path.stat()
    for i in range(5):
        tiny_store.append("audit_log", _entry(f"L{i}"))
        os.utime(tiny_store.path, ns=(st.st_atime_ns, st.st_mtime_ns))  # as if in the same tick of the clock
        seen.add(tiny_store.version())
    assert len(seen) == 6
