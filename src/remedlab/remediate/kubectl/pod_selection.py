"""Picking the pod a command acts on: a pod by name, or the best pod of a deployment or replica set."""

from __future__ import annotations

from remedlab.api.kinds import BY_PLURAL
from remedlab.remediate.kubectl.context import CommandContext
from remedlab.remediate.kubectl.errors import CommandError
from remedlab.remediate.kubectl.fields import JsonObject, dig, get_dict, get_dicts, get_str, name_of
from remedlab.remediate.kubectl.humanize import parse_timestamp
from remedlab.remediate.kubectl.resource_args import resolve_kind
from remedlab.remediate.kubectl.selectors import selector_query

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"


def _activity_rank(pod: JsonObject) -> tuple[int, int, int, float]:
    """Higher sorts first: scheduled, running, ready, then older."""
    phase = get_str(pod, "status", "phase")
    ready = any(
        get_str(c, "type") == "Ready" and get_str(c, "status") == "True" for c in get_dicts(pod, "status", "conditions")
    )
    created = parse_timestamp(dig(pod, "metadata", "creationTimestamp"))
    return (
        1 if get_str(pod, "spec", "nodeName") else 0,
        {"Running": 2, "Unknown": 1}.get(phase, 0),
        1 if ready else 0,
        -(created.timestamp() if created else 0.0),
    )


def pods_for_selector(ctx: CommandContext, selector: str) -> list[JsonObject]:
    pods = ctx.client.list_objects(BY_PLURAL["pods"], ctx.namespace, label_selector=selector or None)
    return sorted(pods, key=_activity_rank, reverse=True)


def resolve_pod(ctx: CommandContext, target: str) -> JsonObject:
    """The pod named by `target` (`NAME`, `pod/NAME`, `deployment/NAME`, `rs/NAME`, `svc/NAME`)."""
    kind_word, slash, name = target.partition("/")
    if not slash:
        return ctx.client.get_object(BY_PLURAL["pods"], ctx.namespace, target)
    info = resolve_kind(kind_word)
    if info.kind == "Pod":
        return ctx.client.get_object(info, ctx.namespace, name)
    if info.kind not in ("Deployment", "ReplicaSet", "Service"):
        raise CommandError(f"cannot attach to {info.kind}: not implemented")
    owner = ctx.client.get_object(info, ctx.namespace, name)
    if info.kind == "Service":
        selector = ",".join(f"{k}={v}" for k, v in sorted(get_dict(owner, "spec", "selector").items()))
    else:
        selector = selector_query(get_dict(owner, "spec", "selector"))
    pods = pods_for_selector(ctx, selector)
    if not pods:
        raise CommandError(f"no pods found for {info.qualified}/{name}")
    if len(pods) > 1:
        ctx.warn(f"Found {len(pods)} pods, using pod/{name_of(pods[0])}")
    return pods[0]


def default_container(ctx: CommandContext, pod: JsonObject, quiet: bool = False) -> str | None:
    """The container to use when -c is not given; announces the choice when the pod has several."""
    containers = [get_str(c, "name") for c in get_dicts(pod, "spec", "containers")]
    if not containers:
        return None
    chosen = get_str(pod, "metadata", "annotations", DEFAULT_CONTAINER_ANNOTATION)
    if chosen not in containers:
        chosen = containers[0]
        if len(containers) > 1 and not quiet:
            ctx.warn(f'Defaulted container "{chosen}" out of: {", ".join(containers)}')
    return chosen
