"""The supply network: a NetworkX graph for modelling, NumPy arrays for hot queries.

Nodes are the devices of the network layers (substation → feeder →
transformer → access point → meter → customer). Links are the parent foreign
keys plus the closed switches of the ``switches`` layer:

* a switch whose ends are a parent and its child *governs* that link: open,
  it cuts the child and everything below it;
* any other switch is a tie: closed, it links its two ends.

Supply is traced from the substations over closed links only. For the radial
network this gives a forest; the trace index holds its depth-first order and
subtree sizes, so everything below a device is a contiguous slice of one
permutation and a downstream query costs a binary search, not a graph walk.

Parts of the network no substation reaches (cut by an open switch, or
islands with an unknown parent) are rooted at their topmost device, so they
still trace; :meth:`Network.energised` tells them apart. Closed links that
form a loop are kept in :attr:`Network.loops`; a query whose answer such a
loop makes ambiguous raises :class:`~gridservice.errors.TopologyError`
instead of tracing wrongly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from gridservice.errors import NotFoundError, TopologyError
from gridservice.schema import DEVICE_LAYERS

if TYPE_CHECKING:
    import networkx as nx

    from gridservice.model import ServiceArea

#: Layer code of each network layer, in supply order.
KIND = {name: code for code, name in enumerate(DEVICE_LAYERS)}
SUBSTATION, FEEDER, TRANSFORMER, ACCESS_POINT, METER, CUSTOMER = range(len(DEVICE_LAYERS))

#: Parent foreign keys of each layer, tried in order (a meter hangs on its
#: access point, else directly on its transformer).
PARENT_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "feeders": (("substation_id", "substations"),),
    "transformers": (("feeder_id", "feeders"),),
    "access_points": (("transformer_id", "transformers"),),
    "meters": (("access_point_id", "access_points"), ("transformer_id", "transformers")),
    "customers": (("meter_id", "meters"),),
}

#: Nodes whose upstream path :meth:`Network.upstream` keeps (then starts afresh).
UP_MEMO = 200_000

_STR = pd.Index([], dtype="str").dtype
_EMPTY_IDS = pd.Index([], dtype=_STR)
CLASSES = {"devices": (SUBSTATION, FEEDER, TRANSFORMER, ACCESS_POINT), "meters": (METER,), "customers": (CUSTOMER,)}


def _arrow(ids: pd.Index | pd.Series | np.ndarray | Sequence[str]) -> pa.Array:
    """Ids as one Arrow large-string array (zero-copy for pandas' ``str`` dtype)."""
    if not isinstance(ids, (pd.Index, pd.Series)):
        ids = pd.Index(np.asarray(ids, dtype=object), dtype=_STR)
    if ids.dtype != _STR:
        ids = ids.astype(_STR)
    arr = pa.array(ids.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr


def isin(values: pd.Index | pd.Series | np.ndarray, pool: pd.Index | pd.Series | np.ndarray) -> np.ndarray:
    """Whether each id of ``values`` is in ``pool``, in Arrow.

    pandas' ``isin`` on ``str`` columns builds a Python object per value of
    ``pool``; this is the vectorised version for millions of ids.
    """
    if not len(values) or not len(pool):
        return np.zeros(len(values), dtype=bool)
    hit = pc.is_in(_arrow(values), value_set=pc.unique(_arrow(pool)))
    return hit.to_numpy(zero_copy_only=False).astype(bool)


def _wrap(arr: pa.Array | pa.ChunkedArray, name: str | None = None) -> pd.Index:
    """An Arrow string array as a pandas ``str`` Index (without copying on pandas 3)."""
    return pd.Index(pd.array(arr, dtype=_STR), name=name)


@dataclass(frozen=True)
class Downstream:
    """Everything supplied through one device (the device itself excluded).

    A downstream trace is an interval of the depth-first order: the ids are
    read from it on first use of each attribute, so finding it costs a few
    microseconds however much lies below.

    Attributes
    ----------
    device_id
        The device traced.
    devices
        Substations, feeders, transformers and access points below it.
    meters
        Meters below it.
    customers
        Customers below it.
    grids
        Customers below it per ``grid_id`` (customers with no grid are not
        counted), most customers first; counted on first use.
    energised
        Whether a substation supplies the device now.
    """

    device_id: str
    energised: bool = True
    _net: Network | None = field(default=None, repr=False, compare=False)
    _range: tuple[int, int] = field(default=(0, 0), repr=False, compare=False)

    def _span(self, cls: str) -> tuple[int, int]:
        """Where the class members below sit in the network's depth-first class arrays."""
        return self._net._span(cls, *self._range) if self._net is not None else (0, 0)

    def _ids(self, cls: str, name: str) -> pd.Index:
        if self._net is None:
            return _EMPTY_IDS.rename(name)
        a, b = self._span(cls)
        return _wrap(self._net._class_ids[cls].slice(a, b - a), name)

    def count(self, cls: str) -> int:
        """How many ``devices``, ``meters`` or ``customers`` lie below (without reading their ids)."""
        a, b = self._span(cls)
        return b - a

    @cached_property
    def devices(self) -> pd.Index:
        """Substations, feeders, transformers and access points below the device."""
        return self._ids("devices", "device_id")

    @cached_property
    def meters(self) -> pd.Index:
        """Meters below the device."""
        return self._ids("meters", "meter_id")

    @cached_property
    def customers(self) -> pd.Index:
        """Customers below the device."""
        return self._ids("customers", "customer_id")

    @cached_property
    def grids(self) -> pd.Series:
        """Customers below the device per ``grid_id``, most first."""
        if self._net is None:
            return count_grids(np.zeros(0, dtype=np.int32), _EMPTY_IDS)
        a, b = self._span("customers")
        return count_grids(self._net._grid_by_rank[a:b], self._net._grid_codes[1])

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready summary (the shape of ``gridservice trace --format json``)."""
        return {
            "device_id": self.device_id,
            "energised": self.energised,
            "devices": self.devices.tolist(),
            "meters": self.count("meters"),
            "customers": self.customers.tolist(),
            "grids": {str(k): int(v) for k, v in self.grids.items()},
        }


def count_grids(codes: np.ndarray, labels: pd.Index) -> pd.Series:
    """Counts of grid ``codes`` (−1: no grid) as a Series over ``labels``, most first, then by id."""
    counts = np.bincount(codes[codes >= 0], minlength=len(labels))
    hit = np.flatnonzero(counts)
    hit = hit[np.lexsort((hit, -counts[hit]))]
    return pd.Series(counts[hit], index=labels[hit], name="customers", dtype="int64")


class _LayerLookup:
    """Device id → row position in one layer (first row wins on duplicate ids)."""

    def __init__(self, index: pd.Index) -> None:
        if index.is_unique:
            self.index, self.rows = index, None
        else:
            keep = ~index.duplicated(keep="first")
            self.index, self.rows = index[keep], np.flatnonzero(keep)

    def get(self, ids: pd.Index) -> np.ndarray:
        found = self.index.get_indexer(ids)
        if self.rows is not None:
            found = np.where(found >= 0, self.rows[np.maximum(found, 0)], -1)
        return found


def _as_index(ids: Iterable[str] | str) -> pd.Index:
    if isinstance(ids, str):
        ids = [ids]
    if isinstance(ids, pd.Index):
        return ids.astype("str") if ids.dtype != "str" else ids
    if isinstance(ids, pd.Series):
        return pd.Index(ids.to_numpy(), dtype="str")
    return pd.Index(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype="str")


def _ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(a, b)`` for each pair, without a Python loop."""
    lengths = np.maximum(stops - starts, 0)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.cumsum(lengths) - lengths
    return np.repeat(starts - first, lengths) + np.arange(total)


class Network:
    """The traced supply network of a service area.

    Build it with :func:`network_of`, which caches it on the area. The arrays
    below are indexed by *node*: the position of a device in the
    concatenation of the network layers (substations first, customers last).

    Attributes
    ----------
    kind
        Layer code of each node (:data:`KIND`).
    fk_parent
        Parent by foreign key (-1: none or unknown).
    pred, depth
        Parent and depth in the traced forest (-1 / 0 at a root).
    pos, size, order
        Depth-first position, subtree size and the inverse permutation:
        everything below ``v`` is ``order[pos[v] + 1 : pos[v] + size[v]]``.
    roots
        Substations, then the topmost device of each piece no substation reaches.
    switch_links
        Switches with known ends: ``row`` (in the switches layer), ends ``a``
        and ``b``, ``is_open``, and ``child`` when it governs a parent link.
    link_switch
        The switch row governing each node's parent link (-1: none).
    loop_a, loop_b, loop_switch
        Closed links that close a loop, and their switch row (-1: not a switch).

    Parameters
    ----------
    area
        The service area.

    Examples
    --------
    >>> net = network_of(area)  # doctest: +SKIP
    >>> net.upstream("C0000001")  # doctest: +SKIP
    ['C0000001', 'M0000001', 'AP000001', 'T0001', 'F01', 'S1']
    >>> net.downstream("T0001").grids  # doctest: +SKIP
    """

    def __init__(self, area: ServiceArea) -> None:
        self.area = area
        self._index = {name: area.layers[name].index for name in DEVICE_LAYERS}
        counts = np.array([len(self._index[n]) for n in DEVICE_LAYERS], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        self.n = int(self.offsets[-1])
        self.kind = np.repeat(np.arange(len(DEVICE_LAYERS), dtype=np.int8), counts)
        self._lookups = {name: _LayerLookup(self._index[name]) for name in DEVICE_LAYERS}
        self._layer_ids = {name: _arrow(self._index[name]) for name in DEVICE_LAYERS}
        self.fk_parent = self._fk_parents()
        self._build()

    # ------------------------------------------------------------------ lookups

    def nodes_in(self, layer: str, ids: Iterable[str]) -> np.ndarray:
        """Nodes of ``ids`` looked up in one layer (-1 where absent)."""
        found = self._lookups[layer].get(_as_index(ids))
        return np.where(found >= 0, found + self.offsets[KIND[layer]], -1)

    def nodes(self, ids: Iterable[str] | str) -> np.ndarray:
        """Nodes of device ids from any network layer (-1 where unknown).

        An id present in two layers resolves to the upper one (the duplicate
        is reported by the checks).
        """
        index = _as_index(ids)
        out = np.full(len(index), -1, dtype=np.int64)
        for name in DEVICE_LAYERS:
            if not len(self._index[name]):
                continue
            found = self.nodes_in(name, index)
            take = (out < 0) & (found >= 0)
            out[take] = found[take]
        return out

    @cached_property
    def _shared_ids(self) -> frozenset[str]:
        """Customer or meter ids that another layer holds too (usually none): :meth:`node` takes the slow path.

        (An id twice in one layer is seen by the hash probe.)
        """
        customers, meters = self._layer_ids["customers"], self._layer_ids["meters"]
        upper = pa.array(self._upper_ids, type=pa.large_string())
        both = []
        for ids, others in ((customers, pa.concat_arrays([upper, meters])), (meters, upper)):
            if len(ids) and len(others):
                both += ids.filter(pc.is_in(ids, value_set=others)).to_pylist()
        return frozenset(both)

    @cached_property
    def _upper_ids(self) -> list[str]:
        """Id of each substation, feeder, transformer and access point node (a few per cent of the nodes)."""
        return [i for code in range(METER) for i in self._layer_ids[DEVICE_LAYERS[code]].to_pylist()]

    @cached_property
    def _upper_nodes(self) -> dict[str, int]:
        """Node of each substation, feeder, transformer and access point id."""
        out: dict[str, int] = {}
        for k, i in enumerate(self._upper_ids):
            out.setdefault(i, k)  # the upper layer and the first row win
        return out

    @cached_property
    def _customer_nodes(self) -> dict[str, int]:
        """Node of each customer id (the first row of a repeated one): the most asked ids, in a dict, whose
        probe costs a tenth of pandas' hash table's (about 100 MB at a million customers)."""
        ids, lo = self._layer_ids["customers"].to_pylist(), int(self.offsets[CUSTOMER])
        return dict(zip(reversed(ids), range(lo + len(ids) - 1, lo - 1, -1), strict=True))  # the first row wins

    @cached_property
    def _meter_ids(self) -> list[str]:
        """Id of each meter node: on every customer's supply path (about 70 MB at a million meters)."""
        return self._layer_ids["meters"].to_pylist()

    def _path_id(self, node: int) -> str:
        """The id of one node on a supply path (a list look-up above the customers)."""
        upper = self._upper_ids
        if node < len(upper):
            return upper[node]
        at = node - int(self.offsets[METER])
        return self._meter_ids[at] if at < len(self._meter_ids) else self.id_of(node)

    @cached_property
    def _meter_engine(self) -> object:
        """The meters' ids in pandas' hash table itself when it has one (half the cost of Index.get_loc)."""
        index = self._index[DEVICE_LAYERS[METER]]
        return getattr(index, "_engine", index)

    def node(self, device_id: str) -> int:
        """The node of one device id, or :class:`~gridservice.errors.NotFoundError`."""
        if isinstance(device_id, str) and device_id not in self._shared_ids:
            # one layer at most holds it: customers first (the most asked), then the upper layers, then meters
            found = self._customer_nodes.get(device_id)
            if found is None:
                found = self._upper_nodes.get(device_id)
            if found is not None:
                return found
            try:
                loc = self._meter_engine.get_loc(device_id)  # type: ignore[attr-defined]
                if type(loc) is int:
                    return int(self.offsets[METER]) + loc
            except KeyError:
                pass
        for code, name in enumerate(DEVICE_LAYERS):
            index = self._index[name]
            try:
                if device_id not in index:  # a hash probe; cheaper than a KeyError from get_loc
                    continue
                loc = index.get_loc(device_id)
            except (KeyError, TypeError):
                continue
            if not isinstance(loc, (int, np.integer)):  # a duplicated id: the first row
                loc = int(self._lookups[name].get(pd.Index([device_id], dtype=_STR))[0])
            return int(self.offsets[code] + loc)
        msg = f"unknown device id {device_id!r}: not in any network layer"
        raise NotFoundError(msg)

    def _known(self, device_ids: Iterable[str] | str) -> np.ndarray:
        """Nodes of ``device_ids``; :class:`~gridservice.errors.NotFoundError` names unknown ones."""
        if isinstance(device_ids, str):
            device_ids = [device_ids]
        if isinstance(device_ids, (list, tuple)) and len(device_ids) <= 16:  # a few ids: hash look-ups
            return np.array([self.node(str(d)) for d in device_ids], dtype=np.int64)
        ids = _as_index(device_ids)
        found = self.nodes(ids)
        if (found < 0).any():
            bad = ids[found < 0]
            more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
            msg = f"unknown device id(s) {', '.join(map(repr, bad[:3]))}{more}: not in any network layer"
            raise NotFoundError(msg)
        return found

    def ids(self, nodes: np.ndarray) -> pd.Index:
        """Device ids of ``nodes`` (in the order given)."""
        nodes = np.asarray(nodes, dtype=np.int64)
        if not len(nodes):
            return _EMPTY_IDS
        kinds = self.kind[nodes]
        codes = np.unique(kinds)
        if len(codes) == 1:
            code = int(codes[0])
            return _wrap(self._layer_ids[DEVICE_LAYERS[code]].take(pa.array(nodes - self.offsets[code])))
        parts, where = [], []
        for code in codes:
            sel = np.flatnonzero(kinds == code)
            parts.append(self._layer_ids[DEVICE_LAYERS[code]].take(pa.array(nodes[sel] - self.offsets[code])))
            where.append(sel)
        back = np.empty(len(nodes), dtype=np.int64)
        back[np.concatenate(where)] = np.arange(len(nodes))
        return _wrap(pa.concat_arrays(parts).take(pa.array(back)))

    def id_of(self, node: int) -> str:
        """The device id of one node."""
        code = int(self.kind[node])
        return self._layer_ids[DEVICE_LAYERS[code]][int(node - self.offsets[code])].as_py()

    def layer_of(self, nodes: np.ndarray) -> np.ndarray:
        """Layer names of ``nodes``."""
        return np.asarray(DEVICE_LAYERS, dtype=object)[self.kind[np.asarray(nodes, dtype=np.int64)]]

    # ------------------------------------------------------------------ build

    def _fk_parents(self) -> np.ndarray:
        """Each node's parent by foreign key (-1: none or unknown)."""
        parent = np.full(self.n, -1, dtype=np.int64)
        for name, keys in PARENT_KEYS.items():
            df = self.area.layers[name]
            if not len(df):
                continue
            lo = self.offsets[KIND[name]]
            mine = np.full(len(df), -1, dtype=np.int64)
            for column, parent_layer in keys:
                if column not in df.columns:
                    continue
                found = self.nodes_in(parent_layer, df[column].astype("str"))
                mine = np.where(mine < 0, found, mine)
            parent[lo:lo + len(df)] = mine
        return parent

    def _switch_links(self) -> pd.DataFrame:
        """Switches with their end nodes and the link each one governs or makes."""
        sw = self.area.layers["switches"]
        cols = {"from_device_id", "to_device_id"}
        if not len(sw) or not cols <= set(sw.columns):
            return pd.DataFrame({"row": np.zeros(0, dtype=np.int64), "a": np.zeros(0, dtype=np.int64),
                                 "b": np.zeros(0, dtype=np.int64), "is_open": np.zeros(0, dtype=bool),
                                 "child": np.zeros(0, dtype=np.int64)})
        a, b = self.nodes(sw["from_device_id"].astype("str")), self.nodes(sw["to_device_id"].astype("str"))
        is_open = sw["is_open"].fillna(False).astype(bool).to_numpy() if "is_open" in sw.columns else np.zeros(
            len(sw), dtype=bool)
        known = (a >= 0) & (b >= 0) & (a != b)
        child = np.full(len(sw), -1, dtype=np.int64)
        fk = self.fk_parent
        down = known & (fk[np.maximum(b, 0)] == a)
        up = known & ~down & (fk[np.maximum(a, 0)] == b)
        child[down], child[up] = b[down], a[up]
        out = pd.DataFrame({"row": np.arange(len(sw)), "a": a, "b": b, "is_open": is_open, "child": child})
        return out[known].reset_index(drop=True)

    def _build(self) -> None:
        n = self.n
        fk = self.fk_parent
        sw = self._switch_links()
        self.switch_links = sw
        cut = np.zeros(n, dtype=bool)
        governed = sw[sw["child"] >= 0]
        cut[governed.loc[governed["is_open"], "child"].to_numpy(dtype=np.int64)] = True
        link_switch = np.full(n, -1, dtype=np.int64)  # switch row governing each child's parent link
        link_switch[governed["child"].to_numpy(dtype=np.int64)[::-1]] = governed["row"].to_numpy(dtype=np.int64)[::-1]
        self.link_switch = link_switch

        child = np.flatnonzero((fk >= 0) & ~cut)
        ties = sw[(sw["child"] < 0) & ~sw["is_open"]]
        ea = np.concatenate([fk[child], ties["a"].to_numpy(dtype=np.int64)])
        eb = np.concatenate([child, ties["b"].to_numpy(dtype=np.int64)])
        e_switch = np.concatenate([link_switch[child], ties["row"].to_numpy(dtype=np.int64)])

        # One root per connected piece: every substation, else the piece's topmost device.
        graph = coo_array((np.ones(len(ea), dtype=np.int8), (ea, eb)), shape=(n, n))
        n_pieces, labels = connected_components(graph, directed=False) if n else (0, np.zeros(0, dtype=np.int32))
        fed = np.zeros(n_pieces, dtype=bool)
        subs = np.flatnonzero(self.kind == SUBSTATION)
        fed[labels[subs]] = True
        first_labels, first_nodes = np.unique(labels, return_index=True)
        roots = np.concatenate([subs, np.sort(first_nodes[~fed[first_labels]])]).astype(np.int64)

        pred, pred_edge, depth, levels = _bfs(n, ea, eb, roots)
        size, pos = _preorder(n, pred, roots, levels, size_dtype=np.int64)

        itype = np.int32 if n < 2**31 - 1 else np.int64
        self.pred = pred.astype(itype)
        self.depth = depth
        self.size = size.astype(itype)
        self.pos = pos.astype(itype)
        order = np.empty(n, dtype=itype)
        order[pos] = np.arange(n, dtype=itype)
        self.order = order
        self.roots = roots
        # Energised = in the subtree of a substation root: the substations come first, so a prefix.
        self._fed_end = int(size[subs].sum())

        # Per class, positions and ids in depth-first order: a subtree is a slice of these.
        self._class_nodes: dict[str, np.ndarray] = {}
        self._class_pos: dict[str, np.ndarray] = {}
        self._class_ids: dict[str, pa.Array] = {}
        by_order_kind = self.kind[order]
        for cls, kinds in CLASSES.items():
            at = np.flatnonzero(np.isin(by_order_kind, kinds)).astype(itype)
            self._class_pos[cls] = at
            self._class_nodes[cls] = order[at]
            ids = pa.concat_arrays([self._layer_ids[DEVICE_LAYERS[k]] for k in kinds])
            self._class_ids[cls] = ids.take(pa.array(order[at] - self.offsets[kinds[0]]))

        # Closed links that close a loop: not in the spanning tree.
        in_tree = np.zeros(len(ea), dtype=bool)
        in_tree[pred_edge[pred_edge >= 0]] = True
        loop = np.flatnonzero(~in_tree)
        self.loop_a, self.loop_b = ea[loop], eb[loop]
        self.loop_switch = e_switch[loop]
        self._ambiguous_by_pos = self._mark_ambiguous()

    def _mark_ambiguous(self) -> np.ndarray | None:
        """Positions whose path to the source is not unique because of a loop."""
        if not len(self.loop_a):
            return None
        diff = np.zeros(self.n + 1, dtype=np.int64)
        for a, b in zip(self.loop_a.tolist(), self.loop_b.tolist(), strict=True):
            up_a, up_b = self.path_nodes(a), self.path_nodes(b)
            common = set(up_a) & set(up_b)
            on_loop = [v for v in up_a + up_b if v not in common]
            for v in on_loop:  # loops are few; each path is a handful of nodes
                diff[self.pos[v]] += 1
                diff[self.pos[v] + self.size[v]] -= 1
        return np.cumsum(diff[:-1]) > 0

    def path_nodes(self, node: int) -> list[int]:
        out = [node]
        while self.pred[out[-1]] >= 0:
            out.append(int(self.pred[out[-1]]))
        return out

    # ------------------------------------------------------------------ meshed parts

    @property
    def loops(self) -> pd.DataFrame:
        """Closed links that close a loop: ``from_device_id``, ``to_device_id``, ``switch_id``."""
        sw_ids = self.area.layers["switches"].index
        switch = pd.Series(self.loop_switch).map(lambda r: sw_ids[r] if r >= 0 else None)
        return pd.DataFrame({
            "from_device_id": self.ids(self.loop_a).to_numpy(),
            "to_device_id": self.ids(self.loop_b).to_numpy(),
            "switch_id": pd.array(switch.to_numpy(), dtype="str"),
        })

    def _loop_text(self, which: np.ndarray) -> str:
        loops = self.loops[which]
        parts = [f"switch {s}" if isinstance(s, str) else f"{a}–{b}"
                 for a, b, s in loops.itertuples(index=False)][:3]
        return ", ".join(parts)

    def _crossing(self, nodes: np.ndarray) -> tuple[int, np.ndarray] | None:
        """The first node whose subtree a loop links to the outside, and the loops that do."""
        if not len(self.loop_a) or not len(nodes):
            return None
        lo, hi = self.pos[nodes][:, None], (self.pos[nodes] + self.size[nodes])[:, None]
        pa, pb = self.pos[self.loop_a][None, :], self.pos[self.loop_b][None, :]
        cross = ((pa >= lo) & (pa < hi)) != ((pb >= lo) & (pb < hi))
        if not cross.any():
            return None
        dev = int(np.argwhere(cross)[0][0])
        return dev, cross[dev]

    def _check_crossing(self, nodes: np.ndarray, what: str, *, device_id: str | None = None) -> None:
        """Raise when a loop links the inside of a subtree to the outside."""
        found = self._crossing(nodes)
        if found is None:
            return
        dev, loops = found
        name = device_id or self.ids(nodes[[dev]])[0]
        msg = (f"cannot trace {what} {name!r}: closed links form a loop ({self._loop_text(loops)}), "
               "so the network there is meshed, not radial")
        raise TopologyError(msg)

    def meshed(self, nodes: np.ndarray) -> np.ndarray:
        """Whether each node has more than one path to its source."""
        if self._ambiguous_by_pos is None:
            return np.zeros(len(nodes), dtype=bool)
        return self._ambiguous_by_pos[self.pos[np.asarray(nodes, dtype=np.int64)]]

    # ------------------------------------------------------------------ traces

    def upstream(self, device_id: str) -> list[str]:
        """The supply path from a device up to its substation, device first.

        For a device no substation supplies (cut by an open switch), the
        path ends at the topmost device of its dead section.

        Raises
        ------
        NotFoundError
            Unknown device id.
        TopologyError
            A loop of closed links gives the device more than one path.
        """
        node = self.node(device_id)
        if self._ambiguous_by_pos is not None and self._ambiguous_by_pos[self.pos[node]]:
            self._check_crossing(np.array(self.path_nodes(node)), "upstream of", device_id=device_id)
        first = device_id if type(device_id) is str else str(device_id)  # the node's id is the id asked for
        p = self.pred.item(node)
        if p < 0:
            return [first]
        hit = self._up_memo.get(p)
        return [first, *(hit if hit is not None else self._above(node))]

    @cached_property
    def _up_memo(self) -> dict[int, tuple[str, ...]]:
        """Ids of the path above each node asked for (kept for up to :data:`UP_MEMO` nodes)."""
        return {}

    def _above(self, node: int) -> tuple[str, ...]:
        """Ids of the supply path above ``node``, nearest first: a walk up the parent array to the first
        node whose path is memoised, then the paths of the nodes walked, memoised from the top down."""
        memo, pred = self._up_memo, self.pred
        walked = []
        p = pred.item(node)
        hit: tuple[str, ...] = ()
        while p >= 0:
            known = memo.get(p)
            if known is not None:
                hit = known
                break
            walked.append(p)
            p = pred.item(p)
        if len(memo) + len(walked) > UP_MEMO:
            memo.clear()
        for q in reversed(walked):
            hit = memo[q] = (self._path_id(q), *hit)
        return hit

    def _span(self, cls: str, lo: int, hi: int) -> tuple[int, int]:
        """Where the class members at depth-first positions ``[lo, hi)`` sit in its arrays."""
        at = self._class_pos[cls]
        key = np.array([lo, hi], dtype=at.dtype)  # same dtype: no copy of the whole array
        a, b = at.searchsorted(key)
        return int(a), int(b)

    def _ids_between(self, cls: str, lo: int, hi: int, name: str | None = None) -> pd.Index:
        a, b = self._span(cls, lo, hi)
        return _wrap(self._class_ids[cls].slice(a, b - a), name)

    def downstream(self, device_id: str) -> Downstream:
        """Everything supplied through ``device_id`` (see :class:`Downstream`).

        Raises
        ------
        NotFoundError
            Unknown device id.
        TopologyError
            A loop of closed links also feeds part of what lies below.
        """
        node = self.node(device_id)
        if len(self.loop_a):
            self._check_crossing(np.array([node]), "downstream of")
        lo, hi = self.pos.item(node) + 1, self.pos.item(node) + self.size.item(node)
        return Downstream(device_id=device_id, energised=lo - 1 < self._fed_end, _net=self, _range=(lo, hi))

    def _customer_spans(self, device_ids: Sequence[str] | pd.Index) -> tuple[np.ndarray, np.ndarray]:
        """Where the customers below ``device_ids`` sit in the depth-first customer arrays."""
        nodes = self._known(device_ids)
        nodes = np.unique(nodes)
        self._check_crossing(nodes, "downstream of")
        lo = self.pos[nodes].astype(np.int64)
        hi = lo + self.size[nodes]
        order = np.argsort(lo, kind="stable")
        lo, hi = lo[order], hi[order]
        # Subtrees are nested or disjoint: drop those inside an earlier one.
        keep = np.ones(len(lo), dtype=bool)
        keep[1:] = lo[1:] >= np.maximum.accumulate(hi)[:-1]
        at = self._class_pos["customers"]
        return at.searchsorted(lo[keep].astype(at.dtype)), at.searchsorted(hi[keep].astype(at.dtype))

    def customer_nodes_downstream(self, device_ids: Sequence[str] | pd.Index) -> np.ndarray:
        """Customer nodes supplied through any of ``device_ids`` (a customer supplies itself)."""
        a, b = self._customer_spans(device_ids)
        return self._class_nodes["customers"][_ranges(a, b)]

    def customers_downstream(self, device_ids: Sequence[str] | pd.Index) -> pd.Index:
        """Customers supplied through any of ``device_ids``, each once.

        A customer id among ``device_ids`` counts itself (an outage on its own
        connection cuts it off).

        Raises
        ------
        NotFoundError
            An unknown device id.
        TopologyError
            A loop of closed links also feeds part of what lies below.
        """
        a, b = self._customer_spans(device_ids)
        ids = self._class_ids["customers"]
        chunks = [ids.slice(int(x), int(y - x)) for x, y in zip(a, b, strict=True) if y > x]
        if isinstance(ids, pa.ChunkedArray):  # after a switch operation (see topology.incremental)
            chunks = [c for part in chunks for c in part.chunks]
        if not chunks:
            return _EMPTY_IDS.rename("customer_id")
        return _wrap(chunks[0] if len(chunks) == 1 else pa.chunked_array(chunks), "customer_id")

    def energised_nodes(self, nodes: np.ndarray) -> np.ndarray:
        """Whether a substation supplies each node over closed links."""
        return self.pos[np.asarray(nodes, dtype=np.int64)] < self._fed_end

    def energised(self, device_ids: Sequence[str] | pd.Index) -> pd.Series:
        """Whether a substation supplies each device over closed links."""
        nodes = self._known(device_ids)
        ids = _as_index(device_ids)
        return pd.Series(self.pos[nodes] < self._fed_end, index=ids, name="energised")

    def ancestor_of_kind(self, nodes: np.ndarray, kind: int) -> np.ndarray:
        """The nearest node of layer ``kind`` at or above each node (-1: none)."""
        nodes = np.asarray(nodes, dtype=np.int64)
        out = nodes.copy()
        todo = np.flatnonzero(out >= 0)
        while len(todo):
            cur = out[todo]
            done = self.kind[cur] == kind
            todo = todo[~done]
            out[todo] = self.pred[out[todo]]
            todo = todo[out[todo] >= 0]
        return out

    def _lookup_up(self, customer_ids: Iterable[str] | None, kind: int, name: str) -> pd.Series:
        if customer_ids is None:
            ids = self._index["customers"]
            nodes = np.arange(self.offsets[CUSTOMER], self.offsets[CUSTOMER + 1])
        else:
            ids = _as_index(customer_ids)
            nodes = self.nodes(ids)
        up = self.ancestor_of_kind(nodes, kind)
        values = np.full(len(up), np.nan, dtype=object)
        found = up >= 0
        values[found] = self.ids(up[found]).to_numpy()
        return pd.Series(pd.array(values, dtype="str"), index=ids, name=name)

    def feeder_of(self, customer_ids: Iterable[str] | None = None) -> pd.Series:
        """The feeder each device sits on now (NaN: none or unknown id); all customers by default."""
        return self._lookup_up(customer_ids, FEEDER, "feeder_id")

    def transformer_of(self, customer_ids: Iterable[str] | None = None) -> pd.Series:
        """The transformer each device sits on now (NaN: none or unknown id); all customers by default."""
        return self._lookup_up(customer_ids, TRANSFORMER, "transformer_id")

    def substation_of(self, customer_ids: Iterable[str] | None = None) -> pd.Series:
        """The substation supplying each device now (NaN: de-energised or unknown)."""
        return self._lookup_up(customer_ids, SUBSTATION, "substation_id")

    # ------------------------------------------------------------------ grids

    @cached_property
    def _grid_codes(self) -> tuple[np.ndarray, pd.Index]:
        """Grid code of every customer node (-1: none) and the grid labels, sorted."""
        codes, labels = pd.factorize(self.area.customers["grid_id"], sort=True)
        full = np.full(self.n, -1, dtype=np.int32)
        full[self.offsets[CUSTOMER]:self.offsets[CUSTOMER + 1]] = codes
        return full, pd.Index(labels, dtype=_STR, name="grid_id")

    @cached_property
    def _grid_by_rank(self) -> np.ndarray:
        """Grid code of each customer in depth-first order."""
        return self._grid_codes[0][self._class_nodes["customers"]]

    @cached_property
    def _class_sources(self) -> dict[str, tuple[pa.Array, int]]:
        """Per class, the ids of its layers in node order and the node of the first."""
        out = {}
        for cls, kinds in CLASSES.items():
            parts = [self._layer_ids[DEVICE_LAYERS[k]] for k in kinds]
            out[cls] = (parts[0] if len(parts) == 1 else pa.concat_arrays(parts), int(self.offsets[kinds[0]]))
        return out

    def grid_counts_of(self, customer_nodes: np.ndarray) -> pd.Series:
        """Customers per grid among ``customer_nodes``, most first."""
        return count_grids(self._grid_codes[0][customer_nodes], self._grid_codes[1])

    def grid_counts(self, customer_ids: Iterable[str]) -> pd.Series:
        """Customers per grid among ``customer_ids`` (unknown ids ignored), most first."""
        nodes = self.nodes_in("customers", customer_ids)
        return self.grid_counts_of(nodes[nodes >= 0])

    def customers_below(self, nodes: np.ndarray) -> np.ndarray:
        """How many customers each node supplies (a customer counts itself)."""
        at = self._class_pos["customers"]
        nodes = np.asarray(nodes, dtype=np.int64)
        lo = self.pos[nodes].astype(at.dtype)
        hi = (self.pos[nodes] + self.size[nodes]).astype(at.dtype)
        return (at.searchsorted(hi) - at.searchsorted(lo)).astype(np.int64)

    # ------------------------------------------------------------------ what-if

    def with_switch(self, switch_id: str, *, is_open: bool) -> Network:
        """The network rebuilt with one switch opened or closed (the area is not changed).

        Returns
        -------
        Network
            A new network on a copy of the area whose ``switches`` layer has
            the new state; its :attr:`area` holds that copy.
        """
        return self.with_switches({switch_id: is_open})

    def with_switches(self, states: dict[str, bool]) -> Network:
        """The network rebuilt with several switches set (``switch_id → is_open``)."""
        sw = self.area.layers["switches"]
        asked = pd.Index(list(states), dtype=_STR)
        unknown = list(asked[~isin(asked, sw.index)])
        if unknown:
            msg = f"unknown switch id(s) {', '.join(map(repr, unknown))}"
            raise NotFoundError(msg)
        sw = sw.copy()
        sw.loc[list(states), "is_open"] = [bool(v) for v in states.values()]
        return network_of(self.area.replace(switches=sw, trusted=True))  # only states changed: still conformed

    # ------------------------------------------------------------------ graph

    @cached_property
    def graph(self) -> nx.DiGraph:
        """The traced network as a NetworkX DiGraph, edges in the direction of supply.

        Node attribute ``layer``; edge attribute ``switch_id`` on links a
        switch governs or makes, ``loop=True`` on closed links that close a
        loop (not part of the trace). Built on first use: for a million
        customers this takes seconds and gigabytes, the trace index does not.
        """
        import networkx as nx

        g = nx.DiGraph()
        for name in DEVICE_LAYERS:
            g.add_nodes_from(self._index[name].to_numpy(dtype=object), layer=name)
        child = np.flatnonzero(np.asarray(self.pred) >= 0)
        parents = self.ids(self.pred[child]).to_numpy(dtype=object)
        children = self.ids(child).to_numpy(dtype=object)
        g.add_edges_from(zip(parents, children, strict=True))
        sw_ids = self.area.layers["switches"].index
        for node in np.flatnonzero(self.link_switch >= 0):
            if self.pred[node] >= 0:
                u, v = self.ids(np.array([self.pred[node], node]))
                if g.has_edge(u, v):
                    g.edges[u, v]["switch_id"] = sw_ids[self.link_switch[node]]
        ties = self.switch_links[(self.switch_links["child"] < 0) & ~self.switch_links["is_open"]]
        for row, a, b in ties[["row", "a", "b"]].itertuples(index=False):
            for u, v in ((a, b), (b, a)):
                if self.pred[v] == u:
                    g.edges[self.ids(np.array([u]))[0], self.ids(np.array([v]))[0]]["switch_id"] = sw_ids[row]
        for a, b, s in zip(self.loop_a, self.loop_b, self.loop_switch, strict=True):
            u, v = self.ids(np.array([a, b]))
            g.add_edge(u, v, loop=True, **({"switch_id": sw_ids[s]} if s >= 0 else {}))
        return g

    # ------------------------------------------------------------------ size

    def index_nbytes(self) -> int:
        """Memory held by the trace index arrays, in bytes."""
        arrays = [self.kind, self.pred, self.depth, self.size, self.pos, self.order,
                  *self._class_nodes.values(), *self._class_pos.values(), *self._class_ids.values()]
        return int(sum(a.nbytes for a in arrays))


def _bfs(n: int, ea: np.ndarray, eb: np.ndarray, roots: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Level-synchronous breadth-first search over undirected links from all roots at once.

    Returns each node's predecessor and the link it was reached by, its
    depth, and the nodes of each level.
    """
    m = len(ea)
    src = np.concatenate([ea, eb])
    dst = np.concatenate([eb, ea])
    eid = np.concatenate([np.arange(m), np.arange(m)])
    perm = np.argsort(src, kind="stable")
    dst, eid = dst[perm], eid[perm]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    pred = np.full(n, -1, dtype=np.int64)
    pred_edge = np.full(n, -1, dtype=np.int64)
    depth = np.zeros(n, dtype=np.int32)
    seen = np.zeros(n, dtype=bool)
    seen[roots] = True
    levels = [roots]
    frontier, d = roots, 0
    while len(frontier):
        starts = indptr[frontier]
        counts = indptr[frontier + 1] - starts
        idx = _ranges(starts, starts + counts)
        if not len(idx):
            break
        who = np.repeat(frontier, counts)
        nb = dst[idx]
        fresh = ~seen[nb]
        nb, who, via = nb[fresh], who[fresh], eid[idx[fresh]]
        if not len(nb):
            break
        new, first = np.unique(nb, return_index=True)
        pred[new], pred_edge[new] = who[first], via[first]
        seen[new] = True
        d += 1
        depth[new] = d
        levels.append(new)
        frontier = new
    return pred, pred_edge, depth, levels


def _preorder(n: int, pred: np.ndarray, roots: np.ndarray, levels: list[np.ndarray], *,
              size_dtype: type = np.int64) -> tuple[np.ndarray, np.ndarray]:
    """Subtree sizes (bottom-up by level) and depth-first positions (top-down by level)."""
    size: np.ndarray = np.ones(n, dtype=size_dtype)
    for level in reversed(levels[1:]):
        np.add.at(size, pred[level], size[level])
    pos = np.zeros(n, dtype=np.int64)
    rs = size[roots]
    pos[roots] = np.cumsum(rs) - rs
    for level in levels[1:]:
        parent = pred[level]
        order = np.argsort(parent, kind="stable")  # siblings by node number
        nodes, parent = level[order], parent[order]
        s = size[nodes]
        before = np.cumsum(s) - s
        new_group = np.ones(len(nodes), dtype=bool)
        new_group[1:] = parent[1:] != parent[:-1]
        group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(nodes)), 0))
        pos[nodes] = pos[parent] + 1 + before - before[group_start]
    return size, pos


#: The layers a :class:`Network` is built from.
NETWORK_INPUTS = (*DEVICE_LAYERS, "switches", "grids")


def _network_token(area: ServiceArea) -> tuple[object, ...]:
    """The network layers' frames (by identity), their lengths and the switches' state.

    An in-place change of a switch's state rebuilds the network too. (The
    cache entry holds the frames, so their ids are not reused meanwhile.)
    """
    frames = tuple(id(area.layers[n]) for n in NETWORK_INPUTS)
    sw = area.switches
    state = tuple(sw["is_open"].tolist()) if "is_open" in sw.columns else ()
    return (*frames, *(len(area.layers[n]) for n in DEVICE_LAYERS), state)


def network_of(area: ServiceArea) -> Network:
    """The traced network of ``area``, built once and cached on the area.

    The cache is rebuilt when a network layer is replaced; when only switches
    changed state, the previous network is updated instead
    (:func:`~gridservice.topology.incremental.switched`: only the subtrees
    cut off or attached are re-labelled).
    """
    from gridservice.topology.incremental import switched

    return area.cached("network", NETWORK_INPUTS, lambda: Network(area), token=_network_token,
                       update=lambda old: switched(old, area))


__all__ = ["KIND", "Downstream", "Network", "isin", "network_of"]
