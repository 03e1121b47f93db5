"""Small statistics helpers: median of repeats and latency percentiles (nearest-rank)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty sequence."""
    rank = max(math.ceil(fraction * len(sorted_values)), 1)
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class Latency:
    """Latency distribution in milliseconds."""

    count: int
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        if not seconds:
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        ms = sorted(value * 1000 for value in seconds)
        return cls(len(ms), percentile(ms, 0.50), percentile(ms, 0.95), percentile(ms, 0.99),
                   ms[-1])
