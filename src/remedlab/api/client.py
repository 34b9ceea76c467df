"""The seam between remedlab and where the system runs (embedded cluster or Kubernetes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from remedlab.api.fault_runtime import FaultRuntime
from remedlab.api.pod_log_options import LogOptions

Obj = dict[str, Any]


PatchType = Literal["json", "merge", "strategic"]
"""JSON patch, JSON merge patch, strategic merge patch."""


@dataclass(frozen=True)
class WatchEvent:
    """One change a watch reports, as a Kubernetes watch does: the object after it (for DELETED, as it was)."""

    type: Literal["ADDED", "MODIFIED", "DELETED"]
    object: Obj


class Watch(Protocol):
    """A stream of changes of some resources, as Kubernetes' watch gives them: an ADDED event for each
    object that exists when it starts, then every change in order. Iterate it on the event loop it was
    opened on; `close` ends it (the iteration stops)."""

    def __aiter__(self) -> AsyncIterator[WatchEvent]: ...
    def close(self) -> None: ...


class Backend(Protocol):
    name: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    def list_objects(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]: ...
    def get(self, resource: str, namespace: str | None, name: str) -> Obj: ...
    def create(self, obj: Obj, namespace: str | None = None) -> Obj: ...
    def replace(self, obj: Obj, namespace: str | None = None) -> Obj: ...
    def apply(
        self, objects: list[Any], namespace: str | None = None, dry_run: bool = False
    ) -> list[dict[str, str]]: ...
    def patch(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        patch_type: Literal["json", "merge", "strategic"],
        patch: Any,
    ) -> Obj: ...
    def delete(self, resource: str, namespace: str | None, name: str, grace_seconds: int | None = None) -> Obj: ...
    def update_status(self, resource: str, namespace: str | None, name: str, status: dict[str, Any]) -> Obj: ...
    def watch(self, resources: Sequence[str], namespace: str | None = None) -> Watch:
        """Follow the objects of ``resources`` (plural names, e.g. ``pods``), of one namespace or all."""
        ...

    def logs(self, namespace: str, name: str, options: LogOptions) -> str:
        """A container's log, as `pods/log` answers it (without following)."""
        ...

    async def exec(
        self, namespace: str, name: str, container: str | None, command: list[str], timeout: float
    ) -> tuple[str, str, int]: ...

    def top_pods(self, namespace: str | None = None, label_selector: str | None = None) -> list[dict[str, Any]]: ...
    def pod_metrics(self, namespace: str | None, name: str | None, seconds: float) -> list[dict[str, Any]]: ...

    def doctor(self) -> list[dict[str, str]]: ...
    def action_user(self) -> tuple[int, int] | None: ...
    def action_preexec(self) -> Callable[[], None] | None: ...
    def fault_runtime(self) -> FaultRuntime | None: ...
    def chaos_kinds(self) -> frozenset[str]:
        """The chaos kinds this server carries out itself (with its fault runtime, or through the API);
        the cluster carries out the others (Chaos Mesh). Known once the backend started."""
        ...

    async def wait_namespace_ready(self, namespace: str, timeout: float) -> bool: ...
    def namespace_ready(self, namespace: str) -> tuple[int, int]: ...
    async def service_address(self, namespace: str, service: str, port: int) -> tuple[str, int]:
        """Where this server reaches ``service:port`` (its cluster IP, or a local tunnel to it)."""
        ...
