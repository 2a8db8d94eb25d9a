"""Derived state kept between starts (gridservice.io.derived): the customer search index saved and loaded.

The loaded index must answer exactly as a freshly built one; data that changed must never be answered
from an old entry; a damaged or foreign entry is rebuilt, never trusted.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from api_helpers import SETTINGS, USERS, headers
from fastapi.testclient import TestClient

from gridservice.api import create_app
from gridservice.api.routes.customers import customer_index
from gridservice.io import GeoPackageStore
from gridservice.io.derived import KEEP, load_or_build
from gridservice.search import CustomerIndex, fingerprint


@pytest.fixture(scope="module")
def customers(demo_frames: dict) -> pd.DataFrame:
    return demo_frames["customers"].set_index("customer_id")


def queries(customers: pd.DataFrame) -> list[str]:
    """Each kind of key, taken from the data: ids, meters, phones and their tails, names, pinyin, addresses."""
    rows = customers.iloc[[0, 17, 123, 999, 2500]]
    out = ["张", "zh", "138", "镇", "wangfang", "nobody-like-this"]
    for cid, r in rows.iterrows():
        out += [str(cid), str(r["meter_id"]), str(r["phone"]), str(r["phone"])[-4:], str(r["name"]),
                str(r["address"])[:6]]
    return out


def entries(root: Path) -> list[Path]:
    """The saved search indexes in ``root`` (a server also keeps its area's snapshot there)."""
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("customer_index-"))


def test_a_loaded_index_answers_as_a_built_one(customers: pd.DataFrame, tmp_path: Path) -> None:
    fp = fingerprint(customers)
    built = CustomerIndex.saved(customers, fp, tmp_path)
    [entry] = entries(tmp_path)
    assert not (entry / "tree.json").read_text().count("pickle")
    loaded = CustomerIndex.saved(customers, fp, tmp_path)
    assert isinstance(loaded.ids, np.memmap)  # read from the entry, not built again
    fresh = CustomerIndex.build(customers)
    for q in queries(customers):
        for personal in (True, False):
            expected = fresh.search(q, limit=50, personal=personal)
            pd.testing.assert_frame_equal(loaded.search(q, limit=50, personal=personal), expected)
            pd.testing.assert_frame_equal(built.search(q, limit=50, personal=personal), expected)
    assert entries(tmp_path) == [entry]


def test_changed_data_is_never_answered_from_an_old_entry(customers: pd.DataFrame, tmp_path: Path) -> None:
    CustomerIndex.saved(customers, fingerprint(customers), tmp_path)
    renamed = customers.copy()
    cid = renamed.index[42]
    renamed.loc[cid, "name"] = "龚德彪"
    fp = fingerprint(renamed)
    assert fp != fingerprint(customers)
    index = CustomerIndex.saved(renamed, fp, tmp_path)
    hits = index.search("龚德彪")
    assert hits.index[0] == cid and hits["name"].iloc[0] == "龚德彪"
    assert len(entries(tmp_path)) == 2
    # at most KEEP entries of a kind stay, the most recently used
    for i in range(KEEP + 1):
        more = renamed.copy()
        more.loc[cid, "name"] = f"龚德彪{i}"
        CustomerIndex.saved(more, fingerprint(more), tmp_path)
    assert len(entries(tmp_path)) == KEEP


def test_a_damaged_or_foreign_entry_is_rebuilt(customers: pd.DataFrame, tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    fp = fingerprint(customers)
    CustomerIndex.saved(customers, fp, tmp_path)
    [entry] = entries(tmp_path)
    expected = CustomerIndex.build(customers).search("zh", limit=50)

    # a truncated array file
    npy = next(entry.glob("*.npy"))
    npy.write_bytes(npy.read_bytes()[:100])
    index = CustomerIndex.saved(customers, fp, tmp_path)
    pd.testing.assert_frame_equal(index.search("zh", limit=50), expected)
    assert "unreadable" in caplog.text

    # a tree naming a class the caller did not name, or a file outside the entry: refused
    for bad in ({"format": 1, "tree": {"object": "Popen", "fields": {}}},
                {"format": 1, "tree": {"npy": "../../etc/passwd"}}):
        caplog.clear()
        (entry / "tree.json").write_text(json.dumps(bad))
        digest = entry.name.removeprefix("customer_index-")
        assert load_or_build(tmp_path, "customer_index", digest, lambda: "built", classes=(CustomerIndex,)) == "built"
        assert "unreadable" in caplog.text


def test_no_cache_folder_or_an_unwritable_one_still_builds(customers: pd.DataFrame, tmp_path: Path) -> None:
    fp = fingerprint(customers)
    assert len(CustomerIndex.saved(customers, fp, None)) == len(customers)
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert len(CustomerIndex.saved(customers, fp, blocked)) == len(customers)


def test_a_restart_loads_the_index_and_an_import_rebuilds_it(demo_gpkg: Path, tmp_path: Path) -> None:
    """Two server starts over one cache folder: the second loads the saved index; customers renamed in
    the store between starts (an import) are found under their new names, not the old."""
    data = tmp_path / "nanfeng.gpkg"
    data.write_bytes(demo_gpkg.read_bytes())
    GeoPackageStore(data).write({"users": USERS})
    settings = SETTINGS.model_copy(update={"cache_dir": str(tmp_path / "cache"), "warm_up": False})
    h = headers("dispatcher")

    def search(q: str) -> tuple[list[str], bool]:
        """The names found for ``q`` by a new server, and whether its index was loaded (memory-mapped)."""
        app = create_app(str(data), settings=settings, web=False)
        with TestClient(app) as client:
            r = client.get("/api/v1/customers/search", params={"q": q, "limit": 5}, headers=h)
            assert r.status_code == 200
            index = customer_index(app.state.holder.get(), settings.cache_dir)
            return [i["name"] for i in r.json()["items"]], isinstance(index.ids, np.memmap)

    store = GeoPackageStore(data)
    customers = store.read_layer("customers")
    old = str(customers["name"].iloc[7])
    names, loaded = search(old)
    assert old in names and not loaded  # the first start builds it
    names, loaded = search(old)
    assert old in names and loaded  # the second start loads it from the folder
    assert len(entries(tmp_path / "cache")) == 1
    store.upsert({"customers": customers.iloc[[7]].assign(name="龚德彪")})
    names, loaded = search("龚德彪")
    assert names == ["龚德彪"] and not loaded  # renamed customers: built anew, never the old entry
    assert len(entries(tmp_path / "cache")) == 2

