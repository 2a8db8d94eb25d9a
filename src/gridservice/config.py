"""Settings and the business rules of SPEC §4, all configurable.

Settings come from the environment with the ``GRIDSERVICE_`` prefix
(``GRIDSERVICE_DATA=/srv/nanfeng.gpkg``); nested rules use ``__``
(``GRIDSERVICE_RULES__LOSS_HIGH_PCT=8``).

Only the faces (CLI, server) read the settings; they pass ``settings.rules``
to every analysis, which takes it as its ``rules`` keyword and otherwise
uses :data:`DEFAULT_RULES`, the SPEC §4 defaults.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_path() -> Path:
    """Where the demo GeoPackage lives when ``--data`` is not given."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "gridservice" / "nanfeng-demo.gpkg"


def default_cache_dir() -> Path:
    """Where derived state (the customer search index) is kept between starts: ``XDG_CACHE_HOME``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gridservice"


def web_root() -> Path:
    """The browser app's ``web/`` folder: ``GRIDSERVICE_WEB_DIR`` if set, else the one in this checkout.

    Its ``node_modules`` (``npm ci --prefix web``) holds the app's assets and the CJK web font.
    """
    override = os.environ.get("GRIDSERVICE_WEB_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "web"


class Rules(BaseModel):
    """Service rules (SPEC §4); defaults follow State Grid practice."""

    model_config = ConfigDict(frozen=True)

    repair_arrival_min: dict[str, int] = Field(default_factory=lambda: {"urban": 45, "rural": 90, "remote": 120})
    contact_within_hours: int = 24
    close_within_working_days: dict[str, int] = Field(
        default_factory=lambda: {"complaint": 4, "report": 9, "opinion": 5, "consultation": 5, "service_request": 5}
    )
    extra_holidays: list[str] = Field(default_factory=list, description="YYYY-MM-DD days off outside the calendar")
    repeat_complaint_days: int = 30
    loss_high_pct: float = 10.0
    loss_normal_min_pct: float = 0.0
    sustained_outage_min: float = 5.0
    households_per_member: int = 1000
    households_per_member_overload: float = 1.5
    customer_distance_limit_m: dict[str, float] = Field(default_factory=lambda: {"low": 1000.0, "high": 5000.0})
    sliver_max_width_m: float = 5.0
    home_visits_per_year: int = 2
    phone_visits_per_quarter: int = 1
    # audit (稽查) thresholds
    loss_streak_months: int = 3
    staff_open_orders_max: int = 20
    phone_shared_max: int = 5
    outage_open_max_hours: float = 24.0
    new_connection_months: int = 12
    # 业扩报装 (applications), docs/applications.md: step limits in working days, counted from the step before;
    # low voltage by category, high voltage by supply scheme (single/dual source)
    application_step_working_days: dict[str, dict[str, int]] = Field(default_factory=lambda: {
        "low/residential": {"connected": 5},
        "low/non_residential": {"connected": 6},
        "low/small_micro_enterprise": {"connected": 15},
        "high/single": {"plan_replied": 15, "connected": 30},
        "high/dual": {"plan_replied": 30, "connected": 30},
    })
    application_due_soon_working_days: int = Field(1, ge=0, description="Open steps this close to their limit "
                                                                        "are flagged as about to be late")
    application_min_step_minutes: dict[str, float] = Field(
        default_factory=lambda: {"plan_replied": 120.0, "connected": 60.0},
        description="A step faster than this after the one before cannot include its field visit (back-filled)")
    application_workday_only_steps: list[str] = Field(default_factory=lambda: ["plan_replied"],
                                                      description="Steps an office issues only on working days")
    small_micro_low_voltage_max_kva: dict[str, float] = Field(
        default_factory=lambda: {"urban": 160.0, "rural": 100.0, "remote": 100.0},
        description="Small and micro enterprises up to this capacity (by the grid's area_class) connect at low "
                    "voltage")
    application_audit_high_pct: float = Field(30.0, gt=0, le=100)
    application_callback_pct: float = Field(40.0, gt=0, le=100)
    # theft and metering suspects (docs/theft.md): a meter's recent months against its baseline months before them
    theft_recent_months: int = Field(2, ge=1, description="Months, ending with the period, a drop or zero use "
                                                          "must last")
    theft_baseline_months: int = Field(6, ge=2, description="Months before the recent ones that set a meter's "
                                                            "own level (their median)")
    theft_near_zero_kwh: float = Field(1.0, ge=0, description="A month at or below this is zero use")
    theft_occupied_min_kwh: float = Field(20.0, ge=0, description="A baseline median at or above this marks an "
                                                                  "occupied customer")
    theft_drop_ratio: float = Field(0.5, gt=0, lt=1, description="A recent month below this share of the "
                                                                 "baseline, after the peers' own change, is a drop")
    theft_min_peers: int = Field(3, ge=1, description="Meters of the same category on the transformer needed to "
                                                      "correct a drop for their change")
    theft_flat_tolerance_pct: float = Field(1.0, ge=0, description="A series whose range is within this share of "
                                                                   "its mean is flat")
    # grid editing (docs/planner.md): the outline the planner drags, simplified with the neighbours
    outline_tolerance_m: float = Field(20.0, ge=0, description="How far a grid's simplified editing outline may "
                                                               "stray from its drawn border (metres)")
    # duty rosters, the 6+1 work mode (docs/roster.md)
    roster_roles: tuple[str, ...] = Field(("grid_member", "grid_manager", "area_manager", "repair"),
                                          description="Station staff on the roster, in the order a grid's duty "
                                                      "falls to them (the first role working that day takes it)")
    roster_work_days: int = Field(6, ge=1, le=7, description="Working days (duty or standby) a member may have "
                                                              "in a Monday-Sunday week")
    # visits that get done (docs/visits.md): complaint callbacks and the members' day routes
    complaint_callback_days: int = Field(3, ge=0, description="Days after a complaint is closed by which its "
                                                              "customer gets a phone callback (回访)")
    complaint_callback_window_days: int = Field(365, ge=1, description="Complaints closed longer ago than this "
                                                                       "no longer ask for a callback")
    visit_max_stops_per_day: int = Field(8, ge=1, description="Home visits a member makes in one day (one route)")
    # indicator warnings (docs/warnings.md): per indicator and level (county, station, grid) the yellow and the
    # red threshold of a month's value; reaching one (inclusive) raises that warning. An indicator or level left
    # out is not monitored.
    warning_thresholds: dict[str, dict[str, tuple[float, float]]] = Field(default_factory=lambda: {
        "repair_on_time_pct": {"county": (98.0, 95.0), "station": (95.0, 90.0), "grid": (95.0, 90.0)},
        "non_repair_on_time_pct": {"county": (98.0, 95.0), "station": (95.0, 90.0), "grid": (95.0, 90.0)},
        "complaints_per_10k": {"county": (2.0, 4.0), "station": (3.0, 6.0), "grid": (5.0, 10.0)},
        "saidi_min": {"county": (30.0, 60.0), "station": (45.0, 90.0), "grid": (60.0, 120.0)},
        "saifi": {"county": (0.3, 0.6), "station": (0.5, 1.0), "grid": (0.8, 1.5)},
        "rs1_pct": {"county": (99.93, 99.86), "station": (99.9, 99.8), "grid": (99.86, 99.72)},
        "high_loss_share_pct": {"county": (5.0, 10.0), "station": (8.0, 15.0), "grid": (10.0, 20.0)},
        "applications_over_time": {"county": (3.0, 6.0), "station": (2.0, 4.0), "grid": (1.0, 3.0)},
        "visit_coverage_pct": {"county": (90.0, 80.0), "station": (85.0, 70.0), "grid": (80.0, 60.0)},
    })
    warning_escalate_months: int = Field(2, ge=1, description="Consecutive red months after which a warning is "
                                                              "escalated (约谈: a talk with the station head)")
    # weekly service stars (服务之星, docs/stars.md): points per unit of each measure of a grid member's week
    star_weights: dict[str, float] = Field(default_factory=lambda: {
        "orders_handled": 2.0, "on_time_pct": 0.1, "visits": 3.0, "complaints": -5.0, "open_warnings": -10.0})
    star_count: int = Field(3, ge=1, description="Members at the top of the week's ranking named 服务之星")


#: The rules an analysis applies when it is not given any: the SPEC §4 defaults.
DEFAULT_RULES = Rules()


class Settings(BaseSettings):
    """Process settings: where the data is, how to serve and draw it."""

    model_config = SettingsConfigDict(env_prefix="GRIDSERVICE_", env_nested_delimiter="__")

    data: str = Field(default_factory=lambda: str(default_data_path()))
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(1, ge=1, description="Server processes over one store (`serve --workers N`); each "
                                              "process's share of the per-server limits is 1/N of them")
    language: str = "zh"
    basemap: str = Field("local", description="local (drawn from the service area, offline), none, or online "
                                              "tiles when chosen: osm, gcj02 or a tile URL template")
    secret_key: str = Field("", description="Signs login tokens (at least 32 bytes); empty: a random key per "
                            "server start")
    token_minutes: int = Field(15, description="How long an access token is valid")
    refresh_minutes: int = Field(480, description="How long a login lasts through refreshes (one shift)")
    search_per_minute: int = Field(60, description="Customer lookups (search, card) per user and minute")
    max_body_mb: float = Field(20, gt=0, description="Largest request body the server reads (413 above)")
    max_plan_features: int = Field(5_000, ge=1, description="Most grids one plan request may carry (422 above)")
    max_plan_vertices: int = Field(250_000, ge=4, description="Most polygon vertices one plan request may carry")
    heavy_requests: int = Field(2, ge=1, description="Plan checks, previews, proposals and commits run at once; "
                                                     "more get 503 with Retry-After")
    cache_dir: str = Field(default_factory=lambda: str(default_cache_dir()),
                           description="Where the customer search index is kept between starts, under a digest "
                                       "of the data it indexes (never stale); empty: built at every start")
    warm_up: bool = Field(True, description="Build the search and trace indexes and the supervisor's first view "
                                            "in the background once the server starts (false: on first use)")
    rules: Rules = Field(default_factory=Rules)


@lru_cache
def get_settings() -> Settings:
    """The settings of this process (read once)."""
    return Settings()
