"""The search engine of one piece: recursive bisection, contiguity repair, local search.

Positions 0..m-1 index the units of the piece; nothing here knows ids,
geometries or the service area, only arrays (see :class:`Engine`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

#: Local-search phases: (compactness weight λ, balance tolerance). Shapes first; then
#: deviations beyond the tolerance (a share of the target workload) cost TOL_PENALTY more.
SCHEDULE: tuple[tuple[float, float | None], ...] = ((0.1, None), (0.05, None), (0.03, 0.01), (0.028, 0.008))
TOL_PENALTY = 10.0
#: Weight of the over-cap share in the objective; large enough to dominate.
CAP_PENALTY = 50.0


class Engine:
    """Recursive bisection, contiguity repair and vectorised boundary-move local search on one piece.

    Positions 0..m-1 index the units; ``s, d, ln`` are directed edges (both
    directions) with the shared boundary length in metres.
    """

    #: Cut directions tried at each bisection.
    ANGLES = 12

    def __init__(self, s: np.ndarray, d: np.ndarray, ln: np.ndarray, w: np.ndarray, h: np.ndarray,
                 area: np.ndarray, perim: np.ndarray, cx: np.ndarray, cy: np.ndarray, k: int, cap: float) -> None:
        order = np.lexsort((d, s))
        self.s, self.d, self.ln = s[order], d[order], ln[order]
        self.w, self.h, self.area, self.perim = w, h, area, perim
        self.xy = np.column_stack([cx, cy])
        self.k, self.cap = k, cap
        self.m = len(w)
        self.target = w.sum() / k
        self.tol: float | None = None
        self.tol_penalty = TOL_PENALTY
        indptr = np.zeros(self.m + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.s, minlength=self.m), out=indptr[1:])
        dl = self.d.tolist()
        self.nbrs = [dl[indptr[i]:indptr[i + 1]] for i in range(self.m)]
        self.edge_key = self.s * self.m + self.d  # sorted: s major, d minor

    def subset(self, members: np.ndarray, k: int) -> Engine:
        """An engine on some of the units (the grids wholly inside them), aiming at this engine's target."""
        pos = np.full(self.m, -1, dtype=np.int64)
        pos[members] = np.arange(len(members))
        keep = (pos[self.s] >= 0) & (pos[self.d] >= 0)
        sub = Engine(pos[self.s[keep]], pos[self.d[keep]], self.ln[keep], self.w[members], self.h[members],
                      self.area[members], self.perim[members], self.xy[members, 0], self.xy[members, 1], k, self.cap)
        sub.target = self.target
        return sub

    # -- start: recursive bisection ------------------------------------------------------------

    def bisect(self, rng: np.random.Generator) -> np.ndarray:
        """Cut the piece in two by the straight line (among :attr:`ANGLES` directions) with the
        shortest shared boundary across it that splits the workload k₁ : k₂, and recurse."""
        labels = np.zeros(self.m, dtype=np.int64)
        turn = rng.uniform(0, math.pi)
        stack = [(np.arange(self.m), self.k, 0)]
        inside = np.zeros(self.m, dtype=bool)
        side = np.zeros(self.m, dtype=bool)
        angles = turn + np.linspace(0, math.pi, self.ANGLES, endpoint=False)
        dirs = np.column_stack([np.cos(angles), np.sin(angles)])
        while stack:
            idx, kk, off = stack.pop()
            if kk == 1 or len(idx) == 1:
                labels[idx] = off
                continue
            k1 = kk // 2
            inside[:] = False
            inside[idx] = True
            e = inside[self.s] & inside[self.d]
            es, ed, el = self.s[e], self.d[e], self.ln[e]
            proj = self.xy[idx] @ dirs.T  # (len(idx), angles)
            wl = self.w[idx]
            want = wl.sum() * k1 / kk
            best_cut, best_left = math.inf, None
            for a in range(self.ANGLES):
                order = np.argsort(proj[:, a], kind="stable")
                cum = np.cumsum(wl[order])
                c = int(np.argmin(np.abs(cum - want)))
                c = min(max(c, k1 - 1), len(idx) - (kk - k1) - 1)  # leave at least one unit per grid
                left = np.zeros(len(idx), dtype=bool)
                left[order[:c + 1]] = True
                side[idx] = left
                cut = el[side[es] != side[ed]].sum()
                if cut < best_cut:
                    best_cut, best_left = cut, left
            assert best_left is not None
            stack.append((idx[~best_left], kk - k1, off + k1))
            stack.append((idx[best_left], k1, off))
        return labels

    # -- contiguity repair ---------------------------------------------------------------------

    def repair(self, labels: np.ndarray) -> np.ndarray:
        """Give every detached piece of a grid to the neighbouring grid it shares most boundary with."""
        lab = labels.copy()
        for _ in range(50):
            same = lab[self.s] == lab[self.d]
            n_comp, comp = connected_components(
                coo_matrix((np.ones(int(same.sum())), (self.s[same], self.d[same])), shape=(self.m, self.m)),
                directed=False)
            if n_comp == self.k:
                return lab
            cw = np.bincount(comp, weights=self.w + 1e-12, minlength=n_comp)
            cg = np.zeros(n_comp, dtype=np.int64)
            cg[comp] = lab
            frame = pd.DataFrame({"c": np.arange(n_comp), "g": cg, "w": cw}).sort_values(
                ["g", "w", "c"], ascending=[True, False, True])
            main = np.zeros(n_comp, dtype=bool)
            main[frame.drop_duplicates("g")["c"].to_numpy()] = True
            stray = ~main[comp]
            # boundary of stray components towards other grids
            e = stray[self.s] & ~same
            if not e.any():
                break
            tab = pd.DataFrame({"c": comp[self.s[e]], "g": lab[self.d[e]], "l": self.ln[e]})
            tab = tab.groupby(["c", "g"], sort=True)["l"].sum().reset_index()
            tab = tab.sort_values(["c", "l", "g"], ascending=[True, False, True]).drop_duplicates("c")
            target = np.full(n_comp, -1, dtype=np.int64)
            target[tab["c"].to_numpy()] = tab["g"].to_numpy()
            move = stray & (target[comp] >= 0)
            lab[move] = target[comp[move]]
        return lab  # pragma: no cover - repair converges within a few passes

    # -- local search --------------------------------------------------------------------------

    def _cost(self, ld: np.ndarray, ar: np.ndarray, pm: np.ndarray, hh: np.ndarray, lam: float) -> np.ndarray:
        tgt = self.target
        dev = (ld - tgt) / tgt
        c = dev ** 2
        if self.tol is not None:
            c = c + self.tol_penalty * np.maximum(np.abs(dev) - self.tol, 0.0) ** 2
        if lam:
            c = c + lam * (1.0 - 4.0 * np.pi * ar / np.maximum(pm, 1e-9) ** 2)
        if math.isfinite(self.cap):
            c = c + CAP_PENALTY * np.maximum(hh - self.cap, 0.0) / self.cap
        return c

    def _totals(self, lab: np.ndarray) -> tuple[np.ndarray, ...]:
        k, s, d, ln = self.k, self.s, self.d, self.ln
        ld = np.bincount(lab, weights=self.w, minlength=k)
        hh = np.bincount(lab, weights=self.h, minlength=k)
        ar = np.bincount(lab, weights=self.area, minlength=k)
        inner = lab[s] == lab[d]
        pm = np.bincount(lab, weights=self.perim, minlength=k) - np.bincount(
            lab[s[inner]], weights=ln[inner], minlength=k)
        return ld, hh, ar, pm, np.bincount(lab, minlength=k)

    def objective(self, labels: np.ndarray, lam: float) -> float:
        """Σ over grids of the local-search cost at compactness weight ``lam``."""
        ld, hh, ar, pm, _ = self._totals(labels)
        return float(self._cost(ld, ar, pm, hh, lam).sum())

    def _length_between(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        key = u * self.m + v
        i = np.searchsorted(self.edge_key, key)
        i = np.minimum(i, len(self.edge_key) - 1)
        hit = self.edge_key[i] == key if len(self.edge_key) else np.zeros(len(key), dtype=bool)
        return np.where(hit, self.ln[i] if len(self.ln) else 0.0, 0.0)

    def improve(self, labels: np.ndarray, *, compactness: float, max_rounds: int = 5000,
                phases: Sequence[tuple[float, float | None]] | None = None,
                active: np.ndarray | None = None) -> np.ndarray:
        """Single-unit moves and pairwise swaps across grid borders that lower
        imbalance + λ·(1 − PP) + μ·over-cap, each grid staying connected.

        A move's gain depends only on its two grids, so after the first round
        only moves touching a grid changed in the previous round are scored
        (``active``: the grids to score in the first round; default all).
        """
        k = self.k
        lab = labels.copy()
        lab_list = lab.tolist()
        s, d, ln = self.s, self.d, self.ln
        ld, hh, ar, pm, cnt = self._totals(lab)
        phases = SCHEDULE if phases is None else phases
        schedule = [(lam * compactness, tol) for lam, tol in phases] if compactness > 0 else [(0.0, None)]
        cost = self._cost
        for phase, (lam, tol) in enumerate(schedule):
            self.tol = tol
            self.tol_penalty = TOL_PENALTY
            act = active.copy() if (active is not None and phase == 0) else np.ones(k, dtype=bool)
            for _ in range(max_rounds):
                ga, gb = lab[s], lab[d]
                cross = ga != gb
                own = np.bincount(s[~cross], weights=ln[~cross], minlength=self.m)
                sel = cross & (act[ga] | act[gb])
                key = s[sel] * k + gb[sel]
                if not len(key):
                    break
                uk, inv = np.unique(key, return_inverse=True)
                shared = np.bincount(inv, weights=ln[sel])
                u = uk // k
                b = uk % k
                a = lab[u]
                wu, hu, au, pu = self.w[u], self.h[u], self.area[u], self.perim[u]
                ca, cb = cost(ld[a], ar[a], pm[a], hh[a], lam), cost(ld[b], ar[b], pm[b], hh[b], lam)
                delta = (cost(ld[a] - wu, ar[a] - au, pm[a] - pu + 2 * own[u], hh[a] - hu, lam)
                         + cost(ld[b] + wu, ar[b] + au, pm[b] + pu - 2 * shared, hh[b] + hu, lam)) - ca - cb
                movable = cnt[a] > 1
                # Swaps: u a→b with v b→a across the same border.
                cand_u = np.flatnonzero(movable)
                sw = self._swaps(u[cand_u], a[cand_u], b[cand_u], own, shared[cand_u], ld, ar, pm, hh, lam,
                                 ca[cand_u] + cb[cand_u])
                moves_i = np.flatnonzero(movable & (delta < -1e-12))
                m_delta = delta[moves_i]
                s_delta = sw[4] if sw is not None else np.zeros(0)
                keep_sw = np.flatnonzero(s_delta < -1e-12) if sw is not None else np.zeros(0, dtype=np.int64)
                allc = np.concatenate([m_delta, s_delta[keep_sw]])
                if not len(allc):
                    break
                order = np.argsort(allc, kind="stable").tolist()
                n_single = len(moves_i)
                mu, ma, mb = u[moves_i].tolist(), a[moves_i].tolist(), b[moves_i].tolist()
                msh = shared[moves_i].tolist()
                if sw is not None:
                    su, sv, sa, sb = (x[keep_sw].tolist() for x in sw[:4])
                    spa, spb = sw[5][keep_sw].tolist(), sw[6][keep_sw].tolist()
                used = [False] * k
                moved = 0
                own_l = own
                for j in order:
                    if j < n_single:
                        ga_, gb_ = ma[j], mb[j]
                        if used[ga_] or used[gb_]:
                            continue
                        uu = mu[j]
                        if not self._stays_connected(uu, ga_, lab_list):
                            continue
                        used[ga_] = used[gb_] = True
                        self._apply(uu, ga_, gb_, lab, lab_list, ld, hh, ar, cnt)
                        pm[ga_] += -self.perim[uu] + 2 * own_l[uu]
                        pm[gb_] += self.perim[uu] - 2 * msh[j]
                        moved += 1
                    else:
                        j -= n_single
                        ga_, gb_ = sa[j], sb[j]
                        if used[ga_] or used[gb_]:
                            continue
                        uu, vv = su[j], sv[j]
                        if not (self._stays_connected(uu, ga_, lab_list) and self._stays_connected(vv, gb_, lab_list)):
                            continue
                        used[ga_] = used[gb_] = True
                        self._apply(uu, ga_, gb_, lab, lab_list, ld, hh, ar, cnt)
                        self._apply(vv, gb_, ga_, lab, lab_list, ld, hh, ar, cnt)
                        pm[ga_] = spa[j]
                        pm[gb_] = spb[j]
                        moved += 1
                if not moved:
                    break
                act = np.asarray(used, dtype=bool)
        return lab

    def perturb(self, labels: np.ndarray, rng: np.random.Generator, share: float) -> tuple[np.ndarray, np.ndarray]:
        """Move a random ``share`` of the border units to a neighbouring grid (grids stay connected).

        Returns the new labels and which grids changed.
        """
        lab = labels.copy()
        lab_list = lab.tolist()
        cross = lab[self.s] != lab[self.d]
        cu, cg = self.s[cross], lab[self.d[cross]]
        touched_mask = np.zeros(self.k, dtype=bool)
        if not len(cu):
            return lab, touched_mask
        cnt = np.bincount(lab, minlength=self.k)
        touched: set[int] = set()
        for i in rng.permutation(len(cu))[: max(1, int(share * len(cu)))].tolist():
            u, b = int(cu[i]), int(cg[i])
            a = lab_list[u]
            if a == b or a in touched or b in touched or cnt[a] <= 1:
                continue
            if not self._stays_connected(u, a, lab_list):
                continue
            lab_list[u] = b
            lab[u] = b
            cnt[a] -= 1
            cnt[b] += 1
            touched.update((a, b))
        touched_mask[list(touched)] = True
        return lab, touched_mask

    def _apply(self, u: int, a: int, b: int, lab: np.ndarray, lab_list: list[int],
               ld: np.ndarray, hh: np.ndarray, ar: np.ndarray, cnt: np.ndarray) -> None:
        lab[u] = b
        lab_list[u] = b
        ld[a] -= self.w[u]
        ld[b] += self.w[u]
        hh[a] -= self.h[u]
        hh[b] += self.h[u]
        ar[a] -= self.area[u]
        ar[b] += self.area[u]
        cnt[a] -= 1
        cnt[b] += 1

    def _swaps(self, u: np.ndarray, a: np.ndarray, b: np.ndarray, own: np.ndarray, sh: np.ndarray,
               ld: np.ndarray, ar: np.ndarray, pm: np.ndarray, hh: np.ndarray, lam: float,
               before: np.ndarray) -> tuple[np.ndarray, ...] | None:
        """Best swap partners: u (a→b) with v (b→a); returns u, v, a, b, delta, new P_a, new P_b."""
        if not len(u):
            return None
        k = self.k
        # Pair every move a→b with every move b→a (a sorted join in numpy).
        back = b * k + a
        order = np.argsort(back, kind="stable")
        sorted_back = back[order]
        fwd = a * k + b
        lo = np.searchsorted(sorted_back, fwd, side="left")
        hi = np.searchsorted(sorted_back, fwd, side="right")
        n_pair = hi - lo
        if not n_pair.sum():
            return None
        i = np.repeat(np.arange(len(u)), n_pair)
        start = np.repeat(lo - np.r_[0, np.cumsum(n_pair)[:-1]], n_pair)
        j = order[start + np.arange(len(i))]
        uu, vv, ga, gb = u[i], u[j], a[i], b[i]
        luv = self._length_between(uu, vv)
        # v must still touch a without u, and u must still touch b without v.
        s_ub, s_va = sh[i], sh[j]
        ok = (s_ub - luv > 0) & (s_va - luv > 0)
        if not ok.any():
            return None
        i, j, uu, vv, ga, gb, luv, s_ub, s_va = (x[ok] for x in (i, j, uu, vv, ga, gb, luv, s_ub, s_va))
        dw, dh, da = self.w[uu] - self.w[vv], self.h[uu] - self.h[vv], self.area[uu] - self.area[vv]
        pa = pm[ga] - self.perim[uu] + 2 * own[uu] + self.perim[vv] - 2 * (s_va - luv)
        pb = pm[gb] - self.perim[vv] + 2 * own[vv] + self.perim[uu] - 2 * (s_ub - luv)
        after = (self._cost(ld[ga] - dw, ar[ga] - da, pa, hh[ga] - dh, lam)
                 + self._cost(ld[gb] + dw, ar[gb] + da, pb, hh[gb] + dh, lam))
        delta = after - before[i]
        return uu, vv, ga, gb, delta, pa, pb

    def _stays_connected(self, u: int, g: int, lab: list[int]) -> bool:
        """Whether grid ``g`` stays connected without unit ``u`` (BFS from one neighbour)."""
        nbrs = self.nbrs
        targets = [v for v in nbrs[u] if lab[v] == g]
        if len(targets) <= 1:
            return True
        need = set(targets[1:])
        seen = {u, targets[0]}
        stack = [targets[0]]
        while stack:
            x = stack.pop()
            for y in nbrs[x]:
                if y not in seen and lab[y] == g:
                    if y in need:
                        need.discard(y)
                        if not need:
                            return True
                    seen.add(y)
                    stack.append(y)
        return not need
