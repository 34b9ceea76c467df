"""Kubernetes-shaped objects of the embedded cluster.

Field names follow the Kubernetes API (camelCase on the wire, snake_case in
Python).  Manifests are validated against these models: an unknown field is an
error, as with ``kubectl apply --validate=strict``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from remedlab.api.quantity import QuantityError, parse_quantity


class K8sModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        validate_assignment=False,
    )

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


# --------------------------------------------------------------------------- metadata


class OwnerReference(K8sModel):
    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ObjectMeta(K8sModel):
    name: str = ""
    generate_name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    deletion_grace_period_seconds: int | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    owner_references: list[OwnerReference] = Field(default_factory=list)
    finalizers: list[str] | None = None


class LabelSelectorRequirement(K8sModel):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = Field(default_factory=list)


class LabelSelector(K8sModel):
    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: list[LabelSelectorRequirement] = Field(default_factory=list)


# --------------------------------------------------------------------------- containers


class KeySelector(K8sModel):
    name: str
    key: str
    optional: bool | None = None


class FieldSelector(K8sModel):
    field_path: str
    api_version: str | None = None


class ResourceFieldSelector(K8sModel):
    resource: str
    container_name: str | None = None
    divisor: str | None = None


class EnvVarSource(K8sModel):
    config_map_key_ref: KeySelector | None = None
    secret_key_ref: KeySelector | None = None
    field_ref: FieldSelector | None = None
    resource_field_ref: ResourceFieldSelector | None = None


class EnvVar(K8sModel):
    name: str
    value: str | None = None
    value_from: EnvVarSource | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _stringify(cls, v: Any) -> Any:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return str(v)
        return v


class NameRef(K8sModel):
    name: str
    optional: bool | None = None


class EnvFromSource(K8sModel):
    prefix: str | None = None
    config_map_ref: NameRef | None = None
    secret_ref: NameRef | None = None


class ContainerPort(K8sModel):
    container_port: int = Field(ge=1, le=65535)
    name: str | None = None
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"
    host_port: int | None = None


class ResourceRequirements(K8sModel):
    limits: dict[str, str] = Field(default_factory=dict)
    requests: dict[str, str] = Field(default_factory=dict)

    @field_validator("limits", "requests", mode="before")
    @classmethod
    def _check_quantities(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out: dict[str, str] = {}
        for key, raw in v.items():
            text = str(raw)
            try:
                parse_quantity(text)
            except QuantityError as exc:
                raise ValueError(f"{key}: {exc}") from None
            out[str(key)] = text
        return out


class HTTPHeader(K8sModel):
    name: str
    value: str


class HTTPGetAction(K8sModel):
    path: str = "/"
    port: int | str
    host: str | None = None
    scheme: Literal["HTTP", "HTTPS"] = "HTTP"
    http_headers: list[HTTPHeader] = Field(default_factory=list)


class TCPSocketAction(K8sModel):
    port: int | str
    host: str | None = None


class ExecAction(K8sModel):
    command: list[str]


class Probe(K8sModel):
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    exec: ExecAction | None = None
    initial_delay_seconds: float = 0
    period_seconds: float = Field(default=10, gt=0)
    timeout_seconds: float = Field(default=1, gt=0)
    success_threshold: int = Field(default=1, ge=1)
    failure_threshold: int = Field(default=3, ge=1)
    termination_grace_period_seconds: int | None = None


class VolumeMount(K8sModel):
    name: str
    mount_path: str
    read_only: bool | None = None
    sub_path: str | None = None


class Container(K8sModel):
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    image: str
    command: list[str] | None = None
    args: list[str] | None = None
    working_dir: str | None = None
    env: list[EnvVar] = Field(default_factory=list)
    env_from: list[EnvFromSource] = Field(default_factory=list)
    ports: list[ContainerPort] = Field(default_factory=list)
    resources: ResourceRequirements = Field(default_factory=ResourceRequirements)
    readiness_probe: Probe | None = None
    liveness_probe: Probe | None = None
    startup_probe: Probe | None = None
    volume_mounts: list[VolumeMount] = Field(default_factory=list)
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = None
    security_context: dict[str, Any] | None = None
    lifecycle: dict[str, Any] | None = None
    termination_message_path: str | None = None
    termination_message_policy: str | None = None
    stdin: bool | None = None
    tty: bool | None = None


class KeyToPath(K8sModel):
    key: str
    path: str
    mode: int | None = None


class ConfigMapVolumeSource(K8sModel):
    name: str
    items: list[KeyToPath] = Field(default_factory=list)
    default_mode: int | None = None
    optional: bool | None = None


class SecretVolumeSource(K8sModel):
    secret_name: str
    items: list[KeyToPath] = Field(default_factory=list)
    default_mode: int | None = None
    optional: bool | None = None


class EmptyDirVolumeSource(K8sModel):
    medium: str | None = None
    size_limit: str | None = None


class PVCVolumeSource(K8sModel):
    claim_name: str
    read_only: bool | None = None


class HostPathVolumeSource(K8sModel):
    path: str
    type: str | None = None


class Volume(K8sModel):
    name: str
    empty_dir: EmptyDirVolumeSource | None = None
    config_map: ConfigMapVolumeSource | None = None
    secret: SecretVolumeSource | None = None
    persistent_volume_claim: PVCVolumeSource | None = None
    host_path: HostPathVolumeSource | None = None


class Toleration(K8sModel):
    key: str | None = None
    operator: str | None = None
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = None


class PodSpec(K8sModel):
    containers: list[Container] = Field(min_length=1)
    init_containers: list[Container] = Field(default_factory=list)
    restart_policy: Literal["Always", "OnFailure", "Never"] = "Always"
    termination_grace_period_seconds: int = Field(default=30, ge=0)
    node_selector: dict[str, str] = Field(default_factory=dict)
    node_name: str | None = None
    volumes: list[Volume] = Field(default_factory=list)
    hostname: str | None = None
    subdomain: str | None = None
    service_account_name: str | None = None
    service_account: str | None = None
    automount_service_account_token: bool | None = None
    security_context: dict[str, Any] | None = None
    affinity: dict[str, Any] | None = None
    tolerations: list[Toleration] = Field(default_factory=list)
    dns_policy: str | None = None
    scheduler_name: str | None = None
    priority_class_name: str | None = None
    enable_service_links: bool | None = None
    image_pull_secrets: list[NameRef] = Field(default_factory=list)


class PodTemplateSpec(K8sModel):
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: PodSpec


# --------------------------------------------------------------------------- pod status


class ContainerStateRunning(K8sModel):
    started_at: str | None = None


class ContainerStateWaiting(K8sModel):
    reason: str | None = None
    message: str | None = None


class ContainerStateTerminated(K8sModel):
    exit_code: int
    signal: int | None = None
    reason: str | None = None
    message: str | None = None
    started_at: str | None = None
    finished_at: str | None = None


class ContainerState(K8sModel):
    running: ContainerStateRunning | None = None
    waiting: ContainerStateWaiting | None = None
    terminated: ContainerStateTerminated | None = None


class ContainerStatus(K8sModel):
    name: str
    image: str
    image_id: str = Field(default="", alias="imageID")
    container_id: str | None = Field(default=None, alias="containerID")
    ready: bool = False
    started: bool | None = None
    restart_count: int = 0
    state: ContainerState = Field(default_factory=ContainerState)
    last_state: ContainerState = Field(default_factory=ContainerState)


class PodCondition(K8sModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    last_transition_time: str | None = None
    last_probe_time: str | None = None
    reason: str | None = None
    message: str | None = None


class PodIP(K8sModel):
    ip: str


class PodStatus(K8sModel):
    phase: Literal["Pending", "Running", "Succeeded", "Failed", "Unknown"] = "Pending"
    conditions: list[PodCondition] = Field(default_factory=list)
    host_ip: str | None = Field(default=None, alias="hostIP")
    pod_ip: str | None = Field(default=None, alias="podIP")
    pod_ips: list[PodIP] = Field(default_factory=list, alias="podIPs")
    start_time: str | None = None
    container_statuses: list[ContainerStatus] = Field(default_factory=list)
    init_container_statuses: list[ContainerStatus] = Field(default_factory=list)
    qos_class: str | None = None
    reason: str | None = None
    message: str | None = None


# --------------------------------------------------------------------------- kinds


class TypedObject(K8sModel):
    api_version: str
    kind: str
    metadata: ObjectMeta


class Pod(TypedObject):
    api_version: Literal["v1"] = "v1"
    kind: Literal["Pod"] = "Pod"
    spec: PodSpec
    status: PodStatus = Field(default_factory=PodStatus)


class RollingUpdate(K8sModel):
    max_unavailable: int | str = 0
    max_surge: int | str = 1


class DeploymentStrategy(K8sModel):
    type: Literal["RollingUpdate", "Recreate"] = "RollingUpdate"
    rolling_update: RollingUpdate | None = None


class DeploymentSpec(K8sModel):
    replicas: int = Field(default=1, ge=0)
    selector: LabelSelector
    template: PodTemplateSpec
    strategy: DeploymentStrategy = Field(default_factory=DeploymentStrategy)
    revision_history_limit: int = Field(default=10, ge=0)
    min_ready_seconds: int = Field(default=0, ge=0)
    progress_deadline_seconds: int = Field(default=600, ge=1)
    paused: bool | None = None


class DeploymentCondition(K8sModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str | None = None
    message: str | None = None
    last_update_time: str | None = None
    last_transition_time: str | None = None


class DeploymentStatus(K8sModel):
    observed_generation: int | None = None
    replicas: int = 0
    updated_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    unavailable_replicas: int = 0
    conditions: list[DeploymentCondition] = Field(default_factory=list)


class Deployment(TypedObject):
    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["Deployment"] = "Deployment"
    spec: DeploymentSpec
    status: DeploymentStatus = Field(default_factory=DeploymentStatus)


class ReplicaSetSpec(K8sModel):
    replicas: int = Field(default=1, ge=0)
    selector: LabelSelector
    template: PodTemplateSpec
    min_ready_seconds: int = 0


class ReplicaSetStatus(K8sModel):
    replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    fully_labeled_replicas: int = 0
    observed_generation: int | None = None


class ReplicaSet(TypedObject):
    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["ReplicaSet"] = "ReplicaSet"
    spec: ReplicaSetSpec
    status: ReplicaSetStatus = Field(default_factory=ReplicaSetStatus)


class ServicePort(K8sModel):
    port: int = Field(ge=1, le=65535)
    target_port: int | str | None = None
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"
    name: str | None = None
    node_port: int | None = None
    app_protocol: str | None = None


class ServiceSpec(K8sModel):
    ports: list[ServicePort] = Field(default_factory=list)
    selector: dict[str, str] | None = None
    type: Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] = "ClusterIP"
    cluster_ip: str | None = Field(default=None, alias="clusterIP")
    cluster_ips: list[str] | None = Field(default=None, alias="clusterIPs")
    session_affinity: str | None = None
    external_name: str | None = None
    ip_families: list[str] | None = None
    ip_family_policy: str | None = None
    internal_traffic_policy: str | None = None
    publish_not_ready_addresses: bool | None = None


class Service(TypedObject):
    api_version: Literal["v1"] = "v1"
    kind: Literal["Service"] = "Service"
    spec: ServiceSpec
    status: dict[str, Any] | None = None


class EndpointAddress(K8sModel):
    ip: str
    target_ref: dict[str, str] | None = None
    node_name: str | None = None


class EndpointPort(K8sModel):
    port: int
    name: str | None = None
    protocol: str = "TCP"


class EndpointSubset(K8sModel):
    addresses: list[EndpointAddress] = Field(default_factory=list)
    not_ready_addresses: list[EndpointAddress] = Field(default_factory=list)
    ports: list[EndpointPort] = Field(default_factory=list)


class Endpoints(TypedObject):
    api_version: Literal["v1"] = "v1"
    kind: Literal["Endpoints"] = "Endpoints"
    subsets: list[EndpointSubset] = Field(default_factory=list)


class ConfigMap(TypedObject):
    api_version: Literal["v1"] = "v1"
    kind: Literal["ConfigMap"] = "ConfigMap"
    data: dict[str, str] = Field(default_factory=dict)
    binary_data: dict[str, str] = Field(default_factory=dict)
    immutable: bool | None = None


class Secret(TypedObject):
    api_version: Literal["v1"] = "v1"
    kind: Literal["Secret"] = "Secret"
    type: str = "Opaque"
    data: dict[str, str] = Field(default_factory=dict)
    string_data: dict[str, str] = Field(default_factory=dict)
    immutable: bool | None = None


class NamespaceStatus(K8sModel):
    phase: Literal["Active", "Terminating"] = "Active"


class Namespace(TypedObject):
    api_version: Literal["v1"] = "v1"
    kind: Literal["Namespace"] = "Namespace"
    spec: dict[str, Any] | None = None
    status: NamespaceStatus = Field(default_factory=NamespaceStatus)


class NodeAddress(K8sModel):
    type: str
    address: str


class NodeStatus(K8sModel):
    capacity: dict[str, str] = Field(default_factory=dict)
    allocatable: dict[str, str] = Field(default_factory=dict)
    conditions: list[dict[str, Any]] = Field(default_factory=list)
    addresses: list[NodeAddress] = Field(default_factory=list)
    node_info: dict[str, str] = Field(default_factory=dict)


class Node(TypedObject):
    api_version: Literal["v1"] = "v1"
    kind: Literal["Node"] = "Node"
    spec: dict[str, Any] = Field(default_factory=dict)
    status: NodeStatus = Field(default_factory=NodeStatus)


class ObjectReference(K8sModel):
    kind: str
    name: str
    namespace: str | None = None
    uid: str | None = None
    api_version: str | None = None
    field_path: str | None = None


class EventSource(K8sModel):
    component: str | None = None
    host: str | None = None


class Event(TypedObject):
    api_version: Literal["v1"] = "v1"
    kind: Literal["Event"] = "Event"
    involved_object: ObjectReference
    reason: str
    message: str
    type: Literal["Normal", "Warning"] = "Normal"
    count: int = 1
    first_timestamp: str | None = None
    last_timestamp: str | None = None
    source: EventSource = Field(default_factory=EventSource)


class PersistentVolumeClaimSpec(K8sModel):
    access_modes: list[str] = Field(default_factory=lambda: ["ReadWriteOnce"])
    resources: ResourceRequirements = Field(default_factory=ResourceRequirements)
    storage_class_name: str | None = None
    volume_mode: str | None = None
    volume_name: str | None = None


class PersistentVolumeClaim(TypedObject):
    api_version: Literal["v1"] = "v1"
    kind: Literal["PersistentVolumeClaim"] = "PersistentVolumeClaim"
    spec: PersistentVolumeClaimSpec = Field(default_factory=PersistentVolumeClaimSpec)
    status: dict[str, Any] = Field(default_factory=dict)


AnyObject = (
    Pod
    | Deployment
    | ReplicaSet
    | Service
    | Endpoints
    | ConfigMap
    | Secret
    | Namespace
    | Node
    | Event
    | PersistentVolumeClaim
)
