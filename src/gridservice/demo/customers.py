"""Customer attributes: category, voltage, names, addresses, phones, key flag."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from gridservice.demo import _text
from gridservice.demo.geography import SEAT, TOWN, TOWNS, VILLAGE, Settlements
from gridservice.demo.network import Network

RESIDENTIAL, COMMERCIAL, INDUSTRIAL, AGRICULTURAL = range(4)
# Category probabilities (residential, commercial, industrial, agricultural)
# of low-voltage customers by settlement kind: seat, town, village.
_CATEGORY_P = np.array(
    [
        [0.880, 0.100, 0.020, 0.000],
        [0.880, 0.080, 0.015, 0.025],
        [0.900, 0.020, 0.010, 0.070],
    ]
)
#: Phone numbers planted as invalid: a digit short, a digit long, a bad second digit.
INVALID_PHONES = ("1397945123", "139794512345", "10794512345")
_CONNECTED_FROM = np.datetime64("1998-01-01T00:00:00", "s")


@dataclass
class Customers:
    """Per-customer attributes aligned with ``Network.cu_*``."""

    category: np.ndarray
    high_voltage: np.ndarray
    key: np.ndarray
    name: pa.Array
    address: pa.Array
    phone: pa.Array
    connected: np.ndarray  # local datetime64[s]
    planted_phones: list[tuple[int, str]] = field(default_factory=list)


def make_customers(sett: Settlements, net: Network, rng: np.random.Generator, *, t0: np.datetime64) -> Customers:
    """Attributes for every customer, vectorised over customers."""
    n = len(net.cu_xy)
    hv = net.tx_private[net.cu_tx]
    s_of = net.tx_settlement[net.cu_tx]
    s_safe = np.maximum(s_of, 0)
    kind = np.where(hv, VILLAGE, sett.kind[s_safe])
    cum = np.cumsum(_CATEGORY_P, axis=1)[kind]
    category = (rng.random(n)[:, None] > cum[:, :3]).sum(axis=1).astype(np.int64)
    category[hv] = np.where(rng.random(hv.sum()) < 0.7, INDUSTRIAL, COMMERCIAL)

    # Names: people, shops (王记超市), village workshops and firms with 专变.
    people = _text.person_names(rng, n)
    surnames = list(_text.SURNAMES)
    shop = _text.join(
        _text.take(surnames, rng.integers(0, len(surnames), n)),
        "记",
        _text.take(_text.SHOPS, rng.integers(0, len(_text.SHOPS), n)),
    )
    places = _text.take(sett.place, s_safe)
    works = _text.join(places, _text.take(_text.SMALL_WORKS, rng.integers(0, len(_text.SMALL_WORKS), n)))
    firm = _text.join(
        _text.take(["南丰县", "江西"], rng.integers(0, 2, n)),
        _text.take(_text.FIRM_WORDS, rng.integers(0, len(_text.FIRM_WORDS), n)),
        _text.take(_text.FIRM_TRADES, rng.integers(0, len(_text.FIRM_TRADES), n)),
        "有限公司",
    )
    name = _text.where(hv, firm, _text.where(category == COMMERCIAL, shop,
                       _text.where(category == INDUSTRIAL, works, people)))  # fmt: skip

    # Addresses: house numbers count up within each settlement.
    # Public customers come first, grouped by settlement; private ones last.
    n_pub = int((~hv).sum())
    first = np.searchsorted(s_of[:n_pub], np.arange(len(sett.xy)))
    rank = np.arange(n) - first[s_safe]
    label = _text.take(sett.label, s_safe)
    seat_addr = _text.join(
        "南丰县", label, _text.num(rank // 24 + 1), "号",
        _text.num(100 * ((rank % 24) // 4 + 1) + rank % 4 + 1), "室",
    )  # fmt: skip
    town_addr = _text.join("南丰县", label, _text.num(rank + 1), "号")
    village_addr = _text.join("南丰县", label, _text.num(rank // 30 + 1), "组", _text.num(rank % 30 + 1), "号")
    hv_rank = np.cumsum(hv) - 1
    hv_town = net.tx_town[net.cu_tx]
    hv_place = _text.take(["南丰县工业园区"] + [f"南丰县{t[0]}工业小区" for t in TOWNS[1:]], hv_town)
    hv_addr = _text.join(hv_place, _text.num(hv_rank % 200 + 1), "号")
    address = _text.where(
        hv, hv_addr, _text.where(kind == SEAT, seat_addr, _text.where(kind == TOWN, town_addr, village_addr))
    )

    phone = _text.mobile_numbers(rng, n)
    res = np.flatnonzero(~hv & (category == RESIDENTIAL))
    bad = np.sort(rng.choice(res, size=min(len(INVALID_PHONES), len(res)), replace=False))
    which = np.zeros(n, np.int64)
    which[bad] = np.arange(len(bad))
    mask = np.zeros(n, bool)
    mask[bad] = True
    phone = _text.where(mask, _text.take(INVALID_PHONES, which), phone)
    planted = [(int(c), f"phone {INVALID_PHONES[k]!r} is not a valid mobile number") for k, c in enumerate(bad)]

    # About 2 % key customers: every high-voltage one, then mostly businesses.
    w = np.where(category == COMMERCIAL, 5.0, np.where(category == INDUSTRIAL, 3.0, 1.0))
    w[hv] = 0.0
    extra = max(0, round(0.02 * n) - int(hv.sum()))
    key = hv.copy()
    if extra and w.sum() > 0:
        key[rng.choice(n, size=min(extra, int((w > 0).sum())), replace=False, p=w / w.sum())] = True

    span = (t0 - _CONNECTED_FROM).astype(np.int64) // 86400
    day = (span * rng.random(n) ** 0.6).astype(np.int64)
    day = np.minimum(day, span - 1)
    connected = _CONNECTED_FROM + (day * 86400 + rng.integers(9 * 3600, 17 * 3600, n)).astype("timedelta64[s]")
    return Customers(
        category=category,
        high_voltage=hv,
        key=key,
        name=name,
        address=address,
        phone=phone,
        connected=connected,
        planted_phones=planted,
    )
