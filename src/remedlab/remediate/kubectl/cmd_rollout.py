"""`kubectl rollout restart|undo|status|history|pause|resume` for deployments."""

from __future__ import annotations

import time

from remedlab.api.kinds import KindInfo
from remedlab.remediate.kubectl.client import object_path
from remedlab.remediate.kubectl.context import CommandContext
from remedlab.remediate.kubectl.describe import TEMPLATE_HASH_LABEL
from remedlab.remediate.kubectl.describe_parts import DescribeWriter, write_pod_template
from remedlab.remediate.kubectl.errors import ApiStatusError, CommandError
from remedlab.remediate.kubectl.fields import JsonObject, dig, get_dict, get_dicts, get_int, get_str, name_of
from remedlab.remediate.kubectl.flags import ParsedArgs
from remedlab.remediate.kubectl.humanize import parse_duration
from remedlab.remediate.kubectl.resource_args import object_ref, parse_resource_args, plural_ref
from remedlab.remediate.kubectl.tabwriter import align_describe

POLL_INTERVAL_SECONDS = 1.0
DEFAULT_STATUS_TIMEOUT_SECONDS = 300.0

_UNSUPPORTED = {
    "restart": '{plural} "{name}" restarting is not supported',
    "undo": 'no rollbacker has been implemented for "{kind}"',
    "status": "no status viewer has been implemented for {kind}",
    "history": 'no history viewer has been implemented for "{kind}"',
    "pause": '{plural} "{name}" pausing is not supported',
    "resume": '{plural} "{name}" resuming is not supported',
}


def _targets(ctx: CommandContext, args: ParsedArgs, verb: str, *, name_required: bool) -> list[tuple[KindInfo, str]]:
    requests = parse_resource_args(args.positionals, allow_all=False)
    if not requests:
        raise CommandError(
            "required resource not specified" if name_required else "you must provide one or more resources"
        )
    targets: list[tuple[KindInfo, str]] = []
    for request in requests:
        names = list(request.names)
        if not names:
            if name_required:
                raise CommandError("required resource name is not specified")
            selector = args.value("selector")
            names = [name_of(o) for o in ctx.client.list_objects(request.info, ctx.namespace, label_selector=selector)]
            if not names:
                raise CommandError(f"no objects passed to {verb}")
        for name in names:
            if request.info.kind != "Deployment":
                template = _UNSUPPORTED[verb]
                raise CommandError(template.format(plural=plural_ref(request.info), name=name, kind=request.info.kind))
            targets.append((request.info, name))
    return targets


# ---------------------------------------------------------------------- restart, pause, resume


def run_restart(ctx: CommandContext, args: ParsedArgs) -> int:
    for info, name in _targets(ctx, args, "restart", name_required=False):
        ctx.client.object_action(info, ctx.namespace, name, "restart")
        ctx.print(f"{object_ref(info, name)} restarted")
    return 0


def _set_paused(ctx: CommandContext, args: ParsedArgs, verb: str, paused: bool) -> int:
    for info, name in _targets(ctx, args, verb, name_required=False):
        current = ctx.client.get_object(info, ctx.namespace, name)
        if (dig(current, "spec", "paused") is True) == paused:
            state = "already paused" if paused else "not paused"
            raise CommandError(f'{plural_ref(info)} "{name}" is {state}')
        ctx.client.patch_object(info, ctx.namespace, name, "merge", {"spec": {"paused": paused}})
        ctx.print(f"{object_ref(info, name)} {'paused' if paused else 'resumed'}")
    return 0


def run_pause(ctx: CommandContext, args: ParsedArgs) -> int:
    return _set_paused(ctx, args, "pause", True)


def run_resume(ctx: CommandContext, args: ParsedArgs) -> int:
    return _set_paused(ctx, args, "resume", False)


# ---------------------------------------------------------------------- history and undo


def fetch_history(ctx: CommandContext, info: KindInfo, name: str) -> list[JsonObject]:
    answer = ctx.client.request("GET", object_path(info, ctx.namespace, name) + "/history")
    return sorted(get_dicts(answer, "revisions"), key=lambda r: get_int(r, "revision"))


def run_history(ctx: CommandContext, args: ParsedArgs) -> int:
    revision = args.int_value("revision", 0)
    for info, name in _targets(ctx, args, "history", name_required=True):
        ctx.client.get_object(info, ctx.namespace, name)
        revisions = fetch_history(ctx, info, name)
        if revision > 0:
            chosen = [r for r in revisions if get_int(r, "revision") == revision]
            if not chosen:
                raise CommandError("unable to find the specified revision")
            w = DescribeWriter()
            write_pod_template(w, get_dict(chosen[0], "template"))
            ctx.print(f"{object_ref(info, name)} with revision #{revision}")
            ctx.print(w.render())
            continue
        table = "REVISION\tCHANGE-CAUSE\n" + "".join(
            f"{get_int(r, 'revision')}\t{get_str(r, 'changeCause') or '<none>'}\n" for r in revisions
        )
        ctx.print(f"{object_ref(info, name)} ")
        ctx.print(align_describe(table))
    return 0


def _without_hash(template: JsonObject) -> JsonObject:
    metadata = dict(get_dict(template, "metadata"))
    labels = {k: v for k, v in get_dict(metadata, "labels").items() if k != TEMPLATE_HASH_LABEL}
    metadata["labels"] = labels
    metadata.pop("creationTimestamp", None)
    annotations = get_dict(metadata, "annotations")
    metadata["annotations"] = annotations or {}
    return {"metadata": metadata, "spec": get_dict(template, "spec")}


def _rollback_target(name: str, revisions: list[JsonObject], to_revision: int) -> JsonObject:
    if to_revision > 0:
        for revision in revisions:
            if get_int(revision, "revision") == to_revision:
                return revision
        raise CommandError(f"unable to find specified revision {to_revision} in history")
    if len(revisions) < 2:
        raise CommandError(f'no rollout history found for deployment "{name}"')
    return revisions[-2]


def run_undo(ctx: CommandContext, args: ParsedArgs) -> int:
    to_revision = args.int_value("to-revision", 0)
    for info, name in _targets(ctx, args, "undo", name_required=True):
        deployment = ctx.client.get_object(info, ctx.namespace, name)
        revisions = fetch_history(ctx, info, name)
        target = _rollback_target(name, revisions, to_revision)
        template = get_dict(target, "template")
        current = get_dict(deployment, "spec", "template")
        if template and _without_hash(template) == _without_hash(current):
            ctx.print(
                f"{object_ref(info, name)} skipped rollback (current template already matches revision {to_revision})"
            )
            continue
        try:
            ctx.client.object_action(info, ctx.namespace, name, "undo", {"toRevision": to_revision})
        except ApiStatusError as exc:
            if exc.reason == "BadRequest":
                raise CommandError(exc.message) from None
            raise
        ctx.print(f"{object_ref(info, name)} rolled back")
    return 0


# ---------------------------------------------------------------------- status


def rollout_status(deployment: JsonObject) -> tuple[str, bool]:
    """The progress line kubectl prints for a deployment, and whether the rollout is complete."""
    name = name_of(deployment)
    generation = get_int(deployment, "metadata", "generation")
    observed = get_int(deployment, "status", "observedGeneration", default=generation)
    if generation > observed:
        return "Waiting for deployment spec update to be observed...", False
    for condition in get_dicts(deployment, "status", "conditions"):
        if get_str(condition, "type") == "Progressing" and get_str(condition, "reason") == "ProgressDeadlineExceeded":
            raise CommandError(f'deployment "{name}" exceeded its progress deadline')
    desired = get_int(deployment, "spec", "replicas", default=1)
    updated = get_int(deployment, "status", "updatedReplicas")
    total = get_int(deployment, "status", "replicas")
    available = get_int(deployment, "status", "availableReplicas")
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < desired:
        return f"{prefix}{updated} out of {desired} new replicas have been updated...", False
    if total > updated:
        return f"{prefix}{total - updated} old replicas are pending termination...", False
    if available < updated:
        return f"{prefix}{available} of {updated} updated replicas are available...", False
    return f'deployment "{name}" successfully rolled out', True


def run_status(ctx: CommandContext, args: ParsedArgs) -> int:
    raw_timeout = args.value("timeout")
    try:
        timeout = parse_duration(raw_timeout) if raw_timeout else DEFAULT_STATUS_TIMEOUT_SECONDS
    except ValueError as exc:
        raise CommandError(f'invalid argument "{raw_timeout}" for "--timeout" flag: {exc}') from None
    if timeout <= 0:
        timeout = DEFAULT_STATUS_TIMEOUT_SECONDS
    watch = args.flag("watch", default=True)
    for info, name in _targets(ctx, args, "status", name_required=True):
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            deployment = ctx.client.get_object(info, ctx.namespace, name)
            message, done = rollout_status(deployment)
            if message != last:
                ctx.print(message)
                ctx.out.flush()
                last = message
            if done or not watch:
                break
            if time.monotonic() >= deadline:
                raise CommandError("timed out waiting for the condition")
            time.sleep(POLL_INTERVAL_SECONDS)
    return 0
