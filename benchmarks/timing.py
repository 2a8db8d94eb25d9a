"""Timing shared by the benchmarks (run them as scripts: ``python benchmarks/NAME.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

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
