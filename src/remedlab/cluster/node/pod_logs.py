"""What answers ``pods/log``: a container's current or previous log, whole or from its tail or a
moment, and followed while its instance runs; or the error kube-apiserver and the kubelet give."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from remedlab.api.errors import BadRequest
from remedlab.api.pod_log_options import LogOptions
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.node.container_logs import ContainerLog
from remedlab.cluster.node.container_process import ContainerProcess
from remedlab.cluster.node.container_runtime import ContainerRuntime
from remedlab.cluster.node.log_follow import follow_log_file

if TYPE_CHECKING:
    from remedlab.cluster.node.pod_worker import PodWorker


@dataclass(frozen=True)
class LogSource:
    """What answers a `pods/log` request: a container's log (None: nothing to show), whether from its
    previous file, and the instance writing it while it runs: (worker, container, process)."""

    log: ContainerLog | None
    previous: bool
    running: tuple[PodWorker, ContainerRuntime, ContainerProcess] | None


class PodLogs:
    """The logs of the pods the node runs (``workers``, by pod UID)."""

    def __init__(self, store: Store, workers: dict[str, PodWorker]) -> None:
        self.store = store
        self.workers = workers

    def _source(self, namespace: str, name: str, container: str | None, previous: bool) -> LogSource:
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
            return LogSource(None, False, None)  # not scheduled: an empty answer, as kube-apiserver gives
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
            return LogSource(runtime.log, not ("waiting" in state or same), None)
        if "running" in state and runtime.process is not None:
            return LogSource(runtime.log, False, (worker, runtime, runtime.process))
        if "terminated" in state or "terminated" in last:
            if "terminated" in state and "containerID" not in state["terminated"] and "terminated" not in last:
                raise BadRequest(f"{where} is terminated")
            return LogSource(runtime.log, False, None)
        reason = (state.get("waiting") or {}).get("reason")
        if reason == "ErrImagePull":
            raise BadRequest(f"{where} is waiting to start: image can't be pulled")
        if reason == "ImagePullBackOff":
            raise BadRequest(f"{where} is waiting to start: trying and failing to pull image")
        if reason:
            raise BadRequest(f"{where} is waiting to start: {reason}")
        raise BadRequest(f"{where} is waiting to start - no logs yet")

    def logs(self, namespace: str, name: str, options: LogOptions) -> str:
        """A container's log (`previous`: its last terminated instance's), as kubectl prints it.

        Raises NotFound (no such pod) and BadRequest (no such container, nothing logged yet), with
        kube-apiserver's and the kubelet's messages.
        """
        source = self._source(namespace, name, options.container, options.previous)
        if source.log is None:
            return ""
        text = source.log.read(
            source.previous, tail=options.tail_lines, since_seconds=options.since_seconds, timestamps=options.timestamps
        )
        return text or ""

    def follow_log(self, namespace: str, name: str, options: LogOptions) -> AsyncIterator[bytes]:
        """The container's current log, then its new lines while this instance runs (`kubectl logs -f`).

        Errors are raised here, before anything is streamed (as by `logs`). The stream ends when the
        container instance ends or the pod is gone; a client that leaves closes the iterator.
        """
        source = self._source(namespace, name, options.container, previous=False)
        if source.log is None:
            return _no_lines()
        running = source.running

        def live() -> bool:
            if running is None:
                return False
            worker, c, process = running
            return not worker.gone and c.process is process and "running" in c.state

        return follow_log_file(source.log.current, live, options.tail_lines, options.since_seconds, options.timestamps)


async def _no_lines() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator that yields nothing
