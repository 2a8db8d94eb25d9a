"""The generated world as the declared layers (``schema.LAYERS``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from gridservice import schema
from gridservice.demo import _text, events, frames
from gridservice.demo.applications import CHANNELS as APPLICATION_CHANNELS
from gridservice.demo.applications import Applications
from gridservice.demo.customers import Customers
from gridservice.demo.geography import NANFENG, TOWNS
from gridservice.demo.network import Network
from gridservice.demo.world import Ids, World

SERVICE_AREA_ID = NANFENG.slug
#: When the demo's grid plan was "committed": this long before its year begins.
PLAN_LEAD = np.timedelta64(62, "h")


def assemble(world: World) -> tuple[dict[str, pd.DataFrame], Ids]:
    """Every declared layer as a frame, and the ids the manifest needs."""
    terr, grids, net, cust, staff = world.terr, world.grids, world.net, world.cust, world.staff
    outages, wo, readings, visits = world.outages, world.work_orders, world.readings, world.visits
    station_towns, seed, n_customers = world.station_towns, world.seed, world.customers
    created_at = world.year.t0 - PLAN_LEAD
    to_ll = terr.lonlat_of

    def points(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_ll(xy[:, 0], xy[:, 1])
        return shapely.points(np.column_stack([lon, lat]))

    n_tx, n_ap, n_cu, n_fd = len(net.tx_xy), len(net.ap_xy), len(net.cu_xy), len(net.fd_geom)
    station_codes = ["CQ" if t == 0 else TOWNS[t][1] for t in station_towns]
    county = terr.county
    station_ids = [f"{county.prefix}-{c}" for c in station_codes]
    grid_ids = pa.array(grids.code, type=pa.string())
    ss_ids = frames.serial_ids("SS", len(net.ss_xy), 2)
    fd_ids = frames.serial_ids("FD", n_fd, 3)
    tx_ids = frames.serial_ids("TX", n_tx, 5)
    ap_ids = frames.serial_ids("AP", n_ap, 6)
    mt_ids = frames.serial_ids("MT", n_cu, 7)
    cu_ids = _text.num(3_600_000_001 + np.arange(n_cu))
    n_staff = len(staff.role)
    sf_ids = frames.serial_ids("SF", n_staff, 4)
    out: dict[str, pd.DataFrame] = {}

    out["service_area"] = frames.frame(
        "service_area",
        {"service_area_id": [county.slug], "name": [f"{county.name}供电服务区域"], "timezone": [schema.TIMEZONE]},
        geometry=np.array([terr.lonlat], dtype=object),
        extras={
            "county": ("str", [county.name]),
            "adcode": ("str", [county.adcode]),
            # The demo's "now": events stop here; judge SLAs as of this time.
            "as_of": ("datetime", frames.local_times(np.array([world.year.now]))),
        },
    )
    out["stations"] = frames.frame(
        "stations",
        {"station_id": station_ids, "code": station_codes, "name": frames.station_names(station_towns),
         "territory": None},
        geometry=points(terr.towns_xy[station_towns]),
        extras={"town": ("str", [TOWNS[t][0] for t in station_towns])},
    )
    out.update(frames.grid_frames(terr, grids, station_ids, grid_ids, created_at))

    st_station = np.array(staff.station)
    out["staff"] = frames.frame(
        "staff",
        {"staff_id": sf_ids, "name": staff.name, "role": staff.role,
         "station_id": pd.Series([station_ids[s] if s >= 0 else None for s in st_station], dtype="str"),
         "phone": staff.phone},
        geometry=points(np.array(staff.xy)),
    )  # fmt: skip
    out["grid_staff"] = frames.frame(
        "grid_staff",
        {"grid_id": _text.take(grid_ids, np.array(staff.gs_grid)),
         "staff_id": _text.take(sf_ids, np.array(staff.gs_staff)), "role": staff.gs_role},
    )  # fmt: skip
    out["substations"] = frames.frame(
        "substations",
        {"substation_id": ss_ids, "name": net.ss_name, "voltage_kv": net.ss_kv},
        geometry=points(net.ss_xy),
    )
    out["feeders"] = frames.frame(
        "feeders",
        {"feeder_id": fd_ids, "name": net.fd_name, "substation_id": _text.take(ss_ids, net.fd_sub),
         "voltage_kv": np.full(n_fd, 10.0), "length_km": shapely.length(net.fd_geom) / 1000.0},
        geometry=terr.geoms_to_lonlat(net.fd_geom),
    )  # fmt: skip
    out["switches"] = _switches(net, ss_ids, fd_ids, points)

    tx_name = _transformer_names(net, cust, n_cu)
    am = staff.tx_area_manager
    out["transformers"] = frames.frame(
        "transformers",
        {"transformer_id": tx_ids, "name": tx_name, "feeder_id": _text.take(fd_ids, net.tx_feeder),
         "rated_kva": net.tx_kva, "kind": np.where(net.tx_private, "private", "public"),
         "grid_id": _text.take(grid_ids, net.tx_grid)},
        geometry=points(net.tx_xy),
        extras={"area_manager_id": ("str", _text.where(am >= 0, _text.take(sf_ids, np.maximum(am, 0)),
                                                       pa.nulls(n_tx, pa.string())))},
    )  # fmt: skip
    out["access_points"] = frames.frame(
        "access_points",
        {"access_point_id": ap_ids, "transformer_id": _text.take(tx_ids, net.ap_tx),
         "grid_id": _text.take(grid_ids, net.ap_grid)},
        geometry=points(net.ap_xy),
    )  # fmt: skip
    out["meters"] = frames.frame(
        "meters",
        {"meter_id": mt_ids, "access_point_id": _text.take(ap_ids, net.mt_ap),
         "transformer_id": _text.take(tx_ids, net.mt_tx)},
    )  # fmt: skip
    cats = np.array(schema.CUSTOMER_CATEGORIES)
    out["customers"] = frames.frame(
        "customers",
        {"customer_id": cu_ids, "name": cust.name, "address": cust.address, "phone": cust.phone,
         "category": _text.take(list(cats), cust.category),
         "voltage": _text.take(["low", "high"], cust.high_voltage.astype(np.int64)),
         "meter_id": mt_ids, "key_customer": cust.key, "connected_at": frames.local_times(cust.connected),
         "grid_id": _text.take(grid_ids, net.cu_grid)},
        geometry=points(net.cu_xy),
    )  # fmt: skip

    wo_ids = frames.serial_ids("WO", len(wo.kind), 6)
    out["work_orders"] = _work_orders(wo, wo_ids, cu_ids, sf_ids, grid_ids, points)

    out["outages"] = _outages(outages, fd_ids, tx_ids)
    app_ids = frames.serial_ids("YK", len(world.applications.kva), 5)
    out["applications"] = _applications(world.applications, app_ids, cu_ids, sf_ids, grid_ids, points)

    out["energy_readings"] = readings_frame(readings, world.year.periods, tx_ids, mt_ids)
    n_vi = len(visits.at)
    out["visits"] = frames.frame(
        "visits",
        {"visit_id": frames.serial_ids("VI", n_vi, 5), "staff_id": _text.take(sf_ids, visits.staff),
         "customer_id": _text.take(cu_ids, visits.customer), "at": frames.local_times(visits.at),
         "kind": _text.take(schema.VISIT_KINDS, visits.kind)},
    )  # fmt: skip
    out["audit_log"] = frames.frame(
        "audit_log",
        {"log_id": ["1"], "at": frames.local_times(np.array([created_at])), "user": ["demo"],
         "action": ["demo generated"], "layer": pd.Series([None], dtype="str"),
         "feature_id": pd.Series([None], dtype="str"),
         "detail": [f"{county.name}演示数据: customers={n_customers}, seed={seed}"]},
    )  # fmt: skip
    out["users"] = frames.empty("users")
    out["meter_checks"] = frames.empty("meter_checks")
    out["shifts"] = frames.empty("shifts")  # the rosters are made from the frames (demo/roster.py)
    out["warnings"] = frames.empty("warnings")
    result = {name: out[name] for name in schema.LAYERS}
    return result, Ids(grid=grid_ids, tx=tx_ids, cu=cu_ids, mt=mt_ids, wo=wo_ids, app=app_ids)


def readings_frame(
    readings: events.Readings, months: tuple[str, ...], tx_ids: pa.Array, mt_ids: pa.Array
) -> pd.DataFrame:
    """Monthly supply per transformer, then sales per meter; ``<device>@<period>`` ids."""
    n_p = len(months)
    tx_rows = np.flatnonzero(readings.supply_ok)
    n_m = len(mt_ids)
    periods = pa.array(months, type=pa.string())
    tx_dev = tx_ids.take(pa.array(np.repeat(tx_rows, n_p)))
    mt_dev = mt_ids.take(pa.array(np.repeat(np.arange(n_m), n_p)))
    device = pa.chunked_array([tx_dev, mt_dev]).combine_chunks()
    per_idx = np.tile(np.arange(n_p, dtype=np.int32), len(tx_rows) + n_m)
    period = pa.DictionaryArray.from_arrays(pa.array(per_idx), periods).cast(pa.string())
    rid = _text.join(device, "@", period)
    kwh = np.concatenate([readings.supply[tx_rows].ravel(), readings.sales.ravel()])
    return frames.frame(
        "energy_readings",
        {"reading_id": rid, "device_id": device, "period": period, "kwh": kwh},
    )


def _switches(net: Network, ss_ids: pa.Array, fd_ids: pa.Array,
              points: Callable[[np.ndarray], np.ndarray]) -> pd.DataFrame:
    """Feeder breakers (named after their feeder) and tie switches (after the two feeders they join)."""
    layer_ids = {"substation": ss_ids, "feeder": fd_ids}
    sw_from = [layer_ids[k][i].as_py() for k, i in net.sw_from]
    sw_to = [layer_ids[k][i].as_py() for k, i in net.sw_to]
    fd_names = net.fd_name
    sw_name = [f"{fd_names[t[1]]}出线开关" for t, tie in zip(net.sw_to, net.sw_tie, strict=True) if not tie]
    sw_name += [f"{fd_names[a[1]]}-{fd_names[b[1]]}联络开关"
                for a, b, tie in zip(net.sw_from, net.sw_to, net.sw_tie, strict=True) if tie]  # fmt: skip
    return frames.frame(
        "switches",
        {"switch_id": frames.serial_ids("SW", len(net.sw_xy), 3), "from_device_id": sw_from,
         "to_device_id": sw_to, "normally_open": net.sw_tie, "is_open": net.sw_tie.copy()},
        geometry=points(net.sw_xy),
        extras={"name": ("str", sw_name), "kind": ("str", np.where(net.sw_tie, "tie", "breaker"))},
    )  # fmt: skip


def _transformer_names(net: Network, cust: Customers, n_cu: int) -> pa.Array:
    """<place><k>号公变 for a public transformer, <firm>专变 (its first customer's name) for a private one."""
    sett_of = net.tx_settlement
    first = np.searchsorted(sett_of[~net.tx_private], sett_of[~net.tx_private])
    k_pub = np.arange((~net.tx_private).sum()) - first + 1
    cstart = np.r_[0, np.cumsum(net.tx_count)[:-1]]
    pub_name = _text.join(
        _text.as_arrow(net.tx_place), _text.num(np.r_[k_pub, np.ones(net.tx_private.sum(), int)]), "号公变"
    )
    priv_name = _text.join(cust.name.take(pa.array(np.minimum(cstart, max(n_cu - 1, 0)))), "专变")
    return _text.where(net.tx_private, priv_name, pub_name)


def _work_orders(wo: events.WorkOrders, wo_ids: pa.Array, cu_ids: pa.Array, sf_ids: pa.Array, grid_ids: pa.Array,
                 points: Callable[[np.ndarray], np.ndarray]) -> pd.DataFrame:
    """The work orders, each description drawn from its kind's list (a repeat complaint says so)."""
    n_wo = len(wo.kind)
    desc_flat = [d for ds in events.DESCRIPTIONS for d in ds]
    desc_off = np.cumsum([0] + [len(d) for d in events.DESCRIPTIONS])[:-1]
    desc = _text.take(desc_flat, desc_off[wo.kind] + wo.description)
    desc = _text.where(wo.repeat_note, _text.join("客户再次投诉：", desc), desc)
    has_c = wo.customer >= 0
    stages = ("received_at", "dispatched_at", "arrived_at", "resolved_at", "replied_at", "closed_at")
    return frames.frame(
        "work_orders",
        {"work_order_id": wo_ids, "kind": _text.take(events.KINDS, wo.kind),
         "channel": _text.take(events.CHANNELS, wo.channel), "description": desc,
         "customer_id": _text.where(has_c, _text.take(cu_ids, np.maximum(wo.customer, 0)), pa.nulls(n_wo, pa.string())),
         "status": _text.take(schema.WORK_ORDER_STATUSES, wo.status),
         "assignee_id": _text.take(sf_ids, wo.assignee),
         **{s: frames.local_times(wo.times[:, j]) for j, s in enumerate(stages)},
         "grid_id": _text.take(grid_ids, wo.grid)},
        geometry=points(wo.xy),
    )  # fmt: skip


def _outages(outages: events.Outages, fd_ids: pa.Array, tx_ids: pa.Array) -> pd.DataFrame:
    """The outages on feeders and transformers, causes from the planned or the unplanned list."""
    n_ot = len(outages.device)
    dev_ids = _text.where(outages.is_feeder, _text.take(fd_ids, np.where(outages.is_feeder, outages.device, 0)),
                          _text.take(tx_ids, np.where(outages.is_feeder, 0, outages.device)))  # fmt: skip
    causes = list(events.PLANNED_CAUSES) + list(events.UNPLANNED_CAUSES)
    cause = _text.take(causes, np.where(outages.planned, 0, len(events.PLANNED_CAUSES)) + outages.cause)
    return frames.frame(
        "outages",
        {"outage_id": frames.serial_ids("OT", n_ot, 5), "device_id": dev_ids,
         "kind": np.where(outages.planned, "planned", "unplanned"),
         "start_at": frames.local_times(outages.start), "end_at": frames.local_times(outages.end),
         "cause": cause, "customers_affected": outages.affected.astype(np.int64)},
        extras={"device_layer": ("str", np.where(outages.is_feeder, "feeders", "transformers"))},
    )  # fmt: skip


def _applications(apps: Applications, app_ids: pa.Array, cu_ids: pa.Array, sf_ids: pa.Array, grid_ids: pa.Array,
                  points: Callable[[np.ndarray], np.ndarray]) -> pd.DataFrame:
    """The 业扩 applications; a step not yet done has neither a time nor a handler."""
    n = len(apps.kva)
    has_c = apps.customer >= 0
    columns: dict[str, frames.Column] = {}
    for j, step in enumerate(("accepted", "plan_replied", "connected")):
        done = ~np.isnat(apps.times[:, j]) & (apps.handlers[:, j] >= 0)
        columns[f"{step}_at"] = frames.local_times(apps.times[:, j])
        columns[f"{step}_by"] = _text.where(done, _text.take(sf_ids, np.maximum(apps.handlers[:, j], 0)),
                                            pa.nulls(n, pa.string()))
    return frames.frame(
        "applications",
        {"application_id": app_ids,
         "customer_id": _text.where(has_c, _text.take(cu_ids, np.maximum(apps.customer, 0)), pa.nulls(n, pa.string())),
         "kind": np.where(apps.new, "new", "increase"), "voltage": np.where(apps.high, "high", "low"),
         "category": _text.take(schema.APPLICATION_CATEGORIES, apps.category), "capacity_kva": apps.kva,
         "dual_supply": apps.dual, "channel": _text.take(APPLICATION_CHANNELS, apps.channel),
         "status": _text.take(schema.APPLICATION_STATUSES, apps.status), **columns,
         "grid_id": _text.take(grid_ids, apps.grid)},
        geometry=points(apps.xy),
    )  # fmt: skip
