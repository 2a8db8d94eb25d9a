"""Labels of the maps in Chinese (default) and English."""

from __future__ import annotations

from gridservice.errors import DataError

LANGS = ("zh", "en")

_TEXT: dict[str, tuple[str, str]] = {
    # layer names
    "grids": ("网格", "Grids"),
    "grid_labels": ("网格名称", "Grid names"),
    "counties": ("县公司", "Counties"),
    "stations": ("供电所", "Stations"),
    "places": ("地名", "Place names"),
    "staff": ("人员驻点", "Staff bases"),
    "feeders": ("10kV线路", "10 kV feeders"),
    "transformers": ("台区", "Transformers"),
    "substations": ("变电站", "Substations"),
    "outages_active": ("当前停电", "Active outages"),
    "outages_past": ("历史停电", "Past outages"),
    "complaint_heat": ("投诉热力", "Complaint heat"),
    "repair_heat": ("报修热力", "Repair-call heat"),
    "findings": ("稽查问题", "Audit findings"),
    "plan_problems": ("网格方案问题", "Plan problems"),
    "warned_grids": ("指标预警网格", "Grids with warnings"),
    "customer_bins": ("客户密度", "Customer density"),
    "customer_points": ("客户", "Customers"),
    # popup fields
    "grid_name": ("网格", "Grid"),
    "code": ("编码", "Code"),
    "station": ("供电所", "Station"),
    "area_class": ("区域类型", "Area class"),
    "staff_list": ("网格人员", "Staff"),
    "name": ("名称", "Name"),
    "role": ("岗位", "Role"),
    "phone": ("电话", "Phone"),
    "rated_kva": ("容量 (kVA)", "Rating (kVA)"),
    "kind": ("类型", "Kind"),
    "loss_pct": ("线损率 (%)", "Loss (%)"),
    "class": ("线损分类", "Loss class"),
    "streak_months": ("连续异常月数", "Anomalous months in a row"),
    "likely_cause": ("可能原因", "Likely cause"),
    "responsible": ("责任人", "Responsible"),
    "customers_n": ("客户数", "Customers"),
    "device": ("设备", "Device"),
    "start_at": ("开始", "Start"),
    "end_at": ("结束", "End"),
    "cause": ("原因", "Cause"),
    "customers_affected": ("影响客户", "Customers affected"),
    "check": ("问题", "Check"),
    "severity": ("级别", "Severity"),
    "message": ("说明", "Message"),
    "feature_id": ("对象", "Feature"),
    "count": ("客户数", "Customers"),
    "no_data": ("无数据", "no data"),
    "legend_customers": ("客户数 / 格", "Customers per cell"),
    "points_note": ("放大到 {zoom} 级显示每户客户", "zoom to {zoom} to see each customer"),
    "voltage_kv": ("电压 (kV)", "Voltage (kV)"),
    "outage_active": ("停电中", "Outage in progress"),
    "outage_past": ("已恢复停电", "Restored outage"),
    "feeder_line": ("10kV线路", "10 kV feeder"),
    "error": ("错误", "error"),
    "warning": ("警告", "warning"),
    "province_title": ("{n} 个县公司 · {metric}", "{n} counties · {metric}"),
    "coverage_title": ("{area} 网格覆盖 · {metric}", "{area} grid coverage · {metric}"),
    "operations_title": ("{area} 运营监控", "{area} operations"),
    "lineloss_title": ("{area} 台区线损 · {period}", "{area} transformer line loss · {period}"),
}

AREA_CLASS = {"urban": ("城区", "urban"), "rural": ("农村", "rural"), "remote": ("特殊边远", "remote")}
ROLES = {
    "grid_manager": ("网格经理", "grid manager"),
    "grid_member": ("网格员", "grid member"),
    "area_manager": ("台区经理", "area manager"),
    "repair": ("抢修", "repair"),
    "dispatcher": ("调度", "dispatcher"),
    "supervisor": ("督导", "supervisor"),
    "planner": ("规划", "planner"),
}
LOSS_CLASS = {
    "normal": ("正常 (0–10%)", "normal (0–10%)"),
    "high": ("高损 (>10%)", "high (>10%)"),
    "negative": ("负损 (<0)", "negative (<0)"),
    "not_computable": ("不可计算", "not computable"),
    "out_of_service": ("停运", "out of service"),
}
OUTAGE_KIND = {"planned": ("计划停电", "planned"), "unplanned": ("故障停电", "unplanned")}
CATEGORY = {
    "residential": ("居民", "residential"),
    "commercial": ("商业", "commercial"),
    "industrial": ("工业", "industrial"),
    "agricultural": ("农业", "agricultural"),
}


def check_lang(lang: str) -> str:
    """``lang`` if supported, else a clear error."""
    if lang not in LANGS:
        msg = f"unknown map language {lang!r}; expected one of {', '.join(LANGS)}"
        raise DataError(msg)
    return lang


def t(key: str, lang: str, **fmt: object) -> str:
    """The label ``key`` in ``lang`` (``zh`` or ``en``), formatted with ``fmt``."""
    zh, en = _TEXT[key]
    text = zh if lang == "zh" else en
    return text.format(**fmt) if fmt else text


def choice(table: dict[str, tuple[str, str]], value: object, lang: str) -> str:
    """A coded value (a role, a class) as a label; unknown codes pass through."""
    pair = table.get(str(value))
    if pair is None:
        return "" if value is None else str(value)
    return pair[0] if lang == "zh" else pair[1]
