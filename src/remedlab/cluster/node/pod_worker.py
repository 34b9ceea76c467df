"""One pod on the node: its worker sets up the pod's IP and volumes, runs its init containers, then
keeps each container running according to the restart policy with exponential back-off
(CrashLoopBackOff), records exit codes and reasons (Error, OOMKilled, Completed, StartError), writes
the pod's status and events, and terminates gracefully (SIGTERM, grace period, SIGKILL of the tree)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from remedlab.api.image_map import ExecutableNotFound, container_argv
from remedlab.api.kinds import Obj
from remedlab.api.times import now_iso
from remedlab.cluster.node.container_env import ConfigError, container_env, expand
from remedlab.cluster.node.container_logs import ContainerLog
from remedlab.cluster.node.container_probes import start_probes
from remedlab.cluster.node.container_process import ContainerProcess, process_start_time
from remedlab.cluster.node.container_runtime import ContainerRuntime, container_limits, qos_class
from remedlab.cluster.node.io_fault_shim import create_control_file
from remedlab.cluster.node.isolation.pod_filesystem import PodFilesystem, VolumeMount
from remedlab.cluster.node.pod_dns import (
    CONTAINER_HOSTS_FILE,
    CONTAINER_RESOLV_CONF,
    PodDnsFiles,
    pod_hostname,
    resolver_env,
    write_pod_dns_files,
)
from remedlab.cluster.node.pod_namespace import HOLDER_RECORD, STAGING_DIR, PodNamespace, PodNamespaceError
from remedlab.cluster.node.pod_volumes import PodVolumes
from remedlab.cluster.node.time_shift import create_offset_file
from remedlab.cluster.node.volume_mounts import remove_pod_dir

if TYPE_CHECKING:
    from remedlab.cluster.node.kubelet import Kubelet


class PodWorker:
    """Runs one pod: its sandbox, init containers, containers with restarts and probes, its status."""

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
        self.volumes = PodVolumes(kubelet.store, kubelet.home, self.dir, self.namespace, self.spec)
        self.dns_files: PodDnsFiles | None = None
        self.pod_namespace: PodNamespace | None = None
        """The pod's mount and UTS namespaces, once set up (None: the pod shares the node's)."""
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

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        k = self.kubelet
        try:
            if not self.pod_ip:
                self.pod_ip = k.pod_ips.allocate()
            else:
                k.pod_ips.reserve([self.pod_ip])
            k.dataplane.register_pod(self.uid, self.pod_ip, self.namespace, self.name)
            self.dns_files = write_pod_dns_files(
                self.dir, self.pod_ip, self.name, self.namespace, self.spec, k.cluster_dns
            )
            shared = k.pod_namespaces
            try:
                self.volumes.prepare(k.isolation.run_as(), k.bind_mounts, shared)
            except ConfigError as exc:
                for c in self.containers.values():
                    c.state = {"waiting": {"reason": "CreateContainerConfigError", "message": str(exc)}}
                self.publish()
                self.event("FailedMount", f"MountVolume.SetUp failed: {exc}", "Warning")
                while not self.terminating:
                    await self._sleep(5)
                    try:
                        self.volumes.prepare(k.isolation.run_as(), k.bind_mounts, shared)
                        break
                    except ConfigError:
                        continue
            if k.pod_namespaces and not await self._create_namespace():
                return await self._wait_stop()
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

    def namespace_plan(self) -> PodFilesystem:
        """What the pod's mount namespace holds (see isolation/pod_filesystem.py)."""
        k = self.kubelet
        files = []
        if self.dns_files is not None:
            for target, source in (
                (CONTAINER_RESOLV_CONF, self.dns_files.resolv_conf),
                (CONTAINER_HOSTS_FILE, self.dns_files.hosts),
            ):
                if source.is_file():
                    files.append(VolumeMount(target, str(source)))
        return PodFilesystem(
            staging=str(self.dir / STAGING_DIR),
            hostname=pod_hostname(self.name, self.spec),
            volumes=self.volumes.namespace_mounts(),
            files=tuple(files),
            exposed=(*k.runtime_paths, str(self.dir.resolve())),
            run_as=k.isolation.run_as(),
        )

    async def _create_namespace(self) -> bool:
        """Set up the pod's namespaces, retrying while they cannot be; False if the pod stops first."""
        k = self.kubelet
        while not self.terminating:
            try:
                self.pod_namespace = PodNamespace.create(self.uid, self.namespace_plan())
            except (PodNamespaceError, OSError) as exc:
                message = str(exc)
                for c in self.containers.values():
                    c.state = {"waiting": {"reason": "CreateContainerError", "message": message}}
                self.publish()
                self.event("FailedCreatePodSandBox", f"Failed to create pod sandbox: {message}", "Warning")
                await self._sleep(5)
                continue
            holder = self.pod_namespace.holder
            k.store.record_process(self.uid, HOLDER_RECORD, holder.pid, process_start_time(holder.pid) or 0.0, "")
            return True
        return False

    def workdir(self, c: ContainerRuntime, mounts: dict[str, str]) -> str | None:
        """The working directory a process of the container starts in, on the host; None when it enters
        the pod's namespace, which changes to it there (see `enter_namespace`)."""
        if self.pod_namespace is not None:
            return None
        return self.volumes.workdir_for(c.spec, mounts)

    def enter_namespace(self, c: ContainerRuntime) -> None:
        """Have the container's processes join the pod's namespaces, in its working directory."""
        if self.pod_namespace is not None and c.sandbox is not None:
            root = str(self.volumes.root)
            c.sandbox.enter = self.pod_namespace.entry(c.spec.get("workingDir") or root, root)

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
        mounts = self.volumes.mounts_for(c.spec)
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
        self.enter_namespace(c)
        c.log.rotate()
        process = ContainerProcess(argv, env, self.workdir(c, mounts), c.log, c.sandbox.preexec)
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
            start_probes(self, c)
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
        """The container's environment, plus the pod shim that lets a time or IO fault reach it and
        resolves names through the cluster DNS."""
        k = self.kubelet
        mapped = None if self.pod_namespace is not None else mounts
        env = container_env(k.store, self._pod_view(), c.spec, mapped, str(self.volumes.root))
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
            env.update(resolver_env(self.dns_files, k.cluster_dns, k.dns_mode))
        return env

    def _pod_view(self) -> Obj:
        pod = self.kubelet.store.get("Pod", self.namespace, self.name) or {
            "metadata": {"name": self.name, "namespace": self.namespace, "uid": self.uid},
            "spec": self.spec,
        }
        pod.setdefault("status", {})["podIP"] = self.pod_ip
        pod["status"]["hostIP"] = self.kubelet.host_ip
        return pod

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
            if c.is_running():
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
        if self.pod_namespace is not None:
            self.pod_namespace.close()
            k.store.forget_process(self.uid, HOLDER_RECORD)
        k.dataplane.unregister_pod(self.uid)
        k.pod_ips.release(self.pod_ip)
        # off the event loop: unmounting a volume whose IO fault delays every file operation waits on it
        if not await asyncio.to_thread(remove_pod_dir, self.dir):
            k.log_error(f"pod {self.namespace}/{self.name}: a volume under {self.dir} is still mounted; kept it")
        if remove:
            pod = k.store.get("Pod", self.namespace, self.name)
            if pod is not None and pod["metadata"]["uid"] == self.uid:
                k.store.delete("Pod", self.namespace, self.name)
        self.gone = True
