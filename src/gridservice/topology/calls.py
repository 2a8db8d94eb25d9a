"""Repair-call grouping: from customers' calls to the probable faulted device.

Outage management systems call this trouble-call analysis. Calls received in
a time window are placed on the network by their customer and rolled up the
supply tree, bottom-up, with three rules:

``all_customers``
    every customer below a device has called (at least two of them), and
    no single proposal further down already explains them;
``min_calls``
    at least ``min_calls`` calling customers below a device are not yet
    explained by a proposal further down (so this is the *lowest* device
    under which they fall);
``promotion``
    at least ``promote_children`` of a device's children are themselves
    proposed (two transformers on one feeder point at the feeder).

A device above a proposed one takes it over when it is proposed itself; the
result keeps the topmost proposals, with the devices they absorbed. Calls
from customers an active outage already cuts off (its device lies above the
caller, it started at or before the call and had not ended) are linked to
that outage instead. Calls no rule explains are listed per transformer as
``ungrouped``, so every call in the window appears exactly once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from gridservice.errors import DataError, TopologyError
from gridservice.io.tables import to_datetime
from gridservice.topology.network import ACCESS_POINT, FEEDER, TRANSFORMER, network_of

if TYPE_CHECKING:
    from gridservice.model import ServiceArea
    from gridservice.topology.network import Network

#: Rules in the order they are named when several fire on one device.
RULES = ("all_customers", "promotion", "min_calls")

COLUMNS = ["rank", "device_id", "layer", "rule", "calls", "customers_calling", "customers", "call_ids",
           "subsumed", "outage_id", "feeder_id", "first_call_at", "last_call_at"]


def read_calls(calls: pd.DataFrame, *, source: str = "calls", row_offset: int = 0) -> pd.DataFrame:
    """Calls with ``call_id`` (str), ``customer_id`` (str) and ``received_at`` (tz-aware).

    ``call_id`` is taken from a ``call_id`` or ``work_order_id`` column, else
    from the index. ``row_offset`` is added to row positions in error
    messages (2 for a CSV file with a header line).
    """
    missing = [c for c in ("customer_id", "received_at") if c not in calls.columns]
    if missing:
        msg = f"{source}: missing column(s) {', '.join(missing)} (need customer_id, received_at)"
        raise DataError(msg)
    calls = calls.copy()
    if "call_id" not in calls.columns:
        calls["call_id"] = calls["work_order_id"] if "work_order_id" in calls.columns else calls.index
    calls = calls.reset_index(drop=True)
    out = pd.DataFrame({
        "call_id": calls["call_id"].astype("str"),
        "customer_id": calls["customer_id"].astype("str"),
        "received_at": to_datetime(calls["received_at"], column="received_at", source=source,
                                   row_offset=row_offset),
    })
    empty = (out["customer_id"].isna() | out["received_at"].isna()).to_numpy()
    if empty.any():
        rows = (np.flatnonzero(empty) + row_offset)[:3]
        msg = f"{source}: row(s) {', '.join(map(str, rows))} lack a customer_id or received_at"
        raise DataError(msg)
    dup = out["call_id"].duplicated().to_numpy()
    if dup.any():
        msg = f"{source}: call id(s) {', '.join(map(repr, out.loc[dup, 'call_id'].tolist()[:3]))} repeat"
        raise DataError(msg)
    return out


def group_calls(
    area: ServiceArea,
    calls: pd.DataFrame,
    *,
    min_calls: int = 3,
    window: pd.Timedelta | str | None = "2h",
    at: object = None,
    promote_children: int = 2,
    outages: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Propose the faulted devices behind a batch of repair calls.

    Parameters
    ----------
    area
        The service area (its network as it stands, switches included).
    calls
        One row per call: ``customer_id``, ``received_at`` and optionally
        ``call_id`` (else the index is the call id).
    min_calls
        Calling customers that make a device a proposal (rule ``min_calls``).
    window
        Only calls received in ``(at - window, at]`` count; ``None`` for all.
    at
        End of the window (default: the latest call).
    promote_children
        Proposed children that promote their parent (rule ``promotion``).
    outages
        Outages to link calls to (default: the area's ``outages`` layer).

    Returns
    -------
    pandas.DataFrame
        One row per proposal, outage link or ungrouped transformer:
        ``rank``, ``device_id``, ``layer``, ``rule`` (``all_customers``,
        ``promotion``, ``min_calls``, ``active_outage`` or ``ungrouped``),
        ``calls``, ``customers_calling``, ``customers`` (supplied through
        the device), ``call_ids``, ``subsumed`` (proposals further down it
        absorbed), ``outage_id``, ``feeder_id``, ``first_call_at``,
        ``last_call_at``. Proposals come first, most calling customers first.

    Raises
    ------
    DataError
        Missing columns, bad timestamps or unknown customers.
    TopologyError
        Callers on a meshed part of the network.

    Examples
    --------
    >>> group_calls(area, calls, min_calls=3, window="1h")  # doctest: +SKIP
    """
    if min_calls < 1 or promote_children < 2:
        msg = "min_calls must be at least 1 and promote_children at least 2"
        raise DataError(msg)
    calls = read_calls(calls)
    if window is not None and len(calls):
        end = calls["received_at"].max() if at is None else to_datetime(
            pd.Series([at]), column="at", source="window").iloc[0]
        span = pd.Timedelta(window)
        inside = (calls["received_at"] > end - span) & (calls["received_at"] <= end)
        calls = calls[inside.to_numpy()].reset_index(drop=True)
    net = network_of(area)
    nodes = net.nodes_in("customers", calls["customer_id"])
    if (nodes < 0).any():
        bad = calls.loc[nodes < 0, ["call_id", "customer_id"]].head(3)
        listed = "; ".join(f"call {c}: {u!r}" for c, u in bad.itertuples(index=False))
        msg = f"calls name unknown customer(s): {listed}"
        raise DataError(msg)
    calls["node"] = nodes
    parts = []
    outage_of = _covering_outages(net, calls, area.outages if outages is None else outages)
    linked = outage_of.notna().to_numpy()
    if linked.any():
        parts.append(_outage_rows(net, calls[linked], outage_of[linked], outages if outages is not None
                                  else area.outages))
    rest = calls[~linked].reset_index(drop=True)
    if len(rest):
        meshed = net.meshed(rest["node"].to_numpy())
        if meshed.any():
            who = rest.loc[meshed, "customer_id"].head(3).tolist()
            msg = (f"cannot group calls from {', '.join(map(repr, who))}: they are on a meshed part of the "
                   "network (a loop of closed links); open a switch in the loop first")
            raise TopologyError(msg)
        proposals, explained = _propose(net, rest, min_calls=min_calls, promote_children=promote_children)
        parts.insert(0, proposals)
        if (~explained).any():
            parts.append(_ungrouped(net, rest[~explained]))
    if not parts:
        return _empty()
    out = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else _empty()
    out["rank"] = np.arange(1, len(out) + 1)
    return out[COLUMNS]


def _empty() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
    return out.astype({"rank": "int64", "calls": "int64", "customers_calling": "int64", "customers": "int64"})


def _covering_outages(net: Network, calls: pd.DataFrame, outages: pd.DataFrame) -> pd.Series:
    """For each call, the active outage whose device lies above the caller (the lowest one), else NaN."""
    out = pd.Series(np.nan, index=calls.index, dtype="object")
    if not len(outages) or not len(calls):
        return out
    t = calls["received_at"]
    o = outages[((outages["start_at"] <= t.max()) & (outages["end_at"].isna() | (outages["end_at"] > t.min())))
                .to_numpy()]
    if not len(o):
        return out
    dev = net.nodes(o["device_id"].astype("str"))
    o, dev = o[dev >= 0], dev[dev >= 0]
    if not len(o):
        return out
    lo = net.pos[dev].astype(np.int64)[None, :]
    hi = lo + net.size[dev][None, :]
    p = net.pos[calls["node"].to_numpy()].astype(np.int64)[:, None]
    utc = "datetime64[ms]"  # tz-aware → UTC instants, comparable as plain numbers
    tv = t.to_numpy(dtype=utc)[:, None]
    start = o["start_at"].to_numpy(dtype=utc)[None, :]
    end = o["end_at"].to_numpy(dtype=utc)[None, :]
    live = (start <= tv) & (np.isnat(end) | (end > tv))
    cover = live & (p >= lo) & (p < hi)
    hit = cover.any(axis=1)
    # Nested subtrees: the lowest covering device has the largest depth-first position.
    best = np.where(cover, lo, -1).argmax(axis=1)
    out[hit] = o.index.to_numpy()[best[hit]]
    return out


def _outage_rows(net: Network, calls: pd.DataFrame, outage_ids: pd.Series, outages: pd.DataFrame) -> pd.DataFrame:
    calls = calls.assign(outage_id=outage_ids.to_numpy())
    g = calls.groupby("outage_id", sort=True)
    rows = pd.DataFrame({
        "calls": g.size(),
        "customers_calling": g["customer_id"].nunique(),
        "call_ids": g["call_id"].agg(list),
        "first_call_at": g["received_at"].min(),
        "last_call_at": g["received_at"].max(),
    })
    rows["device_id"] = outages["device_id"].reindex(rows.index).astype("str").to_numpy()
    dev = net.nodes(rows["device_id"])
    rows["layer"] = net.layer_of(dev)
    rows["rule"] = "active_outage"
    rows["customers"] = net.customers_below(dev)
    rows["subsumed"] = [[] for _ in range(len(rows))]
    rows["feeder_id"] = _feeders(net, dev)
    rows = rows.reset_index()
    return rows.sort_values(["customers_calling", "calls"], ascending=False, kind="stable")


def _feeders(net: Network, nodes: np.ndarray) -> np.ndarray:
    up = net.ancestor_of_kind(nodes, FEEDER)
    out = np.full(len(nodes), np.nan, dtype=object)
    out[up >= 0] = net.ids(up[up >= 0]).to_numpy()
    return out


def _ancestor_pairs(net: Network, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (row, ancestor-or-self) pairs for the nodes ``start``, walking up the trace tree."""
    rows, ancs = [], []
    cur = start.astype(np.int64)
    idx = np.arange(len(start))
    while len(cur):
        rows.append(idx)
        ancs.append(cur)
        up = net.pred[cur].astype(np.int64)
        keep = up >= 0
        idx, cur = idx[keep], up[keep]
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(rows), np.concatenate(ancs)


def _propose(net: Network, calls: pd.DataFrame, *, min_calls: int, promote_children: int
             ) -> tuple[pd.DataFrame, np.ndarray]:
    """Bottom-up roll-up of the calling customers; returns proposals and which calls they explain."""
    callers = np.unique(calls["node"].to_numpy())
    _, anc = _ancestor_pairs(net, callers)
    cand, inv = np.unique(anc, return_inverse=True)
    k = len(cand)
    calling = np.bincount(inv, minlength=k)  # distinct calling customers at or below each candidate
    below = net.customers_below(cand)
    is_caller = np.zeros(k, dtype=bool)
    is_caller[np.searchsorted(cand, callers)] = True
    parent = net.pred[cand].astype(np.int64)
    parent_at = np.where(parent >= 0, np.searchsorted(cand, np.maximum(parent, 0)), -1)
    eligible = net.kind[cand] <= ACCESS_POINT
    depth = net.depth[cand]

    unexplained = is_caller.astype(np.int64)
    kids_proposed = np.zeros(k, dtype=np.int64)
    proposed = np.zeros(k, dtype=bool)
    rule = np.full(k, "", dtype=object)
    for d in range(int(depth.max()), -1, -1) if k else ():
        lvl = np.flatnonzero(depth == d)
        fires = {
            # ... unless one proposed child already explains them all: the lowest device wins
            "all_customers": (calling[lvl] == below[lvl]) & (calling[lvl] >= 2)
            & ((unexplained[lvl] > 0) | (kids_proposed[lvl] >= promote_children)),
            "promotion": kids_proposed[lvl] >= promote_children,
            "min_calls": unexplained[lvl] >= min_calls,
        }
        got = np.zeros(len(lvl), dtype=bool)
        for name in reversed(RULES):  # the first rule in RULES wins the name
            hit = fires[name] & eligible[lvl]
            rule[lvl[hit]] = name
            got |= hit
        proposed[lvl] = got
        up = parent_at[lvl]
        has_up = up >= 0
        np.add.at(unexplained, up[has_up], np.where(got, 0, unexplained[lvl])[has_up])
        np.add.at(kids_proposed, up[has_up], got[has_up].astype(np.int64))

    # Keep the topmost proposals; each absorbs the proposals below it.
    p_rows, p_anc = _ancestor_pairs(net, cand[proposed])
    p_anc_at = np.searchsorted(cand, p_anc)
    above = proposed[p_anc_at] & (p_anc != cand[proposed][p_rows])
    covered = np.zeros(int(proposed.sum()), dtype=bool)
    covered[p_rows[above]] = True
    tops = cand[proposed][~covered]

    # Each caller belongs to at most one top proposal: its ancestor in ``tops``.
    c_rows, c_anc = _ancestor_pairs(net, calls["node"].to_numpy())
    is_top = np.isin(c_anc, tops)
    owner = np.full(len(calls), -1, dtype=np.int64)
    owner[c_rows[is_top]] = c_anc[is_top]
    explained = owner >= 0
    if not len(tops):
        return _empty().drop(columns="rank"), explained

    # Absorbed proposals per top.
    sub_nodes = cand[proposed][covered]
    s_rows, s_anc = _ancestor_pairs(net, sub_nodes)
    s_top = np.isin(s_anc, tops)
    absorbed = pd.Series(net.ids(sub_nodes[s_rows[s_top]]).to_numpy(), dtype="object").groupby(
        s_anc[s_top]).agg(list)

    out = _summary(calls[explained], owner[explained])
    owners = out.index.to_numpy(dtype=np.int64)
    at = np.searchsorted(cand, owners)
    out["device_id"] = net.ids(owners).to_numpy()
    out["layer"] = net.layer_of(owners)
    out["rule"] = rule[at]
    out["customers"] = below[at]
    out["subsumed"] = [absorbed.get(o, []) for o in owners]
    out["outage_id"] = np.nan
    out["feeder_id"] = _feeders(net, owners)
    out = out.reset_index(drop=True)
    out = out.sort_values(["customers_calling", "calls", "customers"], ascending=[False, False, True],
                          kind="stable")
    return out, explained


def _summary(calls: pd.DataFrame, key: np.ndarray) -> pd.DataFrame:
    """Calls counted per ``key`` (a node per call): calls, callers, call ids, first and last call."""
    g = calls.groupby(key, sort=True)
    return pd.DataFrame({
        "calls": g.size(),
        "customers_calling": g["customer_id"].nunique(),
        "call_ids": g["call_id"].agg(list),
        "first_call_at": g["received_at"].min(),
        "last_call_at": g["received_at"].max(),
    })


def _ungrouped(net: Network, calls: pd.DataFrame) -> pd.DataFrame:
    """Calls no rule explains, listed per transformer (or per customer without one)."""
    nodes = calls["node"].to_numpy()
    tr = net.ancestor_of_kind(nodes, TRANSFORMER)
    key = np.where(tr >= 0, tr, nodes)
    out = _summary(calls, key)
    keys = out.index.to_numpy(dtype=np.int64)
    out["device_id"] = net.ids(keys).to_numpy()
    out["layer"] = net.layer_of(keys)
    out["rule"] = "ungrouped"
    out["customers"] = net.customers_below(keys)
    out["subsumed"] = [[] for _ in range(len(out))]
    out["outage_id"] = np.nan
    out["feeder_id"] = _feeders(net, keys)
    out = out.reset_index(drop=True)
    return out.sort_values(["customers_calling", "calls"], ascending=False, kind="stable")


__all__ = ["COLUMNS", "RULES", "group_calls", "read_calls"]
