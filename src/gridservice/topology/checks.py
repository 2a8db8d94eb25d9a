"""Topology checks (营配贯通): is the one network whole, radial and plausible?

Every check returns a findings frame (:mod:`gridservice.findings`) naming
the device and, where it has one, its location (a meter, which has no point,
is shown at its access point or transformer).

===============================  ========  ==================================================
check                            severity  what
===============================  ========  ==================================================
``unknown_parent``               error     a parent key that is empty or names nothing
``duplicate_id``                 error     a device id used twice (in one layer or across)
``cycle``                        error     closed links forming a loop (a meshed network)
``island``                       error     devices with no path to any substation
``de_energised``                 warning   devices cut off from supply by an open switch
``transformer_without_customers`` warning  a transformer (台区) no customer hangs on
``meter_without_customer``       warning   a meter no customer uses
``customer_far_from_transformer`` warning  farther from its transformer than the voltage's limit
``grid_mismatch``                warning   a customer's grid differs from its transformer's (营配不一致)
===============================  ========  ==================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.findings import concat, findings
from gridservice.schema import CRS, DEVICE_LAYERS
from gridservice.topology.network import KIND, PARENT_KEYS, SUBSTATION, Network, isin, network_of

if TYPE_CHECKING:
    from gridservice.model import ServiceArea

_LABEL = {"substations": "substation", "feeders": "feeder", "transformers": "transformer",
          "access_points": "access point", "meters": "meter", "customers": "customer", "switches": "switch"}


def check_topology(area: ServiceArea, *, references: bool = True, rules: Rules = DEFAULT_RULES) -> gpd.GeoDataFrame:
    """Every topology check of the network.

    Parameters
    ----------
    area
        The service area.
    references
        Also report unknown parents and duplicate ids (``gridservice
        validate`` leaves these to :func:`~gridservice.model.check_integrity`
        and runs :func:`check_network`).
    rules
        Thresholds (``customer_distance_limit_m``); the configured ones by default.

    Returns
    -------
    geopandas.GeoDataFrame
        Findings; empty when the network is sound.
    """
    net = network_of(area)
    where = _Locations(area, net)
    parts = []
    if references:
        parts += [unknown_parents(area, where), duplicate_ids(area, where)]
    parts += [
        cycles(net, where),
        islands(area, net, where),
        transformers_without_customers(area, where),
        meters_without_customer(area, where),
        customers_far_from_transformer(area, rules=rules),
        grid_mismatches(area),
    ]
    return concat(parts)


def check_network(area: ServiceArea, *, rules: Rules = DEFAULT_RULES) -> gpd.GeoDataFrame:
    """The topology checks ``gridservice validate`` adds to :func:`~gridservice.model.check_integrity`."""
    return check_topology(area, references=False, rules=rules)


class _Locations:
    """Where to show a device on a map: its own geometry, else its parent's (meters)."""

    def __init__(self, area: ServiceArea, net: Network) -> None:
        self.area, self.net = area, net

    def of(self, layer: str, ids: pd.Index | np.ndarray) -> np.ndarray:
        ids = pd.Index(ids, dtype="str")
        df = self.area.layers[layer]
        if layer == "meters":
            return self.meters(ids)
        if not isinstance(df, gpd.GeoDataFrame) or not len(df):
            return np.full(len(ids), None, dtype=object)
        geom = df.geometry
        if not geom.index.is_unique:
            geom = geom[~geom.index.duplicated()]
        return geom.reindex(ids).to_numpy()

    def meters(self, ids: pd.Index) -> np.ndarray:
        m = self.area.meters
        m = m[~m.index.duplicated()] if not m.index.is_unique else m
        ap = m["access_point_id"].reindex(ids)
        tr = m["transformer_id"].reindex(ids)
        out = self.of("access_points", ap.fillna("").to_numpy())
        missing = pd.isna(out) | ap.isna().to_numpy()
        out[missing] = self.of("transformers", tr.fillna("").to_numpy())[missing]
        return out


def _frame(check: str, severity: str, layer: str, ids: pd.Index | np.ndarray, message: pd.Series | np.ndarray,
           geometry: np.ndarray, **extra: object) -> gpd.GeoDataFrame:
    n = len(ids)
    df = pd.DataFrame({"check": check, "severity": severity, "layer": layer,
                       "feature_id": pd.array(np.asarray(ids, dtype=object), dtype="str"),
                       "message": pd.array(np.asarray(message, dtype=object), dtype="str"), **extra},
                      index=pd.RangeIndex(n))
    df["geometry"] = gpd.GeoSeries(np.asarray(geometry, dtype=object) if n else [], crs=CRS)
    return findings(df)


def unknown_parents(area: ServiceArea, where: _Locations) -> gpd.GeoDataFrame:
    """Devices whose parent key is empty or names no device of the parent layer."""
    parts = []
    for name, keys in PARENT_KEYS.items():
        df = area.layers[name]
        if not len(df):
            continue
        cols = [(c, parent) for c, parent in keys if c in df.columns]
        known = [isin(df[c], area.layers[parent].index) for c, parent in cols]
        resolved = np.logical_or.reduce(known) if known else np.zeros(len(df), dtype=bool)
        if resolved.all():
            continue
        rows = np.flatnonzero(~resolved)
        texts = []
        for (column, parent), ok in zip(cols, known, strict=True):
            v = df[column].iloc[rows]
            given = v.notna().to_numpy()
            texts.append(np.where(given & ~ok[rows], f" {column} " + v.fillna("").map(repr).to_numpy(dtype=object)
                                  + f" is not in {parent};", ""))
        why = np.sum(texts, axis=0) if texts else np.full(len(rows), "", dtype=object)
        why = np.where(why == "", f" no {' or '.join(c for c, _ in keys)}", why)
        ids = df.index[rows]
        msg = _LABEL[name] + " " + ids.astype("str").to_numpy(dtype=object) + ":" + why.astype(object)
        parts.append(_frame("unknown_parent", "error", name, ids, pd.Series(msg).str.rstrip(";").to_numpy(),
                            where.of(name, ids)))
    return concat(parts)


def duplicate_ids(area: ServiceArea, where: _Locations) -> gpd.GeoDataFrame:
    """Ids repeated inside a network layer, or used in two of them (reported where they repeat)."""
    names = [n for n in (*DEVICE_LAYERS, "switches") if len(area.layers[n])]
    if not names:
        return findings()
    ids = pd.Index(pd.concat([area.layers[n].index.to_series().astype("str") for n in names], ignore_index=True))
    layer = np.repeat(np.arange(len(names)), [len(area.layers[n]) for n in names])
    codes, _ = pd.factorize(ids)
    _, first = np.unique(codes, return_index=True)
    first_layer = layer[first][codes]
    dup = np.ones(len(ids), dtype=bool)
    dup[first] = False
    parts = []
    for k, name in enumerate(names):
        for same, what in ((True, f" is used more than once in {name}"), (False, " is also used in another layer")):
            sel = dup & (layer == k) & ((first_layer == k) == same)
            if not sel.any():
                continue
            bad = ids[sel].unique()
            msg = _LABEL[name] + " id " + bad.map(repr).to_numpy(dtype=object) + what
            parts.append(_frame("duplicate_id", "error", name, bad, msg, where.of(name, bad)))
    return concat(parts)


def cycles(net: Network, where: _Locations) -> gpd.GeoDataFrame:
    """Each closed link that closes a loop, with the loop it closes."""
    if not len(net.loop_a):
        return findings()
    rows = []
    sw = net.area.layers["switches"]
    for a, b, s in zip(net.loop_a.tolist(), net.loop_b.tolist(), net.loop_switch.tolist(), strict=True):
        up_a, up_b = net.path_nodes(a), net.path_nodes(b)
        common = set(up_a) & set(up_b)
        left = [v for v in up_a if v not in common]
        right = [v for v in up_b if v not in common]
        top = [v for v in up_a if v in common][:1]
        ring = net.ids(np.array(left + top + right[::-1], dtype=np.int64)).tolist()
        shown = " – ".join(ring if len(ring) <= 12 else [*ring[:6], "…", *ring[-5:]])
        source = "" if top else " (it joins two substations)"
        if s >= 0:
            sid = str(sw.index[s])
            layer, fid = "switches", sid
            geom = where.of("switches", [sid])[0]
            what = f"closed switch {sid} closes a loop"
        else:
            layer, fid = str(net.layer_of(np.array([b]))[0]), net.id_of(b)
            geom = where.of(layer, [fid])[0]
            what = f"the link {net.id_of(a)} – {fid} closes a loop"
        rows.append({"check": "cycle", "severity": "error", "layer": layer, "feature_id": fid,
                     "message": f"{what}{source}: {shown}; the network must be radial (open a switch)",
                     "geometry": geom})
    return findings(rows)


def islands(area: ServiceArea, net: Network, where: _Locations) -> gpd.GeoDataFrame:
    """Pieces of the network no substation reaches (error) or that an open switch cuts off (warning)."""
    n = net.n
    if not n:
        return findings()
    fk = net.fk_parent
    child = np.flatnonzero(fk >= 0)
    sw = net.switch_links  # every switch with both ends known, open or closed
    ea = np.concatenate([fk[child], sw["a"].to_numpy(dtype=np.int64)])
    eb = np.concatenate([child, sw["b"].to_numpy(dtype=np.int64)])
    _, labels = connected_components(coo_array((np.ones(len(ea), dtype=np.int8), (ea, eb)), shape=(n, n)),
                                     directed=False)
    fed = np.zeros(labels.max() + 1, dtype=bool)
    fed[labels[net.kind == SUBSTATION]] = True
    roots = net.roots[net.kind[net.roots] != SUBSTATION]
    sizes = net.size[roots].astype(np.int64) - 1
    parts = []
    for severity, check, pick in (("error", "island", ~fed[labels[roots]]), ("warning", "de_energised",
                                                                              fed[labels[roots]])):
        r = roots[pick]
        if not len(r):
            continue
        ids = net.ids(r)
        layers = net.layer_of(r)
        why = _island_reasons(area, net, r) if check == "island" else _cut_reasons(area, net, r)
        below = pd.Series(sizes[pick]).map(lambda k: f" and {k} device(s) below it" if k else "").to_numpy()
        label = pd.Series(layers).map(_LABEL).to_numpy()
        verb = " have no path to any substation" if check == "island" else " are not supplied"
        msg = label + " " + ids.to_numpy(dtype=object) + below + verb + ": " + why
        geoms = np.empty(len(r), dtype=object)
        for layer in np.unique(layers):
            sel = layers == layer
            geoms[sel] = where.of(str(layer), ids[sel])
        for layer in np.unique(layers):
            sel = layers == layer
            parts.append(_frame(check, severity, str(layer), ids[sel], msg[sel], geoms[sel],
                                devices=sizes[pick][sel] + 1))
    return concat(parts)


def _island_reasons(area: ServiceArea, net: Network, roots: np.ndarray) -> np.ndarray:
    """Why an island's topmost device hangs on nothing: its parent key."""
    out = np.full(len(roots), "it has no parent link", dtype=object)
    for name, keys in PARENT_KEYS.items():
        code = KIND[name]
        sel = np.flatnonzero(net.kind[roots] == code)
        if not len(sel):
            continue
        rows = roots[sel] - net.offsets[code]
        df = area.layers[name]
        texts = []
        for column, parent in keys:
            if column not in df.columns:
                continue
            v = df[column].astype("str").iloc[rows]
            texts.append(np.where(v.isna(), f"{column} is empty", f"{column} " + v.fillna("").map(repr)
                                  + f" is not in {parent}"))
        if texts:
            out[sel] = texts[0] if len(texts) == 1 else np.char.add(np.char.add(
                np.asarray(texts[0], dtype=str), " and "), np.asarray(texts[1], dtype=str))
    if "substations" in area.layers and not len(area.substations):
        out[:] = "the service area has no substations"
    return out


def _cut_reasons(area: ServiceArea, net: Network, roots: np.ndarray) -> np.ndarray:
    """Which open switch cuts a dead section off."""
    sw_ids = area.layers["switches"].index
    s = net.link_switch[roots]
    out = np.full(len(roots), "the links feeding it are open", dtype=object)
    has = s >= 0
    out[has] = ("switch " + pd.Index(sw_ids[s[has]]).astype("str") + " is open").to_numpy(dtype=object)
    return out


def _customer_transformer(area: ServiceArea) -> pd.Series:
    """Each customer's transformer by foreign keys (meter → access point → transformer, or meter → transformer)."""
    m = area.meters
    m = m[~m.index.duplicated()] if not m.index.is_unique else m
    ap = area.access_points
    ap = ap[~ap.index.duplicated()] if not ap.index.is_unique else ap
    via_ap = m["access_point_id"].map(ap["transformer_id"])
    tr = via_ap.where(via_ap.notna(), m["transformer_id"])
    return area.customers["meter_id"].map(tr).astype("str").rename("transformer_id")


def transformers_without_customers(area: ServiceArea, where: _Locations) -> gpd.GeoDataFrame:
    """Transformers (台区) no customer is linked to."""
    tr = area.transformers
    if not len(tr):
        return findings()
    has = isin(tr.index, _customer_transformer(area).dropna())
    ids = tr.index[~has]
    msg = "transformer " + ids.astype("str").to_series().to_numpy() + ": no customer is linked to it"
    return _frame("transformer_without_customers", "warning", "transformers", ids, msg,
                  where.of("transformers", ids))


def meters_without_customer(area: ServiceArea, where: _Locations) -> gpd.GeoDataFrame:
    """Meters no customer uses."""
    m = area.meters
    if not len(m):
        return findings()
    ids = m.index[~isin(m.index, area.customers["meter_id"].dropna())]
    msg = "meter " + ids.astype("str").to_series().to_numpy() + ": no customer uses it"
    return _frame("meter_without_customer", "warning", "meters", ids, msg, where.of("meters", ids))


def customers_far_from_transformer(area: ServiceArea, *, rules: Rules = DEFAULT_RULES) -> gpd.GeoDataFrame:
    """Customers farther from their transformer than the limit for their voltage (a wrong link, 户变关系错误)."""
    c, tr = area.customers, area.transformers
    if not len(c) or not len(tr) or not isinstance(c, gpd.GeoDataFrame):
        return findings()
    t_id = _customer_transformer(area)
    tgeo = tr.geometry[~tr.index.duplicated()] if not tr.index.is_unique else tr.geometry
    t_geom = tgeo.reindex(t_id.fillna("").to_numpy()).to_numpy()
    c_geom = c.geometry.to_numpy()
    ok = ~(shapely.is_missing(c_geom) | shapely.is_missing(t_geom) | shapely.is_empty(c_geom)
           | shapely.is_empty(t_geom))
    if not ok.any():
        return findings()
    at = np.flatnonzero(ok)
    a = gpd.GeoSeries(c_geom[at], crs=CRS).to_crs(area.metric_crs).to_numpy()
    b = gpd.GeoSeries(t_geom[at], crs=CRS).to_crs(area.metric_crs).to_numpy()
    dist = shapely.distance(a, b)
    limits = rules.customer_distance_limit_m
    default = limits.get("low", max(limits.values()) if limits else 1000.0)
    voltage = c["voltage"].astype("str").iloc[at]
    limit = voltage.map(limits).astype("float64").fillna(default).to_numpy()
    far = dist > limit
    if not far.any():
        return findings()
    rows = at[far]
    ids = c.index[rows].astype("str")
    tids = t_id.iloc[rows].to_numpy(dtype=object)
    msg = ("customer " + ids.to_series().to_numpy() + " is " + pd.Series(dist[far] / 1000).map("{:.1f}".format)
           .to_numpy() + " km from its transformer " + tids + " (limit for " + voltage.iloc[far].to_numpy()
           + " voltage " + pd.Series(limit[far] / 1000).map("{:g}".format).to_numpy()
           + " km): check the customer–transformer link (户变关系)")
    return _frame("customer_far_from_transformer", "warning", "customers", ids, msg, c_geom[rows],
                  transformer_id=pd.array(tids, dtype="str"), distance_m=np.round(dist[far], 1))


def grid_mismatches(area: ServiceArea) -> gpd.GeoDataFrame:
    """Customers whose grid differs from their transformer's grid (营配不一致).

    Uses the derived ``grid_id`` of customers and transformers; when either
    is not derived (all empty) there is nothing to compare and nothing is
    reported.
    """
    c, tr = area.customers, area.transformers
    if not len(c) or not len(tr) or "grid_id" not in c.columns or "grid_id" not in tr.columns:
        return findings()
    tg = tr["grid_id"][~tr.index.duplicated()] if not tr.index.is_unique else tr["grid_id"]
    if c["grid_id"].isna().all() or tg.isna().all():
        return findings()
    t_id = _customer_transformer(area)
    t_grid = t_id.map(tg).astype("str")
    c_grid = c["grid_id"].astype("str")
    bad = (c_grid.notna() & t_grid.notna() & (c_grid != t_grid)).to_numpy()
    if not bad.any():
        return findings()
    ids = c.index[bad].astype("str")
    msg = ("customer " + ids.to_series().to_numpy() + " is in grid " + c_grid[bad].to_numpy(dtype=object)
           + " but its transformer " + t_id[bad].to_numpy(dtype=object) + " is in grid "
           + t_grid[bad].to_numpy(dtype=object) + " (营配不一致)")
    geom = c.geometry.to_numpy()[bad] if isinstance(c, gpd.GeoDataFrame) else np.full(int(bad.sum()), None)
    return _frame("grid_mismatch", "warning", "customers", ids, msg, geom,
                  transformer_id=pd.array(t_id[bad].to_numpy(dtype=object), dtype="str"))


__all__ = [
    "check_network",
    "check_topology",
    "customers_far_from_transformer",
    "cycles",
    "duplicate_ids",
    "grid_mismatches",
    "islands",
    "meters_without_customer",
    "transformers_without_customers",
    "unknown_parents",
]
