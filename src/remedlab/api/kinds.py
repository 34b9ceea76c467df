"""The kinds the embedded cluster serves: names, short names, API groups, verbs, subresources.

Plain data: discovery, the REST handlers, the OpenAPI document and clients all read this one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
"""An API object as JSON: the form it has on the wire and in the store."""

CRUD_VERBS: tuple[str, ...] = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ_VERBS: tuple[str, ...] = ("get", "list", "watch")


@dataclass(frozen=True)
class Subresource:
    name: str
    kind: str
    verbs: tuple[str, ...]
    api_version: str = ""
    """The group/version of the subresource's kind when it differs from its parent's (Scale, Eviction)."""


STATUS = Subresource("status", "", ("get", "patch", "update"))


@dataclass(frozen=True)
class KindInfo:
    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    api_version: str
    namespaced: bool
    verbs: tuple[str, ...] = CRUD_VERBS
    categories: tuple[str, ...] = ()
    subresources: tuple[Subresource, ...] = ()
    stored: bool = True
    """False for kinds the server computes on each read (metrics, definitions, reviews)."""

    @property
    def group(self) -> str:
        return self.api_version.split("/")[0] if "/" in self.api_version else ""

    @property
    def version(self) -> str:
        return self.api_version.rsplit("/", 1)[-1]

    @property
    def plural_qualified(self) -> str:
        """The name Kubernetes uses in messages, e.g. `deployments.apps`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified(self) -> str:
        """The name kubectl prints in `kind.group/name` form (e.g. deployment.apps)."""
        return f"{self.singular}.{self.group}" if self.group else self.singular

    def subresource(self, name: str) -> Subresource | None:
        return next((s for s in self.subresources if s.name == name), None)


_CHAOS_SUBRESOURCES = (STATUS,)
_POD_SUBRESOURCES = (
    STATUS,
    Subresource("log", "Pod", ("get",)),
    Subresource("exec", "PodExecOptions", ("create", "get")),
    Subresource("portforward", "PodPortForwardOptions", ("create", "get")),
    Subresource("eviction", "Eviction", ("create",), "policy/v1"),
)
_RBAC_V1 = "rbac.authorization.k8s.io/v1"
_SCALABLE = (STATUS, Subresource("scale", "Scale", ("get", "patch", "update"), "autoscaling/v1"))

KINDS: tuple[KindInfo, ...] = (
    KindInfo("Pod", "pods", "pod", ("po",), "v1", True, categories=("all",), subresources=_POD_SUBRESOURCES),
    KindInfo("Service", "services", "service", ("svc",), "v1", True, categories=("all",), subresources=(STATUS,)),
    KindInfo(
        "Deployment",
        "deployments",
        "deployment",
        ("deploy",),
        "apps/v1",
        True,
        categories=("all",),
        subresources=_SCALABLE,
    ),
    KindInfo(
        "ReplicaSet",
        "replicasets",
        "replicaset",
        ("rs",),
        "apps/v1",
        True,
        categories=("all",),
        subresources=_SCALABLE,
    ),
    KindInfo(
        "StatefulSet",
        "statefulsets",
        "statefulset",
        ("sts",),
        "apps/v1",
        True,
        categories=("all",),
        subresources=_SCALABLE,
    ),
    KindInfo(
        "DaemonSet",
        "daemonsets",
        "daemonset",
        ("ds",),
        "apps/v1",
        True,
        categories=("all",),
        subresources=(STATUS,),
    ),
    KindInfo("ControllerRevision", "controllerrevisions", "controllerrevision", (), "apps/v1", True),
    KindInfo("Job", "jobs", "job", (), "batch/v1", True, categories=("all",), subresources=(STATUS,)),
    KindInfo("Endpoints", "endpoints", "endpoints", ("ep",), "v1", True),
    KindInfo("ConfigMap", "configmaps", "configmap", ("cm",), "v1", True),
    KindInfo("Secret", "secrets", "secret", (), "v1", True),
    KindInfo("Event", "events", "event", ("ev",), "v1", True),
    KindInfo(
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        ("pvc",),
        "v1",
        True,
        subresources=(STATUS,),
    ),
    KindInfo(
        "Namespace",
        "namespaces",
        "namespace",
        ("ns",),
        "v1",
        False,
        subresources=(STATUS,),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    ),
    KindInfo("Node", "nodes", "node", ("no",), "v1", False, subresources=(STATUS,)),
    KindInfo(
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        ("sa",),
        "v1",
        True,
        subresources=(Subresource("token", "TokenRequest", ("create",), "authentication.k8s.io/v1"),),
    ),
    # who may do what: rbac.authorization.k8s.io
    KindInfo("Role", "roles", "role", (), _RBAC_V1, True),
    KindInfo("RoleBinding", "rolebindings", "rolebinding", (), _RBAC_V1, True),
    KindInfo("ClusterRole", "clusterroles", "clusterrole", (), _RBAC_V1, False),
    KindInfo("ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", (), _RBAC_V1, False),
    # fault experiments: Chaos Mesh's kinds, and remedlab's own functional faults, as custom resources
    KindInfo(
        "StressChaos",
        "stresschaos",
        "stresschaos",
        (),
        "chaos-mesh.org/v1alpha1",
        True,
        categories=("chaos-mesh",),
        subresources=_CHAOS_SUBRESOURCES,
    ),
    KindInfo(
        "NetworkChaos",
        "networkchaos",
        "networkchaos",
        (),
        "chaos-mesh.org/v1alpha1",
        True,
        categories=("chaos-mesh",),
        subresources=_CHAOS_SUBRESOURCES,
    ),
    KindInfo(
        "IOChaos",
        "iochaos",
        "iochaos",
        (),
        "chaos-mesh.org/v1alpha1",
        True,
        categories=("chaos-mesh",),
        subresources=_CHAOS_SUBRESOURCES,
    ),
    KindInfo(
        "PodChaos",
        "podchaos",
        "podchaos",
        (),
        "chaos-mesh.org/v1alpha1",
        True,
        categories=("chaos-mesh",),
        subresources=_CHAOS_SUBRESOURCES,
    ),
    KindInfo(
        "HTTPChaos",
        "httpchaos",
        "httpchaos",
        (),
        "chaos-mesh.org/v1alpha1",
        True,
        categories=("chaos-mesh",),
        subresources=_CHAOS_SUBRESOURCES,
    ),
    KindInfo(
        "TimeChaos",
        "timechaos",
        "timechaos",
        (),
        "chaos-mesh.org/v1alpha1",
        True,
        categories=("chaos-mesh",),
        subresources=_CHAOS_SUBRESOURCES,
    ),
    KindInfo(
        "FunctionalChaos",
        "functionalchaos",
        "functionalchaos",
        ("fchaos",),
        "chaos.remedlab.io/v1alpha1",
        True,
        categories=("chaos-mesh",),
        subresources=_CHAOS_SUBRESOURCES,
    ),
    # computed on each read
    KindInfo(
        "CustomResourceDefinition",
        "customresourcedefinitions",
        "customresourcedefinition",
        ("crd", "crds"),
        "apiextensions.k8s.io/v1",
        False,
        verbs=READ_VERBS,
        stored=False,
    ),
    KindInfo(
        "PodMetrics", "pods", "podmetrics", (), "metrics.k8s.io/v1beta1", True, verbs=("get", "list"), stored=False
    ),
    KindInfo(
        "NodeMetrics", "nodes", "nodemetrics", (), "metrics.k8s.io/v1beta1", False, verbs=("get", "list"), stored=False
    ),
    KindInfo(
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        (),
        "authorization.k8s.io/v1",
        False,
        verbs=("create",),
        stored=False,
    ),
)

CHAOS_KINDS = frozenset(k.kind for k in KINDS if k.api_version.startswith("chaos"))
STORED_KINDS = tuple(k for k in KINDS if k.stored)

BY_KIND: dict[str, KindInfo] = {k.kind: k for k in KINDS}
BY_PLURAL: dict[str, KindInfo] = {k.plural: k for k in KINDS if k.group != "metrics.k8s.io"}
BY_GROUP_RESOURCE: dict[tuple[str, str], KindInfo] = {(k.group, k.plural): k for k in KINDS}


def api_path(info: KindInfo, namespace: str | None = None, name: str | None = None, sub: str | None = None) -> str:
    """The REST path of a collection (no name) or of one object, as Kubernetes lays them out:
    ``/api/v1/namespaces/NS/pods/NAME/log``, ``/apis/apps/v1/deployments`` (every namespace)..."""
    root = f"/apis/{info.api_version}" if info.group else f"/api/{info.api_version}"
    path = f"{root}/namespaces/{namespace}/{info.plural}" if namespace and info.namespaced else f"{root}/{info.plural}"
    if name:
        path += f"/{name}"
        if sub:
            path += f"/{sub}"
    return path


def group_versions() -> list[str]:
    """Every group/version served, core first, in the order discovery lists them."""
    seen: list[str] = []
    for info in KINDS:
        if info.api_version not in seen:
            seen.append(info.api_version)
    return seen


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


WORKLOAD_KINDS = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"})
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
