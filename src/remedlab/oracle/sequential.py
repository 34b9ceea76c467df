"""When the workload's evidence decides that a fix holds: Wald's sequential probability ratio test on
the requests users send.

Each finished request is good (it succeeded, no slower than the latency ceiling) or bad. Two
hypotheses about the share of bad requests are weighed: *healthy*, the baseline's share plus a
small allowance, and *degraded*, that share plus a margin a user would notice. The log-likelihood
ratio of degraded against healthy is summed over the requests since the checks last started to hold;
once it falls to ``ln(false_pass / (1 - false_fail))`` the fix is judged healthy: a degraded system
gets there with probability at most ``false_pass``, while a healthy one is kept from passing (and left
to the fixed window's judgement) with probability at most ``false_fail``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

HEALTHY_ALLOWANCE = 0.02
"""Bad requests a healthy system may show beyond the baseline's failures (the latency ceiling's tail)."""
DEGRADED_MARGIN = 0.15
"""How many more bad requests than a healthy system's make a system degraded, as a user feels it."""


@dataclass(frozen=True)
class Evidence:
    good: int
    bad: int
    statistic: float
    """The log-likelihood ratio of degraded against healthy (negative: evidence of health)."""
    threshold: float
    healthy: bool

    def to_dict(self) -> dict[str, float | int | bool]:
        return {
            "requests": self.good + self.bad,
            "bad": self.bad,
            "statistic": round(self.statistic, 3),
            "threshold": round(self.threshold, 3),
            "healthy": self.healthy,
        }


@dataclass(frozen=True)
class SequentialTest:
    false_pass: float = 0.01
    false_fail: float = 0.01
    baseline_bad: float = 0.0
    """The share of the baseline's requests that failed."""

    @property
    def healthy_rate(self) -> float:
        return min(0.5, self.baseline_bad + HEALTHY_ALLOWANCE)

    @property
    def degraded_rate(self) -> float:
        return min(0.99, self.healthy_rate + DEGRADED_MARGIN)

    @property
    def threshold(self) -> float:
        return math.log(self.false_pass / (1 - self.false_fail))

    def weigh(self, good: int, bad: int) -> Evidence:
        healthy, degraded = self.healthy_rate, self.degraded_rate
        statistic = bad * math.log(degraded / healthy) + good * math.log((1 - degraded) / (1 - healthy))
        return Evidence(good, bad, statistic, self.threshold, statistic <= self.threshold)
