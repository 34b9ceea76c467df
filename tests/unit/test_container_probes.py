"""When the kubelet runs a container's readiness probe: at once after the initial delay, then on its
period's ticks, and, while the container is not Ready, when the relist after its start syncs the pod."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, cast

from remedlab.cluster.node.container_probes import ContainerProbes
from remedlab.cluster.node.container_runtime import ContainerRuntime
from remedlab.cluster.node.kubelet import KubeletConfig
from remedlab.cluster.node.pod_worker import PodWorker
from remedlab.cluster.node.probes import ProbeResult

RELIST = 0.3  # a short relist period keeps the test quick; the kubelet's is 1 s


@dataclass
class FakeKubelet:
    config: KubeletConfig = field(default_factory=lambda: KubeletConfig(relist_period=RELIST))
    relist_origin: float = field(default_factory=time.monotonic)


@dataclass
class FakeWorker:
    kubelet: FakeKubelet = field(default_factory=FakeKubelet)
    events: list[str] = field(default_factory=list)
    published: int = 0

    def event(self, reason: str, message: str, type_: str = "Normal", container: str | None = None) -> None:
        self.events.append(reason)

    def publish(self) -> None:
        self.published += 1


class ScriptedProbes(ContainerProbes):
    """Probes whose target answers from ``ready_after`` seconds on; the times of the runs are kept."""

    def __init__(self, worker: FakeWorker, ready_after: float) -> None:
        container = ContainerRuntime(spec={"name": "c"}, log=cast(Any, None))
        super().__init__(cast(PodWorker, worker), container)
        self.started = time.monotonic()
        self.ready_after = ready_after
        self.runs: list[float] = []

    async def _probe(self, probe: dict[str, Any]) -> ProbeResult:
        self.runs.append(time.monotonic() - self.started)
        return ProbeResult(self.runs[-1] >= self.ready_after, "connection refused")


async def _readiness(probes: ScriptedProbes, probe: dict[str, Any], until: float, at_relist: bool) -> None:
    if at_relist:
        probes.sync_at_next_relist()
    task = asyncio.create_task(probes._run_kind("Readiness", probe))
    await asyncio.sleep(until)
    task.cancel()


def test_a_container_listening_soon_after_its_start_is_ready_at_the_relist_not_a_period_later() -> None:
    probes = ScriptedProbes(FakeWorker(), ready_after=0.05)
    asyncio.run(_readiness(probes, {"periodSeconds": 30}, until=1.0, at_relist=True))
    assert probes.runs[0] < 0.05  # the first run at once, too soon
    assert probes.c.ready and len(probes.runs) == 2 and probes.runs[1] <= RELIST + 0.1, probes.runs
    # without a relist, the next run waits for the period's tick
    slow = ScriptedProbes(FakeWorker(), ready_after=0.05)
    asyncio.run(_readiness(slow, {"periodSeconds": 30}, until=1.0, at_relist=False))
    assert not slow.c.ready and len(slow.runs) == 1


def test_runs_keep_to_the_period_s_ticks_after_a_relist() -> None:
    probes = ScriptedProbes(FakeWorker(), ready_after=99)
    asyncio.run(_readiness(probes, {"periodSeconds": 1}, until=2.2, at_relist=True))
    at_once, relist, *ticks = probes.runs
    assert at_once < 0.05 and relist <= RELIST + 0.1
    assert [round(t) for t in ticks] == [1, 2], probes.runs  # the relist's run moved no tick


def test_a_relist_during_the_initial_delay_runs_nothing() -> None:
    probes = ScriptedProbes(FakeWorker(), ready_after=0.0)
    asyncio.run(_readiness(probes, {"periodSeconds": 30, "initialDelaySeconds": 1}, until=1.3, at_relist=True))
    assert len(probes.runs) == 1 and probes.runs[0] >= 1.0, probes.runs
