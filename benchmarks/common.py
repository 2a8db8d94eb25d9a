"""What the benchmarks share: timing and the demo area (run them as scripts: ``python benchmarks/NAME.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pandas as pd

from gridservice.demo import build_demo
from gridservice.model import ServiceArea
from gridservice.workspace import derive

T = TypeVar("T")


def best_of(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """The fastest wall time of ``repeat`` runs of ``fn`` (the machine may be shared), and the last result."""
    best, out = float("inf"), None
    for _ in range(max(repeat, 1)):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out  # type: ignore[return-value]


def with_cpu(fn: Callable[[], T]) -> tuple[float, T]:
    """The CPU seconds this process spent in ``fn`` (beside wall time it shows a busy machine), and the result."""
    c = time.process_time()
    out = fn()
    return time.process_time() - c, out


#: The demo's as_of in the benchmarks that pin it (a Monday evening, as the tests' demo).
AS_OF = "2026-11-30T18:00:00+08:00"


def demo_area(customers: int, *, as_of: str | None = AS_OF) -> tuple[ServiceArea, pd.DataFrame, float]:
    """The demo territory of ``customers`` in memory, derived as the faces see it (grid ids located),
    its ``demo_manifest`` of planted problems, and the seconds building it took."""
    t = time.perf_counter()
    frames = build_demo(customers=customers, seed=0, as_of=as_of)
    manifest = frames.pop("demo_manifest")
    return derive(ServiceArea(frames)), manifest, time.perf_counter() - t
