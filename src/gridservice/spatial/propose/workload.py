"""Workload: each unit's weighted share of the criteria (households, work orders, area)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from gridservice.errors import DataError

#: Default workload weights (SPEC §1: balanced automatic proposals).
DEFAULT_WEIGHTS: dict[str, float] = {"households": 1.0, "work_orders": 0.3, "area": 0.1}
#: Weight names that are not a column name of their own.
WEIGHT_ALIASES = {"area": "area_km2"}


def parse_weights(text: str | Mapping[str, float] | None) -> dict[str, float]:
    """Workload weights from ``"households=1,work_orders=0.3,area=0.1"`` (or a mapping).

    Raises
    ------
    DataError
        On a malformed item or a negative weight, or when all weights are 0.

    Examples
    --------
    >>> parse_weights("households=1, area=0.5")
    {'households': 1.0, 'area': 0.5}
    """
    if text is None:
        return dict(DEFAULT_WEIGHTS)
    items: dict[str, object]
    if isinstance(text, Mapping):
        items = {str(k): v for k, v in text.items()}
    else:
        items = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                msg = f"weights: {part!r} is not name=value (e.g. households=1,work_orders=0.3,area=0.1)"
                raise DataError(msg)
            items[name.strip()] = value.strip()
    out: dict[str, float] = {}
    for key, given in items.items():
        try:
            w = float(given)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            msg = f"weights: {key}={given!r} is not a number"
            raise DataError(msg) from None
        if not math.isfinite(w) or w < 0:
            msg = f"weights: {key}={given} must be a number ≥ 0"
            raise DataError(msg)
        out[key] = w
    if not out or sum(out.values()) <= 0:
        msg = "weights: at least one weight must be above 0"
        raise DataError(msg)
    return out


def workload(frame: pd.DataFrame, weights: Mapping[str, float] | str | None = None) -> pd.Series:
    """Each row's weighted share of the criteria; the shares add up to 1.

    Each criterion column is divided by its total (a criterion whose total is
    0 is left out), then the shares are combined with the weights normalised
    to sum to 1. ``area`` reads the ``area_km2`` column. Without ``weights``
    the defaults apply to the criteria the frame has.

    Raises
    ------
    DataError
        When a weighted criterion is not a column of ``frame``.
    """
    if weights is None:  # the defaults, for the criteria the frame has
        weights = {k: v for k, v in DEFAULT_WEIGHTS.items() if WEIGHT_ALIASES.get(k, k) in frame.columns}
        weights = weights or {"households": 1.0}
    weights = parse_weights(weights)
    parts: list[tuple[float, np.ndarray]] = []
    for name, w in weights.items():
        if w == 0:
            continue
        col = WEIGHT_ALIASES.get(name, name)
        if col not in frame.columns:
            known = ", ".join(k for k in ("households", "work_orders", "area")
                              if WEIGHT_ALIASES.get(k, k) in frame.columns)
            msg = f"weights: no criterion {name!r} (known: {known})"
            raise DataError(msg)
        x = pd.to_numeric(frame[col], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        total = x.sum()
        if total > 0:
            parts.append((w, x / total))
    if not parts:
        return pd.Series(np.full(len(frame), 1.0 / max(len(frame), 1)), index=frame.index, name="workload")
    wsum = sum(w for w, _ in parts)
    load = sum(w * x for w, x in parts) / wsum
    return pd.Series(load, index=frame.index, name="workload")
