"""The demo's supply network: substations, feeders, transformers, meter boxes, customers.

Transformers are placed around settlements, meter boxes (表箱) around their
transformer and customers around their meter box, so a transformer area
(台区) is a compact cluster that never straddles a grid border, except the
one planted split. Feeders are minimum spanning trees from their substation
through their transformers: a trunk with real branches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import cKDTree

from gridservice.demo.geography import (
    RURAL,
    SEAT,
    TOWN,
    TOWNS,
    URBAN,
    Grids,
    Settlements,
    Territory,
    in_hills,
)

#: Standard distribution-transformer ratings (kVA).
KVA_SIZES = np.array([50, 80, 100, 125, 160, 200, 250, 315, 400, 500, 630], dtype=float)

# Per area class (urban, rural, remote): customers per meter box, metres of
# spread of meter boxes around their transformer and of customers around
# their box, and kVA per customer.
_PER_BOX = np.array([12, 6, 4])
_BOX_SIGMA = np.array([70.0, 150.0, 220.0])
_CUST_SIGMA = np.array([10.0, 18.0, 25.0])
_KVA_PER_CUST = np.array([4.0, 3.0, 2.5])


class Locator:
    """Which grid a point lies in; -1 outside, near a border, in the gap or the overlap."""

    #: Points stay this far (metres) inside their grid, so that the lon/lat
    #: round trip can never move one across a border.
    MARGIN_M = 2.0

    def __init__(self, grids: Grids) -> None:
        self.geom = shapely.buffer(grids.geom, -self.MARGIN_M)
        for g in self.geom:
            shapely.prepare(g)
        self.tree = shapely.STRtree(self.geom)
        zones = [z for z in (grids.gap, grids.overlap) if z is not None]
        # A margin keeps points a few metres clear of the planted strips.
        self.forbidden = shapely.union_all([z.buffer(15.0) for z in zones]) if zones else None
        if self.forbidden is not None:
            shapely.prepare(self.forbidden)

    def locate(self, xy: np.ndarray) -> np.ndarray:
        """Grid index of each point, -1 where it is not in exactly one grid."""
        n = len(xy)
        pi, gi = self.tree.query(shapely.points(xy), predicate="intersects")
        hits = np.bincount(pi, minlength=n)
        out = np.full(n, -1, dtype=np.int64)
        out[pi] = gi
        out[hits != 1] = -1
        return self._clear(xy, out)

    def check(self, xy: np.ndarray, grid: np.ndarray) -> np.ndarray:
        """True where each point lies in its expected ``grid`` (and nowhere forbidden)."""
        ok = np.zeros(len(xy), dtype=bool)
        order = np.argsort(grid, kind="stable")
        bounds = np.searchsorted(grid[order], np.arange(len(self.geom) + 1))
        for g in range(len(self.geom)):
            idx = order[bounds[g] : bounds[g + 1]]
            if len(idx):
                ok[idx] = shapely.contains_xy(self.geom[g], xy[idx, 0], xy[idx, 1])
        out = np.where(ok, grid, -1)
        return self._clear(xy, out) >= 0

    def _clear(self, xy: np.ndarray, out: np.ndarray) -> np.ndarray:
        if self.forbidden is not None:
            x0, y0, x1, y1 = self.forbidden.bounds
            near = np.flatnonzero((xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1))
            if len(near):
                bad = shapely.contains_xy(self.forbidden, xy[near, 0], xy[near, 1])
                out[near[bad]] = -1
        return out


def _offsets(rng: np.random.Generator, sigma: np.ndarray) -> np.ndarray:
    """Gaussian offsets truncated at 2.5 sigma (metres)."""
    d = rng.normal(0.0, 1.0, (len(sigma), 2))
    r = np.hypot(d[:, 0], d[:, 1])
    d *= (np.minimum(r, 2.5) / np.maximum(r, 1e-12))[:, None]
    return d * np.asarray(sigma)[:, None]


def _scatter(
    rng: np.random.Generator,
    loc: Locator,
    centre: np.ndarray,
    sigma: np.ndarray,
    grid: np.ndarray | None,
    *,
    rounds: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """Points around ``centre``; in ``grid`` if given, else in any one grid.

    Points that keep failing fall back to their centre, which the caller
    guarantees to be valid when ``grid`` is given.
    """
    xy = centre + _offsets(rng, sigma)
    todo = np.arange(len(xy))
    got = np.full(len(xy), -1, dtype=np.int64)
    for _ in range(rounds):
        if grid is None:
            got[todo] = loc.locate(xy[todo])
            bad = todo[got[todo] < 0]
        else:
            bad = todo[~loc.check(xy[todo], grid[todo])]
        if len(bad) == 0:
            break
        xy[bad] = centre[bad] + _offsets(rng, sigma[bad])
        todo = bad
    else:
        if grid is not None:
            bad = todo[~loc.check(xy[todo], grid[todo])]
            xy[bad] = centre[bad]
    if grid is None:
        return xy, got
    return xy, grid.copy()


@dataclass
class Network:
    """Positions (UTM) and links of every device, as index arrays."""

    # transformers
    tx_xy: np.ndarray
    tx_grid: np.ndarray
    tx_class: np.ndarray
    tx_private: np.ndarray
    tx_settlement: np.ndarray  # -1 for private transformers
    tx_town: np.ndarray
    tx_count: np.ndarray  # customers per transformer
    tx_kva: np.ndarray
    tx_place: list[str]
    # access points (meter boxes)
    ap_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    ap_tx: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ap_grid: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # customers (one meter each, same order)
    cu_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    cu_tx: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cu_ap: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cu_grid: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # meter links as recorded (differ from the physical ones for planted errors)
    mt_tx: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    mt_ap: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # substations and feeders
    ss_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    ss_name: list[str] = field(default_factory=list)
    ss_kv: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fd_sub: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    fd_geom: np.ndarray = field(default_factory=lambda: np.zeros(0, object))
    fd_name: list[str] = field(default_factory=list)
    tx_feeder: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    fd_first_hop: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    # switches
    sw_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    sw_from: list[tuple[str, int]] = field(default_factory=list)
    sw_to: list[tuple[str, int]] = field(default_factory=list)
    sw_tie: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    planted: dict[str, tuple[int, int]] = field(default_factory=dict)


def _kva(rng: np.random.Generator, need: np.ndarray) -> np.ndarray:
    """The smallest standard rating covering ``need`` kVA (50 … 630)."""
    i = np.searchsorted(KVA_SIZES, need)
    return KVA_SIZES[np.clip(i, 0, len(KVA_SIZES) - 1)]


def place_transformers(
    terr: Territory,
    sett: Settlements,
    grids: Grids,
    loc: Locator,
    rng: np.random.Generator,
    *,
    n_private: int,
) -> Network:
    """Public transformers around settlements, private ones in industrial spots."""
    hills = in_hills(terr, sett.xy[:, 0], sett.xy[:, 1])
    target = np.where(sett.kind == SEAT, 75.0, np.where(sett.kind == TOWN, 45.0, np.where(hills, 18.0, 28.0)))
    k = np.maximum(1, np.round(sett.households / target)).astype(np.int64)
    k = np.minimum(k, sett.households)
    tx_sett = np.repeat(np.arange(len(k)), k)
    # Households split among a settlement's transformers, at least one each.
    counts = np.ones(len(tx_sett), dtype=np.int64)
    start = np.r_[0, np.cumsum(k)[:-1]]
    for s in np.flatnonzero(k > 1):
        extra = sett.households[s] - k[s]
        counts[start[s] : start[s] + k[s]] += rng.multinomial(extra, rng.dirichlet(np.full(k[s], 3.0)))
    single = k == 1
    counts[start[single]] = sett.households[single]
    sig = np.where(sett.kind == SEAT, 450.0, np.where(sett.kind == TOWN, 300.0, np.where(hills, 120.0, 150.0)))
    xy, grid = _scatter(rng, loc, sett.xy[tx_sett], sig[tx_sett], None, rounds=30)
    # A transformer that found no valid spot joins its nearest placed neighbour.
    bad = grid < 0
    if bad.any():
        good = np.flatnonzero(~bad)
        near = good[cKDTree(xy[good]).query(xy[bad])[1]]
        xy[bad] = xy[near]
        grid[bad] = grid[near]

    # Private (专变) transformers: half in the seat's industrial park, the rest by towns.
    seat = terr.towns_xy[0]
    park = seat + np.array([-2200.0, 1600.0])
    town_w = np.array([0.0] + [t[4] for t in TOWNS[1:]])
    in_park = rng.random(n_private) < 0.5
    p_town = np.where(in_park, 0, rng.choice(len(TOWNS), size=n_private, p=town_w / town_w.sum()))
    centre = np.where(in_park[:, None], park, terr.towns_xy[p_town])
    pxy, pgrid = _scatter(rng, loc, centre, np.full(n_private, 700.0), None, rounds=40)
    fallback = pgrid < 0
    pxy[fallback] = xy[0]
    pgrid[fallback] = grid[0]

    tx_xy = np.vstack([xy, pxy])
    tx_grid = np.r_[grid, pgrid]
    private = np.r_[np.zeros(len(xy), bool), np.ones(n_private, bool)]
    tx_count = np.r_[counts, np.ones(n_private, np.int64)]
    tx_class = grids.area_class[tx_grid]
    tx_town = np.r_[sett.town[tx_sett], p_town]
    need = tx_count * _KVA_PER_CUST[tx_class] * rng.uniform(0.9, 1.7, len(tx_count))
    kva = _kva(rng, need)
    kva[private] = rng.choice(KVA_SIZES[5:], size=n_private)
    place = [sett.place[s] for s in tx_sett] + [""] * n_private
    return Network(
        tx_xy=tx_xy,
        tx_grid=tx_grid,
        tx_class=tx_class,
        tx_private=private,
        tx_settlement=np.r_[tx_sett, np.full(n_private, -1)],
        tx_town=tx_town,
        tx_count=tx_count,
        tx_kva=kva,
        tx_place=place,
    )


def plant_empty_transformer(net: Network, loc: Locator, rng: np.random.Generator, avoid: set[int]) -> int:
    """Insert a newly built rural transformer that has no customers yet (新建未接户台区).

    It goes right after the other transformers of its village, so transformers
    stay grouped by settlement. Returns its index.
    """
    pub = ~net.tx_private & (net.tx_settlement >= 0)
    cand = np.flatnonzero(pub & (net.tx_class == RURAL) & ~np.isin(net.tx_grid, list(avoid)))
    if len(cand) == 0:
        cand = np.flatnonzero(pub)
    near = int(cand[rng.integers(len(cand))])
    xy, _ = _scatter(rng, loc, net.tx_xy[[near]], np.array([150.0]), net.tx_grid[[near]])
    s = net.tx_settlement[near]
    at = int(np.flatnonzero(net.tx_settlement == s)[-1]) + 1
    net.tx_xy = np.insert(net.tx_xy, at, xy[0], axis=0)
    for name, value in (("tx_grid", net.tx_grid[near]), ("tx_class", net.tx_class[near]), ("tx_private", False),
                        ("tx_settlement", s), ("tx_town", net.tx_town[near]), ("tx_count", 0),
                        ("tx_kva", 200.0)):  # fmt: skip
        setattr(net, name, np.insert(getattr(net, name), at, value))
    net.tx_place.insert(at, net.tx_place[near])
    return at


def place_customers(net: Network, loc: Locator, rng: np.random.Generator) -> None:
    """Meter boxes around each transformer and customers around each box."""
    per = np.where(net.tx_private, 1, _PER_BOX[net.tx_class])
    n_ap = np.where(net.tx_count > 0, -(-net.tx_count // per), 0)
    ap_tx = np.repeat(np.arange(len(n_ap)), n_ap)
    sigma = np.where(net.tx_private, 15.0, _BOX_SIGMA[net.tx_class])[ap_tx]
    net.ap_xy, net.ap_grid = _scatter(rng, loc, net.tx_xy[ap_tx], sigma, net.tx_grid[ap_tx])
    net.ap_tx = ap_tx

    cu_tx = np.repeat(np.arange(len(net.tx_count)), net.tx_count)
    cstart = np.r_[0, np.cumsum(net.tx_count)[:-1]]
    astart = np.r_[0, np.cumsum(n_ap)[:-1]]
    rank = np.arange(len(cu_tx)) - cstart[cu_tx]
    cu_ap = astart[cu_tx] + (rank * n_ap[cu_tx]) // net.tx_count[cu_tx]
    sigma = np.where(net.tx_private[cu_tx], 8.0, _CUST_SIGMA[net.tx_class[cu_tx]])
    net.cu_xy, net.cu_grid = _scatter(rng, loc, net.ap_xy[cu_ap], sigma, net.ap_grid[cu_ap])
    net.cu_tx = cu_tx
    net.cu_ap = cu_ap
    net.mt_tx = cu_tx.copy()
    net.mt_ap = cu_ap.copy()


def plant_split_area(net: Network, grids: Grids, loc: Locator, rng: np.random.Generator, avoid: set[int]) -> int | None:
    """Move part of one border transformer's customers across into the neighbour grid.

    Half its meter boxes move with their customers; a transformer with a
    single box gets a second one for the customers that move. Returns the
    transformer index, or ``None`` when no transformer is near enough a border.
    """
    from gridservice.demo.geography import neighbour_pairs

    borders: dict[int, list[tuple[int, shapely.Geometry]]] = {}
    for i, j, line in neighbour_pairs(grids.geom):
        if i in avoid or j in avoid:
            continue
        borders.setdefault(i, []).append((j, line))
        borders.setdefault(j, []).append((i, line))
    cand = np.flatnonzero(~net.tx_private & (net.tx_count >= 4) & (net.tx_class != URBAN)
                          & ~np.isin(net.tx_grid, list(avoid)))  # fmt: skip
    best: list[tuple[float, int, int, shapely.Geometry]] = []
    pts = shapely.points(net.tx_xy[cand])
    for g, lines in sorted(borders.items()):
        mine = np.flatnonzero(net.tx_grid[cand] == g)
        for h, line in lines:
            d = shapely.distance(pts[mine], line)
            for k in np.flatnonzero((d >= 40.0) & (d <= 400.0)):
                best.append((float(d[k]), int(cand[mine[k]]), h, line))
    best.sort(key=lambda b: (b[0], b[1]))
    for _, t, h, line in best[:20]:
        p = shapely.points(net.tx_xy[t])
        q = shapely.get_coordinates(shapely.get_point(shapely.shortest_line(p, line), 1))[0]
        u = (q - net.tx_xy[t]) / np.linalg.norm(q - net.tx_xy[t])
        v = np.array([-u[1], u[0]])
        boxes = np.flatnonzero(net.ap_tx == t)
        cust = np.flatnonzero(net.cu_tx == t)
        for _attempt in range(8):
            n_box = max(1, len(boxes) // 2)
            d = rng.uniform(30.0, 120.0, n_box)
            s = rng.uniform(-60.0, 60.0, n_box)
            new_ap = q + d[:, None] * u + s[:, None] * v
            if len(boxes) >= 2:
                move = boxes[:n_box]
                moved = cust[np.isin(net.cu_ap[cust], move)]
                new_cu = net.cu_xy[moved] + (new_ap - net.ap_xy[move])[np.searchsorted(move, net.cu_ap[moved])]
            else:
                moved = cust[: len(cust) // 2]
                new_cu = new_ap[0] + (net.cu_xy[moved] - net.ap_xy[boxes[0]])
            if not (loc.check(new_ap, np.full(n_box, h)).all() and loc.check(new_cu, np.full(len(moved), h)).all()):
                continue
            if len(boxes) >= 2:
                net.ap_xy[move] = new_ap
                net.ap_grid[move] = h
            else:
                at = int(boxes[0]) + 1
                net.ap_xy = np.insert(net.ap_xy, at, new_ap[0], axis=0)
                net.ap_tx = np.insert(net.ap_tx, at, t)
                net.ap_grid = np.insert(net.ap_grid, at, h)
                for name in ("cu_ap", "mt_ap"):
                    a = getattr(net, name)
                    setattr(net, name, a + (a >= at))
                net.cu_ap[moved] = at
                net.mt_ap[moved] = at
            net.cu_xy[moved] = new_cu
            net.cu_grid[moved] = h
            net.planted["split"] = (t, h)
            return t
    return None


def plant_wrong_links(net: Network, grids: Grids, rng: np.random.Generator, *, n: int = 3) -> list[tuple[int, int]]:
    """Point a few meters at a transformer kilometres away (户变关系错误).

    The wrong transformer is in the customer's own grid, so the error shows
    as distance only and does not also look like a split transformer area.
    """
    ok_tx = np.flatnonzero(~net.tx_private & (net.tx_count > 0))
    first_ap = np.searchsorted(net.ap_tx, np.arange(len(net.tx_count)))
    lv = np.flatnonzero(~net.tx_private[net.cu_tx] & (grids.area_class[net.cu_grid] != URBAN)
                        & (net.tx_grid[net.cu_tx] == net.cu_grid))  # fmt: skip
    out: list[tuple[int, int]] = []
    used_grids: set[int] = set()
    for c in rng.permutation(lv)[:2000]:
        g = int(net.cu_grid[c])
        if g in used_grids:
            continue
        cand = ok_tx[net.tx_grid[ok_tx] == g]
        d = np.hypot(*(net.tx_xy[cand] - net.cu_xy[c]).T)
        far = cand[d > 3000.0]
        if len(far) == 0:
            continue
        t = int(far[rng.integers(len(far))])
        net.mt_tx[c] = t
        net.mt_ap[c] = first_ap[t]
        out.append((int(c), t))
        used_grids.add(g)
        if len(out) == n:
            break
    return sorted(out)


def build_feeders(terr: Territory, net: Network, loc: Locator, rng: np.random.Generator, *, n_sub: int) -> None:
    """Substations near the main towns and MST feeders through their transformers."""
    order = [0, 2, 4, 1, 3, 5, 6, 7, 8, 9, 10, 11][:n_sub]
    ang = rng.uniform(0, 2 * np.pi, n_sub)
    centre = terr.towns_xy[order] + 1200.0 * np.column_stack([np.cos(ang), np.sin(ang)])
    xy, grid = _scatter(rng, loc, centre, np.full(n_sub, 400.0), None, rounds=40)
    xy[grid < 0] = terr.towns_xy[np.array(order)[grid < 0]]
    net.ss_xy = xy
    kv = np.full(n_sub, 35.0)
    kv[0] = 110.0
    if n_sub >= 6:
        kv[1] = 110.0
    net.ss_kv = kv
    net.ss_name = [f"{TOWNS[t][0][:2]}{int(v)}kV变电站" for t, v in zip(order, kv, strict=True)]

    sub_of_tx = cKDTree(xy).query(net.tx_xy)[1]
    n_tx_sub = np.bincount(sub_of_tx, minlength=n_sub)
    n_feed = np.maximum(1, np.round(n_tx_sub / 27.0)).astype(int)
    tx_feeder = np.zeros(len(net.tx_xy), dtype=np.int64)
    fd_sub: list[int] = []
    geoms: list[shapely.Geometry] = []
    names: list[str] = []
    hops: list[np.ndarray] = []
    for s in range(n_sub):
        members = np.flatnonzero(sub_of_tx == s)
        if len(members) == 0:
            continue
        d = net.tx_xy[members] - xy[s]
        a = np.arctan2(d[:, 1], d[:, 0])
        members = members[np.argsort(a, kind="stable")]
        for k, chunk in enumerate(np.array_split(members, n_feed[s])):
            f = len(fd_sub)
            tx_feeder[chunk] = f
            fd_sub.append(s)
            names.append(f"10kV{TOWNS[order[s]][0][:2]}{k + 1:02d}线")
            line, first_hop = _mst_line(np.vstack([xy[s], net.tx_xy[chunk]]))
            geoms.append(line)
            hops.append(first_hop)
    net.fd_sub = np.array(fd_sub, dtype=np.int64)
    net.fd_geom = np.array(geoms, dtype=object)
    net.fd_name = names
    net.tx_feeder = tx_feeder
    net.fd_first_hop = np.array(hops).reshape(-1, 2)


def _mst_line(pts: np.ndarray) -> tuple[shapely.Geometry, np.ndarray]:
    """The minimum spanning tree of ``pts`` as merged lines, and the source's first neighbour.

    ``pts[0]`` is the source (the substation).
    """
    if len(pts) == 2:
        return shapely.linestrings(pts), pts[1]
    d = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
    d[d == 0] = 1e-3  # coincident points still need an edge
    np.fill_diagonal(d, 0.0)
    tree = minimum_spanning_tree(d).tocoo()
    segs = np.stack([pts[tree.row], pts[tree.col]], axis=1)
    merged = shapely.line_merge(shapely.multilinestrings(shapely.linestrings(segs)))
    at_source = np.flatnonzero((tree.row == 0) | (tree.col == 0))[0]
    hop = tree.col[at_source] if tree.row[at_source] == 0 else tree.row[at_source]
    return merged, pts[hop]


def build_switches(net: Network, rng: np.random.Generator) -> None:
    """A breaker at the head of every feeder and normally-open ties between neighbours."""
    n_fd = len(net.fd_geom)
    # Feeders of one substation meet at it: look for ties away from the sources.
    away = shapely.difference(net.fd_geom, shapely.buffer(shapely.points(net.ss_xy[net.fd_sub]), 500.0))
    away = np.where(shapely.is_empty(away), net.fd_geom, away)
    tree = shapely.STRtree(away)
    a, b = tree.query(away, predicate="dwithin", distance=1500.0)
    keep = a < b
    a, b = a[keep], b[keep]
    dist = shapely.distance(away[a], away[b])
    same = net.fd_sub[a] == net.fd_sub[b]
    order = np.lexsort((b, a, np.round(dist, 3), same))
    used: set[int] = set()
    ties: list[tuple[int, int]] = []
    for i in order:
        fa, fb = int(a[i]), int(b[i])
        if fa in used or fb in used:
            continue
        ties.append((fa, fb))
        used.update((fa, fb))
        if len(ties) >= max(2, n_fd // 5):
            break
    tie_xy = np.array(
        [shapely.get_coordinates(shapely.line_interpolate_point(
            shapely.shortest_line(away[fa], away[fb]), 0.5, normalized=True))[0]
         for fa, fb in ties]
    ).reshape(-1, 2)  # fmt: skip
    # The breaker sits a few metres down the feeder from the substation.
    heads = net.ss_xy[net.fd_sub]
    step = net.fd_first_hop - heads
    step = step / np.maximum(np.linalg.norm(step, axis=1), 1e-9)[:, None] * np.minimum(
        15.0, 0.5 * np.linalg.norm(step, axis=1))[:, None]  # fmt: skip
    brk_xy = heads + step
    net.sw_xy = np.vstack([brk_xy, tie_xy])
    net.sw_from = [("substation", int(s)) for s in net.fd_sub] + [("feeder", fa) for fa, _ in ties]
    net.sw_to = [("feeder", f) for f in range(n_fd)] + [("feeder", fb) for _, fb in ties]
    net.sw_tie = np.r_[np.zeros(n_fd, bool), np.ones(len(ties), bool)]


__all__ = [
    "Locator",
    "Network",
    "build_feeders",
    "build_switches",
    "place_customers",
    "place_transformers",
    "plant_empty_transformer",
    "plant_split_area",
    "plant_wrong_links",
]
