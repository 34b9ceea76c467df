"""Confidence intervals and pass@k for a report's figures: Wilson's interval for a success rate, a
normal interval for a mean, and the unbiased pass@k over problems tried several times."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

Z95 = 1.959964


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson(successes: int, trials: int, z: float = Z95) -> Interval | None:
    """The 95% Wilson score interval of a success rate (None without a trial)."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(values: list[float], z: float = Z95) -> Interval | None:
    """The 95% normal interval of a mean (None for fewer than two values)."""
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    half = z * statistics.stdev(values) / math.sqrt(len(values))
    return Interval(mean - half, mean + half)


def pass_at_k(trials: list[tuple[int, int]], k: int) -> float | None:
    """The chance that at least one of k tries of a problem succeeds, averaged over the problems with
    at least k tries; ``trials`` holds each problem's (tries, successes). None when no problem has k."""
    estimates = [1.0 - (math.comb(n - c, k) / math.comb(n, k) if n - c >= k else 0.0) for n, c in trials if n >= k]
    return statistics.fmean(estimates) if estimates else None
