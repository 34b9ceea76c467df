"""A workload that is not requests: the rounds of a federated learning app, followed as they finish.

Flower's users are not people sending requests; what they feel is whether training goes on. An app
whose ``workload.yaml`` says ``kind: rounds`` names the Service and port of an exporter that serves its
finished rounds as JSON (``GET /rounds?after=N``, as ``apps/flower/round_exporter.py`` does). The server
follows it and counts each finished round as one "request" of the workload, at the second the round
started, its duration as the latency and, as its outcome:

- ``ok``: every expected client took part (``clients``), none failed, and the global model's accuracy
  is at the level clean rounds of the same number reached (within ``accuracy_tolerance``);
- ``client_failed`` (a client's training failed), ``clients_missing`` (fewer clients than expected)
  or ``low_accuracy``.

The baseline, the quiet period, the oracle's windows and its sequential test and the episode timeline
then read rounds as they read requests. Training that stalls shows too: once no round has finished
for ``stall_seconds``, the seconds since count as complete, and a window of them holds no round.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from remedlab.observe.workload.generator import Target
from remedlab.observe.workload.running import Workload
from remedlab.observe.workload.stats import Summary, WorkloadStats

ROUNDS_KIND = "rounds"
ROUND = "round"
"""The kind of every request of a rounds workload."""
OK, CLIENT_FAILED, CLIENTS_MISSING, LOW_ACCURACY = "ok", "client_failed", "clients_missing", "low_accuracy"
POLL_SECONDS = 0.5
KEPT_KEYS = 4096


class RoundsSpec(BaseModel):
    """A ``kind: rounds`` workload file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = ROUNDS_KIND
    service: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    path: str = "/rounds"
    clients: int = Field(ge=1, description="clients a clean round aggregates")
    accuracy_tolerance: float = Field(default=0.05, ge=0, le=1)
    stall_seconds: float = Field(default=60.0, gt=0)
    min_window_seconds: float = Field(default=20.0, ge=0)
    """The shortest window the server reads (a baseline, a quiet period): it must hold a few rounds."""
    latency_slack_ms: float = Field(default=0.0, ge=0)
    """How much slower than the baseline's p95 a healthy round may be, on top of the oracle's own slack."""


class RoundsSpecError(ValueError):
    """The workload file is not a valid rounds workload; the message says what is wrong."""


def parse_rounds_spec(data: Mapping[str, Any], source: str) -> RoundsSpec:
    try:
        return RoundsSpec.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the file"
        raise RoundsSpecError(f"{source}: {where}: {first['msg']}") from None


class RoundRecordView(BaseModel):
    """What a rounds workload reads of a round record (an exporter may say more)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    run_id: int
    round: int
    started: float
    duration_seconds: float
    clients: int
    failures: int
    accuracy: float


class RoundWorkload(Workload):
    """Follows an app's finished rounds into per-second workload statistics (see the module's text)."""

    kind = ROUNDS_KIND

    def __init__(self, target: Target, spec: RoundsSpec, poll_seconds: float = POLL_SECONDS) -> None:
        self.target = target
        self.spec = spec
        self.poll_seconds = poll_seconds
        self._stats = WorkloadStats()
        self.reference: dict[int, float] = {}
        """The accuracy clean rounds reached, by round number: the level a healthy round comes back to."""
        self.latency_slack_ms = spec.latency_slack_ms
        self.min_window_seconds = spec.min_window_seconds
        self._after = 0
        self._seen: deque[tuple[int, int]] = deque(maxlen=KEPT_KEYS)
        self._last_end: float | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def stats(self) -> WorkloadStats:
        return self._stats

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("this workload has already been started")
        self.stats.started_at = time.time()
        self._task = asyncio.create_task(self._follow(), name=f"remedlab-rounds-{self.target}")

    async def stop(self, drain: bool = False) -> Summary:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return self.summary()

    async def _follow(self) -> None:
        url = self.target.url(self.spec.path)
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(trust_env=False, timeout=timeout) as session:
            while True:
                with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                    async with session.get(url, params={"after": str(self._after)}) as response:
                        if response.status == 200:
                            self.take(await response.json())
                await asyncio.sleep(self.poll_seconds)

    def take(self, body: Mapping[str, Any]) -> int:
        """Record the rounds of one ``/rounds`` answer; how many were new. An exporter that restarted
        numbers from 1 again (and may repeat rounds it had served): rounds are known by run and number."""
        last = int(body.get("last") or 0)
        if last < self._after:  # the exporter restarted: read all it has again
            self._after = 0
            return 0
        new = 0
        for raw in body.get("rounds") or []:
            try:
                record = RoundRecordView.model_validate(raw)
            except ValidationError:
                continue
            key = (record.run_id, record.round)
            if key in self._seen:
                continue
            self._seen.append(key)
            self._record(record)
            new += 1
        self._after = last
        return new

    def outcome(self, record: RoundRecordView) -> str:
        if record.failures:
            return CLIENT_FAILED
        if record.clients < self.spec.clients:
            return CLIENTS_MISSING
        level = self.reference.get(record.round)
        if level is not None and record.accuracy < level - self.spec.accuracy_tolerance:
            return LOW_ACCURACY
        self.reference[record.round] = max(level or 0.0, record.accuracy)
        return OK

    def _record(self, record: RoundRecordView) -> None:
        outcome = self.outcome(record)
        end = record.started + record.duration_seconds
        self._last_end = end if self._last_end is None else max(self._last_end, end)
        offset = record.started - self.stats.started_at
        if offset < 0:
            return  # a round from before the workload began: it only teaches the accuracy's level
        self.stats.record_sent(offset, kind=ROUND)
        self.stats.record_result(offset, record.duration_seconds, outcome, kind=ROUND)

    def complete_seconds(self) -> int:
        """Seconds of the workload that hold every round they will ever hold: up to the end of the last
        finished round (the next starts after it), or up to ``stall_seconds`` ago when none has ended since."""
        now = time.time()
        settled = max(self._last_end or self.stats.started_at, now - self.spec.stall_seconds)
        return max(0, math.floor(min(settled, now) - self.stats.started_at))
