"""The workload kinds beyond Deployments: StatefulSet, DaemonSet and ControllerRevision (apps/v1), and
Job (batch/v1). Field names and defaults follow the Kubernetes API, as `objects.py` does."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from remedlab.api.objects import (
    K8sModel,
    LabelSelector,
    PersistentVolumeClaim,
    PodTemplateSpec,
    TypedObject,
    merged_list,
)


class StatefulSetCondition(K8sModel):
    """A condition of a StatefulSet."""

    type: str = Field(description="Type of the condition.")
    status: Literal["True", "False", "Unknown"] = Field(description="Status of the condition.")
    reason: str | None = Field(default=None, description="Why the condition last changed, in one word.")
    message: str | None = Field(default=None, description="Why the condition last changed, for people.")
    last_transition_time: str | None = Field(default=None, description="When the status last changed.")


class DaemonSetCondition(StatefulSetCondition):
    """A condition of a DaemonSet."""


# --------------------------------------------------------------------------- StatefulSet


class RollingUpdateStatefulSetStrategy(K8sModel):
    """How a StatefulSet's rolling update proceeds."""

    partition: int = Field(
        default=0,
        ge=0,
        description="Pods with an ordinal below the partition keep their revision: only ordinals from it up are "
        "updated (a canary or phased roll out).",
    )
    max_unavailable: int | str | None = Field(
        default=None, description="Pods that may be unavailable during the update; 1 when left out."
    )


class StatefulSetUpdateStrategy(K8sModel):
    """How a StatefulSet replaces its pods when the template changes."""

    type: Literal["RollingUpdate", "OnDelete"] = Field(
        default="RollingUpdate",
        description="RollingUpdate replaces pods one at a time, from the highest ordinal down; OnDelete replaces a "
        "pod only once it is deleted.",
    )
    rolling_update: RollingUpdateStatefulSetStrategy | None = Field(
        default=None, description="Parameters of a RollingUpdate."
    )


class StatefulSetPersistentVolumeClaimRetentionPolicy(K8sModel):
    """What happens to the claims made from volumeClaimTemplates when the StatefulSet is deleted or scaled down."""

    when_deleted: Literal["Retain", "Delete"] = Field(
        default="Retain", description="Delete removes the claims with the StatefulSet; Retain keeps them."
    )
    when_scaled: Literal["Retain", "Delete"] = Field(
        default="Retain", description="Delete removes the claims of the ordinals scaled away; Retain keeps them."
    )


class StatefulSetOrdinals(K8sModel):
    """The numbering of a StatefulSet's pods."""

    start: int = Field(default=0, ge=0, description="The ordinal of the first pod.")


class StatefulSetSpec(K8sModel):
    """StatefulSetSpec is the desired state of a StatefulSet: pods with stable names, network identities and
    storage, started and updated in order."""

    replicas: int = Field(default=1, ge=0, description="Number of desired pods.")
    selector: LabelSelector = Field(description="Label selector of the pods; it must match the template's labels.")
    template: PodTemplateSpec = Field(
        description="The pods to create: NAME-0, NAME-1..., each with its own claims from volumeClaimTemplates."
    )
    service_name: str | None = Field(
        default=None,
        description='The headless service that gives the pods their DNS names ("NAME-0.<serviceName>.<namespace>'
        '.svc"): each pod gets hostname = its name and subdomain = serviceName.',
    )
    volume_claim_templates: list[PersistentVolumeClaim] = Field(
        default_factory=list,
        description="Claims each pod gets its own of, named <template>-<statefulset>-<ordinal> and mounted as the "
        "volume of the template's name. They outlive the pods.",
    )
    pod_management_policy: Literal["OrderedReady", "Parallel"] = Field(
        default="OrderedReady",
        description="OrderedReady creates pods one at a time in ordinal order, each once the previous is Running "
        "and Ready, and removes them in reverse order; Parallel creates and removes them all at once.",
    )
    update_strategy: StatefulSetUpdateStrategy = Field(
        default_factory=StatefulSetUpdateStrategy, description="How pods are replaced when the template changes."
    )
    revision_history_limit: int = Field(
        default=10, ge=0, description="ControllerRevisions to keep for rolling back (kubectl rollout undo)."
    )
    min_ready_seconds: int = Field(
        default=0,
        ge=0,
        description="Seconds a new pod must be ready, without any container crashing, to count as available.",
    )
    persistent_volume_claim_retention_policy: StatefulSetPersistentVolumeClaimRetentionPolicy = Field(
        default_factory=StatefulSetPersistentVolumeClaimRetentionPolicy,
        description="Whether the claims from volumeClaimTemplates are deleted with the StatefulSet or on scale down.",
    )
    ordinals: StatefulSetOrdinals | None = Field(default=None, description="The numbering of the pods.")


class StatefulSetStatus(K8sModel):
    """The observed state of a StatefulSet. Read-only for clients."""

    observed_generation: int | None = Field(
        default=None, description="The generation of the spec the controller last acted on."
    )
    replicas: int = Field(default=0, description="Pods of the StatefulSet.")
    ready_replicas: int = Field(default=0, description="Pods that are ready.")
    current_replicas: int = Field(default=0, description="Pods of currentRevision.")
    updated_replicas: int = Field(default=0, description="Pods of updateRevision.")
    available_replicas: int = Field(default=0, description="Pods that have been ready for minReadySeconds or longer.")
    current_revision: str | None = Field(
        default=None, description="The ControllerRevision of the pods below the partition (the last complete roll out)."
    )
    update_revision: str | None = Field(default=None, description="The ControllerRevision of the current template.")
    collision_count: int | None = Field(default=None, description="Hash collisions met naming ControllerRevisions.")
    conditions: list[StatefulSetCondition] = Field(
        default_factory=list, description="Current state of the StatefulSet.", json_schema_extra=merged_list("type")
    )


class StatefulSet(TypedObject):
    """StatefulSet manages pods with stable names (NAME-0, NAME-1...), stable network identities through a
    headless service, and storage of their own that outlives them; it starts, updates and stops them in order."""

    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["StatefulSet"] = "StatefulSet"
    spec: StatefulSetSpec = Field(description="What the StatefulSet wants: how many pods, of which template, how.")
    status: StatefulSetStatus = Field(
        default_factory=StatefulSetStatus, description="The pods as the controller last counted them. Read-only."
    )


# --------------------------------------------------------------------------- DaemonSet


class RollingUpdateDaemonSet(K8sModel):
    """How fast a DaemonSet's rolling update replaces pods."""

    max_unavailable: int | str = Field(
        default=1,
        description='Nodes whose pod may be unavailable during the update: a number or a percentage ("10%").',
    )
    max_surge: int | str = Field(
        default=0,
        description="Nodes that may run a new pod next to the old one until it is available. Cannot be set with "
        "maxUnavailable.",
    )


class DaemonSetUpdateStrategy(K8sModel):
    """How a DaemonSet replaces its pods when the template changes."""

    type: Literal["RollingUpdate", "OnDelete"] = Field(
        default="RollingUpdate",
        description="RollingUpdate replaces the pods node by node; OnDelete only once a pod is deleted.",
    )
    rolling_update: RollingUpdateDaemonSet | None = Field(default=None, description="Parameters of a RollingUpdate.")


class DaemonSetSpec(K8sModel):
    """DaemonSetSpec is the desired state of a DaemonSet: one pod of the template on every eligible node."""

    selector: LabelSelector = Field(description="Label selector of the pods; it must match the template's labels.")
    template: PodTemplateSpec = Field(
        description="The pod to run on each node that its nodeSelector admits (every node when it has none)."
    )
    update_strategy: DaemonSetUpdateStrategy = Field(
        default_factory=DaemonSetUpdateStrategy, description="How pods are replaced when the template changes."
    )
    min_ready_seconds: int = Field(
        default=0,
        ge=0,
        description="Seconds a new pod must be ready, without any container crashing, to count as available.",
    )
    revision_history_limit: int = Field(
        default=10, ge=0, description="ControllerRevisions to keep for rolling back (kubectl rollout undo)."
    )


class DaemonSetStatus(K8sModel):
    """The observed state of a DaemonSet. Read-only for clients."""

    current_number_scheduled: int = Field(default=0, description="Nodes running a pod of the DaemonSet that should.")
    number_misscheduled: int = Field(default=0, description="Nodes running a pod of the DaemonSet that should not.")
    desired_number_scheduled: int = Field(default=0, description="Nodes that should run a pod of the DaemonSet.")
    number_ready: int = Field(default=0, description="Nodes whose pod is ready.")
    observed_generation: int | None = Field(
        default=None, description="The generation of the spec the controller last acted on."
    )
    updated_number_scheduled: int = Field(default=0, description="Nodes running a pod of the current template.")
    number_available: int = Field(default=0, description="Nodes whose pod has been ready for minReadySeconds.")
    number_unavailable: int = Field(default=0, description="Nodes that should run an available pod and do not.")
    collision_count: int | None = Field(default=None, description="Hash collisions met naming ControllerRevisions.")
    conditions: list[DaemonSetCondition] = Field(
        default_factory=list, description="Current state of the DaemonSet.", json_schema_extra=merged_list("type")
    )


class DaemonSet(TypedObject):
    """DaemonSet runs one pod of a template on every eligible node (node agents, log shippers). The embedded
    cluster has one node."""

    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["DaemonSet"] = "DaemonSet"
    spec: DaemonSetSpec = Field(description="The pod to run on each node, and how to update it.")
    status: DaemonSetStatus = Field(
        default_factory=DaemonSetStatus, description="The pods as the controller last counted them. Read-only."
    )


# --------------------------------------------------------------------------- ControllerRevision


class ControllerRevision(TypedObject):
    """ControllerRevision is an immutable snapshot of a StatefulSet's or a DaemonSet's pod template: the
    history kubectl rollout history and undo read."""

    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["ControllerRevision"] = "ControllerRevision"
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="The state of the revision: a strategic merge patch that restores the owner's template.",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )
    revision: int = Field(description="The revision number: higher is newer.")


# --------------------------------------------------------------------------- Job


class JobSpec(K8sModel):
    """JobSpec is the description of a job: pods that run to completion."""

    template: PodTemplateSpec = Field(
        description='The pods to run; their restartPolicy must be "Never" or "OnFailure".'
    )
    completions: int | None = Field(
        default=None,
        ge=0,
        description="Pods that must succeed for the job to complete. Left out, the job completes once any pod "
        "succeeds and the others ended.",
    )
    parallelism: int = Field(default=1, ge=0, description="The most pods running at once.")
    backoff_limit: int = Field(
        default=6, ge=0, description="Retries before the job fails: it fails once more pods failed than this."
    )
    active_deadline_seconds: int | None = Field(
        default=None,
        ge=1,
        description="Seconds from the job's start after which its pods are stopped and it fails (DeadlineExceeded).",
    )
    ttl_seconds_after_finished: int | None = Field(
        default=None, ge=0, description="Seconds after the job finished at which it is deleted, with its pods."
    )
    selector: LabelSelector | None = Field(
        default=None,
        description="Label selector of the pods; generated from the job's uid unless manualSelector is true.",
    )
    manual_selector: bool | None = Field(default=None, description="True to give the selector yourself.")
    completion_mode: Literal["NonIndexed"] = Field(
        default="NonIndexed", description="NonIndexed: any pods' successes count (Indexed is not served)."
    )
    suspend: bool = Field(default=False, description="A suspended job creates no pods and stops its active ones.")
    pod_replacement_policy: Literal["TerminatingOrFailed", "Failed"] = Field(
        default="TerminatingOrFailed",
        description="When a replacement pod is created: as soon as the old one is terminating, or once it failed.",
    )

    @model_validator(mode="before")
    @classmethod
    def _one_completion_by_default(cls, value: Any) -> Any:
        if isinstance(value, dict) and value.get("completions") is None and value.get("parallelism") is None:
            return {**value, "completions": 1}
        return value


class JobCondition(K8sModel):
    """A condition of a job: Complete, Failed, SuccessCriteriaMet, FailureTarget, Suspended."""

    type: str = Field(description="Type of the condition.")
    status: Literal["True", "False", "Unknown"] = Field(description="Status of the condition.")
    reason: str | None = Field(default=None, description="Why the condition last changed, in one word.")
    message: str | None = Field(default=None, description="Why the condition last changed, for people.")
    last_probe_time: str | None = Field(default=None, description="When the condition was last checked.")
    last_transition_time: str | None = Field(default=None, description="When the status last changed.")


class UncountedTerminatedPods(K8sModel):
    """Pods that ended but are not counted in the job's status yet."""

    succeeded: list[str] = Field(default_factory=list, description="UIDs of pods that succeeded.")
    failed: list[str] = Field(default_factory=list, description="UIDs of pods that failed.")


class JobStatus(K8sModel):
    """The observed state of a job. Read-only for clients."""

    conditions: list[JobCondition] = Field(
        default_factory=list,
        description="Current state of the job: Complete or Failed once it finished.",
        json_schema_extra=merged_list("type"),
    )
    start_time: str | None = Field(default=None, description="When the job controller started the job.")
    completion_time: str | None = Field(default=None, description="When the job completed (not set when it failed).")
    active: int = Field(default=0, description="Pods running or pending.")
    succeeded: int = Field(default=0, description="Pods that succeeded.")
    failed: int = Field(default=0, description="Pods that failed.")
    terminating: int | None = Field(default=None, description="Pods being terminated.")
    ready: int | None = Field(default=None, description="Active pods that are ready.")
    uncounted_terminated_pods: UncountedTerminatedPods | None = Field(
        default=None, description="Pods that ended and are not counted yet."
    )


class Job(TypedObject):
    """Job runs pods until a number of them succeed (kubectl wait --for=condition=complete), retrying failed
    ones up to a backoff limit."""

    api_version: Literal["batch/v1"] = "batch/v1"
    kind: Literal["Job"] = "Job"
    spec: JobSpec = Field(description="The pods to run to completion, and how many.")
    status: JobStatus = Field(
        default_factory=JobStatus, description="The job's progress as the controller last saw it. Read-only."
    )
