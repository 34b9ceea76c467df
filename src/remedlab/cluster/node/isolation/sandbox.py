"""Per-container sandboxes and the host-wide isolation setup of one cluster."""

from __future__ import annotations

import asyncio
import ctypes
import dataclasses
import functools
import logging
import os
import signal
import threading
import weakref
from collections.abc import Callable

from remedlab.api.fidelity_check import FidelityCheck
from remedlab.cluster.node.isolation.cgroupfs import (
    CgroupGroup,
    CgroupHierarchy,
    cgroup_mounts,
    check_component,
    is_remedlab_cgroup,
    parse_identifier,
    read_procs,
    remove_if_empty,
    remove_tree,
    write_value,
)
from remedlab.cluster.node.isolation.cgroups_v1 import CgroupV1Hierarchy
from remedlab.cluster.node.isolation.cgroups_v2 import CgroupV2Hierarchy
from remedlab.cluster.node.isolation.limits import ContainerLimits, IsolationError, Usage
from remedlab.cluster.node.isolation.mount_namespace import runtime_paths
from remedlab.cluster.node.isolation.pod_filesystem import runtime_view_entry
from remedlab.cluster.node.isolation.pod_user import (
    PodUser,
    interpreter_runs_as,
    interpreter_runs_on_host,
    resolve_pod_user,
)
from remedlab.cluster.node.isolation.watchdog import ProcessSet, TreeSupervisor

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_JOIN_SELF = b"0"
_SIGKILL = int(signal.SIGKILL)
_PrctlFunction = Callable[[int, int, int, int, int], int]


@functools.cache
def _prctl() -> _PrctlFunction:
    libc = ctypes.CDLL(None, use_errno=True)
    function = libc.prctl
    function.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    function.restype = ctypes.c_int
    prctl: _PrctlFunction = function
    return prctl


class ContainerSandbox:
    """Limits, accounting and containment of one container.

    In cgroup mode the container's processes join its cgroup in ``preexec``; in fallback mode the
    processes are tracked from the pid given to ``attach`` and enforced by a TreeSupervisor.
    """

    def __init__(
        self,
        limits: ContainerLimits,
        *,
        group: CgroupGroup | None,
        run_as: tuple[int, int] | None,
        on_close: Callable[[ContainerSandbox], None] | None = None,
        enter: Callable[[], None] | None = None,
    ) -> None:
        self.limits = limits
        self.enter = enter
        """Run in preexec after joining the cgroup, before dropping to the pod's user: the pod's
        namespaces (or a view of the runtime the pod's user can reach)."""
        self._group = group
        self._run_as = run_as
        self._on_close = on_close
        self.cgroup: str = group.identifier if group is not None else ""
        self._supervisor = None if group is not None else TreeSupervisor(limits)
        # cgroup mode: the members' /proc/<pid>/io, for hierarchies without IO accounting.
        self._io_members = ProcessSet()
        # Everything preexec needs, prepared here: it runs between fork and exec.
        self._procs_files = tuple(os.fsencode(path) for path in group.procs_files) if group is not None else ()
        self._prctl = _prctl()
        self._oom_baseline = 0
        self._failcnt_baseline = 0
        self._last_exit: int | None = None
        self._closed = False
        if group is not None:
            group.set_limits(limits)
        self.reset_oom()

    @property
    def fallback(self) -> bool:
        return self._group is None

    # --- process start -----------------------------------------------------------------------

    def preexec(self) -> None:
        """Run in the forked child before exec: join the cgroup, `enter`, drop to the pod user, arm
        PDEATHSIG.

        No imports, no locks, no allocation-heavy work: only system calls on data prepared earlier.
        """
        parent = os.getppid()
        for path in self._procs_files:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, _JOIN_SELF)
            finally:
                os.close(fd)
        if self.enter is not None:
            self.enter()
        if self._run_as is not None:
            os.setgroups([])
            os.setgid(self._run_as[1])
            os.setuid(self._run_as[0])
        # Credential changes clear the parent-death signal, so it is armed last.
        if self._prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:
            # The parent died before the signal was armed.
            os.kill(os.getpid(), _SIGKILL)

    def attach(self, pid: int) -> None:
        """Register a started process. Fallback mode needs a running event loop here.

        In cgroup mode the pid is written to the group once more, which only matters for a process
        that was started without ``preexec`` (its children forked before this call stay outside).
        """
        if self._supervisor is not None:
            self._supervisor.attach(pid)
            return
        for path in self._procs_files:
            try:
                write_value(os.fsdecode(path), str(pid))
            except OSError as exc:
                log.debug("re-adding pid %d to %s: %s", pid, os.fsdecode(path), exc)

    def note_exit(self, returncode: int) -> None:
        """Tell the sandbox how the main process ended (used where the kernel has no OOM counter)."""
        self._last_exit = returncode

    # --- OOM ---------------------------------------------------------------------------------

    def _oom_count(self) -> int:
        if self._supervisor is not None:
            return self._supervisor.oom_kills
        assert self._group is not None
        try:
            return self._group.oom_kills() or 0
        except OSError:
            return self._oom_baseline

    def oom_killed(self) -> bool:
        """Whether an OOM kill happened in this container since the last reset_oom()."""
        if self._supervisor is not None:
            return self._supervisor.oom_kills > self._oom_baseline
        assert self._group is not None
        try:
            count = self._group.oom_kills()
            if count is not None:
                return count > self._oom_baseline
            failcnt = self._group.memory_failcnt() or 0
        except OSError:
            return False
        return failcnt > self._failcnt_baseline and self._last_exit == -signal.SIGKILL

    def reset_oom(self) -> None:
        self._last_exit = None
        self._oom_baseline = self._oom_count()
        if self._group is not None:
            try:
                self._failcnt_baseline = self._group.memory_failcnt() or 0
            except OSError:
                self._failcnt_baseline = 0

    # --- limits and usage --------------------------------------------------------------------

    def update_limits(self, limits: ContainerLimits) -> None:
        if self._group is not None:
            self._group.set_limits(limits)
        elif self._supervisor is not None:
            self._supervisor.update(limits)
        self.limits = limits

    def usage(self) -> Usage:
        if self._supervisor is not None:
            members = self._supervisor.processes
            members.expand()
            read, write = members.io_bytes()
            return Usage(members.cpu_seconds(), members.rss(), read, write)
        assert self._group is not None
        try:
            cpu = self._group.cpu_seconds()
            memory = self._group.memory_working_set()
            io = self._group.io_bytes()
        except OSError as exc:
            raise IsolationError(f"cannot read the usage of {self.cgroup}: {exc}") from exc
        if io is None:
            self._io_members.sync(self._group.procs())
            io = self._io_members.io_bytes()
        return Usage(cpu, memory, io[0], io[1])

    def pids(self) -> list[int]:
        if self._supervisor is not None:
            self._supervisor.processes.expand()
            return self._supervisor.processes.pids()
        assert self._group is not None
        return self._group.procs()

    def kill_all(self, sig: int) -> None:
        if self._supervisor is not None:
            members = self._supervisor.processes
            members.expand()
            members.signal(sig)
            if sig not in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCONT) and self._supervisor.throttled:
                # Let a throttled container see the signal now; the throttler stops it again if due.
                members.signal(signal.SIGCONT)
            return
        assert self._group is not None
        self._group.kill(sig)

    async def close(self) -> None:
        """Stop enforcement, kill leftovers and remove the cgroup directories."""
        if self._closed:
            return
        self._closed = True
        if self._supervisor is not None:
            await self._supervisor.close()
        for _ in range(200):
            if not self.pids():
                break
            self.kill_all(signal.SIGKILL)
            await asyncio.sleep(0.01)
        if self._group is not None and not self._group.remove(timeout=1.0):
            log.warning("cgroup %s not removed; Isolation.sweep() can retry it", self.cgroup)
        if self._on_close is not None:
            self._on_close(self)

    def close_nowait(self) -> None:
        """Synchronous close for cleanup paths without an event loop."""
        if self._closed:
            return
        self._closed = True
        if self._supervisor is not None:
            self._supervisor.stop_nowait()
            self.kill_all(signal.SIGKILL)
        if self._group is not None:
            self._group.remove()
        if self._on_close is not None:
            self._on_close(self)


_probe_lock = threading.Lock()


@functools.cache
def _probe_cgroups() -> CgroupHierarchy | str:
    """The writable cgroup hierarchy of this host (v2 preferred), or why there is none."""
    reasons: list[str] = []
    for driver in (CgroupV2Hierarchy, CgroupV1Hierarchy):
        found = driver.probe()
        if not isinstance(found, str):
            return found
        reasons.append(found)
    return "; ".join(reasons)


def _runtime_view(pod_user: PodUser, state_dir: str | None) -> tuple[str, ...]:
    """The runtime's paths when the pod user runs the interpreter only through a mount namespace."""
    run_as = pod_user.run_as()
    if run_as is None or interpreter_runs_on_host(*run_as, state_dir=state_dir) is None:
        return ()
    return runtime_paths(*([state_dir] if state_dir else []))


class Isolation:
    """How containers of one cluster are limited and contained on this host."""

    def __init__(
        self,
        cluster_id: str,
        *,
        hierarchy: CgroupHierarchy | None,
        pod_user: PodUser,
        fallback_reason: str = "",
        runtime_view: tuple[str, ...] = (),
    ) -> None:
        self.cluster_id = check_component("cluster id", cluster_id)
        self.hierarchy = hierarchy
        self.pod_user = pod_user
        self.fallback_reason = fallback_reason
        self.runtime_view = runtime_view
        """The runtime's paths when the pod user reaches them only in a mount namespace (a sandbox
        outside any pod then gets a view of them), else empty."""
        self._sandboxes: weakref.WeakSet[ContainerSandbox] = weakref.WeakSet()

    @classmethod
    def detect(cls, cluster_id: str, *, prefer_fallback: bool = False, state_dir: str | None = None) -> Isolation:
        """Probe the host (once per process) and set up isolation for a cluster.

        ``prefer_fallback`` ignores usable cgroups and enforces limits with the watchdog and the
        throttler instead (for tests and for comparing the two).
        """
        with _probe_lock:
            found = _probe_cgroups()
            pod_user = resolve_pod_user(check=functools.partial(interpreter_runs_as, state_dir=state_dir))
            view = _runtime_view(pod_user, state_dir)
        if view:
            detail = f"{pod_user.check.detail}; remedlab's runtime reached through each pod's mount namespace"
            pod_user = dataclasses.replace(pod_user, check=dataclasses.replace(pod_user.check, detail=detail))
        if prefer_fallback:
            return cls(
                cluster_id, hierarchy=None, pod_user=pod_user, fallback_reason="fallback requested", runtime_view=view
            )
        if isinstance(found, str):
            reason = found if os.geteuid() == 0 else f"not root ({found})"
            return cls(cluster_id, hierarchy=None, pod_user=pod_user, fallback_reason=reason, runtime_view=view)
        return cls(cluster_id, hierarchy=found, pod_user=pod_user, runtime_view=view)

    @property
    def uses_cgroups(self) -> bool:
        return self.hierarchy is not None

    def report(self) -> list[FidelityCheck]:
        """The fidelity of each isolation mechanism on this host."""
        if self.hierarchy is not None:
            checks = self.hierarchy.checks()
        else:
            short = "not root" if self.fallback_reason.startswith("not root") else self.fallback_reason
            why = f"cgroups not writable: {short}"
            checks = [
                FidelityCheck("cpu limits", "degraded", f"SIGSTOP/SIGCONT throttling of the process tree ({why})"),
                FidelityCheck(
                    "memory limits",
                    "degraded",
                    f"watchdog sampling the process tree's RSS every 100 ms, SIGKILL over the limit ({why})",
                ),
                FidelityCheck("oom detection", "degraded", f"kills by the memory watchdog ({why})"),
                FidelityCheck("resource usage", "degraded", f"psutil over the process tree, working set = RSS ({why})"),
                FidelityCheck(
                    "io accounting",
                    "degraded",
                    f"read_bytes/write_bytes of /proc/<pid>/io over the process tree ({why})",
                ),
                FidelityCheck(
                    "process containment",
                    "degraded",
                    "process tree tracked every 100 ms (a descendant that daemonizes before it is first "
                    f"seen escapes); parent-death signal on the main process "
                    f"(cgroups not writable: {self.fallback_reason})",
                ),
            ]
        return [*checks, self.pod_user.check]

    def run_as(self) -> tuple[int, int] | None:
        return self.pod_user.run_as()

    def action_preexec(self) -> Callable[[], None] | None:
        """For a command run as the pod user outside any pod (an agent's action) when the user reaches
        the runtime only through a mount namespace: the pre-exec step that gives it that view and then
        drops to the user. None when plain ``user=``/``group=`` suffice."""
        run_as = self.run_as()
        if run_as is None or not self.runtime_view:
            return None
        enter = runtime_view_entry(self.runtime_view, run_as)
        uid, gid = run_as

        def preexec() -> None:
            enter()
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)

        return preexec

    def sandbox(self, pod_uid: str, container: str, limits: ContainerLimits) -> ContainerSandbox:
        check_component("pod uid", pod_uid)
        check_component("container name", container)
        group = None
        if self.hierarchy is not None:
            group = self.hierarchy.group(self.cluster_id, pod_uid, container)
        enter = runtime_view_entry(self.runtime_view, self.run_as()) if self.runtime_view else None
        try:
            sandbox = ContainerSandbox(
                limits, group=group, run_as=self.run_as(), on_close=self._sandboxes.discard, enter=enter
            )
        except BaseException:
            if group is not None:
                group.remove()
            raise
        self._sandboxes.add(sandbox)
        return sandbox

    def sweep(self, cgroup: str) -> None:
        """SIGKILL every process of a recorded cgroup identifier and remove its directories."""
        directories = parse_identifier(cgroup)
        mounts = self.hierarchy.mounts if self.hierarchy is not None else tuple(cgroup_mounts())
        for directory in directories:
            if not is_remedlab_cgroup(directory, mounts):
                raise ValueError(f"refusing to sweep {directory!r}: not a remedlab cgroup")
        for directory in directories:
            if not remove_tree(directory):
                raise IsolationError(f"cgroup {directory} still has processes: {read_procs(directory)}")

    def cleanup_cluster(self) -> None:
        """Kill and remove every container of this cluster."""
        for sandbox in list(self._sandboxes):
            sandbox.close_nowait()
        if self.hierarchy is None:
            return
        for directory in self.hierarchy.cluster_dirs(self.cluster_id):
            if not remove_tree(directory):
                log.warning("cgroup %s of cluster %s not fully removed", directory, self.cluster_id)
        # Leave no trace once no cluster uses the host (the directories are recreated on demand).
        for base in self.hierarchy.base_dirs():
            remove_if_empty(base)

    def cleanup_pod(self, pod_uid: str) -> None:
        """Remove a pod's cgroup directories, killing anything its closed containers left behind."""
        check_component("pod uid", pod_uid)
        if self.hierarchy is None:
            return
        for directory in self.hierarchy.pod_dirs(self.cluster_id, pod_uid):
            if not remove_tree(directory):
                log.warning("cgroup %s of pod %s not fully removed", directory, pod_uid)
