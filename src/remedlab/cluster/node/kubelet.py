"""The kubelet: runs the pods bound to this node as real process trees.

One worker per pod sets up its sandbox (pod IP, volumes, cgroups), runs init
containers, then keeps each container running according to the restart
policy with exponential back-off (CrashLoopBackOff), runs readiness and
liveness probes, records exit codes and reasons (Error, OOMKilled,
Completed), keeps current and previous logs, and terminates gracefully
(SIGTERM, grace period, SIGKILL of the whole tree).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from remedlab.api.errors import BadRequest, ClusterError, NotFound
from remedlab.api.kinds import Obj
from remedlab.api.quantity import cpu_millicores, memory_bytes
from remedlab.api.times import now_iso, parse_time
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.volume_controller import claim_dir
from remedlab.cluster.dataplane.dataplane import Dataplane
from remedlab.cluster.dataplane.ipam import AddressPool
from remedlab.cluster.node.container_env import ConfigError, container_env, expand
from remedlab.cluster.node.container_logs import ContainerLog
from remedlab.cluster.node.container_process import ContainerProcess, kill_tree, process_start_time
from remedlab.cluster.node.exec_session import ExecLimits, ExecSession
from remedlab.cluster.node.images import ExecutableNotFound, ImageRegistry, container_argv
from remedlab.cluster.node.io_fault_mount import cleanup_stale
from remedlab.cluster.node.io_fault_shim import create_control_file
from remedlab.cluster.node.isolation.limits import ContainerLimits
from remedlab.cluster.node.isolation.sandbox import ContainerSandbox, Isolation
from remedlab.cluster.node.log_follow import follow_log_file
from remedlab.cluster.node.probes import ProbeResult, run_probe
from remedlab.cluster.node.time_shift import build_shim, create_offset_file
from remedlab.cluster.node.volume_mounts import (
    bind_mount,
    bind_mounts_available,
    mounts_under,
    remove_pod_dir,
    unmount_all,
)

EXEC_OUTPUT_LIMIT = 1 << 20


@dataclass
class KubeletConfig:
    backoff_base: float = 10.0
    backoff_max: float = 300.0
    backoff_reset: float = 600.0


class ExecError(Exception):
    """A `kubectl exec` that cannot run (no such container, not running)."""


def container_limits(container: dict[str, Any]) -> ContainerLimits:
    resources = container.get("resources") or {}
    limits = resources.get("limits") or {}
    cpu = limits.get("cpu")
    mem = limits.get("memory")
    # as on Kubernetes, a container with a CPU limit and no request is given a request equal to its limit
    request = (resources.get("requests") or {}).get("cpu", cpu)
    return ContainerLimits(
        cpu_millicores=cpu_millicores(cpu) if cpu is not None else None,
        memory_bytes=memory_bytes(mem) if mem is not None else None,
        cpu_request_millicores=cpu_millicores(request) if request is not None else None,
    )


def qos_class(containers: list[dict[str, Any]]) -> str:
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        limits, requests = res.get("limits") or {}, res.get("requests") or {}
        if limits or requests:
            any_set = True
        for key in ("cpu", "memory"):
            if key not in limits or requests.get(key, limits[key]) != limits[key]:
                guaranteed = False
    if guaranteed and any_set:
        return "Guaranteed"
    return "Burstable" if any_set else "BestEffort"


@dataclass
class ContainerRuntime:
    """What the kubelet knows of one container of a pod."""

    spec: dict[str, Any]
    log: ContainerLog
    init: bool = False
    sandbox: ContainerSandbox | None = None
    process: ContainerProcess | None = None
    restart_count: int = 0
    state: dict[str, Any] = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: dict[str, Any] = field(default_factory=dict)
    ready: bool = False
    started: bool = False
    probe_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    run_started: float = 0.0
    backoff: float = 0.0

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    def status(self) -> dict[str, Any]:
        image = self.spec["image"]
        out: dict[str, Any] = {
            "name": self.name,
            "image": image,
            "imageID": f"remedlab://{image}",
            "ready": self.ready,
            "started": self.started,
            "restartCount": self.restart_count,
            "state": self.state,
            "lastState": self.last_state,
        }
        if self.process is not None and self.process.proc is not None:
            out["containerID"] = f"remedlab://{self.process.proc.pid}"
        return out


class PodWorker:
    def __init__(self, kubelet: Kubelet, pod: Obj) -> None:
        self.kubelet = kubelet
        self.uid: str = pod["metadata"]["uid"]
        self.namespace: str = pod["metadata"]["namespace"]
        self.name: str = pod["metadata"]["name"]
        self.spec: dict[str, Any] = pod["spec"]
        self.dir = kubelet.home / "pods" / self.uid
        self.pod_ip: str = pod.get("status", {}).get("podIP") or ""
        self.start_time: str = pod.get("status", {}).get("startTime") or now_iso()
        self.terminating = False
        self.gone = False
        self.initialized = not self.spec.get("initContainers")
        self.mounts: dict[str, str] = {}
        self.containers: dict[str, ContainerRuntime] = {}
        self.init_containers: list[ContainerRuntime] = []
        previous = {s["name"]: s for s in pod.get("status", {}).get("containerStatuses") or []}
        for c in self.spec.get("initContainers") or []:
            self.init_containers.append(ContainerRuntime(c, ContainerLog(self.dir / "logs" / c["name"]), init=True))
        for c in self.spec["containers"]:
            runtime = ContainerRuntime(c, ContainerLog(self.dir / "logs" / c["name"]))
            old = previous.get(c["name"])
            if old and ("running" in (old.get("state") or {}) or old.get("restartCount")):
                # the node restarted under this container: it starts again, as after a reboot
                runtime.restart_count = int(old.get("restartCount", 0)) + (1 if "running" in old["state"] else 0)
                runtime.last_state = {"terminated": {"exitCode": 255, "reason": "Unknown"}}
            self.containers[c["name"]] = runtime
        self.task: asyncio.Task[None] | None = None
        self._stop_event = asyncio.Event()
        self.grace: float = float(self.spec.get("terminationGracePeriodSeconds", 30))

    # ------------------------------------------------------------------ status

    def event(self, reason: str, message: str, type_: str = "Normal", container: str | None = None) -> None:
        pod = self.kubelet.store.get("Pod", self.namespace, self.name)
        if pod is None or pod["metadata"]["uid"] != self.uid:
            return
        field_path = f"spec.containers{{{container}}}" if container else None
        self.kubelet.events.record(
            pod, reason, message, "Warning" if type_ == "Warning" else "Normal", field_path=field_path
        )

    def publish(self) -> None:
        if self.gone:
            return
        pod = self.kubelet.store.get("Pod", self.namespace, self.name)
        if pod is None or pod["metadata"]["uid"] != self.uid:
            return
        old = pod.get("status") or {}
        old_conditions = {c["type"]: c for c in old.get("conditions") or []}
        statuses = [c.status() for c in self.containers.values()]
        all_ready = all(c.ready for c in self.containers.values()) and self.initialized and not self.terminating
        now = now_iso()

        def cond(type_: str, value: bool, reason: str | None = None) -> dict[str, Any]:
            status = "True" if value else "False"
            previous = old_conditions.get(type_)
            since = previous.get("lastTransitionTime") if previous and previous.get("status") == status else now
            out: dict[str, Any] = {"type": type_, "status": status, "lastTransitionTime": since}
            if reason and not value:
                out["reason"] = reason
            return out

        not_ready = [c.name for c in self.containers.values() if not c.ready]
        reason = "ContainersNotReady" if not_ready else None
        conditions = [
            cond("PodReadyToStartContainers", True),
            cond("Initialized", self.initialized, "PodCompleted" if not self.initialized else None),
            cond("Ready", all_ready, reason),
            cond("ContainersReady", all_ready, reason),
            cond("PodScheduled", True),
        ]
        if not all_ready and not_ready:
            for c in conditions:
                if c["type"] in ("Ready", "ContainersReady") and c["status"] == "False":
                    c["message"] = f"containers with unready status: [{' '.join(not_ready)}]"
        status: dict[str, Any] = {
            "phase": self.phase(),
            "conditions": conditions,
            "hostIP": self.kubelet.host_ip,
            "podIP": self.pod_ip or None,
            "podIPs": [{"ip": self.pod_ip}] if self.pod_ip else [],
            "startTime": self.start_time,
            "containerStatuses": statuses,
            "qosClass": qos_class(self.spec["containers"]),
        }
        if self.init_containers:
            status["initContainerStatuses"] = [c.status() for c in self.init_containers]
        status = {k: v for k, v in status.items() if v is not None}
        if status != old:
            pod["status"] = status
            self.kubelet.store.update(pod)

    def phase(self) -> str:
        states = [c.state for c in self.containers.values()]
        policy = self.spec.get("restartPolicy", "Always")
        if any("running" in s for s in states):
            return "Running"
        if all("terminated" in s for s in states) and policy != "Always":
            codes = [int(s["terminated"].get("exitCode", 0)) for s in states]
            finished = policy == "Never" or all(c == 0 for c in codes)
            if finished:
                return "Succeeded" if all(c == 0 for c in codes) else "Failed"
        if any(c.restart_count or "terminated" in c.last_state for c in self.containers.values()):
            return "Running"
        return "Pending"

    # ------------------------------------------------------------------ setup

    def _setup(self) -> None:
        k = self.kubelet
        run_as = k.isolation.run_as()
        root = self.dir / "root"
        root.mkdir(parents=True, exist_ok=True)
        volumes_dir = self.dir / "volumes"
        volumes: dict[str, Path] = {}
        for volume in self.spec.get("volumes") or []:
            name = volume["name"]
            if "persistentVolumeClaim" in volume:
                claim = claim_dir(k.home, self.namespace, volume["persistentVolumeClaim"]["claimName"])
                claim.mkdir(parents=True, exist_ok=True)
                if run_as is not None:
                    os.chown(claim, *run_as)
                if k.bind_mounts:
                    path = volumes_dir / name
                    if path not in mounts_under(path):
                        bind_mount(claim, path)
                else:
                    path = claim
            elif "hostPath" in volume:
                path = Path(volume["hostPath"]["path"])
            else:
                path = volumes_dir / name
            path.mkdir(parents=True, exist_ok=True)
            for kind, key, ref in (
                ("ConfigMap", "configMap", "name"),
                ("Secret", "secret", "secretName"),
            ):
                source = volume.get(key)
                if not source:
                    continue
                obj = k.store.get(kind, self.namespace, source[ref])
                if obj is None:
                    if source.get("optional"):
                        continue
                    raise ConfigError(f'{kind.lower()} "{source[ref]}" not found')
                data = dict(obj.get("data") or {})
                if kind == "Secret":
                    data = {kk: base64.b64decode(v).decode() for kk, v in data.items()}
                    data.update(obj.get("stringData") or {})
                items = source.get("items") or [{"key": kk, "path": kk} for kk in data]
                for item in items:
                    target = path / item["path"]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(data.get(item["key"], ""))
            volumes[name] = path
        if run_as is not None:
            for path in [self.dir, root, *[p for n, p in volumes.items() if not _is_host_path(self.spec, n)]]:
                for dirpath, _dirs, files in os.walk(path):
                    with contextlib.suppress(OSError):
                        os.chown(dirpath, *run_as)
                    for f in files:
                        with contextlib.suppress(OSError):
                            os.chown(os.path.join(dirpath, f), *run_as)
            os.chmod(self.dir, 0o755)
        self.volume_paths = volumes

    def mounts_for(self, container: dict[str, Any]) -> dict[str, str]:
        mounts: dict[str, str] = {}
        for mount in container.get("volumeMounts") or []:
            base = self.volume_paths.get(mount["name"])
            if base is None:
                continue
            path = base / mount["subPath"] if mount.get("subPath") else base
            path.mkdir(parents=True, exist_ok=True)
            mounts[mount["mountPath"]] = str(path)
        return mounts

    def workdir_for(self, container: dict[str, Any], mounts: dict[str, str]) -> str:
        wanted = container.get("workingDir")
        if wanted:
            for mount_path, host in sorted(mounts.items(), key=lambda kv: -len(kv[0])):
                if wanted == mount_path or wanted.startswith(mount_path.rstrip("/") + "/"):
                    return str(host) + str(wanted[len(mount_path) :])
            if os.path.isdir(wanted):
                return str(wanted)
        return str(self.dir / "root")

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        k = self.kubelet
        try:
            if not self.pod_ip:
                self.pod_ip = k.pod_ips.allocate()
            else:
                k.pod_ips.reserve([self.pod_ip])
            k.dataplane.register_pod(self.uid, self.pod_ip, self.namespace, self.name)
            try:
                self._setup()
            except ConfigError as exc:
                for c in self.containers.values():
                    c.state = {"waiting": {"reason": "CreateContainerConfigError", "message": str(exc)}}
                self.publish()
                self.event("FailedMount", f"MountVolume.SetUp failed: {exc}", "Warning")
                while not self.terminating:
                    await self._sleep(5)
                    try:
                        self._setup()
                        break
                    except ConfigError:
                        continue
            self.publish()
            for init in self.init_containers:
                ok = await self._run_init(init)
                if not ok:
                    return await self._wait_stop()
            self.initialized = True
            self.publish()
            loops = [asyncio.create_task(self._container_loop(c)) for c in self.containers.values()]
            await asyncio.gather(*loops, return_exceptions=True)
            await self._wait_stop()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the kubelet must survive any one pod
            k.log_error(f"pod {self.namespace}/{self.name}: {type(exc).__name__}: {exc}")
            for c in self.containers.values():
                c.state = {"waiting": {"reason": "RunContainerError", "message": str(exc)}}
            self.publish()
            await self._wait_stop()

    async def _wait_stop(self) -> None:
        await self._stop_event.wait()

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless the pod is told to stop; True if the sleep ran its course."""
        try:
            await asyncio.wait_for(self._stop_event.wait(), seconds)
            return False
        except TimeoutError:
            return True

    async def _run_init(self, c: ContainerRuntime) -> bool:
        policy = self.spec.get("restartPolicy", "Always")
        while not self.terminating:
            code = await self._run_once(c)
            if code is None:
                return False
            if code == 0:
                return True
            if policy == "Never":
                return False
            if not await self._back_off(c):
                return False
        return False

    async def _container_loop(self, c: ContainerRuntime) -> None:
        policy = self.spec.get("restartPolicy", "Always")
        while not self.terminating:
            code = await self._run_once(c)
            if self.terminating:
                return
            if code is None:  # could not start: waiting reason already set
                if not await self._back_off(c, pull=True):
                    return
                continue
            if policy == "Never" or (policy == "OnFailure" and code == 0):
                return
            if not await self._back_off(c):
                return

    async def _back_off(self, c: ContainerRuntime, pull: bool = False) -> bool:
        cfg = self.kubelet.config
        ran = time.monotonic() - c.run_started if c.run_started else 0.0
        if ran >= cfg.backoff_reset:
            c.backoff = 0.0
        delay = c.backoff
        c.backoff = cfg.backoff_base if c.backoff == 0 else min(cfg.backoff_max, c.backoff * 2)
        if pull:
            delay = max(delay, cfg.backoff_base / 2)
            waiting = c.state.get("waiting") or {}
            if waiting.get("reason") == "ErrImagePull":
                c.state = {
                    "waiting": {
                        "reason": "ImagePullBackOff",
                        "message": f'Back-off pulling image "{c.spec["image"]}"',
                    }
                }
                self.event("BackOff", f'Back-off pulling image "{c.spec["image"]}"', "Warning", c.name)
                self.publish()
        elif delay > 0:
            if "terminated" in c.state:
                c.last_state = {"terminated": c.state["terminated"]}
            c.state = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off {int(delay)}s restarting failed container={c.name} "
                    f"pod={self.name}_{self.namespace}({self.uid})",
                }
            }
            self.event(
                "BackOff",
                f"Back-off restarting failed container {c.name} in pod {self.name}_{self.namespace}({self.uid})",
                "Warning",
                c.name,
            )
            self.publish()
        if delay > 0 and not await self._sleep(delay):
            return False
        if not pull:
            if "terminated" in c.state:
                c.last_state = {"terminated": c.state["terminated"]}
            c.restart_count += 1
        return not self.terminating

    async def _run_once(self, c: ContainerRuntime) -> int | None:
        """Start the container and wait for it to end; None if it could not start."""
        k = self.kubelet
        image = k.images.resolve(c.spec["image"])
        if image is None:
            message = (
                f'Failed to pull image "{c.spec["image"]}": rpc error: code = NotFound desc = failed to pull and '
                f'unpack image "{c.spec["image"]}": not found in the remedlab image registry'
            )
            c.state = {"waiting": {"reason": "ErrImagePull", "message": message}}
            self.event("Failed", message, "Warning", c.name)
            self.event("Failed", "Error: ErrImagePull", "Warning", c.name)
            self.publish()
            return None
        mounts = self.mounts_for(c.spec)
        try:
            env = self.env_for(c, mounts)
        except ConfigError as exc:
            c.state = {"waiting": {"reason": "CreateContainerConfigError", "message": str(exc)}}
            self.event("Failed", f"Error: {exc}", "Warning", c.name)
            self.publish()
            return None
        try:
            command = [expand(a, env) for a in c.spec.get("command") or []] or None
            args = [expand(a, env) for a in c.spec["args"]] if c.spec.get("args") is not None else None
            argv = container_argv(image, command, args)
        except ExecutableNotFound as exc:
            return self._start_failed(c, str(exc))
        limits = container_limits(c.spec)
        if c.sandbox is None:
            c.sandbox = k.isolation.sandbox(self.uid, c.name, limits)
        else:
            c.sandbox.update_limits(limits)
        c.sandbox.reset_oom()
        c.log.rotate()
        process = ContainerProcess(argv, env, self.workdir_for(c.spec, mounts), c.log, c.sandbox.preexec)
        if c.restart_count == 0 and not c.last_state:
            self.event("Pulled", f'Container image "{c.spec["image"]}" already present on machine', container=c.name)
        self.event("Created", f"Created container {c.name}", container=c.name)
        try:
            pid = await process.start()
        except OSError as exc:
            return self._start_failed(c, f"failed to create containerd task: {exc}")
        c.process = process
        c.run_started = time.monotonic()
        k.store.record_process(self.uid, c.name, pid, process.start_time, c.sandbox.cgroup)
        c.sandbox.attach(pid)
        started_at = now_iso()
        c.state = {"running": {"startedAt": started_at}}
        c.started = True
        c.ready = False
        self.event("Started", f"Started container {c.name}", container=c.name)
        if not c.init:
            self._start_probes(c)
        self.publish()
        code = await process.wait()
        for task in c.probe_tasks:
            task.cancel()
        c.probe_tasks = []
        c.sandbox.note_exit(code)
        # an OOM kill of the main process (a child's OOM kill alone leaves the container running)
        oom = c.sandbox.oom_killed() and code == -signal.SIGKILL
        # leftovers of the tree (daemonised children) die with their container
        c.sandbox.kill_all(signal.SIGKILL)
        k.store.forget_process(self.uid, c.name)
        exit_code = code if code >= 0 else 128 - code
        reason = "OOMKilled" if oom else ("Completed" if exit_code == 0 else "Error")
        if oom:
            exit_code = 137
        c.ready = False
        c.started = False
        terminated: dict[str, Any] = {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": started_at,
            "finishedAt": now_iso(),
            "containerID": f"remedlab://{pid}",
        }
        if code < 0:
            terminated["signal"] = -code
        c.state = {"terminated": terminated}
        self.publish()
        return exit_code

    def _start_failed(self, c: ContainerRuntime, message: str) -> int:
        now = now_iso()
        c.state = {
            "terminated": {
                "exitCode": 128,
                "reason": "StartError",
                "message": message,
                "startedAt": now,
                "finishedAt": now,
            }
        }
        c.run_started = time.monotonic()
        self.event("Failed", f"Error: {message}", "Warning", c.name)
        self.publish()
        return 128

    def clock_file(self, container: str) -> Path:
        return Path(self.dir / "clock" / container)

    def io_fault_file(self, container: str) -> Path:
        return Path(self.dir / "iofault" / container)

    def env_for(self, c: ContainerRuntime, mounts: dict[str, str]) -> dict[str, str]:
        """The container's environment, plus the clock shim that lets a time fault reach it."""
        k = self.kubelet
        env = container_env(k.store, self._pod_view(), c.spec, mounts, str(self.dir / "root"))
        env["REMEDLAB_CACHE_DIR"] = str(k.cache_dir)
        if k.clock_shim is not None:
            clock = self.clock_file(c.name)
            create_offset_file(clock)
            preload = env.get("LD_PRELOAD")
            env["LD_PRELOAD"] = f"{k.clock_shim}:{preload}" if preload else str(k.clock_shim)
            env["REMEDLAB_TIME_OFFSET_FILE"] = str(clock)
            io_faults = self.io_fault_file(c.name)
            create_control_file(io_faults)
            env["REMEDLAB_IO_FAULT_FILE"] = str(io_faults)
        return env

    def _pod_view(self) -> Obj:
        pod = self.kubelet.store.get("Pod", self.namespace, self.name) or {
            "metadata": {"name": self.name, "namespace": self.namespace, "uid": self.uid},
            "spec": self.spec,
        }
        pod.setdefault("status", {})["podIP"] = self.pod_ip
        pod["status"]["hostIP"] = self.kubelet.host_ip
        return pod

    # ------------------------------------------------------------------ probes

    def _start_probes(self, c: ContainerRuntime) -> None:
        readiness = c.spec.get("readinessProbe")
        liveness = c.spec.get("livenessProbe")
        startup = c.spec.get("startupProbe")
        if readiness is None and startup is None:
            c.ready = True
        c.probe_tasks = [asyncio.create_task(self._probe_loop(c, readiness, liveness, startup))]

    async def _probe(self, c: ContainerRuntime, probe: dict[str, Any]) -> ProbeResult:
        k = self.kubelet

        async def connect(ip: str, port: int, timeout: float) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            return await k.dataplane.open_to_pod(self.uid, ip, port, timeout)

        async def run_exec(command: list[str], timeout: float) -> tuple[int, str]:
            out, err, code = await k.exec_in(self, c, command, timeout)
            return code, out + err

        return await run_probe(probe, c.spec, self.pod_ip, connect, run_exec)

    async def _probe_loop(
        self,
        c: ContainerRuntime,
        readiness: dict[str, Any] | None,
        liveness: dict[str, Any] | None,
        startup: dict[str, Any] | None,
    ) -> None:
        if startup is not None:
            await asyncio.sleep(float(startup.get("initialDelaySeconds", 0)))
            failures = 0
            while True:
                result = await self._probe(c, startup)
                if result.ok:
                    break
                failures += 1
                if failures >= int(startup.get("failureThreshold", 3)):
                    self.event("Unhealthy", f"Startup probe failed: {result.message}", "Warning", c.name)
                    await self._kill_for_probe(c, "startup", startup)
                    return
                await asyncio.sleep(float(startup.get("periodSeconds", 10)))
            if readiness is None:
                c.ready = True
                self.publish()
        tasks = []
        if readiness is not None:
            tasks.append(self._run_probe_kind(c, "Readiness", readiness))
        if liveness is not None:
            tasks.append(self._run_probe_kind(c, "Liveness", liveness))
        if tasks:
            await asyncio.gather(*tasks)

    async def _run_probe_kind(self, c: ContainerRuntime, kind: str, probe: dict[str, Any]) -> None:
        await asyncio.sleep(float(probe.get("initialDelaySeconds", 0)))
        successes = failures = 0
        period = float(probe.get("periodSeconds", 10))
        while True:
            started = time.monotonic()
            result = await self._probe(c, probe)
            if result.ok:
                successes, failures = successes + 1, 0
            else:
                successes, failures = 0, failures + 1
                self.event("Unhealthy", f"{kind} probe failed: {result.message}", "Warning", c.name)
            if kind == "Readiness":
                if successes >= int(probe.get("successThreshold", 1)) and not c.ready:
                    c.ready = True
                    self.publish()
                elif failures >= int(probe.get("failureThreshold", 3)) and c.ready:
                    c.ready = False
                    self.publish()
            elif failures >= int(probe.get("failureThreshold", 3)):
                await self._kill_for_probe(c, "liveness", probe)
                return
            await asyncio.sleep(max(0.0, period - (time.monotonic() - started)))

    async def _kill_for_probe(self, c: ContainerRuntime, kind: str, probe: dict[str, Any]) -> None:
        self.event("Killing", f"Container {c.name} failed {kind} probe, will be restarted", container=c.name)
        grace = probe.get("terminationGracePeriodSeconds")
        if c.process is not None:
            await c.process.stop(float(grace if grace is not None else self.grace))

    # ------------------------------------------------------------------ termination

    async def terminate(self, grace: float, remove: bool) -> None:
        if self.terminating:
            return
        self.terminating = True
        self.publish()
        self._stop_event.set()
        running = [c for c in [*self.init_containers, *self.containers.values()] if c.process is not None]
        for c in running:
            for task in c.probe_tasks:
                task.cancel()
            if c.process is not None and c.process.proc is not None and c.process.proc.returncode is None:
                self.event("Killing", f"Stopping container {c.name}", container=c.name)
        await asyncio.gather(*(c.process.stop(grace) for c in running if c.process is not None))
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        k = self.kubelet
        for c in [*self.init_containers, *self.containers.values()]:
            if c.sandbox is not None:
                with contextlib.suppress(Exception):
                    await c.sandbox.close()
            k.store.forget_process(self.uid, c.name)
        with contextlib.suppress(Exception):
            k.isolation.cleanup_pod(self.uid)
        k.dataplane.unregister_pod(self.uid)
        k.pod_ips.release(self.pod_ip)
        if not remove_pod_dir(self.dir):
            k.log_error(f"pod {self.namespace}/{self.name}: a volume under {self.dir} is still mounted; kept it")
        if remove:
            pod = k.store.get("Pod", self.namespace, self.name)
            if pod is not None and pod["metadata"]["uid"] == self.uid:
                k.store.delete("Pod", self.namespace, self.name)
        self.gone = True


def _is_host_path(spec: dict[str, Any], volume_name: str) -> bool:
    return any(v["name"] == volume_name and "hostPath" in v for v in spec.get("volumes") or [])


class Kubelet:
    def __init__(
        self,
        store: Store,
        events: EventRecorder,
        node_name: str,
        home: Path,
        images: ImageRegistry,
        isolation: Isolation,
        dataplane: Dataplane,
        pod_ips: AddressPool,
        config: KubeletConfig | None = None,
        host_ip: str = "127.0.0.1",
    ) -> None:
        self.store = store
        self.events = events
        self.node_name = node_name
        self.home = home
        self.images = images
        self.isolation = isolation
        self.dataplane = dataplane
        self.pod_ips = pod_ips
        self.config = config or KubeletConfig()
        self.host_ip = host_ip
        self.workers: dict[str, PodWorker] = {}
        self._terminations: set[asyncio.Task[None]] = set()
        self.bind_mounts = bind_mounts_available()
        # a node-local cache that images may fill on first use (like an image layer cache)
        self.cache_dir = home / "cache"
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        owner = isolation.run_as()
        if owner is not None:
            with contextlib.suppress(OSError):
                os.chown(self.cache_dir, *owner)
        self.clock_shim: Path | None = None
        self.clock_shim_note = "clock offsets disabled (REMEDLAB_TIME_FAULTS=off)"
        if os.environ.get("REMEDLAB_TIME_FAULTS", "on") != "off":
            self.clock_shim, self.clock_shim_note = build_shim(home)

    def log_error(self, message: str) -> None:
        logging.getLogger(__name__).warning("%s", message)

    def sweep_leftovers(self) -> int:
        """Kill every process a previous run of the server left behind (after a crash)."""
        killed = 0
        for pod_uid, container, pid, start_time, cgroup in self.store.recorded_processes():
            actual = process_start_time(pid)
            if actual is not None and abs(actual - start_time) < 1.0:
                kill_tree(pid, signal.SIGKILL)
                killed += 1
            if cgroup:
                with contextlib.suppress(Exception):
                    self.isolation.sweep(cgroup)
            self.store.forget_process(pod_uid, container)
        with contextlib.suppress(Exception):
            self.isolation.cleanup_cluster()
        with contextlib.suppress(Exception):
            cleanup_stale(self.home)
        unmount_all(self.home / "pods")
        for pod in self.store.list_objects("Pod"):
            ip = pod.get("status", {}).get("podIP")
            if ip:
                self.pod_ips.reserve([ip])
        return killed

    def sync_pod(self, namespace: str, name: str, pod: Obj | None) -> None:
        """Start, update or stop the worker of pod ``namespace/name``, given as the API has it now (None when
        it is gone or bound to another node); pod_sync.py calls it on each change of the pod."""
        uid = pod["metadata"]["uid"] if pod is not None else None
        for stale in [w for w in self.workers.values() if (w.namespace, w.name) == (namespace, name) and w.uid != uid]:
            # the instance this worker runs is gone (or replaced by a new pod of the same name)
            if not stale.terminating:
                stale.gone = True
                self._terminate(stale, 0.0, remove=False)
            elif stale.gone:
                self.workers.pop(stale.uid, None)
        if pod is None or uid is None:
            return
        worker = self.workers.get(uid)
        deletion = pod["metadata"].get("deletionTimestamp")
        if worker is None:
            if deletion:
                self.store.delete("Pod", namespace, name, uid=uid)
                return
            worker = PodWorker(self, pod)
            self.workers[uid] = worker
            worker.task = asyncio.create_task(worker.run())
        elif not deletion and not worker.terminating:
            self._apply_image_changes(worker, pod)
        if deletion and not worker.terminating:
            deadline = parse_time(deletion)
            grace = (deadline - datetime.now(UTC)).total_seconds() if deadline else worker.grace
            self._terminate(worker, max(0.0, grace), remove=True)
        elif worker.gone:
            self.workers.pop(uid, None)

    def _apply_image_changes(self, worker: PodWorker, pod: Obj) -> None:
        """A pod's container images may change in place (as on Kubernetes): restart those containers."""
        for spec in pod["spec"].get("containers") or []:
            c = worker.containers.get(spec["name"])
            if c is None or c.spec.get("image") == spec.get("image"):
                continue
            c.spec = {**c.spec, "image": spec["image"]}
            worker.event("Killing", f"Container {c.name} definition changed, will be restarted", container=c.name)
            if c.process is not None and c.process.proc is not None and c.process.proc.returncode is None:
                task = asyncio.create_task(c.process.stop(worker.grace))
                self._terminations.add(task)
                task.add_done_callback(self._terminations.discard)

    def _terminate(self, worker: PodWorker, grace: float, remove: bool) -> None:
        async def run() -> None:
            try:
                await worker.terminate(grace, remove)
            finally:
                self.workers.pop(worker.uid, None)

        task = asyncio.create_task(run())
        self._terminations.add(task)
        task.add_done_callback(self._terminations.discard)

    async def shutdown(self) -> None:
        """Stop every pod (server shutdown): they come back when the server starts again."""
        for worker in list(self.workers.values()):
            if not worker.terminating:
                worker.gone = True
                self._terminate(worker, min(worker.grace, 5.0), remove=False)
        if self._terminations:
            await asyncio.gather(*list(self._terminations), return_exceptions=True)

    # ------------------------------------------------------------------ logs, exec, usage

    def _container(self, worker: PodWorker, container: str | None) -> ContainerRuntime:
        if container is None:
            return next(iter(worker.containers.values()))
        for c in [*worker.containers.values(), *worker.init_containers]:
            if c.name == container:
                return c
        raise ExecError(f"container {container} is not valid for pod {worker.name}")

    def _log_source(self, namespace: str, name: str, container: str | None, previous: bool) -> _LogSource:
        """Which log answers `pods/log`, or the error kube-apiserver and the kubelet give instead."""
        pod = self.store.must_get("Pod", namespace, name)
        names = [c["name"] for c in pod["spec"]["containers"]]
        init_names = [c["name"] for c in pod["spec"].get("initContainers") or []]
        if container is None:
            if len(names) > 1:
                raise BadRequest(
                    f"a container name must be specified for pod {name}, "
                    f"choose one of: [{' '.join(init_names + names)}]"
                )
            if not names:
                raise BadRequest(f"a container name must be specified for pod {name}")
            container = names[0]
        elif container not in names + init_names:
            raise BadRequest(f"container {container} is not valid for pod {name}")
        if not pod["spec"].get("nodeName"):
            return _LogSource(None, False, None)  # not scheduled: an empty answer, as kube-apiserver gives
        where = f'container "{container}" in pod "{name}"'
        worker = self.workers.get(pod["metadata"]["uid"])
        runtimes = [] if worker is None or worker.gone else [*worker.containers.values(), *worker.init_containers]
        runtime = next((c for c in runtimes if c.name == container), None)
        if worker is None or runtime is None:
            raise BadRequest(f"{where} is waiting to start: ContainerCreating")
        state, last = runtime.state, runtime.last_state
        if previous:
            if "terminated" not in last:
                raise BadRequest(f"previous terminated {where} not found")
            # until the container starts again, its last terminated instance still owns the current file
            same = "terminated" in state and state["terminated"].get("containerID") == last["terminated"].get(
                "containerID"
            )
            return _LogSource(runtime.log, not ("waiting" in state or same), None)
        if "running" in state and runtime.process is not None:
            return _LogSource(runtime.log, False, (worker, runtime, runtime.process))
        if "terminated" in state or "terminated" in last:
            if "terminated" in state and "containerID" not in state["terminated"] and "terminated" not in last:
                raise BadRequest(f"{where} is terminated")
            return _LogSource(runtime.log, False, None)
        reason = (state.get("waiting") or {}).get("reason")
        if reason == "ErrImagePull":
            raise BadRequest(f"{where} is waiting to start: image can't be pulled")
        if reason == "ImagePullBackOff":
            raise BadRequest(f"{where} is waiting to start: trying and failing to pull image")
        if reason:
            raise BadRequest(f"{where} is waiting to start: {reason}")
        raise BadRequest(f"{where} is waiting to start - no logs yet")

    def logs(
        self,
        namespace: str,
        name: str,
        container: str | None = None,
        previous: bool = False,
        tail: int | None = None,
        since_seconds: float | None = None,
        timestamps: bool = False,
    ) -> str:
        """A container's log (`previous`: its last terminated instance's), as kubectl prints it.

        Raises NotFound (no such pod) and BadRequest (no such container, nothing logged yet), with
        kube-apiserver's and the kubelet's messages.
        """
        source = self._log_source(namespace, name, container, previous)
        if source.log is None:
            return ""
        text = source.log.read(source.previous, tail=tail, since_seconds=since_seconds, timestamps=timestamps)
        return text or ""

    def follow_log(
        self,
        namespace: str,
        name: str,
        container: str | None = None,
        tail: int | None = None,
        since_seconds: float | None = None,
        timestamps: bool = False,
    ) -> AsyncIterator[bytes]:
        """The container's current log, then its new lines while this instance runs (`kubectl logs -f`).

        Errors are raised here, before anything is streamed (as by `logs`). The stream ends when the
        container instance ends or the pod is gone; a client that leaves closes the iterator.
        """
        source = self._log_source(namespace, name, container, previous=False)
        if source.log is None:
            return _no_lines()
        running = source.running

        def live() -> bool:
            if running is None:
                return False
            worker, c, process = running
            return not worker.gone and c.process is process and "running" in c.state

        return follow_log_file(source.log.current, live, tail, since_seconds, timestamps)

    async def open_exec(
        self,
        namespace: str,
        pod: str,
        container: str | None,
        command: list[str],
        stdin: bool = False,
        tty: bool = False,
        *,
        limits: ExecLimits | None = None,
    ) -> ExecSession:
        """Start `command` in a running container of a pod (`kubectl exec`), in the container's sandbox.

        No `container`: the one the `kubectl.kubernetes.io/default-container` annotation names, else
        the first. Raises, with kube-apiserver's messages: NotFound (no such pod), BadRequest (unknown
        container, pod not scheduled, empty command) and an internal error "unable to upgrade
        connection: ..." when the pod or the container does not run here. A command that cannot
        start is a session that prints why (OCI-style) and exits with 126 (127: its file vanished).
        No limits unless `limits` says so.

        `tty=True` runs the command on a new pseudo-terminal, its controlling terminal: one output
        stream (stderr merged into stdout), input echoed, `close_stdin` types Ctrl-D, 80x24 until
        `resize`, TERM=xterm unless the container sets it (see ExecSession).
        """
        obj = self.store.get("Pod", namespace, pod)
        if obj is None:
            raise NotFound.of("pods", pod)
        names = [c["name"] for c in obj["spec"]["containers"]]
        init_names = [c["name"] for c in obj["spec"].get("initContainers") or []]
        if container is None:
            annotated = (obj["metadata"].get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
            container = annotated if annotated in names else names[0]
        elif container not in names + init_names:
            raise BadRequest(f"container {container} is not valid for pod {pod}")
        if not obj["spec"].get("nodeName"):
            raise BadRequest(f"pod {pod} does not have a host assigned")
        if not command:
            raise BadRequest("you must specify at least one command for the container")
        worker = self.workers.get(obj["metadata"]["uid"])
        if worker is None or worker.gone:
            raise _upgrade_failed("pod does not exist")
        c = self._container(worker, container)
        return await self._exec_session(worker, c, command, stdin, tty, limits)

    async def _exec_session(
        self,
        worker: PodWorker,
        c: ContainerRuntime,
        command: list[str],
        stdin: bool = False,
        tty: bool = False,
        limits: ExecLimits | None = None,
    ) -> ExecSession:
        """`command` resolved as the container's image resolves it, started in the container."""
        if not command:
            raise BadRequest("you must specify at least one command for the container")
        image = self.images.resolve(c.spec["image"])
        running = c.process is not None and c.process.proc is not None and c.process.proc.returncode is None
        if image is None or not running:
            raise _upgrade_failed(f'container not found ("{c.name}")')
        mounts = worker.mounts_for(c.spec)
        env = worker.env_for(c, mounts)
        try:
            argv = container_argv(image, command, None)
        except ExecutableNotFound as exc:
            return ExecSession.not_started(f"{OCI_EXEC_FAILED}{exc}: unknown\n", 126, tty)
        try:
            return await self._start_in(worker, c, argv, env, mounts, stdin=stdin, tty=tty, limits=limits)
        except (OSError, subprocess.SubprocessError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            code = 127 if isinstance(exc, FileNotFoundError) else 126
            return ExecSession.not_started(f'{OCI_EXEC_FAILED}exec: "{command[0]}": {reason}: unknown\n', code, tty)

    async def _start_in(
        self,
        worker: PodWorker,
        c: ContainerRuntime,
        argv: list[str],
        env: dict[str, str],
        mounts: dict[str, str],
        *,
        stdin: bool = False,
        output: bool = True,
        tty: bool = False,
        limits: ExecLimits | None = None,
    ) -> ExecSession:
        """The one way a process starts in a running container's sandbox: its cgroup (counted against
        its limits), user, environment and working directory. `output` off: stdout and stderr go to
        /dev/null. Raises OSError or SubprocessError when it cannot start."""
        sandbox = c.sandbox
        return await ExecSession.start(
            argv,
            env=env,
            cwd=worker.workdir_for(c.spec, mounts),
            preexec=sandbox.preexec if sandbox is not None else None,
            on_start=sandbox.attach if sandbox is not None else None,
            stdin=stdin,
            stdout=output,
            stderr=output,
            tty=tty,
            limits=limits,
        )

    async def exec(
        self, namespace: str, name: str, container: str | None, command: list[str], timeout: float
    ) -> tuple[str, str, int]:
        """Run a command to its end in a pod's container: (stdout, stderr, exit code); see `open_exec`.

        Each stream keeps at most EXEC_OUTPUT_LIMIT bytes (a command writing more is stopped) and the
        command gets `timeout` seconds (then exit code 124); stderr ends with a note when stopped.
        """
        limits = ExecLimits(output_bytes=EXEC_OUTPUT_LIMIT, seconds=timeout)
        session = await self.open_exec(namespace, name, container, command, limits=limits)
        out, err, code = await session.communicate()
        return out.decode(errors="replace"), err.decode(errors="replace"), code

    async def exec_in(
        self, worker: PodWorker, c: ContainerRuntime, command: list[str], timeout: float
    ) -> tuple[str, str, int]:
        """`exec` for a container the caller holds (exec probes); a container that stopped running
        meanwhile gives exit code 126 and the reason on stderr."""
        limits = ExecLimits(output_bytes=EXEC_OUTPUT_LIMIT, seconds=timeout)
        try:
            session = await self._exec_session(worker, c, command, limits=limits)
        except ClusterError as exc:
            return "", f"{exc.message}\n", 126
        out, err, code = await session.communicate()
        return out.decode(errors="replace"), err.decode(errors="replace"), code

    # ------------------------------------------------------------------ node-level access (fault injection)

    def _running(self, pod_uid: str, container: str | None) -> tuple[PodWorker, ContainerRuntime]:
        worker = self.workers.get(pod_uid)
        if worker is None or worker.gone or worker.terminating:
            raise ExecError(f"pod {pod_uid} is not running on this node")
        c = self._container(worker, container)
        if c.process is None or c.process.proc is None or c.process.proc.returncode is not None:
            raise ExecError(f'container "{c.name}" of pod {worker.name} is not running')
        return worker, c

    async def spawn_in_container(
        self, pod_uid: str, container: str | None, argv: list[str], extra_env: dict[str, str] | None = None
    ) -> asyncio.subprocess.Process:
        """Start a process inside a running container: its cgroup, user and environment.

        It counts against the container's limits and dies with the container instance.
        """
        worker, c = self._running(pod_uid, container)
        mounts = worker.mounts_for(c.spec)
        env = worker.env_for(c, mounts)
        env.update(extra_env or {})
        session = await self._start_in(worker, c, argv, env, mounts, output=False)
        assert session.process is not None
        return session.process

    def kill_container(self, pod_uid: str, container: str | None, sig: int = signal.SIGKILL) -> str:
        """Kill a container's whole process tree (the kubelet then restarts it per its policy)."""
        _worker, c = self._running(pod_uid, container)
        assert c.process is not None
        c.process.signal_all(sig)
        if c.sandbox is not None:
            c.sandbox.kill_all(sig)
        return c.name

    def volume_host_path(self, pod_uid: str, container: str | None, mount_path: str) -> str:
        """The host directory behind a container path that a volume is mounted at."""
        worker = self.workers.get(pod_uid)
        if worker is None or worker.gone:
            raise ExecError(f"pod {pod_uid} is not running on this node")
        c = self._container(worker, container)
        mounts = worker.mounts_for(c.spec)
        wanted = mount_path.rstrip("/") or "/"
        for path, host in sorted(mounts.items(), key=lambda kv: -len(kv[0])):
            base = path.rstrip("/") or "/"
            if wanted == base or wanted.startswith(base + "/"):
                return host + wanted[len(base) :]
        raise ExecError(f'no volume is mounted at "{mount_path}" in container "{c.name}" of pod {worker.name}')

    def clock_file(self, pod_uid: str, container: str | None) -> Path:
        """The file whose value shifts the container's CLOCK_REALTIME (see time_shift.py)."""
        if self.clock_shim is None:
            raise ExecError(f"time faults are unavailable on this host: {self.clock_shim_note}")
        worker, c = self._running(pod_uid, container)
        path = worker.clock_file(c.name)
        create_offset_file(path)
        return path

    def io_fault_files(self, pod_uid: str) -> list[Path]:
        """The shim's IO-fault control files of every container of a running pod (see io_fault_shim.py)."""
        worker = self.workers.get(pod_uid)
        if worker is None or worker.gone or self.clock_shim is None:
            return []
        return [worker.io_fault_file(name) for name in worker.containers if worker.io_fault_file(name).exists()]

    def container_names(self, pod_uid: str) -> list[str]:
        worker = self.workers.get(pod_uid)
        return [] if worker is None else list(worker.containers)

    def running_containers(self) -> Iterator[tuple[PodWorker, ContainerRuntime]]:
        for worker in list(self.workers.values()):
            if worker.gone:
                continue
            for c in worker.containers.values():
                if c.sandbox is not None and c.process is not None and "running" in c.state:
                    yield worker, c


DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
OCI_EXEC_FAILED = "OCI runtime exec failed: exec failed: unable to start container process: "


@dataclass(frozen=True)
class _LogSource:
    """What answers a `pods/log` request: a container's log (None: nothing to show), whether from its
    previous file, and the instance writing it while it runs: (worker, container, process)."""

    log: ContainerLog | None
    previous: bool
    running: tuple[PodWorker, ContainerRuntime, ContainerProcess] | None


async def _no_lines() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator that yields nothing


def _upgrade_failed(reason: str) -> ClusterError:
    """An exec the node cannot serve, worded as kube-apiserver relays the kubelet's refusal."""
    inner = f"unable to upgrade connection: {reason}"
    return ClusterError(f"Internal error occurred: {inner}", {"causes": [{"message": inner}]})
