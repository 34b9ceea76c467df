"""The API's own payloads, as Kubernetes defines them: Status, lists, Tables, watch events,
discovery documents, DeleteOptions, Scale, Eviction, access reviews, metrics and
custom resource definitions.

Objects inside these payloads (list items, table rows' objects) stay JSON maps: the
server stores and serves them as such, and their own models live in ``api.objects``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from remedlab.api.objects import K8sModel, ObjectMeta

Obj = dict[str, Any]

# --------------------------------------------------------------------------- status, lists, watch


class ListMeta(K8sModel):
    resource_version: str | None = None
    continue_: str | None = Field(default=None, alias="continue")
    remaining_item_count: int | None = None


class StatusCause(K8sModel):
    reason: str | None = None
    message: str | None = None
    field: str | None = None


class StatusDetails(K8sModel):
    name: str | None = None
    group: str | None = None
    kind: str | None = None
    uid: str | None = None
    causes: list[StatusCause] = Field(default_factory=list)
    retry_after_seconds: int | None = None


class Status(K8sModel):
    kind: Literal["Status"] = "Status"
    api_version: Literal["v1"] = "v1"
    metadata: ListMeta = Field(default_factory=ListMeta)
    status: Literal["Success", "Failure"] | None = None
    message: str | None = None
    reason: str | None = None
    details: StatusDetails | None = None
    code: int | None = None


WatchEventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]


class WatchEvent(K8sModel):
    type: WatchEventType
    object: Obj


class DeleteOptions(K8sModel):
    kind: str | None = None
    api_version: str | None = None
    grace_period_seconds: int | None = Field(default=None, ge=0)
    propagation_policy: Literal["Orphan", "Background", "Foreground"] | None = None
    orphan_dependents: bool | None = None
    preconditions: Preconditions | None = None
    dry_run: list[str] | None = None
    ignore_store_read_error_with_cluster_breaking_potential: bool | None = None


class Preconditions(K8sModel):
    uid: str | None = None
    resource_version: str | None = None


# --------------------------------------------------------------------------- tables


class TableColumnDefinition(K8sModel):
    name: str
    type: Literal["string", "integer", "number", "boolean", "date"]
    format: str = ""
    description: str = ""
    priority: int = 0


class TableRow(K8sModel):
    cells: list[Any]
    object: Obj | None = None


class Table(K8sModel):
    kind: Literal["Table"] = "Table"
    api_version: Literal["meta.k8s.io/v1"] = "meta.k8s.io/v1"
    metadata: ListMeta = Field(default_factory=ListMeta)
    column_definitions: list[TableColumnDefinition] = Field(default_factory=list)
    rows: list[TableRow] = Field(default_factory=list)


IncludeObject = Literal["None", "Metadata", "Object"]

# --------------------------------------------------------------------------- discovery


class VersionInfo(K8sModel):
    major: str
    minor: str
    git_version: str
    git_commit: str = ""
    git_tree_state: str = "clean"
    build_date: str = ""
    go_version: str = ""
    compiler: str = "gc"
    platform: str = "linux/amd64"


class ServerAddressByClientCIDR(K8sModel):
    client_cidr: str = Field(alias="clientCIDR")
    server_address: str


class APIVersions(K8sModel):
    kind: Literal["APIVersions"] = "APIVersions"
    versions: list[str]
    server_address_by_client_cidrs: list[ServerAddressByClientCIDR] = Field(
        default_factory=list, alias="serverAddressByClientCIDRs"
    )


class GroupVersionForDiscovery(K8sModel):
    group_version: str
    version: str


class APIGroup(K8sModel):
    kind: Literal["APIGroup"] = "APIGroup"
    api_version: Literal["v1"] = "v1"
    name: str
    versions: list[GroupVersionForDiscovery]
    preferred_version: GroupVersionForDiscovery


class APIGroupList(K8sModel):
    kind: Literal["APIGroupList"] = "APIGroupList"
    api_version: Literal["v1"] = "v1"
    groups: list[APIGroup]


class APIResource(K8sModel):
    name: str
    singular_name: str
    namespaced: bool
    group: str | None = None
    version: str | None = None
    kind: str
    verbs: list[str]
    short_names: list[str] | None = None
    categories: list[str] | None = None


class APIResourceList(K8sModel):
    kind: Literal["APIResourceList"] = "APIResourceList"
    api_version: Literal["v1"] = "v1"
    group_version: str
    resources: list[APIResource]


class GroupVersionKind(K8sModel):
    group: str
    version: str
    kind: str


class APISubresourceDiscovery(K8sModel):
    subresource: str
    response_kind: GroupVersionKind | None = None
    verbs: list[str]


class APIResourceDiscovery(K8sModel):
    resource: str
    response_kind: GroupVersionKind
    scope: Literal["Namespaced", "Cluster"]
    singular_resource: str
    verbs: list[str]
    short_names: list[str] | None = None
    categories: list[str] | None = None
    subresources: list[APISubresourceDiscovery] | None = None


class APIVersionDiscovery(K8sModel):
    version: str
    resources: list[APIResourceDiscovery]
    freshness: Literal["Current", "Stale"] = "Current"


class DiscoveryGroupMeta(K8sModel):
    name: str


class APIGroupDiscovery(K8sModel):
    metadata: DiscoveryGroupMeta
    versions: list[APIVersionDiscovery]


class APIGroupDiscoveryList(K8sModel):
    kind: Literal["APIGroupDiscoveryList"] = "APIGroupDiscoveryList"
    api_version: Literal["apidiscovery.k8s.io/v2"] = "apidiscovery.k8s.io/v2"
    metadata: ListMeta = Field(default_factory=ListMeta)
    items: list[APIGroupDiscovery]


# --------------------------------------------------------------------------- subresources and reviews


class ScaleSpec(K8sModel):
    replicas: int = Field(default=0, ge=0)


class ScaleStatus(K8sModel):
    replicas: int = 0
    selector: str | None = None


class Scale(K8sModel):
    kind: Literal["Scale"] = "Scale"
    api_version: Literal["autoscaling/v1"] = "autoscaling/v1"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ScaleSpec = Field(default_factory=ScaleSpec)
    status: ScaleStatus = Field(default_factory=ScaleStatus)


class Eviction(K8sModel):
    kind: Literal["Eviction"] = "Eviction"
    api_version: Literal["policy/v1", "policy/v1beta1"] = "policy/v1"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    delete_options: DeleteOptions | None = None


class ResourceAttributes(K8sModel):
    namespace: str | None = None
    verb: str | None = None
    group: str | None = None
    version: str | None = None
    resource: str | None = None
    subresource: str | None = None
    name: str | None = None
    field_selector: Obj | None = None
    label_selector: Obj | None = None


class NonResourceAttributes(K8sModel):
    path: str | None = None
    verb: str | None = None


class SelfSubjectAccessReviewSpec(K8sModel):
    resource_attributes: ResourceAttributes | None = None
    non_resource_attributes: NonResourceAttributes | None = None


class SubjectAccessReviewStatus(K8sModel):
    allowed: bool
    denied: bool | None = None
    reason: str | None = None
    evaluation_error: str | None = None


class SelfSubjectAccessReview(K8sModel):
    kind: Literal["SelfSubjectAccessReview"] = "SelfSubjectAccessReview"
    api_version: Literal["authorization.k8s.io/v1"] = "authorization.k8s.io/v1"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: SelfSubjectAccessReviewSpec
    status: SubjectAccessReviewStatus | None = None


# --------------------------------------------------------------------------- metrics.k8s.io


class ContainerMetrics(K8sModel):
    name: str
    usage: dict[str, str]


class PodMetrics(K8sModel):
    kind: Literal["PodMetrics"] = "PodMetrics"
    api_version: Literal["metrics.k8s.io/v1beta1"] = "metrics.k8s.io/v1beta1"
    metadata: ObjectMeta
    timestamp: str
    window: str
    containers: list[ContainerMetrics]


class NodeMetrics(K8sModel):
    kind: Literal["NodeMetrics"] = "NodeMetrics"
    api_version: Literal["metrics.k8s.io/v1beta1"] = "metrics.k8s.io/v1beta1"
    metadata: ObjectMeta
    timestamp: str
    window: str
    usage: dict[str, str]


# --------------------------------------------------------------------------- custom resource definitions


class CustomResourceDefinitionNames(K8sModel):
    plural: str
    singular: str
    kind: str
    list_kind: str
    short_names: list[str] | None = None
    categories: list[str] | None = None


class CustomResourceColumnDefinition(K8sModel):
    name: str
    type: str
    json_path: str
    description: str | None = None
    priority: int | None = None
    format: str | None = None


class CustomResourceValidation(K8sModel):
    open_api_v3_schema: Obj = Field(alias="openAPIV3Schema")


class CustomResourceDefinitionVersion(K8sModel):
    name: str
    served: bool = True
    storage: bool = True
    schema_: CustomResourceValidation | None = Field(default=None, alias="schema")
    subresources: Obj | None = None
    additional_printer_columns: list[CustomResourceColumnDefinition] | None = None


class CustomResourceDefinitionSpec(K8sModel):
    group: str
    names: CustomResourceDefinitionNames
    scope: Literal["Namespaced", "Cluster"]
    versions: list[CustomResourceDefinitionVersion]


class CustomResourceDefinitionCondition(K8sModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str | None = None
    message: str | None = None
    last_transition_time: str | None = None


class CustomResourceDefinitionStatus(K8sModel):
    accepted_names: CustomResourceDefinitionNames
    conditions: list[CustomResourceDefinitionCondition] = Field(default_factory=list)
    stored_versions: list[str] = Field(default_factory=list)


class CustomResourceDefinition(K8sModel):
    kind: Literal["CustomResourceDefinition"] = "CustomResourceDefinition"
    api_version: Literal["apiextensions.k8s.io/v1"] = "apiextensions.k8s.io/v1"
    metadata: ObjectMeta
    spec: CustomResourceDefinitionSpec
    status: CustomResourceDefinitionStatus | None = None


DeleteOptions.model_rebuild()
