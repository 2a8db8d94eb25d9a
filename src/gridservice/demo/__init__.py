"""A deterministic demo service area: Nanfeng county (南丰县), Jiangxi.

:func:`build_demo` generates every layer of :data:`gridservice.schema.LAYERS`
for the real county boundary: supply stations, grids tiling the territory,
staff, substations, branching feeders, transformers, meter boxes, meters,
customers and a year (the twelve months ending at ``as_of``) of outages, work orders, monthly
energy readings, visits and 业扩 applications. A handful of realistic problems are planted and
listed in the extra ``demo_manifest`` frame, so that validation, audit and
line-loss features have something to find.

The same ``seed`` and size always give identical frames. Everything that
scales with customers is vectorised; a million customers take well under a
minute.

Examples
--------
>>> from gridservice.demo import build_demo
>>> layers = build_demo(customers=2_000, seed=1)
>>> sorted(layers)[:3]
['access_points', 'audit_log', 'customers']
>>> len(layers["customers"])
2000
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from gridservice import clock
from gridservice.demo import events
from gridservice.demo.applications import make_applications
from gridservice.demo.customers import make_customers
from gridservice.demo.geography import (
    NANFENG,
    County,
    load_territory,
    make_grids,
    make_settlements,
    plant_gap_and_overlap,
    province_counties,
    renode,
)
from gridservice.demo.layers import SERVICE_AREA_ID, assemble
from gridservice.demo.manifest import MANIFEST_COLUMNS, manifest
from gridservice.demo.network import (
    Locator,
    build_feeders,
    build_switches,
    place_customers,
    place_transformers,
    plant_empty_transformer,
    plant_split_area,
    plant_wrong_links,
)
from gridservice.demo.people import make_staff
from gridservice.demo.roster import demo_shifts
from gridservice.demo.warnings import seed_warnings
from gridservice.demo.world import World

__all__ = ["MANIFEST_COLUMNS", "MIN_CUSTOMERS", "NANFENG", "SERVICE_AREA_ID", "County", "build_demo",
           "province_counties"]

MIN_CUSTOMERS = 100
#: Towns (indexes into ``TOWNS``) that get a supply station, in order: the
#: seat's 城区供电所 first, then west, east, north and south.
STATION_TOWNS = [0, 2, 3, 1, 4, 5, 6, 7, 8, 9, 10, 11]

Progress = Callable[[str, float], None]


def _local_seconds(value: object) -> np.datetime64:
    """``value`` as a naive local (Asia/Shanghai) ``datetime64[s]``."""
    return np.datetime64(clock.timestamp(value, what="as_of").tz_localize(None).floor("s"), "s")


def _sizes(customers: int) -> dict[str, int]:
    """How many of each thing a territory of ``customers`` customers gets."""
    s = customers / 30_000
    n_grids = int(np.clip(round(40 * s**0.25), 16, 150))
    return {
        "grids": n_grids,
        "stations": int(np.clip(round(n_grids / 10), 3, 12)),
        "substations": int(np.clip(round(3 * s**0.4), 3, 12)),
        "private": int(min(max(3, round(customers * 0.0012)), customers // 20)),
    }


def build_demo(
    *, customers: int = 30_000, seed: int = 0, as_of: object | None = None, progress: Progress | None = None,
    county: County = NANFENG,
) -> dict[str, pd.DataFrame]:
    """Generate the Nanfeng demo service area (or another county's, laid out like Nanfeng).

    Parameters
    ----------
    customers
        Number of customers (one meter each), at least ``MIN_CUSTOMERS`` (100).
    seed
        Seed of the single ``numpy.random.default_rng`` behind every draw.
    as_of
        The demo's present (stored as ``service_area.as_of``): its events stop
        there and its twelve months end with that month. Default: now (the
        clock, to the minute). A naive time is read in Asia/Shanghai.
    progress
        Called as ``progress(step_name, fraction_done)`` along the way.
    county
        The county whose real boundary the territory takes (see
        :func:`~gridservice.demo.geography.province_counties`); its towns and
        hills are Nanfeng's, moved and stretched onto it.

    Returns
    -------
    dict of str to DataFrame
        One frame per layer of :data:`gridservice.schema.LAYERS` (GeoDataFrames
        in EPSG:4326 for layers with geometry; keys are ordinary columns) and
        ``demo_manifest`` with columns ``problem``, ``layer``, ``feature_id``
        and ``detail`` listing every planted problem.

    Raises
    ------
    ValueError
        If ``customers`` is below ``MIN_CUSTOMERS``.
    DataError
        If ``as_of`` is not a time.
    """
    if customers < MIN_CUSTOMERS:
        msg = f"customers must be at least {MIN_CUSTOMERS}, got {customers}"
        raise ValueError(msg)

    def step(name: str, done: float) -> None:
        if progress is not None:
            progress(name, done)

    year = events.Year.ending(_local_seconds(clock.now().floor("min") if as_of is None else as_of))
    rng = np.random.default_rng(seed)
    size = _sizes(customers)
    step("territory", 0.0)
    terr = load_territory(county)
    station_towns = STATION_TOWNS[: size["stations"]]
    step("settlements", 0.04)
    sett = make_settlements(terr, rng, customers - size["private"])
    step("grids", 0.08)
    grids = make_grids(terr, sett, rng, n_grids=size["grids"], station_towns=station_towns)
    plant_gap_and_overlap(terr, grids)
    renode(terr, grids)
    planted_grids = {g for pair in grids.planted.values() for g in pair}
    loc = Locator(grids)

    step("transformers", 0.14)
    net = place_transformers(terr, sett, grids, loc, rng, n_private=size["private"])
    empty_tx = plant_empty_transformer(net, loc, rng, planted_grids)
    step("customers", 0.22)
    place_customers(net, loc, rng)
    split = plant_split_area(net, grids, loc, rng, planted_grids)
    step("feeders", 0.34)
    build_feeders(terr, net, loc, rng, n_sub=size["substations"])
    build_switches(net, rng)
    step("customer records", 0.40)
    cust = make_customers(sett, net, rng, t0=year.t0)
    wrong = plant_wrong_links(net, grids, rng)
    step("staff", 0.48)
    station_xy = terr.towns_xy[station_towns]
    staff = make_staff(terr, grids, net, station_xy, rng, avoid=planted_grids)
    step("outages", 0.52)
    outages = events.make_outages(net, year, rng)
    step("work orders", 0.56)
    wo = events.make_work_orders(net, grids, staff, outages, year, rng)
    step("energy readings", 0.62)
    avoid_tx = {empty_tx, *(t for _, t in wrong), *(int(net.cu_tx[c]) for c, _ in wrong)}
    if split is not None:
        avoid_tx.add(split)
    readings = events.make_readings(net, cust.category, year, rng, avoid_tx=avoid_tx)
    step("visits", 0.72)
    visits = events.make_visits(net, cust.key, staff, year, rng, avoid_grids=planted_grids)
    visits = events.add_complaint_callbacks(visits, wo, net, staff, year, np.random.default_rng([seed, 19]),
                                            avoid_grids=planted_grids)
    step("applications", 0.74)
    applications = make_applications(net, grids, staff, cust.high_voltage, year, rng)
    step("frames", 0.76)
    world = World(
        seed=seed, customers=customers, year=year, station_towns=station_towns, terr=terr, grids=grids, net=net,
        cust=cust, staff=staff, outages=outages, work_orders=wo, readings=readings, visits=visits,
        applications=applications,
        empty_tx=empty_tx, split=split, wrong=wrong,
    )  # fmt: skip
    out, ids = assemble(world)
    out["demo_manifest"] = manifest(world, ids)
    out["shifts"], planted_shifts = demo_shifts(out, year.now)
    out["demo_manifest"] = pd.concat([out["demo_manifest"], planted_shifts], ignore_index=True)
    step("warnings", 0.90)
    out["warnings"], escalated = seed_warnings(out, year.periods)
    out["demo_manifest"] = pd.concat([out["demo_manifest"], escalated], ignore_index=True)
    step("done", 1.0)
    return out
