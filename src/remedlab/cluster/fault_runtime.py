"""Fault injection on the embedded cluster: what Chaos Mesh's daemon does on a node, done for real here.

- stress: stress-ng (else remedlab's own stressor) started inside the target
  container's cgroup, as its user, so it competes for the container's own limits;
- network and HTTP: hooks on the dataplane for every connection in and out of
  the pod instance (probes included);
- IO: a FUSE pass-through mounted over the volume's directory;
- container kill: the container's whole process tree, through the kubelet.
Every fault is bound to one pod instance: a pod created later comes back clean.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

from remedlab.api.errors import BadRequest
from remedlab.api.fault_runtime import FaultHandle, HttpParams, IoParams, NetworkParams, StressParams
from remedlab.cluster.dataplane.connection_hooks import ConnectionHook, HookHandle
from remedlab.cluster.dataplane.http_faults import HttpAbortHook, HttpDelayHook
from remedlab.cluster.dataplane.network_faults import (
    BandwidthHook,
    CorruptHook,
    DelayHook,
    DuplicateHook,
    LossHook,
    PartitionHook,
)
from remedlab.cluster.embedded import EmbeddedCluster
from remedlab.cluster.node.io_fault_mount import IoFaultMount
from remedlab.cluster.node.io_fault_shim import shim_entry, write_faults
from remedlab.cluster.node.kubelet import ExecError
from remedlab.cluster.node.time_shift import get_offset, set_offset

_ids = itertools.count(1)


def stress_argv(params: StressParams) -> tuple[list[str], str]:
    """The stressor's command line, and which tool runs it."""
    stress_ng = shutil.which("stress-ng")
    if stress_ng is not None:
        argv = [stress_ng, "--quiet", "--timeout", "0"]
        if params.stressng:
            argv += params.stressng.split()
        if params.cpu_workers:
            argv += ["--cpu", str(params.cpu_workers), "--cpu-load", str(params.cpu_load)]
        if params.memory_workers:
            per_worker = max(4096, params.memory_bytes // params.memory_workers)
            argv += ["--vm", str(params.memory_workers), "--vm-bytes", str(per_worker), "--vm-keep", "--vm-hang", "0"]
        return argv, "stress-ng"
    if params.stressng:
        raise BadRequest("stressngStressors needs stress-ng on the host: install the stress-ng package")
    argv = [sys.executable, "-m", "remedlab.cluster.node.stressor"]
    argv += ["--cpu", str(params.cpu_workers), "--cpu-load", str(params.cpu_load)]
    argv += ["--vm", str(params.memory_workers), "--vm-bytes", str(params.memory_bytes)]
    return argv, "remedlab stressor (stress-ng not installed)"


def network_hook(pod_uid: str, params: NetworkParams) -> ConnectionHook:
    """The hook for a NetworkChaos on one pod: `to` acts on what the pod sends, `from` on what it receives."""
    action = params.action
    scope: dict[str, Any] = {
        "peers": set(params.peers) or None,
        "egress_of": pod_uid if params.direction == "to" else None,
        "ingress_of": pod_uid if params.direction == "from" else None,
    }
    if action == "delay":
        return DelayHook(params.latency_s, params.jitter_s, params.correlation, seed=params.seed, **scope)
    if action == "loss":
        return LossHook(params.percent, params.correlation, seed=params.seed, **scope)
    if action == "corrupt":
        return CorruptHook(params.percent, params.correlation, seed=params.seed, **scope)
    if action == "duplicate":
        return DuplicateHook(params.percent, params.correlation, seed=params.seed, **scope)
    if action == "bandwidth":
        return BandwidthHook(params.rate_bytes_per_s, params.limit_bytes, params.buffer_bytes, **scope)
    if action == "partition":
        return PartitionHook(set(params.peers) or None)
    raise BadRequest(f"network action {action} is not served")


class LocalFaultRuntime:
    def __init__(self, cluster: EmbeddedCluster) -> None:
        self.cluster = cluster
        self._processes: dict[str, asyncio.subprocess.Process] = {}
        self._hooks: dict[str, HookHandle] = {}
        self._mounts: dict[str, IoFaultMount] = {}
        self._handles: dict[str, FaultHandle] = {}
        self._clocks: dict[str, Path] = {}
        self._shim_faults: dict[str, tuple[str, list[bytes]]] = {}

    def _new_id(self, mechanism: str) -> str:
        return f"{mechanism}-{next(_ids)}"

    def _check_pod(self, pod_uid: str) -> None:
        if pod_uid not in self.cluster.kubelet.workers:
            raise BadRequest(f"pod {pod_uid} is not running on this node")

    # ------------------------------------------------------------------ stress

    async def stress(self, pod_uid: str, container: str | None, params: StressParams) -> FaultHandle:
        argv, tool = stress_argv(params)
        try:
            proc = await self.cluster.kubelet.spawn_in_container(pod_uid, container, argv)
        except ExecError as exc:
            raise BadRequest(str(exc)) from None
        handle = FaultHandle(
            self._new_id("stress"),
            "stress",
            pod_uid,
            "full" if tool == "stress-ng" else "degraded",
            f"{tool} in the container's cgroup as its user (pid {proc.pid})",
        )
        self._processes[handle.id] = proc
        self._handles[handle.id] = handle
        return handle

    # ------------------------------------------------------------------ network

    async def network(self, pod_uid: str, params: NetworkParams) -> FaultHandle:
        self._check_pod(pod_uid)
        hook = network_hook(pod_uid, params)
        registered = self.cluster.dataplane.add_hook(pod_uid, hook, "both")
        detail = f"dataplane hook ({params.action}, direction {params.direction}) on every connection of the pod"
        if params.action == "duplicate":
            detail += "; TCP discards duplicated segments, so the stream is unchanged (as on a real network)"
        handle = FaultHandle(self._new_id("network"), "network", pod_uid, "full", detail)
        self._hooks[handle.id] = registered
        self._handles[handle.id] = handle
        return handle

    async def http(self, pod_uid: str, params: HttpParams) -> FaultHandle:
        self._check_pod(pod_uid)
        hook: ConnectionHook
        if params.abort:
            hook = HttpAbortHook(params.port, params.path, params.method, params.target, seed=params.seed)
        else:
            hook = HttpDelayHook(params.port, params.delay_s, params.path, params.method, params.target)
        registered = self.cluster.dataplane.add_hook(pod_uid, hook, "in")
        handle = FaultHandle(
            self._new_id("http"),
            "http",
            pod_uid,
            "full",
            f"HTTP/1.1 hook on the pod's inbound connections to port {params.port}",
        )
        self._hooks[handle.id] = registered
        self._handles[handle.id] = handle
        return handle

    # ------------------------------------------------------------------ IO

    async def io(self, pod_uid: str, container: str | None, params: IoParams) -> FaultHandle:
        try:
            host_path = self.cluster.kubelet.volume_host_path(pod_uid, container, params.volume_path)
        except ExecError as exc:
            raise BadRequest(str(exc)) from None
        for mount in self._mounts.values():
            if mount.directory == Path(host_path):
                raise BadRequest(f"volume {params.volume_path} of this pod already has an IO fault")
        available, reason = IoFaultMount.fuse_available()
        if not available:
            raise BadRequest(f"IO faults need FUSE, which this host lacks: {reason} (see `remedlab doctor`)")
        shim_files = self.cluster.kubelet.io_fault_files(pod_uid)
        reach = (
            "files already open faulted by the pod shim"
            if shim_files
            else "files opened before injection bypass it (no pod shim on this host)"
        )
        handle = FaultHandle(
            self._new_id("io"),
            "io",
            pod_uid,
            "full" if shim_files else "degraded",
            f"FUSE pass-through over {params.volume_path}; {reach}",
        )
        config = self.cluster.home / "faults" / f"{handle.id}.json"
        config.parent.mkdir(parents=True, exist_ok=True)
        mount = IoFaultMount()
        await asyncio.to_thread(mount.start, Path(host_path), config)
        mount.set_faults(list(params.faults))
        self._mounts[handle.id] = mount
        self._handles[handle.id] = handle
        # the shim matches the paths the pod's processes see: the mount path inside a pod's own mount
        # namespace, the host directory otherwise
        seen_as = params.volume_path if self.cluster.kubelet.pod_namespaces else host_path
        entries = [e for e in (shim_entry(f, seen_as) for f in params.faults) if e is not None]
        if shim_files and entries:
            self._shim_faults[handle.id] = (pod_uid, entries)
            self._write_shim_faults(pod_uid)
        return handle

    def _write_shim_faults(self, pod_uid: str) -> None:
        """Every IO fault of this pod into its containers' shim control files."""
        entries = [e for uid, faults in self._shim_faults.values() if uid == pod_uid for e in faults]
        for path in self.cluster.kubelet.io_fault_files(pod_uid):
            with contextlib.suppress(OSError):
                write_faults(path, entries)

    # ------------------------------------------------------------------ time

    async def time_offset(self, pod_uid: str, container: str | None, offset_s: float) -> FaultHandle:
        try:
            clock = self.cluster.kubelet.clock_file(pod_uid, container)
        except ExecError as exc:
            raise BadRequest(str(exc)) from None
        set_offset(clock, offset_s)
        handle = FaultHandle(
            self._new_id("time"),
            "time",
            pod_uid,
            "full",
            f"CLOCK_REALTIME of the container's processes shifted by {offset_s:+g}s (preloaded clock shim)",
            {"clock": str(clock)},
        )
        self._clocks[handle.id] = clock
        self._handles[handle.id] = handle
        return handle

    # ------------------------------------------------------------------ containers

    def kill_container(self, pod_uid: str, container: str | None) -> str:
        try:
            return self.cluster.kubelet.kill_container(pod_uid, container, signal.SIGKILL)
        except ExecError as exc:
            raise BadRequest(str(exc)) from None

    # ------------------------------------------------------------------ state

    def active(self, handle: FaultHandle) -> bool:
        if handle.id in self._processes:
            return self._processes[handle.id].returncode is None
        if handle.id in self._hooks:
            return handle.pod_uid in self.cluster.kubelet.workers
        if handle.id in self._mounts:
            return self._mounts[handle.id].mounted()
        if handle.id in self._clocks:
            return handle.pod_uid in self.cluster.kubelet.workers and get_offset(self._clocks[handle.id]) != 0
        return False

    async def recover(self, handle: FaultHandle) -> None:
        proc = self._processes.pop(handle.id, None)
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 5)
        hook = self._hooks.pop(handle.id, None)
        if hook is not None:
            self.cluster.dataplane.remove_hook(hook)
        clock = self._clocks.pop(handle.id, None)
        if clock is not None and clock.exists():
            set_offset(clock, 0)
        shimmed = self._shim_faults.pop(handle.id, None)
        if shimmed is not None:
            self._write_shim_faults(shimmed[0])
        mount = self._mounts.pop(handle.id, None)
        if mount is not None:
            await asyncio.to_thread(mount.stop)
        self._handles.pop(handle.id, None)

    async def recover_all(self) -> None:
        for handle in list(self._handles.values()):
            with contextlib.suppress(Exception):
                await self.recover(handle)

    def describe(self) -> list[dict[str, Any]]:
        return [
            {"id": h.id, "mechanism": h.mechanism, "pod": h.pod_uid, "level": h.level, "detail": h.detail}
            for h in self._handles.values()
        ]
