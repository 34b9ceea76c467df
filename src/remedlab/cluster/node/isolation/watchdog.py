"""Fallback enforcement without cgroups: a memory watchdog and a SIGSTOP/SIGCONT CPU throttler.

Both work on a container's process set: the processes started for it plus every descendant seen
since (a descendant that is reparented after it was first seen stays tracked).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Iterable

import psutil

from remedlab.cluster.node.isolation.limits import CFS_PERIOD_US, ContainerLimits

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 0.1
THROTTLE_PERIOD_S = CFS_PERIOD_US / 1e6
_MIN_STEP_S = 0.005
_PPID_SNAPSHOT_TTL_S = 0.05

_snapshot_time = -1.0
_snapshot: dict[int, list[int]] = {}


def _children_map() -> dict[int, list[int]]:
    """parent pid -> child pids of the whole host, shared by all containers for a few ms."""
    global _snapshot_time, _snapshot
    now = time.monotonic()
    if now - _snapshot_time > _PPID_SNAPSHOT_TTL_S:
        children: dict[int, list[int]] = {}
        for proc in psutil.process_iter(["ppid"]):
            ppid = proc.info.get("ppid")
            if isinstance(ppid, int):
                children.setdefault(ppid, []).append(proc.pid)
        _snapshot, _snapshot_time = children, now
    return _snapshot


class ProcessSet:
    """A container's processes with cumulative CPU and IO accounting that survives their exit."""

    def __init__(self) -> None:
        self._members: dict[int, psutil.Process] = {}
        self._cpu: dict[int, float] = {}
        self._io: dict[int, tuple[int, int]] = {}
        self._retired_cpu = 0.0
        self._retired_read = 0
        self._retired_write = 0

    def add(self, pid: int) -> None:
        if pid in self._members:
            return
        try:
            self._members[pid] = psutil.Process(pid)
        except psutil.NoSuchProcess:
            return

    def sync(self, pids: Iterable[int]) -> None:
        """Make the set exactly these processes (cgroup mode: the members of cgroup.procs)."""
        wanted = set(pids)
        for pid in [p for p in self._members if p not in wanted]:
            self._retire(pid)
        for pid in wanted:
            self.add(pid)

    def expand(self) -> None:
        """Add every descendant of the tracked processes and drop the ones that exited."""
        self.prune()
        if not self._members:
            return
        children = _children_map()
        pending = list(self._members)
        while pending:
            for child in children.get(pending.pop(), ()):
                if child not in self._members:
                    self.add(child)
                    pending.append(child)

    def prune(self) -> None:
        for pid, proc in list(self._members.items()):
            if not _alive(proc):
                self._retire(pid)

    def _retire(self, pid: int) -> None:
        self._members.pop(pid, None)
        self._retired_cpu += self._cpu.pop(pid, 0.0)
        read, write = self._io.pop(pid, (0, 0))
        self._retired_read += read
        self._retired_write += write

    def processes(self) -> list[psutil.Process]:
        return list(self._members.values())

    def pids(self) -> list[int]:
        """Live (non-zombie) members."""
        return sorted(pid for pid, proc in self._members.items() if _alive(proc))

    def cpu_seconds(self) -> float:
        total = self._retired_cpu
        for pid, proc in list(self._members.items()):
            try:
                times = proc.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                total += self._cpu.get(pid, 0.0)
                continue
            self._cpu[pid] = times.user + times.system
            total += self._cpu[pid]
        return total

    def rss(self) -> int:
        total = 0
        for proc in list(self._members.values()):
            try:
                total += proc.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return total

    def io_bytes(self) -> tuple[int, int]:
        read, write = self._retired_read, self._retired_write
        for pid, proc in list(self._members.items()):
            try:
                counters = proc.io_counters()
                self._io[pid] = (counters.read_bytes, counters.write_bytes)
            except (psutil.NoSuchProcess, psutil.AccessDenied, AttributeError):
                pass
            last = self._io.get(pid, (0, 0))
            read += last[0]
            write += last[1]
        return read, write

    def signal(self, sig: int) -> None:
        for proc in list(self._members.values()):
            try:
                proc.send_signal(sig)
            except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError):
                continue


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class TreeSupervisor:
    """Enforces a container's limits over its process set from asyncio tasks.

    Memory: every 100 ms the resident set of all processes is summed; above the limit the whole set
    is SIGKILLed and the kill is counted as an OOM kill. CPU: in every 100 ms period the set runs
    until its CPU time in the period reaches the quota, then stays SIGSTOPped until the period ends;
    overshoot is carried over to the next periods, like the CFS bandwidth controller does.
    """

    def __init__(self, limits: ContainerLimits, *, interval: float = SAMPLE_INTERVAL_S) -> None:
        self.limits = limits
        self.processes = ProcessSet()
        self.oom_kills = 0
        self._interval = interval
        self._memory_task: asyncio.Task[None] | None = None
        self._cpu_task: asyncio.Task[None] | None = None
        self.throttled = False
        self.throttled_periods = 0

    def attach(self, pid: int) -> None:
        """Track a new process of the container and make sure the enforcement tasks run."""
        asyncio.get_running_loop()  # the tasks need one; fail here, not later
        self.processes.add(pid)
        self._ensure_tasks()

    def update(self, limits: ContainerLimits) -> None:
        self.limits = limits
        if limits.cpu_millicores is None and self._cpu_task is not None:
            self._cpu_task.cancel()
            self._cpu_task = None
            self._resume()
        if self._memory_task is not None:
            self._ensure_tasks()

    def _ensure_tasks(self) -> None:
        if self._memory_task is None or self._memory_task.done():
            self._memory_task = asyncio.get_running_loop().create_task(self._watch_memory())
        if self.limits.cpu_millicores is not None and (self._cpu_task is None or self._cpu_task.done()):
            self._cpu_task = asyncio.get_running_loop().create_task(self._throttle_cpu())

    def _resume(self) -> None:
        if self.throttled:
            self.throttled = False
            self.processes.signal(signal.SIGCONT)

    async def _watch_memory(self) -> None:
        while True:
            try:
                self.processes.expand()
                limit = self.limits.memory_bytes
                if limit is not None and self.processes.processes():
                    rss = self.processes.rss()
                    if rss > limit:
                        log.info(
                            "memory watchdog: %d bytes > limit %d, killing pids %s",
                            rss,
                            limit,
                            self.processes.pids(),
                        )
                        self.processes.signal(signal.SIGKILL)
                        self.oom_kills += 1
            except Exception:
                log.exception("memory watchdog sample failed")
            await asyncio.sleep(self._interval)

    async def _throttle_cpu(self) -> None:
        loop = asyncio.get_running_loop()
        debt = 0.0
        cpus = float(os.cpu_count() or 1)
        while True:
            millicores = self.limits.cpu_millicores
            if millicores is None:
                return
            quota = millicores / 1000 * THROTTLE_PERIOD_S
            start = loop.time()
            end = start + THROTTLE_PERIOD_S
            try:
                base = self.processes.cpu_seconds()
            except Exception:
                log.exception("cpu throttler sample failed")
                await asyncio.sleep(THROTTLE_PERIOD_S)
                continue
            budget = quota - debt
            used, last_used, last_time = 0.0, 0.0, start
            while (now := loop.time()) < end:
                used = self.processes.cpu_seconds() - base
                if used >= budget:
                    self.processes.signal(signal.SIGSTOP)
                    self.throttled = True
                    self.throttled_periods += 1
                    await asyncio.sleep(end - now)
                    break
                # Sleep until the budget could be used up at the rate observed so far.
                rate = min(cpus, max(1.0, (used - last_used) / max(now - last_time, 1e-6)))
                last_used, last_time = used, now
                await asyncio.sleep(min(end - now, max(_MIN_STEP_S, (budget - used) / rate)))
            used = self.processes.cpu_seconds() - base
            self._resume()
            # Carry the overshoot (at most a few periods' worth) into the next periods.
            debt = min(max(0.0, used - budget), 4 * quota + THROTTLE_PERIOD_S)

    async def close(self) -> None:
        tasks = [task for task in (self._memory_task, self._cpu_task) if task is not None]
        self._memory_task = self._cpu_task = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._resume()

    def stop_nowait(self) -> None:
        """Cancel the enforcement tasks without awaiting them (synchronous cleanup paths)."""
        for task in (self._memory_task, self._cpu_task):
            if task is not None:
                task.cancel()
        self._memory_task = self._cpu_task = None
        self._resume()
