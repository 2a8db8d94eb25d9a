"""One declared schema per layer of a service area (SPEC §3).

Each :class:`Layer` names its key, its columns with their kinds, the parent
layers its foreign keys point to and its geometry. The store, the importer
and :func:`gridservice.model.check_integrity` all read these declarations;
nothing else lists columns.

Column kinds: ``str``, ``float``, ``int``, ``bool`` and ``datetime``
(timezone-aware). Columns a user's data brings beyond these are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TIMEZONE = "Asia/Shanghai"

AREA_CLASSES = ("urban", "rural", "remote")
STAFF_ROLES = (
    "grid_manager",
    "grid_member",
    "area_manager",
    "repair",
    "dispatcher",
    "supervisor",
    "planner",
)
CUSTOMER_CATEGORIES = ("residential", "commercial", "industrial", "agricultural")
WORK_ORDER_KINDS = (
    "repair",
    "complaint",
    "report",
    "opinion",
    "consultation",
    "service_request",
)
WORK_ORDER_STATUSES = ("received", "dispatched", "arrived", "resolved", "replied", "closed")
OUTAGE_KINDS = ("planned", "unplanned")
VISIT_KINDS = ("home", "phone")
APPLICATION_KINDS = ("new", "increase")
APPLICATION_CATEGORIES = ("residential", "non_residential", "small_micro_enterprise")
APPLICATION_STATUSES = ("in_progress", "connected", "cancelled")
#: What a field check of a theft/metering suspect found (docs/theft.md).
CHECK_OUTCOMES = ("theft", "metering_fault", "no_fault")
#: A staff member's day in the 6+1 duty roster (docs/roster.md): duty and standby are working days.
SHIFT_KINDS = ("duty", "standby", "rest", "leave")
#: Indicator warnings (docs/warnings.md): the levels they are raised at and their severities.
WARNING_LEVELS = ("county", "station", "grid")
WARNING_SEVERITIES = ("yellow", "red")
#: 业扩 steps in order per voltage: each has ``<step>_at`` and its handler ``<step>_by``.
APPLICATION_STEPS = {"low": ("accepted", "connected"), "high": ("accepted", "plan_replied", "connected")}

#: The network layers in supply order; a device id is unique across them.
DEVICE_LAYERS = ("substations", "feeders", "transformers", "access_points", "meters", "customers")


@dataclass(frozen=True)
class Column:
    """One declared column.

    Parameters
    ----------
    name
        Column name; units are part of it (``rated_kva``).
    kind
        ``str``, ``float``, ``int``, ``bool`` or ``datetime``.
    required
        No nulls allowed.
    parent
        Layer whose key this column references (a foreign key).
    choices
        Allowed values for a categorical text column.
    derived
        Computed by gridservice (a customer's ``grid_id``); optional on import.
    pattern
        ``(regex, what it means)`` that every text value must match in full.
    """

    name: str
    kind: str = "str"
    required: bool = False
    parent: str | None = None
    choices: tuple[str, ...] | None = None
    derived: bool = False
    pattern: tuple[str, str] | None = None


@dataclass(frozen=True)
class Layer:
    """One declared layer: its key, columns and geometry.

    ``geometry`` is ``None`` for attribute tables, else the allowed geometry
    types; ``geometry_required`` says whether a row may lack one.
    """

    name: str
    key: str | None
    columns: tuple[Column, ...]
    geometry: tuple[str, ...] | None = None
    geometry_required: bool = False
    title_zh: str = ""
    unique: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        """Declared column names, key first."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The declared column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        msg = f"layer {self.name!r} has no column {name!r}"
        raise KeyError(msg)


def _c(name: str, kind: str = "str", **kw: object) -> Column:
    return Column(name, kind, **kw)  # type: ignore[arg-type]


POINT = ("Point",)
POLYGON = ("Polygon", "MultiPolygon")
LINE = ("LineString", "MultiLineString")

LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer(
            "service_area",
            "service_area_id",
            (_c("service_area_id", required=True), _c("name", required=True), _c("timezone")),
            POLYGON,
            geometry_required=True,
            title_zh="供电服务区域",
        ),
        Layer(
            "stations",
            "station_id",
            # the office is the Point; a territory polygon a GIS file draws the station as is kept as
            # WKT (EPSG:4326), which validate holds against the union of the station's grids
            (_c("station_id", required=True), _c("code"), _c("name", required=True), _c("territory")),
            POINT,
            title_zh="供电所",
        ),
        Layer(
            "grids",
            "grid_id",
            (
                _c("grid_id", required=True),
                _c("code", required=True),
                _c("name", required=True),
                _c("station_id", required=True, parent="stations"),
                _c("area_class", required=True, choices=AREA_CLASSES),
                _c("plan_version", "int", required=True),
            ),
            POLYGON,
            geometry_required=True,
            title_zh="网格",
        ),
        Layer(
            "staff",
            "staff_id",
            (
                _c("staff_id", required=True),
                _c("name", required=True),
                _c("role", required=True, choices=STAFF_ROLES),
                _c("station_id", parent="stations"),
                _c("phone"),
            ),
            POINT,
            title_zh="人员",
        ),
        Layer(
            "grid_staff",
            None,
            (
                _c("grid_id", required=True, parent="grids"),
                _c("staff_id", required=True, parent="staff"),
                _c("role", required=True, choices=STAFF_ROLES),
            ),
            unique=("grid_id", "staff_id", "role"),
            title_zh="网格人员",
        ),
        Layer(
            "substations",
            "substation_id",
            (
                _c("substation_id", required=True),
                _c("name", required=True),
                _c("voltage_kv", "float"),
            ),
            POINT,
            geometry_required=True,
            title_zh="变电站",
        ),
        Layer(
            "feeders",
            "feeder_id",
            (
                _c("feeder_id", required=True),
                _c("name", required=True),
                _c("substation_id", required=True, parent="substations"),
                _c("voltage_kv", "float"),
                _c("length_km", "float", derived=True),
            ),
            LINE,
            title_zh="10kV线路",
        ),
        Layer(
            "switches",
            "switch_id",
            (
                _c("switch_id", required=True),
                _c("from_device_id", required=True),
                _c("to_device_id", required=True),
                _c("normally_open", "bool", required=True),
                _c("is_open", "bool", required=True),
            ),
            POINT,
            title_zh="开关",
        ),
        Layer(
            "transformers",
            "transformer_id",
            (
                _c("transformer_id", required=True),
                _c("name", required=True),
                _c("feeder_id", required=True, parent="feeders"),
                _c("rated_kva", "float", required=True),
                _c("kind", required=True, choices=("public", "private")),
                _c("grid_id", derived=True),
            ),
            POINT,
            geometry_required=True,
            title_zh="台区",
        ),
        Layer(
            "access_points",
            "access_point_id",
            (
                _c("access_point_id", required=True),
                _c("transformer_id", required=True, parent="transformers"),
                _c("grid_id", derived=True),
            ),
            POINT,
            title_zh="产权接入点",
        ),
        Layer(
            "meters",
            "meter_id",
            (
                _c("meter_id", required=True),
                _c("access_point_id", parent="access_points"),
                _c("transformer_id", parent="transformers"),
            ),
            title_zh="计量装置",
        ),
        Layer(
            "customers",
            "customer_id",
            (
                _c("customer_id", required=True),
                _c("name", required=True),
                _c("address"),
                _c("phone"),
                _c("category", required=True, choices=CUSTOMER_CATEGORIES),
                _c("voltage", required=True, choices=("low", "high")),
                _c("meter_id", parent="meters"),
                _c("key_customer", "bool"),
                _c("connected_at", "datetime"),
                _c("grid_id", derived=True),
            ),
            POINT,
            geometry_required=True,
            title_zh="客户",
        ),
        Layer(
            "work_orders",
            "work_order_id",
            (
                _c("work_order_id", required=True),
                _c("kind", required=True, choices=WORK_ORDER_KINDS),
                _c("channel"),
                _c("description"),
                _c("customer_id", parent="customers"),
                _c("status", required=True, choices=WORK_ORDER_STATUSES),
                _c("assignee_id", parent="staff"),
                _c("received_at", "datetime", required=True),
                _c("dispatched_at", "datetime"),
                _c("arrived_at", "datetime"),
                _c("resolved_at", "datetime"),
                _c("replied_at", "datetime"),
                _c("closed_at", "datetime"),
                _c("grid_id", derived=True),
            ),
            POINT,
            title_zh="工单",
        ),
        Layer(
            "outages",
            "outage_id",
            (
                _c("outage_id", required=True),
                _c("device_id", required=True),
                _c("kind", required=True, choices=OUTAGE_KINDS),
                _c("start_at", "datetime", required=True),
                _c("end_at", "datetime"),
                _c("cause"),
                _c("customers_affected", "int", derived=True),
            ),
            title_zh="停电事件",
        ),
        Layer(
            "energy_readings",
            "reading_id",
            (
                _c("reading_id", required=True),
                _c("device_id", required=True),
                _c("period", required=True, pattern=(r"\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?",
                                                     "must be a month YYYY-MM or a day YYYY-MM-DD")),
                _c("kwh", "float", required=True),
            ),
            title_zh="电量",
        ),
        Layer(
            "visits",
            "visit_id",
            (
                _c("visit_id", required=True),
                _c("staff_id", required=True, parent="staff"),
                _c("customer_id", required=True, parent="customers"),
                _c("at", "datetime", required=True),
                _c("kind", required=True, choices=VISIT_KINDS),
            ),
            title_zh="走访",
        ),
        Layer(
            "applications",
            "application_id",
            (
                _c("application_id", required=True),
                _c("customer_id", parent="customers"),
                _c("kind", required=True, choices=APPLICATION_KINDS),
                _c("voltage", required=True, choices=("low", "high")),
                _c("category", required=True, choices=APPLICATION_CATEGORIES),
                _c("capacity_kva", "float", required=True),
                # high voltage: two sources (双电源) have longer plan-reply limits than one
                _c("dual_supply", "bool"),
                _c("channel"),
                _c("status", required=True, choices=APPLICATION_STATUSES),
                _c("accepted_at", "datetime", required=True),
                _c("accepted_by", parent="staff"),
                _c("plan_replied_at", "datetime"),
                _c("plan_replied_by", parent="staff"),
                _c("connected_at", "datetime"),
                _c("connected_by", parent="staff"),
                _c("grid_id", derived=True),
            ),
            POINT,
            title_zh="业扩报装",
        ),
        Layer(
            "meter_checks",
            "check_id",
            (
                _c("check_id", required=True),
                _c("meter_id", required=True, parent="meters"),
                _c("customer_id", parent="customers"),
                _c("staff_id", parent="staff"),
                # the anomaly rules the meter hit when the check was ordered, comma-separated
                _c("rules", required=True),
                _c("ordered_at", "datetime", required=True),
                _c("at", "datetime"),
                _c("outcome", choices=CHECK_OUTCOMES),
            ),
            title_zh="用电检查",
        ),
        Layer(
            "shifts",
            "shift_id",
            (
                _c("shift_id", required=True),
                _c("staff_id", required=True, parent="staff"),
                # the local calendar day the shift covers, 00:00 to 24:00 in the area's timezone
                _c("date", required=True, pattern=(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])",
                                                   "must be a date YYYY-MM-DD")),
                _c("kind", required=True, choices=SHIFT_KINDS),
            ),
            unique=("staff_id", "date"),
            title_zh="排班",
        ),
        Layer(
            "warnings",
            "warning_id",
            (
                _c("warning_id", required=True),
                _c("indicator", required=True),
                _c("level", required=True, choices=WARNING_LEVELS),
                # a grid_id, a station_id, or the county's service_area_id
                _c("unit_id", required=True),
                # the month it was raised for; last_period: the latest month it still held
                _c("period", required=True),
                _c("last_period", required=True),
                _c("severity", required=True, choices=WARNING_SEVERITIES),
                _c("value", "float"),
                _c("threshold", "float"),
                # the first month of the current run of red months (empty while yellow)
                _c("red_since"),
                _c("raised_at", "datetime", required=True),
                _c("escalated_at", "datetime"),
                _c("cleared_at", "datetime"),
                _c("cleared_by"),
                _c("note"),
            ),
            title_zh="指标预警",
        ),
        Layer(
            "plan_versions",
            "plan_version",
            (
                _c("plan_version", "int", required=True),
                _c("base_version", "int"),
                _c("author", required=True),
                _c("note"),
                _c("committed_at", "datetime", required=True),
                _c("forced_reason"),
            ),
            title_zh="网格方案版本",
        ),
        Layer(
            "grid_history",
            None,
            (
                _c("plan_version", "int", required=True, parent="plan_versions"),
                _c("grid_id", required=True),
                _c("code", required=True),
                _c("name", required=True),
                _c("station_id", required=True),
                _c("area_class", required=True, choices=AREA_CLASSES),
            ),
            POLYGON,
            geometry_required=True,
            unique=("plan_version", "grid_id"),
            title_zh="网格方案历史",
        ),
        Layer(
            "audit_log",
            "log_id",
            (
                _c("log_id", required=True),
                _c("at", "datetime", required=True),
                _c("user", required=True),
                _c("action", required=True),
                _c("layer"),
                _c("feature_id"),
                _c("detail"),
            ),
            title_zh="审计日志",
        ),
        Layer(
            "users",
            "username",
            (
                _c("username", required=True),
                _c("role", required=True, choices=("planner", "dispatcher", "supervisor", "admin")),
                _c("password_hash", required=True),
                _c("display_name"),
                # Changes whenever the user's logins must end (logout, new password or role): tokens carry it.
                _c("token_version"),
            ),
            title_zh="用户",
        ),
    )
}

#: Layers whose geometry lives in EPSG:4326.
CRS = "EPSG:4326"
