"""The kinds the embedded cluster serves: names, short names, API groups.

Plain data with no heavy imports, so the kubectl-compatible CLI can use it and
still start fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
"""An API object as JSON: the form it has on the wire and in the store."""


@dataclass(frozen=True)
class KindInfo:
    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    api_version: str
    namespaced: bool

    @property
    def group(self) -> str:
        return self.api_version.split("/")[0] if "/" in self.api_version else ""

    @property
    def plural_qualified(self) -> str:
        """The name Kubernetes uses in messages, e.g. `deployments.apps`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified(self) -> str:
        """The name kubectl prints in `kind.group/name` form (e.g. deployment.apps)."""
        return f"{self.singular}.{self.group}" if self.group else self.singular


KINDS: tuple[KindInfo, ...] = (
    KindInfo("Pod", "pods", "pod", ("po",), "v1", True),
    KindInfo("Service", "services", "service", ("svc",), "v1", True),
    KindInfo("Deployment", "deployments", "deployment", ("deploy",), "apps/v1", True),
    KindInfo("ReplicaSet", "replicasets", "replicaset", ("rs",), "apps/v1", True),
    KindInfo("Endpoints", "endpoints", "endpoints", ("ep",), "v1", True),
    KindInfo("ConfigMap", "configmaps", "configmap", ("cm",), "v1", True),
    KindInfo("Secret", "secrets", "secret", (), "v1", True),
    KindInfo("Event", "events", "event", ("ev",), "v1", True),
    KindInfo("PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", ("pvc",), "v1", True),
    KindInfo("Namespace", "namespaces", "namespace", ("ns",), "v1", False),
    KindInfo("Node", "nodes", "node", ("no",), "v1", False),
    # fault experiments: Chaos Mesh's kinds, and remedlab's own functional faults
    KindInfo("StressChaos", "stresschaos", "stresschaos", (), "chaos-mesh.org/v1alpha1", True),
    KindInfo("NetworkChaos", "networkchaos", "networkchaos", (), "chaos-mesh.org/v1alpha1", True),
    KindInfo("IOChaos", "iochaos", "iochaos", (), "chaos-mesh.org/v1alpha1", True),
    KindInfo("PodChaos", "podchaos", "podchaos", (), "chaos-mesh.org/v1alpha1", True),
    KindInfo("HTTPChaos", "httpchaos", "httpchaos", (), "chaos-mesh.org/v1alpha1", True),
    KindInfo("TimeChaos", "timechaos", "timechaos", (), "chaos-mesh.org/v1alpha1", True),
    KindInfo("FunctionalChaos", "functionalchaos", "functionalchaos", ("fchaos",), "chaos.remedlab.io/v1alpha1", True),
)

CHAOS_KINDS = frozenset(k.kind for k in KINDS if k.api_version.startswith("chaos"))

BY_KIND: dict[str, KindInfo] = {k.kind: k for k in KINDS}
BY_PLURAL: dict[str, KindInfo] = {k.plural: k for k in KINDS}


def resolve(name: str) -> KindInfo | None:
    """Resolve what a user typed (pods, pod, po, Pod, deployment.apps, deploy) to a kind."""
    key = name.strip()
    base = key.split(".", 1)[0]
    for info in KINDS:
        if key in (info.kind, info.plural, info.singular, info.qualified) or base.lower() in (
            info.plural,
            info.singular,
            info.kind.lower(),
            *info.short_names,
        ):
            return info
    return None


WORKLOAD_KINDS = frozenset({"Deployment", "ReplicaSet"})
"""Kinds whose `spec.template` is a pod template."""


def pod_spec_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod spec of a Pod, or of a workload's pod template; None for other kinds."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return dict(spec)
    if kind in WORKLOAD_KINDS:
        return dict((spec.get("template") or {}).get("spec") or {})
    return None


def container_images(obj: dict[str, Any]) -> list[str]:
    """The images of an object's containers and init containers (none for kinds without pods)."""
    spec = pod_spec_of(obj) or {}
    groups = ("initContainers", "containers")
    return [str(c["image"]) for group in groups for c in spec.get(group) or [] if c.get("image")]
