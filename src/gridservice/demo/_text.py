"""Vectorised Chinese text for the demo: names, phones, ids and labels.

Strings for a million rows are built with Arrow compute kernels, never a
Python loop; :func:`series` hands them to pandas without a copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

Text: TypeAlias = pa.Array | pa.ChunkedArray | str

# Surnames common in Jiangxi first, so that the weights favour them.
SURNAMES = "刘黄李王张陈吴徐曾罗胡周杨邓谢赵傅饶揭艾熊汪何江郭朱危付余龚聂邱夏袁彭廖蔡涂肖魏程孙马梁宋杜钟万卢姚严"
_SURNAME_WEIGHTS = np.r_[np.linspace(6.0, 2.0, 16), np.linspace(1.8, 0.4, len(SURNAMES) - 16)]

GIVEN_CHARS = (
    "建国华平志红文明金春海玉小德俊晓丽荣桂英芳梅兰凤秀军勇强伟斌辉林涛鹏磊"
    "浩宇欣怡婷佳思雨子梓萱轩晨阳泽瑞民生根福发水长保来清云新永光良兵飞峰琴"
    "霞燕娟敏静慧蓉颖"
)

#: Mobile number prefixes in use in mainland China (1[3-9] plus one digit).
MOBILE_PREFIXES = np.array(
    [130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157,
     158, 159, 166, 173, 175, 176, 177, 178, 180, 181, 182, 183, 184, 185, 186, 187, 188,
     189, 191, 198, 199],
    dtype=np.int64,
)  # fmt: skip

#: Pattern of a valid mainland mobile number.
MOBILE_PATTERN = r"^1[3-9]\d{9}$"

URBAN_ROADS = (
    "建设路", "胜利路", "人民路", "解放路", "环城路", "琴城大道", "新丰路", "府前路",
    "子固路", "曾巩大道", "桔都大道", "东门街", "西门街", "南门路", "北门路", "滨江路",
    "旴江大道", "紫霄路", "莲花路", "工业大道", "南台路", "嘉禾路",
)  # fmt: skip
TOWN_STREETS = ("中心街", "老街", "新街", "圩镇路", "正街", "府前街")
VILLAGE_HEADS = "上下大小东西南北新老石桥罗黄陈李杨高竹枫桔坪田源溪塘岭水樟梅洋"
VILLAGE_TAILS = "坊岭坑源家田塘溪山湾口头背洲坪陂岗下村"
SHOPS = ("超市", "饭店", "五金店", "理发店", "药店", "小卖部", "农资店", "蜜桔收购站", "旅社", "茶楼")
FIRM_WORDS = (
    "桔都", "丰源", "琴城", "旴江", "军峰", "傩乡", "曾巩", "紫霄", "恒达", "鑫盛",
    "华宇", "永兴", "瑞丰", "金桔", "赣丰", "南台",
)  # fmt: skip
FIRM_TRADES = (
    "果业", "食品", "建材", "纺织", "机械", "包装", "冷链物流", "水泥", "酒业", "电子",
    "商贸", "酒店", "置业", "农业开发",
)  # fmt: skip
SMALL_WORKS = ("碾米厂", "木材加工厂", "砖厂", "竹制品厂", "桔果分拣厂", "机修厂")


def as_arrow(values: Sequence[str] | np.ndarray | pa.Array) -> pa.Array:
    """An Arrow string array from a list, numpy array or Arrow array."""
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    if isinstance(values, pa.Array):
        return values
    return pa.array(list(values) if not isinstance(values, np.ndarray) else values, type=pa.string())


def take(labels: Sequence[str] | pa.Array, idx: np.ndarray) -> pa.Array:
    """``labels[idx]`` as an Arrow string array."""
    return as_arrow(labels).take(pa.array(np.asarray(idx, dtype=np.int64)))


def num(values: np.ndarray, *, width: int = 0) -> pa.Array:
    """Integers as decimal strings, left-padded with zeros to ``width``."""
    s = pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
    return pc.utf8_lpad(s, width, "0") if width else s


def join(*parts: Text) -> pa.Array:
    """Concatenate string arrays and scalars element-wise."""
    out = pc.binary_join_element_wise(*parts, "")
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def ids(prefix: str, n: int, *, width: int, start: int = 1) -> pa.Array:
    """``prefix`` followed by zero-padded serial numbers ``start .. start+n-1``."""
    return join(prefix, num(np.arange(start, start + n), width=width))


def where(mask: np.ndarray, a: pa.Array, b: pa.Array) -> pa.Array:
    """Element-wise ``a if mask else b``."""
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), a, b)


def series(values: pa.Array | Sequence[str] | np.ndarray) -> pd.Series:
    """A pandas ``str`` Series backed by the Arrow array (no copy)."""
    return pd.Series(as_arrow(values), dtype="str")


def person_names(rng: np.random.Generator, n: int) -> pa.Array:
    """``n`` Chinese personal names: a surname and a one- or two-character given name."""
    p = _SURNAME_WEIGHTS / _SURNAME_WEIGHTS.sum()
    sur = rng.choice(len(SURNAMES), size=n, p=p)
    c1 = rng.integers(0, len(GIVEN_CHARS), size=n)
    c2 = rng.integers(0, len(GIVEN_CHARS), size=n)
    two = rng.random(n) < 0.7
    chars = list(GIVEN_CHARS)
    second = where(two, take(chars, c2), pa.array(np.full(n, ""), type=pa.string()))
    return join(take(list(SURNAMES), sur), take(chars, c1), second)


def mobile_numbers(rng: np.random.Generator, n: int) -> pa.Array:
    """``n`` distinct valid-looking mainland mobile numbers (``1[3-9]`` + 9 digits)."""
    width = 10**8
    chosen = rng.choice(len(MOBILE_PREFIXES) * width, size=n, replace=False) if n < 2_000_000 else None
    if chosen is None:  # pragma: no cover - only for very large runs
        chosen = np.unique(rng.integers(0, len(MOBILE_PREFIXES) * width, size=int(n * 1.01)))[:n]
        rng.shuffle(chosen)
    numbers = MOBILE_PREFIXES[chosen // width] * width + chosen % width
    return num(numbers)


def village_names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` village names such as 罗坊 or 石岭; distinct while the stock lasts."""
    stock = [h + t for h in VILLAGE_HEADS for t in VILLAGE_TAILS if h != t]
    idx = rng.choice(len(stock), size=n, replace=n > len(stock))
    return [stock[i] for i in idx]
