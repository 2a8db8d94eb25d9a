"""Classes, colours and the legend box of a choropleth."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from branca.element import MacroElement
from folium.template import Template

from gridservice.errors import DataError

__all__ = ["METRICS", "Classes", "Legend", "classify", "metric_label"]

# ColorBrewer YlOrRd (more is worse) and YlGn (more is better), 1..5 classes.
_WORSE = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
_BETTER = ["#ffffcc", "#c2e699", "#78c679", "#31a354", "#006837"]
_NEUTRAL = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"]
NO_DATA = "#d9d9d9"

#: KPI column → (中文, English, unit, direction): +1 more is better, -1 worse, 0 neither.
METRICS: dict[str, tuple[str, str, str, int]] = {
    "customers": ("客户数", "Customers", "户", 0),
    "households_per_member": ("网格员人均户数", "Households per grid member", "户/人", -1),
    "staff": ("网格人员数", "Staff", "人", 0),
    "work_orders": ("工单数", "Work orders", "件", -1),
    "complaints": ("投诉数", "Complaints", "件", -1),
    "complaints_per_10k": ("万户投诉率", "Complaints per 10k customers", "件/万户", -1),
    "repairs": ("报修数", "Repair calls", "件", -1),
    "repair_on_time_pct": ("抢修到达及时率", "Repair arrival on time", "%", 1),
    "closed_on_time_pct": ("工单办结及时率", "Orders closed on time", "%", 1),
    "non_repair_on_time_pct": ("非抢修工单及时率", "Non-repair orders on time", "%", 1),
    "first_contact_resolution_pct": ("一次解决率", "First-contact resolution", "%", 1),
    "repeat_complaints": ("重复投诉", "Repeat complaints", "件", -1),
    "outages": ("停电次数", "Outages", "次", -1),
    "outages_planned": ("计划停电次数", "Planned outages", "次", -1),
    "outages_unplanned": ("故障停电次数", "Unplanned outages", "次", -1),
    "saifi": ("户均停电次数 SAIFI", "SAIFI", "次/户", -1),
    "saidi_min": ("户均停电时间 SAIDI", "SAIDI", "分钟", -1),
    "caidi_min": ("平均停电持续时间 CAIDI", "CAIDI", "分钟", -1),
    "rs1_pct": ("供电可靠率 RS-1", "Reliability RS-1", "%", 1),
    "high_loss_transformers": ("高损台区数", "High-loss transformer areas", "个", -1),
    "visit_coverage_pct": ("走访覆盖率", "Visit coverage", "%", 1),
    "area_km2": ("面积", "Area", "km²", 0),
    "customers_per_km2": ("客户密度", "Customer density", "户/km²", 0),
}


# Units in English; counts need none there.
_UNITS_EN = {"%": "%", "分钟": "min", "件/万户": "per 10k", "km²": "km²", "户/km²": "per km²"}


def metric_label(metric: str, lang: str, *, unit: bool = True) -> str:
    """The title of a KPI column in ``lang`` (unknown columns keep their name)."""
    zh, en, u, _ = METRICS.get(metric, (metric, metric, "", 0))
    text = zh if lang == "zh" else en
    if lang != "zh":
        u = _UNITS_EN.get(u, "")
    return f"{text} ({u})" if unit and u else text


@dataclass(frozen=True)
class Classes:
    """A classification of values: class per value, bounds and colours.

    ``index[i]`` is the class of value ``i`` (``-1`` for a missing value);
    class ``c`` spans ``(bounds[c-1], bounds[c]]`` (the first starts at ``minimum``).
    """

    index: np.ndarray
    bounds: np.ndarray
    minimum: float
    colors: list[str]
    discrete: bool = False
    integers: bool = False

    def color_of(self, i: int) -> str:
        """Colour of class ``i`` (grey for missing)."""
        return NO_DATA if i < 0 else self.colors[i]

    def labels(self, *, digits: int = 1) -> list[str]:
        """``a – b`` text of each class (the value itself when each class is one value).

        Whole-number data (counts) get whole-number ranges: a class ``(3, 7]``
        reads ``4 – 7``.
        """
        if self.discrete:
            return [_fmt(b, digits) for b in self.bounds]
        whole = self.integers and float(self.minimum).is_integer()
        lows = [self.minimum, *(np.floor(self.bounds[:-1]) + 1 if whole else self.bounds[:-1])]
        highs = np.floor(self.bounds) if whole else self.bounds
        out = []
        for lo, hi in zip(lows, highs, strict=True):
            if whole and lo >= hi:
                out.append(_fmt(hi, digits) if lo == hi else "–")  # one whole number, or none at all
            else:
                out.append(f"{_fmt(lo, digits)} – {_fmt(hi, digits)}")
        return out


def _fmt(x: float, digits: int) -> str:
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.{digits}f}"


def classify(values: pd.Series | np.ndarray, *, scheme: str = "natural_breaks", k: int = 5,
             direction: int = 0) -> Classes:
    """Classify ``values`` for a choropleth with mapclassify.

    Parameters
    ----------
    values
        Numbers; NaN marks no data.
    scheme
        ``natural_breaks`` (Jenks), ``quantiles`` or ``equal_interval``.
    k
        At most this many classes (1–5); fewer when there are fewer distinct values.
    direction
        +1 when more is better (greens), -1 when more is worse (reds), 0 blues.
    """
    if not 1 <= k <= 5:
        msg = f"k must be between 1 and 5 classes, not {k}"
        raise DataError(msg)
    x = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype="float64")
    ok = np.isfinite(x)
    index = np.full(len(x), -1, dtype=np.int64)
    palette_full = _BETTER if direction > 0 else _WORSE if direction < 0 else _NEUTRAL
    if not ok.any():
        return Classes(index, np.array([]), float("nan"), [])
    distinct = np.unique(x[ok])
    k = int(min(k, len(distinct)))
    if k == len(distinct):
        # Few distinct values: one class each, no algorithm needed.
        bounds = distinct
        index[ok] = np.searchsorted(bounds, x[ok])
    else:
        import mapclassify  # with scipy and scikit-learn, most of a server's import time: only when a map needs it

        klass = {
            "natural_breaks": mapclassify.NaturalBreaks,
            "quantiles": mapclassify.Quantiles,
            "equal_interval": mapclassify.EqualInterval,
        }.get(scheme)
        if klass is None:
            msg = f"unknown classification scheme {scheme!r}; use natural_breaks, quantiles or equal_interval"
            raise DataError(msg)
        kwargs: dict[str, Any] = {"k": k}
        if klass is mapclassify.NaturalBreaks:
            kwargs["initial"] = 10  # deterministic enough, and fast for a few hundred grids
        # NaturalBreaks runs k-means from random starts on numpy's global generator:
        # seed it for the call so the same data always gets the same map.
        state = np.random.get_state()
        try:
            np.random.seed(0)
            result = klass(x[ok], **kwargs)
        finally:
            np.random.set_state(state)
        bounds = np.asarray(result.bins, dtype="float64")
        index[ok] = np.asarray(result.yb, dtype=np.int64)
    k = len(bounds)
    # Spread the palette over the classes actually present (2 classes: lightest and darkest).
    picks = np.round(np.linspace(0, 4, k)).astype(int) if k > 1 else np.array([0])
    colors = [palette_full[i] for i in picks]
    integers = bool(np.all(np.mod(distinct, 1) == 0))
    return Classes(index, bounds, float(distinct[0]), colors, discrete=k == len(distinct), integers=integers)


class Legend(MacroElement):
    """A legend box (a Leaflet control) with a title and colour swatches.

    Parameters
    ----------
    title
        Heading of the box.
    items
        ``(colour, label, kind)`` rows; kind is ``box``, ``line`` or ``dot``.
    note
        Small text under the rows.
    position
        A Leaflet control position.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.gsLegend({position: {{ this.position|tojson }}, html: {{ this.html|tojson }}})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, title: str, items: list[tuple[str, str, str]], *, note: str = "",
                 position: str = "bottomright") -> None:
        super().__init__()
        self._name = "GsLegend"
        self.position = position
        rows = "".join(
            f'<div class="gs-legend-row"><span class="gs-swatch gs-{html.escape(kind)}" '
            f'style="{"border-color" if kind == "line" else "background"}:{html.escape(color)}"></span>'
            f"<span>{html.escape(label)}</span></div>"
            for color, label, kind in items
        )
        note_html = f'<div class="gs-note">{html.escape(note)}</div>' if note else ""
        self.html = f"<h4>{html.escape(title)}</h4>{rows}{note_html}"
