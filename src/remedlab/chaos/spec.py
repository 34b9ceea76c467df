"""Fault specs shaped like Chaos Mesh resources (chaos-mesh.org/v1alpha1), plus remedlab's functional faults.

Field names and value formats follow Chaos Mesh, so a spec written for a real
cluster with Chaos Mesh means the same thing on the embedded cluster.
Parameters are checked here, with one-line errors naming the field.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from remedlab.api.durations import parse_duration, parse_percent, parse_rate, parse_size
from remedlab.api.objects import ObjectMeta

CHAOS_MESH: Final = "chaos-mesh.org/v1alpha1"
REMEDLAB_CHAOS: Final = "chaos.remedlab.io/v1alpha1"

Mode = Literal["one", "all", "fixed", "fixed-percent", "random-max-percent"]


class SpecModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", coerce_numbers_to_str=True
    )


def _duration(value: str | None, field: str, allow_negative: bool = False) -> str | None:
    if value is None:
        return None
    seconds = parse_duration(value)
    if seconds < 0 and not allow_negative:
        raise ValueError(f"{field} must not be negative, got {value!r}")
    return value


class PodSelector(SpecModel):
    namespaces: list[str] = Field(default_factory=list)
    label_selectors: dict[str, str] = Field(default_factory=dict)
    expression_selectors: list[dict[str, Any]] = Field(default_factory=list)
    annotation_selectors: dict[str, str] = Field(default_factory=dict)
    field_selectors: dict[str, str] = Field(default_factory=dict)
    pod_phase_selectors: list[str] = Field(default_factory=list)
    node_selectors: dict[str, str] = Field(default_factory=dict)
    nodes: list[str] = Field(default_factory=list)
    pods: dict[str, list[str]] = Field(default_factory=dict)


class SelectorSpec(SpecModel):
    """What every chaos kind has: which pods, how many, for how long."""

    selector: PodSelector = Field(default_factory=PodSelector)
    mode: Mode = "one"
    value: str | None = None
    duration: str | None = None

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
    container_names: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------- StressChaos


class CPUStressor(SpecModel):
    workers: int = Field(ge=1, le=256)
    load: int = Field(default=100, ge=0, le=100)
    options: list[str] = Field(default_factory=list)


class MemoryStressor(SpecModel):
    workers: int = Field(default=1, ge=1, le=64)
    size: str = "256MiB"
    options: list[str] = Field(default_factory=list)
    oom_score_adj: int | None = None

    @field_validator("size")
    @classmethod
    def _check_size(cls, v: str) -> str:
        if v.endswith("%"):
            parse_percent(v, "memory size")
        else:
            parse_size(v)
        return v


class Stressors(SpecModel):
    cpu: CPUStressor | None = None
    memory: MemoryStressor | None = None


class StressChaosSpec(ContainerScoped):
    stressors: Stressors | None = None
    stressng_stressors: str | None = None

    @model_validator(mode="after")
    def _need_stressor(self) -> StressChaosSpec:
        if self.stressng_stressors is None and (
            self.stressors is None or (self.stressors.cpu is None and self.stressors.memory is None)
        ):
            raise ValueError("stressors: give a cpu or memory stressor")
        return self


# --------------------------------------------------------------------------- NetworkChaos


class DelaySpec(SpecModel):
    latency: str
    correlation: str = "0"
    jitter: str = "0ms"
    reorder: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check(self) -> DelaySpec:
        _duration(self.latency, "delay.latency")
        _duration(self.jitter, "delay.jitter")
        parse_percent(self.correlation, "delay.correlation")
        return self


class _PercentAction(SpecModel):
    """A netem action given as a percent of packets, with a correlation (loss, duplicate, corrupt)."""

    percent_field: ClassVar[str]
    correlation: str = "0"

    @model_validator(mode="after")
    def _check(self) -> _PercentAction:
        name = self.percent_field
        parse_percent(getattr(self, name), f"{name}.{name}")
        parse_percent(self.correlation, f"{name}.correlation")
        return self


class LossSpec(_PercentAction):
    percent_field: ClassVar[str] = "loss"
    loss: str


class DuplicateSpec(_PercentAction):
    percent_field: ClassVar[str] = "duplicate"
    duplicate: str


class CorruptSpec(_PercentAction):
    percent_field: ClassVar[str] = "corrupt"
    corrupt: str


class BandwidthSpec(SpecModel):
    rate: str
    limit: int = Field(default=20971520, ge=1)
    buffer: int = Field(default=10000, ge=1)
    peakrate: int | None = None
    minburst: int | None = None

    @field_validator("rate")
    @classmethod
    def _check_rate(cls, v: str) -> str:
        if parse_rate(v) <= 0:
            raise ValueError("bandwidth.rate must be positive")
        return v


class NetworkTarget(SelectorSpec):
    pass


class NetworkChaosSpec(SelectorSpec):
    action: Literal["delay", "loss", "duplicate", "corrupt", "partition", "bandwidth", "netem"]
    direction: Literal["to", "from", "both"] = "to"
    target: NetworkTarget | None = None
    external_targets: list[str] = Field(default_factory=list)
    device: str | None = None
    delay: DelaySpec | None = None
    loss: LossSpec | None = None
    duplicate: DuplicateSpec | None = None
    corrupt: CorruptSpec | None = None
    bandwidth: BandwidthSpec | None = None

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
    action: Literal["latency", "fault", "attrOverride"]
    volume_path: str
    path: str | None = None
    delay: str | None = None
    errno: int | None = Field(default=None, ge=1, le=133)
    attr: dict[str, Any] | None = None
    percent: int = Field(default=100, ge=1, le=100)
    methods: list[str] = Field(default_factory=list)

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
    action: Literal["pod-failure", "pod-kill", "container-kill"]
    grace_period: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _containers(self) -> PodChaosSpec:
        if self.action == "container-kill" and not self.container_names:
            raise ValueError("action container-kill needs containerNames")
        return self


# --------------------------------------------------------------------------- HTTPChaos


class HTTPChaosSpec(SelectorSpec):
    target: Literal["Request", "Response"]
    port: int = Field(ge=1, le=65535)
    path: str = "*"
    method: str | None = None
    code: int | None = None
    request_headers: dict[str, str] = Field(default_factory=dict)
    response_headers: dict[str, str] = Field(default_factory=dict)
    abort: bool | None = None
    delay: str | None = None
    replace: dict[str, Any] | None = None
    patch: dict[str, Any] | None = None

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
    time_offset: str
    clock_ids: list[str] = Field(default_factory=lambda: ["CLOCK_REALTIME"])

    @field_validator("time_offset")
    @classmethod
    def _check_offset(cls, v: str) -> str:
        _duration(v, "timeOffset", allow_negative=True)
        return v


# --------------------------------------------------------------------------- functional faults


class ResourceValues(SpecModel):
    cpu: str | None = None
    memory: str | None = None


class FunctionalChaosSpec(SelectorSpec):
    """remedlab's own faults that change the system through the cluster API."""

    action: Literal["pod-config-error"]
    deployment: str | None = None
    container_index: int = Field(default=0, ge=0)
    requests: ResourceValues = Field(default_factory=lambda: ResourceValues(cpu="1m", memory="100Mi"))
    limits: ResourceValues = Field(default_factory=lambda: ResourceValues(cpu="2m", memory="200Mi"))


# --------------------------------------------------------------------------- the resources


class ChaosResource(SpecModel):
    api_version: str
    kind: str
    metadata: ObjectMeta
    status: dict[str, Any] | None = None


class StressChaos(ChaosResource):
    api_version: Literal["chaos-mesh.org/v1alpha1"] = CHAOS_MESH
    kind: Literal["StressChaos"] = "StressChaos"
    spec: StressChaosSpec


class NetworkChaos(ChaosResource):
    api_version: Literal["chaos-mesh.org/v1alpha1"] = CHAOS_MESH
    kind: Literal["NetworkChaos"] = "NetworkChaos"
    spec: NetworkChaosSpec


class IOChaos(ChaosResource):
    api_version: Literal["chaos-mesh.org/v1alpha1"] = CHAOS_MESH
    kind: Literal["IOChaos"] = "IOChaos"
    spec: IOChaosSpec


class PodChaos(ChaosResource):
    api_version: Literal["chaos-mesh.org/v1alpha1"] = CHAOS_MESH
    kind: Literal["PodChaos"] = "PodChaos"
    spec: PodChaosSpec


class HTTPChaos(ChaosResource):
    api_version: Literal["chaos-mesh.org/v1alpha1"] = CHAOS_MESH
    kind: Literal["HTTPChaos"] = "HTTPChaos"
    spec: HTTPChaosSpec


class TimeChaos(ChaosResource):
    api_version: Literal["chaos-mesh.org/v1alpha1"] = CHAOS_MESH
    kind: Literal["TimeChaos"] = "TimeChaos"
    spec: TimeChaosSpec


class FunctionalChaos(ChaosResource):
    api_version: Literal["chaos.remedlab.io/v1alpha1"] = REMEDLAB_CHAOS
    kind: Literal["FunctionalChaos"] = "FunctionalChaos"
    spec: FunctionalChaosSpec


CHAOS_MODELS: dict[str, type[ChaosResource]] = {
    "StressChaos": StressChaos,
    "NetworkChaos": NetworkChaos,
    "IOChaos": IOChaos,
    "PodChaos": PodChaos,
    "HTTPChaos": HTTPChaos,
    "TimeChaos": TimeChaos,
    "FunctionalChaos": FunctionalChaos,
}
