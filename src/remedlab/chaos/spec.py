"""Fault specs shaped like Chaos Mesh resources (chaos-mesh.org/v1alpha1), plus remedlab's functional faults.

Field names and value formats follow Chaos Mesh, so a spec written for a real
cluster with Chaos Mesh means the same thing on the embedded cluster.
Parameters are checked here, with one-line errors naming the field.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from remedlab.api.durations import parse_duration, parse_percent, parse_rate, parse_size
from remedlab.api.objects import ObjectMeta
from remedlab.chaos.functional.registry import ACTIONS

CHAOS_MESH: Final = "chaos-mesh.org/v1alpha1"
REMEDLAB_CHAOS: Final = "chaos.remedlab.io/v1alpha1"

Mode = Literal["one", "all", "fixed", "fixed-percent", "random-max-percent"]


class SpecModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", coerce_numbers_to_str=True, defer_build=True
    )


def _duration(value: str | None, field: str, allow_negative: bool = False) -> str | None:
    if value is None:
        return None
    seconds = parse_duration(value)
    if seconds < 0 and not allow_negative:
        raise ValueError(f"{field} must not be negative, got {value!r}")
    return value


class PodSelector(SpecModel):
    """Which pods an experiment may target: every condition given must hold."""

    namespaces: list[str] = Field(
        default_factory=list, description="Namespaces of the pods; the experiment's own namespace when empty."
    )
    label_selectors: dict[str, str] = Field(
        default_factory=dict, description="Labels the pods must carry with exactly these values."
    )
    expression_selectors: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Label conditions, as a label selector's matchExpressions (key, operator, values).",
    )
    annotation_selectors: dict[str, str] = Field(
        default_factory=dict, description="Annotations the pods must carry with exactly these values."
    )
    field_selectors: dict[str, str] = Field(
        default_factory=dict, description='Fields of the pods and their values ("metadata.name": "web-0").'
    )
    pod_phase_selectors: list[str] = Field(
        default_factory=list, description="Phases the pods must be in (Pending, Running...)."
    )
    node_selectors: dict[str, str] = Field(
        default_factory=dict, description="Labels of the nodes the pods must run on."
    )
    nodes: list[str] = Field(default_factory=list, description="Names of the nodes the pods must run on.")
    pods: dict[str, list[str]] = Field(
        default_factory=dict, description="Pods by name: namespace -> names. Other conditions are then ignored."
    )


class SelectorSpec(SpecModel):
    """What every chaos kind has: which pods, how many, for how long."""

    selector: PodSelector = Field(default_factory=PodSelector, description="The pods the experiment may target.")
    mode: Mode = Field(
        default="one",
        description="How many of the selected pods are injected: one (picked at random), all, fixed (value "
        "pods), fixed-percent (value percent of them), random-max-percent (a random share up to value percent).",
    )
    value: str | None = Field(
        default=None, description="The number or percentage for the modes fixed, fixed-percent and random-max-percent."
    )
    duration: str | None = Field(
        default=None,
        description='How long the fault lasts ("30s", "5m"), after which it is recovered; until the experiment '
        "is deleted when left out.",
    )

    @field_validator("duration")
    @classmethod
    def _check_duration(cls, v: str | None) -> str | None:
        return _duration(v, "duration")

    @model_validator(mode="after")
    def _check_mode_value(self) -> SelectorSpec:
        if self.mode in ("fixed", "fixed-percent", "random-max-percent"):
            if self.value is None:
                raise ValueError(f"value is required with mode {self.mode}")
            try:
                number = float(self.value)
            except ValueError:
                raise ValueError(f"value must be a number with mode {self.mode}, got {self.value!r}") from None
            if number < 0 or (self.mode != "fixed" and number > 100):
                raise ValueError(f"value {self.value} is out of range for mode {self.mode}")
        return self


class ContainerScoped(SelectorSpec):
    container_names: list[str] = Field(
        default_factory=list, description="The containers of each pod to inject; every container when empty."
    )


# --------------------------------------------------------------------------- StressChaos


class CPUStressor(SpecModel):
    """Burns CPU inside the container, within its own CPU limit: the container is starved as a busy
    neighbour process would starve it."""

    workers: int = Field(ge=1, le=256, description="Number of busy workers, 1-256.")
    load: int = Field(default=100, ge=0, le=100, description="Percent of a CPU each worker keeps busy, 0-100.")
    options: list[str] = Field(
        default_factory=list, description="Extra stress-ng options. Accepted for compatibility; remedlab ignores them."
    )


class MemoryStressor(SpecModel):
    """Allocates memory inside the container, counted against its memory limit: past the limit, the
    container is OOM-killed."""

    workers: int = Field(default=1, ge=1, le=64, description="Number of allocating workers, 1-64.")
    size: str = Field(
        default="256MiB",
        description='Memory the workers hold in all: a size ("256MiB", "1GB") or a percentage of the '
        'container\'s memory limit ("50%").',
    )
    options: list[str] = Field(
        default_factory=list, description="Extra stress-ng options. Accepted for compatibility; remedlab ignores them."
    )
    oom_score_adj: int | None = Field(
        default=None,
        description="OOM score adjustment of the stressors. Accepted for compatibility; remedlab ignores it.",
    )

    @field_validator("size")
    @classmethod
    def _check_size(cls, v: str) -> str:
        if v.endswith("%"):
            parse_percent(v, "memory size")
        else:
            parse_size(v)
        return v


class Stressors(SpecModel):
    """The stressors to run: CPU, memory, or both."""

    cpu: CPUStressor | None = Field(default=None, description="A CPU stressor.")
    memory: MemoryStressor | None = Field(default=None, description="A memory stressor.")


class StressChaosSpec(ContainerScoped):
    """StressChaosSpec describes a stress experiment: which containers, and what load to put in them."""

    stressors: Stressors | None = Field(
        default=None, description="The CPU and memory stressors; one of stressors and stressngStressors is given."
    )
    stressng_stressors: str | None = Field(
        default=None, description='Stressors as stress-ng command-line options ("--cpu 2 --vm 1").'
    )

    @model_validator(mode="after")
    def _need_stressor(self) -> StressChaosSpec:
        if self.stressng_stressors is None and (
            self.stressors is None or (self.stressors.cpu is None and self.stressors.memory is None)
        ):
            raise ValueError("stressors: give a cpu or memory stressor")
        return self


# --------------------------------------------------------------------------- NetworkChaos


class DelaySpec(SpecModel):
    """Delays packets."""

    latency: str = Field(description='The delay ("100ms", "1s").')
    correlation: str = Field(
        default="0", description="Percent (0-100) by which a packet's delay depends on the previous one's."
    )
    jitter: str = Field(default="0ms", description='Random variation of the delay ("10ms").')
    reorder: dict[str, Any] | None = Field(
        default=None,
        description="Send some packets at once, out of order (reorder, correlation, gap). Accepted for "
        "compatibility; remedlab ignores it.",
    )

    @model_validator(mode="after")
    def _check(self) -> DelaySpec:
        _duration(self.latency, "delay.latency")
        _duration(self.jitter, "delay.jitter")
        parse_percent(self.correlation, "delay.correlation")
        return self


class _PercentAction(SpecModel):
    """A netem action given as a percent of packets, with a correlation (loss, duplicate, corrupt)."""

    percent_field: ClassVar[str]
    correlation: str = Field(
        default="0", description="Percent (0-100) by which a packet's fate depends on the previous one's."
    )

    @model_validator(mode="after")
    def _check(self) -> _PercentAction:
        name = self.percent_field
        parse_percent(getattr(self, name), f"{name}.{name}")
        parse_percent(self.correlation, f"{name}.correlation")
        return self


class LossSpec(_PercentAction):
    """Drops packets."""

    percent_field: ClassVar[str] = "loss"
    loss: str = Field(description='Percent of packets dropped ("25").')


class DuplicateSpec(_PercentAction):
    """Sends packets twice."""

    percent_field: ClassVar[str] = "duplicate"
    duplicate: str = Field(description="Percent of packets duplicated.")


class CorruptSpec(_PercentAction):
    """Flips a bit of packets."""

    percent_field: ClassVar[str] = "corrupt"
    corrupt: str = Field(description="Percent of packets corrupted.")


class BandwidthSpec(SpecModel):
    """Limits the bandwidth (a token bucket filter)."""

    rate: str = Field(description='The rate ("1mbps", "100kbps").')
    limit: int = Field(default=20971520, ge=1, description="Bytes that may wait in the queue.")
    buffer: int = Field(default=10000, ge=1, description="Size of the bucket, in bytes.")
    peakrate: int | None = Field(
        default=None, description="Highest rate the bucket may drain at, in bytes/s. Ignored by remedlab."
    )
    minburst: int | None = Field(
        default=None, description="Size of the peakrate bucket, in bytes. Ignored by remedlab."
    )

    @field_validator("rate")
    @classmethod
    def _check_rate(cls, v: str) -> str:
        if parse_rate(v) <= 0:
            raise ValueError("bandwidth.rate must be positive")
        return v


class NetworkTarget(SelectorSpec):
    """The pods at the other end of the affected traffic."""


class NetworkChaosSpec(SelectorSpec):
    """NetworkChaosSpec describes a network experiment: which pods, which traffic, and what happens to it.
    Every connection of an injected pod is affected, probes included."""

    action: Literal["delay", "loss", "duplicate", "corrupt", "partition", "bandwidth", "netem"] = Field(
        description="The fault: delay, loss, duplicate, corrupt (with the field of that name), partition (no "
        "traffic at all), bandwidth, or netem (several of delay, loss, duplicate, corrupt)."
    )
    direction: Literal["to", "from", "both"] = Field(
        default="to", description="The traffic affected, seen from the selected pods: to the target, from it, or both."
    )
    target: NetworkTarget | None = Field(
        default=None, description="The pods at the other end; all traffic of the selected pods when left out."
    )
    external_targets: list[str] = Field(
        default_factory=list, description="Addresses outside the cluster. Not served by remedlab."
    )
    device: str | None = Field(
        default=None, description="The network device to affect. Ignored by remedlab: every connection of the pod is."
    )
    delay: DelaySpec | None = Field(default=None, description="Parameters of a delay.")
    loss: LossSpec | None = Field(default=None, description="Parameters of a loss.")
    duplicate: DuplicateSpec | None = Field(default=None, description="Parameters of a duplication.")
    corrupt: CorruptSpec | None = Field(default=None, description="Parameters of a corruption.")
    bandwidth: BandwidthSpec | None = Field(default=None, description="Parameters of a bandwidth limit.")

    @model_validator(mode="after")
    def _action_params(self) -> NetworkChaosSpec:
        needed = {"delay": self.delay, "loss": self.loss, "duplicate": self.duplicate, "corrupt": self.corrupt}
        if self.action in needed and needed[self.action] is None:
            raise ValueError(f"action {self.action} needs spec.{self.action}")
        if self.action == "bandwidth" and self.bandwidth is None:
            raise ValueError("action bandwidth needs spec.bandwidth")
        if self.action == "netem" and not any([self.delay, self.loss, self.duplicate, self.corrupt]):
            raise ValueError("action netem needs at least one of delay, loss, duplicate, corrupt")
        if self.external_targets:
            raise ValueError("externalTargets: traffic to addresses outside the cluster is not served by remedlab")
        return self


# --------------------------------------------------------------------------- IOChaos


class IOChaosSpec(ContainerScoped):
    """IOChaosSpec describes a file system experiment: the calls on files of a volume are delayed, fail,
    or see other attributes."""

    action: Literal["latency", "fault", "attrOverride"] = Field(
        description="latency delays the calls (delay), fault makes them fail (errno), attrOverride changes the "
        "attributes files appear to have (attr)."
    )
    volume_path: str = Field(description="Mount path of the volume in the container, an absolute path.")
    path: str | None = Field(
        default=None, description='Files affected, a glob ("/var/log/mysql/**/*"); every file of the volume by default.'
    )
    delay: str | None = Field(default=None, description='Delay of each call, for latency ("100ms").')
    errno: int | None = Field(
        default=None, ge=1, le=133, description="Error number the calls fail with, for fault (5 is EIO, 28 ENOSPC)."
    )
    attr: dict[str, Any] | None = Field(
        default=None, description="Attributes to report, for attrOverride (perm, size...)."
    )
    percent: int = Field(default=100, ge=1, le=100, description="Percent of the calls affected, 1-100.")
    methods: list[str] = Field(
        default_factory=list, description="File system calls affected (read, write, open...); all when empty."
    )

    @model_validator(mode="after")
    def _action_params(self) -> IOChaosSpec:
        if self.action == "latency":
            if not self.delay:
                raise ValueError("action latency needs delay")
            _duration(self.delay, "delay")
        if self.action == "fault" and self.errno is None:
            raise ValueError("action fault needs errno")
        if self.action == "attrOverride" and not self.attr:
            raise ValueError("action attrOverride needs attr")
        if not self.volume_path.startswith("/"):
            raise ValueError(f"volumePath must be an absolute path in the container, got {self.volume_path!r}")
        return self


# --------------------------------------------------------------------------- PodChaos


class PodChaosSpec(ContainerScoped):
    """PodChaosSpec describes a pod experiment: pods killed, containers killed, or pods made to fail."""

    action: Literal["pod-failure", "pod-kill", "container-kill"] = Field(
        description="pod-kill deletes the pods (their controller recreates them); container-kill kills the "
        "containers named in containerNames; pod-failure makes the pods' containers unavailable for the "
        "duration (their image is swapped for a pause image)."
    )
    grace_period: int = Field(default=0, ge=0, description="Seconds the killed pods get to terminate, for pod-kill.")

    @model_validator(mode="after")
    def _containers(self) -> PodChaosSpec:
        if self.action == "container-kill" and not self.container_names:
            raise ValueError("action container-kill needs containerNames")
        return self


# --------------------------------------------------------------------------- HTTPChaos


class HTTPChaosSpec(SelectorSpec):
    """HTTPChaosSpec describes an HTTP experiment: requests served by the selected pods are aborted or
    delayed."""

    target: Literal["Request", "Response"] = Field(description="Whether requests or responses are affected.")
    port: int = Field(ge=1, le=65535, description="The pods' port that serves the HTTP traffic.")
    path: str = Field(default="*", description='Paths of the affected requests, a glob ("/api/*").')
    method: str | None = Field(default=None, description="Method of the affected requests; every method when left out.")
    code: int | None = Field(
        default=None,
        description="Status code of the affected responses, for target Response. Not matched by remedlab yet.",
    )
    request_headers: dict[str, str] = Field(
        default_factory=dict, description="Headers the affected requests carry. Not matched by remedlab yet."
    )
    response_headers: dict[str, str] = Field(
        default_factory=dict, description="Headers the affected responses carry. Not matched by remedlab yet."
    )
    abort: bool | None = Field(default=None, description="Abort the connection.")
    delay: str | None = Field(default=None, description='Delay the request or response ("1s").')
    replace: dict[str, Any] | None = Field(
        default=None, description="Replace parts of the message. Not served by remedlab yet."
    )
    patch: dict[str, Any] | None = Field(default=None, description="Add to the message. Not served by remedlab yet.")

    @model_validator(mode="after")
    def _action(self) -> HTTPChaosSpec:
        if not self.abort and not self.delay and not self.replace and not self.patch:
            raise ValueError("give one of abort, delay, replace or patch")
        if self.delay is not None:
            _duration(self.delay, "delay")
        if self.replace or self.patch:
            raise ValueError("replace and patch are not served by remedlab yet: use abort or delay")
        return self


# --------------------------------------------------------------------------- TimeChaos


class TimeChaosSpec(ContainerScoped):
    """TimeChaosSpec describes a clock experiment: the containers see a shifted time."""

    time_offset: str = Field(description='The shift of the clocks, negative to go back ("-5m", "1h").')
    clock_ids: list[str] = Field(
        default_factory=lambda: ["CLOCK_REALTIME"],
        description="The clocks shifted (CLOCK_REALTIME, CLOCK_MONOTONIC...).",
    )

    @field_validator("time_offset")
    @classmethod
    def _check_offset(cls, v: str) -> str:
        _duration(v, "timeOffset", allow_negative=True)
        return v


# --------------------------------------------------------------------------- functional faults


class ResourceValues(SpecModel):
    """CPU and memory amounts ("1m", "100Mi")."""

    cpu: str | None = Field(default=None, description="CPU amount.")
    memory: str | None = Field(default=None, description="Memory amount.")


class FunctionalChaosSpec(SelectorSpec):
    """remedlab's own faults that change the system through the cluster API."""

    action: str = Field(
        description="The fault, one of: " + ", ".join(ACTIONS) + ". Each changes objects through the cluster "
        "API (a deployment's template or replicas, a Service); recovery undoes the change unless it was repaired "
        "or changed since.",
        json_schema_extra={"enum": list(ACTIONS)},
    )
    deployment: str | None = Field(default=None, description="The deployment to change, in the experiment's namespace.")
    service: str | None = Field(
        default=None,
        description="The Service to change (k8s-target-port-misconfig); the one selecting the deployment's pods "
        "when left out.",
    )
    container_index: int = Field(default=0, ge=0, description="Index of the container in the pod template.")
    requests: ResourceValues = Field(
        default_factory=lambda: ResourceValues(cpu="1m", memory="100Mi"),
        description="The requests to set (pod-config-error).",
    )
    limits: ResourceValues = Field(
        default_factory=lambda: ResourceValues(cpu="2m", memory="200Mi"),
        description="The limits to set (pod-config-error).",
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="The action's own settings, checked against the action's parameters (wrong-bin-usage: "
        "program; k8s-target-port-misconfig: port; assign-non-existent-node: key, node; misconfig-app: image; "
        "revoke-auth, user-unregistered, tls-required: deployment, container, database, role, clients, "
        "restartClients; redeploy-without-pv: stores, restartClients, restore).",
    )

    @field_validator("action")
    @classmethod
    def _known_action(cls, v: str) -> str:
        if v not in ACTIONS:
            raise ValueError(f"unknown action {v!r}: choose one of {', '.join(ACTIONS)}")
        return v

    @model_validator(mode="after")
    def _check_parameters(self) -> FunctionalChaosSpec:
        model = ACTIONS[self.action].parameters
        if model is None:
            if self.parameters:
                raise ValueError(f"action {self.action} takes no parameters")
            return self
        try:
            model.model_validate(self.parameters)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"parameters{'.' if where else ''}{where}: {first['msg']}") from None
        return self


# --------------------------------------------------------------------------- the resources


class ChaosResource(SpecModel):
    api_version: str
    kind: str
    metadata: ObjectMeta = Field(
        description="Name, namespace, labels and annotations of the experiment, and the fields the server keeps."
    )
    status: dict[str, Any] | None = Field(
        default=None,
        description="What the chaos controller did: the injected pods and containers "
        "(experiment.containerRecords) and the conditions. Read-only.",
    )


class StressChaos(ChaosResource):
    """StressChaos puts CPU or memory load inside the selected containers, within their own limits."""

    api_version: Literal["chaos-mesh.org/v1alpha1"] = CHAOS_MESH
    kind: Literal["StressChaos"] = "StressChaos"
    spec: StressChaosSpec = Field(description="The stress experiment.")


class NetworkChaos(ChaosResource):
    """NetworkChaos delays, drops, duplicates or corrupts the traffic of the selected pods, limits its
    bandwidth, or cuts it (partition)."""

    api_version: Literal["chaos-mesh.org/v1alpha1"] = CHAOS_MESH
    kind: Literal["NetworkChaos"] = "NetworkChaos"
    spec: NetworkChaosSpec = Field(description="The network experiment.")


class IOChaos(ChaosResource):
    """IOChaos delays the file system calls of the selected containers on a volume, or makes them fail."""

    api_version: Literal["chaos-mesh.org/v1alpha1"] = CHAOS_MESH
    kind: Literal["IOChaos"] = "IOChaos"
    spec: IOChaosSpec = Field(description="The file system experiment.")


class PodChaos(ChaosResource):
    """PodChaos kills the selected pods or containers, or makes the pods fail for a while."""

    api_version: Literal["chaos-mesh.org/v1alpha1"] = CHAOS_MESH
    kind: Literal["PodChaos"] = "PodChaos"
    spec: PodChaosSpec = Field(description="The pod experiment.")


class HTTPChaos(ChaosResource):
    """HTTPChaos aborts or delays the HTTP requests the selected pods serve."""

    api_version: Literal["chaos-mesh.org/v1alpha1"] = CHAOS_MESH
    kind: Literal["HTTPChaos"] = "HTTPChaos"
    spec: HTTPChaosSpec = Field(description="The HTTP experiment.")


class TimeChaos(ChaosResource):
    """TimeChaos shifts the clocks the selected containers see."""

    api_version: Literal["chaos-mesh.org/v1alpha1"] = CHAOS_MESH
    kind: Literal["TimeChaos"] = "TimeChaos"
    spec: TimeChaosSpec = Field(description="The clock experiment.")


class FunctionalChaos(ChaosResource):
    """FunctionalChaos is one of remedlab's own faults, which change the system through the cluster API
    (a misconfigured deployment), to be remediated the same way."""

    api_version: Literal["chaos.remedlab.io/v1alpha1"] = REMEDLAB_CHAOS
    kind: Literal["FunctionalChaos"] = "FunctionalChaos"
    spec: FunctionalChaosSpec = Field(description="The functional fault.")


CHAOS_MODELS: dict[str, type[ChaosResource]] = {
    "StressChaos": StressChaos,
    "NetworkChaos": NetworkChaos,
    "IOChaos": IOChaos,
    "PodChaos": PodChaos,
    "HTTPChaos": HTTPChaos,
    "TimeChaos": TimeChaos,
    "FunctionalChaos": FunctionalChaos,
}
