"""What the server, the oracle and the episodes read of a workload while it runs: its per-second
statistics and the seconds of it that are complete. Two kinds run: requests sent to an app's entry
(``generator.WorkloadRunner``) and the rounds of a federated learning app (``rounds.RoundWorkload``)."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

from remedlab.observe.workload.stats import Summary, WorkloadStats


class Workload(ABC):
    kind: str = "requests"
    """What counts as one request: an HTTP request, or a round of training ("rounds")."""

    latency_slack_ms: float = 0.0
    """How much slower than the baseline's p95 a healthy system's latency may be, on top of the oracle's
    own slack: 0 for requests; rounds of training vary by seconds."""

    min_window_seconds: float = 0.0
    """The shortest window worth reading: a window of requests can be a second long, one of rounds of
    training must hold a few of them."""

    @property
    @abstractmethod
    def stats(self) -> WorkloadStats: ...

    @property
    @abstractmethod
    def running(self) -> bool: ...

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self, drain: bool = True) -> Summary: ...

    @abstractmethod
    def complete_seconds(self) -> int:
        """Seconds of the workload whose every request has been sent (their buckets get no new one)."""

    def window(self, seconds: float) -> Summary:
        """The last `seconds` complete seconds (all of them once the run ended)."""
        end = self.complete_seconds()
        return self.stats.summarize(max(0, end - math.ceil(seconds)), end)

    def summarize(self, from_t: float, to_t: float) -> Summary:
        """Requests sent in seconds [from_t, to_t) of the run."""
        return self.stats.summarize(from_t, to_t)

    def summary(self) -> Summary:
        """The whole run so far."""
        return self.stats.summarize(0, max(self.complete_seconds(), self.stats.seconds))

    def window_by_kind(self, seconds: float) -> dict[str, Summary]:
        """:meth:`window`, for each kind of request."""
        end = self.complete_seconds()
        return self.stats.summarize_kinds(max(0, end - math.ceil(seconds)), end)

    def summary_by_kind(self) -> dict[str, Summary]:
        """:meth:`summary`, for each kind of request."""
        return self.stats.summarize_kinds(0, max(self.complete_seconds(), self.stats.seconds))

    def per_second(self) -> list[Summary]:
        return self.stats.per_second()
