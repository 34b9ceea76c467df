"""A container's startup, readiness and liveness probes, run as the kubelet's prober runs them:
startup first, then readiness and liveness side by side, each on its period with its thresholds;
readiness sets the container's Ready, a failed liveness or startup probe restarts the container.

A probe's first run comes at once after its initial delay, then one every period, on a ticker that
drops the ticks a slow probe misses. Besides its ticks, a readiness probe runs when the kubelet syncs
the pod's status while the container is not Ready yet, as the kubelet's prober manager does
(UpdatePodStatus triggers a manual run): the first such sync follows the container's start at the next
relist of the kubelet's pod lifecycle event generator, which looks at every container once a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import TYPE_CHECKING, Any

from remedlab.api.probe_timing import ProbeTiming
from remedlab.cluster.node.container_exec import exec_to_end
from remedlab.cluster.node.container_runtime import ContainerRuntime
from remedlab.cluster.node.probes import ProbeResult, run_probe

if TYPE_CHECKING:
    from remedlab.cluster.node.pod_worker import PodWorker


def start_probes(worker: PodWorker, c: ContainerRuntime) -> None:
    """Probe a container that just started; with no readiness nor startup probe it is Ready at once."""
    readiness = c.spec.get("readinessProbe")
    liveness = c.spec.get("livenessProbe")
    startup = c.spec.get("startupProbe")
    if readiness is None and startup is None:
        c.ready = True
    probes = ContainerProbes(worker, c)
    c.probe_tasks = [asyncio.create_task(probes.run(readiness, liveness, startup))]
    if readiness is not None:
        probes.sync_at_next_relist()


class ContainerProbes:
    def __init__(self, worker: PodWorker, c: ContainerRuntime) -> None:
        self.worker = worker
        self.c = c
        self.manual_run = asyncio.Event()  # a readiness run asked for by a status sync (one kept at most)

    def sync_at_next_relist(self) -> None:
        """At the relist that sees the container started, the pod's status sync asks for a readiness run
        unless the container is Ready by then."""
        loop = asyncio.get_running_loop()
        origin, period = self.worker.kubelet.relist_origin, self.worker.kubelet.config.relist_period
        at = origin + math.ceil((loop.time() - origin) / period) * period
        loop.call_at(at, lambda: None if self.c.ready else self.manual_run.set())

    async def _probe(self, probe: dict[str, Any]) -> ProbeResult:
        worker, c = self.worker, self.c
        k = worker.kubelet

        async def connect(ip: str, port: int, timeout: float) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            return await k.dataplane.open_to_pod(worker.uid, ip, port, timeout)

        async def run_exec(command: list[str], timeout: float) -> tuple[int, str]:
            out, err, code = await exec_to_end(k.images, worker, c, command, timeout)
            return code, out + err

        return await run_probe(probe, c.spec, worker.pod_ip, connect, run_exec)

    async def run(
        self,
        readiness: dict[str, Any] | None,
        liveness: dict[str, Any] | None,
        startup: dict[str, Any] | None,
    ) -> None:
        worker, c = self.worker, self.c
        if startup is not None:
            timing = ProbeTiming.of(startup)
            await asyncio.sleep(timing.initial_delay_seconds)
            failures = 0
            while True:
                result = await self._probe(startup)
                if result.ok:
                    break
                failures += 1
                if failures >= timing.failure_threshold:
                    worker.event("Unhealthy", f"Startup probe failed: {result.message}", "Warning", c.name)
                    await self._kill(c, "startup", startup)
                    return
                await asyncio.sleep(timing.period_seconds)
            if readiness is None:
                c.ready = True
                worker.publish()
        tasks = []
        if readiness is not None:
            tasks.append(self._run_kind("Readiness", readiness))
        if liveness is not None:
            tasks.append(self._run_kind("Liveness", liveness))
        if tasks:
            await asyncio.gather(*tasks)

    async def _run_kind(self, kind: str, probe: dict[str, Any]) -> None:
        worker, c = self.worker, self.c
        timing = ProbeTiming.of(probe)
        await asyncio.sleep(timing.initial_delay_seconds)
        successes = failures = 0
        loop = asyncio.get_running_loop()
        tick = loop.time()
        while True:
            if kind == "Readiness":
                self.manual_run.clear()  # this run answers it (and one asked for during the initial delay)
            result = await self._probe(probe)
            if result.ok:
                successes, failures = successes + 1, 0
            else:
                successes, failures = 0, failures + 1
                worker.event("Unhealthy", f"{kind} probe failed: {result.message}", "Warning", c.name)
            if kind == "Readiness":
                if successes >= timing.success_threshold and not c.ready:
                    c.ready = True
                    worker.publish()
                elif failures >= timing.failure_threshold and c.ready:
                    c.ready = False
                    worker.publish()
            elif failures >= timing.failure_threshold:
                await self._kill(c, "liveness", probe)
                return
            while tick <= loop.time():  # the next tick; those a slow probe missed are dropped
                tick += timing.period_seconds
            if kind == "Readiness" and not c.ready:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.manual_run.wait(), tick - loop.time())
            else:
                await asyncio.sleep(tick - loop.time())

    async def _kill(self, c: ContainerRuntime, kind: str, probe: dict[str, Any]) -> None:
        self.worker.event("Killing", f"Container {c.name} failed {kind} probe, will be restarted", container=c.name)
        grace = probe.get("terminationGracePeriodSeconds")
        if c.process is not None:
            await c.process.stop(float(grace if grace is not None else self.worker.grace))
