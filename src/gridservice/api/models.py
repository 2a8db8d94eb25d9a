"""Request and response bodies: a ``…Create`` model for what a client sends,
a ``…Public`` model for what it gets back."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from gridservice import clock
from gridservice.auth import User
from gridservice.metrics.period import YEARS
from gridservice.metrics.theft import RULES as THEFT_RULES
from gridservice.schema import (
    CHECK_OUTCOMES,
    OUTAGE_KINDS,
    TIMEZONE,
    VISIT_KINDS,
    WORK_ORDER_KINDS,
    WORK_ORDER_STATUSES,
)

Role = Literal["planner", "dispatcher", "supervisor", "admin"]
WorkOrderKind = Literal[WORK_ORDER_KINDS]  # type: ignore[valid-type]
WorkOrderStatus = Literal[WORK_ORDER_STATUSES]  # type: ignore[valid-type]
OutageKind = Literal[OUTAGE_KINDS]  # type: ignore[valid-type]
TheftRule = Literal[THEFT_RULES]  # type: ignore[valid-type]
CheckOutcome = Literal[CHECK_OUTCOMES]  # type: ignore[valid-type]
VisitKind = Literal[VISIT_KINDS]  # type: ignore[valid-type]


def local_time(value: datetime | None) -> pd.Timestamp:
    """A client's time in Asia/Shanghai to the millisecond (naive means local); ``None`` means now."""
    ts = clock.now() if value is None else pd.Timestamp(value)
    ts = ts.tz_localize(TIMEZONE) if ts.tzinfo is None else ts.tz_convert(TIMEZONE)
    return ts.floor("ms").as_unit("ms")


def _in_years(value: datetime) -> datetime:
    if not YEARS[0] <= value.year <= YEARS[1]:
        msg = f"the year must lie in {YEARS[0]}–{YEARS[1]}"
        raise ValueError(msg)
    return value


#: A client's time: years the server can compute with (pandas timestamps end in 2262).
Timestamp = Annotated[datetime, AfterValidator(_in_years)]


class _Strict(BaseModel):
    # Python's JSON reader takes NaN and Infinity; no field of ours means them.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class LoginRequest(_Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UserPublic(BaseModel):
    username: str
    role: str = Field(description="planner, dispatcher, supervisor or admin")
    display_name: str | None = None
    permissions: list[str] = Field(default_factory=list, description="The guarded actions this user may "
                                   "perform (``plan.commit``, ``work_order.create``, …): what the browser offers")

    @classmethod
    def of(cls, user: User) -> UserPublic:
        """What the API shows of ``user``."""
        return cls(username=user.username, role=user.role, display_name=user.display_name,
                   permissions=user.permissions)


class UserCreate(_Strict):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[^\s:]+$")
    role: Role
    password: str = Field(min_length=8, max_length=256)
    display_name: str | None = Field(None, max_length=100)


class TokenPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    refresh_token: str = Field(description="Exchanged for a new access token at POST /auth/refresh")
    refresh_expires_at: datetime = Field(description="When the login ends (log in again after)")
    user: UserPublic


class RefreshRequest(_Strict):
    refresh_token: str = Field(min_length=1, max_length=4096)


class Point(_Strict):
    lon: float = Field(ge=-180, le=180, description="Longitude, WGS-84 degrees")
    lat: float = Field(ge=-90, le=90, description="Latitude, WGS-84 degrees")


class WorkOrderCreate(_Strict):
    """A new work order: who (a customer) or where (a point), and what."""

    kind: WorkOrderKind
    customer_id: str | None = Field(None, max_length=64)
    location: Point | None = None
    channel: str | None = Field(None, max_length=50, examples=["95598"])
    description: str | None = Field(None, max_length=2000)
    received_at: Timestamp | None = Field(None, description="Default: now. Naive times are Asia/Shanghai.")

    @model_validator(mode="after")
    def _who_or_where(self) -> WorkOrderCreate:
        if self.customer_id is None and self.location is None:
            msg = "give customer_id or location"
            raise ValueError(msg)
        return self


class StatusChange(_Strict):
    status: WorkOrderStatus
    at: Timestamp | None = Field(None, description="When it happened (default: now)")


class MeterCheckCreate(_Strict):
    meter_id: str = Field(min_length=1, max_length=64)
    rules: list[TheftRule] = Field(min_length=1, description="The rules the meter hit (from the suspect list)")
    staff_id: str | None = Field(None, max_length=64, description="The grid member sent on the check")
    ordered_at: Timestamp | None = Field(None, description="Default: now")


class MeterCheckOutcome(_Strict):
    outcome: CheckOutcome
    at: Timestamp | None = Field(None, description="When the member checked the meter (default: now)")


class RosterCreate(_Strict):
    station_id: str = Field(min_length=1, max_length=64)
    start: date = Field(alias="from", description="First day (a Monday reads best)")
    weeks: int = Field(1, ge=1, le=26)


class VisitCreate(_Strict):
    """A visit done (走访 or 回访) by a grid member."""

    customer_id: str = Field(min_length=1, max_length=64)
    staff_id: str = Field(min_length=1, max_length=64)
    kind: VisitKind
    at: Timestamp | None = Field(None, description="When the visit was made (default: now)")


class WarningUpdateRequest(_Strict):
    period: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="Month YYYY-MM (default: the latest "
                                                                          "with data)", examples=["2026-10"])


class WarningClear(_Strict):
    note: str = Field(min_length=1, max_length=500, description="Why the warning is cleared")


class SwitchOperation(_Strict):
    is_open: bool = Field(description="true: open the switch; false: close it")
    note: str = Field("", max_length=500, description="Why (the audit log keeps it)")


class OutageCreate(_Strict):
    device_id: str = Field(min_length=1, max_length=64)
    kind: OutageKind
    start_at: Timestamp | None = Field(None, description="Default: now")
    end_at: Timestamp | None = None
    cause: str | None = Field(None, max_length=500)


class OutageClose(_Strict):
    end_at: Timestamp | None = Field(None, description="Default: now")


class Call(_Strict):
    """One incoming repair call."""

    call_id: str | None = Field(None, max_length=64)
    customer_id: str = Field(min_length=1, max_length=64)
    received_at: Timestamp | None = Field(None, description="Default: now")


class CallGroupRequest(_Strict):
    calls: list[Call] = Field(min_length=1, max_length=5000)
    min_calls: int = Field(3, ge=1, le=1000, description="Calling customers that make a device a proposal")
    window_min: float | None = Field(120, gt=0, le=525_600,
                                     description="Only calls in the last this many minutes (at most a year); null: all")


class PlanBody(_Strict):
    """A grid plan: the grids as a GeoJSON FeatureCollection (WGS-84)."""

    grids: dict[str, Any] = Field(description="FeatureCollection of grid polygons with grid_id, code, name, "
                                              "station_id, area_class properties")
    base_version: int | None = Field(None, description="The plan version this one was drawn from")
    note: str | None = Field(None, max_length=2000)
    forced_reason: str | None = Field(None, max_length=2000, description="Commit despite plan errors, saying why")
    complete: bool = Field(False, description="The collection is the whole plan: grids it lacks are removed")

    @model_validator(mode="after")
    def _feature_collection(self) -> PlanBody:
        if self.grids.get("type") != "FeatureCollection" or not isinstance(self.grids.get("features"), list):
            msg = "grids must be a GeoJSON FeatureCollection"
            raise ValueError(msg)
        return self


class ProposeRequest(_Strict):
    """Options of an automatic proposal (as ``gridservice plan propose``).

    Give ``grids`` or ``households_per_member``.
    """

    grids: int | None = Field(None, ge=1, le=100_000, description="Number of grids, locked ones included")
    households_per_member: float | None = Field(None, ge=1, le=1_000_000,
                                                description="Instead of grids: households per member")
    lock: list[str] = Field(default_factory=list, max_length=100_000, description="Grid ids kept exactly as they are")
    within_stations: bool = Field(False, description="Keep station boundaries")
    max_households: int | None = Field(None, ge=1, le=10**9, description="Hard cap on households per grid")
    weights: dict[str, Annotated[float, Field(ge=0, le=1_000_000)]] | None = Field(
        None, description="Workload weights, e.g. {\"households\": 1, \"work_orders\": 0.3, \"area\": 0.1}")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Same seed, same proposal")


class PlanCommit(PlanBody):
    base_version: int = Field(description="The plan version this one was drawn from (optimistic lock)")


class SearchHit(BaseModel):
    customer_id: str
    score: float
    match: str
    name: str | None = None
    address: str | None = None
    phone: str | None = None
    meter_id: str | None = None
    grid_id: str | None = None


class Listing(BaseModel):
    """A page of plain records."""

    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int
