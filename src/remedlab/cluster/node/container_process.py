"""One running instance of a container: a process tree, its logs, its ending."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable

import psutil

from remedlab.cluster.node.container_logs import ContainerLog

PreExec = Callable[[], None]


def kill_tree(pid: int, sig: int) -> None:
    """Signal a process's group, and every descendant that left the group, once each."""
    try:
        descendants = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    group_signalled = False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
        group_signalled = True
    targets = list(descendants)
    if not group_signalled:
        with contextlib.suppress(psutil.Error):
            targets.insert(0, psutil.Process(pid))  # gone already when it was just reaped
    for proc in targets:
        with contextlib.suppress(psutil.Error, ProcessLookupError, PermissionError):
            if group_signalled and os.getpgid(proc.pid) == pid:
                continue  # the group signal reached it already
            proc.send_signal(sig)


def process_start_time(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


class ContainerProcess:
    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: str | None,
        log: ContainerLog,
        preexec: PreExec | None,
    ) -> None:
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.log = log
        self.preexec = preexec
        self.proc: asyncio.subprocess.Process | None = None
        self.started_at = 0.0
        self.start_time = 0.0
        self._pumps: list[asyncio.Task[None]] = []

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self) -> int:
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
            preexec_fn=self.preexec,
        )
        self.started_at = time.time()
        self.start_time = process_start_time(self.proc.pid) or self.started_at
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._pumps = [
            asyncio.create_task(self._pump(self.proc.stdout, "stdout")),
            asyncio.create_task(self._pump(self.proc.stderr, "stderr")),
        ]
        return self.proc.pid

    async def _pump(self, stream: asyncio.StreamReader, name: str) -> None:
        while True:
            try:
                line = await stream.readline()
            except ValueError:  # a line longer than the buffer: take what is there
                line = await stream.read(65536)
            except (ConnectionError, asyncio.CancelledError):
                return
            if not line:
                return
            self.log.write(name, line.rstrip(b"\n"))

    async def wait(self) -> int:
        assert self.proc is not None
        code = await self.proc.wait()
        # the logs of a finished process: give the pumps a moment to drain
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self._pumps, return_exceptions=True), 0.5)
        for pump in self._pumps:
            pump.cancel()
        return code

    def signal_all(self, sig: int) -> None:
        if self.proc is not None and self.proc.returncode is None:
            kill_tree(self.proc.pid, sig)
        elif self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)

    async def stop(self, grace_seconds: float) -> None:
        """SIGTERM, then SIGKILL of the whole tree after the grace period."""
        if self.proc is None:
            return
        if self.proc.returncode is None and grace_seconds > 0:
            self.signal_all(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.proc.wait()), grace_seconds)
        self.signal_all(signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.proc.wait()), 5)
