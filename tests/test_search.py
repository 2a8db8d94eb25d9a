"""Customer search: each kind of key, ranking, and partial matches checked by brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridservice.search import CustomerIndex, normalise, pinyin


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return pd.DataFrame({
        "name": ["张三", "张三丰", "李四", "欧阳娜娜", "王小明", "南丰县蜜桔有限公司", "张山", None],
        "address": ["琴城镇东门路1号", "琴城镇东门路12号", "太和镇西街8号", "太和镇西街9号", "白舍镇中心村3组",
                    "琴城镇工业园区", None, "市山镇"],
        "phone": ["13812345678", "138-1234-0000", "13987654321", None, "0794-3221234", "13600002222",
                  "13700001111", "13812349999"],
        "meter_id": ["M01", "M02", "M03", "M04", "M05", "M06", "M07", None],
    }, index=pd.Index([f"C{i:03d}" for i in range(1, 9)], name="customer_id")).astype("str")


@pytest.fixture(scope="module")
def index(customers: pd.DataFrame) -> CustomerIndex:
    return CustomerIndex.build(customers)


def test_pinyin_full_and_initials() -> None:
    full, initials = pinyin(pd.Series(["张三", "欧阳娜娜", "A座1", None], dtype="str"))
    assert full.tolist() == ["zhangsan", "ouyangnana", "azuo1", ""]
    assert initials.tolist() == ["zs", "oynn", "az1", ""]


def test_normalise() -> None:
    assert normalise(" 138 1234-5678 ") == "13812345678"
    assert normalise("ZhangSan") == "zhangsan"


@pytest.mark.parametrize(("query", "first", "match"), [
    ("C005", "C005", "customer_id"),
    ("c005", "C005", "customer_id"),
    ("M04", "C004", "meter_id"),
    ("13812345678", "C001", "phone"),
    ("5678", "C001", "phone"),          # a phone tail
    ("张三", "C001", "name"),            # exact beats the prefix match 张三丰
    ("zhangsanfeng", "C002", "pinyin"),
    ("zsf", "C002", "initials"),
    ("oyn", "C004", "initials"),
    ("蜜桔", "C006", "name"),            # inside a name
    ("中心村", "C005", "address"),       # inside an address
    ("wangxiaomin", "C005", "pinyin"),  # a pinyin prefix
    ("wangxaoming", "C005", "fuzzy"),   # a typo
])
def test_each_kind_of_key(index: CustomerIndex, query: str, first: str, match: str) -> None:
    found = index.search(query)
    assert found.index[0] == first and found["match"].iloc[0] == match


def test_ranking_exact_then_prefix_then_partial(index: CustomerIndex) -> None:
    found = index.search("张三")
    assert found.index.tolist()[:2] == ["C001", "C002"]
    assert found["score"].iloc[0] > found["score"].iloc[1]
    zs = index.search("zs")
    # initials "zs": 张三 and 张山 exactly, 张三丰 (zsf) by prefix
    assert set(zs.index[:2]) == {"C001", "C007"} and zs.index[2] == "C002"


def test_paging_and_nothing(index: CustomerIndex) -> None:
    everyone = index.search("琴城镇", limit=10)
    assert everyone.index.tolist() == ["C001", "C002", "C006"]
    assert index.search("琴城镇", limit=2, offset=1).index.tolist() == ["C002", "C006"]
    assert index.search("xyz123").empty and index.search("   ").empty


def test_partial_matches_agree_with_brute_force() -> None:
    rng = np.random.default_rng(7)
    chars = list("王李张刘陈杨黄赵吴周伟芳娜敏静丽强磊军洋镇村路号街东西南北中")
    n = 3000
    names = ["".join(rng.choice(chars, rng.integers(2, 5))) for _ in range(n)]
    addrs = ["".join(rng.choice(chars, rng.integers(4, 12))) for _ in range(n)]
    frame = pd.DataFrame({"name": names, "address": addrs},
                         index=pd.Index([f"K{i:05d}" for i in range(n)], name="customer_id")).astype("str")
    idx = CustomerIndex.build(frame)
    for q in ["王伟", "镇村", "东路号", "李", "静丽强"]:
        expected = {k for k, a, b in zip(frame.index, names, addrs, strict=True) if q in a or q in b}
        if len(q) == 1:
            expected = {k for k, a in zip(frame.index, names, strict=True) if q in a}
        got = idx.search(q, limit=n, fuzzy=False)
        assert set(got.index) == expected, q


@pytest.mark.parametrize(("query", "expected"), [
    ("C003", ["C003"]),                    # an account number: everyone may read it
    ("M04", ["C004"]),                     # a meter number
    ("东门路", ["C001", "C002"]),           # part of the address as masked: 琴城镇东门路…
    ("13812345678", []),                   # a phone, whole,
    ("138123", []),                        # by its first digits
    ("5678", []),                          # or its last
    ("张三", []),                           # a name
    ("zhangsan", []),                      # its pinyin
    ("zs", []),                            # its initials
    ("zhangshan", []),                     # a near miss of it
    ("东门路1", []),                        # the hidden house number
    ("西街8号", []),
])
def test_masked_readers_match_only_what_they_may_read(index: CustomerIndex, query: str,
                                                     expected: list[str]) -> None:
    hits = index.search(query, personal=False)
    assert sorted(hits.index) == expected
    assert set(hits["match"]) <= {"customer_id", "meter_id", "address"}


def test_the_same_queries_find_personal_data_for_those_who_see_it(index: CustomerIndex) -> None:
    for query, first in (("138123", "C001"), ("张三", "C001"), ("zs", "C001"), ("东门路1", "C001")):
        assert index.search(query).index[0] == first, query
