"""Incremental trace index: a switch operation re-labels only what it cuts off or attaches.

The trace index of a radial network (:class:`~gridservice.topology.network.Network`)
is a forest in depth-first order: roots are the substations, then the topmost
(lowest-numbered) device of each piece no substation reaches; siblings come
by node number. Opening a closed link cuts a subtree off: it becomes a new
dead piece, re-rooted at its lowest node and moved among the dead pieces.
Closing an open link between two pieces attaches one of them (a dead piece
to a supplied one, else the higher-rooted to the lower-rooted), re-rooted at
its end of the link, among the children of the other end. Each is one *move*
of a contiguous block of the depth-first order: the block is re-ordered
locally (a breadth-first search over the block alone when its root changes),
the positions between its old and new place shift by the block's size, and
the per-class arrays are spliced, not rebuilt. The result equals a full
build exactly (tests/topology/test_incremental.py).

A change that a full build resolves globally — a loop of closed links before
or after, or any change to the device layers or the switches' ends — returns
``None`` and the caller builds from scratch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from gridservice.schema import DEVICE_LAYERS

if TYPE_CHECKING:
    from gridservice.model import ServiceArea
    from gridservice.topology.network import Network

#: Layers whose frames must be the very same for an update (the switches may differ).
SAME_LAYERS = (*DEVICE_LAYERS, "grids")
#: Share the arrays of the old index (they are never written in place).
_SHARED = ("_index", "offsets", "n", "kind", "_lookups", "_layer_ids", "fk_parent", "link_switch")
_INDEX = ("pred", "depth", "size", "pos", "order", "roots", "_fed_end", "_class_nodes", "_class_pos",
          "_class_ids", "loop_a", "loop_b", "loop_switch", "_ambiguous_by_pos")
#: Id arrays of a class built from chunks are compacted past this many chunks.
MAX_CHUNKS = 32


class _NeedsFullBuildError(Exception):
    """The change needs a full build (a loop appears, or the index does not match the links)."""


def switched(old: Network, area: ServiceArea) -> Network | None:
    """``old`` updated to the switch states of ``area``, or ``None`` when only a full build can tell.

    ``area`` must hold the same device layers (the same frames) as the area
    ``old`` was built from; only the ``is_open`` of switches may differ.
    """
    from gridservice.topology.network import Network

    if old.area is not area:
        for name in SAME_LAYERS:
            if area.layers[name] is not old.area.layers[name]:
                return None
    for name in DEVICE_LAYERS:
        if area.layers[name].index is not old._index[name] or len(area.layers[name]) != len(old._index[name]):
            return None
    new = Network.__new__(Network)
    new.area = area
    for attr in _SHARED:
        setattr(new, attr, getattr(old, attr))
    for attr in ("_grid_codes", "_class_sources", "_shared_ids", "_upper_nodes", "_upper_ids",
                 "_customer_nodes", "_meter_ids", "_meter_engine"):  # cached, and independent of the switches
        if attr in old.__dict__:
            new.__dict__[attr] = old.__dict__[attr]
    found = _switch_links(new, old)
    if found is None:
        return None
    sw, was, new.link_switch = found
    new.switch_links = sw
    now = sw["is_open"].to_numpy(dtype=bool)
    changed = np.flatnonzero(was != now)
    renumbered = new.link_switch is not old.link_switch
    if renumbered and len(old.loop_a):
        return None  # the loops name switch rows
    if not len(changed):
        for attr in _INDEX:
            setattr(new, attr, getattr(old, attr))
        if "_grid_by_rank" in old.__dict__:
            new.__dict__["_grid_by_rank"] = old.__dict__["_grid_by_rank"]
        return new
    if len(old.loop_a):
        return None
    removed, added = _link_changes(old, sw, was, now, changed)
    forest = _Forest(old)
    try:
        for u, v in removed:
            forest.cut(u, v)
        for u, v in added:
            forest.link(u, v)
    except _NeedsFullBuildError:
        return None
    forest.store(new)
    return new


def _switch_links(new: Network, old: Network) -> tuple[pd.DataFrame, np.ndarray, np.ndarray] | None:
    """``new``'s switch links, the state each had before and the switch row governing each node's parent link.

    ``None`` when a switch was added, removed or re-wired. The switches may
    come in another row order (the server appends a written record last):
    they are matched by id.
    """
    sw, before = new.area.layers["switches"], old.area.layers["switches"]
    ends = ("from_device_id", "to_device_id")
    olinks = old.switch_links
    if sw is before or (len(sw) == len(before) and sw.index.equals(before.index) and all(
            c in sw.columns and c in before.columns and sw[c].equals(before[c]) for c in ends)):
        links = olinks.copy()
        if "is_open" in sw.columns:
            state = sw["is_open"].fillna(False).astype(bool).to_numpy()
            links["is_open"] = state[links["row"].to_numpy()]
        return links, olinks["is_open"].to_numpy(dtype=bool), old.link_switch
    if len(sw) != len(before) or not sw.index.is_unique or not before.index.is_unique:
        return None
    links = new._switch_links()  # look the ends up again; the update holds if each switch links the same nodes
    if len(links) != len(olinks):
        return None
    at = pd.Series(np.arange(len(olinks)), index=before.index[olinks["row"].to_numpy()])
    match = at.reindex(sw.index[links["row"].to_numpy()])
    if match.isna().any():
        return None
    prior = olinks.iloc[match.to_numpy(dtype=np.int64)]
    if not all(np.array_equal(links[c].to_numpy(), prior[c].to_numpy()) for c in ("a", "b", "child")):
        return None
    link_switch = old.link_switch
    if not np.array_equal(links["row"].to_numpy(), prior["row"].to_numpy()):
        governed = links[links["child"] >= 0]
        link_switch = old.link_switch.copy()  # the same children, numbered by the new rows (first row wins)
        link_switch[governed["child"].to_numpy(dtype=np.int64)[::-1]] = governed["row"].to_numpy(dtype=np.int64)[::-1]
    return links, prior["is_open"].to_numpy(dtype=bool), link_switch


def _link_changes(net: Network, sw: pd.DataFrame, was: np.ndarray, now: np.ndarray, changed: np.ndarray
                  ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Links the changed switches remove and add: ``(a, b)`` node pairs."""
    child = sw["child"].to_numpy(dtype=np.int64)
    a, b = sw["a"].to_numpy(dtype=np.int64), sw["b"].to_numpy(dtype=np.int64)
    removed: list[tuple[int, int]] = []
    added: list[tuple[int, int]] = []
    gov = changed[child[changed] >= 0]
    for c in np.unique(child[gov]).tolist():  # a parent link is cut when any switch governing it is open
        rows = child == c
        cut_was, cut_now = bool(was[rows].any()), bool(now[rows].any())
        if cut_was != cut_now:
            (removed if cut_now else added).append((int(net.fk_parent[c]), c))
    for r in changed[child[changed] < 0].tolist():  # a tie links its ends while closed
        (removed if now[r] else added).append((int(a[r]), int(b[r])))
    return removed, added


class _Forest:
    """The depth-first forest of a network, copied for surgery."""

    def __init__(self, net: Network) -> None:
        from gridservice.topology.network import CLASSES, SUBSTATION

        self.net = net
        self.n = net.n
        self.kind = net.kind
        self.pred = net.pred.copy()
        self.depth = net.depth.copy()
        self.size = net.size.copy()
        self.pos = net.pos.copy()
        self.order = net.order
        self.fed_end = net._fed_end
        self.subs = net.roots[net.kind[net.roots] == SUBSTATION]
        self.dead = net.roots[net.kind[net.roots] != SUBSTATION]  # sorted
        self.classes = list(CLASSES)
        code = np.zeros(len(DEVICE_LAYERS), dtype=np.int8)
        for i, kinds in enumerate(CLASSES.values()):
            code[list(kinds)] = i
        self.class_code = code
        self.cpos = dict(net._class_pos)
        self.cnodes = dict(net._class_nodes)
        self.cids: dict[str, list[pa.Array]] = {c: _chunks(v) for c, v in net._class_ids.items()}
        self.sources = net._class_sources

    # ------------------------------------------------------------------ operations

    def root(self, v: int) -> int:
        pred = self.pred
        while pred[v] >= 0:
            v = int(pred[v])
        return v

    def cut(self, u: int, v: int) -> None:
        """Remove the closed link ``u``–``v``: the part below it becomes a dead piece."""
        if self.pred[v] == u:
            x = v
        elif self.pred[u] == v:
            x = u
        else:
            raise _NeedsFullBuildError
        a, k = int(self.pos[x]), int(self.size[x])
        block = self.order[a:a + k]
        p = int(self.pred[x])
        while p >= 0:
            self.size[p] -= k
            p = int(self.pred[p])
        m = int(block.min())
        ordered = self._reroot(block, x, m, -1, 0)
        i = int(np.searchsorted(self.dead, m))
        t = int(self.pos[self.dead[i]]) if i < len(self.dead) else self.n
        self.dead = np.insert(self.dead, i, m)
        if a < self.fed_end:
            self.fed_end -= k
        self._move(a, k, t, ordered)

    def link(self, u: int, v: int) -> None:
        """Close the open link ``u``–``v`` between two pieces: one hangs below the other."""
        ru, rv = self.root(u), self.root(v)
        if ru == rv:
            raise _NeedsFullBuildError  # a loop
        fed_u, fed_v = self._fed(ru), self._fed(rv)
        if fed_u and fed_v:
            raise _NeedsFullBuildError  # two substations: a loop in the trace
        if fed_v or (not fed_u and rv < ru):
            u, v, ru, rv = v, u, rv, ru
        # the piece of v moves below u
        pu, su = int(self.pos[u]), int(self.size[u])
        seg = self.order[pu + 1:pu + su]
        kids = seg[self.pred[seg] == u]  # by node number, as the depth-first order has them
        j = int(np.searchsorted(kids, v))
        t = int(self.pos[kids[j]]) if j < len(kids) else pu + su
        a, k = int(self.pos[rv]), int(self.size[rv])
        if pu < self.fed_end:
            self.fed_end += k
        block = self.order[a:a + k]
        ordered = self._reroot(block, rv, v, u, int(self.depth[u]) + 1)
        p = u
        while p >= 0:
            self.size[p] += k
            p = int(self.pred[p])
        self.dead = self.dead[self.dead != rv]
        self._move(a, k, t, ordered)

    def _fed(self, root: int) -> bool:
        from gridservice.topology.network import SUBSTATION

        return bool(self.kind[root] == SUBSTATION)

    def _reroot(self, block: np.ndarray, old_root: int, new_root: int, parent: int, depth0: int) -> np.ndarray:
        """Re-hang ``block`` (the subtree of ``old_root``) from ``new_root`` below ``parent``.

        Sets pred, depth and size of the block's nodes; returns its nodes in depth-first order.
        """
        from gridservice.topology.network import _bfs, _preorder

        if new_root == old_root:
            self.depth[block] += depth0 - self.depth[old_root]
            self.pred[old_root] = parent
            return block
        k = len(block)
        nodes = np.sort(block)
        inner = block[block != old_root]
        ea = np.searchsorted(nodes, self.pred[inner])
        eb = np.searchsorted(nodes, inner)
        root = np.array([int(np.searchsorted(nodes, new_root))], dtype=np.int64)
        lpred, _, ldepth, levels = _bfs(k, ea, eb, root)
        lsize, lpos = _preorder(k, lpred, root, levels)
        self.pred[nodes] = np.where(lpred >= 0, nodes[np.maximum(lpred, 0)], parent)
        self.depth[nodes] = ldepth + depth0
        self.size[nodes] = lsize
        ordered = np.empty(k, dtype=self.order.dtype)
        ordered[lpos] = nodes
        return ordered

    def _move(self, a: int, k: int, t: int, block: np.ndarray) -> None:
        """Move positions ``[a, a + k)`` to before position ``t`` (outside them), as ``block``."""
        old = self.order
        if t <= a:
            start, shift, lo, hi = t, k, t, a
            self.order = np.concatenate([old[:t], block, old[t:a], old[a + k:]])
        else:
            start, shift, lo, hi = t - k, -k, a + k, t
            self.order = np.concatenate([old[:a], old[a + k:t], block, old[t:]])
        self.pos[old[lo:hi]] = np.arange(lo + shift, hi + shift, dtype=self.pos.dtype)  # a scatter, no gather
        self.pos[block] = np.arange(start, start + k, dtype=self.pos.dtype)
        code = self.class_code[self.kind[block]]
        for c, cls in enumerate(self.classes):
            at = self.cpos[cls]
            ra, rb, rt = at.searchsorted(np.array([a, a + k, t], dtype=at.dtype)).tolist()
            local = np.flatnonzero(code == c)
            b_nodes = block[local]
            b_pos = (start + local).astype(at.dtype)
            src = self.sources[cls]
            b_ids = src[0].take(pa.array(b_nodes - src[1]))
            nodes, chunks = self.cnodes[cls], self.cids[cls]
            if t <= a:
                self.cpos[cls] = moved = np.concatenate([at[:rt], b_pos, at[rt:ra], at[rb:]])
                moved[rt + len(local):ra + len(local)] += shift  # in place: no temporary of the middle
                self.cnodes[cls] = np.concatenate([nodes[:rt], b_nodes, nodes[rt:ra], nodes[rb:]])
                self.cids[cls] = [*_slice(chunks, 0, rt), b_ids, *_slice(chunks, rt, ra), *_slice(chunks, rb, None)]
            else:
                self.cpos[cls] = moved = np.concatenate([at[:ra], at[rb:rt], b_pos, at[rt:]])
                moved[ra:ra + rt - rb] += shift
                self.cnodes[cls] = np.concatenate([nodes[:ra], nodes[rb:rt], b_nodes, nodes[rt:]])
                self.cids[cls] = [*_slice(chunks, 0, ra), *_slice(chunks, rb, rt), b_ids, *_slice(chunks, rt, None)]
            self.cids[cls] = [ch for ch in self.cids[cls] if len(ch)]
            if len(self.cids[cls]) > MAX_CHUNKS:
                self.cids[cls] = [pa.concat_arrays(self.cids[cls])]

    def store(self, net: Network) -> None:
        """Set ``net``'s trace index from this forest."""
        net.pred, net.depth, net.size, net.pos, net.order = self.pred, self.depth, self.size, self.pos, self.order
        net.roots = np.concatenate([self.subs, self.dead]).astype(np.int64)
        net._fed_end = self.fed_end
        net._class_pos, net._class_nodes = self.cpos, self.cnodes
        net._class_ids = {c: _joined(v) for c, v in self.cids.items()}
        old = self.net
        net.loop_a, net.loop_b, net.loop_switch = old.loop_a, old.loop_b, old.loop_switch
        net._ambiguous_by_pos = None


def _chunks(ids: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return list(ids.chunks) if isinstance(ids, pa.ChunkedArray) else [ids]


def _slice(chunks: list[pa.Array], start: int, stop: int | None) -> list[pa.Array]:
    """Elements ``[start, stop)`` of the concatenation of ``chunks``, as chunks (no copy)."""
    out, at = [], 0
    for ch in chunks:
        lo, hi = at, at + len(ch)
        at = hi
        a = max(start, lo)
        b = hi if stop is None else min(stop, hi)
        if b > a:
            out.append(ch.slice(a - lo, b - a))
    return out


def _joined(chunks: list[pa.Array]) -> pa.Array | pa.ChunkedArray:
    if not chunks:
        return pa.array([], type=pa.large_string())
    return chunks[0] if len(chunks) == 1 else pa.chunked_array(chunks)
