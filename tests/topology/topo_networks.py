"""Tiny hand-built networks whose traces can be worked out on paper."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from gridservice.model import ServiceArea

BASE = (116.53, 27.21)  # Nanfeng county, Jiangxi


def _pt(i: int, j: int = 0) -> shapely.Point:
    """A point i*~100 m east and j*~100 m north of BASE."""
    return shapely.Point(BASE[0] + i * 0.001, BASE[1] + j * 0.001)


def build_area(
    *,
    substations: list[str],
    feeders: dict[str, str],
    transformers: dict[str, str],
    meters: dict[str, str],
    customers: dict[str, str],
    access_points: dict[str, str] | None = None,
    switches: list[tuple[str, str, str, bool]] = (),
    customer_extra: dict[str, dict[str, object]] | None = None,
    grids: dict[str, shapely.Geometry] | None = None,
    grid_staff: list[tuple[str, str, str]] = (),
    staff: dict[str, tuple[str, str]] | None = None,
) -> ServiceArea:
    """A service area from parent maps (child id → parent id).

    ``meters`` map to an access point or a transformer id (whichever layer
    holds it); ``switches`` are ``(switch_id, from, to, is_open)``.
    Transformer k sits at x=10k; its customers near it.
    """
    access_points = access_points or {}
    customer_extra = customer_extra or {}
    subs = gpd.GeoDataFrame({"substation_id": substations, "name": substations},
                            geometry=[_pt(-10, k) for k in range(len(substations))], crs=4326)
    fdr = pd.DataFrame({"feeder_id": list(feeders), "name": list(feeders), "substation_id": list(feeders.values())})
    tpos = {t: k for k, t in enumerate(transformers)}
    trs = gpd.GeoDataFrame({"transformer_id": list(transformers), "name": list(transformers),
                            "feeder_id": list(transformers.values()), "rated_kva": 400.0, "kind": "public"},
                           geometry=[_pt(10 * tpos[t]) for t in transformers], crs=4326)
    aps = gpd.GeoDataFrame({"access_point_id": list(access_points), "transformer_id": list(access_points.values())},
                           geometry=[_pt(10 * tpos[t], 1) for t in access_points.values()], crs=4326)
    mtr = pd.DataFrame({
        "meter_id": list(meters),
        "access_point_id": [p if p in access_points else None for p in meters.values()],
        "transformer_id": [p if p in transformers else None for p in meters.values()],
    })

    def tr_of(meter: str) -> str:
        p = meters[meter]
        return access_points.get(p, p)

    rows = []
    for k, (cid, meter) in enumerate(customers.items()):
        t = tr_of(meter) if meter in meters else next(iter(transformers))
        row = {"customer_id": cid, "name": f"客户{cid}", "category": "residential", "voltage": "low",
               "meter_id": meter, "key_customer": False, "geometry": _pt(10 * tpos.get(t, 0), 2 + k % 5)}
        row.update(customer_extra.get(cid, {}))
        rows.append(row)
    cus = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326) if rows else gpd.GeoDataFrame(
        {"customer_id": []}, geometry=[], crs=4326)
    sw = gpd.GeoDataFrame(
        {"switch_id": [s[0] for s in switches], "from_device_id": [s[1] for s in switches],
         "to_device_id": [s[2] for s in switches], "normally_open": [s[3] for s in switches],
         "is_open": [s[3] for s in switches]},
        geometry=[_pt(0, -1) for _ in switches], crs=4326)
    layers: dict[str, pd.DataFrame] = {"substations": subs, "feeders": fdr, "transformers": trs,
                                       "access_points": aps, "meters": mtr, "customers": cus, "switches": sw}
    if grids:
        layers["grids"] = gpd.GeoDataFrame(
            {"grid_id": list(grids), "code": list(grids), "name": list(grids), "station_id": "ST1",
             "area_class": "urban", "plan_version": 1}, geometry=list(grids.values()), crs=4326)
        layers["stations"] = gpd.GeoDataFrame({"station_id": ["ST1"], "name": ["供电所"]}, geometry=[_pt(0)], crs=4326)
    if staff:
        layers["staff"] = gpd.GeoDataFrame(
            {"staff_id": list(staff), "name": [v[0] for v in staff.values()], "role": [v[1] for v in staff.values()],
             "station_id": "ST1", "phone": "13800000000"}, geometry=[_pt(0)] * len(staff), crs=4326)
    if grid_staff:
        layers["grid_staff"] = pd.DataFrame(grid_staff, columns=["grid_id", "staff_id", "role"])
    return ServiceArea(layers)


def ring_area(**kw: object) -> ServiceArea:
    """One substation, two feeders, a normally-open tie T2–T4 and a closed sectionaliser F2–T4.

    ::

        S1 ─ F1 ─┬─ T1 ─ M1 ─ C1, M2 ─ C2
                 └─ T2 ─ A2 ─ M3 ─ C3, M4 ─ C4
                      ╎ TIE (open)
        S1 ─ F2 ─┬─ T3 ─ M5 ─ C5
             SEC └─ T4 ─ M6 ─ C6, M7 ─ C7
    """
    return build_area(
        substations=["S1"],
        feeders={"F1": "S1", "F2": "S1"},
        transformers={"T1": "F1", "T2": "F1", "T3": "F2", "T4": "F2"},
        access_points={"A2": "T2"},
        meters={"M1": "T1", "M2": "T1", "M3": "A2", "M4": "A2", "M5": "T3", "M6": "T4", "M7": "T4"},
        customers={"C1": "M1", "C2": "M2", "C3": "M3", "C4": "M4", "C5": "M5", "C6": "M6", "C7": "M7"},
        switches=[("TIE", "T2", "T4", True), ("SEC", "F2", "T4", False)],
        **kw,
    )
