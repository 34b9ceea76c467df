"""A probe's timing, with the defaults Kubernetes gives the fields a pod spec leaves out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProbeTiming:
    initial_delay_seconds: float = 0.0
    period_seconds: float = 10.0
    timeout_seconds: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3

    @classmethod
    def of(cls, probe: Mapping[str, Any]) -> ProbeTiming:
        """The timing of a probe as a pod spec gives it (camelCase fields, any of them left out)."""
        default = cls()
        return cls(
            float(probe.get("initialDelaySeconds", default.initial_delay_seconds)),
            float(probe.get("periodSeconds", default.period_seconds)),
            float(probe.get("timeoutSeconds", default.timeout_seconds)),
            int(probe.get("successThreshold", default.success_threshold)),
            int(probe.get("failureThreshold", default.failure_threshold)),
        )

    @property
    def seconds_to_fail(self) -> float:
        """How long a probe that starts failing takes at most to reach its failure threshold."""
        return self.failure_threshold * self.period_seconds + self.timeout_seconds
