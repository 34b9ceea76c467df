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


def merged_list(*keys: str, strategy: str = "merge") -> dict[str, Any]:
    """Schema metadata of a list whose elements are identified by ``keys`` and merged one by one by a
    strategic merge patch (by the first key), as Kubernetes declares its lists in OpenAPI."""
    return {
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": list(keys),
        "x-kubernetes-patch-merge-key": keys[0],
        "x-kubernetes-patch-strategy": strategy,
    }


class K8sModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        validate_assignment=False,
        defer_build=True,
    )

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


# --------------------------------------------------------------------------- metadata


class OwnerReference(K8sModel):
    """OwnerReference names an object that owns this one (a ReplicaSet owns its pods). When every owner
    is gone, the garbage collector deletes the object."""

    api_version: str = Field(description="API version of the owner.")
    kind: str = Field(description="Kind of the owner.")
    name: str = Field(description="Name of the owner.")
    uid: str = Field(description="UID of the owner: a recreated owner of the same name is another owner.")
    controller: bool | None = Field(default=None, description="True when the owner is the managing controller.")
    block_owner_deletion: bool | None = Field(
        default=None,
        description="When true, a foreground deletion of the owner waits for this object to be deleted.",
    )


class ObjectMeta(K8sModel):
    """ObjectMeta is the metadata every persisted object has: name, namespace, labels, annotations, owners,
    and the fields the server keeps (uid, resourceVersion, timestamps)."""

    name: str = Field(
        default="",
        description="Name of the object, unique among the objects of its kind in its namespace. A DNS subdomain "
        "(a DNS label for namespaces and services). Cannot be updated.",
    )
    generate_name: str | None = Field(
        default=None,
        description="A prefix the server completes with a random suffix to make a unique name, when name is empty.",
    )
    namespace: str | None = Field(
        default=None,
        description='The namespace of a namespaced object; "default" when left out. Empty for cluster-scoped kinds.',
    )
    uid: str | None = Field(
        default=None, description="Unique id the server gives the object when creating it. Read-only."
    )
    resource_version: str | None = Field(
        default=None,
        description="The version of the object, changed on every write. Sent back on update, it makes the write "
        "conditional (409 Conflict when the object changed meanwhile); watches start from it. Opaque to clients.",
    )
    generation: int | None = Field(
        default=None, description="A sequence number of changes to the desired state (spec). Read-only."
    )
    creation_timestamp: str | None = Field(
        default=None, description="When the object was created (RFC 3339, UTC). Read-only."
    )
    deletion_timestamp: str | None = Field(
        default=None,
        description="When the object is to be deleted: set by a graceful deletion, while finalizers or the "
        "grace period hold the object. Read-only.",
    )
    deletion_grace_period_seconds: int | None = Field(
        default=None, description="Seconds the object is given to terminate, once deletionTimestamp is set."
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Key-value pairs that selectors match: services, deployments and replica sets pick their "
        "pods by labels.",
    )
    annotations: dict[str, str] = Field(
        default_factory=dict,
        description="Key-value pairs for tools and people, not for selecting (kubectl keeps the last applied "
        "configuration here).",
    )
    owner_references: list[OwnerReference] = Field(
        default_factory=list,
        description="The objects this one depends on. When all are deleted, the garbage collector deletes it.",
        json_schema_extra=merged_list("uid"),
    )
    finalizers: list[str] | None = Field(
        default=None,
        description="Names of the things to do before the object is removed: a deleted object stays, with "
        "deletionTimestamp set, until the list is empty.",
        json_schema_extra={"x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge"},
    )
    managed_fields: list[dict[str, Any]] | None = Field(
        default=None, description="Which field manager (kubectl, a controller) last set which fields. Read-only."
    )
    self_link: str | None = Field(default=None, description="Deprecated: the object's URL. Not set by the server.")


class LabelSelectorRequirement(K8sModel):
    """A condition on one label: its key, an operator and values."""

    key: str = Field(description="The label key the condition is about.")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = Field(
        description="In and NotIn take values; Exists and DoesNotExist take none."
    )
    values: list[str] = Field(default_factory=list, description="The values, for the In and NotIn operators.")


class LabelSelector(K8sModel):
    """Selects objects by their labels: every matchLabels pair and every matchExpressions condition must
    hold. An empty selector selects every object."""

    match_labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels the objects must carry with exactly these values.",
    )
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list, description="Conditions on labels the objects must meet."
    )


# --------------------------------------------------------------------------- containers


class KeySelector(K8sModel):
    """Selects one key of a ConfigMap or a Secret in the pod's namespace."""

    name: str = Field(description="Name of the ConfigMap or Secret.")
    key: str = Field(description="The key to select.")
    optional: bool | None = Field(
        default=None, description="When true, a missing object or key is no error: the variable is left unset."
    )


class FieldSelector(K8sModel):
    """Selects a field of the pod: metadata.name, metadata.namespace, metadata.labels['k'], status.podIP..."""

    field_path: str = Field(description="Path of the field, in the given API version.")
    api_version: str | None = Field(default=None, description='Version of the schema the path is in; "v1" by default.')


class ResourceFieldSelector(K8sModel):
    """Selects a resource of a container: limits.cpu, limits.memory, requests.cpu, requests.memory."""

    resource: str = Field(description="The resource to select.")
    container_name: str | None = Field(default=None, description="The container; required for volumes.")
    divisor: str | None = Field(
        default=None, description='Output format of the value ("1m" for millicores); "1" by default.'
    )


class EnvVarSource(K8sModel):
    """Where an environment variable's value comes from. Exactly one source is given."""

    config_map_key_ref: KeySelector | None = Field(default=None, description="A key of a ConfigMap.")
    secret_key_ref: KeySelector | None = Field(default=None, description="A key of a Secret.")
    field_ref: FieldSelector | None = Field(default=None, description="A field of the pod.")
    resource_field_ref: ResourceFieldSelector | None = Field(
        default=None, description="A resource limit or request of a container."
    )


class EnvVar(K8sModel):
    """An environment variable of a container."""

    name: str = Field(description="Name of the variable.")
    value: str | None = Field(
        default=None,
        description="The value. $(VAR) references to variables defined before are expanded; $$ escapes a $. "
        'Numbers and booleans are taken as their text ("8080", "true").',
    )
    value_from: EnvVarSource | None = Field(default=None, description="Where the value comes from, instead of value.")

    @field_validator("value", mode="before")
    @classmethod
    def _stringify(cls, v: Any) -> Any:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return str(v)
        return v


class NameRef(K8sModel):
    """Refers to an object by name, in the same namespace."""

    name: str = Field(description="Name of the object.")
    optional: bool | None = Field(default=None, description="When true, a missing object is no error.")


class EnvFromSource(K8sModel):
    """A set of environment variables: every key of a ConfigMap or a Secret."""

    prefix: str | None = Field(default=None, description="A prefix added to every key.")
    config_map_ref: NameRef | None = Field(default=None, description="The ConfigMap to take the variables from.")
    secret_ref: NameRef | None = Field(default=None, description="The Secret to take the variables from.")


class ContainerPort(K8sModel):
    """A network port a container listens on. Listing a port is informational: a container may listen on
    others, and services reach them all."""

    container_port: int = Field(ge=1, le=65535, description="Number of the port on the pod's IP address, 1-65535.")
    name: str | None = Field(
        default=None,
        description="A name for the port (an IANA_SVC_NAME, unique in the pod), which services' targetPort "
        "and probes may use instead of the number.",
    )
    protocol: Literal["TCP", "UDP", "SCTP"] = Field(default="TCP", description="Protocol of the port.")
    host_port: int | None = Field(default=None, description="Number of the port to expose on the node.")


class ResourceRequirements(K8sModel):
    """Compute resources of a container: what it is guaranteed (requests) and what it may use at most
    (limits). On the embedded cluster, limits are enforced with cgroups where the host allows it."""

    limits: dict[str, str] = Field(
        default_factory=dict,
        description='The most the container may use: "cpu" (cores, "500m" is half a core: the container is '
        'throttled beyond it) and "memory" (bytes, "256Mi": the container is OOM-killed beyond it).',
    )
    requests: dict[str, str] = Field(
        default_factory=dict,
        description="The resources the scheduler reserves for the container; the limits when left out.",
    )

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
    """A header of a probe's HTTP request."""

    name: str = Field(description="Name of the header.")
    value: str = Field(description="Value of the header.")


class HTTPGetAction(K8sModel):
    """An HTTP GET request: a status from 200 to 399 is a success."""

    path: str = Field(default="/", description="Path of the request.")
    port: int | str = Field(description="Number or name of the container's port.")
    host: str | None = Field(default=None, description="Host to connect to; the pod's IP address by default.")
    scheme: Literal["HTTP", "HTTPS"] = Field(default="HTTP", description="Scheme of the request.")
    http_headers: list[HTTPHeader] = Field(default_factory=list, description="Headers to send.")


class TCPSocketAction(K8sModel):
    """A TCP connection: opening it is a success."""

    port: int | str = Field(description="Number or name of the container's port.")
    host: str | None = Field(default=None, description="Host to connect to; the pod's IP address by default.")


class ExecAction(K8sModel):
    """A command run in the container: exit status 0 is a success."""

    command: list[str] = Field(
        description="The command and its arguments, run directly (not in a shell: use sh -c for one)."
    )


class Probe(K8sModel):
    """A check the kubelet runs on a container: exactly one of httpGet, tcpSocket and exec. A failing
    liveness probe restarts the container; a failing readiness probe takes the pod out of its services'
    endpoints; a startup probe holds the other two until it succeeds."""

    http_get: HTTPGetAction | None = Field(default=None, description="An HTTP GET request to the container.")
    tcp_socket: TCPSocketAction | None = Field(default=None, description="A TCP connection to a port of the container.")
    exec: ExecAction | None = Field(default=None, description="A command run in the container.")
    initial_delay_seconds: int = Field(
        default=0, ge=0, description="Seconds after the container starts before the first probe."
    )
    period_seconds: int = Field(default=10, ge=1, description="Seconds between probes.")
    timeout_seconds: int = Field(default=1, ge=1, description="Seconds after which a probe has failed.")
    success_threshold: int = Field(
        default=1, ge=1, description="Successes in a row after a failure for the probe to succeed."
    )
    failure_threshold: int = Field(default=3, ge=1, description="Failures in a row for the probe to fail.")
    termination_grace_period_seconds: int | None = Field(
        default=None,
        description="Seconds a container killed by a failing liveness or startup probe gets to stop; the "
        "pod's terminationGracePeriodSeconds by default.",
    )


class VolumeMount(K8sModel):
    """A volume of the pod, mounted in a container."""

    name: str = Field(description="Name of the pod's volume.")
    mount_path: str = Field(description="Path in the container where the volume appears. Must not contain ':'.")
    read_only: bool | None = Field(default=None, description="Mount read-only.")
    sub_path: str | None = Field(default=None, description="A path in the volume to mount instead of its root.")


class Container(K8sModel):
    """Container is one program of a pod: its image, command, environment, ports, resources and probes.
    On the embedded cluster a container is a process: its image names an entry point of remedlab's
    applications."""

    name: str = Field(
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="Name of the container, a DNS label unique in the pod. Cannot be updated.",
    )
    image: str = Field(
        description="Image name: on the embedded cluster it selects the program the container runs; on a real "
        "cluster, the container image."
    )
    command: list[str] | None = Field(
        default=None,
        description="Entrypoint array, not run in a shell; the image's entrypoint when left out. $(VAR) "
        "references to the container's environment are expanded.",
    )
    args: list[str] | None = Field(
        default=None,
        description="Arguments given to the command; the image's default arguments when left out. $(VAR) is expanded.",
    )
    working_dir: str | None = Field(default=None, description="The container's working directory.")
    env: list[EnvVar] = Field(
        default_factory=list,
        description="Variables added to the container's environment.",
        json_schema_extra=merged_list("name"),
    )
    env_from: list[EnvFromSource] = Field(
        default_factory=list,
        description="ConfigMaps and Secrets whose keys become environment variables; env takes precedence.",
    )
    ports: list[ContainerPort] = Field(
        default_factory=list,
        description="Ports the container listens on, which services and probes may refer to by name.",
        json_schema_extra=merged_list("containerPort", "protocol"),
    )
    resources: ResourceRequirements = Field(
        default_factory=ResourceRequirements,
        description="Compute resources the container requests and is limited to.",
    )
    readiness_probe: Probe | None = Field(
        default=None,
        description="When it fails, the pod is not ready and leaves its services' endpoints.",
    )
    liveness_probe: Probe | None = Field(default=None, description="When it fails, the container is restarted.")
    startup_probe: Probe | None = Field(
        default=None,
        description="Until it succeeds, the other probes wait; when it fails, the container is restarted.",
    )
    volume_mounts: list[VolumeMount] = Field(
        default_factory=list,
        description="Volumes of the pod to mount in the container.",
        json_schema_extra=merged_list("mountPath"),
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = Field(
        default=None, description="When to pull the image."
    )
    security_context: dict[str, Any] | None = Field(default=None, description="Security options of the container.")
    lifecycle: dict[str, Any] | None = Field(
        default=None, description="Actions to take on container start (postStart) and stop (preStop)."
    )
    termination_message_path: str | None = Field(
        default=None, description="File whose content becomes the message of the terminated container."
    )
    termination_message_policy: str | None = Field(
        default=None, description="File, or FallbackToLogsOnError: the end of the log when the file is empty."
    )
    stdin: bool | None = Field(default=None, description="Keep a standard input open for the container.")
    tty: bool | None = Field(default=None, description="Give the container a terminal.")


class KeyToPath(K8sModel):
    """One key of a ConfigMap or Secret, written to a file of the volume."""

    key: str = Field(description="The key.")
    path: str = Field(description="Relative path of the file in the volume.")
    mode: int | None = Field(default=None, description="Permission bits of the file (0644 is 420).")


class ConfigMapVolumeSource(K8sModel):
    """A volume holding the keys of a ConfigMap, one file each."""

    name: str = Field(description="Name of the ConfigMap.")
    items: list[KeyToPath] = Field(
        default_factory=list, description="The keys to project, and their paths; every key when left out."
    )
    default_mode: int | None = Field(default=None, description="Permission bits of the files (0644 is 420).")
    optional: bool | None = Field(default=None, description="When true, a missing ConfigMap is no error.")


class SecretVolumeSource(K8sModel):
    """A volume holding the keys of a Secret, one file each."""

    secret_name: str = Field(description="Name of the Secret.")
    items: list[KeyToPath] = Field(
        default_factory=list, description="The keys to project, and their paths; every key when left out."
    )
    default_mode: int | None = Field(default=None, description="Permission bits of the files (0644 is 420).")
    optional: bool | None = Field(default=None, description="When true, a missing Secret is no error.")


class EmptyDirVolumeSource(K8sModel):
    """A directory that starts empty and lives as long as the pod."""

    medium: str | None = Field(default=None, description='Storage medium: "" (the node\'s disk) or "Memory".')
    size_limit: str | None = Field(default=None, description="The most the volume may hold.")


class PVCVolumeSource(K8sModel):
    """A PersistentVolumeClaim of the pod's namespace, mounted as a volume."""

    claim_name: str = Field(description="Name of the claim.")
    read_only: bool | None = Field(default=None, description="Mount read-only.")


class HostPathVolumeSource(K8sModel):
    """A file or directory of the node."""

    path: str = Field(description="Path on the node.")
    type: str | None = Field(
        default=None, description="What must be at the path (Directory, File, DirectoryOrCreate...)."
    )


class Volume(K8sModel):
    """A named volume of a pod, which its containers mount. Exactly one source is given."""

    name: str = Field(description="Name of the volume, a DNS label unique in the pod.")
    empty_dir: EmptyDirVolumeSource | None = Field(
        default=None, description="A directory that starts empty and lives as long as the pod."
    )
    config_map: ConfigMapVolumeSource | None = Field(default=None, description="The keys of a ConfigMap, as files.")
    secret: SecretVolumeSource | None = Field(default=None, description="The keys of a Secret, as files.")
    persistent_volume_claim: PVCVolumeSource | None = Field(
        default=None, description="The storage of a PersistentVolumeClaim."
    )
    host_path: HostPathVolumeSource | None = Field(default=None, description="A file or directory of the node.")


class Toleration(K8sModel):
    """Lets a pod be scheduled on nodes with a matching taint."""

    key: str | None = Field(default=None, description="The taint key; empty with Exists matches every taint.")
    operator: str | None = Field(default=None, description="Equal (the default) or Exists.")
    value: str | None = Field(default=None, description="The taint value, for Equal.")
    effect: str | None = Field(
        default=None, description="The taint effect to match (NoSchedule, PreferNoSchedule, NoExecute); all when empty."
    )
    toleration_seconds: int | None = Field(
        default=None, description="For NoExecute: how long the pod stays bound once the taint appears."
    )


class PodSpec(K8sModel):
    """PodSpec is the description of a pod: its containers, volumes and how they run."""

    containers: list[Container] = Field(
        min_length=1,
        description="The containers of the pod, at least one. Cannot be added or removed once the pod exists.",
        json_schema_extra=merged_list("name"),
    )
    init_containers: list[Container] = Field(
        default_factory=list,
        description="Containers run one after the other, each to completion, before the containers start. A "
        "failing init container is restarted as restartPolicy says.",
        json_schema_extra=merged_list("name"),
    )
    restart_policy: Literal["Always", "OnFailure", "Never"] = Field(
        default="Always", description="Restart policy of the pod's containers."
    )
    termination_grace_period_seconds: int = Field(
        default=30,
        ge=0,
        description="Seconds the containers get between the termination signal (SIGTERM) and being killed "
        "(SIGKILL) when the pod is deleted. Zero kills at once.",
    )
    node_selector: dict[str, str] = Field(
        default_factory=dict, description="Labels a node must have for the pod to be placed there."
    )
    node_name: str | None = Field(
        default=None, description="The node the pod runs on: set by the scheduler, or given to skip scheduling."
    )
    volumes: list[Volume] = Field(
        default_factory=list,
        description="Volumes the pod's containers may mount.",
        json_schema_extra=merged_list("name", strategy="merge,retainKeys"),
    )
    hostname: str | None = Field(default=None, description="Host name of the pod; the pod's name by default.")
    subdomain: str | None = Field(
        default=None,
        description='With hostname, makes the pod resolvable as "<hostname>.<subdomain>.<namespace>.svc" '
        "through a headless service of that name.",
    )
    service_account_name: str | None = Field(default=None, description="The service account the pod runs as.")
    service_account: str | None = Field(default=None, description="Deprecated: use serviceAccountName.")
    automount_service_account_token: bool | None = Field(
        default=None, description="Whether the service account's token is mounted in the pod."
    )
    security_context: dict[str, Any] | None = Field(default=None, description="Security options of the pod.")
    affinity: dict[str, Any] | None = Field(default=None, description="Scheduling constraints of the pod.")
    tolerations: list[Toleration] = Field(default_factory=list, description="The taints the pod tolerates.")
    dns_policy: str | None = Field(
        default=None, description="How the pod resolves names: ClusterFirst (the default), Default, None..."
    )
    scheduler_name: str | None = Field(
        default=None, description="Name of the scheduler that places the pod; the default one when left out."
    )
    priority_class_name: str | None = Field(default=None, description="The priority class of the pod.")
    enable_service_links: bool | None = Field(
        default=None, description="Whether services' addresses are given to the containers as environment variables."
    )
    image_pull_secrets: list[NameRef] = Field(
        default_factory=list,
        description="Secrets in the pod's namespace to pull images with.",
        json_schema_extra=merged_list("name"),
    )


class PodTemplateSpec(K8sModel):
    """The pods a controller creates: their metadata (labels, which the selector must match) and spec."""

    metadata: ObjectMeta = Field(default_factory=ObjectMeta, description="Metadata of the pods.")
    spec: PodSpec = Field(description="Specification of the pods.")


# --------------------------------------------------------------------------- pod status


class ContainerStateRunning(K8sModel):
    """The container is running."""

    started_at: str | None = Field(default=None, description="When the container last started.")


class ContainerStateWaiting(K8sModel):
    """The container is not running yet, or again."""

    reason: str | None = Field(
        default=None, description="Why it waits: ContainerCreating, CrashLoopBackOff, CreateContainerConfigError..."
    )
    message: str | None = Field(default=None, description="Details of the reason.")


class ContainerStateTerminated(K8sModel):
    """The container ran and ended."""

    exit_code: int = Field(description="Exit status of the container's process.")
    signal: int | None = Field(default=None, description="The signal that ended the process, if any.")
    reason: str | None = Field(default=None, description="Why it ended: Completed, Error, OOMKilled...")
    message: str | None = Field(default=None, description="Details of the reason.")
    started_at: str | None = Field(default=None, description="When the container started.")
    finished_at: str | None = Field(default=None, description="When the container ended.")


class ContainerState(K8sModel):
    """The state of a container: one of running, waiting and terminated."""

    running: ContainerStateRunning | None = Field(default=None, description="Set while the container runs.")
    waiting: ContainerStateWaiting | None = Field(default=None, description="Set while the container waits.")
    terminated: ContainerStateTerminated | None = Field(default=None, description="Set once the container ended.")


class ContainerStatus(K8sModel):
    """The status of one container of a pod."""

    name: str = Field(description="Name of the container.")
    image: str = Field(description="The image the container runs.")
    image_id: str = Field(default="", alias="imageID", description="Id of the image.")
    container_id: str | None = Field(default=None, alias="containerID", description="Id of the container instance.")
    ready: bool = Field(default=False, description="Whether the container passes its readiness probe.")
    started: bool | None = Field(default=None, description="Whether the container passed its startup probe.")
    restart_count: int = Field(default=0, description="How many times the container was restarted.")
    state: ContainerState = Field(default_factory=ContainerState, description="Current state of the container.")
    last_state: ContainerState = Field(
        default_factory=ContainerState, description="State of the previous instance, after a restart."
    )


class PodCondition(K8sModel):
    """A condition of a pod: PodScheduled, Initialized, ContainersReady, Ready."""

    type: str = Field(description="Type of the condition.")
    status: Literal["True", "False", "Unknown"] = Field(description="Status of the condition.")
    last_transition_time: str | None = Field(default=None, description="When the status last changed.")
    last_probe_time: str | None = Field(default=None, description="When the condition was last checked.")
    reason: str | None = Field(default=None, description="Why the condition last changed, in one word.")
    message: str | None = Field(default=None, description="Why the condition last changed, for people.")


class PodIP(K8sModel):
    """An IP address of a pod."""

    ip: str = Field(description="The address.")


class PodStatus(K8sModel):
    """The observed state of a pod, kept by the kubelet. Read-only for clients."""

    phase: Literal["Pending", "Running", "Succeeded", "Failed", "Unknown"] = Field(
        default="Pending",
        description="Lifecycle phase of the pod: Pending (accepted, not all containers started), Running, "
        "Succeeded or Failed (every container ended), Unknown.",
    )
    conditions: list[PodCondition] = Field(
        default_factory=list,
        description="Current service state of the pod.",
        json_schema_extra=merged_list("type"),
    )
    host_ip: str | None = Field(default=None, alias="hostIP", description="IP address of the pod's node.")
    pod_ip: str | None = Field(default=None, alias="podIP", description="IP address of the pod.")
    pod_ips: list[PodIP] = Field(default_factory=list, alias="podIPs", description="IP addresses of the pod.")
    start_time: str | None = Field(default=None, description="When the kubelet accepted the pod.")
    container_statuses: list[ContainerStatus] = Field(default_factory=list, description="The status of each container.")
    init_container_statuses: list[ContainerStatus] = Field(
        default_factory=list, description="The status of each init container."
    )
    qos_class: str | None = Field(
        default=None, description="Quality of service class, from the resources: Guaranteed, Burstable, BestEffort."
    )
    reason: str | None = Field(default=None, description="Why the pod is in its phase (Evicted...).")
    message: str | None = Field(default=None, description="Why the pod is in its phase, for people.")


# --------------------------------------------------------------------------- kinds


class TypedObject(K8sModel):
    api_version: str
    kind: str
    metadata: ObjectMeta = Field(
        description="Name, namespace, labels and annotations of the object, and the fields the server keeps."
    )


class Pod(TypedObject):
    """Pod is a group of containers that run together on a node, share its network address and may share
    volumes. Pods are usually created by a Deployment (through a ReplicaSet), not directly."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["Pod"] = "Pod"
    spec: PodSpec = Field(description="What the pod runs: its containers, volumes and restart policy.")
    status: PodStatus = Field(
        default_factory=PodStatus, description="The pod's state as the kubelet last reported it. Read-only."
    )


class RollingUpdate(K8sModel):
    """How fast a rolling update replaces pods: how many may be missing and how many may be extra."""

    max_unavailable: int | str = Field(
        default=0,
        description='Pods that may be unavailable during the update: a number or a percentage of replicas ("25%", '
        "rounded down). Cannot be 0 when maxSurge is 0.",
    )
    max_surge: int | str = Field(
        default=1,
        description='Pods that may be created above the desired replicas: a number or a percentage ("25%", '
        "rounded up).",
    )


class DeploymentStrategy(K8sModel):
    """How a deployment replaces its pods when the template changes."""

    type: Literal["RollingUpdate", "Recreate"] = Field(
        default="RollingUpdate",
        description="Recreate deletes every old pod before creating new ones; RollingUpdate replaces them "
        "gradually, as rollingUpdate bounds.",
    )
    rolling_update: RollingUpdate | None = Field(
        default=None, description="Bounds of a rolling update, for type RollingUpdate."
    )


class DeploymentSpec(K8sModel):
    """DeploymentSpec is the desired state of a deployment: how many pods of which template, and how to
    roll out changes."""

    replicas: int = Field(default=1, ge=0, description="Number of desired pods.")
    selector: LabelSelector = Field(
        description="Label selector of the deployment's pods; it must match the template's labels. Cannot be "
        "changed once created."
    )
    template: PodTemplateSpec = Field(
        description="The pods to create. Changing it rolls out a new revision, as strategy says."
    )
    strategy: DeploymentStrategy = Field(
        default_factory=DeploymentStrategy, description="How existing pods are replaced by new ones."
    )
    revision_history_limit: int = Field(
        default=10, ge=0, description="Old ReplicaSets to keep for rolling back (kubectl rollout undo)."
    )
    min_ready_seconds: int = Field(
        default=0,
        ge=0,
        description="Seconds a new pod must be ready, without any container crashing, to count as available.",
    )
    progress_deadline_seconds: int = Field(
        default=600,
        ge=1,
        description="Seconds a rollout may go without progress before the Progressing condition turns False "
        "(reason ProgressDeadlineExceeded).",
    )
    paused: bool | None = Field(default=None, description="A paused deployment rolls out no template changes.")


class DeploymentCondition(K8sModel):
    """A condition of a deployment: Available, Progressing, ReplicaFailure."""

    type: str = Field(description="Type of the condition.")
    status: Literal["True", "False", "Unknown"] = Field(description="Status of the condition.")
    reason: str | None = Field(default=None, description="Why the condition last changed, in one word.")
    message: str | None = Field(default=None, description="Why the condition last changed, for people.")
    last_update_time: str | None = Field(default=None, description="When the condition was last updated.")
    last_transition_time: str | None = Field(default=None, description="When the status last changed.")


class DeploymentStatus(K8sModel):
    """The observed state of a deployment. Read-only for clients."""

    observed_generation: int | None = Field(
        default=None, description="The generation of the spec the controller last acted on."
    )
    replicas: int = Field(default=0, description="Pods of the deployment, of every revision.")
    updated_replicas: int = Field(default=0, description="Pods of the current template.")
    ready_replicas: int = Field(default=0, description="Pods that are ready.")
    available_replicas: int = Field(default=0, description="Pods that have been ready for minReadySeconds or longer.")
    unavailable_replicas: int = Field(default=0, description="Pods still needed for every replica to be available.")
    conditions: list[DeploymentCondition] = Field(
        default_factory=list,
        description="Current state of the deployment.",
        json_schema_extra=merged_list("type"),
    )


class Deployment(TypedObject):
    """Deployment keeps a number of identical pods running and rolls out changes to their template
    declaratively, through ReplicaSets (kubectl rollout status|undo|restart)."""

    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["Deployment"] = "Deployment"
    spec: DeploymentSpec = Field(
        description="What the deployment wants: how many pods, of which template, rolled out how."
    )
    status: DeploymentStatus = Field(
        default_factory=DeploymentStatus, description="The rollout's state as the controller last saw it. Read-only."
    )


class ReplicaSetSpec(K8sModel):
    """ReplicaSetSpec is the desired state of a replica set."""

    replicas: int = Field(default=1, ge=0, description="Number of desired pods.")
    selector: LabelSelector = Field(description="Label selector of the pods; it must match the template's labels.")
    template: PodTemplateSpec = Field(description="The pods to create when too few exist.")
    min_ready_seconds: int = Field(
        default=0, description="Seconds a new pod must be ready, without any container crashing, to count as available."
    )


class ReplicaSetStatus(K8sModel):
    """The observed state of a replica set. Read-only for clients."""

    replicas: int = Field(default=0, description="Pods of the replica set.")
    ready_replicas: int = Field(default=0, description="Pods that are ready.")
    available_replicas: int = Field(default=0, description="Pods that have been ready for minReadySeconds or longer.")
    fully_labeled_replicas: int = Field(default=0, description="Pods whose labels match the template's.")
    observed_generation: int | None = Field(
        default=None, description="The generation of the spec the controller last acted on."
    )


class ReplicaSet(TypedObject):
    """ReplicaSet keeps a number of pods of one template running. Deployments manage them: one
    ReplicaSet per revision."""

    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["ReplicaSet"] = "ReplicaSet"
    spec: ReplicaSetSpec = Field(description="What the replica set wants: how many pods of which template.")
    status: ReplicaSetStatus = Field(
        default_factory=ReplicaSetStatus,
        description="The replica set's pods as the controller last counted them. Read-only.",
    )


class ServicePort(K8sModel):
    """A port of a service, and the pods' port it forwards to."""

    port: int = Field(ge=1, le=65535, description="The port the service listens on, 1-65535.")
    target_port: int | str | None = Field(
        default=None,
        description="Number or name of the pods' port to forward to; the value of port when left out.",
    )
    protocol: Literal["TCP", "UDP", "SCTP"] = Field(default="TCP", description="Protocol of the port.")
    name: str | None = Field(
        default=None, description="Name of the port, unique in the service; required when it has several ports."
    )
    node_port: int | None = Field(
        default=None, description="Port on every node, for NodePort and LoadBalancer services."
    )
    app_protocol: str | None = Field(default=None, description="Application protocol of the port (http, grpc...).")


class ServiceSpec(K8sModel):
    """ServiceSpec is the description of a service: which pods it routes to, on which ports."""

    ports: list[ServicePort] = Field(
        default_factory=list,
        description="The ports the service exposes.",
        json_schema_extra=merged_list("port", "protocol"),
    )
    selector: dict[str, str] | None = Field(
        default=None,
        description="Labels of the pods the service routes to; the ready ones become its endpoints. Without a "
        "selector, endpoints are managed by hand.",
    )
    type: Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] = Field(
        default="ClusterIP",
        description="How the service is exposed: ClusterIP gives it a virtual address inside the cluster "
        "(127.0.0.0/8 on the embedded cluster); NodePort and LoadBalancer add outside access; ExternalName "
        "is a DNS alias.",
    )
    cluster_ip: str | None = Field(
        default=None,
        alias="clusterIP",
        description='The service\'s address, given by the cluster when left out; "None" makes a headless '
        "service, whose DNS name resolves to the pods' addresses.",
    )
    cluster_ips: list[str] | None = Field(default=None, alias="clusterIPs", description="The service's addresses.")
    session_affinity: str | None = Field(
        default=None, description="ClientIP keeps a client on one pod; None (the default) spreads connections."
    )
    external_name: str | None = Field(default=None, description="The DNS name an ExternalName service aliases.")
    ip_families: list[str] | None = Field(default=None, description="IP families of the service (IPv4, IPv6).")
    ip_family_policy: str | None = Field(default=None, description="SingleStack, PreferDualStack or RequireDualStack.")
    internal_traffic_policy: str | None = Field(
        default=None, description="Cluster (every endpoint) or Local (endpoints on the client's node)."
    )
    publish_not_ready_addresses: bool | None = Field(
        default=None, description="Route to pods that are not ready as well."
    )


class Service(TypedObject):
    """Service is a stable name and virtual address in front of a set of pods, chosen by a label selector;
    connections to it are spread over the ready pods."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["Service"] = "Service"
    spec: ServiceSpec = Field(description="The pods the service routes to, its ports and its type.")
    status: dict[str, Any] | None = Field(
        default=None, description="Load balancer state of the service; empty on the embedded cluster."
    )


class EndpointAddress(K8sModel):
    """An address of an endpoint: a pod."""

    ip: str = Field(description="IP address of the pod.")
    target_ref: dict[str, str] | None = Field(default=None, description="The pod the address belongs to.")
    node_name: str | None = Field(default=None, description="The node of the pod.")


class EndpointPort(K8sModel):
    """A port of the endpoints."""

    port: int = Field(description="Number of the port.")
    name: str | None = Field(default=None, description="Name of the service's port it serves.")
    protocol: str = Field(default="TCP", description="Protocol of the port.")


class EndpointSubset(K8sModel):
    """Addresses sharing a set of ports."""

    addresses: list[EndpointAddress] = Field(default_factory=list, description="Ready addresses.")
    not_ready_addresses: list[EndpointAddress] = Field(
        default_factory=list, description="Addresses of pods that are not ready yet."
    )
    ports: list[EndpointPort] = Field(default_factory=list, description="The ports of the addresses.")


class Endpoints(TypedObject):
    """Endpoints are the addresses a service routes to: the endpoints controller keeps them in step with
    the ready pods its selector matches."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["Endpoints"] = "Endpoints"
    subsets: list[EndpointSubset] = Field(default_factory=list, description="The addresses and their ports.")


class ConfigMap(TypedObject):
    """ConfigMap holds configuration for pods to consume as environment variables or files."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["ConfigMap"] = "ConfigMap"
    data: dict[str, str] = Field(default_factory=dict, description="Configuration data, as UTF-8 text.")
    binary_data: dict[str, str] = Field(
        default_factory=dict, description="Binary configuration data, base64-encoded. Keys may not repeat data's."
    )
    immutable: bool | None = Field(default=None, description="When true, data cannot be changed.")


class Secret(TypedObject):
    """Secret holds a small amount of sensitive data (passwords, tokens, keys) for pods to consume."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["Secret"] = "Secret"
    type: str = Field(default="Opaque", description="Type of the secret's data: Opaque, kubernetes.io/tls...")
    data: dict[str, str] = Field(default_factory=dict, description="The secret data, base64-encoded.")
    string_data: dict[str, str] = Field(
        default_factory=dict,
        description="Secret data as plain text, for writing: merged into data (base64-encoded) when stored.",
    )
    immutable: bool | None = Field(default=None, description="When true, data cannot be changed.")


class NamespaceStatus(K8sModel):
    """The observed state of a namespace."""

    phase: Literal["Active", "Terminating"] = Field(
        default="Active", description="Terminating once deleted, until every object in it is gone."
    )


class Namespace(TypedObject):
    """Namespace gives names a scope: the names of namespaced objects are unique within theirs."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["Namespace"] = "Namespace"
    spec: dict[str, Any] | None = Field(default=None, description="Specification of the namespace (finalizers).")
    status: NamespaceStatus = Field(default_factory=NamespaceStatus, description="Status of the namespace.")


class NodeAddress(K8sModel):
    """An address of a node."""

    type: str = Field(description="Hostname, InternalIP or ExternalIP.")
    address: str = Field(description="The address.")


class NodeStatus(K8sModel):
    """The observed state of a node."""

    capacity: dict[str, str] = Field(default_factory=dict, description="The node's total resources.")
    allocatable: dict[str, str] = Field(default_factory=dict, description="The resources pods may be given.")
    conditions: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Current state of the node: Ready, MemoryPressure, DiskPressure, PIDPressure.",
        json_schema_extra=merged_list("type"),
    )
    addresses: list[NodeAddress] = Field(default_factory=list, description="Addresses of the node.")
    node_info: dict[str, str] = Field(default_factory=dict, description="Versions and ids of the node's software.")


class Node(TypedObject):
    """Node is a machine pods run on. The embedded cluster has one: the host it runs on."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["Node"] = "Node"
    spec: dict[str, Any] = Field(default_factory=dict, description="Specification of the node (taints...).")
    status: NodeStatus = Field(
        default_factory=NodeStatus, description="Capacity, conditions and addresses, as the node last reported them."
    )


class ObjectReference(K8sModel):
    """Refers to an object: the object an event is about."""

    kind: str = Field(description="Kind of the object.")
    name: str = Field(description="Name of the object.")
    namespace: str | None = Field(default=None, description="Namespace of the object.")
    uid: str | None = Field(default=None, description="UID of the object.")
    api_version: str | None = Field(default=None, description="API version of the object.")
    field_path: str | None = Field(
        default=None, description='A part of the object, e.g. "spec.containers{web}" for a container.'
    )


class EventSource(K8sModel):
    """The component that reported an event."""

    component: str | None = Field(default=None, description="The reporting component (kubelet, scheduler...).")
    host: str | None = Field(default=None, description="The node it runs on.")


class Event(TypedObject):
    """Event is a report of something that happened to an object (a pod scheduled, a probe failing, an
    image missing). Events are kept for a while, then deleted."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["Event"] = "Event"
    involved_object: ObjectReference = Field(description="The object the event is about.")
    reason: str = Field(description="Why the event happened, in one word (Scheduled, BackOff, Unhealthy...).")
    message: str = Field(description="What happened, for people.")
    type: Literal["Normal", "Warning"] = Field(default="Normal", description="Type of the event.")
    count: int = Field(default=1, description="How many times it happened.")
    first_timestamp: str | None = Field(default=None, description="When it first happened.")
    last_timestamp: str | None = Field(default=None, description="When it last happened.")
    source: EventSource = Field(default_factory=EventSource, description="The component that reported it.")


class PersistentVolumeClaimSpec(K8sModel):
    """What storage a claim asks for."""

    access_modes: list[str] = Field(
        default_factory=lambda: ["ReadWriteOnce"],
        description="How the volume may be mounted: ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod.",
    )
    resources: ResourceRequirements = Field(
        default_factory=ResourceRequirements, description='The storage asked for: requests.storage ("1Gi").'
    )
    storage_class_name: str | None = Field(default=None, description="The storage class of the volume.")
    volume_mode: str | None = Field(default=None, description="Filesystem (the default) or Block.")
    volume_name: str | None = Field(default=None, description="The volume bound to the claim.")


class PersistentVolumeClaim(TypedObject):
    """PersistentVolumeClaim is a request for storage that outlives pods; pods mount it as a volume. On
    the embedded cluster it is a directory under $REMEDLAB_HOME."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["PersistentVolumeClaim"] = "PersistentVolumeClaim"
    spec: PersistentVolumeClaimSpec = Field(
        default_factory=PersistentVolumeClaimSpec, description="The storage the claim asks for."
    )
    status: dict[str, Any] = Field(default_factory=dict, description="Status of the claim (phase Bound...).")


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
