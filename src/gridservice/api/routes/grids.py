"""Grids with their staff and live counts, and locate-by-point."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from gridservice.api.deps import AreaDep, CurrentUser, PageDep
from gridservice.api.geojson import feature, feature_collection, records
from gridservice.errors import NotFoundError
from gridservice.model import ServiceArea

router = APIRouter(tags=["grids"])

GEOJSON = "application/geo+json"


#: The live counts the grid routes add to each grid (not stored, not part of a plan).
COUNT_COLUMNS = ("customers", "transformers", "staff", "open_work_orders")


def grid_counts(area: ServiceArea) -> pd.DataFrame:
    """Per grid: customers, transformers, staff, open work orders (0 where none)."""
    out = pd.DataFrame(index=area.grids.index)

    def count(df: pd.DataFrame, mask: Any = None) -> pd.Series:
        if "grid_id" not in df.columns or not len(df):
            return pd.Series(0, index=out.index, dtype="int64")
        grid = df["grid_id"] if mask is None else df.loc[mask, "grid_id"]
        return grid.value_counts().reindex(out.index, fill_value=0).astype("int64")

    out["customers"] = count(area.customers)
    out["transformers"] = count(area.transformers)
    out["staff"] = count(area.grid_staff.drop_duplicates(["grid_id", "staff_id"]))
    wo = area.work_orders
    out["open_work_orders"] = count(wo, wo["status"] != "closed") if len(wo) else 0
    return out


def with_counts(grids: pd.DataFrame, area: ServiceArea) -> pd.DataFrame:
    """``grids`` with their live counts (stale count columns a plan once carried are replaced)."""
    counts = area.cached("grid_counts", ("grids", "customers", "transformers", "work_orders", "grid_staff"),
                         lambda: grid_counts(area))
    return grids.drop(columns=list(COUNT_COLUMNS), errors="ignore").join(counts, how="left")


@router.get("/grids", response_class=JSONResponse, responses={200: {"content": {GEOJSON: {}}}})
def list_grids(area: AreaDep, user: CurrentUser, page: PageDep,
               station_id: Annotated[str | None, Query()] = None) -> JSONResponse:
    """Grids as a GeoJSON FeatureCollection with customers, transformers, staff and open orders."""
    grids = area.grids
    if station_id is not None:
        grids = grids[grids["station_id"] == station_id]
    chunk = grids.iloc[page.offset : page.offset + page.limit]
    chunk = with_counts(chunk, area)
    body = feature_collection(chunk, numberMatched=len(grids), numberReturned=len(chunk),
                              limit=page.limit, offset=page.offset)
    return JSONResponse(body, media_type=GEOJSON)


@router.get("/grids/{grid_id}", response_class=JSONResponse, responses={200: {"content": {GEOJSON: {}}}})
def get_grid(grid_id: str, area: AreaDep, user: CurrentUser) -> JSONResponse:
    """One grid as a Feature, with its station, staff and live counts."""
    if grid_id not in area.grids.index:
        msg = f"no grid {grid_id!r}"
        raise NotFoundError(msg)
    row = with_counts(area.grids.loc[[grid_id]], area)
    links = area.grid_staff[area.grid_staff["grid_id"] == grid_id]
    staff = links.join(area.staff.drop(columns="geometry", errors="ignore")[["name", "phone"]], on="staff_id")
    station_id = row["station_id"].iloc[0]
    # the station's record without its territory polygon (a WKT that can run to megabytes)
    stations = area.stations.drop(columns="territory", errors="ignore")
    station = records(stations.loc[[station_id]])[0] if station_id in stations.index else None
    body = feature(row, staff=records(staff, index=False), station=station)
    return JSONResponse(body, media_type=GEOJSON)


@router.get("/locate")
def locate(
    area: AreaDep,
    user: CurrentUser,
    lon: Annotated[float, Query(ge=-180, le=180, description="Longitude (WGS-84)")],
    lat: Annotated[float, Query(ge=-90, le=90, description="Latitude (WGS-84)")],
) -> dict[str, Any]:
    """The grid, station and staff responsible for a point (404 outside every grid)."""
    from gridservice.spatial.locate import locate_point, locator

    grid_id = locator(area).lookup(lon, lat)
    if grid_id is None:
        return locate_point(area, lon, lat).to_dict()  # raises the domain's "outside every grid" error
    # What a grid answers (its station and staff) is the same for every point in it: built once per grid.
    answers: dict[str, dict[str, Any]] = area.cached("locate_answers", ("grids", "grid_staff", "staff", "stations"),
                                                     dict)
    answer = answers.get(grid_id)
    if answer is None:
        answer = answers[grid_id] = locate_point(area, lon, lat).to_dict()
    return {**answer, "location": {"lon": float(lon), "lat": float(lat)}}
