"""Container limits under real memory and CPU pressure, with cgroups and with the fallback supervisor."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from remedlab.cluster.node.isolation import ContainerLimits, ContainerSandbox, Isolation

pytestmark = pytest.mark.integration

MiB = 2**20
# Allocates and touches 200 MB in 10 MB steps, then lingers so a sampling watchdog can see it.
HOG = "import time\nchunks = [b'x' * (10 * 2**20) for _ in range(20)]\ntime.sleep(10)\n"
BUSY = "while True: pass"
MEASURE_S = 1.5
MAX_CORES = 0.45  # a 200m limit; the bound checks behaviour, not precision


@pytest.fixture(params=["cgroups", "fallback"])
def isolation(request: pytest.FixtureRequest) -> Iterator[Isolation]:
    cluster_id = f"test-{uuid.uuid4().hex[:10]}"
    iso = Isolation.detect(cluster_id, prefer_fallback=request.param == "fallback")
    if request.param == "cgroups" and not iso.uses_cgroups:
        pytest.skip(f"cgroups not writable here: {iso.fallback_reason}")
    try:
        yield iso
    finally:
        iso.cleanup_cluster()


async def _start(sandbox: ContainerSandbox, code: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, preexec_fn=sandbox.preexec)
    sandbox.attach(proc.pid)
    return proc


def test_memory_limit_oom_kills(isolation: Isolation) -> None:
    sandbox = isolation.sandbox("pod-oom", "hog", ContainerLimits(memory_bytes=64 * MiB))

    async def main() -> None:
        try:
            proc = await _start(sandbox, HOG)
            returncode = await asyncio.wait_for(proc.wait(), timeout=8)
            assert returncode == -signal.SIGKILL
            assert sandbox.oom_killed()
            sandbox.reset_oom()
            assert not sandbox.oom_killed()
        finally:
            await sandbox.close()

    asyncio.run(main())


def test_cpu_limit_throttles_a_busy_loop(isolation: Isolation) -> None:
    sandbox = isolation.sandbox("pod-cpu", "busy", ContainerLimits(cpu_millicores=200))

    async def main() -> None:
        try:
            proc = await _start(sandbox, BUSY)
            await asyncio.sleep(0.2)
            before, start = sandbox.usage().cpu_seconds, time.monotonic()
            await asyncio.sleep(MEASURE_S)
            used = sandbox.usage().cpu_seconds - before
            cores = used / (time.monotonic() - start)
            assert 0.05 < cores < MAX_CORES, f"{cores:.2f} cores under a 200m limit"
            sandbox.kill_all(signal.SIGKILL)
            assert await asyncio.wait_for(proc.wait(), timeout=5) == -signal.SIGKILL
            assert not sandbox.oom_killed()
        finally:
            await sandbox.close()

    asyncio.run(main())
