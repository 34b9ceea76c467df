"""Kinds the server computes on each read instead of storing: the custom resource definitions of
the chaos kinds, ``metrics.k8s.io`` PodMetrics and NodeMetrics from the node's sampler, and the
access reviews that answer ``kubectl auth can-i``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

from remedlab.api.access import AccessPolicy, RequestAttributes
from remedlab.api.kinds import CHAOS_KINDS, KINDS, Obj
from remedlab.api.labels import matches_selector_string
from remedlab.api.meta import (
    ContainerMetrics,
    CustomResourceDefinition,
    CustomResourceDefinitionCondition,
    CustomResourceDefinitionNames,
    CustomResourceDefinitionSpec,
    CustomResourceDefinitionStatus,
    CustomResourceDefinitionVersion,
    CustomResourceValidation,
    NodeMetrics,
    PodMetrics,
    SelfSubjectAccessReview,
    SubjectAccessReviewStatus,
)
from remedlab.api.objects import ObjectMeta
from remedlab.api.times import format_time
from remedlab.cluster.apiserver.openapi import custom_resource_schema
from remedlab.cluster.apiserver.tables import CUSTOM_RESOURCE_COLUMNS

SERVER_STARTED = datetime.now(UTC)

# --------------------------------------------------------------------------- custom resource definitions


def custom_resource_definitions() -> list[Obj]:
    """One CustomResourceDefinition per custom kind (the chaos kinds), as `kubectl get crd` lists them."""
    out: list[Obj] = []
    for info in KINDS:
        if info.kind not in CHAOS_KINDS:
            continue
        names = CustomResourceDefinitionNames(
            plural=info.plural,
            singular=info.singular,
            kind=info.kind,
            list_kind=f"{info.kind}List",
            short_names=list(info.short_names) or None,
            categories=list(info.categories) or None,
        )
        schema = custom_resource_schema(info) or {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
        }
        crd = CustomResourceDefinition(
            metadata=ObjectMeta(
                name=f"{info.plural}.{info.group}",
                uid=f"crd-{info.plural}.{info.group}",
                resource_version="1",
                generation=1,
                creation_timestamp=format_time(SERVER_STARTED),
            ),
            spec=CustomResourceDefinitionSpec(
                group=info.group,
                names=names,
                scope="Namespaced" if info.namespaced else "Cluster",
                versions=[
                    CustomResourceDefinitionVersion(
                        name=info.version,
                        schema_=CustomResourceValidation(open_api_v3_schema=schema),
                        subresources={"status": {}},
                        additional_printer_columns=list(CUSTOM_RESOURCE_COLUMNS.get(info.kind, ())) or None,
                    )
                ],
            ),
            status=CustomResourceDefinitionStatus(
                accepted_names=names,
                conditions=[
                    CustomResourceDefinitionCondition(
                        type="Established",
                        status="True",
                        reason="InitialNamesAccepted",
                        message="the initial names have been accepted",
                        last_transition_time=format_time(SERVER_STARTED),
                    )
                ],
                stored_versions=[info.version],
            ),
        )
        out.append(crd.to_dict())
    return out


# --------------------------------------------------------------------------- metrics.k8s.io


class ContainerUsage(Protocol):
    @property
    def cpu_millicores(self) -> float: ...
    @property
    def memory_bytes(self) -> int: ...


class PodUsageSample(Protocol):
    @property
    def t(self) -> float: ...
    @property
    def containers(self) -> Mapping[str, ContainerUsage]: ...


class PodUsageSeries(Protocol):
    @property
    def namespace(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def samples(self) -> Sequence[PodUsageSample]: ...


class UsageSource(Protocol):
    """What the node's sampler offers the metrics API."""

    def latest(self, namespace: str | None = None) -> Sequence[PodUsageSeries]: ...
    def node_usage(self) -> tuple[float, int, int, int]: ...


WINDOW = "1s"


def _cpu(millicores: float) -> str:
    return f"{max(0, round(millicores * 1_000_000))}n"


def _memory(num_bytes: int) -> str:
    return f"{max(0, num_bytes) // 1024}Ki"


def pod_metrics(
    usage: UsageSource, pods: dict[tuple[str, str], Obj], namespace: str | None, label_selector: str | None
) -> list[Obj]:
    """PodMetrics of the pods the sampler has seen that still exist (and match the selector)."""
    out: list[Obj] = []
    for series in sorted(usage.latest(namespace), key=lambda s: (s.namespace, s.name)):
        pod = pods.get((series.namespace, series.name))
        if pod is None or not series.samples:
            continue
        labels = pod["metadata"].get("labels") or {}
        if label_selector and not matches_selector_string(label_selector, labels):
            continue
        sample = series.samples[-1]
        metrics = PodMetrics(
            metadata=ObjectMeta(
                name=series.name,
                namespace=series.namespace,
                labels=labels,
                creation_timestamp=format_time(datetime.now(UTC)),
            ),
            timestamp=format_time(datetime.fromtimestamp(sample.t, UTC)),
            window=WINDOW,
            containers=[
                ContainerMetrics(name=name, usage={"cpu": _cpu(c.cpu_millicores), "memory": _memory(c.memory_bytes)})
                for name, c in sample.containers.items()
            ],
        )
        out.append(metrics.to_dict())
    return out


def node_metrics(usage: UsageSource, node: Obj) -> Obj:
    cpu_used, _cpu_cap, memory_used, _memory_total = usage.node_usage()
    now = datetime.now(UTC)
    metrics = NodeMetrics(
        metadata=ObjectMeta(
            name=node["metadata"]["name"],
            labels=node["metadata"].get("labels") or {},
            creation_timestamp=format_time(now),
        ),
        timestamp=format_time(now),
        window=WINDOW,
        usage={"cpu": _cpu(cpu_used), "memory": _memory(memory_used)},
    )
    return metrics.to_dict()


# --------------------------------------------------------------------------- access reviews


def review_access(policy: AccessPolicy, scope: str, review: SelfSubjectAccessReview) -> Obj:
    """Answer a SelfSubjectAccessReview (`kubectl auth can-i`) with the policy the server enforces."""
    attributes = review.spec.resource_attributes
    if attributes is None:
        status = SubjectAccessReviewStatus(allowed=True, reason="non-resource URLs are open to every token")
    else:
        asked = RequestAttributes(
            attributes.verb or "get",
            attributes.group or "",
            attributes.resource or "",
            attributes.subresource or "",
            attributes.namespace or "",
            attributes.name or "",
        )
        denial = policy.denial(scope, asked)
        status = SubjectAccessReviewStatus(allowed=denial is None, denied=bool(denial) or None, reason=denial or None)
    answered = review.model_copy(update={"status": status})
    return answered.to_dict()
