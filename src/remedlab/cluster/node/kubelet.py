"""The kubelet: runs the pods bound to this node as real process trees.

A :class:`~remedlab.cluster.node.pod_worker.PodWorker` per pod runs its containers (restarts,
back-off, probes, termination); the kubelet starts, updates and stops workers as the pods change,
kills what a crashed server left behind, and gives the access to running containers that ``pods/log``
(:mod:`pod_logs`), ``pods/exec`` (:mod:`container_exec`) and fault injection need.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from remedlab.api.errors import BadRequest, NotFound
from remedlab.api.fidelity_check import FidelityCheck
from remedlab.api.image_map import ImageRegistry
from remedlab.api.kinds import Obj
from remedlab.api.times import parse_time
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.dataplane.dataplane import Dataplane
from remedlab.cluster.dataplane.ipam import AddressPool
from remedlab.cluster.dns.zone import DNS_PORT
from remedlab.cluster.node.container_exec import (
    EXEC_OUTPUT_LIMIT,
    communicate,
    exec_session,
    start_in,
    upgrade_failed,
)
from remedlab.cluster.node.container_process import kill_tree, process_start_time
from remedlab.cluster.node.container_runtime import ContainerRuntime
from remedlab.cluster.node.exec_session import ExecLimits, ExecSession
from remedlab.cluster.node.io_fault_mount import cleanup_stale
from remedlab.cluster.node.isolation.mount_namespace import (
    mount_namespace_check,
    namespaces_unavailable,
    runtime_paths,
)
from remedlab.cluster.node.isolation.sandbox import Isolation
from remedlab.cluster.node.pod_dns import ClusterDns, DnsMode
from remedlab.cluster.node.pod_logs import PodLogs
from remedlab.cluster.node.pod_ports import PodPortDialer
from remedlab.cluster.node.pod_worker import PodWorker
from remedlab.cluster.node.time_shift import build_shim, create_offset_file
from remedlab.cluster.node.volume_mounts import bind_mounts_available
from remedlab.mounts import unmount_all
from remedlab.volume_storage import claims_root

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"


@dataclass
class KubeletConfig:
    backoff_base: float = 10.0
    backoff_max: float = 300.0
    backoff_reset: float = 600.0
    relist_period: float = 1.0  # the pod lifecycle event generator's relist (the kubelet's 1 s)


class ExecError(Exception):
    """A `kubectl exec` that cannot run (no such container, not running)."""


class Kubelet:
    """The node agent: a worker per pod bound here, and the access to running containers that logs,
    exec and fault injection need."""

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
        self.relist_origin = time.monotonic()  # the relists' phase (the event loop's clock is monotonic)
        self.host_ip = host_ip
        self.workers: dict[str, PodWorker] = {}
        self.pod_logs = PodLogs(store, self.workers)
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
        self.cluster_dns: ClusterDns | None = None
        """Where the cluster DNS server listens, once it does."""
        self.cluster_dns_note = "the cluster DNS server has not started"
        self.pod_namespaces_note = namespaces_unavailable() or ("" if self.bind_mounts else "no mount(8)")
        self.pod_namespaces = not self.pod_namespaces_note
        """Whether each pod gets its own mount and UTS namespaces (see pod_namespace.py)."""
        self.runtime_paths = runtime_paths(self.cache_dir, *([self.clock_shim] if self.clock_shim else []))
        """What every pod's processes must reach of remedlab's runtime and of this node's files."""
        self.resolv_conf_mounted = self.pod_namespaces
        """Whether each pod's resolv.conf and hosts file are mounted at /etc/resolv.conf and /etc/hosts in
        its own mount namespace."""

    @property
    def dns_mode(self) -> DnsMode:
        """How the pods' processes reach the cluster DNS."""
        if self.cluster_dns is None:
            return DnsMode.UNAVAILABLE
        if self.resolv_conf_mounted and self.cluster_dns.port == DNS_PORT:
            return DnsMode.MOUNT_NAMESPACE
        return DnsMode.SHIM if self.clock_shim is not None else DnsMode.UNAVAILABLE

    def mount_namespace_check(self) -> FidelityCheck:
        return mount_namespace_check(self.pod_namespaces_note or None)

    def log_error(self, message: str) -> None:
        logging.getLogger(__name__).warning("%s", message)

    def sweep_leftovers(self) -> int:
        """Kill every process a previous run of the server left behind (after a crash): containers and
        the holders of pods' namespaces (whose mounts go with them); then unmount what is left under
        the pods' directories."""
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
        claims = claims_root(self.home)
        for root in (self.home,) if claims.is_relative_to(self.home.resolve()) else (self.home, claims):
            with contextlib.suppress(Exception):
                cleanup_stale(root)
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
            if c.process is not None and c.is_running():
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

    # ------------------------------------------------------------------ exec

    def _container(self, worker: PodWorker, container: str | None) -> ContainerRuntime:
        if container is None:
            return next(iter(worker.containers.values()))
        for c in [*worker.containers.values(), *worker.init_containers]:
            if c.name == container:
                return c
        raise ExecError(f"container {container} is not valid for pod {worker.name}")

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
        size: tuple[int, int] | None = None,
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
            raise upgrade_failed("pod does not exist")
        c = self._container(worker, container)
        return await exec_session(self.images, worker, c, command, stdin, tty, limits, size)

    def open_port_forward(self, namespace: str, pod: str) -> PodPortDialer:
        """A running pod's ports, for `pods/portforward`: connections to its IP.

        Raises, with kube-apiserver's messages: NotFound (no such pod), BadRequest (pod not
        scheduled) and an internal error "unable to upgrade connection: pod not found" when the pod
        does not run here (it has completed, or is gone). A pod whose containers are still starting
        is forwarded to, as on a real node: connecting to a port nothing listens on is refused.
        """
        obj = self.store.get("Pod", namespace, pod)
        if obj is None:
            raise NotFound.of("pods", pod)
        if not obj["spec"].get("nodeName"):
            raise BadRequest(f"pod {pod} does not have a host assigned")
        worker = self.workers.get(obj["metadata"]["uid"])
        phase = (obj.get("status") or {}).get("phase")
        if worker is None or worker.gone or not worker.pod_ip or phase in ("Succeeded", "Failed"):
            raise upgrade_failed(f'pod not found ("{pod}_{namespace}")')
        return PodPortDialer(f"{pod}_{namespace}", worker.uid, worker.pod_ip)

    async def exec(
        self, namespace: str, name: str, container: str | None, command: list[str], timeout: float
    ) -> tuple[str, str, int]:
        """Run a command to its end in a pod's container: (stdout, stderr, exit code); see `open_exec`.

        Each stream keeps at most EXEC_OUTPUT_LIMIT bytes (a command writing more is stopped) and the
        command gets `timeout` seconds (then exit code 124); stderr ends with a note when stopped.
        """
        limits = ExecLimits(output_bytes=EXEC_OUTPUT_LIMIT, seconds=timeout)
        session = await self.open_exec(namespace, name, container, command, limits=limits)
        return await communicate(session)

    # ------------------------------------------------------------------ node-level access (fault injection)

    def _running(self, pod_uid: str, container: str | None) -> tuple[PodWorker, ContainerRuntime]:
        worker = self.workers.get(pod_uid)
        if worker is None or worker.gone or worker.terminating:
            raise ExecError(f"pod {pod_uid} is not running on this node")
        c = self._container(worker, container)
        if not c.is_running():
            raise ExecError(f'container "{c.name}" of pod {worker.name} is not running')
        return worker, c

    async def spawn_in_container(
        self, pod_uid: str, container: str | None, argv: list[str], extra_env: dict[str, str] | None = None
    ) -> asyncio.subprocess.Process:
        """Start a process inside a running container: its cgroup, user and environment.

        It counts against the container's limits and dies with the container instance.
        """
        worker, c = self._running(pod_uid, container)
        mounts = worker.volumes.mounts_for(c.spec)
        env = worker.env_for(c, mounts)
        env.update(extra_env or {})
        session = await start_in(worker, c, argv, env, mounts, output=False)
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
        mounts = worker.volumes.mounts_for(c.spec)
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
