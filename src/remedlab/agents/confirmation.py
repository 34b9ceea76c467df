"""How long evidence must hold before the baseline acts on it, or answers from it."""

from __future__ import annotations

from remedlab.agents.findings import SICK_SERVICE, Finding


class Confirmation:
    """Evidence from other services (callers' failures, latency: the sick-service rule) must blame the same
    deployment on every look for ``seconds`` before the runbook acts on it, so that the traces and metrics
    of the real cause have time to show: a call in flight to a stalled database is in no trace until it
    ends, while its caller's callers have given up on it already. A pod's own state is enough at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._since: dict[str, float] = {}

    def actionable(self, findings: list[Finding], now: float) -> list[Finding]:
        """The findings to act on, of those of a look taken at ``now``."""
        blamed = {f.deployment for f in findings if f.rule == SICK_SERVICE}
        self._since = {d: self._since.get(d, now) for d in blamed}
        return [f for f in findings if f.rule != SICK_SERVICE or now - self._since[f.deployment] >= self.seconds]

    def reset(self) -> None:
        """Forget what was seen (after an action: what comes next is new evidence)."""
        self._since = {}
