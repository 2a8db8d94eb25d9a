"""Grid plans: check, preview, commit (optimistic locking), history and revert."""

from __future__ import annotations

import warnings
from typing import Annotated, Any

import geopandas as gpd
import shapely
import shapely.errors
import shapely.geometry
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from gridservice.api.deps import AreaDep, CurrentUser, HolderDep, Planner, RulesDep, SettingsDep
from gridservice.api.geojson import feature_collection, records
from gridservice.api.limits import HEAVY
from gridservice.api.models import PlanBody, PlanCommit, ProposeRequest
from gridservice.api.routes.grids import COUNT_COLUMNS
from gridservice.config import Settings
from gridservice.errors import DataError
from gridservice.model import ServiceArea
from gridservice.schema import CRS
from gridservice.spatial.outline import simplified_outlines
from gridservice.spatial.plan import check_plan, plan_frame
from gridservice.spatial.propose import propose_plan
from gridservice.spatial.redraw import commit_plan, plan_history, preview_plan, revert_plan, version_grids

GEOJSON = "application/geo+json"
_MOVES_SHOWN = 1000


router = APIRouter(prefix="/plans", tags=["plans"])


def plan_of(body: PlanBody, area: ServiceArea, settings: Settings) -> gpd.GeoDataFrame:
    """The plan's grids from the request's FeatureCollection (checked by :func:`plan_frame`).

    A plan over ``max_plan_features`` grids or ``max_plan_vertices`` vertices is refused.
    """
    features = body.grids["features"]
    if len(features) > settings.max_plan_features:
        msg = (f"grids: {len(features):,} features; a plan request may carry at most "
               f"{settings.max_plan_features:,} (setting max_plan_features)")
        raise DataError(msg)
    rows, geoms = [], []
    vertices = 0
    for i, f in enumerate(features, start=1):
        if not isinstance(f, dict) or f.get("type") != "Feature":
            msg = f"grids: feature {i} is not a GeoJSON Feature"
            raise DataError(msg)
        # The live counts GET /grids adds are not part of a plan.
        props = {k: v for k, v in (f.get("properties") or {}).items() if k not in COUNT_COLUMNS}
        if "grid_id" not in props and f.get("id") is not None:
            props["grid_id"] = str(f["id"])
        rows.append(props)
        geoms.append(_geometry(f.get("geometry"), f"grids: feature {i} ({props.get('grid_id', 'no grid_id')})"))
        vertices += int(shapely.get_num_coordinates(geoms[-1])) if geoms[-1] is not None else 0
        if vertices > settings.max_plan_vertices:
            msg = (f"grids: more than {settings.max_plan_vertices:,} vertices by feature {i}; a plan request may "
                   f"carry at most {settings.max_plan_vertices:,} (setting max_plan_vertices)")
            raise DataError(msg)
    frame = gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS) if rows else gpd.GeoDataFrame(geometry=[], crs=CRS)
    return plan_frame(frame, area, source="grids")


def _geometry(value: Any, where: str) -> shapely.Geometry | None:
    """A GeoJSON geometry as shapely, or one clear error naming the feature."""
    if value is None:
        return None
    try:
        with warnings.catch_warnings():  # NaN coordinates: refused with a clear message by plan_frame
            warnings.simplefilter("ignore", RuntimeWarning)
            return shapely.geometry.shape(value)
    except (shapely.errors.ShapelyError, TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        msg = f"{where}: unreadable geometry ({exc or type(exc).__name__})"
        raise DataError(msg) from None


def _findings(found: gpd.GeoDataFrame) -> dict[str, Any]:
    errors = int((found["severity"] == "error").sum()) if len(found) else 0
    return {"errors": errors, "warnings": len(found) - errors, "findings": feature_collection(found)}


@router.post("/check", dependencies=HEAVY)
def check(body: PlanBody, area: AreaDep, user: CurrentUser, settings: SettingsDep) -> dict[str, Any]:
    """Validate a plan: invalid rings, overlaps, gaps, slivers, split transformer areas, staffing."""
    return _findings(check_plan(area, plan_of(body, area, settings), complete=body.complete, rules=settings.rules))


@router.post("/preview", dependencies=HEAVY)
def preview(body: PlanBody, area: AreaDep, user: CurrentUser, settings: SettingsDep) -> dict[str, Any]:
    """What a plan moves (customers, transformers, open work orders) and each grid before and after."""
    result = preview_plan(area, plan_of(body, area, settings), complete=body.complete, rules=settings.rules)
    moves = result.moves
    return {
        "changed_grids": result.changed,
        "move_counts": result.move_counts(),
        "moves": records(moves.head(_MOVES_SHOWN), index=False),
        "moves_total": len(moves),
        "summary": records(result.summary),
        **_findings(result.findings),
    }


@router.post("/propose", dependencies=HEAVY)
async def propose(body: ProposeRequest, area: AreaDep, user: Planner) -> dict[str, Any]:
    """A balanced, compact draft plan of whole transformer areas, scored beside the current plan.

    Nothing is saved: ``grids`` goes to check, preview and commit (with ``complete``) like a drawn plan.
    """

    def work() -> dict[str, Any]:
        proposal = propose_plan(area, grids=body.grids, households_per_member=body.households_per_member,
                                lock=body.lock, within_stations=body.within_stations,
                                max_households=body.max_households, weights=body.weights, seed=body.seed)
        return {
            "grids": proposal.to_geojson(),
            "current": proposal.current.summary,
            "proposal": proposal.scores.summary,
            "grid_scores": records(proposal.scores.grids),
            "removed_grids": sorted(set(area.grids.index) - set(proposal.grids.index)),
            "messages": proposal.messages,
        }

    return await run_in_threadpool(work)


@router.post("/commit", status_code=201, dependencies=HEAVY)
async def commit(body: PlanCommit, holder: HolderDep, user: Planner, settings: SettingsDep) -> dict[str, Any]:
    """Save the plan as the next version; 409 if ``base_version`` is stale, 422 with the problems if invalid."""

    def work() -> dict[str, Any]:
        with holder.writing() as changes:
            area = holder.get()
            result = commit_plan(area, plan_of(body, area, settings), author=user.username, note=body.note or "",
                                 base_version=body.base_version, force_reason=body.forced_reason,
                                 complete=body.complete, store=holder.store, rules=settings.rules)
            changes.reload = True  # grids changed: every grid_id is derived anew
        return result.to_dict()

    return await run_in_threadpool(work)


@router.get("")
def history(area: AreaDep, user: CurrentUser) -> dict[str, Any]:
    """Every saved plan version, oldest first, and the version in force."""
    from gridservice.spatial.plan import latest_grid_version

    return {"current_version": latest_grid_version(area), "versions": records(plan_history(area), index=False)}


@router.get("/outlines", response_class=JSONResponse, responses={200: {"content": {GEOJSON: {}}}})
def outlines(area: AreaDep, user: Planner, rules: RulesDep,
             tolerance_m: Annotated[float | None, Query(ge=0, le=10_000, description="Simplification tolerance "
                                                        "(metres); default: the rule outline_tolerance_m")] = None,
             ) -> JSONResponse:
    """The grids in force with simplified outlines to edit: neighbours keep shared vertices.

    Each feature carries ``vertices`` and ``handles`` (vertex counts before and after) and ``vertex_index``
    (per part, per ring, where each kept vertex sits in the full ring), so that an editor can restore the full
    border wherever the planner did not touch the outline.
    """
    tolerance = rules.outline_tolerance_m if tolerance_m is None else tolerance_m
    body = area.cached(f"plan_outlines:{tolerance!r}", ("grids", "service_area"), lambda: feature_collection(
        simplified_outlines(area.grids, metric_crs=area.metric_crs, tolerance_m=tolerance),
        tolerance_m=tolerance), lru=True)
    return JSONResponse(body, media_type=GEOJSON)


@router.get("/{version:int}", response_class=JSONResponse, responses={200: {"content": {GEOJSON: {}}}})
def grids_of_version(version: int, area: AreaDep, user: CurrentUser) -> JSONResponse:
    """The grids of a saved version."""
    return JSONResponse(feature_collection(version_grids(area, version)), media_type=GEOJSON)


@router.post("/{version:int}/revert", status_code=201, dependencies=HEAVY)
async def revert(version: int, holder: HolderDep, user: Planner, rules: RulesDep,
                 base_version: Annotated[int, Query(description="The version in force (optimistic lock)")],
                 note: Annotated[str | None, Query(max_length=2000)] = None,
                 forced_reason: Annotated[str | None, Query(max_length=2000, description="Restore despite the "
                                                            "version's plan errors, for this recorded reason")] = None,
                 ) -> dict[str, Any]:
    """Restore a saved version by committing it as a new one."""

    def work() -> dict[str, Any]:
        with holder.writing() as changes:
            result = revert_plan(holder.get(), version, author=user.username, note=note,
                                 base_version=base_version, force_reason=forced_reason, store=holder.store,
                                 rules=rules)
            changes.reload = True
        return result.to_dict()

    return await run_in_threadpool(work)
