"""The round records the digits ServerApp writes (one JSON line per round, see ``fedapp``), and the
Prometheus series they make."""

from __future__ import annotations

from collections import deque

from pydantic import BaseModel, ConfigDict

from remedlab.apps.kit.metrics import format_value


class RoundRecord(BaseModel):
    """One finished round of a run."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event: str
    run_id: int
    trace_id: str
    round: int
    started: float
    duration_seconds: float
    nodes: int
    clients: int
    failures: int
    loss: float
    accuracy: float
    errors: list[str] = []

    @property
    def end(self) -> float:
        return self.started + self.duration_seconds


def parse_round(line: str) -> RoundRecord | None:
    """The record a line holds, or None for any other line."""
    line = line.strip()
    if not line.startswith("{") or '"event": "round"' not in line:
        return None
    try:
        return RoundRecord.model_validate_json(line)
    except ValueError:
        return None


KEPT_ROUNDS = 2000
"""How many of the latest round records the exporter keeps for ``/rounds``."""


class RoundSeries:
    """Counters over every round seen and gauges of the last one, as Prometheus text; the latest records,
    numbered from 1 in the order seen, for readers that follow them (``since``)."""

    def __init__(self) -> None:
        self.kept: deque[RoundRecord] = deque(maxlen=KEPT_ROUNDS)
        self.rounds = 0
        self.degraded = 0
        self.failed_clients = 0
        self.duration_sum = 0.0
        self.last: RoundRecord | None = None

    def add(self, record: RoundRecord) -> None:
        self.kept.append(record)
        self.rounds += 1
        self.degraded += 1 if record.failures else 0
        self.failed_clients += record.failures
        self.duration_sum += record.duration_seconds
        self.last = record

    def since(self, seen: int) -> list[RoundRecord]:
        """The kept records after the first ``seen`` ones (``rounds`` is the number of the last)."""
        return list(self.kept)[max(0, len(self.kept) - (self.rounds - seen)) :] if seen < self.rounds else []

    def samples(self) -> list[tuple[str, str, str, float]]:
        """(name, type, help, value) of every series."""
        out = [
            ("flower_rounds_total", "counter", "Federated learning rounds finished.", float(self.rounds)),
            ("flower_rounds_degraded_total", "counter", "Rounds in which a node failed or was silent.", self.degraded),
            ("flower_round_client_failures_total", "counter", "Client results missing.", self.failed_clients),
            ("flower_round_duration_seconds_sum", "counter", "Total duration of the rounds.", self.duration_sum),
        ]
        last = self.last
        if last is not None:
            out += [
                ("flower_round_number", "gauge", "The last round's number in its run.", last.round),
                ("flower_round_last_duration_seconds", "gauge", "The last round's duration.", last.duration_seconds),
                ("flower_round_nodes", "gauge", "Nodes the last round was sent to.", last.nodes),
                ("flower_round_clients", "gauge", "Clients whose results the last round aggregated.", last.clients),
                ("flower_round_failures", "gauge", "Clients that failed in the last round.", last.failures),
                ("flower_round_loss", "gauge", "Test loss of the global model.", last.loss),
                (
                    "flower_round_accuracy",
                    "gauge",
                    "Test accuracy of the global model.",
                    last.accuracy,
                ),
                (
                    "flower_round_end_timestamp_seconds",
                    "gauge",
                    "When the last round ended.",
                    last.started + last.duration_seconds,
                ),
            ]
        return [(name, kind, text, float(value)) for name, kind, text, value in out]

    def exposition(self) -> str:
        lines: list[str] = []
        for name, kind, text, value in self.samples():
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", f"{name} {format_value(value)}"]
        return "\n".join(lines) + "\n"
