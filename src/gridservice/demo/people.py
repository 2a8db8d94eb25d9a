"""The demo's staff: grid managers and members, 台区经理, repair crews, county staff."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import shapely

from gridservice.demo import _text
from gridservice.demo.geography import Grids, Territory
from gridservice.demo.network import Network

#: Households one grid member is expected to serve (SPEC §4).
HOUSEHOLDS_PER_MEMBER = 1000
#: Public transformers one area manager (台区经理) looks after.
TX_PER_AREA_MANAGER = 30


@dataclass
class Staff:
    """Staff rows and the grid ↔ staff links, as index arrays."""

    role: list[str] = field(default_factory=list)
    station: list[int] = field(default_factory=list)  # -1: county level
    xy: list[np.ndarray] = field(default_factory=list)
    gs_grid: list[int] = field(default_factory=list)
    gs_staff: list[int] = field(default_factory=list)
    gs_role: list[str] = field(default_factory=list)
    grid_manager: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    member_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    member_count: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    members: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    repair_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    repair_count: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    tx_area_manager: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    planted: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    name: pa.Array | None = None
    phone: pa.Array | None = None

    def add(self, role: str, station: int, xy: np.ndarray, grid: int | None = None) -> int:
        """Append one person; link them to ``grid`` with their role."""
        self.role.append(role)
        self.station.append(station)
        self.xy.append(np.asarray(xy, dtype=float))
        i = len(self.role) - 1
        if grid is not None:
            self.gs_grid.append(grid)
            self.gs_staff.append(i)
            self.gs_role.append(role)
        return i


def make_staff(
    terr: Territory,
    grids: Grids,
    net: Network,
    station_xy: np.ndarray,
    rng: np.random.Generator,
    *,
    avoid: set[int],
) -> Staff:
    """Staff for every station and grid, with one understaffed and one managerless grid.

    The understaffed grid is the one with most households, given a single
    member, and is only planted when that makes the load at least 1.5 times
    the norm; grids otherwise get ``ceil(households / 1000)`` members.
    """
    n_grid = len(grids.geom)
    hh = np.bincount(net.cu_grid, minlength=n_grid)
    members = np.maximum(1, -(-hh // HOUSEHOLDS_PER_MEMBER))
    st = Staff()
    order = np.argsort(-hh, kind="stable")
    under = next((int(g) for g in order if g not in avoid), None)
    if under is not None and hh[under] >= 1.5 * HOUSEHOLDS_PER_MEMBER:
        members[under] = 1
        st.planted["understaffed"] = (under, int(hh[under]), 1)
    rural = [g for g in range(n_grid) if grids.area_class[g] != 0 and g not in avoid and g != under]
    no_mgr = rural[int(rng.integers(len(rural)))] if rural else None
    if no_mgr is not None:
        st.planted["no_manager"] = (no_mgr, int(hh[no_mgr]), 0)

    n_station = len(station_xy)
    cust_station = np.bincount(grids.station[net.cu_grid], minlength=n_station)
    repair_start = np.zeros(n_station, np.int64)
    repair_count = np.zeros(n_station, np.int64)
    for s in range(n_station):
        st.add("supervisor", s, station_xy[s])
        n_rep = max(3, int(np.ceil(cust_station[s] / 2500)))
        repair_start[s] = len(st.role)
        repair_count[s] = n_rep
        for _ in range(n_rep):
            st.add("repair", s, station_xy[s])

    rep = shapely.get_coordinates(shapely.point_on_surface(grids.geom))
    grid_manager = np.full(n_grid, -1, np.int64)
    m_start = np.zeros(n_grid, np.int64)
    tx_am = np.full(len(net.tx_xy), -1, np.int64)
    cu_order = np.argsort(net.cu_grid, kind="stable")
    cu_bounds = np.searchsorted(net.cu_grid[cu_order], np.arange(n_grid + 1))
    member_list: list[int] = []
    for g in range(n_grid):
        s = int(grids.station[g])
        if g != no_mgr:
            grid_manager[g] = st.add("grid_manager", s, rep[g], g)
        # Members live among the customers they serve.
        cu = cu_order[cu_bounds[g] : cu_bounds[g + 1]]
        m_start[g] = len(member_list)
        homes = cu[rng.integers(0, len(cu), members[g])] if len(cu) else np.zeros(members[g], int)
        for h in homes:
            xy = net.cu_xy[h] if len(cu) else rep[g]
            member_list.append(st.add("grid_member", s, xy, g))
        # 台区经理: public transformers of the grid in sweeps around its centre.
        txs = np.flatnonzero((net.tx_grid == g) & ~net.tx_private)
        if len(txs):
            d = net.tx_xy[txs] - rep[g]
            txs = txs[np.argsort(np.arctan2(d[:, 1], d[:, 0]), kind="stable")]
            for chunk in np.array_split(txs, int(np.ceil(len(txs) / TX_PER_AREA_MANAGER))):
                tx_am[chunk] = st.add("area_manager", s, net.tx_xy[chunk[0]], g)

    # A station's repair crew answers for every grid of the station.
    for g in range(n_grid):
        s = int(grids.station[g])
        for r in range(repair_start[s], repair_start[s] + repair_count[s]):
            st.gs_grid.append(g)
            st.gs_staff.append(int(r))
            st.gs_role.append("repair")

    seat = terr.towns_xy[0]
    for _ in range(max(3, int(np.ceil(len(net.cu_xy) / 20_000)))):
        st.add("dispatcher", -1, seat)
    st.add("supervisor", -1, seat)
    for _ in range(2):
        st.add("planner", -1, seat)

    st.name = _text.person_names(rng, len(st.role))
    st.phone = _text.mobile_numbers(rng, len(st.role))
    st.grid_manager = grid_manager
    st.member_start = m_start
    st.member_count = members.astype(np.int64)
    st.members = np.array(member_list, dtype=np.int64)
    st.repair_start = repair_start
    st.repair_count = repair_count
    st.tx_area_manager = tx_am
    return st
